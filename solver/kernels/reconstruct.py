"""Numba kernels of the face passes before the fluxes: primitive variables, vertex-stencil
extrema and the limited MUSCL reconstruction to edge midpoints.

They compute exactly what :meth:`solver.model.ShallowWaterModel.velocity` and
:class:`solver.reconstruction.Reconstruction` (Barth–Jespersen on the vertex stencil) compute,
with the same arithmetic in the same order, fused over the four reconstructed variables.

Array layout (float64, C order). ``prim`` is (n_face + n_boundary_edge, 4): columns η, h, u, v
(m, m, m s⁻¹, m s⁻¹) of each face, followed by the ghost states of the boundary edges, so a
face's neighbour across local edge k is simply row ``neighbour_ext[i, k]``. ``edge_values`` is
(3 n_face + n_boundary_edge, 4): the reconstructed η, h, u, v at the midpoint of local edge k of
face i in row 3 i + k, followed by the ghost states for the fluxes.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SQRT2 = math.sqrt(2.0)


@njit(parallel=True, cache=True)
def face_primitives(h, hu, hv, bed, dry_depth, eps4, prim, wet):
    """Fill ``prim[:n_face]`` with (η, h, u, v) and ``wet[:n_face]`` (uint8) from the state.

    Velocities are desingularised, u = √2 h (hu) / √(h⁴ + max(h⁴, ε⁴)) (Kurganov & Petrova 2007,
    Commun. Math. Sci. 5), and zero where h ≤ ``dry_depth``. h, hu, hv, bed: (n_face,).
    """
    for i in prange(h.size):
        hi = h[i]
        h2 = hi * hi
        h4 = h2 * h2
        inv = SQRT2 * hi / math.sqrt(h4 + max(h4, eps4))
        prim[i, 0] = hi + bed[i]
        prim[i, 1] = hi
        if hi > dry_depth:
            prim[i, 2] = hu[i] * inv
            prim[i, 3] = hv[i] * inv
            wet[i] = 1
        else:
            prim[i, 2] = 0.0
            prim[i, 3] = 0.0
            wet[i] = 0


@njit(parallel=True, cache=True)
def node_extrema(node_start, node_faces, prim, extrema):
    """Min and max of each primitive over the faces around each node.

    node_start : (n_node + 1,) CSR offsets into node_faces (face ids around each node).
    extrema : (n_node, 8) output: min of columns 0..3, then max of columns 0..3.
    """
    n_node = node_start.size - 1
    for n in prange(n_node):
        s = node_start[n]
        e = node_start[n + 1]
        if s == e:
            continue
        f = node_faces[s]
        for c in range(4):
            extrema[n, c] = prim[f, c]
            extrema[n, 4 + c] = prim[f, c]
        for j in range(s + 1, e):
            f = node_faces[j]
            for c in range(4):
                q = prim[f, c]
                if q < extrema[n, c]:
                    extrema[n, c] = q
                if q > extrema[n, 4 + c]:
                    extrema[n, 4 + c] = q


@njit(parallel=True, cache=True)
def reconstruct(
    prim, wet, extrema, neighbour_ext, face_nodes, operator, edge_offset, face_edge_length, outward_normal, inv_area, half_g, edge_values, bed_slope
):
    """Limited linear reconstruction of (η, h, u, v) to the edge midpoints, and the bed-slope term.

    ∇q = W (q_nbr − q_i) (least squares, ``operator`` W (n_face, 2, 3)); unlimited increments
    δ_k = r_ik · ∇q (``edge_offset`` r (n_face, 3, 2), m); Barth–Jespersen factor
    φ = min_k clip((q_max − q_i)/δ_k or (q_min − q_i)/δ_k, 0, 1) with the bounds over the
    vertex stencil and the edge neighbours; φ = 0 (first order) in faces that are dry or have a
    dry neighbour. Edge depths are clipped at 0. Writes ``edge_values[3i+k]`` and the centred
    bed-slope term of second-order hydrostatic reconstruction divided by the area,
    ``bed_slope[i] = (1/A_i) Σ_k ½ g (h_ik + h_i)(η_ik − η_i) L_k n_ik`` (n_face, 2), m² s⁻².
    """
    nf = face_nodes.shape[0]
    for i in prange(nf):
        n0 = neighbour_ext[i, 0]
        n1 = neighbour_ext[i, 1]
        n2 = neighbour_ext[i, 2]
        a = face_nodes[i, 0]
        b = face_nodes[i, 1]
        c3 = face_nodes[i, 2]
        frozen = wet[i] == 0 or wet[n0] == 0 or wet[n1] == 0 or wet[n2] == 0
        if frozen:
            # φ = 0: the edge values are the face values (q + 0·δ = q)
            for c in range(4):
                q = prim[i, c]
                edge_values[3 * i, c] = q
                edge_values[3 * i + 1, c] = q
                edge_values[3 * i + 2, c] = q
        else:
            for c in range(4):
                q = prim[i, c]
                q0 = prim[n0, c]
                q1 = prim[n1, c]
                q2 = prim[n2, c]
                d0 = q0 - q
                d1 = q1 - q
                d2 = q2 - q
                gx = operator[i, 0, 0] * d0 + operator[i, 0, 1] * d1 + operator[i, 0, 2] * d2
                gy = operator[i, 1, 0] * d0 + operator[i, 1, 1] * d1 + operator[i, 1, 2] * d2
                e0 = edge_offset[i, 0, 0] * gx + edge_offset[i, 0, 1] * gy
                e1 = edge_offset[i, 1, 0] * gx + edge_offset[i, 1, 1] * gy
                e2 = edge_offset[i, 2, 0] * gx + edge_offset[i, 2, 1] * gy
                qmin = min(min(extrema[a, c], extrema[b, c]), extrema[c3, c])
                qmin = min(qmin, min(min(q0, q1), q2))
                qmax = max(max(extrema[a, 4 + c], extrema[b, 4 + c]), extrema[c3, 4 + c])
                qmax = max(qmax, max(max(q0, q1), q2))
                up = qmax - q  # ≥ 0: the stencil holds face i
                down = qmin - q  # ≤ 0
                phi = 1.0
                # r = up/δ (δ > 0) or down/δ (δ < 0), clipped to [0, 1]; dividing only when
                # |δ| exceeds the room gives the same φ (a/δ ≥ 1 exactly when δ ≤ a)
                for dk in (e0, e1, e2):
                    if dk > 0.0:
                        if dk > up:
                            phi = min(phi, max(up / dk, 0.0))
                    elif dk < 0.0:
                        if dk < down:
                            phi = min(phi, max(down / dk, 0.0))
                v0 = q + phi * e0
                v1 = q + phi * e1
                v2 = q + phi * e2
                if c == 1:
                    v0 = max(v0, 0.0)
                    v1 = max(v1, 0.0)
                    v2 = max(v2, 0.0)
                edge_values[3 * i, c] = v0
                edge_values[3 * i + 1, c] = v1
                edge_values[3 * i + 2, c] = v2
        h = prim[i, 1]
        eta = prim[i, 0]
        sx = 0.0
        sy = 0.0
        for k in range(3):
            w = half_g * (edge_values[3 * i + k, 1] + h) * (edge_values[3 * i + k, 0] - eta) * face_edge_length[i, k]
            sx += w * outward_normal[i, k, 0]
            sy += w * outward_normal[i, k, 1]
        bed_slope[i, 0] = sx * inv_area[i]
        bed_slope[i, 1] = sy * inv_area[i]


@njit(parallel=True, cache=True)
def first_order(n_face, prim, edge_values):
    """Edge values equal to the face values (no reconstruction): ``edge_values[3i+k] = prim[i]``."""
    for i in prange(n_face):
        for k in range(3):
            for c in range(4):
                edge_values[3 * i + k, c] = prim[i, c]
