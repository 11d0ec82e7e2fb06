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
