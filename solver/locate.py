"""Point location in a triangular mesh: which face holds a point, and its barycentric weights.

The one locator of the project: the station writer, the gauge and station placement, the
gallery's region check and the web viewer's point series all ask a :class:`Locator`.

How: a KD-tree (scipy ``cKDTree``) of the face centroids gives the ``candidates`` nearest faces,
whose barycentric coordinates are tested. A point none of them holds is tested against every
face whose centroid lies within the largest centroid-to-corner distance of the mesh (the only
faces that can hold it), and so is a point on an edge or vertex of its first face: the answer
is exact (the rules below) without scanning every face.

Rules:

* A point is inside a face when each barycentric coordinate is at least ``-TOLERANCE``, so
  points on an edge or a vertex are inside. Where several faces hold a point (on a shared edge
  or vertex) the face with the lowest index is returned; linear interpolation with the weights
  gives the same value in each of them.
* A point outside the mesh, or with a non-finite coordinate, gets face ``-1`` and NaN weights.
* Coordinates are the mesh's own (longitude/latitude degrees or metres), taken as planar: the
  test is the planar one, as for the meshes' own orientation check of projected meshes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-10
"""Barycentric tolerance: a coordinate down to ``-TOLERANCE`` still counts as inside."""


def barycentric(px, py, x, y) -> np.ndarray:
    """Barycentric coordinates (…, 3) of points (px, py) in triangles with corners x, y (…, 3)."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    y0, y1, y2 = y[..., 0], y[..., 1], y[..., 2]
    det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = ((px - x0) * (y2 - y0) - (x2 - x0) * (py - y0)) / det
        l2 = ((x1 - x0) * (py - y0) - (px - x0) * (y1 - y0)) / det
    return np.stack([1.0 - l1 - l2, l1, l2], axis=-1)


@dataclass(frozen=True)
class Location:
    """Where points lie: ``face`` (n,) int64 (-1 outside), ``nodes`` (n, 3) int64 (the face's
    corners; -1 outside) and ``weights`` (n, 3) float64 barycentric weights (NaN outside)."""

    face: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        """(n,) bool: the points inside the mesh."""
        return self.face >= 0

    def interpolate(self, node_values) -> np.ndarray:
        """Linear interpolation of (n_node, …) node values at the points: (n, …), NaN outside."""
        v = np.asarray(node_values, dtype=np.float64)
        w = np.where(self.inside[:, None], self.weights, 0.0)
        out = np.einsum("nk,nk...->n...", w, v[np.where(self.inside[:, None], self.nodes, 0)])
        out[~self.inside] = np.nan
        return out


class Locator:
    """Point location in the triangles ``faces`` (n_face, 3) with node coordinates ``node_x``,
    ``node_y`` (n_node,). Build once per mesh (``Mesh.locator`` caches one); see the module's
    rules for edges, vertices and points outside."""

    def __init__(self, node_x, node_y, faces, *, candidates: int = 16):
        self.node_x = np.asarray(node_x, dtype=np.float64)
        self.node_y = np.asarray(node_y, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or self.faces.shape[0] == 0:
            raise ValueError(f"faces must have shape (n_face, 3) with n_face > 0, got {self.faces.shape}")
        self.corner_x = self.node_x[self.faces]
        self.corner_y = self.node_y[self.faces]
        cx, cy = self.corner_x.mean(axis=1), self.corner_y.mean(axis=1)
        # imported here, not with the module: 0.3–0.5 s of every process's start-up
        from scipy.spatial import cKDTree

        self.tree = cKDTree(np.column_stack([cx, cy]))
        self.candidates = max(1, min(int(candidates), self.faces.shape[0]))
        self.reach = float(np.hypot(self.corner_x - cx[:, None], self.corner_y - cy[:, None]).max())
        """The largest centroid-to-corner distance: no face farther from a point can hold it."""

    @classmethod
    def for_mesh(cls, mesh, **kw) -> Locator:
        """A locator in the mesh's own coordinates (``node_x``, ``node_y``)."""
        return cls(mesh.node_x, mesh.node_y, mesh.face_node_connectivity, **kw)

    @property
    def n_face(self) -> int:
        return int(self.faces.shape[0])

    def _first_inside(self, px, py, cand) -> tuple[np.ndarray, np.ndarray]:
        """The lowest-index face among ``cand`` (n, k) holding each point, with its weights."""
        lam = barycentric(px[:, None], py[:, None], self.corner_x[cand], self.corner_y[cand])
        inside = (lam >= -TOLERANCE).all(axis=-1)
        key = np.where(inside, cand, self.n_face)
        j = key.argmin(axis=1)
        rows = np.arange(cand.shape[0])
        face = np.where(inside[rows, j], cand[rows, j], -1)
        return face, lam[rows, j]

    def locate(self, x, y) -> Location:
        """The face holding each point (x, y) ((n,) arrays or scalars) and its weights."""
        px = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
        py = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
        if px.shape != py.shape:
            raise ValueError(f"x has {px.size} values but y has {py.size}")
        n = px.size
        face = np.full(n, -1, dtype=np.int64)
        weights = np.full((n, 3), np.nan)
        ok = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
        if ok.size:
            _, cand = self.tree.query(np.column_stack([px[ok], py[ok]]), k=self.candidates)
            f, w = self._first_inside(px[ok], py[ok], np.asarray(cand).reshape(ok.size, self.candidates))
            face[ok], weights[ok] = f, w
        # not found, or on an edge or vertex (another face may hold it too): every face in reach
        for i in ok[(face[ok] < 0) | (weights[ok].min(axis=1) <= TOLERANCE)]:
            near = self.tree.query_ball_point([px[i], py[i]], r=self.reach * (1 + 1e-9) + TOLERANCE)
            if near:
                f, w = self._first_inside(px[i : i + 1], py[i : i + 1], np.asarray(near, dtype=np.int64)[None, :])
                face[i], weights[i] = f[0], w[0]
        weights[face < 0] = np.nan
        nodes = np.where(face[:, None] >= 0, self.faces[np.maximum(face, 0)], -1)
        return Location(face, nodes, weights)

    def nearest_face(self, x, y) -> np.ndarray:
        """(n,) int64: the face with the nearest centroid to each point (planar distance)."""
        px = np.atleast_1d(np.asarray(x, dtype=np.float64)).ravel()
        py = np.atleast_1d(np.asarray(y, dtype=np.float64)).ravel()
        _, j = self.tree.query(np.column_stack([px, py]))
        return np.asarray(j, dtype=np.int64)


def locate_points(mesh, x, y) -> np.ndarray:
    """(n,) int64: the face of ``mesh`` holding each point (mesh coordinates), -1 outside
    (``mesh.locator``; see the module's rules)."""
    return mesh.locator.locate(x, y).face
