"""The forecast configuration: a catalogue of bad configs, each refused in one line naming the key."""
import tomllib

import pytest
import tomli_w

from tests.cycle_fixtures import write_inputs
from workflows.config import ConfigError, load_config
from workflows.cli import main


@pytest.fixture
def good(tmp_path):
    return write_inputs(tmp_path / "in")


def edit(path, change):
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))
    return path


def test_good_config_is_typed_and_frozen(good):
    cfg = load_config(good)
    assert cfg.start.tzinfo is not None and cfg.start.isoformat() == "2026-01-10T00:00:00+00:00"
    assert cfg.hours == 2.0 and cfg.physics.manning == 0.025 and cfg.physics.limiter == "barth-jespersen"
    assert [s.name for s in cfg.stations] == ["mouth", "head"]
    with pytest.raises(Exception):
        cfg.hours = 3


def test_gallery_config_takes_the_region_defaults():
    from workflows.config import ForecastConfig

    cfg = ForecastConfig.from_mapping({"name": "g", "gallery": "gironde", "start": "2026-01-01T00:00Z"})
    assert dict(cfg.boundaries) == {"open_1": "river", "open_2": "tide", "open_3": "river"}
    assert cfg.tides["kind"] == "telemac-cli"
    assert {r["boundary"] for r in cfg.rivers} == {"open_1", "open_3"}


CATALOGUE = [
    (lambda d: d.update(hourz=3), "unknown key 'hourz'; did you mean 'hours'?"),
    (lambda d: d["physics"].update(maning=0.02), "basin.toml: [physics]: unknown key 'maning'; did you mean 'manning'?"),
    (lambda d: d.update(hours="72"), "hours must be a number (h), got '72'"),
    (lambda d: d.update(hours=0), "hours must be positive"),
    (lambda d: d.update(start="2026-01-10T00:00"), "has no timezone"),
    (lambda d: d.update(mesh="missing.gr3"), "does not exist"),
    (lambda d: d["physics"].update(limiter="superbee"), "limiter 'superbee' is not one of"),
    (lambda d: d["physics"].update(time_stepper="rk4"), "time_stepper 'rk4' is not one of"),
    (lambda d: d["physics"].update(cfl=1.5), "[physics]: cfl must be positive and at most 1.0, got 1.5"),
    (lambda d: d["physics"].update(deep_water_step=3.0), "[physics]: deep_water_step must be between 1.0 and 2.0, got 3.0"),
    (lambda d: d["physics"].update(deep_water_step="2"), "[physics]: deep_water_step must be a number, got '2'"),
    (lambda d: d["physics"].update(deep_water_depth=0.0), "deep_water_depth must be positive"),
    (lambda d: d.update(boundaries={"open_1": "tidal"}), "write one of 'tide'"),
    (lambda d: d.update(initial={"kind": "restart"}), "needs file"),
    (lambda d: d.update(initial={"kind": "restart", "file": "nope.nc"}), "does not exist"),
    (lambda d: d.update(stations=[{"name": "a", "lon": 1.0}]), "missing key 'lat'"),
    (lambda d: d.update(stations=[{"name": "a", "lon": 1.0, "lat": 2.0}, {"name": "a", "lon": 1.0, "lat": 2.0}]), "more than once"),
    (lambda d: d.update(restart_hours=5.0), "after the end of the forecast"),
    (lambda d: d.pop("name"), "missing key 'name'"),
]


@pytest.mark.parametrize("change, message", CATALOGUE)
def test_bad_configs_are_refused_in_one_line(good, change, message):
    edit(good, change)
    with pytest.raises(ConfigError) as err:
        load_config(good)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


MESH_CATALOGUE = [
    (lambda d: d.update(boundaries={"open_1": "tide", "open_9": "wall"}), "open_9: no such boundary"),
    (lambda d: d.update(boundaries={}), "open boundary open_1 needs a setting"),
    (lambda d: d.update(boundaries={"open_1": "river"}), "no [[rivers]] table has boundary"),
    (lambda d: d.update(rivers=[{"boundary": "open_7", "discharge": 10.0}]), "open_7"),
]


@pytest.mark.parametrize("change, message", MESH_CATALOGUE)
def test_configs_that_do_not_match_the_mesh(good, change, message):
    from workflows.cycle import read_mesh_for

    edit(good, change)
    with pytest.raises(ConfigError) as err:
        read_mesh_for(load_config(good))
    assert message in str(err.value)


def test_cli_reports_a_bad_config_in_one_line(good, capsys):
    edit(good, lambda d: d.update(hourz=3))
    assert main(["run", str(good), "--out", str(good.parent / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key 'hourz'" in err[0]


@pytest.mark.parametrize("factor, expected", [(None, 2.0), (1, None), (1.5, 1.5)])
def test_the_deep_water_step_reaches_the_model(good, factor, expected):
    """[physics] deep_water_step (default 2) and deep_water_depth build the model's
    DeepWaterStep; 1 means none (the positivity bound everywhere)."""
    from datetime import timedelta

    from workflows.cycle import build_model, read_mesh_for

    if factor is not None:
        edit(good, lambda d: d["physics"].update(deep_water_step=factor, deep_water_depth=7.0))
    cfg = load_config(good)
    model, _ = build_model(cfg, read_mesh_for(cfg), cfg.start, timedelta(hours=cfg.hours).total_seconds())
    if expected is None:
        assert model.deep_water_step is None
    else:
        assert model.deep_water_step.factor == expected
        assert model.deep_water_step.depth == (5.0 if factor is None else 7.0)
