"""The unknown-key check of every parser of tables (configuration, region.toml, cluster specs,
forcing sources) and the "did you mean" suggestion, in one place.

The message is one line: ``<where>: unknown key 'modl'; did you mean 'model'?``, or, with
nothing close, the allowed keys: ``<where>: unknown key 'x'; allowed keys: a, b, c``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def suggest(word, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (difflib, similarity at least 0.6), or None."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``word``, or ``""``."""
    close = suggest(word, choices)
    return f"; did you mean {close!r}?" if close else ""


def unknown_key_message(key, known: Iterable[str], where: str) -> str:
    """The one-line message for ``key`` not among ``known`` in the table at ``where``."""
    known = list(known)
    hint = did_you_mean(key, known) or f"; allowed keys: {', '.join(map(str, known))}"
    return f"{where}: unknown key {key!r}{hint}"


def check_keys(table: Mapping, known: Iterable[str], where: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` (one line, see :func:`unknown_key_message`) at the first key of ``table``
    that is not in ``known``."""
    known = list(known)
    for key in table:
        if key not in known:
            raise error(unknown_key_message(key, known, str(where)))
