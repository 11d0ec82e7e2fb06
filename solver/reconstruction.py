"""Second-order MUSCL reconstruction on triangles: least-squares gradients and slope limiters.

A face value q_i is extended linearly to its edge midpoints, q_ik = q_i + φ_i ∇q_i · r_ik, with
∇q_i the least-squares gradient from the three neighbour centroids (mirrored ghost centroids on the
boundary) and φ_i ∈ [0, 1] a limiter that keeps q_ik within the range of the face and its
neighbours (Barth & Jespersen 1989, AIAA-89-0366) or its smooth variant (Venkatakrishnan 1995,
J. Comput. Phys. 118). The limiters are in the :data:`LIMITERS` registry; ``None`` means first
order (no reconstruction).
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
def barth_jespersen(q, q_min, q_max, delta, length):
    """φ (n_face,) from face values q (n_face,), neighbourhood bounds, and unlimited edge increments delta (n_face, 3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(delta > 0.0, (q_max - q)[:, None] / delta, np.where(delta < 0.0, (q_min - q)[:, None] / delta, 1.0))
    return np.clip(r, 0.0, 1.0).min(axis=1)


@register("venkatakrishnan")
def venkatakrishnan(q, q_min, q_max, delta, length, k=0.3):
    """Venkatakrishnan's differentiable limiter with ε² = (k·length)³ (length: face size in m)."""
    eps2 = (k * length) ** 3
    dm = np.where(delta > 0.0, (q_max - q)[:, None], (q_min - q)[:, None])
    d2 = delta
    num = (dm * dm + eps2[:, None]) * d2 + 2.0 * d2 * d2 * dm
    den = dm * dm + 2.0 * d2 * d2 + dm * d2 + eps2[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(np.abs(d2) > 0.0, num / (den * d2), 1.0)
    return np.clip(phi, 0.0, 1.0).min(axis=1)


class Reconstruction:
    """Limited linear reconstruction of face fields to edge midpoints.

    Parameters
    ----------
    neighbour_offset, edge_offset : (n_face, 3, 2) metric offsets (m) from each centroid to its
        neighbour centroids and to its edge midpoints.
    limiter : name in :data:`LIMITERS`.
    length : (n_face,) face size in m (for the smooth limiter).
    """

    def __init__(self, neighbour_offset, edge_offset, limiter: str, length):
        if limiter not in LIMITERS:
            raise ValueError(f"unknown limiter {limiter!r}; choose one of {', '.join(LIMITERS)} or None for first order")
        self.operator = least_squares_operator(neighbour_offset)
        self.edge_offset = np.ascontiguousarray(edge_offset)
        self.limit = LIMITERS[limiter]
        self.length = length

    def edge_values(self, q, q_neighbours, frozen):
        """Limited values at edge midpoints, (n_face, 3).

        q : (n_face,) face values; q_neighbours : (n_face, 3) values across each edge (ghosts on
        the boundary); frozen : (n_face,) bool, faces kept first order (e.g. next to dry faces).
        """
        dq = q_neighbours - q[:, None]
        grad = np.einsum("fik,fk->fi", self.operator, dq)
        delta = np.einsum("fkd,fd->fk", self.edge_offset, grad)
        q_min = np.minimum(q, q_neighbours.min(axis=1))
        q_max = np.maximum(q, q_neighbours.max(axis=1))
        phi = self.limit(q, q_min, q_max, delta, self.length)
        phi[frozen] = 0.0
        return q[:, None] + phi[:, None] * delta
