"""The mesh gallery: ready-made regions in ``meshes/<region>/`` described by ``region.toml``.

``list_regions()`` and ``load_region(name)`` read the gallery found next to the package
(``<repo>/meshes``) or in the folder named by the environment variable ``COASTCAST_GALLERY``.
The ``region.toml`` schema is documented in ``meshes/README.md``; unknown keys are refused with
a message naming the file and key.
"""

from __future__ import annotations

import functools
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from solver.formats import read_mesh
from solver.mesh import Mesh

from .keys import check_keys, suggest

log = logging.getLogger(__name__)

BOUNDARY_ROLES = ("ocean", "river", "land")
TIDE_SOURCES = ("harmonics", "telemac_cli", "fort15", "atlas", "none")
GALLERY_ENV = "COASTCAST_GALLERY"


class RegionError(ValueError):
    """A region.toml that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Station:
    """An output station: ``lon``/``lat`` in degrees (WGS84)."""

    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class TideForcing:
    """Default tidal forcing of a region.

    ``source``: ``harmonics`` (CSV table of amplitudes/phases at the open-boundary nodes),
    ``telemac_cli`` (TELEMAC harmonic boundary file), ``fort15`` (ADCIRC control file with its
    boundary harmonics), ``atlas`` (a NetCDF atlas ``file`` in the folder, or an external atlas
    ``atlas`` such as ``"FES2022"`` or ``"TPXO9"`` read from the configured data directory) or
    ``none``. ``atlas_file``: a region atlas that also gives currents (validation, Flather).
    """

    source: str
    file: Path | None = None
    constituents: tuple[str, ...] = ()
    atlas: str | None = None
    atlas_file: Path | None = None
    supplement: str | None = None
    """``"coastcast"``: what the source lacks (e.g. the diurnals) from coastcast's global atlas."""


@dataclass(frozen=True)
class RiverForcing:
    """Discharge (m³/s) at the open boundary segment ``boundary``: a column of a table or a constant."""

    boundary: str
    name: str
    file: Path | None = None
    column: str | None = None
    discharge: float | None = None


@dataclass(frozen=True)
class Region:
    """One gallery region (see ``meshes/README.md``)."""

    name: str
    title: str
    description: str
    folder: Path
    crs: str
    mesh_path: Path
    boundary_roles: Mapping[str, str]
    tides: TideForcing | None
    rivers: tuple[RiverForcing, ...]
    stations: tuple[Station, ...]
    licence: str = ""
    bbox: tuple[float, float, float, float] | None = field(default=None)
    bathymetry: object = None
    """:class:`workflows.bathymetry.VerticalDatum` of the mesh's depths; ``None``: below MSL."""

    def mesh(self) -> Mesh:
        """The region's mesh as stored (read once per process and cached)."""
        p = self.mesh_path
        return _read_cached(str(p), p.stat().st_mtime_ns, self.crs)

    def msl_mesh(self) -> Mesh:
        """The region's mesh with depths below mean sea level (``[bathymetry]``; cached)."""
        if self.bathymetry is None or not self.bathymetry.shifts:
            return self.mesh()
        p = self.mesh_path
        return _msl_cached(str(p), p.stat().st_mtime_ns, self.crs, self.bathymetry)

    def validate(self) -> list[str]:
        """Problems between region.toml and the mesh: unknown segment names, stations outside wet faces."""
        m = self.mesh()
        out = []
        names = {b.name: b.role for b in m.boundaries}
        for seg, role in self.boundary_roles.items():
            if seg not in names:
                out.append(f"{self.name}: boundary {seg!r} is not a segment of the mesh ({', '.join(names)})")
            elif role in ("ocean", "river") and names[seg] != "open":
                out.append(f"{self.name}: boundary {seg!r} is a {names[seg]} segment but region.toml makes it {role}")
        for r in self.rivers:
            if self.boundary_roles.get(r.boundary) != "river":
                out.append(f"{self.name}: river {r.name!r} is on boundary {r.boundary!r}, which is not a river boundary")
        for s in self.stations:
            k = find_face(m, s.lon, s.lat)
            if k < 0:
                out.append(f"{self.name}: station {s.name!r} ({s.lon}, {s.lat}) lies outside the mesh")
            elif m.face_depth[k] <= 0:
                out.append(
                    f"{self.name}: station {s.name!r} ({s.lon}, {s.lat}) lies in dry face {k} (depth {m.face_depth[k]:.2f} m)"
                )
        return out


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, crs: str) -> Mesh:
    return read_mesh(path, crs=crs)


@functools.lru_cache(maxsize=8)
def _msl_cached(path: str, mtime_ns: int, crs: str, datum) -> Mesh:
    from .bathymetry import to_mean_sea_level

    return to_mean_sea_level(_read_cached(path, mtime_ns, crs), datum)


def find_face(mesh: Mesh, lon: float, lat: float) -> int:
    """Index of the face containing the point (mesh coordinates; lon/lat for a geographic mesh), or -1
    (``mesh.locator``: a point on an edge or vertex is inside)."""
    return int(mesh.locator.locate(lon, lat).face[0])


def gallery_dir() -> Path:
    """The gallery folder: ``$COASTCAST_GALLERY`` or ``meshes/`` next to the package."""
    env = os.environ.get(GALLERY_ENV)
    return Path(env).expanduser().resolve() if env else Path(__file__).resolve().parents[1] / "meshes"


def list_regions() -> list[Region]:
    """Every region of the gallery (folders holding a region.toml), sorted by name."""
    root = gallery_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"mesh gallery {root} does not exist (set {GALLERY_ENV})")
    return [load_region(p.parent.name) for p in sorted(root.glob("*/region.toml"))]


def load_region(name: str) -> Region:
    """The region ``name`` (its folder name); unknown names list the ones there are."""
    root = gallery_dir()
    path = root / name / "region.toml"
    if not path.is_file():
        have = sorted(p.parent.name for p in root.glob("*/region.toml"))
        close = suggest(name, have)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise KeyError(f"no gallery region {name!r}{hint}; the gallery {root} has: {', '.join(have) or 'none'}")
    return parse_region(path)


_TOP_KEYS = {
    "name",
    "title",
    "description",
    "crs",
    "mesh",
    "licence",
    "bbox",
    "boundaries",
    "tides",
    "rivers",
    "stations",
    "bathymetry",
}
_TIDE_KEYS = {"source", "file", "constituents", "atlas", "atlas_file", "supplement"}
_RIVER_KEYS = {"boundary", "name", "file", "column", "discharge"}
_STATION_KEYS = {"name", "lon", "lat"}


def _unknown(keys, allowed, where):
    check_keys(dict.fromkeys(keys), sorted(allowed), where, RegionError)


def parse_region(path) -> Region:
    """Parse and check one ``region.toml`` (paths relative to its folder)."""
    path = Path(path)
    folder = path.parent
    where = f"{path}"
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RegionError(f"{where}: {exc}") from None
    _unknown(data, _TOP_KEYS, where)

    def need(table, key, kind, w):
        if key not in table:
            raise RegionError(f"{w}: missing key {key!r}")
        if not isinstance(table[key], kind):
            raise RegionError(
                f"{w}: {key!r} must be a {kind.__name__ if isinstance(kind, type) else 'number'}, got {table[key]!r}"
            )
        return table[key]

    def file_in(rel, w):
        p = (folder / rel).resolve()
        if not p.is_file():
            raise RegionError(f"{w}: file {rel!r} does not exist in {folder}")
        return p

    name = need(data, "name", str, where)
    if name != folder.name:
        raise RegionError(f"{where}: name {name!r} must equal the folder name {folder.name!r}")
    mesh_path = file_in(need(data, "mesh", str, where), f"{where}: mesh")
    roles = data.get("boundaries", {})
    if not isinstance(roles, dict):
        raise RegionError(f"{where}: [boundaries] must be a table of segment = role")
    for seg, role in roles.items():
        if role not in BOUNDARY_ROLES:
            raise RegionError(f"{where}: [boundaries] {seg} = {role!r}: the role must be one of {', '.join(BOUNDARY_ROLES)}")
    tides = None
    if "tides" in data:
        t = data["tides"]
        w = f"{where}: [tides]"
        if not isinstance(t, dict):
            raise RegionError(f"{w} must be a table")
        _unknown(t, _TIDE_KEYS, w)
        src = need(t, "source", str, w)
        if src not in TIDE_SOURCES:
            raise RegionError(f"{w}: source {src!r} must be one of {', '.join(TIDE_SOURCES)}")
        tides = TideForcing(
            source=src,
            file=file_in(t["file"], w) if "file" in t else None,
            constituents=tuple(t.get("constituents", ())),
            atlas=t.get("atlas"),
            atlas_file=file_in(t["atlas_file"], w) if "atlas_file" in t else None,
            supplement=t.get("supplement"),
        )
        if src in ("harmonics", "telemac_cli", "fort15") and tides.file is None:
            raise RegionError(f"{w}: source {src!r} needs a 'file'")
        if src == "atlas" and tides.file is None and not tides.atlas:
            raise RegionError(f"{w}: source 'atlas' needs a 'file' (NetCDF in the folder) or an external 'atlas' name")
    rivers = []
    for i, r in enumerate(data.get("rivers", [])):
        w = f"{where}: [[rivers]] #{i + 1}"
        _unknown(r, _RIVER_KEYS, w)
        rv = RiverForcing(
            boundary=need(r, "boundary", str, w),
            name=r.get("name", r["boundary"]),
            file=file_in(r["file"], w) if "file" in r else None,
            column=r.get("column"),
            discharge=float(r["discharge"]) if "discharge" in r else None,
        )
        if rv.file is None and rv.discharge is None:
            raise RegionError(f"{w}: give a 'file' with a 'column', or a constant 'discharge' (m3/s)")
        if roles.get(rv.boundary) != "river":
            raise RegionError(f'{w}: boundary {rv.boundary!r} must be listed as "river" in [boundaries]')
        rivers.append(rv)
    stations = []
    for i, s in enumerate(data.get("stations", [])):
        w = f"{where}: [[stations]] #{i + 1}"
        _unknown(s, _STATION_KEYS, w)
        lon, lat = need(s, "lon", (int, float), w), need(s, "lat", (int, float), w)
        if not (-180 <= lon <= 360 and -90 <= lat <= 90):
            raise RegionError(f"{w}: lon/lat ({lon}, {lat}) out of range")
        stations.append(Station(need(s, "name", str, w), float(lon), float(lat)))
    bathymetry = None
    if "bathymetry" in data:
        from .bathymetry import DatumError, VerticalDatum

        if not isinstance(data["bathymetry"], dict):
            raise RegionError(f"{where}: [bathymetry] must be a table")
        try:
            bathymetry = VerticalDatum.from_mapping(data["bathymetry"], base_dir=folder, where=f"{where}: [bathymetry]")
        except DatumError as exc:
            raise RegionError(str(exc)) from None
        if bathymetry.atlas_file is not None and not Path(bathymetry.atlas_file).is_file():
            raise RegionError(f"{where}: [bathymetry] atlas_file {bathymetry.atlas_file.name!r} does not exist in {folder}")
    bbox = data.get("bbox")
    return Region(
        name=name,
        title=need(data, "title", str, where),
        description=data.get("description", "").strip(),
        folder=folder.resolve(),
        crs=data.get("crs", "EPSG:4326"),
        mesh_path=mesh_path,
        boundary_roles=MappingProxyType(dict(roles)),
        tides=tides,
        rivers=tuple(rivers),
        stations=tuple(stations),
        licence=data.get("licence", ""),
        bbox=tuple(float(v) for v in bbox) if bbox else None,
        bathymetry=bathymetry,
    )
