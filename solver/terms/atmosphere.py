"""Atmospheric forcing terms: wind stress and the atmospheric pressure gradient.

Both take an *atmosphere*: any object with ``sample(t) -> AtmosphereSample`` giving 10 m wind
(u10, v10, m s⁻¹) and mean-sea-level pressure (Pa) at the mesh nodes, each (n_node,), at model
time t (s since the run's start).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import ExplicitTerm

RHO_WATER = 1025.0
RHO_AIR = 1.22


class AtmosphereSample(NamedTuple):
    u10: np.ndarray
    v10: np.ndarray
    pressure: np.ndarray


class UniformAtmosphere:
    """Uniform, steady wind and pressure, for analytic cases. ``n_node``: mesh node count."""

    def __init__(self, n_node: int, u10=0.0, v10=0.0, pressure=101325.0):
        self._s = AtmosphereSample(np.full(n_node, float(u10)), np.full(n_node, float(v10)), np.full(n_node, float(pressure)))

    def sample(self, t) -> AtmosphereSample:
        return self._s


def garratt_drag(speed):
    """Wind drag coefficient C_d = (0.75 + 0.067 W) × 10⁻³, W capped at 50 m s⁻¹ (Garratt 1977, Mon. Wea. Rev. 105)."""
    return (0.75 + 0.067 * np.minimum(speed, 50.0)) * 1e-3


def large_pond_drag(speed):
    """C_d = 1.2 × 10⁻³ for W < 11 m s⁻¹, (0.49 + 0.065 W) × 10⁻³ above (Large & Pond 1981, J. Phys. Oceanogr. 11), W capped at 35."""
    w = np.minimum(speed, 35.0)
    return np.where(w < 11.0, 1.2e-3, (0.49 + 0.065 * w) * 1e-3)


DRAG_LAWS = {"garratt": garratt_drag, "large-pond": large_pond_drag}


class WindStress(ExplicitTerm):
    """Surface wind stress τ = ρ_a C_d |W| W (bulk formula), entering as τ/ρ_w in wet faces.

    ``drag``: a name in :data:`DRAG_LAWS` or a constant C_d.
    """

    def __init__(self, atmosphere, drag="garratt", rho_air=RHO_AIR, rho_water=RHO_WATER):
        self.atmosphere = atmosphere
        self.drag = drag
        self.rho_air = rho_air
        self.rho_water = rho_water

    def stress(self, model, t, faces=None):
        """(τx, τy) on faces (all, or the ids ``faces``), (n_face,) or (len(faces),) each, in Pa."""
        s = self.atmosphere.sample(t)
        f = model.mesh.face_node_connectivity
        f = f if faces is None else f[faces]
        wu = s.u10[f].mean(axis=1)
        wv = s.v10[f].mean(axis=1)
        speed = np.hypot(wu, wv)
        cd = DRAG_LAWS[self.drag](speed) if isinstance(self.drag, str) else float(self.drag)
        k = self.rho_air * cd * speed
        return k * wu, k * wv

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """τ/ρ_w in wet faces; h, u, v, wet are (n_face,); the result is for ``faces`` (default all)."""
        tx, ty = self.stress(model, t, faces)
        w = wet if faces is None else wet[faces]
        return np.where(w, tx / self.rho_water, 0.0), np.where(w, ty / self.rho_water, 0.0)


class AtmosphericPressureGradient(ExplicitTerm):
    """Pressure-gradient force −(h/ρ_w) ∇p_a, with ∇p_a the exact gradient of the linear node field on each face.

    In equilibrium it gives the inverse barometer, η = −(p_a − p_ref)/(ρ_w g) (about 1 cm per hPa).
    """

    def __init__(self, atmosphere, rho_water=RHO_WATER):
        self.atmosphere = atmosphere
        self.rho_water = rho_water

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """−(h/ρ_w) ∇p_a in wet faces; h, u, v, wet are (n_face,); the result is for ``faces`` (default all)."""
        p = self.atmosphere.sample(t).pressure
        mesh = model.mesh
        if faces is None:
            grad = np.einsum("fij,fj->fi", mesh.face_gradient_operator, p[mesh.face_node_connectivity])
            k = np.where(wet, -h / self.rho_water, 0.0)
        else:
            grad = np.einsum("fij,fj->fi", mesh.face_gradient_operator[faces], p[mesh.face_node_connectivity[faces]])
            k = np.where(wet[faces], -h[faces] / self.rho_water, 0.0)
        return k * grad[:, 0], k * grad[:, 1]
