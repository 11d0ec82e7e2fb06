"""Analytic solutions of the shallow-water equations used to verify the solver.

Each function is vectorized over positions (and returns numpy arrays); gravity ``g`` in m s⁻².
References: Delestre et al. 2013 (SWASHES, Int. J. Numer. Meth. Fluids 72) for the dam breaks
and Thacker's bowl; Thacker 1981 (J. Fluid Mech. 107); Gill 1982 (*Atmosphere–Ocean Dynamics*)
for Kelvin waves; Lamb 1932 (*Hydrodynamics*, §176–§187) for seiches and tidal channels.
"""

from __future__ import annotations

import numpy as np


def ritter(x, t, h_left, x0=0.0, g=9.81):
    """Ritter's dam break onto a dry bed (SWASHES §4.1.1.3). Returns (h, u) at x, time t > 0.

    h = h_L for x − x0 ≤ −c_L t; h = (2c_L − ξ)²/(9g), u = 2(ξ + c_L)/3 for −c_L t < ξ = (x − x0)/t
    < 2c_L; dry beyond. c_L = √(g h_L).
    """
    c = np.sqrt(g * h_left)
    xi = (np.asarray(x, dtype=float) - x0) / t
    h = np.where(xi <= -c, h_left, np.where(xi < 2 * c, (2 * c - xi) ** 2 / (9 * g), 0.0))
    u = np.where(xi <= -c, 0.0, np.where(xi < 2 * c, 2.0 * (xi + c) / 3.0, 0.0))
    return h, u


def stoker_middle_state(h_left, h_right, g=9.81):
    """(h_m, u_m, shock speed) of Stoker's wet dam break: the rarefaction invariant u_m = 2(c_L − c_m)
    meets the shock condition u_m = (h_m − h_R)√(g(h_m + h_R)/(2 h_m h_R)) (SWASHES §4.1.1.2)."""
    cl = np.sqrt(g * h_left)

    def mismatch(hm):
        return 2 * (cl - np.sqrt(g * hm)) - (hm - h_right) * np.sqrt(0.5 * g * (hm + h_right) / (hm * h_right))

    from scipy.optimize import brentq  # here: scipy.optimize takes 0.3 s to import, most cases never need it

    hm = brentq(mismatch, h_right, h_left, xtol=1e-15, rtol=1e-15)
    um = 2 * (cl - np.sqrt(g * hm))
    return hm, um, hm * um / (hm - h_right)


def stoker(x, t, h_left, h_right, x0=0.0, g=9.81):
    """Stoker's dam break onto a wet bed. Returns (h, u)."""
    hm, um, s = stoker_middle_state(h_left, h_right, g)
    cl = np.sqrt(g * h_left)
    cm = np.sqrt(g * hm)
    xi = (np.asarray(x, dtype=float) - x0) / t
    rare = (xi > -cl) & (xi < um - cm)
    h = np.where(xi <= -cl, h_left, np.where(rare, (2 * cl - xi) ** 2 / (9 * g), np.where(xi < s, hm, h_right)))
    u = np.where(xi <= -cl, 0.0, np.where(rare, 2.0 * (xi + cl) / 3.0, np.where(xi < s, um, 0.0)))
    return h, u


def thacker_planar(x, y, t, a=1.0, h0=0.1, eta=0.5, g=9.81):
    """Thacker's planar surface oscillating in a paraboloid (Thacker 1981; SWASHES §4.2.2).

    Bed z = −h0 (1 − r²/a²) about the origin; ω = √(2 g h0)/a. Returns (h, u, v, z) with
    free surface ζ = (η h0/a²)(2x cos ωt + 2y sin ωt − η), h = max(ζ − z, 0),
    u = −η ω sin ωt, v = η ω cos ωt in the wet region.
    """
    omega = np.sqrt(2 * g * h0) / a
    z = -h0 * (1 - (x**2 + y**2) / a**2)
    zeta = eta * h0 / a**2 * (2 * x * np.cos(omega * t) + 2 * y * np.sin(omega * t) - eta)
    h = np.maximum(zeta - z, 0.0)
    wet = h > 0
    return h, np.where(wet, -eta * omega * np.sin(omega * t), 0.0), np.where(wet, eta * omega * np.cos(omega * t), 0.0), z


def thacker_period(a=1.0, h0=0.1, g=9.81):
    return 2 * np.pi * a / np.sqrt(2 * g * h0)


def seiche_period(length, depth, mode=1, g=9.81):
    """Merian's formula for the closed-basin standing wave: T = 2L / (n √(g H))."""
    return 2 * length / (mode * np.sqrt(g * depth))


def tidal_channel(x, t, amplitude, omega, length, depth, g=9.81):
    """Linear, frictionless channel of ``length`` closed at x = L, forced by η = A sin ωt at x = 0.

    η = A cos k(L − x) sin ωt / cos kL, u = A c sin k(L − x) cos ωt / (H cos kL), k = ω/c, c = √(gH)
    (Lamb 1932, §176; a co-oscillating tide).
    """
    c = np.sqrt(g * depth)
    k = omega / c
    x = np.asarray(x, dtype=float)
    eta = amplitude * np.cos(k * (length - x)) * np.sin(omega * t) / np.cos(k * length)
    u = amplitude * c * np.sin(k * (length - x)) * np.cos(omega * t) / (depth * np.cos(k * length))
    return eta, u


def wind_setup(x, length, depth, stress, rho=1025.0, g=9.81):
    """Steady set-up in a closed basin of uniform ``depth`` under a uniform stress τ along x.

    The momentum balance g h dη/dx = τ/ρ with h = H + η gives h² = C + 2τx/(ρg), C fixed by
    conserving the volume; for small set-up the slope is τ/(ρ g H). Returns η(x).
    """
    x = np.asarray(x, dtype=float)
    k = 2 * stress / (rho * g)

    def volume_excess(c):
        xs = np.linspace(0, length, 4001)
        return np.trapezoid(np.sqrt(c + k * xs), xs) - depth * length

    from scipy.optimize import brentq

    c = brentq(volume_excess, max(0.0, -k * length) + 1e-12, (depth * 4) ** 2)
    return np.sqrt(c + k * x) - depth


def kelvin_wave(x, y, t, amplitude, omega, depth, f, g=9.81):
    """A Kelvin wave along a wall at y = 0 on an f-plane (f > 0): η = A e^{−y/R} sin(ωt − kx),
    u = (g/c) η, v = 0, R = c/f, k = ω/c (Gill 1982, §10.4). Returns (η, u, v)."""
    c = np.sqrt(g * depth)
    R = c / f
    eta = amplitude * np.exp(-np.asarray(y) / R) * np.sin(omega * t - omega / c * np.asarray(x))
    return eta, g / c * eta, np.zeros_like(eta)


def standing_wave_2d(x, y, t, amplitude, length, depth, g=9.81):
    """Linear (1,1) mode of a closed square basin [0, L]²: η = A cos(πx/L) cos(πy/L) cos ωt,
    ω = π√(2gH)/L, u = (A g/(ω L/π)) sin(πx/L) cos(πy/L) sin ωt ... (Lamb 1932, §189). Returns (η, u, v)."""
    k = np.pi / length
    omega = k * np.sqrt(2 * g * depth)
    eta = amplitude * np.cos(k * x) * np.cos(k * y) * np.cos(omega * t)
    u = amplitude * g * k / omega * np.sin(k * x) * np.cos(k * y) * np.sin(omega * t)
    v = amplitude * g * k / omega * np.cos(k * x) * np.sin(k * y) * np.sin(omega * t)
    return eta, u, v
