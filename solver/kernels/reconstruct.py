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

from .dispatch import kernel
from .jit import helper, prange

SQRT2 = math.sqrt(2.0)


@kernel(
    serial_below=8000,
    signature="void(i4[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8, f8, f8[:, ::1], u1[::1])",
)
def face_primitives(faces, h, hu, hv, bed, dry_depth, eps4, prim, wet):
    """Fill rows ``faces`` of ``prim`` with (η, h, u, v) and of ``wet`` (uint8) from the state.

    Velocities are desingularised, u = √2 h (hu) / √(h⁴ + max(h⁴, ε⁴)) (Kurganov & Petrova 2007,
    Commun. Math. Sci. 5), and zero where h ≤ ``dry_depth``. h, hu, hv, bed: (n_face,); faces:
    the face ids to compute (all of them, or one level's halo under local time stepping).
    """
    for t in prange(faces.size):
        i = faces[t]
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


@kernel(
    serial_below=2000,
    signature="void(i4[::1], i4[::1], i4[::1], f8[:, ::1], f8[:, ::1])",
)
def node_extrema(nodes, node_start, node_faces, prim, extrema):
    """Min and max of the limited primitives η, u, v over the faces around each node.

    node_start : (n_node + 1,) CSR offsets into node_faces (face ids around each node).
    extrema : (n_node, 6) output: min of η, u, v (prim columns 0, 2, 3), then their max. The
    depth is not limited (it is η minus the fixed bed), so it needs no bounds. nodes: the node
    ids to compute.
    """
    for t in prange(nodes.size):
        n = nodes[t]
        s = node_start[n]
        e = node_start[n + 1]
        if s == e:
            continue
        f = node_faces[s]
        lo0 = hi0 = prim[f, 0]
        lo1 = hi1 = prim[f, 2]
        lo2 = hi2 = prim[f, 3]
        for j in range(s + 1, e):
            f = node_faces[j]
            q0 = prim[f, 0]
            q1 = prim[f, 2]
            q2 = prim[f, 3]
            lo0 = min(lo0, q0)
            hi0 = max(hi0, q0)
            lo1 = min(lo1, q1)
            hi1 = max(hi1, q1)
            lo2 = min(lo2, q2)
            hi2 = max(hi2, q2)
        extrema[n, 0] = lo0
        extrema[n, 1] = lo1
        extrema[n, 2] = lo2
        extrema[n, 3] = hi0
        extrema[n, 4] = hi1
        extrema[n, 5] = hi2


@helper(inline="always", error_model="numpy")
def _limited(q, q0, q1, q2, extrema, a, b, c, col, m, i):
    """Barth–Jespersen limited values (v0, v1, v2) at the three edge midpoints of face i, for
    the variable in column ``col`` of the vertex-stencil ``extrema`` (its min; col + 3: its max)
    of the face's nodes a, b, c; m = R W (``edge_operator`` of :func:`reconstruct`) maps the
    neighbour differences to the unlimited increments."""
    lo = min(min(extrema[a, col], extrema[b, col]), extrema[c, col])
    hi = max(max(extrema[a, col + 3], extrema[b, col + 3]), extrema[c, col + 3])
    d0 = q0 - q
    d1 = q1 - q
    d2 = q2 - q
    e0 = m[i, 0, 0] * d0 + m[i, 0, 1] * d1 + m[i, 0, 2] * d2
    e1 = m[i, 1, 0] * d0 + m[i, 1, 1] * d1 + m[i, 1, 2] * d2
    e2 = m[i, 2, 0] * d0 + m[i, 2, 1] * d1 + m[i, 2, 2] * d2
    qmin = min(lo, min(min(q0, q1), q2))
    qmax = max(hi, max(max(q0, q1), q2))
    up = qmax - q  # ≥ 0: the stencil holds the face itself
    down = qmin - q  # ≤ 0
    # r = up/δ (δ > 0) or down/δ (δ < 0), clipped to [0, 1]; dividing only when |δ| exceeds the
    # room gives the same φ (a/δ ≥ 1 exactly when δ ≤ a)
    phi = 1.0
    if e0 > up:
        phi = min(phi, max(up / e0, 0.0))
    elif e0 < down:
        phi = min(phi, max(down / e0, 0.0))
    if e1 > up:
        phi = min(phi, max(up / e1, 0.0))
    elif e1 < down:
        phi = min(phi, max(down / e1, 0.0))
    if e2 > up:
        phi = min(phi, max(up / e2, 0.0))
    elif e2 < down:
        phi = min(phi, max(down / e2, 0.0))
    return q + phi * e0, q + phi * e1, q + phi * e2


@helper(inline="always", error_model="numpy")
def _rotated(rotation, i, k, u, v):
    """(u, v) of face i's neighbour across local edge k in face i's frame."""
    c = rotation[i, k, 0]
    s = rotation[i, k, 1]
    return c * u - s * v, s * u + c * v


@helper(inline="always", error_model="numpy")
def _first_order_face(i, eta, h, u, v, edge_values, bed_slope, tau, centre):
    """φ = 0 in face i: its edge values are the face values (q + 0·δ = q) and it has no bed-slope
    term; with a predictor (``tau`` > 0) it is not predicted either (the centre keeps the face values)."""
    for k in range(3):
        edge_values[3 * i + k, 0] = eta
        edge_values[3 * i + k, 1] = h
        edge_values[3 * i + k, 2] = u
        edge_values[3 * i + k, 3] = v
    bed_slope[i, 0] = 0.0
    bed_slope[i, 1] = 0.0
    if tau > 0.0:
        centre[i, 0] = eta
        centre[i, 1] = h
        centre[i, 2] = u
        centre[i, 3] = v


@kernel(
    serial_below=500,
    signature="void(i4[::1], f8[:, ::1], u1[::1], u1[::1], f8[:, ::1], i4[:, ::1], f8[:, :, ::1], i4[:, ::1], f8[:, :, ::1], f8[:, ::1], f8[:, ::1], f8[:, :, ::1], f8[::1], f8, f8[:, ::1], f8[:, ::1], f8, f8[::1], f8[:, ::1])",
)
def reconstruct(
    faces,
    prim,
    wet,
    corner_faces,
    extrema,
    neighbour_ext,
    neighbour_rotation,
    face_nodes,
    edge_operator,
    edge_bed,
    face_edge_length,
    outward_normal,
    inv_area,
    half_g,
    edge_values,
    bed_slope,
    tau,
    rotation_rate,
    centre,
):
    """Limited linear reconstruction of (η, h, u, v) to the edge midpoints, and the bed-slope term.

    ∇q = W (q_nbr − q_i) (least squares, W (n_face, 2, 3)) and the unlimited increments
    δ_k = r_ik · ∇q (r (n_face, 3, 2), m), in one product δ = (R W)(q_nbr − q_i) with
    ``edge_operator`` R W (n_face, 3, 3) (:func:`edge_operator`); Barth–Jespersen factor
    φ = min_k clip((q_max − q_i)/δ_k or (q_min − q_i)/δ_k, 0, 1) with the bounds over the
    vertex stencil (``extrema`` of the three nodes) and the edge neighbours. The surface η is
    limited; the depth is h_ik = η_ik − z_ik over the fixed piecewise-linear bed ``edge_bed``
    (n_face, 3), so the bed seen by the scheme does not change with the flow. A face that is dry,
    has a dry neighbour, is a coastal corner (``corner_faces`` (n_face,) nonzero, the model's
    ``corner_faces``) or whose surface dips below the bed at an edge stays first order. Writes
    ``edge_values[3i+k]`` and the centred bed-slope term of second-order hydrostatic
    reconstruction divided by the area, ``bed_slope[i] = (1/A_i) Σ_k ½ g (h_ik + h_i)(η_ik − η_i) L_k n_ik``
    (n_face, 2), m² s⁻². ``neighbour_rotation`` (n_face, 3, 2) (cos, sin) turns each neighbour's
    velocity into the face's frame on the sphere (:class:`solver.geometry.SphereGeometry`); an
    empty array where all faces share one frame.

    With ``tau`` > 0 the edge values are moved to the time t + τ by the MUSCL–Hancock predictor
    (van Leer 1984, SIAM J. Sci. Stat. Comput. 5; Toro 2009, *Riemann Solvers and Numerical
    Methods for Fluid Dynamics*, §14.4, in primitive variables), from the limited linear fields
    of the face itself:

        ∂η/∂t = −∇·(h u),  ∂u/∂t = −(u·∇)u − g ∇η + f k×u,

    the gradients and the divergence taken as (1/A) Σ_k q_k L_k n_k over the edge values (exact
    for the linear reconstruction), f the face's ``rotation_rate`` (s⁻¹, an empty array without
    rotation). Every edge value of the face moves by the same τ ∂q/∂t, so a lake at rest stays
    at rest (∇η = 0, u = 0). A face whose predicted depth at an edge is negative is not
    predicted and stays first order. ``centre`` (n_face, 4) gets the predicted face values
    (η, h, u, v) at t + τ of the faces reconstructed (the face values where not predicted), for
    the source terms; it is not written when ``tau`` is 0.
    """
    rotate = neighbour_rotation.shape[0] > 0
    for t in prange(faces.size):
        i = faces[t]
        n0 = neighbour_ext[i, 0]
        n1 = neighbour_ext[i, 1]
        n2 = neighbour_ext[i, 2]
        eta = prim[i, 0]
        h = prim[i, 1]
        u = prim[i, 2]
        v = prim[i, 3]
        if wet[i] == 0 or wet[n0] == 0 or wet[n1] == 0 or wet[n2] == 0 or corner_faces[i]:
            _first_order_face(i, eta, h, u, v, edge_values, bed_slope, tau, centre)
            continue
        a = face_nodes[i, 0]
        b = face_nodes[i, 1]
        c = face_nodes[i, 2]
        ee0, ee1, ee2 = _limited(eta, prim[n0, 0], prim[n1, 0], prim[n2, 0], extrema, a, b, c, 0, edge_operator, i)
        he0 = ee0 - edge_bed[i, 0]
        he1 = ee1 - edge_bed[i, 1]
        he2 = ee2 - edge_bed[i, 2]
        if he0 < 0.0 or he1 < 0.0 or he2 < 0.0:
            _first_order_face(i, eta, h, u, v, edge_values, bed_slope, tau, centre)
            continue
        u0 = prim[n0, 2]
        u1 = prim[n1, 2]
        u2 = prim[n2, 2]
        v0 = prim[n0, 3]
        v1 = prim[n1, 3]
        v2 = prim[n2, 3]
        if rotate:
            u0, v0 = _rotated(neighbour_rotation, i, 0, u0, v0)
            u1, v1 = _rotated(neighbour_rotation, i, 1, u1, v1)
            u2, v2 = _rotated(neighbour_rotation, i, 2, u2, v2)
        ue0, ue1, ue2 = _limited(u, u0, u1, u2, extrema, a, b, c, 1, edge_operator, i)
        ve0, ve1, ve2 = _limited(v, v0, v1, v2, extrema, a, b, c, 2, edge_operator, i)
        hc = h
        if tau > 0.0:
            l0 = face_edge_length[i, 0] * inv_area[i]
            l1 = face_edge_length[i, 1] * inv_area[i]
            l2 = face_edge_length[i, 2] * inv_area[i]
            n0x = outward_normal[i, 0, 0]
            n0y = outward_normal[i, 0, 1]
            n1x = outward_normal[i, 1, 0]
            n1y = outward_normal[i, 1, 1]
            n2x = outward_normal[i, 2, 0]
            n2y = outward_normal[i, 2, 1]
            div = l0 * he0 * (ue0 * n0x + ve0 * n0y) + l1 * he1 * (ue1 * n1x + ve1 * n1y) + l2 * he2 * (ue2 * n2x + ve2 * n2y)
            ex = l0 * ee0 * n0x + l1 * ee1 * n1x + l2 * ee2 * n2x
            ey = l0 * ee0 * n0y + l1 * ee1 * n1y + l2 * ee2 * n2y
            ux = l0 * ue0 * n0x + l1 * ue1 * n1x + l2 * ue2 * n2x
            uy = l0 * ue0 * n0y + l1 * ue1 * n1y + l2 * ue2 * n2y
            vx = l0 * ve0 * n0x + l1 * ve1 * n1x + l2 * ve2 * n2x
            vy = l0 * ve0 * n0y + l1 * ve1 * n1y + l2 * ve2 * n2y
            du = -(u * ux + v * uy) - 2.0 * half_g * ex
            dv = -(u * vx + v * vy) - 2.0 * half_g * ey
            if rotation_rate.size:
                du = du + rotation_rate[i] * v
                dv = dv - rotation_rate[i] * u
            de = -tau * div
            du = tau * du
            dv = tau * dv
            if he0 + de < 0.0 or he1 + de < 0.0 or he2 + de < 0.0:
                _first_order_face(i, eta, h, u, v, edge_values, bed_slope, tau, centre)
                continue
            ee0 = ee0 + de
            ee1 = ee1 + de
            ee2 = ee2 + de
            he0 = he0 + de
            he1 = he1 + de
            he2 = he2 + de
            ue0 = ue0 + du
            ue1 = ue1 + du
            ue2 = ue2 + du
            ve0 = ve0 + dv
            ve1 = ve1 + dv
            ve2 = ve2 + dv
            eta = eta + de
            hc = h + de
            centre[i, 0] = eta
            centre[i, 1] = hc
            centre[i, 2] = u + du
            centre[i, 3] = v + dv
        j = 3 * i
        edge_values[j, 0] = ee0
        edge_values[j, 1] = he0
        edge_values[j, 2] = ue0
        edge_values[j, 3] = ve0
        edge_values[j + 1, 0] = ee1
        edge_values[j + 1, 1] = he1
        edge_values[j + 1, 2] = ue1
        edge_values[j + 1, 3] = ve1
        edge_values[j + 2, 0] = ee2
        edge_values[j + 2, 1] = he2
        edge_values[j + 2, 2] = ue2
        edge_values[j + 2, 3] = ve2
        w0 = half_g * (he0 + hc) * (ee0 - eta) * face_edge_length[i, 0]
        w1 = half_g * (he1 + hc) * (ee1 - eta) * face_edge_length[i, 1]
        w2 = half_g * (he2 + hc) * (ee2 - eta) * face_edge_length[i, 2]
        ia = inv_area[i]
        bed_slope[i, 0] = (w0 * outward_normal[i, 0, 0] + w1 * outward_normal[i, 1, 0] + w2 * outward_normal[i, 2, 0]) * ia
        bed_slope[i, 1] = (w0 * outward_normal[i, 0, 1] + w1 * outward_normal[i, 1, 1] + w2 * outward_normal[i, 2, 1]) * ia


def edge_operator(operator, edge_offset):
    """(n_face, 3, 3) R W: the least-squares gradient operator W (n_face, 2, 3) followed by the
    centroid-to-edge offsets R (n_face, 3, 2), so that δ = (R W)(q_nbr − q_i) in one product
    (9 coefficients a face instead of 12)."""
    return np.ascontiguousarray(np.einsum("fkd,fdj->fkj", edge_offset, operator))


@kernel(
    serial_below=8000,
    signature="void(i4[::1], f8[:, ::1], f8[:, ::1])",
)
def first_order(faces, prim, edge_values):
    """Edge values equal to the face values (no reconstruction): ``edge_values[3i+k] = prim[i]``."""
    for t in prange(faces.size):
        i = faces[t]
        for k in range(3):
            for c in range(4):
                edge_values[3 * i + k, c] = prim[i, c]
