"""The one unknown-key check (workflows/keys.py) and the parsers that use it."""

from __future__ import annotations

import pytest

from workflows.keys import check_keys, did_you_mean, suggest, unknown_key_message


class TableError(ValueError):
    pass


def test_close_key_is_suggested_else_the_allowed_keys_are_listed():
    assert unknown_key_message("modl", ["model", "path"], "[tides]") == "[tides]: unknown key 'modl'; did you mean 'model'?"
    assert unknown_key_message("zzz", ["model", "path"], "[tides]") == "[tides]: unknown key 'zzz'; allowed keys: model, path"
    assert suggest("catalog", ["catalogue", "max_distance_km"]) == "catalogue"
    assert suggest("q", ["catalogue"]) is None and did_you_mean("q", ["catalogue"]) == ""
    assert did_you_mean("dischage", ("time", "discharge")) == "; did you mean 'discharge'?"


def test_check_keys_raises_the_given_error_at_the_first_unknown_key():
    check_keys({"a": 1, "b": 2}, ("a", "b", "c"), "t.toml: [x]", TableError)
    with pytest.raises(TableError, match=r"^t.toml: \[x\]: unknown key 'bb'; did you mean 'b'\?$"):
        check_keys({"a": 1, "bb": 2, "zz": 3}, ("a", "b"), "t.toml: [x]", TableError)


@pytest.mark.parametrize(
    "parse, message",
    [
        (
            lambda: __import__("workflows.cluster", fromlist=["ClusterSpec"]).ClusterSpec.from_mapping({"worker": 2}),
            "cluster: unknown key 'worker'; did you mean 'workers'?",
        ),
        (
            lambda: __import__("workflows.bathymetry", fromlist=["VerticalDatum"]).VerticalDatum.from_mapping({"dat": "msl"}),
            "[bathymetry]: unknown key 'dat'; did you mean 'datum'?",
        ),
    ],
)
def test_parsers_share_the_message(parse, message):
    with pytest.raises(ValueError) as err:
        parse()
    assert str(err.value) == message
