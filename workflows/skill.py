"""Skill of a modelled water-level series against a reference series at one station.

The reference is anything that follows the :class:`Reference` protocol: ``kind`` (e.g.
``"harmonic prediction"`` or ``"observations"``), ``label`` and ``series(times) -> (n_t,)`` water
level in m relative to MSL. :class:`HarmonicPrediction` is the gauge's own astronomical tide from
the catalogue (:mod:`workflows.gauges`); :class:`ObservedSeries` wraps a measured record (given
relative to MSL) for when an observation feed exists.

Metrics (:func:`station_skill`), over the times where both series are finite:

* ``rmse`` = sqrt(mean((model - reference)^2)), ``bias`` = mean(model - reference) (m);
* ``correlation``: Pearson's r;
* high waters (:func:`high_waters`): local maxima of each series at least ``min_separation``
  (default 6 h, for semidiurnal tides) apart, with time and height refined by the parabola
  through the sampled maximum and its two neighbours; each reference high water is paired with
  the nearest model high water within ``window`` (default +-3 h). Time errors are in minutes,
  model later = positive; height errors in m, model higher = positive.

:func:`threshold_exceedances` reports, for each named level a series reaches (e.g. MHWS and HAT
relative to MSL from :meth:`workflows.gauges.GaugeCatalogue.thresholds`), when it is first
reached (linear interpolation between samples), the peak and the margin above the level.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

import numpy as np

from .gauges import GaugeCatalogue, as_utc_datetime64

log = logging.getLogger(__name__)

HARMONIC_PREDICTION = "harmonic prediction"
OBSERVATIONS = "observations"
DEFAULT_MIN_SEPARATION = timedelta(hours=6)
DEFAULT_WINDOW = timedelta(hours=3)
_UTC = timezone.utc


class SkillError(ValueError):
    """Series that cannot be compared (shapes, times); one-line message."""


@runtime_checkable
class Reference(Protocol):
    """A reference water-level series at one station.

    ``kind``: what it is (:data:`HARMONIC_PREDICTION`, :data:`OBSERVATIONS`). ``label``: the
    station or record it comes from. ``series(times)``: (n_t,) m relative to MSL at the (n_t,)
    UTC times (``datetime64`` or aware datetimes), NaN where it has no value.
    """

    kind: str
    label: str

    def series(self, times) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class HarmonicPrediction:
    """The astronomical tide of one catalogue gauge (``station``: its id or position)."""

    catalogue: GaugeCatalogue = field(repr=False)
    station: str | int
    corrections: str = "FES"
    kind: str = HARMONIC_PREDICTION

    @property
    def label(self) -> str:
        i = self.catalogue.index(self.station) if isinstance(self.station, str) else int(self.station)
        return f"{self.catalogue.station_id[i]} {self.catalogue.name[i]}"

    def series(self, times) -> np.ndarray:
        """(n_t,) m relative to MSL (see :meth:`GaugeCatalogue.predict`)."""
        return self.catalogue.predict(times, self.station, corrections=self.corrections)


@dataclass(frozen=True, eq=False)
class ObservedSeries:
    """A measured record relative to MSL: ``times`` (n,) UTC, ``values`` (n,) m (NaN = missing),
    linearly interpolated; NaN outside the record and across gaps longer than ``max_gap``."""

    times: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    label: str = ""
    max_gap: timedelta = timedelta(hours=1)
    kind: str = OBSERVATIONS

    def __post_init__(self):
        t = as_utc_datetime64(self.times)
        v = np.asarray(self.values, dtype=np.float64).ravel()
        if t.size != v.size:
            raise SkillError(f"{self.label or 'observations'}: {t.size} times but {v.size} values")
        order = np.argsort(t, kind="stable")
        object.__setattr__(self, "times", t[order])
        object.__setattr__(self, "values", v[order])

    def series(self, times) -> np.ndarray:
        """(n_t,) m at ``times``: linear interpolation between valid samples no further apart
        than ``max_gap``; NaN elsewhere."""
        t = as_utc_datetime64(times)
        ok = np.isfinite(self.values)
        tv, vv = self.times[ok], self.values[ok]
        out = np.full(t.size, np.nan)
        if tv.size == 0:
            return out
        x = (tv - tv[0]) / np.timedelta64(1, "s")
        xq = (t - tv[0]) / np.timedelta64(1, "s")
        inside = (xq >= x[0]) & (xq <= x[-1])
        out[inside] = np.interp(xq[inside], x, vv)
        if x.size > 1:
            right = np.clip(np.searchsorted(x, xq, side="left"), 1, x.size - 1)
            gap = x[right] - x[right - 1]
            exact = np.isin(xq, x)
            out[inside & ~exact & (gap > self.max_gap.total_seconds())] = np.nan
        return out


# ------------------------------------------------------------------------------------------------
# high waters


@dataclass(frozen=True, eq=False)
class HighWaters:
    """High waters of one series: ``times`` (k,) ``datetime64[ns]`` UTC and ``heights`` (k,) m."""

    times: np.ndarray = field(repr=False)
    heights: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return self.times.size


def _seconds(t64: np.ndarray, origin: np.datetime64) -> np.ndarray:
    return (t64 - origin) / np.timedelta64(1, "s")


def _parabola_vertex(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex (x, y) of the parabola through three points per row: ``x``, ``y`` (k, 3), any
    spacing. A degenerate (straight) triple returns its middle point."""
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
    # Newton form y0 + d01 (x - x0) + c (x - x0)(x - x1) rewritten about x1: y1 + b s + c s^2, s = x - x1
    d01 = (y1 - y0) / (x1 - x0)
    d12 = (y2 - y1) / (x2 - x1)
    c = (d12 - d01) / (x2 - x0)
    b = d01 + c * (x1 - x0)  # slope at x1
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(c < 0, -b / (2 * c), 0.0)
    shift = np.clip(shift, x0 - x1, x2 - x1)
    return x1 + shift, y1 + b * shift + c * shift**2


def high_waters(times, zeta, *, min_separation: timedelta = DEFAULT_MIN_SEPARATION) -> HighWaters:
    """High waters of a sampled water-level series.

    ``times``: (n,) strictly increasing UTC times; ``zeta``: (n,) m (NaN = missing; a maximum
    needs finite neighbours). A high water is a sample higher than its predecessor and not lower
    than its successor; its time and height are the vertex of the parabola through the three
    samples. Of maxima closer than ``min_separation`` only the highest is kept (6 h suits
    semidiurnal tides: it merges double high waters and ripples). Returns :class:`HighWaters` in
    time order.
    """
    t64 = as_utc_datetime64(times)
    z = np.asarray(zeta, dtype=np.float64).ravel()
    if t64.size != z.size:
        raise SkillError(f"{t64.size} times but {z.size} water levels")
    empty = HighWaters(np.zeros(0, dtype="datetime64[ns]"), np.zeros(0))
    if z.size < 3:
        return empty
    if (np.diff(t64) <= np.timedelta64(0, "ns")).any():
        raise SkillError("times must be strictly increasing")
    x = _seconds(t64, t64[0])
    zl, zc, zr = z[:-2], z[1:-1], z[2:]
    with np.errstate(invalid="ignore"):
        peak = np.isfinite(zl) & np.isfinite(zc) & np.isfinite(zr) & (zc > zl) & (zc >= zr)
    i = np.flatnonzero(peak) + 1
    if i.size == 0:
        return empty
    px, pz = _parabola_vertex(np.stack([x[i - 1], x[i], x[i + 1]], axis=1), np.stack([z[i - 1], z[i], z[i + 1]], axis=1))
    sep = min_separation.total_seconds()
    kept: list[float] = []  # sorted times of the high waters kept so far
    keep = np.zeros(i.size, dtype=bool)
    for k in np.argsort(-pz, kind="stable"):  # highest first
        pos = bisect.bisect_left(kept, px[k])
        if (pos > 0 and px[k] - kept[pos - 1] < sep) or (pos < len(kept) and kept[pos] - px[k] < sep):
            continue
        kept.insert(pos, px[k])
        keep[k] = True
    px, pz = px[keep], pz[keep]
    times_out = t64[0] + np.round(px * 1e9).astype(np.int64) * np.timedelta64(1, "ns")
    return HighWaters(times_out, pz)


@dataclass(frozen=True, eq=False)
class HighWaterErrors:
    """Paired high waters of a model and a reference series.

    ``n_reference``, ``n_model``: high waters found in each; ``n_paired``: reference high waters
    with a model high water within the window. ``reference_times`` (n_paired,) ``datetime64[ns]``;
    ``time_error_min`` (n_paired,) minutes, model later = positive; ``height_error_m``
    (n_paired,) m, model higher = positive. Mean/median are NaN when nothing is paired.
    """

    n_reference: int
    n_model: int
    n_paired: int
    mean_time_error_min: float
    median_time_error_min: float
    mean_height_error_m: float
    median_height_error_m: float
    reference_times: np.ndarray = field(repr=False)
    time_error_min: np.ndarray = field(repr=False)
    height_error_m: np.ndarray = field(repr=False)


def pair_high_waters(model: HighWaters, reference: HighWaters, window: timedelta = DEFAULT_WINDOW) -> HighWaterErrors:
    """Pair each reference high water with the nearest model high water within ``window``
    (each model high water used once, by the reference high water nearest to it)."""
    w = window.total_seconds()
    n_ref, n_mod = len(reference), len(model)
    pairs: list[tuple[int, int, float]] = []
    if n_ref and n_mod:
        origin = reference.times[0]
        xr = _seconds(reference.times, origin)
        xm = _seconds(model.times, origin)
        j = np.clip(np.searchsorted(xm, xr), 1, max(n_mod - 1, 1))
        for r in range(n_ref):
            cand = [c for c in (j[r] - 1, j[r]) if 0 <= c < n_mod]
            best = min(cand, key=lambda c: abs(xm[c] - xr[r]))
            dt = xm[best] - xr[r]
            if abs(dt) <= w:
                pairs.append((r, best, dt))
        by_model: dict[int, tuple[int, int, float]] = {}
        for p in pairs:
            if p[1] not in by_model or abs(p[2]) < abs(by_model[p[1]][2]):
                by_model[p[1]] = p
        pairs = sorted(by_model.values())
    r_idx = np.array([p[0] for p in pairs], dtype=np.int64)
    m_idx = np.array([p[1] for p in pairs], dtype=np.int64)
    dt_min = np.array([p[2] for p in pairs], dtype=np.float64) / 60.0
    dz = model.heights[m_idx] - reference.heights[r_idx] if pairs else np.zeros(0)

    def stat(fn, a):
        return float(fn(a)) if a.size else math.nan

    return HighWaterErrors(
        n_ref,
        n_mod,
        len(pairs),
        stat(np.mean, dt_min),
        stat(np.median, dt_min),
        stat(np.mean, dz),
        stat(np.median, dz),
        reference.times[r_idx] if pairs else np.zeros(0, dtype="datetime64[ns]"),
        dt_min,
        dz,
    )


# ------------------------------------------------------------------------------------------------
# station skill


@dataclass(frozen=True, eq=False)
class StationSkill:
    """Skill of a model series against a reference at one station.

    ``reference_kind``, ``reference_label``: from the :class:`Reference` (or ``"series"``).
    ``n``: number of times where both are finite. ``rmse``, ``bias`` (model - reference): m.
    ``correlation``: Pearson's r (NaN when a series is constant or n < 2).
    ``high_water``: :class:`HighWaterErrors`.
    """

    reference_kind: str
    reference_label: str
    n: int
    rmse: float
    bias: float
    correlation: float
    high_water: HighWaterErrors

    def as_dict(self) -> dict:
        """A JSON-ready summary (scalars only; NaN as None)."""

        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        hw = {k: clean(v) for k, v in asdict(self.high_water).items() if not isinstance(v, np.ndarray)}
        return {
            "reference_kind": self.reference_kind,
            "reference_label": self.reference_label,
            "n": self.n,
            "rmse_m": clean(self.rmse),
            "bias_m": clean(self.bias),
            "correlation": clean(self.correlation),
            "high_water": hw,
        }


def station_skill(
    times,
    model,
    reference: Reference | np.ndarray,
    *,
    min_separation: timedelta = DEFAULT_MIN_SEPARATION,
    window: timedelta = DEFAULT_WINDOW,
) -> StationSkill:
    """Skill of ``model`` against ``reference`` at the (n_t,) increasing UTC ``times``.

    ``model``: (n_t,) m relative to MSL (NaN = missing). ``reference``: a :class:`Reference`
    (evaluated at ``times``) or a (n_t,) array in m. ``min_separation``: of high waters;
    ``window``: largest model-minus-reference high-water time difference that is paired.
    """
    t64 = as_utc_datetime64(times)
    m = np.asarray(model, dtype=np.float64).ravel()
    if isinstance(reference, Reference):
        kind, label = reference.kind, reference.label
        r = np.asarray(reference.series(t64), dtype=np.float64).ravel()
    else:
        kind, label = "series", ""
        r = np.asarray(reference, dtype=np.float64).ravel()
    if not (t64.size == m.size == r.size):
        raise SkillError(f"{t64.size} times, {m.size} model values and {r.size} reference values")
    both = np.isfinite(m) & np.isfinite(r)
    n = int(both.sum())
    d = m[both] - r[both]
    rmse = float(np.sqrt(np.mean(d**2))) if n else math.nan
    bias = float(np.mean(d)) if n else math.nan
    corr = math.nan
    if n >= 2:
        mc, rc = m[both] - m[both].mean(), r[both] - r[both].mean()
        denom = math.sqrt(float(np.dot(mc, mc)) * float(np.dot(rc, rc)))
        if denom > 0:
            corr = float(np.dot(mc, rc)) / denom
    # high waters use each series where it is defined, then pair
    hw = pair_high_waters(
        high_waters(t64, np.where(both, m, np.nan), min_separation=min_separation),
        high_waters(t64, np.where(both, r, np.nan), min_separation=min_separation),
        window,
    )
    log.debug(
        "skill vs %s %s: n=%d rmse=%.3f bias=%.3f r=%.3f HW %d/%d", kind, label, n, rmse, bias, corr, hw.n_paired, hw.n_reference
    )
    return StationSkill(kind, label, n, rmse, bias, corr, hw)


def catalogue_skill(times, model, catalogue: GaugeCatalogue, **kwargs) -> list[StationSkill]:
    """Skill at every station of ``catalogue`` against its harmonic prediction.

    ``model``: (n_t, n_station) m relative to MSL, columns in catalogue order. Keyword
    arguments go to :func:`station_skill`. Returns one :class:`StationSkill` per station.
    """
    m = np.asarray(model, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != catalogue.n_station:
        raise SkillError(f"model has shape {m.shape}, expected (n_t, {catalogue.n_station})")
    t64 = as_utc_datetime64(times)
    pred = catalogue.predict(t64)
    return [
        station_skill(
            t64,
            m[:, k],
            _Precomputed(HARMONIC_PREDICTION, f"{catalogue.station_id[k]} {catalogue.name[k]}", pred[:, k]),
            **kwargs,
        )
        for k in range(catalogue.n_station)
    ]


@dataclass(frozen=True, eq=False)
class _Precomputed:
    """A reference already evaluated at the comparison times (n_t,)."""

    kind: str
    label: str
    values: np.ndarray = field(repr=False)

    def series(self, times) -> np.ndarray:
        return self.values


# ------------------------------------------------------------------------------------------------
# thresholds


def threshold_exceedances(times, zeta, thresholds: Mapping[str, float]) -> list[dict]:
    """The named levels that the series reaches.

    ``times``: (n,) increasing UTC; ``zeta``: (n,) m on the same datum as the levels (e.g.
    relative to MSL); ``thresholds``: ``{name: level in m}`` (NaN levels are skipped). For each
    level reached (``zeta >= level`` somewhere), in the order given, a dict with ``threshold``
    (name), ``level`` (m), ``first_time`` (aware UTC datetime: the first up-crossing, linearly
    interpolated between samples, or the first time if the series starts above), ``peak_time``
    and ``peak_height`` (the series maximum, parabola-refined, m), ``margin`` (peak - level, m)
    and ``n_events`` (separate spells at or above the level).
    """
    t64 = as_utc_datetime64(times)
    z = np.asarray(zeta, dtype=np.float64).ravel()
    if t64.size != z.size:
        raise SkillError(f"{t64.size} times but {z.size} water levels")
    if t64.size > 1 and (np.diff(t64) <= np.timedelta64(0, "ns")).any():
        raise SkillError("times must be strictly increasing")
    finite = np.isfinite(z)
    out: list[dict] = []
    if not finite.any():
        return out
    x = _seconds(t64, t64[0])
    k = int(np.nanargmax(z))
    peak_x, peak_z = x[k], z[k]
    if 0 < k < z.size - 1 and np.isfinite(z[k - 1]) and np.isfinite(z[k + 1]):
        vx, vz = _parabola_vertex(x[k - 1 : k + 2][None, :], z[k - 1 : k + 2][None, :])
        peak_x, peak_z = float(vx[0]), float(vz[0])
    for name, level in thresholds.items():
        level = float(level)
        if not math.isfinite(level):
            log.debug("threshold %s has no level here; skipped", name)
            continue
        with np.errstate(invalid="ignore"):
            above = finite & (z >= level)
        if not above.any():
            continue
        j = int(np.argmax(above))
        if j == 0 or not finite[j - 1]:
            first_x = x[j]
        else:
            first_x = x[j - 1] + (level - z[j - 1]) / (z[j] - z[j - 1]) * (x[j] - x[j - 1])
        starts = above & ~np.concatenate([[False], above[:-1]])
        out.append(
            {
                "threshold": str(name),
                "level": level,
                "first_time": _datetime_at(t64[0], first_x),
                "peak_time": _datetime_at(t64[0], peak_x),
                "peak_height": float(max(peak_z, z[k])),
                "margin": float(max(peak_z, z[k]) - level),
                "n_events": int(starts.sum()),
            }
        )
    return out


def _datetime_at(origin: np.datetime64, seconds: float) -> datetime:
    base = origin.astype("datetime64[us]").item().replace(tzinfo=_UTC)
    return base + timedelta(seconds=float(seconds))
