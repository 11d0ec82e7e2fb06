"""Numba kernels of the face passes after the fluxes: flux accumulation into the tendency,
the per-face stable time and its deep-water relaxation, and the implicit Manning friction with the dry-face clean-up.

Same arithmetic as :meth:`solver.model.ShallowWaterModel.tendency`, ``stable_dt`` and
``apply_implicit`` with :class:`solver.terms.ManningFriction`.
"""

from __future__ import annotations

import math

import numpy as np

from .dispatch import kernel
from .jit import helper, prange

SQRT2 = math.sqrt(2.0)


@kernel(
    serial_below=1000,
    signature="void(i4[::1], f8[:, ::1], f8[:, ::1], f8[:, ::1], i4[:, ::1], u1[:, ::1], f8[:, ::1], f8[::1], b1, f8[:, ::1], f8[::1], f8[:, ::1], f8[::1], f8[::1], f8[::1])",
)
def accumulate(
    faces,
    flux,
    normal,
    normal_right,
    face_edge,
    face_is_left,
    face_edge_length,
    inv_area,
    second_order,
    bed_slope,
    rotation_rate,
    prim,
    dh,
    dhu,
    dhv,
):
    """dh/dt, d(hu)/dt, d(hv)/dt (n_face,) = −(1/A_i) Σ_k L_k F_ik (+ the bed-slope term)
    (+ the rotation source f h v, −f h u (:data:`solver.terms.base.ROTATION`, offered by
    :class:`solver.terms.Coriolis`) when ``rotation_rate`` f, (n_face,) s⁻¹, has rows; h, u, v
    from the primitives ``prim`` (n, 4) = (η, h, u, v)).

    flux : (n_edge, 4) from :func:`solver.kernels.fluxes.edge_fluxes` (after any flux boundary
    conditions replaced it), for the faces listed in ``faces``; ``normal`` (n_edge, 2) in the left
    face's frame and ``normal_right`` in the right face's (:func:`solver.kernels.fluxes.edge_fluxes`);
    the face on the right of an edge takes −(F − dp n) for momentum
    (deviation form). With ``second_order`` the bed-slope term ``bed_slope`` (n_face, 2, already
    divided by the area) is subtracted.
    """
    for t in prange(faces.size):
        i = faces[t]
        sm = 0.0
        sx = 0.0
        sy = 0.0
        for k in range(3):
            e = face_edge[i, k]
            fm = flux[e, 0]
            fn = flux[e, 1]
            ft = flux[e, 2]
            L = face_edge_length[i, k]
            if face_is_left[i, k]:
                nx = normal[e, 0]
                ny = normal[e, 1]
                sm += L * fm
                sx += L * (fn * nx - ft * ny)
                sy += L * (fn * ny + ft * nx)
            else:
                nx = normal_right[e, 0]
                ny = normal_right[e, 1]
                dp = flux[e, 3]
                sm += L * -fm
                sx += L * -(fn * nx - ft * ny - dp * nx)
                sy += L * -(fn * ny + ft * nx - dp * ny)
        ia = inv_area[i]
        dh[i] = -sm * ia
        if second_order:
            ax = -sx * ia - bed_slope[i, 0]
            ay = -sy * ia - bed_slope[i, 1]
        else:
            ax = -sx * ia
            ay = -sy * ia
        if rotation_rate.size:
            fh = rotation_rate[i] * prim[i, 1]
            ax = ax + fh * prim[i, 3]
            ay = ay + -(fh * prim[i, 2])
        dhu[i] = ax
        dhv[i] = ay


@helper(inline="always", error_model="numpy")
def wave_time(hi, hui, hvi, cfl_length, dry_depth, eps4, g):
    """cfl_length / (|u| + √(g h)) in s for one face, inf if h ≤ ``dry_depth`` (desingularised u)."""
    if hi <= dry_depth:
        return np.inf
    h2 = hi * hi
    h4 = h2 * h2
    inv = SQRT2 * hi / math.sqrt(h4 + max(h4, eps4))
    return cfl_length / (math.sqrt((hui * inv) ** 2 + (hvi * inv) ** 2) + math.sqrt(g * hi))


@kernel(
    serial_below=8000,
    signature="void(f8[::1], i4[:, ::1], f8, f8, f8[::1])",
)
def relax_deep(h, face_face, depth, factor, out):
    """``out[i]`` *= ``factor`` in faces at least ``depth`` deep whose edge neighbours
    (``face_face`` (n_face, 3), −1 across a boundary) are all that deep: the deep-water step of
    :class:`solver.stability.DeepWaterStep` (same rule as its numpy ``relax``)."""
    for i in prange(h.size):
        if h[i] < depth:
            continue
        deep = True
        for k in range(3):
            j = face_face[i, k]
            if j >= 0 and h[j] < depth:
                deep = False
        if deep:
            out[i] *= factor


@helper(inline="always", error_model="numpy")
def implicit_face(i, h, hu, hv, dry_depth, manning_n2, k, apply_friction):
    """:func:`implicit_update` of face i (inlined in the passes that end with it)."""
    hi = max(h[i], 0.0)
    h[i] = hi
    if apply_friction and hi > dry_depth:
        n2 = manning_n2[0] if manning_n2.size == 1 else manning_n2[i]
        speed = math.sqrt(hu[i] * hu[i] + hv[i] * hv[i]) / hi
        factor = 1.0 + k * n2 * speed / (hi * np.cbrt(hi))  # h^{4/3}
        hu[i] /= factor
        hv[i] /= factor
    if hi <= dry_depth:
        hu[i] = 0.0
        hv[i] = 0.0


@kernel(
    serial_below=2000,
    signature="void(i4[::1], f8[::1], f8[::1], f8[::1], f8, f8[::1], f8, b1)",
)
def implicit_update(faces, h, hu, hv, dry_depth, manning_n2, k, apply_friction):
    """Clip h at 0, apply implicit Manning friction, zero the momentum of dry faces (in place).

    (hu) ← (hu) / (1 + k n² |u| / h^{4/3}) with k = Δt g, in wet faces (Liang & Marche 2009,
    Adv. Water Resour. 32, §3.3). manning_n2 : (1,) or (n_face,) n² in s² m^{-2/3}; faces: the
    face ids to update.
    """
    for t in prange(faces.size):
        implicit_face(faces[t], h, hu, hv, dry_depth, manning_n2, k, apply_friction)


@kernel(
    serial_below=4000,
    signature="void(f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8, f8[::1], f8[::1], f8[::1], f8, f8[::1], f8, b1)",
)
def euler_implicit(h0, hu0, hv0, dh, dhu, dhv, dt, h, hu, hv, dry_depth, manning_n2, k, apply_friction):
    """One forward-Euler stage U = U⁰ + Δt dU/dt followed by :func:`implicit_update`, fused in
    one pass over all faces (all arrays (n_face,); the same arithmetic as the two passes)."""
    for i in prange(h.size):
        h[i] = h0[i] + dt * dh[i]
        hu[i] = hu0[i] + dt * dhu[i]
        hv[i] = hv0[i] + dt * dhv[i]
        implicit_face(i, h, hu, hv, dry_depth, manning_n2, k, apply_friction)


@kernel(
    serial_below=None,
    signature="Tuple((i8, i8, i8, f8))(f8[::1], f8[::1], f8[::1], f8, f8)",
)
def speed_check(h, hu, hv, dry_depth, eps4):
    """One pass over the faces for the Simulation's check of the state, allocating nothing:
    (number of faces with a non-finite h, hu or hv, the first of them or -1, the face of the
    highest speed √(u² + v²) among the finite ones (desingularised velocities, zero where
    h ≤ ``dry_depth``, as :meth:`solver.model.ShallowWaterModel.velocity`), that speed)."""
    n_bad = 0
    first = -1
    fastest = -1
    top = -np.inf
    for i in range(h.size):
        hi = h[i]
        a = hu[i]
        b = hv[i]
        if not (math.isfinite(hi) and math.isfinite(a) and math.isfinite(b)):
            if first < 0:
                first = i
            n_bad += 1
            continue
        s = 0.0
        if hi > dry_depth:
            h2 = hi * hi
            h4 = h2 * h2
            inv = SQRT2 * hi / math.sqrt(h4 + max(h4, eps4))
            s = math.hypot(a * inv, b * inv)
        if s > top:
            top = s
            fastest = i
    return n_bad, first, fastest, top
