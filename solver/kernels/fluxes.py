"""Numba kernel of the edge pass: hydrostatic reconstruction and the HLL/HLLC flux per edge.

Same scheme and arithmetic as :mod:`solver.riemann` and the flux part of
:meth:`solver.model.ShallowWaterModel.tendency`: z* = max(z_L, z_R), h*_{L,R} = max(0, η_{L,R} − z*)
(Audusse et al. 2004, SIAM J. Sci. Comput. 25), rotation to the edge frame, HLL (Harten, Lax &
van Leer 1983) with Davis/Toro wave speeds and the dry-bed speeds u ∓ 2c, and the tangential
flux of HLL or HLLC (Toro, Spruce & Speares 1994). The normal momentum flux is returned in
deviation form, F_n − g h*_L²/2, together with dp = g (h*_R² − h*_L²)/2 so that the face on the
right can form its own flux without cancellation (lake at rest stays exactly at rest).

One deliberate difference: an edge with h*_L = h*_R = 0 gets zero fluxes directly. The formulas
give exactly zero there too, except when subnormal velocities (momentum decaying under friction
in thin films) make the wave-speed denominator subnormal, 1/den overflows and 0 × ∞ = NaN; the
numpy reference (``solver.riemann``) has that flaw.
"""

from __future__ import annotations

import math

import numpy as np

from .dispatch import kernel
from .jit import helper, prange

HLL = 0
HLLC = 1
SOLVER_CODES = {"hll": HLL, "hllc": HLLC}
"""Riemann solver name -> code passed to :func:`edge_fluxes`."""


BLOCK = 256
"""Edges per block of :func:`edge_fluxes`: the block's gathered inputs (12 × 256 float64, 24 KiB)
and outputs stay in the L1 cache between the gather, the vector loop and the scatter."""


@helper(error_model="numpy")
def block_fluxes(s, m, g, hllc, out):
    """HLL/HLLC fluxes of the first ``m`` columns of ``s`` (12, BLOCK) into ``out`` (4, BLOCK).

    s rows: η, h, u, v of the left side, of the right side, then the edge normal in the left
    face's frame (n_x, n_y) and in the right face's (r_x, r_y); out rows: mass flux, normal-momentum
    deviation, tangential momentum flux, dp (:func:`edge_fluxes`). Written without branches on the
    data (the dry-side wave speeds, the dry edge and the guard of 1/den are selects) over
    contiguous rows, so LLVM compiles the loop to SIMD code (AVX2/AVX-512: four or eight edges
    per instruction; 2.6–2.8 ns an edge here, bench/simd_probe.py). The arithmetic is the scalar
    loop's it replaced, operation for operation (the same fluxes bit for bit); with the gather and
    the scatter around it the pass is about 1.1× faster than that loop (docs/performance.md).
    """
    for t in range(m):
        etaL = s[0, t]
        hL = s[1, t]
        uL = s[2, t]
        vL = s[3, t]
        etaR = s[4, t]
        hR = s[5, t]
        uR = s[6, t]
        vR = s[7, t]
        nx = s[8, t]
        ny = s[9, t]
        rx = s[10, t]
        ry = s[11, t]
        zs = max(etaL - hL, etaR - hR)
        hLs = max(etaL - zs, 0.0)
        hRs = max(etaR - zs, 0.0)
        unL = uL * nx + vL * ny
        utL = -uL * ny + vL * nx
        unR = uR * rx + vR * ry
        utR = -uR * ry + vR * rx
        # HLL core (solver.riemann._hll_core); dry-bed speeds u ∓ 2c where a side is dry
        cL = math.sqrt(g * hLs)
        cR = math.sqrt(g * hRs)
        both = min(unL - cL, unR - cR)
        dry_left = unR - 2.0 * cR
        sL = both if hLs > 0.0 else dry_left
        both = max(unL + cL, unR + cR)
        dry_right = unL + 2.0 * cL
        sR = both if hRs > 0.0 else dry_right
        sLm = min(sL, 0.0)
        sRp = max(sR, 0.0)
        den = sRp - sLm
        dry = (hLs == 0.0) & (hRs == 0.0)
        ok = (den > 0.0) & ~dry
        inv = 1.0 / (den if ok else 1.0)
        inv = inv if ok else 0.0
        qL = hLs * unL
        qR = hRs * unR
        mass = (sRp * qL - sLm * qR + sLm * sRp * (hRs - hLs)) * inv
        dp = 0.5 * g * (hRs * hRs - hLs * hLs)
        mom = (sRp * qL * unL - sLm * (qR * unR + dp) + sLm * sRp * (qR - qL)) * inv
        if hllc:
            tang = mass * (utL if mass >= 0.0 else utR)
        else:
            tang = (sRp * hLs * unL * utL - sLm * hRs * unR * utR + sLm * sRp * (hRs * utR - hLs * utL)) * inv
        # no water on either side: every flux exactly zero (module docstring)
        out[0, t] = 0.0 if dry else mass
        out[1, t] = 0.0 if dry else mom
        out[2, t] = 0.0 if dry else tang
        out[3, t] = 0.0 if dry else dp


@kernel(
    serial_below=500,
    signature="void(i4[::1], f8[:, ::1], i4[::1], i4[::1], f8[:, ::1], f8[:, ::1], f8, i8, f8[:, ::1])",
)
def edge_fluxes(edges, edge_values, left_slot, right_slot, normal, normal_right, g, solver, flux):
    """Per-edge fluxes from the reconstructed edge values.

    edge_values : (3 n_face + n_boundary_edge, 4) η, h, u, v; left_slot/right_slot : (n_edge,)
    rows of the two sides; normal : (n_edge, 2) unit normal out of the left face, in the left
    face's frame; normal_right : the same normal in the right face's frame (the same array except
    on the sphere, :class:`solver.geometry.SphereGeometry`); solver : HLL or
    HLLC. flux : (n_edge, 4) output: mass flux (m² s⁻¹), normal-momentum deviation and tangential
    momentum flux (m³ s⁻²) per unit length in the edge frame, and dp (m³ s⁻²); only the rows
    ``edges`` are computed.

    In blocks of :data:`BLOCK` listed edges: their inputs are gathered into contiguous rows, the
    fluxes computed by the vector loop :func:`block_fluxes`, and scattered to their rows.
    """
    hllc = solver == HLLC
    n = edges.size
    for b in prange((n + BLOCK - 1) // BLOCK):
        a = b * BLOCK
        m = min(BLOCK, n - a)
        # scratch of the block: numba hoists these allocations to each worker, so every thread
        # has its own (tests/test_kernels.py::test_flux_blocks_stay_private_to_each_thread)
        s = np.empty((12, BLOCK))
        out = np.empty((4, BLOCK))
        for t in range(m):
            e = edges[a + t]
            sl = left_slot[e]
            sr = right_slot[e]
            for c in range(4):
                s[c, t] = edge_values[sl, c]
                s[4 + c, t] = edge_values[sr, c]
            s[8, t] = normal[e, 0]
            s[9, t] = normal[e, 1]
            s[10, t] = normal_right[e, 0]
            s[11, t] = normal_right[e, 1]
        block_fluxes(s, m, g, hllc, out)
        for t in range(m):
            e = edges[a + t]
            for c in range(4):
                flux[e, c] = out[c, t]
