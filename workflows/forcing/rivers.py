"""River discharge at river boundaries: callables ``discharge(t) -> float`` m³/s.

``t`` is model time in seconds since the run's start (an aware UTC datetime); a positive
discharge flows into the domain. Sources:

- :class:`ConstantDischarge` (``{discharge = 500.0}`` in the config);
- :class:`DischargeSeries`: a time series interpolated linearly in time, held constant at the
  first/last value outside the record (a warning is logged once per series). Read from
  - a CSV file (:func:`read_discharge_csv`): a header, a ``time`` column (ISO 8601, UTC when no
    offset is given, or seconds since the run's start) and a discharge column (``discharge`` by
    default, or the one named by ``column``);
  - a TELEMAC liquid-boundary file (:func:`read_telemac_liquid_boundary`, e.g. ``qsl_ME.txt``):
    ``#`` comments, a names line (``T Q(2) Q(3)``), a units line (``s m3/s m3/s``) and rows of
    numbers; ``column`` is a column name (``"Q(2)"``) or the TELEMAC liquid boundary number
    ``k`` of ``Q(k)``.

``discharge_from_config(mapping, start)`` builds one from a ``[[rivers]]`` entry:
``discharge = <m3/s>`` or ``file = <path>`` with optional ``format = "csv" | "telemac"`` (guessed
from the content when absent) and ``column``. Bad input raises :class:`RiverInputError` with
a one-line message naming the file and line (negative or non-finite discharges, unsorted times,
missing columns).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from solver.state import utc

from ..keys import check_keys, did_you_mean
from . import ForcingError

log = logging.getLogger(__name__)


class RiverInputError(ForcingError):
    """River discharge input that cannot be used; one-line message."""


def _where(path, line=None) -> str:
    name = Path(path).name
    return f"{name}: line {line}: " if line is not None else f"{name}: "


def _check_value(q: float, where: str) -> float:
    if not np.isfinite(q):
        raise RiverInputError(f"{where}discharge {q} is not a number")
    if q < 0:
        raise RiverInputError(f"{where}discharge {q:g} m3/s is negative (discharges flow into the domain)")
    return float(q)


@dataclass(frozen=True)
class ConstantDischarge:
    """``discharge(t) = value`` (m³/s, >= 0)."""

    value: float
    name: str = ""

    def __post_init__(self):
        object.__setattr__(self, "value", _check_value(float(self.value), f"{self.name or 'river'}: "))

    def __call__(self, t: float) -> float:
        return self.value


@dataclass(frozen=True, eq=False)
class DischargeSeries:
    """Linear interpolation in time of ``values`` (n,) m³/s at ``times`` (n,) s since the run's
    start (strictly increasing), held constant outside the record."""

    times: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    name: str = ""
    _warned: set = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self):
        t = np.array(self.times, dtype=float).ravel()
        q = np.array(self.values, dtype=float).ravel()
        label = f"{self.name or 'discharge series'}: "
        if t.size == 0 or t.size != q.size:
            raise RiverInputError(f"{label}{t.size} times for {q.size} discharges")
        if not np.isfinite(t).all():
            raise RiverInputError(f"{label}time {t[~np.isfinite(t)][0]} is not a number")
        for i, v in enumerate(q):
            _check_value(v, f"{label}record {i + 1}: ")
        back = np.flatnonzero(np.diff(t) <= 0)
        if back.size:
            i = int(back[0])
            raise RiverInputError(
                f"{label}times are not increasing: record {i + 2} ({t[i + 1]:g} s) after record {i + 1} ({t[i]:g} s)"
            )
        t.flags.writeable = False
        q.flags.writeable = False
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "values", q)

    def __call__(self, t: float) -> float:
        tf = float(t)
        if tf < self.times[0] or tf > self.times[-1]:
            side = "before" if tf < self.times[0] else "after"
            if side not in self._warned:
                self._warned.add(side)
                log.warning(
                    "%s: model time %.0f s is %s the record (%.0f..%.0f s): discharge held at %g m3/s",
                    self.name or "river",
                    tf,
                    side,
                    self.times[0],
                    self.times[-1],
                    self.values[0] if side == "before" else self.values[-1],
                )
        return float(np.interp(tf, self.times, self.values))


def _parse_time(tok: str, start: datetime | None, where: str) -> float:
    """Seconds since ``start`` of an ISO 8601 time (UTC unless it has an offset) or a number."""
    tok = tok.strip()
    try:
        return float(tok)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(tok.replace("Z", "+00:00"))
    except ValueError:
        raise RiverInputError(f"{where}time {tok!r} is neither ISO 8601 nor seconds") from None
    if start is None:
        raise RiverInputError(f"{where}ISO time {tok!r} needs the run's start time")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - start).total_seconds()


def _float(tok: str, where: str, what: str) -> float:
    try:
        return float(tok)
    except ValueError:
        raise RiverInputError(f"{where}{what} {tok!r} is not a number") from None


def _check_start(start):
    if start is not None:
        utc(start, "start", RiverInputError)
    return start


def read_discharge_csv(path, start: datetime | None = None, column: str | None = None) -> DischargeSeries:
    """A discharge series from a CSV file with a ``time`` column and a discharge column.

    ``start``: the run's start (aware UTC), needed when times are ISO 8601. ``column``: the
    discharge column's name (default ``discharge``, or the only other column).
    """
    path = Path(path)
    _check_start(start)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    rows = [
        (i, r)
        for i, r in enumerate(csv.reader(path.read_text().splitlines()), start=1)
        if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")
    ]
    if not rows:
        raise RiverInputError(f"{_where(path)}empty file: expected a header with 'time' and a discharge column")
    hline, header = rows[0]
    header = [h.strip() for h in header]
    lower = [h.lower() for h in header]
    if "time" not in lower:
        raise RiverInputError(f"{_where(path, hline)}no 'time' column (columns: {', '.join(header)})")
    it = lower.index("time")
    if column is None:
        others = [i for i in range(len(header)) if i != it]
        if "discharge" in lower:
            iq = lower.index("discharge")
        elif len(others) == 1:
            iq = others[0]
        else:
            raise RiverInputError(
                f"{_where(path, hline)}no 'discharge' column: name one with 'column' (columns: {', '.join(header)})"
            )
    else:
        if column not in header:
            raise RiverInputError(
                f"{_where(path, hline)}no column {column!r} (columns: {', '.join(header)}){did_you_mean(column, header)}"
            )
        iq = header.index(column)
    times, values = [], []
    for line, row in rows[1:]:
        where = _where(path, line)
        if len(row) != len(header):
            raise RiverInputError(f"{where}{len(row)} fields, the header has {len(header)}")
        times.append(_parse_time(row[it], start, where))
        values.append(_check_value(_float(row[iq], where, header[iq]), where))
        if len(times) > 1 and times[-1] <= times[-2]:
            raise RiverInputError(f"{where}time {row[it].strip()} is not after the previous record")
    if not times:
        raise RiverInputError(f"{_where(path)}no data rows after the header")
    return DischargeSeries(np.array(times), np.array(values), f"{path.name}:{header[iq]}")


_TELEMAC_TIME_UNITS = {"s": 1.0, "sec": 1.0, "seconds": 1.0}
_DISCHARGE_UNITS = {"m3/s", "m3.s-1", "m3s-1", "m^3/s", "m**3/s", "m3 s-1"}


def read_telemac_liquid_boundary(path, column: str | int) -> DischargeSeries:
    """A discharge series from a TELEMAC liquid-boundary file; ``column`` is a name (``"Q(2)"``)
    or the liquid boundary number ``k`` of the ``Q(k)`` column. Time is in s since the start."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lines = [
        (i, ln.split())
        for i, ln in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if len(lines) < 3:
        raise RiverInputError(f"{_where(path)}expected a names line, a units line and data rows")
    (nline, names), (uline, units) = lines[0], lines[1]
    if len(units) != len(names):
        raise RiverInputError(f"{_where(path, uline)}{len(units)} units for {len(names)} columns")
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        key = f"Q({int(column)})"
    else:
        key = str(column)
    if key not in names[1:]:
        raise RiverInputError(f"{_where(path, nline)}no column {key!r} (columns: {', '.join(names[1:])})")
    iq = names.index(key)
    if units[0].lower() not in _TELEMAC_TIME_UNITS:
        raise RiverInputError(f"{_where(path, uline)}time unit {units[0]!r}, expected s")
    if units[iq].lower() not in _DISCHARGE_UNITS:
        raise RiverInputError(f"{_where(path, uline)}{key} unit {units[iq]!r}, expected m3/s")
    times, values = [], []
    for line, toks in lines[2:]:
        where = _where(path, line)
        if len(toks) != len(names):
            raise RiverInputError(f"{where}{len(toks)} values, the names line has {len(names)}")
        times.append(_float(toks[0], where, "time"))
        values.append(_check_value(_float(toks[iq], where, key), where))
        if len(times) > 1 and times[-1] <= times[-2]:
            raise RiverInputError(f"{where}time {toks[0]} is not after the previous record ({times[-2]:g})")
    return DischargeSeries(np.array(times), np.array(values), f"{path.name}:{key}")


_RIVER_KEYS = ("discharge", "file", "format", "column", "boundary", "name")


def discharge_from_config(mapping: Mapping, start: datetime | None = None, base_dir=None, where: str = "[[rivers]]"):
    """A discharge callable from one ``[[rivers]]`` table (keys: ``discharge`` or ``file``,
    ``format``, ``column``; ``boundary`` and ``name`` are accepted and ignored here)."""
    _check_start(start)
    check_keys(mapping, _RIVER_KEYS, where, RiverInputError)
    name = str(mapping.get("name", mapping.get("boundary", "river")))
    has_q, has_f = "discharge" in mapping, "file" in mapping
    if has_q == has_f:
        raise RiverInputError(f"{where}: give exactly one of 'discharge' (m3/s) or 'file'")
    if has_q:
        q = mapping["discharge"]
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise RiverInputError(f"{where}: discharge must be a number of m3/s, got {q!r}")
        try:
            return ConstantDischarge(float(q), name)
        except RiverInputError as exc:
            raise RiverInputError(f"{where}: {exc}") from None
    path = Path(str(mapping["file"])).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    fmt = mapping.get("format")
    if fmt is None:
        fmt = "csv" if path.suffix.lower() == ".csv" else "telemac"
    if fmt == "csv":
        return read_discharge_csv(path, start, mapping.get("column"))
    if fmt == "telemac":
        if "column" not in mapping:
            raise RiverInputError(f"{where}: a TELEMAC liquid-boundary file needs 'column' (e.g. \"Q(2)\" or 2)")
        return read_telemac_liquid_boundary(path, mapping["column"])
    raise RiverInputError(f"{where}: format {fmt!r} is not 'csv' or 'telemac'")
