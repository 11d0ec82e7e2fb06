"""Approximate Riemann solvers for the shallow-water equations, in a registry.

Every solver takes the hydrostatically reconstructed states on both sides of an edge, rotated to
the edge frame (normal component ``un`` along the edge normal, tangential ``ut``), and returns
``(mass_flux, normal_momentum_deviation, tangential_momentum_flux)`` per edge, where

    normal_momentum_deviation = F_n(U_L, U_R) − g h_L² / 2

is the normal momentum flux minus the left state's hydrostatic pressure. Writing the flux in this
*deviation* form (flux-difference splitting; Bermúdez & Vázquez 1994, Comput. Fluids 23) makes a
lake at rest exactly stationary on any mesh, including the spherical metric where the edge normals
of a face do not sum exactly to zero, because at rest F_n = g h_L²/2 and the difference is
computed without cancellation. The face on the right of the edge uses
``deviation − (g h_R²/2 − g h_L²/2)``.

HLL: Harten, Lax & van Leer (1983, SIAM Rev. 25) with the wave-speed estimates of Davis (1988)
and the dry-bed speeds u ∓ 2c (Toro 2001, *Shock-capturing methods for free-surface shallow
flows*, §10.4). HLLC: Toro, Spruce & Speares (1994, Shock Waves 4): mass and normal momentum as
in HLL, tangential momentum carried as a passive scalar across the contact, upwinded by the sign
of the HLL mass flux.
"""

from __future__ import annotations

import numpy as np

RIEMANN_SOLVERS = {}


def register(name):
    def deco(fn):
        RIEMANN_SOLVERS[name] = fn
        return fn

    return deco


def _hll_core(hL, hR, unL, unR, g):
    cL = np.sqrt(g * hL)
    cR = np.sqrt(g * hR)
    sL = np.where(hL > 0.0, np.minimum(unL - cL, unR - cR), unR - 2.0 * cR)
    sR = np.where(hR > 0.0, np.maximum(unL + cL, unR + cR), unL + 2.0 * cL)
    sLm = np.minimum(sL, 0.0)
    sRp = np.maximum(sR, 0.0)
    den = sRp - sLm
    # edges with no water on either side carry no flux (guarding 0 × 1/den, which overflows to
    # NaN when subnormal velocities make den subnormal)
    wet = (hL > 0.0) | (hR > 0.0)
    ok = wet & (den > 0.0)
    inv = np.where(ok, 1.0 / np.where(ok, den, 1.0), 0.0)
    qL = hL * unL
    qR = hR * unR
    mass = (sRp * qL - sLm * qR + sLm * sRp * (hR - hL)) * inv
    dp = 0.5 * g * (hR * hR - hL * hL)
    mom = (sRp * qL * unL - sLm * (qR * unR + dp) + sLm * sRp * (qR - qL)) * inv
    return mass, mom, sLm, sRp, inv


@register("hll")
def hll(hL, hR, unL, unR, utL, utR, g):
    """HLL flux; arrays of shape (n_edge,). Returns (mass, normal-momentum deviation, tangential)."""
    mass, mom, sLm, sRp, inv = _hll_core(hL, hR, unL, unR, g)
    tang = (sRp * hL * unL * utL - sLm * hR * unR * utR + sLm * sRp * (hR * utR - hL * utL)) * inv
    return mass, mom, tang


@register("hllc")
def hllc(hL, hR, unL, unR, utL, utR, g):
    """HLLC flux; arrays of shape (n_edge,). Returns (mass, normal-momentum deviation, tangential)."""
    mass, mom, _, _, _ = _hll_core(hL, hR, unL, unR, g)
    tang = mass * np.where(mass >= 0.0, utL, utR)
    return mass, mom, tang
