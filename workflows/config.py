"""The forecast-system configuration (TOML), frozen, typed and strict.

A forecast system is a mesh, forcings, parameters and stations. Its TOML file holds::

    name = "brest-approaches"
    mesh = "hgrid.gr3.gz"              # a file (relative to this file), or gallery = "channel_biscay"
    crs = "EPSG:4326"                  # only for projected meshes without a sidecar
    start = "2026-11-25T00:00Z"        # forecast start (UTC; default: today 00Z)
    hours = 72                         # forecast horizon, 1..240
    spinup_hours = 24                  # cold start: spun up from rest over this period (not published)
    output_interval_minutes = 60       # fields.nc
    station_interval_minutes = 10      # stations.nc
    restart_hours = 24                 # restart.nc is written at this forecast hour (next cycle's start)
    segment_hours = 12                 # checkpointed simulation segments

    [boundaries]                       # every open segment of the mesh: "tide", "river", "wall" or "outflow"
    open_1 = "tide"

    [tides]                            # see workflows.forcing.tides (kind/source, path/file, constituents, ...)
    source = "harmonics"
    file = "jmj_open_boundary_elevation_harmonics.csv"

    [atmosphere]                       # see workflows.forcing.atmosphere: "none", "gfs" or a file
    source = "none"

    [[rivers]]                         # one table per river boundary
    boundary = "open_2"
    discharge = 300.0                  # m3/s, or file = "...", column = ...

    [bathymetry]                       # see workflows.bathymetry; default: depths below MSL
    datum = "chart"                    # depths below chart datum: MSL lies msl_above_datum above it
    msl_above_datum = 3.5              # m, or "atlas" (sum of atlas amplitudes: atlas_model, atlas_file)

    [physics]
    manning = 0.025                    # s m^-1/3
    coriolis = true
    wetting_drying_threshold = 0.001   # m
    cfl = 0.9
    riemann_solver = "hll"
    limiter = "barth-jespersen"
    time_stepper = "lts-rk2"           # local time steps; "ssp-rk2" for one global step
    deep_water_step = 2.0              # stable step x this where >= deep_water_depth (m) deep; 1 = off
    deep_water_depth = 5.0

    [initial]
    kind = "rest"                      # "rest", "restart" (file = restart.nc) or "elevation" (file = elev.ic gr3)

    [[stations]]                       # or stations_file = "stations.csv" (name,lon,lat)
    name = "Brest"
    lon = -4.59
    lat = 48.32

Every table rejects unknown keys with a one-line message naming the key and suggesting the
nearest known one; wrong types, missing files, times without a timezone and boundaries that do
not exist on the mesh are refused the same way (:class:`ConfigError`).
"""
from __future__ import annotations

import csv
import difflib
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from solver.state import utc

BOUNDARY_KINDS = ("tide", "river", "wall", "outflow")
INITIAL_KINDS = ("rest", "restart", "elevation")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file, the key and what to write."""


def _check_keys(table: Mapping, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _typed(table: Mapping, key: str, kind, where: str, default=None, *, required=False):
    if key not in table:
        if required:
            raise ConfigError(f"{where}: missing key {key!r}")
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(f"{where}: {key} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kinds):
        raise ConfigError(f"{where}: {key} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


def _positive(value, key, where, upper=None):
    if value is None:
        return value
    if not value > 0 or (upper is not None and value > upper):
        bound = f" and at most {upper}" if upper is not None else ""
        raise ConfigError(f"{where}: {key} must be positive{bound}, got {value!r}")
    return value


def today_00z() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Physics:
    """Physical and numerical parameters (SI units)."""

    manning: float = 0.025
    coriolis: bool = True
    wetting_drying_threshold: float = 1e-3
    cfl: float = 0.9
    riemann_solver: str = "hll"
    limiter: str | None = "barth-jespersen"
    gravity: float = 9.81
    time_stepper: str = "lts-rk2"
    deep_water_step: float = 2.0
    deep_water_depth: float = 5.0

    KEYS = ("manning", "coriolis", "wetting_drying_threshold", "cfl", "riemann_solver", "limiter", "gravity", "time_stepper",
            "deep_water_step", "deep_water_depth")

    @classmethod
    def from_mapping(cls, table: Mapping, where="[physics]") -> "Physics":
        _check_keys(table, cls.KEYS, where)
        from solver.reconstruction import LIMITERS
        from solver.riemann import RIEMANN_SOLVERS

        p = cls(
            manning=_typed(table, "manning", float, where, 0.025),
            coriolis=_typed(table, "coriolis", bool, where, True),
            wetting_drying_threshold=_positive(_typed(table, "wetting_drying_threshold", float, where, 1e-3), "wetting_drying_threshold", where, 1.0),
            cfl=_positive(_typed(table, "cfl", float, where, 0.9), "cfl", where, 1.0),
            riemann_solver=_typed(table, "riemann_solver", str, where, "hll"),
            limiter=_typed(table, "limiter", str, where, "barth-jespersen"),
            gravity=_positive(_typed(table, "gravity", float, where, 9.81), "gravity", where),
            time_stepper=_typed(table, "time_stepper", str, where, "lts-rk2"),
            deep_water_step=_typed(table, "deep_water_step", float, where, 2.0),
            deep_water_depth=_positive(_typed(table, "deep_water_depth", float, where, 5.0), "deep_water_depth", where),
        )
        if not 1.0 <= p.deep_water_step <= 2.0:
            raise ConfigError(f"{where}: deep_water_step must be between 1 (the positivity bound everywhere) and 2, got {p.deep_water_step}")
        if p.manning < 0:
            raise ConfigError(f"{where}: manning must be >= 0 s m^-1/3, got {p.manning}")
        if p.riemann_solver not in RIEMANN_SOLVERS:
            raise ConfigError(f"{where}: riemann_solver {p.riemann_solver!r} is not one of {', '.join(RIEMANN_SOLVERS)}")
        from solver.simulation import TIME_STEPPERS

        if p.time_stepper not in TIME_STEPPERS:
            raise ConfigError(f"{where}: time_stepper {p.time_stepper!r} is not one of {', '.join(TIME_STEPPERS)}")
        if p.limiter == "none":
            p = replace(p, limiter=None)
        elif p.limiter not in LIMITERS:
            raise ConfigError(f"{where}: limiter {p.limiter!r} is not one of {', '.join(LIMITERS)} or 'none'")
        return p


@dataclass(frozen=True)
class Initial:
    """Initial state: ``rest`` (flat surface), ``restart`` (a coastcast restart.nc) or ``elevation`` (SCHISM elev.ic gr3)."""

    kind: str = "rest"
    file: Path | None = None

    @classmethod
    def from_mapping(cls, table: Mapping, base: Path, where="[initial]") -> "Initial":
        _check_keys(table, ("kind", "file"), where)
        kind = _typed(table, "kind", str, where, "rest")
        if kind not in INITIAL_KINDS:
            raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(INITIAL_KINDS)}")
        file = _typed(table, "file", str, where)
        if kind != "rest":
            if file is None:
                raise ConfigError(f"{where}: kind = {kind!r} needs file = \"...\"")
            path = _resolve(file, base)
            if not path.is_file():
                raise ConfigError(f"{where}: file {str(path)!r} does not exist")
            return cls(kind, path)
        if file is not None:
            raise ConfigError(f"{where}: kind = \"rest\" takes no file; write kind = \"restart\" or \"elevation\"")
        return cls(kind)


BUILTIN_CATALOGUE = "builtin"


@dataclass(frozen=True)
class GaugeOptions:
    """Tide gauges of a catalogue as stations (``[gauges]``): every gauge within
    ``max_distance_km`` of a face at least ``min_depth_m`` below MSL becomes a station there, and
    the cycle reports its skill against the gauge's harmonic prediction and flags the datums in
    ``thresholds`` that the forecast exceeds. ``catalogue``: None for no gauge stations."""

    catalogue: Path | None = None
    max_distance_km: float = 10.0
    min_depth_m: float = 2.0
    thresholds: tuple[str, ...] = ("MHWS", "HAT")

    KEYS = ("catalogue", "max_distance_km", "min_depth_m", "thresholds")

    @classmethod
    def from_mapping(cls, table: Mapping, base: Path, where="[gauges]") -> "GaugeOptions":
        from .gauges import DATUMS, DEFAULT_CATALOGUE

        _check_keys(table, cls.KEYS, where)
        name = _typed(table, "catalogue", str, where, BUILTIN_CATALOGUE)
        if name == "none":
            path = None
        elif name == BUILTIN_CATALOGUE:
            path = Path(DEFAULT_CATALOGUE)
        else:
            path = _resolve(name, base)
            if not path.is_file():
                raise ConfigError(f"{where}: catalogue {name!r} does not exist (write \"builtin\", \"none\" or a catalogue NetCDF)")
        thresholds = tuple(str(t).upper() for t in _typed(table, "thresholds", list, where, ["MHWS", "HAT"]))
        bad = [t for t in thresholds if t not in DATUMS]
        if bad:
            raise ConfigError(f"{where}: thresholds {', '.join(bad)}: not a tidal datum; use {', '.join(DATUMS)}")
        return cls(
            catalogue=path,
            max_distance_km=_positive(_typed(table, "max_distance_km", float, where, 10.0), "max_distance_km", where, 200.0),
            min_depth_m=_typed(table, "min_depth_m", float, where, 2.0),
            thresholds=thresholds,
        )


@dataclass(frozen=True)
class ThresholdSpec:
    """A user's alert level at a station (``[[thresholds]]``): ``level_m`` above ``datum``
    (``MSL``, the model's datum; at gauge stations also ``chart`` or a datum such as ``LAT``)."""

    station: str
    level_m: float
    datum: str = "MSL"
    name: str = ""

    KEYS = ("station", "level_m", "datum", "name")

    @classmethod
    def from_mapping(cls, table: Mapping, where: str) -> "ThresholdSpec":
        from .gauges import CHART, DATUMS

        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table with station, level_m (and datum, name)")
        _check_keys(table, cls.KEYS, where)
        datum = _typed(table, "datum", str, where, "MSL")
        if datum.upper() not in DATUMS and datum.lower() != CHART:
            raise ConfigError(f"{where}: datum {datum!r} is not one of {', '.join(DATUMS)} or {CHART!r}")
        station = _typed(table, "station", str, where, required=True)
        level = _typed(table, "level_m", float, where, required=True)
        return cls(station, level, datum if datum.lower() == CHART else datum.upper(),
                   _typed(table, "name", str, where, "") or f"{level:g} m above {datum}")


@dataclass(frozen=True)
class StationSpec:
    name: str
    lon: float
    lat: float


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p)


def read_stations_csv(path: Path) -> tuple[StationSpec, ...]:
    """Stations from a CSV with a header ``name,lon,lat``."""
    out = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"name", "lon", "lat"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; the header must be name,lon,lat")
            for i, row in enumerate(reader, start=2):
                try:
                    out.append(StationSpec(row["name"].strip(), float(row["lon"]), float(row["lat"])))
                except (TypeError, ValueError):
                    raise ConfigError(f"{path}: line {i}: lon and lat must be numbers, got {row['lon']!r}, {row['lat']!r}") from None
    except FileNotFoundError:
        raise ConfigError(f"stations_file {str(path)!r} does not exist") from None
    return tuple(out)


TOP_KEYS = (
    "name", "mesh", "gallery", "crs", "start", "hours", "spinup_hours", "output_interval_minutes",
    "station_interval_minutes", "restart_hours", "segment_hours", "boundaries", "tides", "atmosphere",
    "rivers", "physics", "initial", "stations", "stations_file", "ensemble", "bathymetry", "gauges", "thresholds",
)


@dataclass(frozen=True)
class ForecastConfig:
    """A validated forecast-system configuration. Build it with :func:`load_config` or :meth:`from_mapping`."""

    name: str
    mesh_path: Path
    crs: str | None
    start: datetime
    hours: float
    spinup_hours: float
    output_interval_minutes: float
    station_interval_minutes: float
    restart_hours: float
    segment_hours: float
    boundaries: Mapping[str, str]
    tides: Mapping[str, Any] | None
    atmosphere: Mapping[str, Any] | str
    rivers: tuple
    physics: Physics
    initial: Initial
    stations: tuple[StationSpec, ...]
    base_dir: Path
    gallery: str | None = None
    bathymetry: Any = None
    """:class:`workflows.bathymetry.VerticalDatum` of the mesh's depths (default: below MSL)."""
    gauges: GaugeOptions = field(default_factory=GaugeOptions)
    thresholds: tuple[ThresholdSpec, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    @property
    def cold_start(self) -> bool:
        return self.initial.kind != "restart"

    @classmethod
    def from_mapping(cls, data: Mapping, base_dir=".", where: str = "config") -> "ForecastConfig":
        base = Path(base_dir).resolve()
        _check_keys(data, TOP_KEYS, where)
        _check_named_files(data, base, where)
        name = _typed(data, "name", str, where, required=True).strip()
        if not name:
            raise ConfigError(f"{where}: name must not be empty")
        gallery = _typed(data, "gallery", str, where)
        mesh = _typed(data, "mesh", str, where)
        region = None
        if gallery and mesh:
            raise ConfigError(f"{where}: give either mesh = \"FILE\" or gallery = \"REGION\", not both")
        if gallery:
            from .gallery import RegionError, load_region

            try:
                region = load_region(gallery)
            except (RegionError, KeyError, FileNotFoundError) as exc:
                raise ConfigError(f"{where}: gallery: {exc}") from None
            mesh_path = region.mesh_path
        elif mesh:
            mesh_path = _resolve(mesh, base)
        else:
            raise ConfigError(f"{where}: missing key 'mesh' (a mesh file) or 'gallery' (a gallery region name)")
        if not mesh_path.is_file():
            raise ConfigError(f"{where}: mesh file {str(mesh_path)!r} does not exist")
        start_raw = data.get("start")
        try:
            start = today_00z() if start_raw is None else utc(start_raw if not isinstance(start_raw, datetime) else start_raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: start: {exc}") from None
        hours = _positive(_typed(data, "hours", float, where, 72.0), "hours", where, 24 * 366)
        spin = _typed(data, "spinup_hours", float, where, 24.0)
        if spin < 0:
            raise ConfigError(f"{where}: spinup_hours must be >= 0, got {spin}")
        out_min = _positive(_typed(data, "output_interval_minutes", float, where, 60.0), "output_interval_minutes", where)
        sta_min = _positive(_typed(data, "station_interval_minutes", float, where, 10.0), "station_interval_minutes", where)
        restart_h = _positive(_typed(data, "restart_hours", float, where, min(24.0, hours)), "restart_hours", where)
        if restart_h > hours:
            raise ConfigError(f"{where}: restart_hours ({restart_h}) is after the end of the forecast ({hours} h)")
        seg_h = _positive(_typed(data, "segment_hours", float, where, 12.0), "segment_hours", where)
        # boundaries: defaults from the gallery region's roles
        defaults = {}
        if region is not None:
            roles = {"ocean": "tide", "river": "river", "land": "wall"}
            defaults = {k: roles[v] for k, v in region.boundary_roles.items()}
        btable = _typed(data, "boundaries", dict, where, {})
        for k, v in btable.items():
            if v not in BOUNDARY_KINDS:
                raise ConfigError(f"{where}: [boundaries] {k} = {v!r}; write one of {', '.join(map(repr, BOUNDARY_KINDS))}")
        boundaries = {**defaults, **btable}
        tides = _typed(data, "tides", dict, where)
        if tides is None and region is not None and region.tides is not None and region.tides.source != "none":
            tides = region_tides(region)
        if tides:
            from workflows.forcing import ForcingError
            from workflows.forcing.tides import TideSource

            try:
                TideSource.from_mapping(tides, base_dir=base)
            except ForcingError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        atmosphere = data.get("atmosphere", "none")
        if not isinstance(atmosphere, (str, dict)):
            raise ConfigError(f"{where}: atmosphere must be \"none\", \"gfs\", a file path or a table, got {atmosphere!r}")
        rivers = data.get("rivers")
        if rivers is None and region is not None:
            rivers = [region_river(r) for r in region.rivers]
        rivers = rivers or []
        if not isinstance(rivers, list) or not all(isinstance(r, dict) for r in rivers):
            raise ConfigError(f"{where}: rivers must be an array of tables [[rivers]]")
        for i, r in enumerate(rivers):
            if "boundary" not in r:
                raise ConfigError(f"{where}: [[rivers]] #{i + 1} needs boundary = \"<open boundary name>\"")
        from .bathymetry import DatumError, VerticalDatum

        btab = _typed(data, "bathymetry", dict, where)
        try:
            if btab is not None:
                bathymetry = VerticalDatum.from_mapping(btab, base_dir=base, where=f"{where}: [bathymetry]")
            else:
                bathymetry = region.bathymetry if region is not None and region.bathymetry is not None else VerticalDatum()
        except DatumError as exc:
            raise ConfigError(str(exc)) from None
        physics = Physics.from_mapping(_typed(data, "physics", dict, where, {}))
        initial = Initial.from_mapping(_typed(data, "initial", dict, where, {}), base)
        stations = []
        for i, s in enumerate(_typed(data, "stations", list, where, [])):
            w = f"{where}: [[stations]] #{i + 1}"
            if not isinstance(s, dict):
                raise ConfigError(f"{w} must be a table with name, lon, lat")
            _check_keys(s, ("name", "lon", "lat"), w)
            stations.append(StationSpec(_typed(s, "name", str, w, required=True), _typed(s, "lon", float, w, required=True), _typed(s, "lat", float, w, required=True)))
        sfile = _typed(data, "stations_file", str, where)
        if sfile:
            stations.extend(read_stations_csv(_resolve(sfile, base)))
        if not stations and region is not None and "stations" not in data and not sfile:
            stations = [StationSpec(s.name, s.lon, s.lat) for s in region.stations]
        names = [s.name for s in stations]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"{where}: station name(s) {', '.join(sorted(dup))} appear more than once")
        gauges = GaugeOptions.from_mapping(_typed(data, "gauges", dict, where, {}), base)
        thresholds = tuple(ThresholdSpec.from_mapping(t, f"{where}: [[thresholds]] #{i + 1}")
                           for i, t in enumerate(_typed(data, "thresholds", list, where, [])))
        return cls(
            name=name,
            mesh_path=mesh_path,
            crs=_typed(data, "crs", str, where) or (region.crs if region is not None else None),
            start=start,
            hours=hours,
            spinup_hours=spin if initial.kind != "restart" else 0.0,
            output_interval_minutes=out_min,
            station_interval_minutes=sta_min,
            restart_hours=restart_h,
            segment_hours=seg_h,
            boundaries=MappingProxyType(boundaries),
            tides=MappingProxyType(dict(tides)) if tides else None,
            atmosphere=atmosphere,
            rivers=tuple(MappingProxyType(dict(r)) for r in rivers),
            physics=physics,
            initial=initial,
            stations=tuple(stations),
            base_dir=region.folder if (region is not None and "tides" not in data) else base,
            gallery=gallery,
            bathymetry=bathymetry,
            gauges=gauges,
            thresholds=thresholds,
            raw=MappingProxyType(dict(data)),
        )

    def check_against_mesh(self, mesh) -> None:
        """Refuse boundary settings that do not match the mesh's segments (one line, naming them)."""
        names = {s.name: s.role for s in mesh.boundaries}
        unknown = sorted(set(self.boundaries) - set(names))
        if unknown:
            raise ConfigError(
                f"[boundaries] {', '.join(unknown)}: no such boundary on mesh {self.mesh_path.name}; it has {', '.join(names) or 'none'}"
            )
        missing = [n for n, role in names.items() if role == "open" and n not in self.boundaries]
        if missing:
            raise ConfigError(f"[boundaries]: open boundary {', '.join(missing)} needs a setting; write e.g. {missing[0]} = \"tide\" (or river, wall, outflow)")
        river_b = {r["boundary"] for r in self.rivers}
        for n, kind in self.boundaries.items():
            if kind == "river" and n not in river_b:
                raise ConfigError(f"[boundaries] {n} = \"river\" but no [[rivers]] table has boundary = \"{n}\"")
            if kind == "tide" and not self.tides:
                raise ConfigError(f"[boundaries] {n} = \"tide\" needs a [tides] table, e.g. kind = \"atlas\" and model = \"coastcast\" "
                                  "(coastcast's global atlas: any North Atlantic coast)")
        for b in river_b:
            if b not in names:
                raise ConfigError(f"[[rivers]] boundary = \"{b}\": no such boundary on the mesh; it has {', '.join(names)}")
            if self.boundaries.get(b) != "river":
                raise ConfigError(f"[[rivers]] boundary = \"{b}\" but [boundaries] {b} is {self.boundaries.get(b)!r}; write {b} = \"river\"")


def region_tides(region) -> dict:
    """The ``[tides]`` table of a gallery region's own forcing (paths absolute)."""
    t = region.tides
    if t.source == "atlas" and t.file is None and t.atlas_file is None and t.atlas:
        if t.atlas.lower() == "coastcast":
            return {"kind": "atlas", "model": "coastcast"}
        import os

        data_dir = Path(os.environ.get("COASTCAST_TIDE_DIR", Path.home() / ".local" / "share" / "coastcast" / "tides"))
        model = {"fes2022": "fes", "tpxo9": "tpxo"}.get(t.atlas.lower(), t.atlas.lower())
        return {"kind": "atlas", "model": model, "path": str(data_dir / t.atlas.lower())}
    extra = {"supplement": t.supplement} if t.supplement else {}
    if t.atlas_file is not None:
        # the region's own atlas gives currents too: Flather radiation at the open boundaries
        out = {"kind": "atlas", "model": "jmj", "path": str(t.atlas_file), "constituents": list(t.constituents) or None, **extra}
        return {k: v for k, v in out.items() if v is not None}
    out = {"kind": t.source.replace("_", "-"), "path": str(t.file), **extra}
    if t.constituents:
        out["constituents"] = list(t.constituents)
    return {k: v for k, v in out.items() if v is not None}


def region_river(r) -> dict:
    """The ``[[rivers]]`` table of a gallery region's river (paths absolute)."""
    out = {"boundary": r.boundary}
    for key in ("name", "discharge", "file", "column"):
        v = getattr(r, key, None)
        if v is not None:
            out[key] = str(v) if isinstance(v, Path) else v
    return out


def named_files(data: Mapping) -> list[tuple[str, str]]:
    """The input files a configuration mapping names, as ``(key, path)`` pairs in file order:
    tides, atmosphere, rivers, bathymetry atlas, initial state, stations (paths as written)."""
    out = []
    tides = data.get("tides") or {}
    for key in ("path", "file", "u_path", "v_path"):
        if isinstance(tides.get(key), str):
            out.append((f"[tides] {key}", tides[key]))
    atm = data.get("atmosphere")
    if isinstance(atm, str) and atm not in ("none", "gfs"):
        out.append(("atmosphere", atm))
    elif isinstance(atm, Mapping) and "path" in atm:
        paths = [atm["path"]] if isinstance(atm["path"], str) else list(atm["path"])
        out.extend(("[atmosphere] path", str(p)) for p in paths)
    for i, r in enumerate(data.get("rivers") or []):
        if isinstance(r, Mapping) and isinstance(r.get("file"), str):
            out.append((f"[[rivers]] #{i + 1} file", r["file"]))
    bathymetry = data.get("bathymetry") or {}
    if isinstance(bathymetry, Mapping) and isinstance(bathymetry.get("atlas_file"), str):
        out.append(("[bathymetry] atlas_file", bathymetry["atlas_file"]))
    initial = data.get("initial") or {}
    if isinstance(initial, Mapping) and isinstance(initial.get("file"), str):
        out.append(("[initial] file", initial["file"]))
    if isinstance(data.get("stations_file"), str):
        out.append(("stations_file", data["stations_file"]))
    gauges = data.get("gauges") or {}
    if isinstance(gauges, Mapping) and isinstance(gauges.get("catalogue"), str) and gauges["catalogue"] not in ("builtin", "none"):
        out.append(("[gauges] catalogue", gauges["catalogue"]))
    return out


def _check_named_files(data: Mapping, base: Path, where: str) -> None:
    """A file the user named must exist: a typo is an error, never a silent fallback."""
    for key, value in named_files(data):
        path = _resolve(value, base)
        if not path.exists():
            raise ConfigError(f"{where}: {key} {value!r} does not exist" + (f" ({path})" if str(path) != value else ""))


def load_config(path, **overrides) -> ForecastConfig:
    """Read and validate a forecast-system TOML file; ``overrides`` replace top-level keys."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return ForecastConfig.from_mapping(data, base_dir=path.parent, where=str(path))
