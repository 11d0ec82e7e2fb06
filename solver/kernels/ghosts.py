"""Numba kernels of ghost states, by the name a boundary condition gives as its ``ghost_kernel``.

``"wall"`` (most of a coastal mesh's boundary is land): the same arithmetic as
:meth:`solver.boundaries.Wall.ghost`, the ghost copies the interior depth and surface and
mirrors the normal velocity, u_g = u − 2(u·n)n, so the Riemann solver sees an impermeable,
free-slip wall. A river's ghost is the wall's, for the gradients and the reconstruction (its
flux is set afterwards). Conditions without a kernel (tides, free outflow) stay Python objects,
evaluated on their own few edges.
"""

from __future__ import annotations

from .dispatch import kernel
from .jit import prange


@kernel(
    serial_below=8000,
    signature="void(i4[::1], f8[:, ::1], i8[::1], f8[:, ::1], i8, f8[:, ::1], u1[::1], f8)",
)
def wall_ghosts(bidx, src, src_row, dst, dst_start, normal_b, wet, eps):
    """Ghost rows ``dst[dst_start + b]`` (η, h, u, v) for the boundary edges ``b`` in ``bidx``.

    bidx : (m,) boundary-edge indices; src : (n, 4) rows (η, h, u, v) holding the interior
    values, ``src_row[b]`` the row of edge b; dst : (dst_start + n_boundary_edge, 4);
    normal_b : (n_boundary_edge, 2) outward unit normals. When ``wet`` has rows (the
    primitives' wet flags), ``wet[dst_start + b]`` is set to h_g > ``eps``.
    """
    set_wet = wet.size > 0
    for t in prange(bidx.size):
        b = bidx[t]
        r = src_row[b]
        eta = src[r, 0]
        h = src[r, 1]
        u = src[r, 2]
        v = src[r, 3]
        nx = normal_b[b, 0]
        ny = normal_b[b, 1]
        un = u * nx + v * ny
        g = dst_start + b
        dst[g, 0] = eta
        dst[g, 1] = h
        dst[g, 2] = u - 2.0 * un * nx
        dst[g, 3] = v - 2.0 * un * ny
        if set_wet:
            wet[g] = h > eps


GHOST_KERNELS = {"wall": wall_ghosts}
"""Compiled ghost kernels by name; each takes (bidx, src, src_row, dst, dst_start, normal_b, wet, eps)."""
