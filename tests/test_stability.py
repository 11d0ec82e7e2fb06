"""The deep-water relaxation of the stable step (solver.stability.DeepWaterStep).

Layers: a hand-built fixture for which faces are relaxed; the analytic co-oscillating tide of a
frictionless channel and a conservation law (the energy of a closed frictionless basin never
grows) with the longer step, global and local.
"""

import numpy as np
import pytest

from solver.builders import rectangle
from solver.model import ShallowWaterModel
from solver.simulation import Simulation
from solver.stability import DeepWaterStep
from solver.verification import run_case


def _strip():
    """A 6 × 2 rectangle of 24 triangles, 20 m deep."""
    return rectangle(6.0, 2.0, 6, 2, depth=20.0)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_relaxes_only_deep_faces_with_deep_neighbours(backend):
    """One face 1 m deep in water 20 m deep: it and its edge neighbours keep the positivity
    bound, every other face gets twice it (compared with a model without the relaxation)."""
    from solver.state import State

    mesh = _strip()
    shallow = 14  # an interior face
    nbrs = [int(j) for j in mesh.face_face_connectivity[shallow] if j >= 0]
    assert len(nbrs) == 3
    h = np.full(mesh.n_face, 20.0)
    h[shallow] = 1.0
    state = State(h, 0.3 * h, -0.1 * h)
    strict = ShallowWaterModel(mesh, backend=backend).face_stable_times(state)
    model = ShallowWaterModel(mesh, deep_water_step=DeepWaterStep(depth=5.0, factor=2.0), backend=backend)
    ratio = model.face_stable_times(state) / strict
    expected = np.full(mesh.n_face, 2.0)
    expected[[shallow] + nbrs] = 1.0
    np.testing.assert_array_equal(ratio, expected)
    # the global step is the smallest relaxed time: a neighbour of the shallow face or the face
    assert model.stable_dt(state, 0.9) == pytest.approx(
        0.9 * min(strict[[shallow] + nbrs].min(), 2 * np.delete(strict, [shallow] + nbrs).min())
    )


def test_factor_one_is_the_positivity_bound_and_bad_values_are_refused():
    mesh = _strip()
    state = ShallowWaterModel(mesh).initial_state(0.0)
    a = ShallowWaterModel(mesh).face_stable_times(state)
    b = ShallowWaterModel(mesh, deep_water_step=DeepWaterStep(factor=1.0)).face_stable_times(state)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="factor must be between 1 and 2"):
        DeepWaterStep(factor=3.0)
    with pytest.raises(ValueError, match="depth must be positive"):
        DeepWaterStep(depth=0.0)


@pytest.mark.parametrize("time_stepper", ["ssp-rk2", "lts-rk2"])
def test_tidal_channel_with_the_longer_step(time_stepper):
    """Co-oscillating tide of a frictionless 10 m channel against linear theory: the same
    tolerance as the positivity bound, with about half the steps."""
    strict = run_case("tidal-channel", time_stepper=time_stepper)
    relaxed = run_case("tidal-channel", time_stepper=time_stepper, deep_water_step=DeepWaterStep())
    assert relaxed.passed, relaxed.metrics
    assert relaxed.info["steps"] < 0.6 * strict.info["steps"]
    # the error changes little with the step (it is set by the mesh)
    err_s = strict.metrics["max_eta_error_over_amplitude"].value
    err_r = relaxed.metrics["max_eta_error_over_amplitude"].value
    assert err_r < 1.5 * err_s + 1e-3


def _energy(model, state):
    h = state.h
    u, v = model.velocity(state)
    eta = model.eta(state)
    return float(np.sum(model.area * (0.5 * h * (u * u + v * v) + 0.5 * model.gravity * eta**2)))


def _basin_energies(time_stepper, deep_water_step, cfl, crossings=30):
    """Energy after every step of a frictionless closed basin over a sloping bed (10–40 m deep),
    started from a tilted surface, for ``crossings`` gravity-wave crossings; and E(0)."""
    from solver.schedules import Callback, IterationInterval
    from solver.simulation import NumericalInstability

    mesh = rectangle(2000.0, 1000.0, 20, 10, depth=lambda x, y: 10.0 + 30.0 * x / 2000.0)
    model = ShallowWaterModel(mesh, deep_water_step=deep_water_step)
    state = model.initial_state(eta=0.5 * np.cos(np.pi * mesh.face_x / 2000.0) * np.cos(np.pi * mesh.face_y / 1000.0))
    e0 = _energy(model, state)
    energies = [e0]
    sim = Simulation(model, state, stop_time=crossings * 2000.0 / np.sqrt(9.81 * 25.0), time_stepper=time_stepper, cfl=cfl)
    sim.callbacks["energy"] = Callback(lambda s: energies.append(_energy(model, s.state)), IterationInterval(1))
    try:
        sim.run()
    except NumericalInstability:
        energies.append(np.inf)
    return np.array(energies), e0


@pytest.mark.parametrize("time_stepper", ["ssp-rk2", "lts-rk2"])
def test_closed_basin_energy_never_grows_with_the_longer_step(time_stepper):
    """The total energy ∫ ½ h |u|² + ½ g η² dA of the shallow-water equations in a closed
    frictionless basin is conserved by the exact solution and may only decrease under the
    dissipative scheme. With the longer deep-water step (the whole basin is deeper than 5 m) it
    never rises in any step over 30 wave crossings; a step 1.5 times longer still (cfl 2.7 with
    the positivity bound, the factor 3 where the Channel/Biscay forecast departs) makes it rise."""
    e, e0 = _basin_energies(time_stepper, DeepWaterStep(), 0.9)
    assert np.all(np.diff(e) <= 1e-12 * e0), f"energy rose by {np.max(np.diff(e)) / e0:.2e} of E0 in one step"
    assert 0.5 * e0 < e[-1] < e0  # dissipative, but the seiche is still there
    beyond, b0 = _basin_energies(time_stepper, None, 2.7)
    assert np.max(np.diff(beyond)) > 1e-3 * b0


@pytest.mark.parametrize("time_stepper", ["muscl-hancock", "lts-muscl-hancock"])
def test_muscl_hancock_is_stable_with_the_longer_step(time_stepper):
    """MUSCL–Hancock is not a convex combination of Euler steps, so the discrete energy may
    wobble: with the longer deep-water step it rises in a few steps by at most a few 1e-6 of
    E(0) (the limiter switching at the seiche's extrema; none at cfl 1.35 without it), never
    above E(0), and decays over the 30 crossings — less than SSP-RK2's (0.73 against 0.67 of
    E(0) left): the predictor cancels part of the upwind dissipation. Forward Euler, the same
    step without the predictor, grows 53-fold here; a step 1.5 times longer still grows."""
    e, e0 = _basin_energies(time_stepper, DeepWaterStep(), 0.9)
    assert np.max(np.diff(e)) <= 1e-5 * e0, f"energy rose by {np.max(np.diff(e)) / e0:.2e} of E0 in one step"
    assert np.max(e) == e0
    assert 0.6 * e0 < e[-1] < 0.8 * e0
    beyond, b0 = _basin_energies(time_stepper, None, 2.7)
    assert np.max(np.diff(beyond)) > 1e-3 * b0
