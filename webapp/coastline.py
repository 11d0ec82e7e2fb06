"""The coastline drawn under every map, from the project's own GSHHG data (no map tiles needed).

Two sources, both GSHHG full resolution, level 1 (lakes are land), LGPL; provenance in
``workflows/data/SOURCE.md``:

* a box (``?bbox=W,S,E,N``): the tiled North Atlantic coastline
  ``workflows/data/gshhg_f_L1_north_atlantic.nc`` (lon −100…40, lat 0…80, read through
  :class:`workflows.meshgen.CoastlineTiles`, which decodes only the 1° tiles that meet the box),
  clipped to the box widened by 10 % and simplified with shapely (Douglas–Peucker) to 0.002°
  (≈ 200 m) for boxes up to 3° across, coarser for larger ones (the box size / 1500: a 10° box
  gets 0.0067°); boxes over 12° across use the file's overview layer (pre-simplified to 0.005°,
  islands under 1e-4 deg² left out). Parts of a box outside the data give no lines.
* no box: ``workflows/data/gshhg_f_L1_iberia_biscay_channel.geojson.gz`` (the data kit's
  −13…6 E, 35…52 N extract, about 133 000 points), simplified to 0.002°. Maps of other coasts
  ask for their box.

Coordinates are rounded to 1e-4°; results are computed once per process and box.
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

import workflows
from workflows.meshgen import coastline_tiles

SOURCE = Path(workflows.__file__).parent / "data" / "gshhg_f_L1_iberia_biscay_channel.geojson.gz"
TOLERANCE_DEG = 0.002
TOLERANCE_PER_DEG = 1.0 / 1500.0
"""Simplification tolerance per degree of box size, where that exceeds TOLERANCE_DEG."""
OVERVIEW_ABOVE_DEG = 12.0
"""Boxes larger than this (widened, in degrees) are drawn from the file's overview layer."""


@lru_cache(maxsize=1)
def _lines() -> tuple:
    with gzip.open(SOURCE, "rt") as fh:
        data = json.load(fh)
    geoms = []
    for f in data["features"]:
        g = shape(f["geometry"])
        if g.geom_type == "Polygon":  # closed land masses and islands: their outline; drop specks
            if g.area < TOLERANCE_DEG ** 2:
                continue
            g = shapely.LineString(g.exterior.coords)
        geoms.append(g)
    simplified = shapely.simplify(shapely.GeometryCollection(geoms).geoms, TOLERANCE_DEG, preserve_topology=False)
    return tuple(g for g in simplified if not g.is_empty and shapely.get_num_coordinates(g) >= 2)


def _box_lines(w: float, s: float, e: float, n: float) -> list:
    """Simplified coastline lines inside the box (already widened) from the tiled North Atlantic data."""
    size = max(e - w, n - s)
    tol = max(TOLERANCE_DEG, size * TOLERANCE_PER_DEG)
    store = coastline_tiles()
    lines = store.overview_lines((w, s, e, n)) if size > OVERVIEW_ABOVE_DEG else store.coast_lines((w, s, e, n))
    if not len(lines):
        return []
    lines = np.asarray(lines, dtype=object)
    closed = shapely.is_closed(lines)
    lines = lines[~closed | (shapely.length(lines) >= 4 * tol)]  # islands smaller than the tolerance: specks
    simplified = shapely.simplify(lines, tol, preserve_topology=False)
    return [g for g in simplified if not g.is_empty and shapely.get_num_coordinates(g) >= 2]


def _coords(g) -> list:
    parts = [g] if g.geom_type in ("LineString", "LinearRing") else list(getattr(g, "geoms", []))
    out = []
    for p in parts:
        if p.geom_type in ("LineString", "LinearRing") and len(p.coords) >= 2:
            out.append([[round(x, 4), round(y, 4)] for x, y in p.coords])
    return out


@lru_cache(maxsize=32)
def coastline_json(bbox: tuple[float, float, float, float] | None = None) -> bytes:
    """GeoJSON FeatureCollection with one MultiLineString feature (lon/lat °), optionally clipped
    to ``bbox`` = (west, south, east, north) widened by 10 % (see the module docstring for the
    sources and tolerances)."""
    if bbox is None:
        lines = _lines()
        source = "GSHHG f L1 (simplified)"
    else:
        w, s, e, n = bbox
        dx, dy = 0.1 * (e - w) + 0.05, 0.1 * (n - s) + 0.05
        lines = _box_lines(w - dx, s - dy, e + dx, n + dy)
        source = "GSHHG f L1 North Atlantic (simplified)"
    coords = [c for g in lines for c in _coords(g)]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"source": source},
         "geometry": {"type": "MultiLineString", "coordinates": coords}}]}
    return json.dumps(fc, separators=(",", ":")).encode()
