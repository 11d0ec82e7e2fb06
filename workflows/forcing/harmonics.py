"""Harmonic constants of the tide and the constituent names and speeds they use.

The data model shared by every tide reader (:mod:`workflows.forcing.tide_formats`,
:mod:`workflows.forcing.tide_atlases`) and by the prediction in :mod:`workflows.forcing.tides`
(which re-exports these names): :class:`HarmonicConstituents` (amplitudes and Greenwich phase lags
at points, m and degrees), :func:`canonical_constituent`, :func:`constituent_frequency` (rad/s, from
the Doodson numbers of :mod:`workflows.forcing.astronomy`) and :class:`TideInputError`. A module
of its own so that the readers never import the prediction module that dispatches to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from solver.state import utc

from . import ForcingError, astronomy

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=timezone.utc)
"""Modified Julian Day 0 (UTC)."""

NODAL_CORRECTIONS = ("FES", "OTIS", "GOT", "perth3")
DEFAULT_DURATION = timedelta(hours=72)

_ALIASES = {
    "LDA2": "LAMBDA2",
    "LAM2": "LAMBDA2",
    "LMB2": "LAMBDA2",
    "EP2": "EPS2",
    "E2": "EPS2",
    "SIGMA1": "SIG1",
    "RHO": "RHO1",
    "MSQ": "MSQM",
}


class TideInputError(ForcingError):
    """Tidal input that cannot be used (file, config, constants); one-line message."""


def canonical_constituent(name: str) -> str:
    """Upper-case constituent name with common aliases resolved (``lda2`` -> ``LAMBDA2``)."""
    key = str(name).strip().upper()
    return _ALIASES.get(key, key)


def pytmd_names(constituents: Sequence[str]) -> list[str]:
    """pyTMD's names of ``constituents`` (lower case; ``SIG1`` is its ``sigma1``)."""
    return [astronomy.PYTMD_NAMES.get(canonical_constituent(c), c.lower()) for c in constituents]


def constituent_frequency(constituents: Sequence[str], corrections: str = "FES") -> np.ndarray:
    """Angular speeds (n_con,) in rad/s (:func:`workflows.forcing.astronomy.angular_speed`, the
    same as pyTMD's ``frequency``; names as :func:`canonical_constituent` reads them, ``Z0``: 0);
    unknown names raise :class:`TideInputError`."""
    try:
        return astronomy.angular_speed([canonical_constituent(c) for c in constituents], corrections)
    except astronomy.UnknownConstituent as exc:
        raise TideInputError(str(exc)) from None


def modified_julian_day(when: datetime) -> float:
    """MJD (days since 1858-11-17T00Z) of an aware datetime."""
    return (utc(when, "time", TideInputError) - MJD_EPOCH).total_seconds() / 86400.0


def readonly_array(a, dtype=float):
    if a is None:
        return None
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class HarmonicConstituents:
    """Harmonic constants of the tide at a set of points.

    ``constituents``: (n_con,) upper-case names. ``amplitude``: (n_con, n_point) m; ``phase``:
    (n_con, n_point) Greenwich phase lag in degrees referred to UTC (kept in [0, 360)).
    ``u_amplitude``/``u_phase``/``v_amplitude``/``v_phase``: optional (n_con, n_point) eastward and
    northward depth-averaged current amplitudes (m/s) and phase lags (deg). ``lon``/``lat``:
    optional (n_point,) degrees. ``node_ids``: optional (n_point,) 0-based mesh node ids when the
    source names them. ``source``: a human-readable provenance string.
    """

    constituents: tuple[str, ...]
    amplitude: np.ndarray = field(repr=False)
    phase: np.ndarray = field(repr=False)
    lon: np.ndarray | None = field(default=None, repr=False)
    lat: np.ndarray | None = field(default=None, repr=False)
    u_amplitude: np.ndarray | None = field(default=None, repr=False)
    u_phase: np.ndarray | None = field(default=None, repr=False)
    v_amplitude: np.ndarray | None = field(default=None, repr=False)
    v_phase: np.ndarray | None = field(default=None, repr=False)
    node_ids: np.ndarray | None = field(default=None, repr=False)
    source: str = ""

    def __post_init__(self):
        src = f"{self.source}: " if self.source else ""
        names = tuple(canonical_constituent(c) for c in self.constituents)
        if len(set(names)) != len(names):
            dup = sorted({c for c in names if names.count(c) > 1})
            raise TideInputError(f"{src}constituent(s) {', '.join(dup)} given more than once")
        object.__setattr__(self, "constituents", names)
        amp = np.array(self.amplitude, dtype=float, ndmin=2)
        pha = np.array(self.phase, dtype=float, ndmin=2)
        n_con = len(names)
        if amp.ndim != 2 or amp.shape[0] != n_con:
            raise TideInputError(f"{src}amplitude has shape {amp.shape}, expected ({n_con}, n_point)")
        n_point = amp.shape[1]
        parts = {"amplitude": amp, "phase": pha}
        if (
            (self.u_amplitude is None) != (self.v_amplitude is None)
            or (self.u_amplitude is None) != (self.u_phase is None)
            or (self.v_amplitude is None) != (self.v_phase is None)
        ):
            raise TideInputError(f"{src}currents need all of u_amplitude, u_phase, v_amplitude, v_phase")
        for key in ("u_amplitude", "u_phase", "v_amplitude", "v_phase"):
            if getattr(self, key) is not None:
                parts[key] = np.array(getattr(self, key), dtype=float, ndmin=2)
        for key, arr in parts.items():
            if arr.shape != (n_con, n_point):
                raise TideInputError(f"{src}{key} has shape {arr.shape}, expected ({n_con}, {n_point})")
            bad = ~np.isfinite(arr)
            if bad.any():
                k, p = np.argwhere(bad)[0]
                raise TideInputError(f"{src}{key} of {names[k]} at point {p} is {arr[k, p]} (not a number)")
            if key.endswith("amplitude") and (arr < 0).any():
                k, p = np.argwhere(arr < 0)[0]
                raise TideInputError(f"{src}{key} of {names[k]} at point {p} is negative ({arr[k, p]})")
            if key.endswith("phase"):
                arr = np.mod(arr, 360.0)
            object.__setattr__(self, key, readonly_array(arr))
        for key in ("lon", "lat"):
            val = getattr(self, key)
            if val is not None:
                arr = np.array(val, dtype=float).ravel()
                if arr.shape != (n_point,):
                    raise TideInputError(f"{src}{key} has {arr.size} values for {n_point} points")
                object.__setattr__(self, key, readonly_array(arr))
        if self.node_ids is not None:
            ids = np.array(self.node_ids, dtype=np.int64).ravel()
            if ids.shape != (n_point,):
                raise TideInputError(f"{src}node_ids has {ids.size} values for {n_point} points")
            object.__setattr__(self, "node_ids", readonly_array(ids, np.int64))

    @property
    def n_point(self) -> int:
        return self.amplitude.shape[1]

    @property
    def has_currents(self) -> bool:
        return self.u_amplitude is not None

    def complex_elevation(self) -> np.ndarray:
        """(n_con, n_point) complex ``A exp(-iG)`` in m."""
        return self.amplitude * np.exp(-1j * np.radians(self.phase))

    def select(self, constituents: Sequence[str] | None) -> HarmonicConstituents:
        """The named constituents, in that order; ``None`` keeps all. Missing names raise."""
        if constituents is None:
            return self
        wanted = [canonical_constituent(c) for c in constituents]
        missing = [c for c in wanted if c not in self.constituents]
        if missing:
            raise TideInputError(
                f"{self.source or 'tidal constants'}: constituent(s) {', '.join(missing)} not available "
                f"(it has {', '.join(self.constituents)})"
            )
        idx = [self.constituents.index(c) for c in wanted]
        return self._take(idx, slice(None), tuple(wanted))

    def take(self, points) -> HarmonicConstituents:
        """A subset (or reordering) of the points; ``points`` indexes the point axis."""
        return self._take(slice(None), np.asarray(points), self.constituents)

    def _take(self, ic, ip, names):
        def pick(a):
            return None if a is None else a[ic][:, ip]

        def pick1(a):
            return None if a is None else a[ip]

        return HarmonicConstituents(
            names,
            pick(self.amplitude),
            pick(self.phase),
            pick1(self.lon),
            pick1(self.lat),
            pick(self.u_amplitude),
            pick(self.u_phase),
            pick(self.v_amplitude),
            pick(self.v_phase),
            pick1(self.node_ids),
            self.source,
        )

    def without_currents(self) -> HarmonicConstituents:
        return replace(self, u_amplitude=None, u_phase=None, v_amplitude=None, v_phase=None)

    def extended(self, other: HarmonicConstituents) -> HarmonicConstituents:
        """These constants followed by ``other``'s constituents that these lack (same points);
        currents are kept only where both have them."""
        add = [c for c in other.constituents if c not in self.constituents]
        if not add:
            return self
        if other.n_point != self.n_point:
            raise TideInputError(f"cannot extend {self.n_point} points by {other.n_point}")
        o = other.select(add)
        cur = self.has_currents and o.has_currents

        def cat(a, b):
            return np.vstack([a, b]) if cur else None

        return HarmonicConstituents(
            self.constituents + tuple(add),
            np.vstack([self.amplitude, o.amplitude]),
            np.vstack([self.phase, o.phase]),
            self.lon,
            self.lat,
            cat(self.u_amplitude, o.u_amplitude),
            cat(self.u_phase, o.u_phase),
            cat(self.v_amplitude, o.v_amplitude),
            cat(self.v_phase, o.v_phase),
            self.node_ids,
            self.source,
        )


COASTCAST_ATLAS = Path(__file__).resolve().parent.parent / "data" / "tides" / "coastcast_tides_north_atlantic.nc"
"""coastcast's own tide atlas (:mod:`workflows.global_tides`), shipped with the package: the
``path`` of ``kind = "atlas"``, ``model = "coastcast"`` when none is given."""
