"""Tidal forcing at open boundaries: harmonic constants, prediction, boundary callables.

Prediction
----------
The tide at a point is the sum over constituents ``k`` (Schureman 1958; Pugh & Woodworth 2014,
eq. 4.14)::

    eta(t) = sum_k f_k A_k cos(omega_k t + V0_k + u_k - G_k)

with ``A_k`` the amplitude (m; m/s for currents), ``G_k`` the Greenwich phase lag referred to UTC
(degrees), ``omega_k`` the angular speed (rad/s), ``V0_k`` the astronomical (equilibrium)
argument at the run's start, and ``f_k``, ``u_k`` the nodal amplitude factor and phase correction.
``omega``, ``V0``, ``f`` and ``u`` come from :mod:`workflows.forcing.astronomy` (Doodson numbers,
mean longitudes and nodal formulas, numpy only, so a forecast does not import pyTMD; it equals
``pyTMD.constituents.arguments`` and ``frequency`` to 1e-12, ``tests/test_astronomy.py``). The
default ``corrections="FES"`` uses Schureman's nodal formulas with Meeus (ASTRO5) mean
longitudes; ``"OTIS"``, ``"GOT"`` and ``"perth3"`` select pyTMD's other conventions (use
``"OTIS"`` to reproduce TPXO's own predictions).

Nodal corrections ``f``, ``u`` are evaluated **once per run, at the mid-time** ``start +
duration/2`` (as ADCIRC's ``tide_fac`` and SCHISM's ``bctides`` generators do): over a 3-day
forecast they change by < 0.01 % and < 0.002 deg; over 30 days by about 0.05 % and 0.03 deg.
``V0`` is evaluated at ``start`` and advanced linearly with ``omega``. UT1-UTC and TT-UTC are
neglected (an error of < 0.03 deg in M2).

Callables for the solver
------------------------
``TidalElevation(t)`` -> (n_point,) m and ``TidalVelocity(t)`` -> ``(u, v)`` each (n_point,)
eastward/northward m/s, with ``t`` in seconds since the run's start (an aware UTC datetime). Both
precompute ``f A cos G`` and ``f A sin G`` so a call costs two (n_con,) x (n_con, n_point)
products. A 1-D array of times gives (n_t, n_point).

Sources: ``tidal_forcing_for_boundary``
---------------------------------------
``tidal_forcing_for_boundary(source, lon, lat, node_ids, start, duration=72 h, constituents=None)``
returns a :class:`TidalBoundaryForcing` (``.elevation``, ``.velocity`` or ``None``,
``.constants``) for one open-boundary segment whose nodes are ``node_ids`` (0-based mesh ids, in
order along the boundary) at ``lon``/``lat`` (degrees). ``source`` is a :class:`TideSource` or
the mapping of the forecast config's ``[tides]`` table:

=================  ==========================================================================
``kind``           what ``path`` is and how nodes are matched
=================  ==========================================================================
``harmonics``      CSV table (JMJ layout: open_boundary, seq, node (1-based), lon, lat,
                   depth_m, ``<CON>_amp_m``, ``<CON>_phase_deg``); rows matched by node id,
                   positions checked (0.01 deg). Optional ``boundary`` = open_boundary value.
``bctides``        SCHISM ``bctides.in``; ``boundary`` = 1-based open segment (may be omitted
                   when there is one); node count must match. Type 3/5 elevation and velocity.
``fort15``         ADCIRC ``fort.15`` periodic boundary table; NETA must equal the node count,
                   or set ``offset`` = index of this segment's first node in the NETA list.
``telemac-cli``    TELEMAC harmonic file (``maree.cli``); matched by global node number
                   (1-based); constituents identified by their periods.
``atlas``          ``model`` = ``coastcast`` (coastcast's own global atlas, shipped; ``path``
                   optional; elevations and currents of M2 S2 N2 K2 K1 O1 P1 Q1 M4 MS4 MN4),
                   ``jmj`` (``path`` = the JMJ NetCDF; elevations and currents),
                   ``fes`` (``path`` = directory of FES2014/FES2022 ``<con>.nc`` or
                   ``<con>_fes2022.nc``, amplitudes in cm; optional ``u_path``/``v_path``
                   directories of FES2014 ``eastward_velocity``/``northward_velocity`` files,
                   cm/s) or ``tpxo`` (``path`` = directory of TPXO9 netCDF ``h_<con>_tpxo*.nc``
                   with ``hRe``/``hIm`` in mm, or ``h_tpxo9*.nc`` with ``ha`` in m; elevations
                   only). Interpolated linearly (on the atlas triangles, or bilinearly on the
                   grid) in complex form ``A exp(-iG)``; nearest wet value outside.
=================  ==========================================================================

Other keys: ``constituents`` (list; default all the source has), ``nodal_corrections``
(``FES``), ``currents`` (``true``: also prescribe currents where the source has them),
``infer_minor`` (``true``), ``supplement`` (``"coastcast"``: what the source lacks after the
inference, e.g. the diurnals of a semidiurnal regional atlas, from coastcast's global atlas).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from solver.state import utc

from ..keys import check_keys
from . import astronomy
from .harmonics import (  # noqa: F401 (re-exported: the public names of the tide package)
    COASTCAST_ATLAS,
    DEFAULT_DURATION,
    MJD_EPOCH,
    NODAL_CORRECTIONS,
    HarmonicConstituents,
    TideInputError,
    canonical_constituent,
    constituent_frequency,
    modified_julian_day,
    pytmd_names,
    readonly_array,
)
from .minor_tides import infer_minor

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class AstronomicalArguments:
    """Per-constituent speeds and phase offsets of one run.

    ``omega``: (n_con,) rad/s. ``phase0``: (n_con,) rad, ``V0(start) + u(nodal_time)``.
    ``f``: (n_con,) nodal amplitude factors at ``nodal_time``. The argument of constituent k at
    model time t (s since ``start``) is ``omega_k t + phase0_k``.
    """

    constituents: tuple[str, ...]
    start: datetime
    nodal_time: datetime
    corrections: str
    omega: np.ndarray = field(repr=False)
    phase0: np.ndarray = field(repr=False)
    f: np.ndarray = field(repr=False)

    @classmethod
    def for_run(
        cls,
        constituents: Sequence[str],
        start: datetime,
        duration: timedelta = DEFAULT_DURATION,
        corrections: str = "FES",
        nodal_time: datetime | None = None,
    ) -> AstronomicalArguments:
        """Arguments for a run from ``start`` lasting ``duration``; nodal terms at the mid-time
        (or at ``nodal_time`` when given)."""
        start = utc(start, "start", TideInputError)
        if corrections not in NODAL_CORRECTIONS:
            raise TideInputError(f"nodal_corrections {corrections!r} is not one of {', '.join(NODAL_CORRECTIONS)}")
        names = tuple(canonical_constituent(c) for c in constituents)
        omega = constituent_frequency(names, corrections)
        if nodal_time is None:
            nodal_time = start + duration / 2
        nodal_time = utc(nodal_time, "nodal_time", TideInputError)
        phase0 = np.zeros(len(names))
        f = np.ones(len(names))
        tidal = [i for i, c in enumerate(names) if c != "Z0"]  # Z0: the mean level, f = 1, argument 0
        if tidal:
            waves = [names[i] for i in tidal]
            v0 = astronomy.equilibrium_argument([modified_julian_day(start)], waves, corrections)
            pu, pf = astronomy.nodal_corrections([modified_julian_day(nodal_time)], waves, corrections)
            phase0[tidal] = np.mod(np.radians(v0[0]) + pu[0], 2 * np.pi)
            f[tidal] = pf[0]
        return cls(names, start, nodal_time, corrections, readonly_array(omega), readonly_array(phase0), readonly_array(f))

    def angles(self, t) -> np.ndarray:
        """(n_con,) or (n_t, n_con) arguments in rad at model time(s) t (s since start)."""
        return np.multiply.outer(np.asarray(t, dtype=float), self.omega) + self.phase0


@dataclass(frozen=True, eq=False)
class HarmonicSeries:
    """``sum_k f_k A_k cos(theta_k(t) - G_k)`` at n_point points, precomputed as
    ``cos(theta) @ a + sin(theta) @ b`` with ``a = f A cos G``, ``b = f A sin G`` (n_con, n_point)."""

    arguments: AstronomicalArguments
    a: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, arguments: AstronomicalArguments, amplitude, phase_deg) -> HarmonicSeries:
        fa = arguments.f[:, None] * np.asarray(amplitude, dtype=float)
        g = np.radians(np.asarray(phase_deg, dtype=float))
        return cls(arguments, readonly_array(fa * np.cos(g)), readonly_array(fa * np.sin(g)))

    def __call__(self, t) -> np.ndarray:
        theta = self.arguments.angles(t)
        return np.cos(theta) @ self.a + np.sin(theta) @ self.b


@dataclass(frozen=True, eq=False)
class TidalElevation:
    """Callable ``elevation(t) -> (n_point,)`` m (t: s since ``start``; an array of n_t times
    gives (n_t, n_point))."""

    series: HarmonicSeries
    constants: HarmonicConstituents = field(repr=False)

    @classmethod
    def build(
        cls,
        constants: HarmonicConstituents,
        start: datetime,
        duration: timedelta = DEFAULT_DURATION,
        corrections: str = "FES",
        nodal_time: datetime | None = None,
    ) -> TidalElevation:
        args = AstronomicalArguments.for_run(constants.constituents, start, duration, corrections, nodal_time)
        return cls(HarmonicSeries.build(args, constants.amplitude, constants.phase), constants)

    @property
    def start(self) -> datetime:
        return self.series.arguments.start

    def __call__(self, t) -> np.ndarray:
        return self.series(t)


@dataclass(frozen=True, eq=False)
class TidalVelocity:
    """Callable ``velocity(t) -> (u, v)``, each (n_point,) eastward/northward m/s."""

    u: HarmonicSeries
    v: HarmonicSeries
    constants: HarmonicConstituents = field(repr=False)

    @classmethod
    def build(
        cls,
        constants: HarmonicConstituents,
        start: datetime,
        duration: timedelta = DEFAULT_DURATION,
        corrections: str = "FES",
        nodal_time: datetime | None = None,
    ) -> TidalVelocity:
        if not constants.has_currents:
            raise TideInputError(f"{constants.source or 'tidal constants'}: no current harmonics")
        args = AstronomicalArguments.for_run(constants.constituents, start, duration, corrections, nodal_time)
        return cls(
            HarmonicSeries.build(args, constants.u_amplitude, constants.u_phase),
            HarmonicSeries.build(args, constants.v_amplitude, constants.v_phase),
            constants,
        )

    def __call__(self, t) -> tuple[np.ndarray, np.ndarray]:
        return self.u(t), self.v(t)


@dataclass(frozen=True, eq=False)
class TidalBoundaryForcing:
    """Tidal forcing of one open-boundary segment: ``elevation(t)``, ``velocity(t)`` or None."""

    elevation: TidalElevation
    velocity: TidalVelocity | None
    constants: HarmonicConstituents = field(repr=False)
    description: str = ""


# --------------------------------------------------------------------------------------------
# configuration

SOURCE_KINDS = ("harmonics", "bctides", "fort15", "telemac-cli", "atlas")
ATLAS_MODELS = ("jmj", "coastcast", "fes", "tpxo")
_SOURCE_KEYS = (
    "kind",
    "path",
    "model",
    "boundary",
    "offset",
    "u_path",
    "v_path",
    "constituents",
    "nodal_corrections",
    "currents",
    "infer_minor",
    "supplement",
)
SUPPLEMENTS = ("coastcast",)


@dataclass(frozen=True)
class TideSource:
    """Where a boundary's tidal constants come from (see the module docstring for the kinds)."""

    kind: str
    path: Path
    model: str | None = None
    boundary: int | None = None
    offset: int | None = None
    u_path: Path | None = None
    v_path: Path | None = None
    constituents: tuple[str, ...] | None = None
    nodal_corrections: str = "FES"
    currents: bool = True
    infer_minor: bool = True
    """Add the minor semidiurnal constituents the source lacks (K2, 2N2, MU2, NU2, L2, T2,
    LAMBDA2), inferred from its N2, M2 and S2 (:mod:`workflows.forcing.minor_tides`)."""
    supplement: str | None = None
    """``"coastcast"``: the constituents the source lacks even after the inference (the diurnals
    K1, O1, P1, Q1 of a semidiurnal regional atlas, MS4, MN4) taken from coastcast's global atlas
    at the same nodes; None: the source alone."""

    def __post_init__(self):
        if self.kind not in SOURCE_KINDS:
            raise TideInputError(f"tide source kind {self.kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        if self.kind == "atlas" and self.model not in ATLAS_MODELS:
            raise TideInputError(f"tide atlas model {self.model!r} is not one of {', '.join(ATLAS_MODELS)}")
        if self.kind != "atlas" and self.model is not None:
            raise TideInputError(f"'model' is only for kind = \"atlas\" (kind is {self.kind!r})")
        if self.nodal_corrections not in NODAL_CORRECTIONS:
            raise TideInputError(f"nodal_corrections {self.nodal_corrections!r} is not one of {', '.join(NODAL_CORRECTIONS)}")
        object.__setattr__(self, "path", Path(self.path))
        for key in ("u_path", "v_path"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, Path(getattr(self, key)))
        if self.constituents is not None:
            object.__setattr__(self, "constituents", tuple(canonical_constituent(c) for c in self.constituents))
        if self.supplement is not None and self.supplement not in SUPPLEMENTS:
            raise TideInputError(f"supplement {self.supplement!r} is not one of {', '.join(SUPPLEMENTS)} (or leave it out)")
        if self.offset is not None and self.offset < 0:
            raise TideInputError(f"offset must be >= 0, got {self.offset}")

    @classmethod
    def from_mapping(cls, mapping: Mapping, base_dir=None, where: str = "[tides]") -> TideSource:
        """From a config table; relative paths are taken from ``base_dir``. Unknown keys raise."""
        data = dict(mapping)
        if "source" in data and "kind" not in data:
            data["kind"] = data.pop("source")
        if "file" in data and "path" not in data:
            data["path"] = data.pop("file")
        if isinstance(data.get("kind"), str):
            data["kind"] = data["kind"].replace("_", "-")
        check_keys(data, _SOURCE_KEYS, where, TideInputError)
        if data.get("kind") == "atlas" and data.get("model") == "coastcast" and data.get("path") is None:
            data["path"] = COASTCAST_ATLAS
        for key in ("kind", "path"):
            if key not in data:
                raise TideInputError(f"{where}: missing key {key!r}")
        base = Path(base_dir) if base_dir is not None else None
        for key in ("path", "u_path", "v_path"):
            if data.get(key) is not None:
                p = Path(str(data[key])).expanduser()
                data[key] = base / p if base is not None and not p.is_absolute() else p
        if isinstance(data.get("constituents"), str):
            data["constituents"] = [c for c in data["constituents"].replace(",", " ").split() if c]
        if data.get("constituents") is not None:
            data["constituents"] = tuple(data["constituents"])
        for key in ("boundary", "offset"):
            if data.get(key) is not None and (isinstance(data[key], bool) or not isinstance(data[key], int)):
                raise TideInputError(f"{where}: {key} must be an integer, got {data[key]!r}")
        for key in ("currents", "infer_minor"):
            if key in data and not isinstance(data[key], bool):
                raise TideInputError(f"{where}: {key} must be true or false, got {data[key]!r}")
        try:
            return cls(**data)
        except TideInputError as exc:
            raise TideInputError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------------------------
# factory


def load_constants(source: TideSource, lon, lat, node_ids, constituents: Sequence[str] | None = None) -> HarmonicConstituents:
    """Harmonic constants at the n nodes of one boundary segment, in the segment's order.

    ``lon``, ``lat``: (n,) degrees; ``node_ids``: (n,) 0-based mesh node ids; ``constituents``:
    the ones wanted (default: ``source.constituents``, else all the source has).
    """
    wanted = constituents if constituents is not None else source.constituents
    from . import tide_atlases, tide_formats

    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    node_ids = np.asarray(node_ids, dtype=np.int64).ravel()
    if not (lon.size == lat.size == node_ids.size) or lon.size == 0:
        raise TideInputError(f"boundary has {lon.size} lon, {lat.size} lat and {node_ids.size} node ids")
    kind = source.kind
    if kind == "harmonics":
        table = tide_formats.read_boundary_harmonics_csv(source.path, open_boundary=source.boundary)
        return _match_by_node(table, node_ids, lon, lat, source.path)
    if kind == "telemac-cli":
        table = tide_formats.read_telemac_harmonic_cli(source.path)
        return _match_by_node(table, node_ids, lon, lat, source.path)
    if kind == "bctides":
        segments = tide_formats.read_bctides(source.path)
        if source.boundary is None:
            if len(segments) != 1:
                raise TideInputError(f"{source.path.name}: has {len(segments)} open boundary segments: set 'boundary' (1-based)")
            seg = segments[0]
        else:
            if not 1 <= source.boundary <= len(segments):
                raise TideInputError(f"{source.path.name}: boundary {source.boundary} not in 1..{len(segments)}")
            seg = segments[source.boundary - 1]
        if seg.constants is None:
            raise TideInputError(
                f"{source.path.name}: open boundary {seg.index} has no tidal harmonics "
                f"(iettype {seg.iettype}, ifltype {seg.ifltype})"
            )
        if seg.constants.n_point != node_ids.size:
            raise TideInputError(
                f"{source.path.name}: open boundary {seg.index} has {seg.constants.n_point} nodes, "
                f"the mesh boundary has {node_ids.size}"
            )
        return replace(seg.constants, lon=lon, lat=lat, node_ids=node_ids)
    if kind == "fort15":
        table = tide_formats.read_fort15_boundary_harmonics(source.path)
        if source.offset is None:
            if table.n_point != node_ids.size:
                raise TideInputError(
                    f"{source.path.name}: NETA = {table.n_point} boundary nodes but the mesh boundary has "
                    f"{node_ids.size}; for one of several segments set 'offset' (its first node in the list)"
                )
            offset = 0
        else:
            offset = source.offset
            if offset + node_ids.size > table.n_point:
                raise TideInputError(
                    f"{source.path.name}: NETA = {table.n_point} boundary nodes, but entries {offset}.."
                    f"{offset + node_ids.size - 1} are needed ({node_ids.size} nodes from offset {offset})"
                )
        return replace(table.take(np.arange(offset, offset + node_ids.size)), lon=lon, lat=lat, node_ids=node_ids)
    # atlas
    atlas = tide_atlases.open_atlas(source.model, source.path, u_path=source.u_path, v_path=source.v_path)
    constants = atlas.interpolate(lon, lat, wanted)
    return replace(constants, node_ids=node_ids)


def _match_by_node(table: HarmonicConstituents, node_ids, lon, lat, path) -> HarmonicConstituents:
    """Rows of ``table`` for ``node_ids`` in order; positions must agree within 0.01 deg."""
    name = Path(path).name
    index = {int(n): i for i, n in enumerate(table.node_ids)}
    missing = [int(n) for n in node_ids if int(n) not in index]
    if missing:
        shown = ", ".join(str(n + 1) for n in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise TideInputError(
            f"{name}: {len(missing)} of the boundary's {node_ids.size} nodes are not in the file (1-based node numbers {shown})"
        )
    rows = np.array([index[int(n)] for n in node_ids])
    out = table.take(rows)
    if out.lon is not None and out.lat is not None:
        dist = np.hypot(out.lon - lon, out.lat - lat)
        if (dist > 0.01).any():
            i = int(np.argmax(dist))
            raise TideInputError(
                f"{name}: node {int(node_ids[i]) + 1} is at ({out.lon[i]:.5f}, {out.lat[i]:.5f}) in the file "
                f"but at ({lon[i]:.5f}, {lat[i]:.5f}) in the mesh: is this table for another mesh?"
            )
    return replace(out, lon=lon, lat=lat)


def tidal_forcing_for_boundary(
    source: TideSource | Mapping,
    lon,
    lat,
    node_ids,
    start: datetime,
    *,
    duration: timedelta = DEFAULT_DURATION,
    constituents: Sequence[str] | None = None,
    base_dir=None,
) -> TidalBoundaryForcing:
    """Tidal elevation (and, where the source has them and ``currents`` is on, velocity)
    callables for one open-boundary segment.

    ``lon``, ``lat``: (n,) degrees of the segment's nodes; ``node_ids``: (n,) 0-based mesh ids in
    order along the boundary; ``start``: aware UTC datetime of model time 0; ``duration``: run
    length (nodal corrections at its mid-time); ``constituents``: overrides the source's list.
    """
    if not isinstance(source, TideSource):
        source = TideSource.from_mapping(source, base_dir=base_dir)
    start = utc(start, "start", TideInputError)
    wanted = constituents if constituents is not None else source.constituents
    constants = load_constants(source, lon, lat, node_ids, wanted).select(wanted)
    inferred = ()
    if source.infer_minor:
        constants, inferred = infer_minor(constants)
    supplemented = ()
    if source.supplement == "coastcast":
        from . import tide_atlases

        extra = tide_atlases.open_atlas("coastcast").interpolate(lon, lat)
        before = constants.constituents
        constants = constants.extended(extra)
        supplemented = constants.constituents[len(before) :]
    elevation = TidalElevation.build(constants, start, duration, source.nodal_corrections)
    velocity = None
    if source.currents and constants.has_currents:
        velocity = TidalVelocity(
            HarmonicSeries.build(elevation.series.arguments, constants.u_amplitude, constants.u_phase),
            HarmonicSeries.build(elevation.series.arguments, constants.v_amplitude, constants.v_phase),
            constants,
        )
    what = f"{source.kind}{'/' + source.model if source.model else ''} {source.path.name}"
    given = constants.constituents[: len(constants.constituents) - len(inferred) - len(supplemented)]
    desc = (
        f"{what}: {', '.join(given)}{' + ' + ', '.join(inferred) + ' inferred by admittance' if inferred else ''}"
        f"{' + ' + ', '.join(supplemented) + ' from the coastcast atlas' if supplemented else ''} "
        f"at {constants.n_point} nodes"
        f"{' with currents' if velocity is not None else ''}; nodal corrections "
        f"{source.nodal_corrections} at {elevation.series.arguments.nodal_time.isoformat()}"
    )
    log.info("tidal forcing: %s", desc)
    return TidalBoundaryForcing(elevation, velocity, constants, desc)
