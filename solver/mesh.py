"""The immutable triangular mesh with cached geometry.

A :class:`Mesh` holds node coordinates, depth at nodes (positive down, the gr3 convention), the
``face_node_connectivity`` and named boundary segments. Everything derived from them (edges,
neighbours, areas, normals, metric offsets, boundary-edge bookkeeping) is computed once, on first
use, and returned as read-only arrays. Pure connectivity functions live in
:mod:`solver.connectivity`, metric formulas in :mod:`solver.geometry`.

Coordinates are lon/lat degrees (``crs="EPSG:4326"``, spherical metric), projected metres with a
declared EPSG code (planar metric; lon/lat obtained through pyproj for Coriolis and output), or
plain Cartesian metres (``crs=None``, for analytic cases).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import connectivity as conn
from .geometry import MetricFactors, SphereGeometry, edge_vectors, face_areas, face_centroids, local_offsets, unit_vectors

ROLES = ("open", "land", "island")
GEOGRAPHIC_CRS = {"EPSG:4326", "OGC:CRS84", "WGS84"}


class MeshError(ValueError):
    """A mesh that cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True)
class BoundarySegment:
    """A named piece of the mesh boundary.

    ``node_ids``: (n,) 0-based node ids in order along the boundary. ``role``: ``open`` (ocean or
    river: its condition comes from the forecast configuration), ``land`` or ``island`` (closed
    loop; walls).
    """

    name: str
    role: str
    node_ids: np.ndarray = field(repr=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise MeshError(f"boundary {self.name!r}: role {self.role!r} is not one of {', '.join(ROLES)}")
        ids = np.asarray(self.node_ids, dtype=np.int64)
        ids.flags.writeable = False
        object.__setattr__(self, "node_ids", ids)

    def __eq__(self, other):
        return (
            isinstance(other, BoundarySegment)
            and self.name == other.name
            and self.role == other.role
            and np.array_equal(self.node_ids, other.node_ids)
        )


def _is_geographic(crs) -> bool:
    if crs is None:
        return False
    if str(crs).upper() in GEOGRAPHIC_CRS:
        return True
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def _readonly(a):
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class Mesh:
    """Unstructured triangular mesh (UGRID names; immutable).

    Parameters
    ----------
    node_x, node_y : (n_node,) float
        Longitude/latitude in degrees, or x/y in metres for a projected or Cartesian mesh.
    face_node_connectivity : (n_face, 3) int, 0-based
        Clockwise faces are reversed to counter-clockwise (``n_reoriented`` counts them).
    depth : (n_node,) float, optional
        Still-water depth in m, positive down (negative above the datum). Default 0.
    boundaries : sequence of BoundarySegment
        Named open, land and island segments. Boundary edges that belong to none are walls.
    crs : str or None
        ``"EPSG:4326"`` (default) for lon/lat, another EPSG code for projected metres, ``None``
        for Cartesian metres with no geographic position.
    name : str
    """

    def __init__(self, node_x, node_y, face_node_connectivity, depth=None, boundaries=(), crs="EPSG:4326", name=""):
        x = np.asarray(node_x, dtype=np.float64).ravel()
        y = np.asarray(node_y, dtype=np.float64).ravel()
        f = np.asarray(face_node_connectivity)
        if x.shape != y.shape:
            raise MeshError(f"node_x has {x.size} values but node_y has {y.size}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise MeshError(f"face_node_connectivity must have shape (n_face, 3), got {f.shape}")
        if f.shape[0] == 0:
            raise MeshError("the mesh has no faces")
        if not np.issubdtype(f.dtype, np.integer):
            raise MeshError("face_node_connectivity must hold integer node ids")
        f = f.astype(np.int64)
        bad = np.flatnonzero((f < 0).any(axis=1) | (f >= x.size).any(axis=1))
        if bad.size:
            raise MeshError(f"face {bad[0]} refers to node {f[bad[0]].tolist()} outside 0..{x.size - 1} ({bad.size} such faces)")
        nonfinite = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
        if nonfinite.size:
            raise MeshError(f"node {nonfinite[0]} has non-finite coordinates ({nonfinite.size} such nodes)")
        d = np.zeros_like(x) if depth is None else np.asarray(depth, dtype=np.float64).ravel()
        if d.shape != x.shape:
            raise MeshError(f"depth has {d.size} values for {x.size} nodes")
        badd = np.flatnonzero(~np.isfinite(d))
        if badd.size:
            raise MeshError(
                f"node {badd[0]} at ({x[badd[0]]:.6g}, {y[badd[0]]:.6g}) has depth {d[badd[0]]} ({badd.size} such nodes)"
            )
        repeated = np.flatnonzero((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2]))
        if repeated.size:
            raise MeshError(f"face {repeated[0]} repeats a node: {f[repeated[0]].tolist()}")
        if _is_geographic(crs):
            # orientation and area from the position vectors: right across the antimeridian
            p = unit_vectors(x, y)
            area2 = np.einsum("ij,ij->i", p[f[:, 0]], np.cross(p[f[:, 1]], p[f[:, 2]]))
            extent = np.deg2rad(max(np.ptp(x), np.ptp(y)))
        else:
            area2 = conn.signed_double_area(x, y, f)
            extent = max(np.ptp(x), np.ptp(y))
        flat = conn.zero_area_faces(area2, extent)
        if flat.size:
            i = flat[0]
            raise MeshError(
                f"face {i} has zero area (nodes {f[i].tolist()} at "
                f"({x[f[i]].mean():.6g}, {y[f[i]].mean():.6g})); {flat.size} such faces"
            )
        self.n_reoriented = int((area2 < 0).sum())
        if self.n_reoriented:
            f = f.copy()
            f[area2 < 0] = f[area2 < 0][:, ::-1]
        self.crs = crs
        self.name = name
        self.node_x = _readonly(x)
        self.node_y = _readonly(y)
        self.depth = _readonly(d)
        self.face_node_connectivity = _readonly(f)
        segs = tuple(boundaries)
        names = [s.name for s in segs]
        if len(set(names)) != len(names):
            raise MeshError(f"boundary names must be unique, got {names}")
        for s in segs:
            if s.node_ids.size and (s.node_ids.min() < 0 or s.node_ids.max() >= x.size):
                raise MeshError(
                    f"boundary {s.name!r} refers to node {int(s.node_ids.max()) + 1 if s.node_ids.max() >= x.size else int(s.node_ids.min()) + 1} "
                    f"(1-based) outside 1..{x.size}"
                )
        self.boundaries = segs
        self._frozen = True

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False) and key in (
            "node_x",
            "node_y",
            "depth",
            "face_node_connectivity",
            "boundaries",
            "crs",
            "name",
        ):
            raise AttributeError("Mesh is immutable: use with_depth() or with_boundaries() for a changed copy")
        object.__setattr__(self, key, value)

    def __repr__(self):
        return f"Mesh({self.name!r}, n_node={self.n_node}, n_face={self.n_face}, crs={self.crs!r}, boundaries={[b.name for b in self.boundaries]})"

    # -- copies -------------------------------------------------------------------------------
    def with_depth(self, depth) -> "Mesh":
        """A copy with another depth (n_node,)."""
        return Mesh(self.node_x, self.node_y, self.face_node_connectivity, depth, self.boundaries, self.crs, self.name)

    def with_boundaries(self, boundaries) -> "Mesh":
        """A copy with other boundary segments."""
        return Mesh(self.node_x, self.node_y, self.face_node_connectivity, self.depth, boundaries, self.crs, self.name)

    def reordered(self, face_permutation, node_permutation=None) -> "Mesh":
        """A copy with faces (and optionally nodes) renumbered, e.g. along a space-filling curve.

        New face ``j`` is old face ``face_permutation[j]``; new node ``j`` is old node
        ``node_permutation[j]`` (boundary node ids are mapped, segment order is kept). Both are
        permutations of ``range(n)``; see :func:`solver.connectivity.hilbert_order` and
        :func:`solver.connectivity.node_order_by_faces`.
        """
        fp = np.asarray(face_permutation, dtype=np.int64)
        if fp.shape != (self.n_face,) or not np.array_equal(np.sort(fp), np.arange(self.n_face)):
            raise MeshError(f"face_permutation must be a permutation of 0..{self.n_face - 1}")
        f = self.face_node_connectivity[fp]
        if node_permutation is None:
            return Mesh(self.node_x, self.node_y, f, self.depth, self.boundaries, self.crs, self.name)
        npm = np.asarray(node_permutation, dtype=np.int64)
        if npm.shape != (self.n_node,) or not np.array_equal(np.sort(npm), np.arange(self.n_node)):
            raise MeshError(f"node_permutation must be a permutation of 0..{self.n_node - 1}")
        new_id = np.empty_like(npm)
        new_id[npm] = np.arange(npm.size)
        segs = [BoundarySegment(s.name, s.role, new_id[s.node_ids]) for s in self.boundaries]
        return Mesh(self.node_x[npm], self.node_y[npm], new_id[f], self.depth[npm], segs, self.crs, self.name)

    # -- sizes --------------------------------------------------------------------------------
    @property
    def n_node(self) -> int:
        return self.node_x.size

    @property
    def n_face(self) -> int:
        return self.face_node_connectivity.shape[0]

    @property
    def n_edge(self) -> int:
        return self.edge_node_connectivity.shape[0]

    @cached_property
    def is_geographic(self) -> bool:
        """True when node coordinates are lon/lat degrees."""
        return _is_geographic(self.crs)

    @cached_property
    def is_sphere(self) -> bool:
        """True for a lon/lat mesh of global extent, whose geometry is
        :class:`~solver.geometry.SphereGeometry`: it spans more than 180° of longitude (the whole
        globe, or faces across the antimeridian) or comes within 5° of a pole. Regional meshes
        keep the local metric factors of :mod:`solver.geometry`."""
        if not self.is_geographic:
            return False
        return bool(np.ptp(self.node_x) > 180.0 or np.abs(self.node_y).max() > 85.0)

    @cached_property
    def _sphere(self):
        if not self.is_sphere:
            return None
        return SphereGeometry(
            self.node_x,
            self.node_y,
            self.face_node_connectivity,
            self.edge_node_connectivity,
            self.edge_face_connectivity,
            self.face_edge_connectivity,
            self.face_face_connectivity,
        )

    @cached_property
    def metric(self) -> MetricFactors:
        return MetricFactors(spherical=self.is_geographic)

    # -- connectivity -------------------------------------------------------------------------
    @cached_property
    def _edges(self):
        try:
            return conn.edge_connectivity(self.face_node_connectivity)
        except ValueError as exc:
            raise MeshError(str(exc)) from None

    @cached_property
    def edge_node_connectivity(self) -> np.ndarray:
        """(n_edge, 2) nodes of each edge; face 0 of the edge lies on its left."""
        return _readonly(self._edges[0])

    @cached_property
    def edge_face_connectivity(self) -> np.ndarray:
        """(n_edge, 2) faces of each edge; column 1 is -1 on the boundary."""
        return _readonly(self._edges[1])

    @cached_property
    def face_edge_connectivity(self) -> np.ndarray:
        """(n_face, 3) edge ``k`` joins local nodes ``k`` and ``k+1``."""
        return _readonly(self._edges[2])

    @cached_property
    def face_face_connectivity(self) -> np.ndarray:
        """(n_face, 3) neighbour across local edge ``k``; -1 on the boundary."""
        return _readonly(conn.face_face_connectivity(self.edge_face_connectivity, self.face_edge_connectivity))

    @cached_property
    def face_edge_sign(self) -> np.ndarray:
        """(n_face, 3) +1 where the face is edge face 0 (edge normal points out of it), else -1."""
        ef = self.edge_face_connectivity[self.face_edge_connectivity, 0]
        return _readonly(np.where(ef == np.arange(self.n_face)[:, None], 1.0, -1.0))

    # -- geometry -----------------------------------------------------------------------------
    @cached_property
    def _centroids(self):
        if self.is_sphere:
            return self._sphere.face_lon, self._sphere.face_lat
        return face_centroids(self.node_x, self.node_y, self.face_node_connectivity)

    @property
    def face_x(self) -> np.ndarray:
        """(n_face,) centroid x (longitude or metres)."""
        return _readonly(self._centroids[0])

    @property
    def face_y(self) -> np.ndarray:
        """(n_face,) centroid y (latitude or metres)."""
        return _readonly(self._centroids[1])

    @cached_property
    def locator(self):
        """The mesh's :class:`solver.locate.Locator` (built once): which face holds a point."""
        from .locate import Locator

        return Locator.for_mesh(self)

    @cached_property
    def face_area(self) -> np.ndarray:
        """(n_face,) area in m²."""
        if self.is_sphere:
            return _readonly(self._sphere.face_area)
        return _readonly(face_areas(self.node_x, self.node_y, self.face_node_connectivity, self.metric))

    @cached_property
    def _edge_vectors(self):
        if self.is_sphere:
            return self._sphere.edge_length, self._sphere.normal_left
        return edge_vectors(self.node_x, self.node_y, self.edge_node_connectivity, self.metric)

    @cached_property
    def edge_length(self) -> np.ndarray:
        """(n_edge,) length in m."""
        return _readonly(self._edge_vectors[0])

    @cached_property
    def edge_normal(self) -> np.ndarray:
        """(n_edge, 2) unit normal pointing out of edge face 0, in the frame of edge face 0."""
        return _readonly(self._edge_vectors[1])

    @cached_property
    def edge_normal_right(self) -> np.ndarray:
        """(n_edge, 2) the same normal (out of edge face 0) in the frame of edge face 1.

        The same array as :attr:`edge_normal` except on the sphere, where every face has its own
        tangent frame (:class:`~solver.geometry.SphereGeometry`)."""
        if self.is_sphere:
            return _readonly(self._sphere.normal_right)
        return self.edge_normal

    @cached_property
    def face_frame_angle(self) -> np.ndarray:
        """(n_face,) angle in rad from geographic east to the first axis of each face's frame:
        velocity components (u, v) in the frame are (cos a u − sin a v, sin a u + cos a v)
        eastward and northward. Zero except on the sphere."""
        if self.is_sphere:
            return _readonly(self._sphere.face_frame_angle)
        return _readonly(np.zeros(self.n_face))

    @cached_property
    def face_neighbour_rotation(self):
        """(n_face, 3, 2) (cos, sin) rotating a neighbour's velocity into the face's frame (see
        :meth:`~solver.geometry.SphereGeometry.neighbour_rotation`); ``None`` when all faces
        share one frame (every mesh but the sphere)."""
        if self.is_sphere:
            return _readonly(self._sphere.neighbour_rotation())
        return None

    @cached_property
    def edge_x(self):
        """(n_edge,) midpoint x."""
        if self.is_sphere:
            return _readonly(self._sphere.edge_lon)
        e = self.edge_node_connectivity
        return _readonly(0.5 * (self.node_x[e[:, 0]] + self.node_x[e[:, 1]]))

    @cached_property
    def edge_y(self):
        """(n_edge,) midpoint y."""
        if self.is_sphere:
            return _readonly(self._sphere.edge_lat)
        e = self.edge_node_connectivity
        return _readonly(0.5 * (self.node_y[e[:, 0]] + self.node_y[e[:, 1]]))

    @cached_property
    def face_edge_offset(self) -> np.ndarray:
        """(n_face, 3, 2) metric vector in m from each centroid to its edge midpoints."""
        if self.is_sphere:
            return _readonly(self._sphere.face_edge_offset())
        fe = self.face_edge_connectivity
        return _readonly(local_offsets(self.face_x[:, None], self.face_y[:, None], self.edge_x[fe], self.edge_y[fe], self.metric))

    @cached_property
    def face_edge_outward_normal(self) -> np.ndarray:
        """(n_face, 3, 2) outward unit normal of each face edge, in the face's frame."""
        fe = self.face_edge_connectivity
        left = (self.face_edge_sign > 0)[..., None]
        return _readonly(np.where(left, self.edge_normal[fe], -self.edge_normal_right[fe]))

    @cached_property
    def face_neighbour_offset(self) -> np.ndarray:
        """(n_face, 3, 2) metric vector from each centroid to the neighbour centroid across edge ``k``.

        On the boundary the neighbour is the centroid mirrored across the edge (a ghost cell).
        """
        ff = self.face_face_connectivity
        nb = np.where(ff >= 0, ff, 0)
        if self.is_sphere:
            off = self._sphere.face_neighbour_centroid_offset()
        else:
            off = local_offsets(self.face_x[:, None], self.face_y[:, None], self.face_x[nb], self.face_y[nb], self.metric)
        m = self.face_edge_offset
        n = self.face_edge_outward_normal
        mirror = 2.0 * np.sum(m * n, axis=-1, keepdims=True) * n
        return _readonly(np.where((ff >= 0)[..., None], off, mirror))

    @cached_property
    def face_cfl_length(self) -> np.ndarray:
        """(n_face,) A / (3 L_max) in m: dt ≤ cfl · this / wave speed keeps depths positive for cfl ≤ 1."""
        L = self.edge_length[self.face_edge_connectivity]
        return _readonly(self.face_area / (3.0 * L.max(axis=1)))

    @cached_property
    def face_depth(self) -> np.ndarray:
        """(n_face,) mean of the three node depths, m, positive down."""
        return _readonly(self.depth[self.face_node_connectivity].mean(axis=1))

    @cached_property
    def node_lonlat(self):
        """(lon, lat) of the nodes in degrees; ``None`` for a Cartesian mesh."""
        if self.crs is None:
            return None
        if self.is_geographic:
            return self.node_x, self.node_y
        from pyproj import Transformer

        t = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = t.transform(self.node_x, self.node_y)
        return _readonly(np.asarray(lon)), _readonly(np.asarray(lat))

    @cached_property
    def face_lonlat(self):
        """(lon, lat) of the face centroids in degrees; ``None`` for a Cartesian mesh."""
        ll = self.node_lonlat
        if ll is None:
            return None
        if self.is_sphere:
            return self.face_x, self.face_y
        f = self.face_node_connectivity
        return _readonly(ll[0][f].mean(axis=1)), _readonly(ll[1][f].mean(axis=1))

    @cached_property
    def face_gradient_operator(self) -> np.ndarray:
        """(n_face, 2, 3): gradient of a node field on each face, grad = op @ values[face_nodes]."""
        f = self.face_node_connectivity
        if self.is_sphere:
            p = self._sphere.face_node_offset()
        else:
            p = local_offsets(self.face_x[:, None], self.face_y[:, None], self.node_x[f], self.node_y[f], self.metric)
        d1 = p[:, 1] - p[:, 0]
        d2 = p[:, 2] - p[:, 0]
        det = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
        op = np.zeros((self.n_face, 2, 3))
        # [d1; d2] g = [v1 - v0; v2 - v0], M = [[d1x, d1y], [d2x, d2y]], M^-1 = [[d2y, -d1y], [-d2x, d1x]] / det
        minv = np.empty((self.n_face, 2, 2))
        minv[:, 0, 0] = d2[:, 1] / det
        minv[:, 0, 1] = -d1[:, 1] / det
        minv[:, 1, 0] = -d2[:, 0] / det
        minv[:, 1, 1] = d1[:, 0] / det
        op[:, :, 1] = minv[:, :, 0]
        op[:, :, 2] = minv[:, :, 1]
        op[:, :, 0] = -(minv[:, :, 0] + minv[:, :, 1])
        return _readonly(op)

    # -- boundaries ---------------------------------------------------------------------------
    @cached_property
    def boundary_edges(self) -> np.ndarray:
        """(n_boundary_edge,) ids of the edges with a single face."""
        return _readonly(np.flatnonzero(self.edge_face_connectivity[:, 1] < 0))

    @cached_property
    def _boundary_bookkeeping(self):
        be = self.boundary_edges
        en = self.edge_node_connectivity[be]
        key = {}
        for s_index, seg in enumerate(self.boundaries):
            ids = seg.node_ids
            closed = seg.role == "island" or (ids.size > 2 and ids[0] == ids[-1])
            nxt = np.roll(ids, -1) if closed else ids[1:]
            cur = ids if closed else ids[:-1]
            for k, (a, b) in enumerate(zip(cur.tolist(), nxt.tolist())):
                if a == b:
                    continue
                key[(min(a, b), max(a, b))] = (s_index, k, (k + 1) % ids.size)
        seg = np.full(be.size, -1, dtype=np.int64)
        pos = np.zeros((be.size, 2), dtype=np.int64)
        for j, (a, b) in enumerate(en.tolist()):
            hit = key.get((min(a, b), max(a, b)))
            if hit is not None:
                seg[j] = hit[0]
                pos[j] = hit[1], hit[2]
        return seg, pos

    @cached_property
    def boundary_edge_segment(self) -> np.ndarray:
        """(n_boundary_edge,) index into ``boundaries`` of each boundary edge; -1 = unnamed wall."""
        return _readonly(self._boundary_bookkeeping[0])

    @cached_property
    def boundary_edge_positions(self) -> np.ndarray:
        """(n_boundary_edge, 2) positions of the edge's two nodes within its segment's ``node_ids``."""
        return _readonly(self._boundary_bookkeeping[1])

    def boundary(self, name: str) -> BoundarySegment:
        """The segment called ``name``; ``KeyError`` lists the names there are."""
        for s in self.boundaries:
            if s.name == name:
                return s
        raise KeyError(
            f"no boundary {name!r} on mesh {self.name!r}; it has: {', '.join(b.name for b in self.boundaries) or 'none'}"
        )

    def boundary_edges_of(self, name: str):
        """(edge ids, node positions (n, 2)) of the boundary edges belonging to segment ``name``."""
        index = [s.name for s in self.boundaries].index(self.boundary(name).name)
        sel = self.boundary_edge_segment == index
        return self.boundary_edges[sel], self.boundary_edge_positions[sel]
