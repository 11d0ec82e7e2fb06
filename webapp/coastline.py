"""The coastline drawn under every map, from the project's own GSHHG data (no map tiles needed).

Source: the tiled North Atlantic coastline ``workflows/data/gshhg_f_L1_north_atlantic_tiles.gz``
(GSHHG full resolution, level 1 — lakes are land —, lon −100…40, lat 0…80, LGPL; provenance in
``workflows/data/SOURCE.md``), read through :func:`workflows.meshgen.coastline_tiles`, which
decodes only the 1° tiles a box meets. Parts of a box outside the data get no features.

* A box (``?bbox=W,S,E,N``) is first snapped outward to a grid whose step is the power of two
  at or above 1/16 of the box's longer side (:func:`snap_bbox`; the browser snaps its view the
  same way, so maps ask for few distinct boxes). Inside the snapped box the answer holds the
  coastline lines, simplified (Douglas–Peucker) to the step / 64 (1/1000 to 1/500 of the box:
  about a pixel of a map showing it), and, where the snapped box is at most :data:`LAND_MAX_DEG`
  on its longer side (every box up to 28°), the land polygons simplified to the same tolerance;
  larger boxes get lines only, from the file's overview layer (the land polygons of a whole
  ocean take seconds to build).
* No box: the overview lines of the whole data extent, simplified to :data:`OVERVIEW_TOLERANCE`.

Islands of less than the tolerance squared are left out. Answers are computed once per process and
snapped box and kept gzip-compressed (:func:`coastline_gzip`).
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import time
from functools import lru_cache

import numpy as np
import shapely

from workflows.meshgen import coastline_tiles

log = logging.getLogger(__name__)

MIN_STEP = 1.0 / 128.0
MAX_STEP = 32.0
"""Limits of the snapping grid's step (°)."""
TOLERANCE_PER_STEP = 1.0 / 64.0
"""Simplification tolerance as a fraction of the grid step (the step is 1/16 to 1/8 of the snapped box)."""
LAND_MAX_DEG = 32.0
"""Snapped boxes up to this size (°) on their longer side get land polygons."""
OVERVIEW_TOLERANCE = 0.05
"""Simplification tolerance (°) of the answer without a box."""


class BBoxError(ValueError):
    """A ``bbox`` argument that cannot be used; the message (one line) says why."""


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` (degrees) → a tuple, or :class:`BBoxError` with a one-line reason."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise BBoxError(f"bbox needs 4 numbers west,south,east,north (degrees), got {len(parts)}")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise BBoxError("bbox values must be numbers: west,south,east,north in degrees, e.g. bbox=-10,43,3,53") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise BBoxError("bbox values must be finite numbers")
    if not (-180.0 <= w <= 180.0 and -180.0 <= e <= 180.0):
        raise BBoxError("bbox longitudes must lie within -180..180")
    if not (-90.0 <= s <= 90.0 and -90.0 <= n <= 90.0):
        raise BBoxError("bbox latitudes must lie within -90..90")
    if not (w < e and s < n):
        raise BBoxError("bbox must have west < east and south < north")
    return w, s, e, n


def _step(size: float) -> float:
    return min(max(2.0 ** math.ceil(math.log2(max(size, 1e-9) / 16.0)), MIN_STEP), MAX_STEP)


def snap_bbox(bbox) -> tuple[tuple[float, float, float, float], float]:
    """(snapped box, grid step): ``bbox`` widened outward to multiples of the step chosen for its size,
    kept within −180…180 / −90…90, repeated until the box no longer changes (so snapping a snapped
    box gives it back). ``webapp/static/js/basemap.js`` does the same in the browser."""
    w, s, e, n = (float(v) for v in bbox)
    for _ in range(16):
        step = _step(max(e - w, n - s))
        snapped = (
            max(math.floor(w / step) * step, -180.0),
            max(math.floor(s / step) * step, -90.0),
            min(math.ceil(e / step) * step, 180.0),
            min(math.ceil(n / step) * step, 90.0),
        )
        if snapped == (w, s, e, n):
            break
        w, s, e, n = snapped
    return (w, s, e, n), step


def _decimals(tol: float) -> int:
    """Decimal places that round coordinates to a tenth of the tolerance or finer (at most 1e-5°, the data's quantum)."""
    return min(5, max(2, math.ceil(-math.log10(tol / 10.0))))


def _lines(lines, tol: float) -> np.ndarray:
    lines = np.asarray(lines, dtype=object)
    if not len(lines):
        return lines
    closed = shapely.is_closed(lines) & (shapely.get_num_coordinates(lines) >= 4)
    small = np.zeros(len(lines), bool)
    if closed.any():  # islands under the tolerance, as in _land
        xy, idx = shapely.get_coordinates(lines[closed], return_index=True)
        small[closed] = shapely.area(shapely.polygons(shapely.linearrings(xy, indices=idx))) < tol * tol
    lines = lines[~small & (closed | (shapely.length(lines) >= tol))]  # and specks cut by a tile side or the box
    out = shapely.simplify(lines, tol, preserve_topology=False)
    return out[~shapely.is_empty(out) & (shapely.get_num_coordinates(out) >= 2)]


def _land(land, tol: float) -> np.ndarray:
    polys = shapely.get_parts(land)
    if not len(polys):
        return polys
    polys = polys[shapely.area(polys) >= tol * tol]
    # simplified as one geometry, keeping its topology: no ring crosses another, so the fill has no gaps
    out = shapely.get_parts(shapely.simplify(shapely.MultiPolygon(list(polys)), tol, preserve_topology=True))
    return out[(shapely.get_type_id(out) == 3) & ~shapely.is_empty(out)]


def _round(coords: np.ndarray, decimals: int) -> list:
    return np.round(coords, decimals).tolist()


def _line_coords(lines, decimals: int) -> list:
    return [_round(shapely.get_coordinates(g), decimals) for g in lines]


def _polygon_coords(polys, decimals: int) -> list:
    return [
        [_round(shapely.get_coordinates(p.exterior), decimals)]
        + [_round(shapely.get_coordinates(r), decimals) for r in p.interiors]
        for p in polys
    ]


def _feature_collection(box, tol: float, lines, land) -> dict:
    d = _decimals(tol)
    features = []
    if land is not None:
        # onto the rounding grid with GEOS's precision reducer, which keeps the polygons valid
        land = shapely.get_parts(shapely.set_precision(shapely.MultiPolygon(list(land)), 10.0**-d))
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "land"},
                "geometry": {"type": "MultiPolygon", "coordinates": _polygon_coords(land, d)},
            }
        )
    features.append(
        {
            "type": "Feature",
            "properties": {"kind": "coast"},
            "geometry": {"type": "MultiLineString", "coordinates": _line_coords(lines, d)},
        }
    )
    return {
        "type": "FeatureCollection",
        "bbox": [float(v) for v in box],
        "tolerance": round(tol, 6),
        "land": land is not None,
        "source": "GSHHG f L1 North Atlantic (simplified)",
        "features": features,
    }


@lru_cache(maxsize=64)
def _cached_gzip(box: tuple[float, float, float, float] | None, step: float | None) -> bytes:
    t0 = time.perf_counter()
    store = coastline_tiles()
    if box is None:
        tol = OVERVIEW_TOLERANCE
        fc = _feature_collection(store.extent, tol, _lines(store.overview_lines(store.extent), tol), None)
    else:
        tol = step * TOLERANCE_PER_STEP
        with_land = max(box[2] - box[0], box[3] - box[1]) <= LAND_MAX_DEG
        if with_land:
            lines, land = store.coast_lines(box), _land(store.land(box), tol)
        else:
            lines, land = store.overview_lines(box), None
        fc = _feature_collection(box, tol, _lines(lines, tol), land)
    raw = json.dumps(fc, separators=(",", ":")).encode()
    out = gzip.compress(raw, compresslevel=6, mtime=0)
    log.info(
        "coastline %s: tolerance %g deg, %d bytes (%d gzip) in %.2f s",
        box or "overview",
        tol,
        len(raw),
        len(out),
        time.perf_counter() - t0,
    )
    return out


def coastline_gzip(bbox: tuple[float, float, float, float] | None = None) -> bytes:
    """The gzip-compressed GeoJSON FeatureCollection for ``bbox`` (already checked by :func:`parse_bbox`;
    ``None``: the overview of the whole data extent).

    The collection carries ``bbox`` (the snapped box it covers), ``tolerance`` (°), ``land`` (whether
    land polygons are included) and ``source``; its features are one ``MultiPolygon`` with
    ``properties.kind == "land"`` (when ``land``) and one ``MultiLineString`` with ``kind == "coast"``
    (lon/lat °)."""
    if bbox is None:
        return _cached_gzip(None, None)
    box, step = snap_bbox(bbox)
    return _cached_gzip(box, step)


def coastline_json(bbox: tuple[float, float, float, float] | None = None) -> bytes:
    """The same answer uncompressed."""
    return gzip.decompress(coastline_gzip(bbox))
