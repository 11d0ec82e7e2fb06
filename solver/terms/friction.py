"""Bottom friction."""

from __future__ import annotations

import numpy as np

from .base import MANNING, ImplicitTerm, KernelSource


class ManningFriction(ImplicitTerm):
    """Manning bottom friction, integrated point-implicitly.

    τ_b/ρ = g n² |u| u / h^{1/3}, so d(hu)/dt = −g n² |u| (hu) / h^{4/3}
    (e.g. Liang & Marche 2009, Adv. Water Resour. 32, eq. 2). Each stage applies
    (hu)^{new} = (hu) / (1 + Δt g n² |u| / h^{4/3}), which only ever reduces the momentum, so
    friction can never destabilise thin layers (Liang & Marche 2009, §3.3).

    ``n``: Manning coefficient in s m^{-1/3}, a number or an (n_face,) array.
    """

    def __init__(self, n=0.025):
        self.n = n

    def kernel_source(self, model) -> KernelSource:
        """n² for the numba implicit pass (the same update, fused with the dry clean-up)."""
        return KernelSource(MANNING, np.atleast_1d(np.asarray(self.n, dtype=float) ** 2).ravel().copy())

    def implicit_update(self, model, state, dt):
        h = state.h
        wet = h > model.dry_depth
        hs = np.where(wet, h, 1.0)
        speed = np.hypot(state.hu, state.hv) / hs
        n2 = np.asarray(self.n, dtype=float) ** 2
        factor = 1.0 + dt * model.gravity * n2 * speed / hs ** (4.0 / 3.0)
        factor = np.where(wet, factor, 1.0)
        state.hu /= factor
        state.hv /= factor


class QuadraticFriction(ImplicitTerm):
    """Quadratic bottom friction with a drag coefficient, integrated point-implicitly.

    τ_b/ρ = C_d |u| u, so d(hu)/dt = −C_d |u| (hu) / h (e.g. Luettich & Westerink 2004, ADCIRC
    formulation report, the quadratic bottom stress; ADCIRC's fort.15 CF and the fort.13
    attribute ``quadratic_friction_coefficient_at_sea_floor``, typically 0.0025). Each stage
    applies (hu)^{new} = (hu) / (1 + Δt C_d |u| / h) with |u| of the stage's state, which only
    ever reduces the momentum. For constant h this is exact: 1/u grows by C_d Δt / h per step,
    as in the solution u(t) = u0 / (1 + C_d u0 t / h) of du/dt = −C_d u² / h.

    ``cd``: drag coefficient (dimensionless), a number or an (n_face,) array.
    """

    def __init__(self, cd=0.0025):
        self.cd = cd

    def implicit_update(self, model, state, dt):
        h = state.h
        wet = h > model.dry_depth
        hs = np.where(wet, h, 1.0)
        speed = np.hypot(state.hu, state.hv) / hs
        factor = 1.0 + dt * np.asarray(self.cd, dtype=float) * speed / hs
        factor = np.where(wet, factor, 1.0)
        state.hu /= factor
        state.hv /= factor
