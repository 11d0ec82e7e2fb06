"""The tide-gauge catalogue: harmonic constants and tidal datums of real tide gauges.

The package ships ``workflows/data/gauges/tide_gauges_north_atlantic.nc`` (2,616 North Atlantic
gauges, TICON-4 CC-BY-4.0 and NOAA CO-OPS public domain; see the README.md in that folder). A
:class:`GaugeCatalogue` holds it as arrays over a ``station`` axis; every subset (by ids, by a
boolean mask, by a lon/lat box, by a mesh) is again a catalogue, possibly empty.

Prediction
----------
:meth:`GaugeCatalogue.predict` gives the astronomical tide relative to mean sea level (the
harmonic mean, no Z0) with the project's tide machinery (:mod:`workflows.forcing.tides`, :mod:`workflows.forcing.astronomy`):
``eta(t) = sum_k f_k A_k cos(omega_k t + V0_k + u_k - G_k)``, nodal corrections ``f``, ``u``
(``corrections="FES"``: Schureman) evaluated at the middle of the requested span, as the
boundary forcing does for a run. Spans longer than :data:`NODAL_WINDOW` are cut into consecutive
pieces of that length, each with its own mid-time (15.5 days from it, f(M2) has drifted by
< 0.05 % and u(M2) by < 0.03 deg; at Brest the whole tide by < 3 mm). Absent constituents
contribute nothing.

Datums
------
Datum heights are in each gauge's own vertical frame; only differences between datums of one
station are used. ``datum_level(X) = datum_X - datum_MSL`` is the level of datum X relative to
MSL (m, up), ``height_above(X, zeta) = zeta - datum_level(X)`` converts a water level relative to
MSL into a height above datum X (e.g. above chart datum / LAT). The name ``"chart"`` stands for
each station's own chart datum (NaN where that datum, e.g. Canada's LLWLT, is not tabulated).
Missing datums give NaN, never an error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from solver.state import utc

from .forcing.tides import HarmonicConstituents, TidalElevation, TideInputError, canonical_constituent
from .keys import did_you_mean

log = logging.getLogger(__name__)

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "data" / "gauges" / "tide_gauges_north_atlantic.nc"
"""The shipped catalogue (NetCDF, ``station`` dimension)."""
DATUMS = ("LAT", "MLLW", "MLWS", "MLW", "MSL", "MHW", "MHWS", "MHHW", "HAT")
"""Datum names the catalogue may hold (in the file's ``datum`` variable)."""
CHART = "chart"
"""Datum alias: each station's own chart datum."""
NODAL_WINDOW = timedelta(days=31)
"""Longest span predicted with one set of nodal corrections."""
DEFAULT_THRESHOLDS = ("MHWS", "HAT")

_TEXT = ("station_id", "name", "country", "source", "licence", "chart_datum")
_UTC = timezone.utc


class GaugeError(ValueError):
    """A gauge catalogue problem (unknown id or datum, unreadable file); one-line message."""


def _readonly(a, dtype=None) -> np.ndarray:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


def as_utc_datetime64(times) -> np.ndarray:
    """Times as a (n_t,) ``datetime64[ns]`` array understood as UTC.

    ``times``: a ``datetime64`` array (taken as UTC), or a sequence of timezone-aware
    ``datetime`` objects (naive ones raise :class:`GaugeError`), or one of either.
    """
    arr = np.asarray(times)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]").ravel()
    flat = arr.ravel()
    out = np.empty(flat.size, dtype="datetime64[ns]")
    for k, t in enumerate(flat):
        if isinstance(t, np.datetime64):
            out[k] = t.astype("datetime64[ns]")
            continue
        if not isinstance(t, datetime):
            raise GaugeError(f"time {t!r} is neither a datetime nor a numpy datetime64")
        out[k] = np.datetime64(utc(t, "time", GaugeError).replace(tzinfo=None), "ns")
    return out


def _to_datetime(t: np.datetime64) -> datetime:
    return t.astype("datetime64[us]").item().replace(tzinfo=_UTC)


@dataclass(frozen=True, eq=False)
class GaugeCatalogue:
    """Tide gauges with harmonic constants and tidal datums (arrays read-only).

    ``station_id``, ``name``, ``country``, ``source``, ``licence``, ``chart_datum``: (n,) str.
    ``lat``, ``lon``: (n,) float64 degrees. ``constituents``: (n_con,) upper-case names;
    ``amplitude``: (n, n_con) m; ``phase``: (n, n_con) Greenwich phase lag in degrees referred to
    UTC; both NaN where a gauge lacks the constituent. ``datums``: (n_datum,) names;
    ``datum_height``: (n, n_datum) m in the gauge's own vertical frame, NaN where absent.
    ``attrs``: the file's global attributes (provenance, licences). ``path``: where it was read.
    """

    station_id: np.ndarray = field(repr=False)
    name: np.ndarray = field(repr=False)
    country: np.ndarray = field(repr=False)
    source: np.ndarray = field(repr=False)
    licence: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    lon: np.ndarray = field(repr=False)
    constituents: tuple[str, ...]
    amplitude: np.ndarray = field(repr=False)
    phase: np.ndarray = field(repr=False)
    chart_datum: np.ndarray = field(repr=False)
    datums: tuple[str, ...]
    datum_height: np.ndarray = field(repr=False)
    attrs: dict = field(default_factory=dict, repr=False)
    path: Path | None = None

    def __post_init__(self):
        where = str(self.path) if self.path is not None else "gauge catalogue"
        n = np.asarray(self.station_id).size
        for key in _TEXT:
            arr = np.asarray(getattr(self, key), dtype=str).ravel()
            if arr.size != n:
                raise GaugeError(f"{where}: {key} has {arr.size} values for {n} stations")
            object.__setattr__(self, key, _readonly(arr))
        for key in ("lat", "lon"):
            arr = np.asarray(getattr(self, key), dtype=np.float64).ravel()
            if arr.size != n:
                raise GaugeError(f"{where}: {key} has {arr.size} values for {n} stations")
            object.__setattr__(self, key, _readonly(arr))
        object.__setattr__(self, "constituents", tuple(canonical_constituent(c) for c in self.constituents))
        object.__setattr__(self, "datums", tuple(str(d).strip().upper() for d in self.datums))
        for key, cols in (("amplitude", self.constituents), ("phase", self.constituents), ("datum_height", self.datums)):
            arr = np.asarray(getattr(self, key), dtype=np.float64)
            if arr.shape != (n, len(cols)):
                raise GaugeError(f"{where}: {key} has shape {arr.shape}, expected ({n}, {len(cols)})")
            object.__setattr__(self, key, _readonly(arr))
        if len(set(self.station_id.tolist())) != n:
            ids = self.station_id.tolist()
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise GaugeError(f"{where}: station id {dup[0]!r} appears more than once")
        bad = np.isnan(self.amplitude) != np.isnan(self.phase)
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise GaugeError(
                f"{where}: station {self.station_id[i]!r} has only one of amplitude and phase for {self.constituents[k]}"
            )
        if (self.amplitude < 0).any():
            i, k = np.argwhere(self.amplitude < 0)[0]
            raise GaugeError(
                f"{where}: station {self.station_id[i]!r} has a negative {self.constituents[k]} "
                f"amplitude ({self.amplitude[i, k]})"
            )
        object.__setattr__(self, "_index", {sid: i for i, sid in enumerate(self.station_id.tolist())})

    # -- size and lookup -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.station_id.size

    @property
    def n_station(self) -> int:
        return self.station_id.size

    def index(self, ids: str | Iterable[str]) -> np.ndarray:
        """(k,) int64 positions of the station ids (a single id gives one int).

        An unknown id raises :class:`GaugeError` naming it (and a close match when there is one).
        """
        single = isinstance(ids, str)
        wanted = [ids] if single else [str(i) for i in ids]
        out = np.empty(len(wanted), dtype=np.int64)
        for k, sid in enumerate(wanted):
            pos = self._index.get(sid)
            if pos is None:
                raise GaugeError(f"unknown gauge id {sid!r} in {self._where()}{did_you_mean(sid, self._index)}")
            out[k] = pos
        return int(out[0]) if single else out

    def _where(self) -> str:
        return f"{self.path.name}" if self.path is not None else "the gauge catalogue"

    # -- subsets -------------------------------------------------------------------------------
    def subset(self, selection) -> GaugeCatalogue:
        """The stations chosen by ``selection``: a (n,) boolean mask, or (k,) integer positions
        (in that order); an empty selection gives an empty catalogue."""
        sel = np.asarray(selection)
        if sel.dtype == bool:
            if sel.shape != (self.n_station,):
                raise GaugeError(f"station mask has shape {sel.shape}, expected ({self.n_station},)")
            idx = np.flatnonzero(sel)
        else:
            if sel.size == 0:
                idx = np.zeros(0, dtype=np.int64)
            elif sel.dtype.kind not in "iu":
                raise GaugeError(f"station selection must be a boolean mask or integer positions, got {sel.dtype}")
            else:
                idx = sel.astype(np.int64).ravel()
                if ((idx < -self.n_station) | (idx >= self.n_station)).any():
                    raise GaugeError(f"station position out of range 0..{self.n_station - 1}")
        return GaugeCatalogue(
            self.station_id[idx],
            self.name[idx],
            self.country[idx],
            self.source[idx],
            self.licence[idx],
            self.lat[idx],
            self.lon[idx],
            self.constituents,
            self.amplitude[idx],
            self.phase[idx],
            self.chart_datum[idx],
            self.datums,
            self.datum_height[idx],
            dict(self.attrs),
            self.path,
        )

    def select(self, ids: Iterable[str]) -> GaugeCatalogue:
        """The stations with these ids, in that order (unknown ids raise :class:`GaugeError`)."""
        if isinstance(ids, str):
            ids = [ids]
        return self.subset(self.index(list(ids)))

    def mask_within(self, bbox: Sequence[float]) -> np.ndarray:
        """(n,) bool: stations inside ``bbox = (west, south, east, north)`` degrees (edges
        included). ``west > east`` means a box across the antimeridian."""
        try:
            west, south, east, north = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise GaugeError(f"bbox must be (west, south, east, north) in degrees, got {bbox!r}") from None
        if south > north:
            raise GaugeError(f"bbox south {south} is north of north {north}")
        lon = (self.lon + 180.0) % 360.0 - 180.0
        w, e = (west + 180.0) % 360.0 - 180.0, (east + 180.0) % 360.0 - 180.0
        if east - west >= 360.0:
            in_lon = np.ones(self.n_station, dtype=bool)
        elif w <= e:
            in_lon = (lon >= w) & (lon <= e)
        else:
            in_lon = (lon >= w) | (lon <= e)
        return in_lon & (self.lat >= south) & (self.lat <= north)

    def within(self, bbox: Sequence[float]) -> GaugeCatalogue:
        """The stations inside ``bbox = (west, south, east, north)`` degrees."""
        return self.subset(self.mask_within(bbox))

    def mesh_faces(self, mesh) -> np.ndarray:
        """(n,) int64: the face of ``mesh`` holding each station, -1 outside it.

        ``mesh``: a :class:`solver.mesh.Mesh` in lon/lat or a projected CRS (stations are
        transformed with pyproj); a Cartesian mesh (``crs=None``) has no position and raises.
        """
        from solver.locate import locate_points

        if mesh.crs is None:
            raise GaugeError(f"mesh {mesh.name or '(unnamed)'!r} is Cartesian (crs None): gauges cannot be placed on it")
        x, y = self.lon, self.lat
        if not mesh.is_geographic:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", mesh.crs, always_xy=True)
            x, y = (np.asarray(a, dtype=np.float64) for a in tr.transform(x, y))
        faces = np.full(self.n_station, -1, dtype=np.int64)
        near = (
            (x >= mesh.node_x.min())
            & (x <= mesh.node_x.max())
            & (y >= mesh.node_y.min())
            & (y <= mesh.node_y.max())
            & np.isfinite(x)
            & np.isfinite(y)
        )
        if near.any():
            faces[near] = locate_points(mesh, x[near], y[near])
        return faces

    def inside(self, mesh) -> GaugeCatalogue:
        """The stations that lie inside ``mesh`` (see :meth:`mesh_faces`)."""
        return self.subset(self.mesh_faces(mesh) >= 0)

    # -- harmonic constants and prediction -----------------------------------------------------
    def _position(self, i) -> int:
        if isinstance(i, str):
            return int(self.index(i))
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise GaugeError(f"station must be an id or an integer position, got {i!r}")
        if not -self.n_station <= i < self.n_station:
            raise GaugeError(f"station position {i} out of range 0..{self.n_station - 1}")
        return int(i) % self.n_station

    def _positions(self, indices) -> tuple[np.ndarray, bool]:
        """(k,) positions and whether a single station was asked for."""
        if indices is None:
            return np.arange(self.n_station), False
        if isinstance(indices, (str, int, np.integer)) and not isinstance(indices, (bool, np.bool_)):
            return np.array([self._position(indices)]), True
        items = list(indices)
        if items and all(isinstance(v, str) for v in items):
            return self.index(items), False
        return np.array([self._position(v) for v in items], dtype=np.int64), False

    def constants(self, i) -> HarmonicConstituents:
        """Harmonic constants of station ``i`` (position or id): only the constituents it has,
        amplitude and phase (n_con_present, 1) m and degrees, with its lon/lat."""
        p = self._position(i)
        have = np.flatnonzero(np.isfinite(self.amplitude[p]))
        names = tuple(self.constituents[k] for k in have)
        return HarmonicConstituents(
            names,
            self.amplitude[p, have][:, None],
            self.phase[p, have][:, None],
            lon=[self.lon[p]],
            lat=[self.lat[p]],
            source=f"gauge {self.station_id[p]} ({self.source[p]}, {self.licence[p]})",
        )

    def harmonics(self, indices=None) -> HarmonicConstituents:
        """Harmonic constants of several stations, (n_con, k) m and degrees, with absent
        constituents as zero amplitude (they then contribute nothing to a prediction)."""
        pos, _ = self._positions(indices)
        amp = self.amplitude[pos].T
        pha = self.phase[pos].T
        absent = ~np.isfinite(amp)
        return HarmonicConstituents(
            self.constituents,
            np.where(absent, 0.0, amp),
            np.where(absent, 0.0, pha),
            lon=self.lon[pos],
            lat=self.lat[pos],
            source=f"{pos.size} gauges of {self._where()}",
        )

    def predict(self, times, indices=None, *, corrections: str = "FES") -> np.ndarray:
        """Astronomical tide relative to MSL (m) at the stations.

        ``times``: (n_t,) ``datetime64`` (UTC) or aware datetimes, any order. ``indices``: None
        (all stations), a position or id (gives (n_t,)), or a sequence of them (gives (n_t, k)).
        ``corrections``: nodal convention (pyTMD's names, :mod:`workflows.forcing.astronomy`) (``FES``, ``OTIS``, ``GOT``, ``perth3``).
        Nodal corrections at the middle of each :data:`NODAL_WINDOW` piece of the span.
        """
        t64 = as_utc_datetime64(times)
        pos, single = self._positions(indices)
        out = np.zeros((t64.size, pos.size))
        if t64.size and pos.size:
            keep = np.isfinite(self.amplitude[pos]).any(axis=0)
            constants = self.harmonics(pos).select([c for c, k in zip(self.constituents, keep) if k])
            if constants.constituents:
                t0 = t64.min()
                window = np.timedelta64(int(NODAL_WINDOW.total_seconds()), "s")
                piece = (t64 - t0) // window
                for k in np.unique(piece):
                    m = piece == k
                    start = t0 + k * window
                    lo, hi = t64[m].min(), t64[m].max()
                    mid = _to_datetime(lo) + (_to_datetime(hi) - _to_datetime(lo)) / 2
                    try:
                        eta = TidalElevation.build(constants, _to_datetime(start), corrections=corrections, nodal_time=mid)
                    except TideInputError as exc:
                        raise GaugeError(str(exc)) from None
                    out[m] = eta((t64[m] - start) / np.timedelta64(1, "s"))
        return out[:, 0] if single else out

    # -- datums --------------------------------------------------------------------------------
    def _datum_column(self, datum: str, pos: np.ndarray) -> np.ndarray:
        """(k,) heights of ``datum`` in each station's own frame (NaN where absent)."""
        key = str(datum).strip()
        if key.lower() == CHART:
            out = np.full(pos.size, np.nan)
            for k, p in enumerate(pos):
                cd = self.chart_datum[p].upper()
                if cd in self.datums:
                    out[k] = self.datum_height[p, self.datums.index(cd)]
            return out
        name = key.upper()
        if name not in self.datums:
            raise GaugeError(f"unknown datum {datum!r}: use one of {', '.join(self.datums)} or {CHART!r}")
        return self.datum_height[pos, self.datums.index(name)]

    def datum_level(self, datum: str, indices=None):
        """Level of ``datum`` relative to MSL, ``datum_X - datum_MSL`` (m, up; negative for LAT):
        (k,) for several stations, a float for one; NaN where a station lacks X or MSL."""
        pos, single = self._positions(indices)
        level = self._datum_column(datum, pos) - self._datum_column("MSL", pos)
        return float(level[0]) if single else level

    def height_above(self, datum: str, zeta_msl, indices=None):
        """Height above ``datum`` (m) of water levels ``zeta_msl`` given relative to MSL:
        ``zeta_msl + (datum_MSL - datum_X)``.

        ``zeta_msl``: for one station (``indices`` a position or id) any shape; for k stations an
        array whose last axis has length k (e.g. (n_t, k)). NaN where a datum is absent.
        """
        level = self.datum_level(datum, indices)
        return np.asarray(zeta_msl, dtype=np.float64) - level

    def thresholds(self, i, names: Sequence[str] = DEFAULT_THRESHOLDS) -> dict[str, float]:
        """``{datum: level relative to MSL (m)}`` for station ``i`` (position or id), e.g. MHWS
        and HAT as flood-watch thresholds; NaN where the station lacks one."""
        return {str(n): self.datum_level(n, i) for n in names}


# ------------------------------------------------------------------------------------------------
# reading


def _decimal_float32(values: np.ndarray) -> np.ndarray:
    """float32 values widened to the float64 nearest their 7-significant-digit decimal (the
    file's 2.0511 stored as float32 reads 2.0511, not 2.05110002); NaN and 0 kept. Any shape."""
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    exponent = np.floor(np.log10(np.abs(x[ok])))
    scale = 10.0 ** (6 - exponent)
    out[ok] = np.round(x[ok] * scale) / scale
    return out


def _read(path: Path) -> GaugeCatalogue:
    import netCDF4

    if not path.is_file():
        raise GaugeError(f"gauge catalogue {path} does not exist")
    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError as exc:
        raise GaugeError(f"gauge catalogue {path} is not a readable NetCDF file ({exc})") from None
    with ds:
        need = (*_TEXT, "lat", "lon", "constituent", "amplitude", "phase", "datum", "datum_height")
        missing = [v for v in need if v not in ds.variables]
        if missing:
            raise GaugeError(f"gauge catalogue {path}: missing variable(s) {', '.join(missing)}")

        def text(name):
            var = ds.variables[name]
            var.set_auto_chartostring(True)
            values = np.asarray(var[:])
            return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.ravel()], dtype=str)

        def numbers(name):
            var = ds.variables[name]
            values = np.ma.filled(np.ma.asarray(var[:], dtype=np.float64), np.nan)
            return _decimal_float32(values) if var.dtype == np.float32 else values

        try:
            data = {key: text(key) for key in _TEXT}
            constituents = tuple(text("constituent"))
            datums = tuple(text("datum"))
            arrays = {key: numbers(key) for key in ("lat", "lon", "amplitude", "phase", "datum_height")}
        except (ValueError, UnicodeDecodeError, RuntimeError) as exc:
            raise GaugeError(f"gauge catalogue {path}: cannot decode ({exc})") from None
        attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
    return GaugeCatalogue(
        data["station_id"],
        data["name"],
        data["country"],
        data["source"],
        data["licence"],
        arrays["lat"],
        arrays["lon"],
        constituents,
        arrays["amplitude"],
        arrays["phase"],
        data["chart_datum"],
        datums,
        arrays["datum_height"],
        attrs,
        path,
    )


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> GaugeCatalogue:
    return _read(Path(path))


def load_catalogue(path=None) -> GaugeCatalogue:
    """Read a gauge catalogue NetCDF (default: the shipped :data:`DEFAULT_CATALOGUE`).

    Repeated loads of an unchanged file return the same (immutable) object. A missing or broken
    file raises :class:`GaugeError` with a one-line message naming it.
    """
    p = Path(path).expanduser() if path is not None else DEFAULT_CATALOGUE
    try:
        st = p.stat()
    except OSError:
        raise GaugeError(f"gauge catalogue {p} does not exist") from None
    cat = _read_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)
    log.debug("gauge catalogue %s: %d stations", p, cat.n_station)
    return cat
