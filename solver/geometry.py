"""Metric geometry of triangular meshes on the plane or on the sphere.

On a lon/lat mesh every quantity is measured in metres with local spherical metric factors, as
SCHISM and ADCIRC do with their CPP projection but evaluated locally rather than about one
reference latitude:

* an edge from (λ0, φ0) to (λ1, φ1) has tangent t = (R cos φm Δλ, R Δφ), with φm the latitude of
  its midpoint; its length is |t| and its unit normal is n = (t_y, -t_x) / |t| (outward for the
  face on its left). The same numbers are used by both faces, so fluxes stay conservative;
* a face's area is R² cos φc times its area in (λ, φ) radians (φc: centroid latitude);
* offsets from a face centroid (to its edge midpoints or neighbour centroids) use the face's own
  factor cos φc.

Velocities are eastward and northward components in each face's local frame; the rotation of
that frame between neighbours (meridian convergence, about 0.05° per 5 km at 50° N) is neglected,
like the curvature terms u²tanφ/R of the spherical equations. On a projected mesh (metres) R = 1
and cos φ = 1.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS = 6371008.8
"""Mean Earth radius in metres (IUGG)."""


class MetricFactors:
    """Maps coordinate differences to metres: dx = sx(φ) Δx, dy = sy Δy.

    ``spherical`` meshes have x = longitude and y = latitude in degrees.
    """

    def __init__(self, spherical: bool, radius: float = EARTH_RADIUS):
        self.spherical = spherical
        self.radius = radius

    def scale(self, lat_deg):
        """(sx, sy) in metres per coordinate unit at latitude ``lat_deg``; arrays broadcast."""
        if not self.spherical:
            one = np.ones_like(np.asarray(lat_deg, dtype=float))
            return one, one
        k = np.deg2rad(1.0) * self.radius
        return k * np.cos(np.deg2rad(lat_deg)), k * np.ones_like(np.asarray(lat_deg, dtype=float))


def face_centroids(x, y, face_node_connectivity):
    """Mean of the three node coordinates, shape (n_face,) each."""
    f = face_node_connectivity
    return x[f].mean(axis=1), y[f].mean(axis=1)


def face_areas(x, y, face_node_connectivity, metric: MetricFactors):
    """Face areas in m², shape (n_face,); negative for clockwise faces."""
    f = face_node_connectivity
    _, yc = face_centroids(x, y, f)
    sx, sy = metric.scale(yc)
    x0, x1, x2 = x[f[:, 0]], x[f[:, 1]], x[f[:, 2]]
    y0, y1, y2 = y[f[:, 0]], y[f[:, 1]], y[f[:, 2]]
    return 0.5 * sx * sy * ((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))


def edge_vectors(x, y, edge_node_connectivity, metric: MetricFactors):
    """Edge lengths (n_edge,) in m and unit normals (n_edge, 2) pointing out of edge face 0."""
    a, b = edge_node_connectivity[:, 0], edge_node_connectivity[:, 1]
    ym = 0.5 * (y[a] + y[b])
    sx, sy = metric.scale(ym)
    tx = sx * (x[b] - x[a])
    ty = sy * (y[b] - y[a])
    length = np.hypot(tx, ty)
    with np.errstate(invalid="ignore", divide="ignore"):
        normal = np.stack([ty / length, -tx / length], axis=1)
    return length, normal


def local_offsets(x_from, y_from, x_to, y_to, metric: MetricFactors):
    """Metric offsets (…, 2) in m from points ``from`` to points ``to``, using the latitude of ``from``."""
    sx, sy = metric.scale(y_from)
    return np.stack([sx * (x_to - x_from), sy * (y_to - y_from)], axis=-1)


# -- the whole sphere ------------------------------------------------------------------------------
FRAME_POLE = (-40.0, 75.0)
"""(lon, lat) in degrees of the pole of the face frames on a whole-sphere mesh: central
Greenland, whose antipode (140° E, 75° S) lies in East Antarctica, so neither singular point of
the frames falls in the ocean (ADCIRC rotates its spherical coordinates for the same reason)."""


def unit_vectors(lon_deg, lat_deg) -> np.ndarray:
    """(…, 3) unit position vectors of points given in degrees."""
    lon = np.deg2rad(np.asarray(lon_deg, dtype=float))
    lat = np.deg2rad(np.asarray(lat_deg, dtype=float))
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def lonlat_of(p: np.ndarray):
    """(lon, lat) in degrees of vectors ``p`` (…, 3) (need not be unit)."""
    return np.rad2deg(np.arctan2(p[..., 1], p[..., 0])), np.rad2deg(np.arctan2(p[..., 2], np.hypot(p[..., 0], p[..., 1])))


def _normalised(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0.0, n, 1.0)


def _dot(a, b):
    return np.einsum("...i,...i->...", a, b)


class SphereGeometry:
    """Metric geometry of a mesh covering the whole sphere, computed in three dimensions.

    Every quantity comes from the unit position vectors of the nodes, so faces across the
    antimeridian and around the poles need no special case:

    * face centroid c = (p0 + p1 + p2)/|p0 + p1 + p2|; face area R² E with the spherical excess
      tan(E/2) = p0·(p1×p2) / (1 + p0·p1 + p1·p2 + p2·p0) (Van Oosterom & Strackee 1983, IEEE
      Trans. Biomed. Eng. 30); edge length R times the great-circle angle;
    * each face carries a tangent frame (e_i, n_i): e_i = q × c_i / |q × c_i|, n_i = c_i × e_i,
      the east and north of a rotated pole q (:data:`FRAME_POLE`, on land), so velocities are
      components in the face's frame. A frame changes from face to face (by a few degrees
      between neighbours in the ocean); the scheme handles the change exactly where it matters:
      an edge's unit normal (the great-circle normal t × m at its midpoint m, t = p_b − p_a,
      pointing out of the left face) is expressed in each face's own frame
      (``normal_left``, ``normal_right``), so each face rotates the Riemann problem with its own
      components of the one physical normal; and neighbour velocities are rotated into the
      face's frame before the gradient reconstruction (``neighbour_rotation``). The curvature
      (metric) terms of the spherical momentum equations are what these rotations produce; no
      separate u² tan φ / R term is added (the same finite-volume treatment as the
      local-frame schemes of Rossmanith, Bale & LeVeque 2004, J. Comput. Phys. 199, on the
      sphere). Only the limiter's vertex-stencil bounds take velocity components as stored;
    * offsets from a centroid to a point x (edge midpoints, neighbour centroids, nodes) are the
      logarithmic map: R θ (x − (x·c)c)/|x − (x·c)c| in the face frame, θ the angle between c and x.
    """

    def __init__(
        self,
        lon,
        lat,
        face_node_connectivity,
        edge_node_connectivity,
        edge_face_connectivity,
        face_edge_connectivity,
        face_face_connectivity,
        radius: float = EARTH_RADIUS,
        frame_pole=FRAME_POLE,
    ):
        self.radius = float(radius)
        p = unit_vectors(lon, lat)
        f = face_node_connectivity
        self.node_vectors = p
        c = _normalised(p[f].sum(axis=1))
        self.face_vectors = c
        q = unit_vectors(*frame_pole)
        e = _normalised(np.cross(q, c))
        n = np.cross(c, e)
        self.face_east = e
        self.face_north = n
        self.face_lon, self.face_lat = lonlat_of(c)
        # angle from geographic east to the frame's first axis
        ge = _normalised(np.cross(np.array([0.0, 0.0, 1.0]), c))
        gn = np.cross(c, ge)
        self.face_frame_angle = np.arctan2(_dot(e, gn), _dot(e, ge))
        p0, p1, p2 = p[f[:, 0]], p[f[:, 1]], p[f[:, 2]]
        triple = _dot(p0, np.cross(p1, p2))
        self.face_area = radius**2 * 2.0 * np.arctan2(triple, 1.0 + _dot(p0, p1) + _dot(p1, p2) + _dot(p2, p0))
        a, b = edge_node_connectivity[:, 0], edge_node_connectivity[:, 1]
        pa, pb = p[a], p[b]
        self.edge_length = radius * 2.0 * np.arcsin(np.clip(0.5 * np.linalg.norm(pb - pa, axis=1), 0.0, 1.0))
        m = _normalised(pa + pb)
        self.edge_vectors = m
        self.edge_lon, self.edge_lat = lonlat_of(m)
        n3 = _normalised(np.cross(pb - pa, m))
        left = edge_face_connectivity[:, 0]
        right = np.where(edge_face_connectivity[:, 1] >= 0, edge_face_connectivity[:, 1], left)
        self.normal_left = self._in_frame(n3, left)
        self.normal_right = self._in_frame(n3, right)
        self._face_edge = face_edge_connectivity
        self._face_face = face_face_connectivity
        self._face_nodes = f

    def _in_frame(self, v, faces):
        """Unit 2-vectors (…, 2): the components of tangent vectors ``v`` (…, 3) in the frames of ``faces``."""
        return _normalised(np.stack([_dot(v, self.face_east[faces]), _dot(v, self.face_north[faces])], axis=-1))

    def offsets(self, faces, points) -> np.ndarray:
        """(…, 2) logarithmic-map offsets in m from the centroids of ``faces`` (…) to unit vectors ``points`` (…, 3)."""
        c = self.face_vectors[faces]
        cos = _dot(points, c)
        d = points - cos[..., None] * c
        sin = np.linalg.norm(d, axis=-1)
        theta = np.arctan2(sin, cos)
        scale = self.radius * np.where(sin > 0.0, theta / np.where(sin > 0.0, sin, 1.0), 1.0)
        return np.stack([_dot(d, self.face_east[faces]), _dot(d, self.face_north[faces])], axis=-1) * scale[..., None]

    def face_edge_offset(self) -> np.ndarray:
        """(n_face, 3, 2) offsets from each centroid to its edge midpoints."""
        fe = self._face_edge
        faces = np.repeat(np.arange(fe.shape[0])[:, None], 3, axis=1)
        return self.offsets(faces, self.edge_vectors[fe])

    def face_neighbour_centroid_offset(self) -> np.ndarray:
        """(n_face, 3, 2) offsets from each centroid to the neighbour centroids (own centroid where there is none)."""
        ff = self._face_face
        faces = np.repeat(np.arange(ff.shape[0])[:, None], 3, axis=1)
        return self.offsets(faces, self.face_vectors[np.where(ff >= 0, ff, faces)])

    def face_node_offset(self) -> np.ndarray:
        """(n_face, 3, 2) offsets from each centroid to its three nodes."""
        f = self._face_nodes
        faces = np.repeat(np.arange(f.shape[0])[:, None], 3, axis=1)
        return self.offsets(faces, self.node_vectors[f])

    def neighbour_rotation(self) -> np.ndarray:
        """(n_face, 3, 2) (cos, sin) of the rotation from each neighbour's frame into the face's:
        a neighbour's (u, v) is (c u − s v, s u + c v) in the face's frame; (1, 0) on the boundary."""
        ff = self._face_face
        faces = np.repeat(np.arange(ff.shape[0])[:, None], 3, axis=1)
        nb = np.where(ff >= 0, ff, faces)
        return self._in_frame(self.face_east[nb], faces)
