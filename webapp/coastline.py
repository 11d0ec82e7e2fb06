"""The coastline drawn under every map, from the project's own GSHHG extract (no map tiles needed).

``workflows/data/gshhg_f_L1_iberia_biscay_channel.geojson.gz`` (GSHHG full resolution, level 1,
LGPL; see workflows/data provenance) holds about 133 000 points (1858 polygons, 9 open lines); the map gets it simplified with
shapely (Douglas–Peucker, tolerance 0.002° ≈ 200 m) and rounded to 1e-4°, computed once per
process.
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry import box, shape

import workflows

SOURCE = Path(workflows.__file__).parent / "data" / "gshhg_f_L1_iberia_biscay_channel.geojson.gz"
TOLERANCE_DEG = 0.002


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
    to ``bbox`` = (west, south, east, north) widened by 10 %."""
    lines = _lines()
    if bbox is not None:
        w, s, e, n = bbox
        dx, dy = 0.1 * (e - w) + 0.05, 0.1 * (n - s) + 0.05
        clip = box(w - dx, s - dy, e + dx, n + dy)
        lines = [g.intersection(clip) for g in lines if g.intersects(clip)]
    coords = [c for g in lines for c in _coords(g)]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"source": "GSHHG f L1 (simplified)"},
         "geometry": {"type": "MultiLineString", "coordinates": coords}}]}
    return json.dumps(fc, separators=(",", ":")).encode()
