"""Numba kernels of local time stepping (:mod:`solver.local_timestepping`): per-face wave times,
the view of the neighbours at a stage time, the Euler stages of one level, the time integrals of
the edge fluxes and the flux correction ("refluxing") of the coarse faces.

All loops run over index lists (one level's faces or edges); arrays are (n_face,) or
(n_edge, 4) float64 as in the other kernels.
"""

from __future__ import annotations

from .dispatch import kernel
from .jit import prange
from .update import implicit_face, wave_time


@kernel(
    serial_below=2000,
    signature="void(f8[::1], f8[::1], f8[::1], f8[::1], f8, f8, f8, f8[::1])",
)
def wave_times(h, hu, hv, cfl_length, dry_depth, eps4, g, out):
    """``out[i]`` = :func:`solver.kernels.update.wave_time` of face i: its largest stable step at
    Courant number 1 (inf where dry), the bound the global step takes the minimum of."""
    for i in prange(h.size):
        out[i] = wave_time(h[i], hu[i], hv[i], cfl_length[i], dry_depth, eps4, g)


@kernel(
    serial_below=8000,
    signature="void(i4[::1], i8[::1], i8, f8, b1, f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1])",
)
def gather_view(faces, level, j, tau, skip_own, h, hu, hv, h0, hu0, hv0, t0, level_step, wh, whu, whv):
    """The states level ``j`` sees at time ``tau`` in the rows ``faces`` of the view (wh, whu, whv).

    A coarser face (level > j) is between the start t0 and the end of its own step: its state
    is interpolated linearly in time, U0 + (tau − t0)/Δ (U − U0), Δ = ``level_step[level]``.
    A finer face (level < j) is exactly at the start of level j's step: its current state
    (:func:`predict` then moves the ones next to level j ahead for the second stage). Faces of
    level j take their current state, unless ``skip_own`` (their second stage, where the view
    already holds their first-stage state).
    """
    for t in prange(faces.size):
        f = faces[t]
        lv = level[f]
        if lv > j:
            theta = (tau - t0[f]) / level_step[lv]
            wh[f] = h0[f] + theta * (h[f] - h0[f])
            whu[f] = hu0[f] + theta * (hu[f] - hu0[f])
            whv[f] = hv0[f] + theta * (hv[f] - hv0[f])
        elif lv < j or not skip_own:
            wh[f] = h[f]
            whu[f] = hu[f]
            whv[f] = hv[f]


@kernel(
    serial_below=8000,
    signature="void(i4[::1], f8, f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1])",
)
def predict(faces, dt, h, hu, hv, dh, dhu, dhv, wh, whu, whv):
    """Forward-Euler prediction U + dt·K (depth clipped at 0) of ``faces`` into the view: the
    finer neighbours of a level as its second stage sees them, dt ahead."""
    for t in prange(faces.size):
        f = faces[t]
        wh[f] = max(h[f] + dt * dh[f], 0.0)
        whu[f] = hu[f] + dt * dhu[f]
        whv[f] = hv[f] + dt * dhv[f]


@kernel(
    serial_below=2000,
    signature="void(i4[::1], f8, f8, f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8, f8[::1], f8, b1)",
)
def first_stage(
    faces, tau, dt, h, hu, hv, dh, dhu, dhv, h0, hu0, hv0, t0, wh, whu, whv, dry_depth, manning_n2, k, apply_friction
):
    """Start the step of ``faces``: keep U in (h0, hu0, hv0), t0 = tau, and U¹ = U + dt·K in the
    view, followed by the implicit friction and the dry clean-up of
    :func:`solver.kernels.update.implicit_update` (k = dt g; the same arithmetic as the two passes).
    With the state itself as the view (wh is h, ...) it is a whole one-stage step in place, the
    MUSCL–Hancock step of :class:`solver.local_timestepping.LocalMusclHancock`."""
    for t in prange(faces.size):
        f = faces[t]
        h0[f] = h[f]
        hu0[f] = hu[f]
        hv0[f] = hv[f]
        t0[f] = tau
        wh[f] = h[f] + dt * dh[f]
        whu[f] = hu[f] + dt * dhu[f]
        whv[f] = hv[f] + dt * dhv[f]
        implicit_face(f, wh, whu, whv, dry_depth, manning_n2, k, apply_friction)


@kernel(
    serial_below=2000,
    signature="void(i4[::1], f8, f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8, f8[::1], f8, b1)",
)
def second_stage(faces, dt, dh, dhu, dhv, wh, whu, whv, h0, hu0, hv0, h, hu, hv, dry_depth, manning_n2, k, apply_friction):
    """End the step of ``faces``: U² = U¹ + dt·K(U¹) in the view, in place, its implicit friction
    and dry clean-up (:func:`solver.kernels.update.implicit_update`, k = dt g), then the Heun
    average Uⁿ⁺¹ = ½ (Uⁿ + U²) into (h, hu, hv) (the same arithmetic as three passes)."""
    for t in prange(faces.size):
        f = faces[t]
        wh[f] += dt * dh[f]
        whu[f] += dt * dhu[f]
        whv[f] += dt * dhv[f]
        implicit_face(f, wh, whu, whv, dry_depth, manning_n2, k, apply_friction)
        h[f] = 0.5 * (h0[f] + wh[f])
        hu[f] = 0.5 * (hu0[f] + whu[f])
        hv[f] = 0.5 * (hv0[f] + whv[f])


@kernel(
    serial_below=8000,
    signature="void(i4[::1], f8[:, ::1], f8[:, ::1])",
)
def copy_rows(rows, src, dst):
    for t in prange(rows.size):
        r = rows[t]
        for c in range(src.shape[1]):
            dst[r, c] = src[r, c]


@kernel(
    serial_below=8000,
    signature="void(i4[::1], i8, i8[::1], i8[::1], f8[:, ::1], f8[:, ::1], f8, f8[:, ::1], f8[:, ::1])",
)
def edge_integrals(edges, j, lo, hi, flux1, flux2, half_dt, fine_int, own_int):
    """Time integrals ½ dt (F¹ + F²) of the fluxes of level j's edges across level interfaces.

    lo, hi : (n_edge,) the finer and the coarser level of the edge's two faces. Where level j is
    the finer side, the integral is added to ``fine_int`` (the coarse face will take it instead of
    its own); where j is the coarser side, it is stored in ``own_int`` (what the coarse face used).
    """
    for t in prange(edges.size):
        e = edges[t]
        if lo[e] == hi[e]:
            continue
        if lo[e] == j:
            for c in range(4):
                fine_int[e, c] += half_dt * (flux1[e, c] + flux2[e, c])
        else:
            for c in range(4):
                own_int[e, c] = half_dt * (flux1[e, c] + flux2[e, c])


@kernel(
    serial_below=None,
    signature="void(i4[::1], i4[::1], u1[::1], f8[:, ::1], f8[:, ::1], f8[::1], f8[::1], f8[:, ::1], f8[:, ::1], f8[::1], f8[::1], f8[::1], f8)",
)
def reflux(edges, faces, is_left, normal, normal_right, length, inv_area, fine_int, own_int, h, hu, hv, dry_depth):
    """Replace, in the coarse faces, the flux integral they used across each interface edge by
    the one the finer side accumulated (Berger & Colella 1989, J. Comput. Phys. 82, §4), then
    clip the depth at zero and zero the momentum of dry faces; ``fine_int`` is reset.

    edges, faces, is_left : the interface edges of one level, the coarse face of each and
    whether it is the edge's left face. Serial: a face may have several interface edges.
    """
    for t in range(edges.size):
        e = edges[t]
        f = faces[t]
        fm = fine_int[e, 0] - own_int[e, 0]
        fn = fine_int[e, 1] - own_int[e, 1]
        ft = fine_int[e, 2] - own_int[e, 2]
        dp = fine_int[e, 3] - own_int[e, 3]
        if is_left[t]:
            nx = normal[e, 0]
            ny = normal[e, 1]
        else:  # the right face's frame (differs from the left's only on the sphere)
            nx = normal_right[e, 0]
            ny = normal_right[e, 1]
        fx = fn * nx - ft * ny
        fy = fn * ny + ft * nx
        k = length[e] * inv_area[f]
        if is_left[t]:
            h[f] -= k * fm
            hu[f] -= k * fx
            hv[f] -= k * fy
        else:
            h[f] += k * fm
            hu[f] += k * (fx - dp * nx)
            hv[f] += k * (fy - dp * ny)
        for c in range(4):
            fine_int[e, c] = 0.0
    for t in range(faces.size):
        f = faces[t]
        if h[f] < 0.0:
            h[f] = 0.0
        if h[f] <= dry_depth:
            hu[f] = 0.0
            hv[f] = 0.0
