"""Mesh generation for a lon/lat box anywhere on the North Atlantic coasts (lon −100…40, lat 0…80).

Steps (each timed in :class:`GeneratedMesh`):

1. Coastline: GSHHG full-resolution level-1 land polygons shipped in
   ``workflows/data/gshhg_f_L1_north_atlantic_tiles.gz`` (LGPL-3, Wessel & Smith 1996; built by
   ``workflows/data/build_coastline.py``, provenance in ``workflows/data/SOURCE.md``), cut into
   1° tiles and read through :class:`CoastlineTiles`, which decodes only the tiles that meet the
   box. Water = box − land, so no guessing which side of a coast is sea; lakes (GSHHG level 2) are
   land; islands are holes.
2. Local projection: azimuthal equidistant about the box centre (pyproj), distances in metres.
3. Clean-up (:func:`water_polygon`): simplification, a morphological opening that closes
   channels narrower than 0.69 ``min_size`` and keeps the water off the GSHHG land, lakes and
   lagoons not connected to the box edge dropped, islands of (2 min_size)² or less dropped,
   short sides merged and sharp water corners cut so that Triangle gets no small input angles.
4. Size function (m): h = min(resolution, min_size + grading · d_coast, sqrt(g · max(H, 1)) ·
   T_M2 / wavelength_ratio), with d_coast the distance to the coast and H the depth; boundary
   rings resampled at h, then Shewchuk's Triangle (``triangle`` package) with a minimum angle
   (default 25°) and area refinement until every triangle is below 1.5 × its target area.
5. Bathymetry at the nodes from the best source that covers them, in this order: a user
   GEBCO/EMODnet-style NetCDF (``bathymetry=``), the gallery meshes (finest first; linear
   interpolation inside their own triangles, so no interpolation across land), the global tide
   model's mesh (coarse but real, anywhere in the ocean), and, where nothing covers a node, a
   documented synthetic shelf: H = 2 m + d_coast / 50 capped at 200 m (a 1:50 nearshore slope),
   recorded in ``depth_sources``.
6. Boundaries: box edges in water become open segments ``open_k``, the coast ``land_k``,
   islands ``island_k`` (Mesh in lon/lat, EPSG:4326).
7. Check: the element centroids are tested against the GSHHG land; any on land (only possible
   on the small islands left out in step 3) are counted in ``notes``.
"""

from __future__ import annotations

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

COASTLINE = Path(__file__).resolve().parent / "data" / "gshhg_f_L1_north_atlantic_tiles.gz"
COAST_EXTENT = (-100.0, 0.0, 40.0, 80.0)
"""lon W, lat S, lon E, lat N covered by :data:`COASTLINE`."""
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
WATER_TILE, LAND_TILE, COAST_TILE = 0, 1, 2


class _Tile:
    """One decoded coast tile: vertices in quantum units (n, 2), vertices per ring, rings per polygon."""

    __slots__ = ("xy", "ring_counts", "poly_rings", "bounds_q", "polygons", "lines")

    def __init__(self, xy, ring_counts, poly_rings, bounds_q):
        self.xy, self.ring_counts, self.poly_rings, self.bounds_q = xy, ring_counts, poly_rings, bounds_q
        self.polygons = self.lines = None


class CoastlineTiles:
    """The shipped GSHHG land, cut into tiles (file layout: ``workflows/data/build_coastline.py``).

    A query reads and decodes only the tiles that meet its box (the last :attr:`CACHE_TILES` decoded
    tiles are kept), so a 1° box costs milliseconds, not a parse of the whole North Atlantic.
    Coordinates are lon/lat degrees; land polygons have their exterior clockwise (land on the right).
    The instance may be shared between threads.
    """

    CACHE_TILES = 96
    FORMAT = "coastcast-coastline-tiles/1"

    def __init__(self, path=COASTLINE):
        import threading
        import zlib
        from collections import OrderedDict

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such coastline file")
        d = zlib.decompressobj(wbits=31)
        raw, used = [], 0
        try:
            with open(self.path, "rb") as fh:
                while not d.eof:
                    chunk = fh.read(1 << 16)
                    if not chunk:
                        raise MeshgenError(f"{self.path}: truncated coastline file (the header ends early)")
                    used += len(chunk)
                    raw.append(d.decompress(chunk))
            header = json.loads(b"".join(raw))
        except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MeshgenError(f"{self.path}: not a coastline tile file ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != self.FORMAT:
            raise MeshgenError(
                f"{self.path}: not a coastline tile file (format {header.get('format') if isinstance(header, dict) else None!r}, "
                f"expected {self.FORMAT!r})"
            )
        try:
            self.extent = tuple(float(v) for v in header["extent"])
            self.tile = float(header["tile_deg"])
            self.q = int(round(1.0 / float(header["quantum_deg"])))
            self.resolution = str(header["resolution"])
            self.tile_class = np.array([[int(c) for c in row] for row in header["tile_class"]], dtype=np.int8)
            self._index = {(int(r[0]), int(r[1])): tuple(int(v) for v in r[2:]) for r in header["tiles"]}
            ov = header["overview"]
            self._ov_index = (int(ov["offset"]), int(ov["nbytes"]), int(ov["n_line"]), int(ov["n_vertex"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MeshgenError(f"{self.path}: coastline tile header lacks or garbles {exc}") from None
        self.header = {k: v for k, v in header.items() if k not in ("tile_class", "tiles")}
        self._data_start = used - len(d.unused_data)
        self.ny, self.nx = self.tile_class.shape
        self._x0q, self._y0q = round(self.extent[0] * self.q), round(self.extent[1] * self.q)
        self._tq = round(self.tile * self.q)
        self._cache = OrderedDict()
        self._overview = None
        self._lock = threading.RLock()

    def _member(self, fh, offset, nbytes, n_values):
        """int32 values of one gzip member (byte-shuffled on disk)."""
        import zlib

        fh.seek(self._data_start + offset)
        raw = zlib.decompress(fh.read(nbytes), wbits=31)
        if len(raw) != 4 * n_values:
            raise MeshgenError(
                f"{self.path}: member at byte {self._data_start + offset} holds {len(raw)} bytes, expected {4 * n_values}"
            )
        return np.frombuffer(raw, np.uint8).reshape(4, n_values).T.copy().view("<i4").ravel().astype(np.int64)

    # -- tiles --------------------------------------------------------------------------------------
    def covers(self, bbox) -> bool:
        W, S, E, N = bbox
        cw, cs, ce, cn = self.extent
        return W >= cw and E <= ce and S >= cs and N <= cn

    def _clip(self, bbox):
        cw, cs, ce, cn = self.extent
        W, S, E, N = (float(v) for v in bbox)
        return max(W, cw), max(S, cs), min(E, ce), min(N, cn)

    def _tile_range(self, bbox):
        """(j0, j1, i0, i1): rows and columns of the tiles whose interior meets ``bbox`` (already clipped)."""
        W, S, E, N = bbox
        cw, cs = self.extent[:2]
        i0, i1 = math.floor((W - cw) / self.tile), math.ceil((E - cw) / self.tile)
        j0, j1 = math.floor((S - cs) / self.tile), math.ceil((N - cs) / self.tile)
        return max(j0, 0), min(max(j1, j0 + 1), self.ny), max(i0, 0), min(max(i1, i0 + 1), self.nx)

    def tile_bounds(self, j, i):
        cw, cs = self.extent[:2]
        return cw + i * self.tile, cs + j * self.tile, cw + (i + 1) * self.tile, cs + (j + 1) * self.tile

    def _tiles(self, keys):
        """Decoded coast tiles for ``keys`` [(j, i), ...] (reads only those not in the cache)."""
        with self._lock:
            missing = sorted(k for k in set(keys) if k not in self._cache)
            if missing:
                with open(self.path, "rb") as fh:
                    for j, i in missing:
                        off, nbytes, npoly, nring, nvert = self._index[(j, i)]
                        v = self._member(fh, off, nbytes, npoly + nring + 2 * nvert)
                        polys, rings = v[:npoly], v[npoly : npoly + nring]
                        dx, dy = v[npoly + nring : npoly + nring + nvert], v[npoly + nring + nvert :]
                        x0, y0 = self._x0q + i * self._tq, self._y0q + j * self._tq
                        xy = np.column_stack([x0 + np.cumsum(dx), y0 + np.cumsum(dy)])
                        self._cache[(j, i)] = _Tile(xy, rings, polys, (x0, y0, x0 + self._tq, y0 + self._tq))
            out = []
            for key in keys:
                self._cache.move_to_end(key)
                out.append(self._cache[key])
            while len(self._cache) > self.CACHE_TILES:
                self._cache.popitem(last=False)
        return out

    def _polygons(self, t: _Tile):
        import shapely

        if t.polygons is None:
            idx = _closed_ring_index(t.ring_counts)
            coords = t.xy[idx] / self.q
            ring_off = np.r_[0, np.cumsum(t.ring_counts + 1)]
            poly_off = np.r_[0, np.cumsum(t.poly_rings)]
            t.polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_off, poly_off))
        return t.polygons

    def _lines(self, t: _Tile):
        """The tile's real coastline: its rings without the edges that run along the tile's sides."""
        if t.lines is None:
            x0, y0, x1, y1 = t.bounds_q
            idx = _closed_ring_index(t.ring_counts)
            a, b = t.xy[idx[:-1]], t.xy[idx[1:]]
            side = ((a[:, 0] == b[:, 0]) & ((a[:, 0] == x0) | (a[:, 0] == x1))) | (
                (a[:, 1] == b[:, 1]) & ((a[:, 1] == y0) | (a[:, 1] == y1))
            )
            t.lines = _runs(t.xy, t.ring_counts, side[_edge_index(t.ring_counts)], self.q)
        return t.lines

    def land(self, bbox):
        """Land inside ``bbox = (W, S, E, N)`` (clipped to the data extent) as one shapely geometry, lon/lat."""
        import shapely

        W, S, E, N = box = self._clip(bbox)
        if not (W < E and S < N):
            return shapely.Polygon()
        j0, j1, i0, i1 = self._tile_range(box)
        cls = self.tile_class[j0:j1, i0:i1]
        pieces = []
        coast = [(j, i) for j in range(j0, j1) for i in range(i0, i1) if cls[j - j0, i - i0] == COAST_TILE]
        for j, i in zip(*np.nonzero(cls == LAND_TILE)):
            tw, ts, te, tn = self.tile_bounds(j + j0, i + i0)
            pieces.append(shapely.box(max(tw, W), max(ts, S), min(te, E), min(tn, N)))
        clip = shapely.box(W, S, E, N)
        for (j, i), t in zip(coast, self._tiles(coast)):
            polys = self._polygons(t)
            tw, ts, te, tn = self.tile_bounds(j, i)
            if tw < W or ts < S or te > E or tn > N:
                polys = _polygon_parts(shapely.intersection(polys, clip))
            pieces.extend(polys)
        if not pieces:
            return shapely.Polygon()
        # only pieces that reach a tile side can join others: islands inside a tile pass through as they are
        pieces = np.asarray(pieces, dtype=object)
        b = shapely.bounds(pieces)
        t = self.tile
        lo, hi = np.floor(b[:, :2] / t) * t, np.ceil(b[:, 2:] / t) * t
        loose = (b[:, :2] > lo).all(axis=1) & (b[:, 2:] < hi).all(axis=1) & (hi - lo <= t).all(axis=1)
        loose &= (b[:, 0] > W) & (b[:, 1] > S) & (b[:, 2] < E) & (b[:, 3] < N)
        joined = _polygon_parts([_union_tiles(pieces[~loose])]) if (~loose).any() else []
        return shapely.MultiPolygon(list(pieces[loose]) + list(joined))

    def coast_lines(self, bbox):
        """The real coastline inside ``bbox`` (clipped to the data extent): a list of shapely LineStrings, lon/lat."""
        import shapely

        W, S, E, N = box = self._clip(bbox)
        if not (W < E and S < N):
            return []
        j0, j1, i0, i1 = self._tile_range(box)
        cls = self.tile_class[j0:j1, i0:i1]
        coast = [(j, i) for j in range(j0, j1) for i in range(i0, i1) if cls[j - j0, i - i0] == COAST_TILE]
        out = []
        for (j, i), t in zip(coast, self._tiles(coast)):
            lines = self._lines(t)
            tw, ts, te, tn = self.tile_bounds(j, i)
            if len(lines) and (tw < W or ts < S or te > E or tn > N):
                lines = _line_parts(shapely.clip_by_rect(lines, W, S, E, N))
            out.extend(lines)
        return out

    def overview_lines(self, bbox):
        """The coastline simplified for maps of large areas (the file's overview layer), clipped to ``bbox``."""
        import shapely

        with self._lock:
            if self._overview is None:
                off, nbytes, nline, nvert = self._ov_index
                with open(self.path, "rb") as fh:
                    v = self._member(fh, off, nbytes, nline + 2 * nvert)
                counts = v[:nline]
                xy = np.column_stack([np.cumsum(v[nline : nline + nvert]), np.cumsum(v[nline + nvert :])]) / self.q
                lines = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, xy, (np.r_[0, np.cumsum(counts)],))
                self._overview = (lines, shapely.bounds(lines))
        lines, b = self._overview
        W, S, E, N = self._clip(bbox)
        sel = (b[:, 0] <= E) & (b[:, 2] >= W) & (b[:, 1] <= N) & (b[:, 3] >= S)
        inside = sel & (b[:, 0] >= W) & (b[:, 2] <= E) & (b[:, 1] >= S) & (b[:, 3] <= N)
        cut = sel & ~inside
        return list(lines[inside]) + list(_line_parts(shapely.clip_by_rect(lines[cut], W, S, E, N)))

    def is_land(self, lon, lat):
        """Boolean array: the points (lon/lat °) lie on GSHHG land (lakes count as land)."""
        import shapely

        lon, lat = np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float))
        cw, cs, ce, cn = self.extent
        bad = ~((lon >= cw) & (lon <= ce) & (lat >= cs) & (lat <= cn))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise MeshgenError(
                f"point (lon {lon[k]:g}, lat {lat[k]:g}) lies outside the shipped coastline data "
                f"({cw:g}..{ce:g} E, {cs:g}..{cn:g} N)"
            )
        i = np.minimum(((lon - cw) // self.tile).astype(int), self.nx - 1)
        j = np.minimum(((lat - cs) // self.tile).astype(int), self.ny - 1)
        cls = self.tile_class[j, i]
        out = cls == LAND_TILE
        key = j * self.nx + i
        for k in np.unique(key[cls == COAST_TILE]):
            sel = key == k
            (t,) = self._tiles([divmod(int(k), self.nx)])
            out[sel] = shapely.contains_xy(shapely.multipolygons(self._polygons(t)), lon[sel], lat[sel])
        return out


def _union_tiles(pieces):
    """Union of land pieces that meet along tile sides: the fast coverage union (the pieces share their
    side vertices exactly), or the general union where that result is not valid."""
    import shapely

    try:
        u = shapely.coverage_union_all(pieces)
        if u.is_valid:
            return u
    except shapely.errors.GEOSException:
        pass
    log.debug("coverage union of %d land pieces not valid: general union", len(pieces))
    return shapely.union_all(pieces)


def _closed_ring_index(counts):
    """Vertex index of each ring's coordinates with the first vertex repeated at the end."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    n1 = counts + 1
    local = np.arange(int(n1.sum())) - np.repeat(np.r_[0, np.cumsum(n1)[:-1]], n1)
    return np.repeat(starts, n1) + np.where(local == np.repeat(counts, n1), 0, local)


def _edge_index(counts):
    """Positions, in the closed-ring edge list (one edge per closed-index pair), of each ring's edges."""
    counts = np.asarray(counts, dtype=np.int64)
    n1 = counts + 1
    closed_start = np.r_[0, np.cumsum(n1)[:-1]]
    local = np.arange(int(counts.sum())) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    return np.repeat(closed_start, counts) + local


def _runs(xy, counts, skip, q):
    """LineStrings (lon/lat) of the edges of each ring not flagged in ``skip`` (one flag per edge, edge k of a
    ring joins its vertices k and k + 1); a ring with no flagged edge stays closed."""
    import shapely

    counts = np.asarray(counts, dtype=np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    ring_of_edge = np.repeat(np.arange(len(counts)), counts)
    flagged = np.bincount(ring_of_edge[skip], minlength=len(counts)) if len(counts) else np.zeros(0, int)
    whole = np.flatnonzero(flagged == 0)
    out = []
    if len(whole):
        idx = _closed_ring_index(counts[whole]) + np.repeat(
            starts[whole] - np.r_[0, np.cumsum(counts[whole])[:-1]], counts[whole] + 1
        )
        out.extend(
            shapely.from_ragged_array(shapely.GeometryType.LINESTRING, xy[idx] / q, (np.r_[0, np.cumsum(counts[whole] + 1)],))
        )
    for r in np.flatnonzero((flagged > 0) & (flagged < counts)):
        n, s = int(counts[r]), int(starts[r])
        sk = skip[s : s + n]
        first = int(np.flatnonzero(sk)[0])
        order = (first + 1 + np.arange(n)) % n  # edges from just after a flagged one, round the ring
        d = np.diff(np.r_[0, (~sk[order]).astype(np.int8), 0])
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            edges = order[a:b]
            out.append(shapely.LineString(xy[s + np.r_[edges, (edges[-1] + 1) % n]] / q))
    return out


def _polygon_parts(geoms):
    import shapely

    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        parts = shapely.get_parts(parts)
    return parts[shapely.get_type_id(parts) == 3] if len(parts) else parts


def _line_parts(geoms):
    import shapely

    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        parts = shapely.get_parts(parts)
    return parts[(shapely.get_type_id(parts) == 1) & (shapely.get_num_coordinates(parts) >= 2)] if len(parts) else parts


_STORES = {}


def coastline_tiles(path=COASTLINE) -> CoastlineTiles:
    """The :class:`CoastlineTiles` of ``path``, opened once per process."""
    key = str(Path(path).resolve())
    if key not in _STORES:
        _STORES[key] = CoastlineTiles(path)
    return _STORES[key]


def load_coastline(path=COASTLINE, bbox=None):
    """(lines, polygons) in lon/lat inside ``bbox`` (default: the whole shipped extent, slow: use a box).

    ``lines``: shapely LineStrings, the coast of land that reaches the box edge, cut there, with the
    land on their right; ``polygons``: the islands wholly inside the box (exterior clockwise).
    Lakes (GSHHG level 2) are land. Reads only the tiles that meet the box."""
    import shapely
    from shapely.geometry.polygon import orient

    store = coastline_tiles(path)
    box = store._clip(bbox if bbox is not None else store.extent)
    W, S, E, N = box
    land = store.land(box)
    parts = np.asarray([orient(p, sign=-1.0) for p in _polygon_parts([land])], dtype=object)  # exteriors clockwise
    b = shapely.bounds(parts) if len(parts) else np.zeros((0, 4))
    eps = 1e-9
    edge = (b[:, 0] <= W + eps) | (b[:, 2] >= E - eps) | (b[:, 1] <= S + eps) | (b[:, 3] >= N - eps)
    polys = list(parts[~edge])
    lines = []
    for p in parts[edge]:
        rings = [p.exterior, *p.interiors]
        xy = np.concatenate([np.asarray(r.coords)[:-1] for r in rings])
        counts = np.array([len(r.coords) - 1 for r in rings])
        idx = _closed_ring_index(counts)
        a, c = xy[idx[:-1]], xy[idx[1:]]
        side = np.zeros(len(a), bool)
        for k, v in ((0, W), (0, E), (1, S), (1, N)):
            side |= (np.abs(a[:, k] - v) < eps) & (np.abs(c[:, k] - v) < eps)
        lines.extend(_runs(xy, counts, side[_edge_index(counts)], 1.0))
    return lines, polys


def _coast():
    return coastline_tiles(COASTLINE)


SHARP_DEG = 30.0
"""Water corners sharper than this (where a coast meets the box edge or another coast at a narrow
angle) are cut off: Triangle cannot make triangles better than the angles it is given."""


def _merge_short_edges(pts, fixed, min_len, margin):
    """Drop ring vertices (k, 2; water on the left, ring not closed) that end a side shorter than
    ``min_len``, where that gives up water or moves the boundary by at most ``margin`` onto land.
    ``fixed`` (k,) or (k, m) marks vertices that stay (any column true)."""
    n = len(pts)
    stay = np.asarray(fixed, bool).reshape(n, -1).any(axis=1)
    prv, nxt = (np.arange(n) - 1) % n, (np.arange(n) + 1) % n
    alive = np.ones(n, bool)
    live = n

    def dev(c):  # > 0: c lies left of prev -> next (on the water side); dropping c would add water
        p, q = pts[prv[c]], pts[nxt[c]]
        d = q - p
        L = math.hypot(d[0], d[1])
        return (d[0] * (pts[c][1] - p[1]) - d[1] * (pts[c][0] - p[0])) / L if L > 0 else 0.0

    for _ in range(3):
        changed = False
        a = int(np.flatnonzero(alive)[0]) if live else 0
        for _step in range(live):
            if live < 5:
                break
            b = nxt[a]
            if math.hypot(*(pts[b] - pts[a])) < min_len:
                for c in (b, a):
                    if not stay[c] and dev(c) <= margin:
                        alive[c] = False
                        live -= 1
                        nxt[prv[c]], prv[nxt[c]] = nxt[c], prv[c]
                        changed = True
                        if c == a:
                            a = prv[a]
                        break
                else:
                    a = b
                continue
            a = b
        if not changed:
            break
    return pts[alive], fixed[alive]


def _walk(pts, k, dist, step):
    """Point at arc length ``dist`` from vertex k along the closed ring (step +1 forward, -1 back)
    and the number of whole sides passed; None where the walk goes half round the ring."""
    n = len(pts)
    done, j = 0.0, k
    for passed in range(n // 2):
        nj = (j + step) % n
        seg = float(np.hypot(*(pts[nj] - pts[j])))
        if done + seg >= dist:
            f = (dist - done) / seg if seg > 0 else 0.0
            return pts[j] + f * (pts[nj] - pts[j]), passed
        done += seg
        j = nj
    return None


def _cut_sharp_corners(pts, fixed, min_len, max_cut, hole=False, sharp_deg=SHARP_DEG):
    """Ring (k, 2; water on the left, not closed) with its corners sharper than ``sharp_deg`` cut:
    the corner and the sides up to arc length D from it (D such that the cut is about ``min_len``
    long, at most ``max_cut``) are replaced by one straight cut, kept only where the water it gives
    up lies inside the ring, or outside it for a ``hole`` (only water is ever given up). Returns
    (pts, fixed, changed)."""
    import shapely

    changed = False
    for _ in range(len(pts)):
        n = len(pts)
        if n < 5:
            break
        prv, nxt = np.roll(pts, 1, axis=0) - pts, np.roll(pts, -1, axis=0) - pts
        ang = np.degrees(np.arctan2(nxt[:, 0] * prv[:, 1] - nxt[:, 1] * prv[:, 0], np.sum(nxt * prv, axis=1))) % 360.0
        order = [k for k in np.argsort(ang) if ang[k] < sharp_deg and not fixed[k]]
        done = False
        for k in order:
            dist = min(max_cut, min_len / (2.0 * max(math.sin(math.radians(ang[k]) / 2.0), 1e-3)))
            while dist > 1e-3 * min_len:
                back, fwd = _walk(pts, k, dist, -1), _walk(pts, k, dist, +1)
                if back is None or fwd is None or back[1] + fwd[1] + 3 > n:
                    dist /= 2.0
                    continue
                removed = [(k - i) % n for i in range(back[1] + 1)] + [(k + i) % n for i in range(1, fwd[1] + 1)]
                if fixed[removed].any():
                    dist /= 2.0
                    continue
                wedge = np.vstack(
                    [
                        back[0],
                        pts[[(k - i) % n for i in range(back[1], -1, -1)]],
                        pts[[(k + i) % n for i in range(1, fwd[1] + 1)]],
                        fwd[0],
                    ]
                )
                w = shapely.Polygon(wedge)
                ring = shapely.Polygon(pts)
                water_side = (not ring.buffer(-1e-6 * min_len).intersects(w)) if hole else ring.buffer(1e-6 * min_len).contains(w)
                if w.is_valid and w.area > 0 and water_side:
                    keep = np.ones(n, bool)
                    keep[removed] = False
                    # insert the two cut points where the corner was, in ring order
                    first = (k - back[1]) % n
                    new_pts, new_fixed = [], []
                    for i in range(n):
                        if i == first:
                            new_pts += [back[0], fwd[0]]
                            new_fixed += [False, False]
                        if keep[i]:
                            new_pts.append(pts[i])
                            new_fixed.append(fixed[i])
                    pts, fixed = np.asarray(new_pts), np.asarray(new_fixed)
                    changed = done = True
                    break
                dist /= 2.0
            if done:
                break
        if not done:
            break
    return pts, fixed, changed


def _clean_ring(ring, corners, min_size, margin, hole=False):
    """A water ring ready for Triangle: sides shorter than min_size / 4 merged (see
    :func:`_merge_short_edges`; the box corners (4, 2) stay) and corners sharper than
    :data:`SHARP_DEG` cut, in turns."""
    pts = np.asarray(ring.coords)[:-1]
    tol = 1e-3 * min_size
    for _ in range(4):
        corner = np.min(np.hypot(pts[:, None, 0] - corners[None, :, 0], pts[:, None, 1] - corners[None, :, 1]), axis=1) < tol
        pts, corner = _merge_short_edges(pts, corner, min_size / 4.0, margin)
        pts, _, cut = _cut_sharp_corners(pts, corner, min_size / 4.0, 2.0 * min_size, hole)
        if not cut:
            break
    return np.vstack([pts, pts[:1]])


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
    """(water, box, coast, dropped): the water inside ``bbox`` in projected metres (shapely
    (Multi)Polygon), the projected box, the coastline in the box (projected lines) and the number
    of water bodies left out.

    Water is the box less the GSHHG land (lakes are land), worked on the box padded by
    2 × ``min_size`` so that the clean-up does not take the box edge for a coast (outside the data
    extent counts as water); in metres, with r = min_size / 4 and t = min_size / 16:

    * simplification to t (Douglas–Peucker: the coast moves by at most t);
    * erosion by r + 1.5 t (mitre joins) then dilation by r (round joins): channels narrower than
      2 r + 3 t = 0.69 min_size close, those left are at least min_size / 2 wide, and the water
      keeps at least 1.5 t from the simplified coast, so at least 0.5 t from the GSHHG coast;
    * cut to the box; water bodies that do not reach the box edge or are smaller than
      (3 min_size)² are left out; islands (holes) of (2 min_size)² or less are left out (their
      area becomes water: the only land the mesh covers);
    * each ring: sides shorter than min_size / 4 merged where that gives up water or moves the
      coast by at most 0.45 t, corners sharper than :data:`SHARP_DEG` cut (water given up).

    So the water never reaches onto GSHHG land (but for the small islands left out): its coast
    lies 0.05 t … 2.5 t (0.003 … 0.16 min_size) off the GSHHG coast, on the water side, where
    no channel was closed.

    ``depth_probe`` is accepted for callers of the earlier side-of-the-coast classifier and is not
    needed any more: land and water come from the land polygons themselves."""
    import shapely
    from shapely.geometry.polygon import orient

    W, S, E, N = bbox
    store = _coast()
    pad = 2.0 * min_size
    dlat = pad / 110.5e3
    dlon = pad / (111.3e3 * max(math.cos(math.radians(min(max(abs(S), abs(N)) + dlat, 85.0))), 0.05))
    pbox = (W - dlon, S - dlat, E + dlon, N + dlat)
    step = 0.002
    box_ll = shapely.box(W, S, E, N)
    box_p = _project(box_ll.segmentize(step), fwd)
    pbox_p = _project(shapely.box(*pbox).segmentize(step), fwd)
    land_ll = store.land(pbox)
    # segmentized before projecting, as the box is: a long straight clip or tile edge would be projected as a
    # chord up to ~100 m off the parallel and could cross the coast beside it (an invalid land polygon)
    land_p = _project(land_ll.segmentize(step), fwd) if not land_ll.is_empty else shapely.Polygon()
    water = pbox_p.difference(land_p) if not land_p.is_empty else pbox_p
    if water.intersection(box_p).area < 1.0:
        raise MeshgenError(f"box {bbox} holds no water according to the GSHHG coastline")
    r, t = min_size / 4.0, min_size / 16.0
    water = water.simplify(t, preserve_topology=True)
    water = water.buffer(-(r + 1.5 * t), join_style="mitre").buffer(r, join_style="round", quad_segs=4).intersection(box_p)
    parts = [g for g in getattr(water, "geoms", [water]) if g.geom_type == "Polygon"]
    edge = box_p.exterior.buffer(1.0)
    keep = [p for p in parts if p.area > (3 * min_size) ** 2 and p.intersects(edge)]
    dropped = len(parts) - len(keep)
    if not keep:
        raise MeshgenError(f"box {bbox}: no water body larger than {3 * min_size:.0f} m across touches the box edge")
    # drop tiny islands (holes) that the element size cannot resolve; merge short sides, cut sharp tips
    corners = np.column_stack(fwd.transform([W, E, E, W], [S, S, N, N]))
    cleaned = []
    for p in keep:
        holes = [h for h in p.interiors if shapely.Polygon(h).area > (2 * min_size) ** 2]
        p = orient(shapely.Polygon(p.exterior, holes), sign=1.0)  # exterior counter-clockwise: water on the left
        q = shapely.Polygon(
            _clean_ring(p.exterior, corners, min_size, 0.45 * t),
            [_clean_ring(h, corners, min_size, 0.45 * t, hole=True) for h in p.interiors],
        )
        if not q.is_valid:
            log.debug("meshgen: cleaning a water ring made it invalid; kept the uncleaned ring")
        cleaned.append(q if q.is_valid else p)
    lines = store.coast_lines(bbox)
    coast_p = _project(shapely.MultiLineString(lines), fwd) if lines else shapely.MultiLineString()
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


class GlobalMeshBathymetry:
    """Linear interpolation of the global tide model's mesh depth below MSL (the OceanMesh2D
    global mesh of the ADCIRC test suite, 30–600 km edges: coarse but real) inside its own
    triangles, NaN outside (faces across the antimeridian left out)."""

    def __init__(self):
        import matplotlib.tri as mtri

        from solver.formats.gr3 import read_gr3

        from .global_tides import GLOBAL_MESH_DIR

        m = read_gr3(GLOBAL_MESH_DIR / "fort.14.gz").mesh
        lon, lat = np.asarray(m.node_x), np.asarray(m.node_y)
        f = np.asarray(m.face_node_connectivity)
        f = f[np.ptp(lon[f], axis=1) < 180.0]
        self.name = "global:OceanMesh2D (coarse)"
        self.interp = mtri.LinearTriInterpolator(mtri.Triangulation(lon, lat, f), np.asarray(m.depth))

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


SYNTHETIC = "synthetic shelf (2 m + d/50, max 200 m)"
"""The depth source name of the fallback."""
UNFIT_SYNTHETIC_SHARE = 0.5
"""A mesh with more than this share of synthetic depths makes forecasts that are not fit for use."""


def depth_sources_path(mesh_path) -> Path:
    """The JSON record of a generated mesh's depth sources, beside the mesh file."""
    p = Path(mesh_path)
    stem = p.name.split(".")[0]
    return p.with_name(f"{stem}.depth_sources.json")


def write_depth_sources(mesh_path, sources: dict) -> Path:
    """Record ``sources`` (name -> node count) beside the mesh at ``mesh_path``."""
    path = depth_sources_path(mesh_path)
    path.write_text(json.dumps(sources, indent=1), encoding="utf-8")
    return path


def read_depth_sources(mesh_path) -> dict | None:
    """The depth sources recorded beside a generated mesh, or None (a gallery or uploaded mesh)."""
    path = depth_sources_path(mesh_path)
    if not path.is_file():
        return None
    try:
        return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (ValueError, AttributeError):
        log.warning("%s: unreadable depth-source record", path)
        return None


def synthetic_warning(sources: dict | None) -> str | None:
    """One line when more than half the nodes have synthetic depths, else None."""
    if not sources:
        return None
    total = sum(sources.values())
    share = sources.get(SYNTHETIC, 0) / total if total else 0.0
    if share <= UNFIT_SYNTHETIC_SHARE:
        return None
    return (
        f"{100 * share:.0f} % of the mesh's depths are the synthetic shelf (no real bathymetry covers them): "
        "its forecasts are NOT FIT FOR USE; give a bathymetry file (GEBCO, EMODnet)"
    )


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
    out.append(GlobalMeshBathymetry())
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
        used[SYNTHETIC] = int(todo.sum())
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
    # box-edge points come from the box itself (to rounding; a chord over several of its 0.002°
    # pieces bows by well under a metre): a coast point a few metres inside is no open boundary
    box_tol = 0.04 * tol + 0.05
    on_box = shapely.distance(shapely.points(pts), box_p.exterior) < box_tol
    nxt = np.roll(np.arange(len(pts)), -1)
    mids = 0.5 * (pts + pts[nxt])
    mid_on = shapely.distance(shapely.points(mids), box_p.exterior) < box_tol
    marker = np.where(on_box & on_box[nxt] & mid_on, OPEN, LAND)
    out_p, out_m = [], []
    h_vertex = h_of(pts[:, 0], pts[:, 1])  # one call for the ring: h of a side is the mean of its ends
    for i in range(len(pts)):
        a, b = pts[i], pts[nxt[i]]
        L = float(np.hypot(*(b - a)))
        h = 0.5 * float(h_vertex[i] + h_vertex[nxt[i]])
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


def generate_mesh(
    bbox, *, resolution=None, min_size=None, bathymetry=None, options: MeshgenOptions | None = None, name: str | None = None
) -> GeneratedMesh:
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
            f"bbox {W:g} {S:g} {E:g} {N:g} leaves the shipped coastline data (lon {cw:g}..{ce:g}, lat {cs:g}..{cn:g}: the North Atlantic)"
        )
    res, mn = default_sizes((W, S, E, N), resolution or opts.resolution, min_size or opts.min_size)
    timings = {}
    notes = []
    t0 = time.perf_counter()
    fwd, inv = _projection((W, S, E, N))
    sources = bathymetry_sources((W, S, E, N), bathymetry)
    timings["bathymetry_sources"] = time.perf_counter() - t0

    t = time.perf_counter()
    water, box_p, coast_p, dropped = water_polygon((W, S, E, N), fwd, mn)
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
    A = triangle.triangulate(pslg, f"{q}a{amax:.3f}")  # fixed point: Triangle's switch parser stops at an exponent
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

    t = time.perf_counter()
    wet = ~_coast().is_land(lon[tri].mean(axis=1), lat[tri].mean(axis=1))
    if not wet.all():
        notes.append(f"{int((~wet).sum())} element centroids lie on GSHHG land (islands of (2 min_size)² or less, left out)")
    timings["land_check"] = time.perf_counter() - t
    timings["total"] = sum(timings.values())
    log.info(
        "meshgen %s: %d nodes, %d faces in %.2f s; depth from %s", label, mesh.n_node, mesh.n_face, timings["total"], used_src
    )
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
        ax.plot(
            mesh.node_x[ids], mesh.node_y[ids], color="red" if s.role == "open" else "black", lw=1.2 if s.role == "open" else 0.8
        )
    ax.set_aspect(1.0 / math.cos(math.radians(float(np.mean(mesh.node_y)))))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title or mesh.name, fontsize=9)
    fig.colorbar(pc, ax=ax, label="depth (m, positive down)", shrink=0.8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
