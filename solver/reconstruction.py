"""Second-order MUSCL reconstruction on triangles: least-squares gradients and slope limiters.

A face value q_i is extended linearly to its edge midpoints, q_ik = q_i + φ_i ∇q_i · r_ik, with
∇q_i the least-squares gradient from the three neighbour centroids (mirrored ghost centroids on the
boundary) and φ_i ∈ [0, 1] a limiter that keeps q_ik within the range of the face and its
neighbours (Barth & Jespersen 1989, AIAA-89-0366) taken over the vertex stencil. The limiters
are in the :data:`LIMITERS` registry; ``None`` means first order (no reconstruction).

Venkatakrishnan's smooth limiter and a TVB-relaxed Barth–Jespersen were tried and dropped:
with the vertex stencil Barth–Jespersen already gives an observed order of 3 on a smooth
standing wave (docs/verification.md), and the smooth limiter let Stoker's dam break oscillate.
"""

from __future__ import annotations

import numpy as np

LIMITERS = {}


def register(name):
    def deco(fn):
        LIMITERS[name] = fn
        return fn

    return deco


def least_squares_operator(neighbour_offset: np.ndarray) -> np.ndarray:
    """(n_face, 2, 3) W with ∇q = W @ (q_neighbours − q_i), from offsets (n_face, 3, 2) in m."""
    d = neighbour_offset
    dtd = np.einsum("fki,fkj->fij", d, d)
    inv = np.linalg.inv(dtd)
    return np.einsum("fij,fkj->fik", inv, d)


@register("barth-jespersen")
def barth_jespersen(q, q_min, q_max, delta, length, q_range):
    """φ (n_face,) from face values q (n_face,), neighbourhood bounds, and unlimited edge increments delta (n_face, 3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(delta > 0.0, (q_max - q)[:, None] / delta, np.where(delta < 0.0, (q_min - q)[:, None] / delta, 1.0))
    return np.clip(r, 0.0, 1.0).min(axis=1)


class Reconstruction:
    """Limited linear reconstruction of face fields to edge midpoints.

    Parameters
    ----------
    neighbour_offset, edge_offset : (n_face, 3, 2) metric offsets (m) from each centroid to its
        neighbour centroids and to its edge midpoints.
    face_node_connectivity : (n_face, 3); the limiter's bounds q_min, q_max are taken over all
        faces that share a node with the face (the vertex stencil; Kuzmin 2010, J. Comput. Appl.
        Math. 233), which on triangles does not clip smooth monotone data as the three edge
        neighbours alone do.
    limiter : name in :data:`LIMITERS`.
    length : (n_face,) face size in m (√area; for the smooth limiter, which uses it relative to the domain size).
    """

    def __init__(self, neighbour_offset, edge_offset, limiter: str, length, face_node_connectivity):
        if limiter not in LIMITERS:
            raise ValueError(f"unknown limiter {limiter!r}; choose one of {', '.join(LIMITERS)} or None for first order")
        self.operator = least_squares_operator(neighbour_offset)
        self.edge_offset = np.ascontiguousarray(edge_offset)
        self.limit = LIMITERS[limiter]
        f = np.asarray(face_node_connectivity)
        self.faces_by_node = np.argsort(f.ravel(), kind="stable") // 3
        """Face ids around each node, node by node (offsets from the node counts)."""
        counts = np.bincount(f.ravel(), minlength=f.max() + 1)
        self._node_start = np.r_[0, np.cumsum(counts)[:-1]]
        self._fnc = f
        self.length = np.asarray(length, dtype=float) / np.sqrt(np.sum(np.asarray(length, dtype=float) ** 2))

    def edge_values(self, q, q_neighbours, frozen):
        """Limited values at edge midpoints, (n_face, 3).

        q : (n_face,) face values; q_neighbours : (n_face, 3) values across each edge (ghosts on
        the boundary); frozen : (n_face,) bool, faces kept first order (e.g. next to dry faces).
        """
        dq = q_neighbours - q[:, None]
        grad = np.einsum("fik,fk->fi", self.operator, dq)
        delta = np.einsum("fkd,fd->fk", self.edge_offset, grad)
        around = q[self.faces_by_node]
        node_min = np.minimum.reduceat(around, self._node_start)
        node_max = np.maximum.reduceat(around, self._node_start)
        q_min = np.minimum(node_min[self._fnc].min(axis=1), q_neighbours.min(axis=1))
        q_max = np.maximum(node_max[self._fnc].max(axis=1), q_neighbours.max(axis=1))
        phi = self.limit(q, q_min, q_max, delta, self.length, float(np.ptp(q)))
        phi[frozen] = 0.0
        return q[:, None] + phi[:, None] * delta
