"""The web app's doors into workflows and solver: mesh generation, reading, checking, the gallery.

Each function imports its module when called, so the web app starts (and says what is missing)
even while a piece is absent. A missing piece raises :class:`ServiceUnavailable` whose one-line
message the wizard shows next to the field. Tests replace these functions with monkeypatch.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ServiceUnavailable(RuntimeError):
    """A workflows/solver function the web app needs is not installed."""


def _load(module: str, name: str):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ServiceUnavailable(f"{module} is not available on this server ({exc})") from exc
    try:
        return getattr(mod, name)
    except AttributeError:
        raise ServiceUnavailable(f"{module}.{name} is not available on this server") from None


def generate_mesh(bbox: tuple[float, float, float, float], out_path: Path, **options) -> Any:
    """Generate a mesh for ``bbox`` = (west, south, east, north) degrees and write it to ``out_path``.

    ``options`` go to ``workflows.meshgen.generate_mesh`` (``resolution``, ``min_size`` in m).
    """
    result = _load("workflows.meshgen", "generate_mesh")(tuple(bbox), **options)
    _load("solver.formats", "write_mesh")(result.mesh, out_path)
    _load("workflows.meshgen", "write_depth_sources")(out_path, result.depth_sources)
    return result


MESH_DETAIL_FACTORS = {"standard": 1.0, "coarse": 3.0}
"""Element sizes of a drawn box's mesh, as multiples of the generator's defaults."""


def mesh_sizes(bbox: tuple[float, float, float, float], detail: str = "standard") -> dict:
    """``{"resolution": m, "min_size": m}`` for a box at ``detail`` (a key of
    :data:`MESH_DETAIL_FACTORS`): the generator's defaults (``workflows.meshgen.default_sizes``)
    times the factor: "coarse" triangles are 3x larger (the Plymouth Sound box: 3,130 triangles
    instead of 13,030, the shoreline's vertices keeping the coast finer)."""
    if detail not in MESH_DETAIL_FACTORS:
        raise ValueError(f"mesh detail {detail!r}: choose one of {', '.join(MESH_DETAIL_FACTORS)}")
    res, mn = _load("workflows.meshgen", "default_sizes")(tuple(bbox))
    k = MESH_DETAIL_FACTORS[detail]
    return {"resolution": res * k, "min_size": mn * k}


def depth_warning(mesh_path) -> str | None:
    """The one-line warning of a generated mesh whose depths are mostly synthetic, else None."""
    if not mesh_path:
        return None
    sources = _load("workflows.meshgen", "read_depth_sources")(mesh_path)
    return _load("workflows.meshgen", "synthetic_warning")(sources)


def depth_sources(mesh_path) -> dict:
    """{source: node count} recorded beside a generated mesh (``<stem>.depth_sources.json``)."""
    return _load("workflows.meshgen", "read_depth_sources")(mesh_path)


def bathymetry_sources(bbox) -> tuple[list, str]:
    """The depth sources mesh generation tries for ``bbox``, in its order, and the name of its
    synthetic fallback."""
    return _load("workflows.meshgen", "bathymetry_sources")(bbox), _load("workflows.meshgen", "SYNTHETIC")


def read_mesh(path: Path):
    """Read a mesh file (any supported format) and return a :class:`solver.mesh.Mesh`."""
    result = _load("solver.formats", "read_mesh")(path)
    return getattr(result, "mesh", result)


@dataclass(frozen=True)
class RegionDefaults:
    """What a gallery region brings to the wizard: its river boundaries (boundary -> a few words
    on the region's own discharge: a constant or its series file) and its own tide (if any)."""

    rivers: dict
    has_tides: bool


def region_defaults(gallery: str) -> RegionDefaults:
    region = _load("workflows.gallery", "load_region")(gallery)
    rivers = {}
    for r in region.rivers:
        rivers[r.boundary] = (
            f"{r.name}: {r.discharge:g} m³/s"
            if r.discharge is not None
            else f"{r.name}: the region's series ({r.file.name}, {r.column})"
        )
    return RegionDefaults(rivers, region.tides is not None and region.tides.source != "none")


def place_stations(mesh_path, stations):
    """The user's stations ``[(name, lon, lat)]`` checked against the mesh at ``mesh_path``:
    :class:`workflows.gauge_stations.PlacedStation` list (``moved_km`` > 0 where one was moved
    to the nearest wet face); a station too far from the water raises a one-line error."""
    from types import SimpleNamespace

    specs = [SimpleNamespace(name=n, lon=lo, lat=la) for n, lo, la in stations]
    return _load("workflows.gauge_stations", "place_stations")(specs, read_mesh(Path(mesh_path)))


def tide_choice(mesh_path, gallery: str | None = None):
    """Which tide a system on ``mesh_path`` (a gallery region ``gallery``, or None) gets and why:
    a :class:`workflows.tide_choice.TideChoice` (``table``, ``label``, ``reason``)."""
    region = _load("workflows.gallery", "load_region")(gallery) if gallery else None
    return _load("workflows.tide_choice", "choose_tides")(read_mesh(Path(mesh_path)), region)


def check_mesh(mesh) -> dict:
    """The mesh pre-flight report as a JSON-able dict (``solver.quality.check_mesh(mesh).to_dict()``)."""
    report = _load("solver.quality", "check_mesh")(mesh)
    return report.to_dict() if hasattr(report, "to_dict") else dict(report)


@dataclass(frozen=True)
class GalleryRegion:
    name: str
    title: str
    mesh_path: str
    bbox: tuple[float, float, float, float] | None = None


def _get(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def gallery_regions() -> list[GalleryRegion]:
    """The gallery's regions from ``workflows.gallery.list_regions()`` (dicts or objects)."""
    regions = []
    for item in _load("workflows.gallery", "list_regions")():
        name = str(_get(item, "name", "key", "id"))
        bbox = _get(item, "bbox")
        regions.append(
            GalleryRegion(
                name=name,
                title=str(_get(item, "title", "description", default=name) or name),
                mesh_path=str(_get(item, "mesh_path", "mesh", "path", default="")),
                bbox=tuple(float(v) for v in bbox) if bbox is not None else None,
            )
        )
    return regions


def mesh_summary(mesh) -> dict:
    """Counts, bbox and open boundaries of a mesh, as stored with a system's wizard settings."""
    import numpy as np

    x, y = np.asarray(mesh.node_x), np.asarray(mesh.node_y)
    return {
        "n_node": int(x.size),
        "n_face": int(np.asarray(mesh.face_node_connectivity).shape[0]),
        "bbox": [float(x.min()), float(y.min()), float(x.max()), float(y.max())],
        "crs": getattr(mesh, "crs", None),
        "open_boundaries": [b.name for b in getattr(mesh, "boundaries", ()) if b.role == "open"],
    }


@dataclass(frozen=True)
class GaugeChoice:
    """A catalogue tide gauge that a cycle of the system will place as a station."""

    station: str  # the station name it will get
    gauge_id: str
    gauge_name: str
    distance_km: float
    chart_datum: str  # the name of its chart datum ("" where unknown)
    datums: tuple[str, ...]  # datums it has relative to MSL: "chart", "LAT", ...


def gauge_stations(mesh_path, taken=()) -> list[GaugeChoice]:
    """The gauges of the built-in catalogue that ``workflows.gauge_stations.place_gauges`` puts on
    the mesh at ``mesh_path`` with the default ``[gauges]`` options (``taken``: the user's
    station names), with the datums each one has."""
    import math

    options = _load("workflows.config", "GaugeOptions").from_mapping({}, Path("."))  # a config without [gauges]
    if options.catalogue is None:
        return []
    catalogue = _load("workflows.gauges", "load_catalogue")(options.catalogue)
    placed, _ = _load("workflows.gauge_stations", "place_gauges")(
        catalogue,
        read_mesh(mesh_path),
        max_distance_km=options.max_distance_km,
        min_depth_m=options.min_depth_m,
        taken=set(taken),
    )
    out = []
    for g in placed:
        k = int(catalogue.index(g.gauge_id))
        have = tuple(d for d in ("chart",) + tuple(catalogue.datums) if d != "MSL" and math.isfinite(catalogue.datum_level(d, k)))
        out.append(GaugeChoice(g.station, g.gauge_id, g.gauge_name, round(float(g.distance_km), 2), g.chart_datum or "", have))
    return out
