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
    time_stepper = "lts-muscl-hancock" # local time steps; "lts-rk2" (Heun stages), "ssp-rk2" (one global step)
    deep_water_step = 2.0              # stable step x this where >= deep_water_depth (m) deep; 1 = off
    deep_water_depth = 5.0

    [initial]
    kind = "rest"                      # "rest", "restart" (file = restart.nc) or "elevation" (file = elev.ic gr3)

    [[stations]]                       # or stations_file = "stations.csv" (name,lon,lat)
    name = "Brest"
    lon = -4.59
    lat = 48.32

Every key is declared once, on the dataclass field that holds it (:func:`setting`: type, default,
bounds, allowed values, help). One parser (:func:`parse_section`) walks those declarations: it
refuses unknown keys with a one-line message naming the file, the table and the key and
suggesting the nearest known one, checks types and bounds the same way, and resolves every path
key once, relative to the configuration file, so that a loaded :class:`ForecastConfig` holds
absolute paths only. :func:`dump_toml` writes a configuration that loads back equal;
:func:`with_overrides` changes keys of a loaded configuration through the same checks;
:func:`key_table_markdown` is the user guide's key table.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from solver.state import utc

from .keys import check_keys

BOUNDARY_KINDS = ("tide", "river", "wall", "outflow")
INITIAL_KINDS = ("rest", "restart", "elevation")
BUILTIN_CATALOGUE = "builtin"
TIDE_PATH_KEYS = ("path", "file", "u_path", "v_path")
"""The keys of a ``[tides]`` table (and of each ``[[ensemble.tides]]``) that name files."""


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file, the key and what to write."""


def today_00z() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# -- the schema layer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """The declaration of one configuration key (see :func:`setting`)."""

    help: str
    kind: str = "str"
    """``str``, ``float``, ``int``, ``bool``, ``path`` (a file, resolved relative to the
    configuration file), ``time`` (ISO 8601 with a zone), ``strs``/``floats`` (arrays),
    ``table``/``tables`` (a section or an array of sections of dataclass ``schema``), ``kinds``
    (a table of names, each one of ``choices``) or ``delegated`` (a table checked by ``parse``,
    whose ``paths`` keys are resolved here)."""
    toml: str | None = None
    """The key's name in TOML when it differs from the attribute's."""
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    choices: tuple | Callable[[], tuple] | None = None
    special: Mapping | Callable[[], Mapping] | None = None
    """TOML strings that stand for values, e.g. ``{"none": None}``."""
    required: bool = False
    unit: str = ""
    default_text: str | None = None
    """The default as the user guide states it (for defaults computed from other keys)."""
    schema: type | None = None
    paths: tuple[str, ...] = ()
    parse: Callable | None = None
    """``delegated``: ``parse(value, where, base, paths)`` returns the held value, the ``paths``
    keys made absolute."""
    dump: Callable | None = None
    """``delegated``: the TOML value of a held value."""
    dumped: bool = True
    """False for a key whose content :func:`to_mapping` writes under another key (``stations_file``)."""
    input_file: bool = True
    """``path``: the file is an input of the run (:func:`named_files`)."""
    array: bool = False
    """``delegated``: an array of tables (``[[rivers]]``)."""

    def allowed(self) -> tuple:
        c = self.choices() if callable(self.choices) else self.choices
        return tuple(c or ())

    def specials(self) -> Mapping:
        s = self.special() if callable(self.special) else self.special
        return s or {}


def setting(default=MISSING, *, factory=MISSING, compare: bool = True, kind: str | None = None, **declaration):
    """A dataclass field that declares a configuration key: its ``default`` (or ``factory``),
    ``kind`` (inferred from the default's type when omitted), ``help`` and the other attributes of
    :class:`Key`."""
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float"}.get(type(default), "str")
    return field(default=default, default_factory=factory, compare=compare, metadata={"key": Key(kind=kind, **declaration)})


def declared(schema) -> dict[str, tuple]:
    """``{toml name: (dataclass field, Key)}`` of a section's declared keys, in declaration order."""
    return {(f.metadata["key"].toml or f.name): (f, f.metadata["key"]) for f in fields(schema) if "key" in f.metadata}


@dataclass(frozen=True)
class _Where:
    """Where a value sits: the file (or another origin) and the table, for one-line messages."""

    file: str = ""
    section: str = ""

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.section) if p) or "config"

    def table(self, section: str) -> _Where:
        return _Where(self.file, section)


def _where(where) -> _Where:
    """A ``where`` given as text: a table such as ``"[physics]"``, or a file (or another origin)
    optionally followed by ``": [table]"``."""
    if isinstance(where, _Where):
        return where
    text = str(where)
    if text.startswith("["):
        return _Where("", text)
    head, sep, tail = text.rpartition(": [")
    return _Where(head, "[" + tail) if sep else _Where(text)


def _check_unknown(table: Mapping, known, where: _Where) -> None:
    check_keys(table, known, where, ConfigError)


def _bound_text(key: Key) -> str:
    if key.positive:
        return "positive" + (f" and at most {key.maximum}" if key.maximum is not None else "")
    if key.minimum is not None and key.maximum is not None:
        return f"between {key.minimum} and {key.maximum}"
    if key.minimum is not None:
        return f">= {key.minimum}"
    if key.maximum is not None:
        return f"at most {key.maximum}"
    return ""


def _in_bounds(key: Key, v: float) -> bool:
    return not (
        (key.positive and not v > 0)
        or (key.minimum is not None and v < key.minimum)
        or (key.maximum is not None and v > key.maximum)
    )


def _is_number(v) -> bool:
    """A finite TOML number (``nan`` and ``inf`` are refused; a bool is not a number)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def resolve_path(value, base: Path) -> Path:
    """``value`` (a path as written) relative to ``base`` unless absolute; ``~`` expanded."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _existing(value, name: str, where: _Where, base: Path) -> Path:
    if not isinstance(value, (str, Path)):
        raise ConfigError(f"{where}: {name} must be a file path (a string), got {value!r}")
    path = resolve_path(value, base)
    if not path.exists():
        label = f"{where.section} {name}".strip()
        prefix = f"{where.file}: " if where.file else ""
        raise ConfigError(f"{prefix}{label} {str(value)!r} does not exist" + (f" ({path})" if str(path) != str(value) else ""))
    return path


def _resolve_keys(table: Mapping, keys, where: _Where, base: Path, must_exist: bool = True) -> dict:
    """``table`` with the file paths under ``keys`` (a string or a list of strings) made absolute
    (and refused when they do not exist, unless ``must_exist`` is false)."""

    def one(x, k):
        if must_exist or not isinstance(x, (str, Path)):
            return str(_existing(x, k, where, base))
        return str(resolve_path(x, base))

    out = dict(table)
    for k in keys:
        v = out.get(k)
        if isinstance(v, (list, tuple)):
            out[k] = [one(x, k) for x in v]
        elif v is not None:
            out[k] = one(v, k)
    return out


def _convert(key: Key, value, name: str, where: _Where, base: Path):
    """The held value of ``name = value`` (one-line :class:`ConfigError` when it cannot be)."""
    specials = key.specials()
    if isinstance(value, str) and value in specials:
        return specials[value]
    kind = key.kind
    if kind in ("float", "int"):
        ok = _is_number(value) if kind == "float" else (isinstance(value, int) and not isinstance(value, bool))
        if not ok or not _in_bounds(key, value):
            what = ("a number" + (f" ({key.unit})" if key.unit else "")) if kind == "float" else "an integer"
            bound = _bound_text(key)
            if not ok and kind == "float":
                raise ConfigError(f"{where}: {name} must be {what}, got {value!r}")
            raise ConfigError(f"{where}: {name} must be {what + ' ' + bound if kind == 'int' else bound}, got {value!r}")
        return float(value) if kind == "float" else int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be a string, got {value!r}")
        allowed = key.allowed()
        if allowed and value not in allowed:
            options = list(allowed) + [repr(s) for s in specials]
            raise ConfigError(f"{where}: {name} {value!r} is not one of {', '.join(options)}")
        return value
    if kind == "path":
        return _existing(value, name, where, base)
    if kind == "time":
        try:
            return utc(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {name}: {exc}") from None
    if kind == "strs":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {name} must be a list of strings, got {value!r}")
        return tuple(value)
    if kind == "floats":
        if not isinstance(value, (list, tuple)) or not all(_is_number(v) and _in_bounds(key, v) for v in value):
            bound = _bound_text(key)
            raise ConfigError(f"{where}: {name} must be a list of numbers{' ' + bound if bound else ''}, got {value!r}")
        return tuple(float(v) for v in value)
    if kind == "table":
        return parse_section(key.schema, value, where.table(f"[{name}]"), base)
    if kind == "tables":
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {name} must be an array of tables [[{name}]]")
        return tuple(parse_section(key.schema, v, where.table(f"[[{name}]] #{i + 1}"), base) for i, v in enumerate(value))
    if kind == "kinds":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {name} must be a table [{name}]")
        for k, v in value.items():
            if v not in key.allowed():
                raise ConfigError(f"{where.file}: [{name}] {k} = {v!r}; write one of {', '.join(map(repr, key.allowed()))}")
        return MappingProxyType(dict(value))
    if kind == "delegated":
        return key.parse(value, where.table(f"[{name}]"), base, key.paths)
    raise TypeError(f"key {name}: unknown kind {kind!r}")  # pragma: no cover - a declaration error


def parse_section(schema, table, where, base=".", extra: Mapping | None = None):
    """An instance of the section dataclass ``schema`` from a TOML table: unknown keys, missing
    required keys, types, bounds and allowed values refused in one line naming ``where``; path
    keys resolved relative to ``base``. A section with a ``checked(where)`` method gets it called
    (checks across keys) and its result returned."""
    where = _where(where)
    base = Path(base)
    keys = declared(schema)
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table with {', '.join(keys)}")
    _check_unknown(table, keys, where)
    values = dict(extra or {})
    for name, (f, key) in keys.items():
        if name in table:
            values[f.name] = _convert(key, table[name], name, where, base)
        elif key.required:
            raise ConfigError(f"{where}: missing key {name!r}")
    obj = schema(**values)
    return obj.checked(where) if hasattr(obj, "checked") else obj


def _dump_value(key: Key, value):
    for text, v in key.specials().items():
        if v == value:
            return text
    if value is None:
        return None
    kind = key.kind
    if kind == "path":
        return str(value)
    if kind == "time":
        t = value.astimezone(timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%MZ") if not (t.second or t.microsecond) else t.isoformat().replace("+00:00", "Z")
    if kind in ("strs", "floats"):
        return list(value)
    if kind == "table":
        return to_mapping(value)
    if kind == "tables":
        return [to_mapping(v) for v in value]
    if kind == "kinds":
        return dict(value)
    if kind == "delegated":
        return key.dump(value) if key.dump is not None else _plain(value)
    return value


def _plain(value):
    """A TOML-ready copy: mappings as dicts, tuples as lists, paths as strings."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def to_mapping(obj) -> dict:
    """The TOML mapping of a section (or of a whole :class:`ForecastConfig`): every declared key
    with its value, defaults included, paths absolute."""
    out = {}
    for name, (f, key) in declared(type(obj)).items():
        if not key.dumped:
            continue
        v = _dump_value(key, getattr(obj, f.name))
        if v is not None:
            out[name] = v
    return out


def named_in(schema, data: Mapping, section: str = "") -> list[tuple[str, str]]:
    """The input files that the TOML mapping ``data`` of section ``schema`` names, as
    ``(key, path)`` pairs (paths as written)."""
    out = []
    if not isinstance(data, Mapping):
        return out
    for name, (_, key) in declared(schema).items():
        v = data.get(name)
        label = f"{section} {name}".strip()
        if v is None or (isinstance(v, str) and v in key.specials()):
            continue
        if key.kind == "path" and key.input_file and isinstance(v, str):
            out.append((label, v))
        elif key.kind == "table":
            out.extend(named_in(key.schema, v, f"[{name}]"))
        elif key.kind == "tables" and isinstance(v, list):
            for i, t in enumerate(v):
                out.extend(named_in(key.schema, t, f"[[{name}]] #{i + 1}"))
        elif key.kind == "delegated":
            out.extend(_delegated_files(name, key, v, section))
    return out


def _delegated_files(name: str, key: Key, v, section: str = "") -> list[tuple[str, str]]:
    if name == "atmosphere" and isinstance(v, str):
        return [] if v in ("none", "gfs") else [("atmosphere", v)]
    tables = v if isinstance(v, list) else [v]
    out = []
    for i, t in enumerate(tables):
        if not isinstance(t, Mapping):
            continue
        label = f"{section} " + (f"[[{name}]] #{i + 1}" if isinstance(v, list) else f"[{name}]")
        label = label.strip()
        for k in key.paths:
            p = t.get(k)
            for x in p if isinstance(p, list) else [p]:
                if isinstance(x, str):
                    out.append((f"{label} {k}", x))
    return out


# -- the tables whose objects live with their forcing ----------------------------------------------
def _parse_tides(value, where: _Where, base: Path, paths=TIDE_PATH_KEYS):
    from workflows.forcing import ForcingError
    from workflows.forcing.tides import TideSource

    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table (kind, path or model, constituents, ...)")
    table = _resolve_keys(value, paths, where, base)
    try:
        TideSource.from_mapping(table, base_dir=base, where=str(where))
    except ForcingError as exc:
        raise ConfigError(str(exc)) from None
    return MappingProxyType(table)


def _parse_atmosphere(value, where: _Where, base: Path, paths=("path",)):
    if isinstance(value, str):
        if value in ("none", "gfs"):
            return value
        return str(_existing(value, "atmosphere", _Where(where.file), base))
    if not isinstance(value, Mapping):
        raise ConfigError(f'{where.file}: atmosphere must be "none", "gfs", a file path or a table, got {value!r}')
    table = _resolve_keys(value, paths, where, base)
    from workflows.forcing.gridded import AtmosphereError

    from .forcing.atmosphere import AtmosphereConfig

    try:
        AtmosphereConfig.from_mapping(table, where=str(where))
    except AtmosphereError as exc:
        raise ConfigError(str(exc)) from None
    return MappingProxyType(table)


def _parse_rivers(value, where: _Where, base: Path, paths=("file",)):
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise ConfigError(f"{where.file}: rivers must be an array of tables [[rivers]]")
    out = []
    for i, r in enumerate(value):
        w = _Where(where.file, f"[[rivers]] #{i + 1}")
        if "boundary" not in r:
            raise ConfigError(f'{w} needs boundary = "<open boundary name>"')
        out.append(MappingProxyType(_resolve_keys(r, paths, w, base)))
    return tuple(out)


def _parse_bathymetry(value, where: _Where, base: Path, paths=("atlas_file",)):
    from .bathymetry import DatumError, VerticalDatum

    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table (datum, msl_above_datum, atlas_model, atlas_file)")
    table = _resolve_keys(value, paths, where, base)
    try:
        return VerticalDatum.from_mapping(table, base_dir=base, where=str(where))
    except DatumError as exc:
        raise ConfigError(str(exc)) from None


def _dump_bathymetry(datum) -> dict:
    return _plain({f.name: getattr(datum, f.name) for f in fields(datum)})


def _parse_tide_tables(value, where: _Where, base: Path, paths=TIDE_PATH_KEYS):
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        raise ConfigError(
            f"{where.file + ': ' if where.file else ''}[ensemble]: tides must be an array of tables [[ensemble.tides]], one per member"
        )
    # each member's configuration checks its files (a missing one is named with the member)
    return tuple(
        MappingProxyType(_resolve_keys(t, paths, _Where(where.file, f"[[ensemble.tides]] #{i + 1}"), base, must_exist=False))
        for i, t in enumerate(value)
    )


# -- the sections --------------------------------------------------------------------------------
def _riemann_solvers() -> tuple:
    from solver.riemann import RIEMANN_SOLVERS

    return tuple(RIEMANN_SOLVERS)


def _limiters() -> tuple:
    from solver.reconstruction import LIMITERS

    return tuple(LIMITERS)


def _time_steppers() -> tuple:
    from solver.simulation import TIME_STEPPERS

    return tuple(TIME_STEPPERS)


@dataclass(frozen=True)
class Physics:
    """Physical and numerical parameters (SI units)."""

    manning: float = setting(0.025, minimum=0.0, unit="s m^-1/3", help="Manning's bed friction coefficient n; 0: no bed friction")
    coriolis: bool = setting(True, help="the Coriolis force (meshes in lon/lat or a projected CRS)")
    wetting_drying_threshold: float = setting(
        1e-3, positive=True, maximum=1.0, unit="m", help="water depth below which a face is dry"
    )
    cfl: float = setting(0.9, positive=True, maximum=1.0, help="Courant number of the time step")
    riemann_solver: str = setting(
        "hll",
        choices=_riemann_solvers,
        help="`hll`, or `hllc` (less diffusive for shear, but grid-scale motion can grow over steep deep slopes: "
        "docs/verification.md `steep-slope`)",
    )
    limiter: str | None = setting(
        "barth-jespersen",
        choices=_limiters,
        special={"none": None},
        help="slope limiter of the second-order reconstruction; `none`: unlimited",
    )
    gravity: float = setting(9.81, positive=True, unit="m s^-2", help="gravitational acceleration")
    time_stepper: str = setting(
        "lts-muscl-hancock",
        choices=_time_steppers,
        help="`lts-muscl-hancock`: local time steps, each face on one of four levels whose step is 1, 2, 4 or 8 "
        "times the smallest, with one MUSCL-Hancock step (one flux evaluation) per level step (the 72-h "
        "Channel/Biscay forecast 1.7x faster than `lts-rk2`, the same gauge skill); `lts-rk2`: the same levels "
        "with two-stage SSP-RK2 (Heun) steps; `muscl-hancock`, `ssp-rk2`: one global step (docs/performance.md)",
    )
    deep_water_step: float = setting(
        2.0,
        minimum=1.0,
        maximum=2.0,
        help="each face's stable step is this many times the positivity bound where the face and its "
        "neighbours are at least `deep_water_depth` deep; 1: the positivity bound everywhere "
        "(solver.stability, docs/performance.md)",
    )
    deep_water_depth: float = setting(5.0, positive=True, unit="m", help="depth from which `deep_water_step` applies")

    @classmethod
    def from_mapping(cls, table: Mapping, where="[physics]") -> Physics:
        return parse_section(cls, table, where)


@dataclass(frozen=True)
class Initial:
    """Initial state: ``rest`` (flat surface), ``restart`` (a coastcast restart.nc) or ``elevation`` (SCHISM elev.ic gr3)."""

    kind: str = setting(
        "rest",
        choices=INITIAL_KINDS,
        help="`rest` (flat surface), `restart` (a previous cycle's restart.nc, valid at `start`: hot start, no "
        "spin-up) or `elevation` (a SCHISM elev.ic: gr3 layout, the elevation in the depth column)",
    )
    file: Path | None = setting(None, kind="path", help="the restart.nc or elev.ic of `restart` and `elevation`")

    def checked(self, where) -> Initial:
        if self.kind != "rest" and self.file is None:
            raise ConfigError(f'{where}: kind = {self.kind!r} needs file = "..."')
        if self.kind == "rest" and self.file is not None:
            raise ConfigError(f'{where}: kind = "rest" takes no file; write kind = "restart" or "elevation"')
        return self

    @classmethod
    def from_mapping(cls, table: Mapping, base: Path, where="[initial]") -> Initial:
        return parse_section(cls, table, where, base)


def _builtin_catalogue() -> Path:
    from .gauges import DEFAULT_CATALOGUE

    return Path(DEFAULT_CATALOGUE)


def _catalogue_specials() -> dict:
    return {BUILTIN_CATALOGUE: _builtin_catalogue(), "none": None}


@dataclass(frozen=True)
class GaugeOptions:
    """Tide gauges of a catalogue as stations (``[gauges]``): every gauge within
    ``max_distance_km`` of a face at least ``min_depth_m`` below MSL becomes a station there, and
    the cycle reports its skill against the gauge's harmonic prediction and flags the datums in
    ``thresholds`` that the forecast exceeds. ``catalogue``: None for no gauge stations."""

    catalogue: Path | None = setting(
        factory=_builtin_catalogue,
        kind="path",
        special=_catalogue_specials,
        default_text="builtin",
        help="`builtin` (2,616 North Atlantic gauges of TICON-4 and NOAA CO-OPS with their harmonic constants "
        "and datums, workflows/data/gauges/), `none`, or a catalogue NetCDF of the same layout",
    )
    max_distance_km: float = setting(
        10.0,
        positive=True,
        maximum=200.0,
        unit="km",
        help="a gauge becomes a station on the nearest face at least `min_depth_m` below MSL when that face's "
        "centroid is within this great-circle distance",
    )
    min_depth_m: float = setting(2.0, unit="m", help="the least depth below MSL of a gauge station's face")
    thresholds: tuple[str, ...] = setting(
        ("MHWS", "HAT"), kind="strs", help="the tidal datums whose exceedance a cycle flags at gauge stations"
    )

    def checked(self, where) -> GaugeOptions:
        from .gauges import DATUMS

        thresholds = tuple(t.upper() for t in self.thresholds)
        bad = [t for t in thresholds if t not in DATUMS]
        if bad:
            raise ConfigError(f"{where}: thresholds {', '.join(bad)}: not a tidal datum; use {', '.join(DATUMS)}")
        return replace(self, thresholds=thresholds)

    @classmethod
    def from_mapping(cls, table: Mapping, base: Path, where="[gauges]") -> GaugeOptions:
        return parse_section(cls, table, where, base)


@dataclass(frozen=True)
class ThresholdSpec:
    """A user's alert level at a station (``[[thresholds]]``): ``level_m`` above ``datum``
    (``MSL``, the model's datum; at gauge stations also ``chart`` or a datum such as ``LAT``)."""

    station: str = setting(required=True, help="a station name, or a gauge id such as `ticon/brest-3-fra-refmar`")
    level_m: float = setting(required=True, kind="float", unit="m", help="the alert level above `datum`")
    datum: str = setting(
        "MSL", help="`MSL`; at gauge stations also `chart` (the gauge's chart datum) or a tidal datum (`LAT`, `MHWS`, ...)"
    )
    name: str = setting("", default_text='"<level> m above <datum>"', help="the alert's name")

    def checked(self, where) -> ThresholdSpec:
        from .gauges import CHART, DATUMS

        datum = self.datum
        if datum.upper() not in DATUMS and datum.lower() != CHART:
            raise ConfigError(f"{where}: datum {datum!r} is not one of {', '.join(DATUMS)} or {CHART!r}")
        return replace(
            self, datum=datum if datum.lower() == CHART else datum.upper(), name=self.name or f"{self.level_m:g} m above {datum}"
        )

    @classmethod
    def from_mapping(cls, table: Mapping, where: str) -> ThresholdSpec:
        return parse_section(cls, table, where)


@dataclass(frozen=True)
class StationSpec:
    """A station where ``stations.nc`` records the water level and current."""

    name: str = setting(required=True, help="the station's name")
    lon: float = setting(required=True, kind="float", minimum=-360.0, maximum=360.0, unit="degrees east", help="longitude")
    lat: float = setting(required=True, kind="float", minimum=-90.0, maximum=90.0, unit="degrees north", help="latitude")


@dataclass(frozen=True)
class EnsembleSpec:
    """``members`` (≥ 2), per-member ``wind_factors`` and/or ``tides`` tables, and ``threshold_m`` (m)."""

    members: int = setting(required=True, kind="int", minimum=2, help="the number of members")
    wind_factors: tuple[float, ...] | None = setting(
        None,
        kind="floats",
        minimum=0,
        help="member k's 10 m wind is multiplied by `wind_factors[k]` "
        '(needs `[atmosphere]` source = "file": the files are scaled)',
    )
    tides: tuple[Mapping[str, Any], ...] | None = setting(
        None,
        kind="delegated",
        paths=TIDE_PATH_KEYS,
        parse=_parse_tide_tables,
        array=True,
        help="one `[tides]` table per member (other atlases, other tables)",
    )
    threshold_m: float = setting(
        0.5, unit="metres", help="`ensemble_stations.nc` gives the probability of zeta above this at each station and time"
    )

    def checked(self, where) -> EnsembleSpec:
        n = self.members
        if self.wind_factors is not None and len(self.wind_factors) != n:
            raise ConfigError(f"{where}: wind_factors has {len(self.wind_factors)} values but members = {n}")
        if self.tides is not None and len(self.tides) != n:
            raise ConfigError(f"{where}: {len(self.tides)} [[ensemble.tides]] tables but members = {n}")
        if self.wind_factors is None and self.tides is None:
            raise ConfigError(
                f"{where}: members = {n} but no perturbation; give wind_factors = [...] or [[ensemble.tides]] tables"
            )
        return self

    @classmethod
    def from_mapping(cls, table: Mapping, where: str = "[ensemble]", base: Path | str = ".") -> EnsembleSpec:
        return parse_section(cls, table, where, base)


def read_stations_csv(path: Path) -> tuple[StationSpec, ...]:
    """Stations from a CSV with a header ``name,lon,lat``."""
    out = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"name", "lon", "lat"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(
                    f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; the header must be name,lon,lat"
                )
            for i, row in enumerate(reader, start=2):
                try:
                    out.append(StationSpec(row["name"].strip(), float(row["lon"]), float(row["lat"])))
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"{path}: line {i}: lon and lat must be numbers, got {row['lon']!r}, {row['lat']!r}"
                    ) from None
    except FileNotFoundError:
        raise ConfigError(f"stations_file {str(path)!r} does not exist") from None
    return tuple(out)


@dataclass(frozen=True)
class ForecastConfig:
    """A validated forecast-system configuration. Build it with :func:`load_config` or :meth:`from_mapping`."""

    name: str = setting(required=True, help="the system's name")
    mesh_path: Path | None = setting(
        None,
        kind="path",
        toml="mesh",
        input_file=False,
        default_text="one of mesh, gallery",
        help="a mesh file (gr3, fort.14, gmsh .msh, UGRID .nc)",
    )
    gallery: str | None = setting(
        None,
        default_text="one of mesh, gallery",
        help="a gallery region name (meshes/): its mesh, roles, tides, rivers, stations and datum",
    )
    crs: str | None = setting(
        None, default_text="from the mesh", help="EPSG code of a projected mesh without a sidecar `.crs` file"
    )
    start: datetime | None = setting(
        None, kind="time", default_text="today 00Z", help="forecast start (UTC); a time without a zone is refused"
    )
    hours: float = setting(72.0, positive=True, maximum=24 * 366, unit="h", help="forecast horizon")
    spinup_hours: float = setting(
        24.0,
        minimum=0.0,
        unit="h",
        help="cold start: run from rest over this period before `start` (not published); the tide at the open "
        "boundaries is ramped up smoothly (half cosine) over its first half",
    )
    output_interval_minutes: float = setting(60.0, positive=True, unit="min", help="`fields.nc` interval")
    station_interval_minutes: float = setting(10.0, positive=True, unit="min", help="`stations.nc` interval")
    restart_hours: float | None = setting(
        None,
        kind="float",
        positive=True,
        unit="h",
        default_text="min(24, hours)",
        help="the forecast hour whose state is saved as `restart.nc` (the next cycle's hot start)",
    )
    segment_hours: float = setting(
        12.0, positive=True, unit="h", help="checkpointed simulation segments (a crashed worker loses at most one)"
    )
    stations_file: Path | None = setting(
        None, kind="path", compare=False, dumped=False, help="CSV of stations with header `name,lon,lat`"
    )
    boundaries: Mapping[str, str] = setting(
        factory=lambda: MappingProxyType({}),
        kind="kinds",
        choices=BOUNDARY_KINDS,
        default_text="from the region",
        help='every open boundary segment of the mesh: `"tide"`, `"river"`, `"wall"` or `"outflow"`',
    )
    tides: Mapping[str, Any] | None = setting(
        None,
        kind="delegated",
        paths=TIDE_PATH_KEYS,
        parse=_parse_tides,
        default_text="from the region",
        help="tidal forcing (below)",
    )
    atmosphere: Mapping[str, Any] | str = setting(
        "none",
        kind="delegated",
        paths=("path",),
        parse=_parse_atmosphere,
        default_text="`none`",
        help='`"none"`, `"gfs"`, a file path or a table (below)',
    )
    rivers: tuple = setting(
        (),
        kind="delegated",
        paths=("file",),
        parse=_parse_rivers,
        array=True,
        default_text="from the region",
        help="one table per river boundary (below)",
    )
    bathymetry: Any = setting(
        None,
        kind="delegated",
        paths=("atlas_file",),
        parse=_parse_bathymetry,
        dump=_dump_bathymetry,
        default_text="depths below MSL, or the region's",
        help="the vertical datum of the mesh's depths (below)",
    )
    """:class:`workflows.bathymetry.VerticalDatum` of the mesh's depths (default: below MSL)."""
    physics: Physics = setting(factory=Physics, kind="table", schema=Physics, help="physical and numerical parameters")
    initial: Initial = setting(factory=Initial, kind="table", schema=Initial, help="the initial state")
    stations: tuple[StationSpec, ...] = setting(
        (),
        kind="tables",
        schema=StationSpec,
        default_text="the region's",
        help="name, lon, lat; a station in a dry face gets fill values while dry",
    )
    gauges: GaugeOptions = setting(
        factory=GaugeOptions, kind="table", schema=GaugeOptions, help="tide gauges of a catalogue as stations"
    )
    thresholds: tuple[ThresholdSpec, ...] = setting((), kind="tables", schema=ThresholdSpec, help="your own alert levels")
    ensemble: EnsembleSpec | None = setting(
        None, kind="table", schema=EnsembleSpec, help="an ensemble of perturbed members (workflows/ensemble.py)"
    )
    base_dir: Path = field(default=Path("."), compare=False)
    """The configuration file's folder (every path above is already absolute)."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The keys as given, paths absolute (what :func:`with_overrides` starts from)."""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    @property
    def cold_start(self) -> bool:
        return self.initial.kind != "restart"

    @classmethod
    def from_mapping(cls, data: Mapping, base_dir=".", where: str = "config") -> ForecastConfig:
        base = Path(base_dir).resolve()
        w = _Where(str(where))
        cfg = parse_section(cls, data, w, base, extra={"base_dir": base})
        raw = {}
        for name, (f, key) in declared(cls).items():
            if name in data:
                raw[name] = _dump_value(key, getattr(cfg, f.name)) if key.dumped else str(getattr(cfg, f.name))
        return cfg._completed(data, raw, w)

    def _completed(self, data: Mapping, raw: dict, where: _Where) -> ForecastConfig:
        """Defaults that depend on other keys or on the gallery region, and checks across keys."""
        if not self.name.strip():
            raise ConfigError(f"{where}: name must not be empty")
        region = None
        if self.gallery and self.mesh_path:
            raise ConfigError(f'{where}: give either mesh = "FILE" or gallery = "REGION", not both')
        mesh_path = self.mesh_path
        if self.gallery:
            from .gallery import RegionError, load_region

            try:
                region = load_region(self.gallery)
            except (RegionError, KeyError, FileNotFoundError) as exc:
                raise ConfigError(f"{where}: gallery: {exc}") from None
            mesh_path = region.mesh_path
        elif mesh_path is None:
            raise ConfigError(f"{where}: missing key 'mesh' (a mesh file) or 'gallery' (a gallery region name)")
        if not Path(mesh_path).is_file():
            raise ConfigError(f"{where}: mesh file {str(mesh_path)!r} does not exist")
        restart_h = self.restart_hours if self.restart_hours is not None else min(24.0, self.hours)
        if restart_h > self.hours:
            raise ConfigError(f"{where}: restart_hours ({restart_h}) is after the end of the forecast ({self.hours} h)")
        boundaries, tides, rivers, stations = dict(self.boundaries), self.tides, self.rivers, list(self.stations)
        bathymetry, crs = self.bathymetry, self.crs
        if region is not None:
            roles = {"ocean": "tide", "river": "river", "land": "wall"}
            boundaries = {**{k: roles[v] for k, v in region.boundary_roles.items()}, **boundaries}
            if "tides" not in data and region.tides is not None and region.tides.source != "none":
                tides = _parse_tides(
                    region_tides(region), _Where(where.file, f"[tides] of gallery region {region.name}"), region.folder
                )
            if "rivers" not in data:
                rivers = _parse_rivers([region_river(r) for r in region.rivers], where, region.folder)
            if "stations" not in data and "stations_file" not in data:
                stations = [StationSpec(s.name, s.lon, s.lat) for s in region.stations]
            if bathymetry is None:
                bathymetry = region.bathymetry
            crs = crs or region.crs
        if bathymetry is None:
            from .bathymetry import VerticalDatum

            bathymetry = VerticalDatum()
        if self.stations_file is not None:
            stations.extend(read_stations_csv(self.stations_file))
        names = [s.name for s in stations]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"{where}: station name(s) {', '.join(sorted(dup))} appear more than once")
        return replace(
            self,
            mesh_path=Path(mesh_path),
            crs=crs,
            start=self.start if self.start is not None else today_00z(),
            spinup_hours=self.spinup_hours if self.initial.kind != "restart" else 0.0,
            restart_hours=restart_h,
            boundaries=MappingProxyType(boundaries),
            tides=tides,
            rivers=tuple(rivers),
            stations=tuple(stations),
            bathymetry=bathymetry,
            raw=MappingProxyType(raw),
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
            raise ConfigError(
                f'[boundaries]: open boundary {", ".join(missing)} needs a setting; write e.g. {missing[0]} = "tide" (or river, wall, outflow)'
            )
        river_b = {r["boundary"] for r in self.rivers}
        for n, kind in self.boundaries.items():
            if kind == "river" and n not in river_b:
                raise ConfigError(f'[boundaries] {n} = "river" but no [[rivers]] table has boundary = "{n}"')
            if kind == "tide" and not self.tides:
                raise ConfigError(
                    f'[boundaries] {n} = "tide" needs a [tides] table, e.g. kind = "atlas" and model = "coastcast" '
                    "(coastcast's global atlas: any North Atlantic coast)"
                )
        for b in river_b:
            if b not in names:
                raise ConfigError(f'[[rivers]] boundary = "{b}": no such boundary on the mesh; it has {", ".join(names)}')
            if self.boundaries.get(b) != "river":
                raise ConfigError(
                    f'[[rivers]] boundary = "{b}" but [boundaries] {b} is {self.boundaries.get(b)!r}; write {b} = "river"'
                )


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
    """The input files a configuration mapping names, as ``(key, path)`` pairs (paths as
    written): every path key of the schema but the mesh."""
    return named_in(ForecastConfig, data)


# -- loading, overriding, writing -----------------------------------------------------------------
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


def with_overrides(cfg: ForecastConfig, overrides: Mapping[str, Any], where: str = "overrides") -> ForecastConfig:
    """``cfg`` with keys replaced, checked by the same schema: ``{"hours": 24, "physics.manning":
    0.03, "tides": {...}}`` (dotted names reach into tables; None removes a key, so that its
    default applies). Defaults that depend on other keys (``restart_hours``, the gallery
    region's tables) follow the new values; relative paths are taken from ``cfg.base_dir``."""
    data = _plain(dict(cfg.raw))
    for dotted, value in overrides.items():
        *tables, key = dotted.split(".")
        target = data
        for t in tables:
            target = target.setdefault(t, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{where}: {dotted}: {t} is not a table")
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _plain(value) if isinstance(value, (Mapping, list, tuple, Path)) else value
    return ForecastConfig.from_mapping(data, base_dir=cfg.base_dir, where=f"{where} of {cfg.name}")


def dump_toml(cfg: ForecastConfig) -> str:
    """The configuration as TOML text, every key written (defaults included, paths absolute), that
    :func:`load_config` reads back into an equal :class:`ForecastConfig`."""
    import tomli_w

    data = to_mapping(cfg)
    if cfg.gallery:
        data.pop("mesh", None)
    return tomli_w.dumps(data)


# -- the user guide's key table ------------------------------------------------------------------
_KIND_TEXT = {
    "str": "string",
    "float": "number",
    "int": "integer",
    "bool": "true/false",
    "path": "file path",
    "time": "ISO 8601 with zone",
    "strs": "list of strings",
    "floats": "list of numbers",
    "table": "table",
    "tables": "array of tables",
    "kinds": "table",
    "delegated": "table",
}


def _default_text(f, key: Key) -> str:
    if key.default_text is not None:
        return key.default_text
    if key.required:
        return "required"
    default = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING else None)
    if key.kind in ("table", "tables", "delegated") or default is None:
        return "–"
    for text, v in key.specials().items():
        if v == default:
            return text
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else f"{v:g}" for v in default) + "]" if default else "–"
    if isinstance(default, float):
        return f"{default:g}"
    return f"`{default}`" if isinstance(default, str) else str(default)


def _allowed_text(key: Key) -> str:
    parts = []
    allowed = list(key.allowed()) + list(key.specials())
    if allowed and key.kind != "path":
        parts.append(", ".join(f"`{a}`" for a in allowed))
    bound = _bound_text(key)
    if bound:
        parts.append(bound)
    if key.unit:
        parts.append(key.unit)
    return "; ".join(parts) or "–"


def key_table_markdown() -> str:
    """The user guide's table of every declared key (docs/user-guide.md, between its markers)."""
    rows = ["| key | type | default | allowed, unit | meaning |", "|---|---|---|---|---|"]

    def add(schema, prefix):
        for name, (f, key) in declared(schema).items():
            label = (
                f"`{prefix}{name}`"
                if key.kind not in ("table", "tables", "delegated", "kinds")
                else (f"`[[{prefix}{name}]]`" if key.kind == "tables" or key.array else f"`[{prefix}{name}]`")
            )
            rows.append(
                f"| {label} | {_KIND_TEXT['tables' if key.array else key.kind]} | {_default_text(f, key)} | {_allowed_text(key)} | {key.help} |"
            )
            if key.kind in ("table", "tables"):
                add(key.schema, f"{prefix}{name}.")

    add(ForecastConfig, "")
    return "\n".join(rows) + "\n"
