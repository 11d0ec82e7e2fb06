"""Mesh generation for a lon/lat box on the North Atlantic coast (Iberia, Bay of Biscay, Channel).

Steps (each timed in :class:`GeneratedMesh`):

1. Coastline: GSHHG full-resolution level-1 shorelines shipped in
   ``workflows/data/gshhg_f_L1_iberia_biscay_channel.geojson.gz`` (−13…6 E, 35…52 N; LGPL-3,
   Wessel & Smith 1996; see ``workflows/data/SOURCE.md``). GSHHG rings run clockwise, so land
   lies to the right of every coastline line; the box is cut by the lines and each piece is
   classified by the side of the coast it touches. Islands (closed polygons) are holes.
2. Local projection: azimuthal equidistant about the box centre (pyproj), distances in metres.
3. Clean-up: morphological opening by ``min_size / 4`` (channels narrower than half the
   smallest element are closed), lakes and lagoons not connected to the box edge dropped,
   coastline simplified to ``min_size / 4``.
4. Size function (m): h = min(resolution, min_size + grading · d_coast, sqrt(g · max(H, 1)) ·
   T_M2 / wavelength_ratio), with d_coast the distance to the coast and H the depth; boundary
   rings resampled at h, then Shewchuk's Triangle (``triangle`` package) with a minimum angle
   (default 25°) and area refinement until every triangle is below 1.5 × its target area.
5. Bathymetry at the nodes from the best source that covers them, in this order: a user
   GEBCO/EMODnet-style NetCDF (``bathymetry=``), the gallery meshes (finest first; linear
   interpolation inside their own triangles, so no interpolation across land), and, where
   nothing covers a node, a documented synthetic shelf: H = 2 m + d_coast / 50 capped at 200 m
   (a 1:50 nearshore slope), recorded in ``depth_sources``.
6. Boundaries: box edges in water become open segments ``open_k``, the coast ``land_k``,
   islands ``island_k`` (Mesh in lon/lat, EPSG:4326).
"""
from __future__ import annotations

import gzip
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solver import connectivity as conn
from solver.mesh import BoundarySegment, Mesh

log = logging.getLogger(__name__)

COASTLINE = Path(__file__).resolve().parent / "data" / "gshhg_f_L1_iberia_biscay_channel.geojson.gz"
COAST_EXTENT = (-13.0, 35.0, 6.0, 52.0)
G = 9.81
T_M2 = 44714.0
LAND, OPEN = 1, 2


class MeshgenError(ValueError):
    """A box that cannot be meshed; the message says why."""


@dataclass(frozen=True)
class MeshgenOptions:
    """Sizes in metres. ``resolution``: largest element size; ``min_size``: smallest (at the coast);
    ``grading``: growth of the size with distance from the coast (m per m); ``wavelength_ratio``:
    elements per M2 wavelength; ``min_angle``: degrees (Triangle's quality bound)."""

    resolution: float | None = None
    min_size: float | None = None
    grading: float = 0.15
    wavelength_ratio: float = 200.0
    min_angle: float = 25.0
    max_iterations: int = 8


@dataclass(frozen=True)
class GeneratedMesh:
    """The mesh and how it was made: ``timings`` (s per step), ``depth_sources`` (source -> node count)."""

    mesh: Mesh
    bbox: tuple[float, float, float, float]
    options: MeshgenOptions
    resolution: float
    min_size: float
    timings: dict = field(default_factory=dict)
    depth_sources: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# -- coastline ------------------------------------------------------------------------------------
def load_coastline(path=COASTLINE):
    """(lines, polygons): shapely LineStrings (pieces of large land polygons) and Polygons (islands), lon/lat."""
    import shapely

    with gzip.open(path, "rt") as fh:
        data = json.load(fh)
    lines, polys = [], []
    for f in data["features"]:
        g = f["geometry"]
        if g["type"] == "LineString":
            lines.append(shapely.LineString(g["coordinates"]))
        elif g["type"] == "Polygon":
            polys.append(shapely.Polygon(g["coordinates"][0], g["coordinates"][1:]))
    return lines, polys


_COAST_CACHE = {}


def _coast():
    if "c" not in _COAST_CACHE:
        _COAST_CACHE["c"] = load_coastline()
    return _COAST_CACHE["c"]


def _projection(bbox):
    from pyproj import Transformer

    lon0 = 0.5 * (bbox[0] + bbox[2])
    lat0 = 0.5 * (bbox[1] + bbox[3])
    proj = f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    inv = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)
    return fwd, inv


def _project(geom, tr):
    import shapely

    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def water_polygon(bbox, fwd, min_size, depth_probe=None):
    """Water inside the box in projected metres (shapely (Multi)Polygon) and the coastline in the box."""
    import shapely
    from shapely.ops import polygonize, unary_union

    W, S, E, N = bbox
    lines, polys = _coast()
    box_ll = shapely.box(W, S, E, N)
    pad = box_ll.buffer(0.01, join_style="mitre")
    clipped = [g for g in (ln.intersection(pad) for ln in lines if ln.intersects(pad)) if not g.is_empty]
    islands = [p for p in polys if p.intersects(box_ll)]
    step = 0.002
    box_p = _project(box_ll.segmentize(step), fwd)
    coast_p = _project(unary_union(clipped), fwd) if clipped else shapely.GeometryCollection()
    isl_p = _project(unary_union(islands), fwd) if islands else shapely.Polygon()
    if coast_p.is_empty:
        pieces, water_pieces = [box_p], []
        probe = depth_probe(np.array([0.5 * (W + E)]), np.array([0.5 * (S + N)])) if depth_probe else np.array([np.nan])
        if not (np.isfinite(probe[0]) and probe[0] > 0) and isl_p.is_empty:
            raise MeshgenError(
                f"box {bbox} crosses no coastline and no bathymetry source says it is sea: cannot tell water from land"
            )
        water = box_p if not box_p.within(isl_p) else shapely.Polygon()
    else:
        pieces = list(polygonize(unary_union([box_p.exterior, coast_p])))
        eps = 1.0
        lines_p = [g for g in getattr(coast_p, "geoms", [coast_p]) if g.length > 0]
        right = unary_union([ln.buffer(-eps, single_sided=True) for ln in lines_p])  # land side (clockwise rings)
        left = unary_union([ln.buffer(eps, single_sided=True) for ln in lines_p])
        water_pieces = []
        for pc in pieces:
            if not pc.within(box_p.buffer(1.0)):
                continue
            a_land = pc.intersection(right).area
            a_water = pc.intersection(left).area
            if a_water > a_land:
                water_pieces.append(pc)
        water = unary_union(water_pieces) if water_pieces else shapely.Polygon()
    if not isl_p.is_empty:
        water = water.difference(isl_p)
    if water.is_empty:
        raise MeshgenError(f"box {bbox} holds no water according to the GSHHG coastline")
    r = min_size / 4.0
    water = water.buffer(-r, join_style="mitre").buffer(r, join_style="mitre").intersection(box_p)
    water = water.simplify(min_size / 4.0, preserve_topology=True)
    parts = [g for g in getattr(water, "geoms", [water]) if g.geom_type == "Polygon"]
    edge = box_p.exterior.buffer(1.0)
    keep = [p for p in parts if p.area > (3 * min_size) ** 2 and p.intersects(edge)]
    dropped = len(parts) - len(keep)
    if not keep:
        raise MeshgenError(f"box {bbox}: no water body larger than {3 * min_size:.0f} m across touches the box edge")
    # drop tiny islands (holes) that the element size cannot resolve
    cleaned = []
    for p in keep:
        holes = [h for h in p.interiors if shapely.Polygon(h).area > (2 * min_size) ** 2]
        cleaned.append(shapely.Polygon(p.exterior, holes))
    return shapely.MultiPolygon(cleaned) if len(cleaned) > 1 else cleaned[0], box_p, coast_p, dropped


# -- bathymetry ------------------------------------------------------------------------------------
class GalleryBathymetry:
    """Linear interpolation of a gallery mesh's depth below MSL inside its own triangles (NaN outside)."""

    def __init__(self, region):
        import matplotlib.tri as mtri

        m = region.msl_mesh()  # depths below mean sea level, whatever the region's datum
        lon, lat = m.node_lonlat
        self.name = f"gallery:{region.name}"
        self.tri = mtri.Triangulation(np.asarray(lon), np.asarray(lat), np.asarray(m.face_node_connectivity))
        self.interp = mtri.LinearTriInterpolator(self.tri, np.asarray(m.depth))
        self.bbox = (float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat)))
        self.median_edge = float(np.median(m.edge_length))

    def __call__(self, lon, lat):
        return np.ma.filled(self.interp(lon, lat).astype(float), np.nan)


class NetCDFBathymetry:
    """A regular lon/lat grid (GEBCO, EMODnet, ETOPO style): elevation (positive up) or depth (positive down)."""

    LON = ("lon", "longitude", "x", "LON", "Longitude")
    LAT = ("lat", "latitude", "y", "LAT", "Latitude")
    ELEV = ("elevation", "z", "Band1", "topo", "altitude", "height")
    DEPTH = ("depth", "bathymetry", "DEPTH", "deptht")

    def __init__(self, path):
        import xarray as xr
        from scipy.interpolate import RegularGridInterpolator

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such bathymetry file")
        with xr.open_dataset(path) as ds:
            lon = next((n for n in self.LON if n in ds.variables), None)
            lat = next((n for n in self.LAT if n in ds.variables), None)
            if lon is None or lat is None:
                raise MeshgenError(f"{path.name}: no 1-D lon/lat coordinates (looked for {self.LON} / {self.LAT})")
            var = next((n for n in self.ELEV + self.DEPTH if n in ds.data_vars), None)
            if var is None:
                raise MeshgenError(f"{path.name}: no elevation or depth variable (looked for {self.ELEV + self.DEPTH})")
            v = ds[var]
            positive = str(v.attrs.get("positive", "")).lower()
            sign = -1.0 if (var in self.ELEV and positive != "down") or positive == "up" else 1.0
            z = sign * v.transpose(lat, lon).values.astype(float)
            x = ds[lon].values.astype(float)
            y = ds[lat].values.astype(float)
        if x[0] > x[-1]:
            x, z = x[::-1], z[:, ::-1]
        if y[0] > y[-1]:
            y, z = y[::-1], z[::-1]
        self.name = f"netcdf:{path.name}"
        self.interp = RegularGridInterpolator((y, x), z, bounds_error=False, fill_value=np.nan)
        self.bbox = (x[0], y[0], x[-1], y[-1])

    def __call__(self, lon, lat):
        return self.interp(np.column_stack([lat, lon]))


def synthetic_depth(dist_coast):
    """Fallback where no source covers a point: H = 2 m + d / 50, capped at 200 m (d in m)."""
    return np.minimum(2.0 + np.asarray(dist_coast) / 50.0, 200.0)


def bathymetry_sources(bbox, bathymetry=None):
    """Sources for the box, best first: the user's NetCDF, then gallery meshes covering the box, finest first."""
    out = []
    if bathymetry is not None:
        out.append(NetCDFBathymetry(bathymetry))
    try:
        from .gallery import list_regions

        regions = list_regions()
    except FileNotFoundError:
        regions = []
    gal = []
    for r in regions:
        if r.bbox is None:
            continue
        w, s, e, n = r.bbox
        if w < bbox[2] and e > bbox[0] and s < bbox[3] and n > bbox[1]:
            gal.append(GalleryBathymetry(r))
    out += sorted(gal, key=lambda g: g.median_edge)
    return out


def interpolate_depth(lon, lat, dist_coast, sources):
    """Depth (m, positive down) at the points and {source name: number of points it gave}."""
    depth = np.full(np.shape(lon), np.nan)
    used = {}
    for src in sources:
        todo = np.flatnonzero(np.isnan(depth))
        if todo.size == 0:
            break
        d = src(lon[todo], lat[todo])
        ok = np.isfinite(d)
        depth[todo[ok]] = d[ok]
        if ok.any():
            used[src.name] = int(ok.sum())
    todo = np.isnan(depth)
    if todo.any():
        depth[todo] = synthetic_depth(dist_coast[todo])
        used["synthetic shelf (2 m + d/50, max 200 m)"] = int(todo.sum())
    return depth, used


# -- meshing ---------------------------------------------------------------------------------------
def _drop_close_vertices(pts, min_dist):
    """Remove ring vertices closer than ``min_dist`` to the previous kept one (slivers left by clipping)."""
    keep = [0]
    for i in range(1, len(pts)):
        if np.hypot(*(pts[i] - pts[keep[-1]])) >= min_dist:
            keep.append(i)
    if len(keep) > 1 and np.hypot(*(pts[keep[-1]] - pts[0])) < min_dist:
        keep.pop()
    return pts[keep]


def _resample_ring(coords, h_of, box_p, tol, fwd=None, inv=None):
    """Resample a closed ring (k, 2) to spacing h(x, y); returns points (m, 2) and segment markers (m,).

    Pieces on the box edge are resampled in lon/lat (through ``inv``/``fwd``) so that their
    points lie on the box edge, which is straight in lon/lat but curved in the projection."""
    import shapely

    pts = _drop_close_vertices(np.asarray(coords)[:-1], tol)  # tol = min_size / 20
    on_box = shapely.distance(shapely.points(pts), box_p.exterior) < tol
    nxt = np.roll(np.arange(len(pts)), -1)
    mids = 0.5 * (pts + pts[nxt])
    mid_on = shapely.distance(shapely.points(mids), box_p.exterior) < tol
    marker = np.where(on_box & on_box[nxt] & mid_on, OPEN, LAND)
    out_p, out_m = [], []
    for i in range(len(pts)):
        a, b = pts[i], pts[nxt[i]]
        L = float(np.hypot(*(b - a)))
        h = float(np.mean(h_of(np.array([a[0], b[0]]), np.array([a[1], b[1]]))))
        n = max(1, int(round(L / h)))
        t = np.arange(n)[:, None] / n
        if marker[i] == OPEN and inv is not None:
            ll = np.array(inv.transform([a[0], b[0]], [a[1], b[1]])).T  # (2, 2) lon/lat
            q = ll[0] + t * (ll[1] - ll[0])
            out_p.append(np.column_stack(fwd.transform(q[:, 0], q[:, 1])))
        else:
            out_p.append(a + t * (b - a))
        out_m.append(np.full(n, marker[i]))
    return np.concatenate(out_p), np.concatenate(out_m)


def _pslg(water, h_of, box_p, min_size, fwd=None, inv=None):
    verts, segs, marks, holes = [], [], [], []
    n0 = 0
    for poly in getattr(water, "geoms", [water]):
        for k, ring in enumerate([poly.exterior, *poly.interiors]):
            p, m = _resample_ring(np.asarray(ring.coords), h_of, box_p, 0.05 * min_size, fwd, inv)
            n = len(p)
            idx = n0 + np.arange(n)
            verts.append(p)
            segs.append(np.column_stack([idx, np.roll(idx, -1)]))
            marks.append(m)
            n0 += n
            if k > 0:
                import shapely

                rp = shapely.Polygon(ring).representative_point()
                holes.append([rp.x, rp.y])
    d = dict(vertices=np.concatenate(verts), segments=np.concatenate(segs), segment_markers=np.concatenate(marks))
    if holes:
        d["holes"] = np.array(holes)
    return d


def default_sizes(bbox, resolution=None, min_size=None):
    """(resolution, min_size) in m: by default the box diagonal / 60 (200 m..5 km) and a fifth of it (≥ 30 m)."""
    W, S, E, N = bbox
    lat0 = math.radians(0.5 * (S + N))
    diag = math.hypot((E - W) * 111.32e3 * math.cos(lat0), (N - S) * 110.57e3)
    res = float(resolution) if resolution else float(np.clip(diag / 60.0, 200.0, 5000.0))
    mn = float(min_size) if min_size else max(30.0, res / 5.0)
    if mn > res:
        raise MeshgenError(f"min-size {mn:g} m is larger than the resolution {res:g} m")
    return res, mn


def generate_mesh(bbox, *, resolution=None, min_size=None, bathymetry=None, options: MeshgenOptions | None = None,
                  name: str | None = None) -> GeneratedMesh:
    """Triangular mesh of the water inside ``bbox = (W, S, E, N)`` (degrees), with depth and boundary segments.

    ``resolution``/``min_size``: largest/smallest element size in m (defaults: :func:`default_sizes`);
    ``bathymetry``: optional GEBCO/EMODnet-style NetCDF path. Raises :class:`MeshgenError` with
    a one-line reason for boxes outside the coastline data or without water.
    """
    import shapely
    import triangle
    from scipy.spatial import cKDTree

    opts = options or MeshgenOptions()
    W, S, E, N = (float(v) for v in bbox)
    if not (W < E and S < N):
        raise MeshgenError(f"bbox must be W S E N with W < E and S < N, got {bbox}")
    cw, cs, ce, cn = COAST_EXTENT
    if W < cw or E > ce or S < cs or N > cn:
        raise MeshgenError(
            f"bbox {W} {S} {E} {N} leaves the shipped coastline data ({cw}..{ce} E, {cs}..{cn} N: Iberia, Bay of Biscay, Channel)"
        )
    res, mn = default_sizes((W, S, E, N), resolution or opts.resolution, min_size or opts.min_size)
    timings = {}
    notes = []
    t0 = time.perf_counter()
    fwd, inv = _projection((W, S, E, N))
    sources = bathymetry_sources((W, S, E, N), bathymetry)
    timings["bathymetry_sources"] = time.perf_counter() - t0

    def probe(lon, lat):
        """Depth from the real sources only (NaN where none covers the point)."""
        d = np.full(np.shape(lon), np.nan)
        for src in sources:
            d = np.where(np.isnan(d), src(lon, lat), d)
        return d

    t = time.perf_counter()
    water, box_p, coast_p, dropped = water_polygon((W, S, E, N), fwd, mn, depth_probe=probe)
    if dropped:
        notes.append(f"{dropped} small or enclosed water bodies (not reaching the box edge) were left out")
    timings["coastline"] = time.perf_counter() - t

    t = time.perf_counter()
    coast_pts = []
    for g in getattr(water, "geoms", [water]):
        for ring in [g.exterior, *g.interiors]:
            seg = shapely.LineString(ring).segmentize(mn / 2.0)
            pts = np.asarray(seg.coords)
            far = shapely.distance(shapely.points(pts), box_p.exterior) > 0.05 * mn
            coast_pts.append(pts[far])
    coast_pts = np.concatenate(coast_pts) if coast_pts else np.zeros((0, 2))
    tree = cKDTree(coast_pts) if len(coast_pts) else None

    def dist_coast(x, y):
        if tree is None:
            return np.full(np.shape(x), 1e9)
        return tree.query(np.column_stack([x, y]))[0]

    def depth_at(x, y, dc):
        lon, lat = inv.transform(x, y)
        return interpolate_depth(np.asarray(lon), np.asarray(lat), dc, sources)

    def h_of(x, y):
        dc = dist_coast(x, y)
        dep, _ = depth_at(x, y, dc)
        h_wave = np.sqrt(G * np.maximum(dep, 1.0)) * T_M2 / opts.wavelength_ratio
        return np.clip(np.minimum(mn + opts.grading * dc, h_wave), mn, res)

    pslg = _pslg(water, h_of, box_p, mn, fwd, inv)
    timings["size_function_and_pslg"] = time.perf_counter() - t

    t = time.perf_counter()
    q = f"pq{opts.min_angle:g}"
    amax = math.sqrt(3) / 4 * res**2
    A = triangle.triangulate(pslg, f"{q}a{amax:.6g}")
    for it in range(opts.max_iterations):
        v, tri = A["vertices"], A["triangles"]
        c = v[tri].mean(axis=1)
        h = h_of(c[:, 0], c[:, 1])
        target = math.sqrt(3) / 4 * h**2
        p0, p1, p2 = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
        area = 0.5 * np.abs((p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p2[:, 0] - p0[:, 0]) * (p1[:, 1] - p0[:, 1]))
        big = area > 1.5 * target
        log.debug("meshgen iteration %d: %d triangles, %d too big", it, len(tri), big.sum())
        if not big.any():
            break
        A["triangle_max_area"] = np.where(big, target, -1.0)
        A = triangle.triangulate(A, f"r{q}a")
    timings["triangle"] = time.perf_counter() - t

    t = time.perf_counter()
    v, tri = A["vertices"], A["triangles"].astype(np.int64)
    used = np.unique(tri)
    remap = np.full(len(v), -1)
    remap[used] = np.arange(used.size)
    v = v[used]
    tri = remap[tri]
    lon, lat = inv.transform(v[:, 0], v[:, 1])
    seg_nodes = remap[A["segments"]]
    on_edge = np.unique(seg_nodes[np.ravel(A["segment_markers"]) == OPEN])
    lon, lat = _snap_to_box(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), (W, S, E, N), on_edge)
    dc = dist_coast(v[:, 0], v[:, 1])
    depth, used_src = interpolate_depth(lon, lat, dc, sources)
    timings["bathymetry"] = time.perf_counter() - t

    t = time.perf_counter()
    seg_mark = {}
    for (a, b), m in zip(remap[A["segments"]].tolist(), np.ravel(A["segment_markers"]).tolist()):
        seg_mark[(min(a, b), max(a, b))] = m
    tri = conn.orient_counterclockwise(lon, lat, tri)
    boundaries = _boundary_segments(tri, seg_mark, lon, lat)
    label = name or f"coastcast box {W:g} {S:g} {E:g} {N:g}"
    mesh = Mesh(lon, lat, tri, depth, boundaries, crs="EPSG:4326", name=label)
    timings["boundaries"] = time.perf_counter() - t
    timings["total"] = sum(timings.values())
    log.info("meshgen %s: %d nodes, %d faces in %.2f s; depth from %s", label, mesh.n_node, mesh.n_face, timings["total"], used_src)
    return GeneratedMesh(mesh, (W, S, E, N), opts, res, mn, timings, used_src, tuple(notes))


def _snap_to_box(lon, lat, bbox, nodes, tol=1e-5):
    """Put the box-edge ``nodes`` exactly on the nearest box edge (within ``tol`` degrees).

    The box edges are straight in lon/lat but Triangle splits them as straight lines in the
    projection; the new points lie up to ~3e-6° (0.3 m) off the edge."""
    W, S, E, N = bbox
    x, y = lon[nodes], lat[nodes]
    dist = np.stack([np.abs(x - W), np.abs(x - E), np.abs(y - S), np.abs(y - N)])
    nearest = np.argmin(dist, axis=0)
    close = dist.min(axis=0) < tol
    for k, (arr, value) in enumerate(((x, W), (x, E), (y, S), (y, N))):
        arr[close & (nearest == k)] = value
    lon[nodes], lat[nodes] = x, y
    np.clip(lon, W, E, out=lon)
    np.clip(lat, S, N, out=lat)
    return lon, lat


def _boundary_segments(faces, seg_mark, x, y):
    """Split the boundary loops into open (box edge) and land runs; closed all-land inner loops are islands."""
    edges, edge_face, _ = conn.edge_connectivity(faces)
    loops = conn.boundary_loops(edges, edge_face)
    extent = [np.ptp(x[lp]) + np.ptp(y[lp]) for lp in loops]
    outer = int(np.argmax(extent))
    counters = {"open": 0, "land": 0, "island": 0}
    segs = []
    for j, lp in enumerate(loops):
        nxt = np.roll(lp, -1)
        mk = np.array([seg_mark.get((min(a, b), max(a, b)), LAND) for a, b in zip(lp.tolist(), nxt.tolist())])
        if np.all(mk == mk[0]):
            role = "open" if mk[0] == OPEN else ("island" if j != outer else "land")
            counters[role] += 1
            segs.append(BoundarySegment(f"{role}_{counters[role]}", role, lp))
            continue
        start = int(np.flatnonzero(mk != np.roll(mk, 1))[0])
        lp = np.roll(lp, -start)
        mk = np.roll(mk, -start)
        cuts = np.flatnonzero(mk != np.roll(mk, 1))
        cuts = np.r_[cuts, len(lp)]
        for a, b in zip(cuts[:-1], cuts[1:]):
            role = "open" if mk[a] == OPEN else "land"
            counters[role] += 1
            ids = np.r_[lp[a:b], lp[b % len(lp)]]  # edges a..b-1 join nodes a..b
            segs.append(BoundarySegment(f"{role}_{counters[role]}", role, ids))
    order = {"open": 0, "land": 1, "island": 2}
    return sorted(segs, key=lambda s: (order[s.role], int(s.name.split("_")[-1])))


def plot_mesh(mesh: Mesh, path, title: str = "") -> Path:
    """PNG of the mesh: triangles coloured by depth, open boundaries red, land black."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    path = Path(path)
    tri = mtri.Triangulation(mesh.node_x, mesh.node_y, mesh.face_node_connectivity)
    fig, ax = plt.subplots(figsize=(8, 6.5), dpi=110)
    pc = ax.tripcolor(tri, mesh.depth, shading="gouraud", cmap="viridis_r")
    ax.triplot(tri, lw=0.15, color="k", alpha=0.5)
    for s in mesh.boundaries:
        ids = np.r_[s.node_ids, s.node_ids[:1]] if s.role == "island" else s.node_ids
        ax.plot(mesh.node_x[ids], mesh.node_y[ids], color="red" if s.role == "open" else "black", lw=1.2 if s.role == "open" else 0.8)
    ax.set_aspect(1.0 / math.cos(math.radians(float(np.mean(mesh.node_y)))))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title or mesh.name, fontsize=9)
    fig.colorbar(pc, ax=ax, label="depth (m, positive down)", shrink=0.8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
