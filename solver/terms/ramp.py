"""A forcing switched on smoothly."""

from __future__ import annotations

import numpy as np

from .base import ExplicitTerm


class Ramped(ExplicitTerm):
    """An explicit term multiplied by r(t) = ½ (1 − cos(π t / T)) for t < T, 1 after.

    A model started from rest under its full forcing rings with free gravity waves; ramping the
    forcing in over ``duration`` T (s) — ADCIRC's DRAMP, a hyperbolic-tangent ramp there —
    excites them far less, so a tide spins up in fewer days (Luettich & Westerink 2004, ADCIRC
    formulation report, §5.1).
    """

    def __init__(self, term, duration: float):
        if not duration > 0:
            raise ValueError(f"ramp duration must be positive (s), got {duration!r}")
        self.term = term
        self.duration = float(duration)

    def factor(self, t: float) -> float:
        """r(t), between 0 and 1."""
        if t >= self.duration:
            return 1.0
        return 0.5 * (1.0 - np.cos(np.pi * max(float(t), 0.0) / self.duration))

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        sx, sy = self.term.momentum_tendency(model, h, u, v, wet, t, faces)
        r = self.factor(t)
        return r * sx, r * sy
