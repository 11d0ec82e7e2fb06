"""Bottom friction."""
from __future__ import annotations

import numpy as np


class ManningFriction:
    """Manning bottom friction, integrated point-implicitly.

    τ_b/ρ = g n² |u| u / h^{1/3}, so d(hu)/dt = −g n² |u| (hu) / h^{4/3}
    (e.g. Liang & Marche 2009, Adv. Water Resour. 32, eq. 2). Each stage applies
    (hu)^{new} = (hu) / (1 + Δt g n² |u| / h^{4/3}), which only ever reduces the momentum, so
    friction can never destabilise thin layers (Liang & Marche 2009, §3.3).

    ``n``: Manning coefficient in s m^{-1/3}, a number or an (n_face,) array.
    """

    def __init__(self, n=0.025):
        self.n = n

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
