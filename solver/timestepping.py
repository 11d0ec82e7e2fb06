"""Explicit strong-stability-preserving time integrators, in a registry.

Each integrator advances ``state`` in place by ``dt`` and returns the volume that left through
each boundary segment during the step (m³), consistent with its own stage weights so that
the change of the total volume equals minus the boundary outflow to round-off.
Every stage is a forward-Euler step followed by the model's implicit terms, so the schemes stay
convex combinations of Euler steps (Gottlieb, Shu & Tadmor 2001, SIAM Rev. 43).
"""

from __future__ import annotations

from .state import State

TIME_STEPPERS = {}


def register(name):
    def deco(cls):
        TIME_STEPPERS[name] = cls
        cls.name = name
        return cls

    return deco


def _euler(model, state: State, t: float, dt: float, out: State):
    k = model.tendency(state, t)
    model.euler_stage(state, k, dt, out)
    return k.boundary_outflow * dt


@register("euler")
class ForwardEuler:
    """First-order forward Euler.

    Not for gravity waves with the second-order (limited) reconstruction: the semi-discrete
    operator's eigenvalues lie near the imaginary axis, where |1 + λΔt| > 1; the energy of a
    closed frictionless basin (tests/test_stability.py) grows 53-fold over 30 wave crossings at
    cfl 0.9 and 9-fold at 0.45. ANUGA's DE0 pairs its Euler step with a limiter relaxed to
    β = 0.5 for the same reason. Use it first order (``limiter=None``) or for tests."""

    order = 1

    def __init__(self, n_face: int):
        self._tmp = State.zeros(n_face)

    def step(self, model, state: State, t: float, dt: float):
        out = _euler(model, state, t, dt, self._tmp)
        state.assign(self._tmp)
        return out


@register("ssp-rk2")
class SSPRK2:
    """Two-stage, second-order SSP Runge–Kutta (Heun): U¹ = E(U), Uⁿ⁺¹ = ½Uⁿ + ½E(U¹)."""

    order = 2

    def __init__(self, n_face: int):
        self._u1 = State.zeros(n_face)
        self._u2 = State.zeros(n_face)

    def step(self, model, state: State, t: float, dt: float):
        q1 = _euler(model, state, t, dt, self._u1)
        q2 = _euler(model, self._u1, t + dt, dt, self._u2)
        for a, b in ((state.h, self._u2.h), (state.hu, self._u2.hu), (state.hv, self._u2.hv)):
            a += b
            a *= 0.5
        return 0.5 * (q1 + q2)


@register("muscl-hancock")
class MusclHancock:
    """One-stage, second-order MUSCL–Hancock step (van Leer 1984, SIAM J. Sci. Stat. Comput. 5;
    Toro 2009, *Riemann Solvers and Numerical Methods for Fluid Dynamics*, §14.4):
    Uⁿ⁺¹ = Uⁿ + Δt L(Uⁿ⁺½), the fluxes and sources taken from the limited edge values moved to
    t + Δt/2 by the predictor of :meth:`solver.model.ShallowWaterModel.tendency` (``half_step``),
    then the implicit terms. One reconstruction and one flux evaluation per step, where SSP-RK2
    takes two. Second order in time with the second-order reconstruction (faces kept first order
    by the limiter, at wet/dry fronts, are not predicted: a first-order Godunov step there);
    with ``reconstruction=None`` it is forward Euler.

    The predictor carries the Coriolis acceleration (a compiled source) but not the terms that
    run in Python (wind stress, the atmospheric pressure gradient, the tidal potential): they act
    in the update, at t + Δt/2 from the predicted face values, while the predicted edge values
    lack their Δt/2 acceleration — an O(Δt · forcing) error in the fluxes where the flow is not
    uniform (the steady `wind-setup` case is unchanged: slope 1.7e-4, profile 0.62 %). The global
    tide run (:mod:`workflows.global_tides`), forced by the tidal potential, keeps SSP-RK2."""

    order = 2

    def __init__(self, n_face: int):
        pass  # no work arrays: the step updates the state in place

    def step(self, model, state: State, t: float, dt: float):
        k = model.tendency(state, t, half_step=0.5 * dt)
        model.euler_stage(state, k, dt, state)  # face by face, so in place: no copy of the state
        return k.boundary_outflow * dt


@register("ssp-rk3")
class SSPRK3:
    """Three-stage, third-order SSP Runge–Kutta (Shu & Osher 1988, J. Comput. Phys. 77)."""

    order = 3

    def __init__(self, n_face: int):
        self._u1 = State.zeros(n_face)
        self._u2 = State.zeros(n_face)
        self._u3 = State.zeros(n_face)

    def step(self, model, state: State, t: float, dt: float):
        q1 = _euler(model, state, t, dt, self._u1)
        q2 = _euler(model, self._u1, t + dt, dt, self._u2)
        for a, b in ((self._u2.h, state.h), (self._u2.hu, state.hu), (self._u2.hv, state.hv)):
            a *= 0.25
            a += 0.75 * b
        q3 = _euler(model, self._u2, t + 0.5 * dt, dt, self._u3)
        for a, b in ((state.h, self._u3.h), (state.hu, self._u3.hu), (state.hv, self._u3.hv)):
            a *= 1.0 / 3.0
            a += (2.0 / 3.0) * b
        return q1 / 6.0 + q2 / 6.0 + 2.0 * q3 / 3.0
