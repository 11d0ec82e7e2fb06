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

from numba import prange

from .dispatch import kernel

HLL = 0
HLLC = 1
SOLVER_CODES = {"hll": HLL, "hllc": HLLC}
"""Riemann solver name -> code passed to :func:`edge_fluxes`."""


@kernel(serial_below=500)
def edge_fluxes(edges, edge_values, left_slot, right_slot, normal, normal_right, g, solver, flux):
    """Per-edge fluxes from the reconstructed edge values.

    edge_values : (3 n_face + n_boundary_edge, 4) η, h, u, v; left_slot/right_slot : (n_edge,)
    rows of the two sides; normal : (n_edge, 2) unit normal out of the left face, in the left
    face's frame; normal_right : the same normal in the right face's frame (the same array except
    on the sphere, :class:`solver.geometry.SphereGeometry`); solver : HLL or
    HLLC. flux : (n_edge, 4) output: mass flux (m² s⁻¹), normal-momentum deviation and tangential
    momentum flux (m³ s⁻²) per unit length in the edge frame, and dp (m³ s⁻²); only the rows
    ``edges`` are computed.
    """
    for t in prange(edges.size):
        e = edges[t]
        sl = left_slot[e]
        sr = right_slot[e]
        etaL = edge_values[sl, 0]
        hL = edge_values[sl, 1]
        uL = edge_values[sl, 2]
        vL = edge_values[sl, 3]
        etaR = edge_values[sr, 0]
        hR = edge_values[sr, 1]
        uR = edge_values[sr, 2]
        vR = edge_values[sr, 3]
        zL = etaL - hL
        zR = etaR - hR
        zs = max(zL, zR)
        hLs = max(etaL - zs, 0.0)
        hRs = max(etaR - zs, 0.0)
        if hLs == 0.0 and hRs == 0.0:
            # no water on either side: every flux is exactly zero (the formulas below give
            # 0 × 1/den, which overflows to NaN when subnormal velocities make den subnormal)
            flux[e, 0] = 0.0
            flux[e, 1] = 0.0
            flux[e, 2] = 0.0
            flux[e, 3] = 0.0
            continue
        nx = normal[e, 0]
        ny = normal[e, 1]
        unL = uL * nx + vL * ny
        utL = -uL * ny + vL * nx
        rx = normal_right[e, 0]
        ry = normal_right[e, 1]
        unR = uR * rx + vR * ry
        utR = -uR * ry + vR * rx
        # HLL core (solver.riemann._hll_core)
        cL = math.sqrt(g * hLs)
        cR = math.sqrt(g * hRs)
        if hLs > 0.0:
            sL = min(unL - cL, unR - cR)
        else:
            sL = unR - 2.0 * cR
        if hRs > 0.0:
            sR = max(unL + cL, unR + cR)
        else:
            sR = unL + 2.0 * cL
        sLm = min(sL, 0.0)
        sRp = max(sR, 0.0)
        den = sRp - sLm
        inv = 1.0 / den if den > 0.0 else 0.0
        qL = hLs * unL
        qR = hRs * unR
        mass = (sRp * qL - sLm * qR + sLm * sRp * (hRs - hLs)) * inv
        dp = 0.5 * g * (hRs * hRs - hLs * hLs)
        mom = (sRp * qL * unL - sLm * (qR * unR + dp) + sLm * sRp * (qR - qL)) * inv
        if solver == HLL:
            tang = (sRp * hLs * unL * utL - sLm * hRs * unR * utR + sLm * sRp * (hRs * utR - hLs * utL)) * inv
        else:
            tang = mass * (utL if mass >= 0.0 else utR)
        flux[e, 0] = mass
        flux[e, 1] = mom
        flux[e, 2] = tang
        flux[e, 3] = dp
