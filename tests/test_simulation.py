"""The Simulation loop: schedules land on exact times, the NaN check names time and place."""

import numpy as np
import pytest

from solver import Callback, Clock, IterationInterval, NumericalInstability, ShallowWaterModel, Simulation, TimeInterval
from solver.backends import BACKENDS
from solver.builders import rectangle
from solver.state import State, utc


def small_model():
    mesh = rectangle(100.0, 20.0, 10, 2, depth=5.0)
    return ShallowWaterModel(mesh)


def test_time_interval_callbacks_land_on_exact_times():
    model = small_model()
    state = model.initial_state(eta=0.1 * np.cos(np.pi * model.mesh.face_x / 100.0))
    seen = []
    sim = Simulation(
        model, state, stop_time=10.0, callbacks={"c": Callback(lambda s: seen.append(s.clock.time), TimeInterval(2.5))}
    )
    sim.run()
    np.testing.assert_allclose(seen, [0.0, 2.5, 5.0, 7.5, 10.0], atol=1e-9)
    assert sim.clock.time == pytest.approx(10.0)


def test_iteration_interval():
    model = small_model()
    state = model.initial_state(eta=0.0)
    seen = []
    sim = Simulation(
        model,
        state,
        stop_time=1.0,
        dt=0.05,
        callbacks={"c": Callback(lambda s: seen.append(s.clock.iteration), IterationInterval(5))},
    )
    sim.run()
    assert seen == [0, 5, 10, 15, 20]


def test_nan_check_names_time_and_face():
    model = small_model()
    state = model.initial_state(eta=0.0)
    state.hu[7] = np.nan
    sim = Simulation(model, state, stop_time=5.0, clock=Clock(start="2026-11-25T00:00Z"), nan_check=IterationInterval(1))
    with pytest.raises(NumericalInstability) as err:
        sim.run()
    msg = str(err.value)
    assert "2026-11-25T00:00" in msg and "face" in msg and "iteration 1" in msg


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_speed_check_finds_what_the_definitions_give(backend):
    """Non-finite faces (count and first) and the fastest finite face, against the velocity
    written out here: u = √2 h (hu) / √(h⁴ + max(h⁴, ε⁴)), zero where h ≤ ε."""
    mesh = rectangle(1000.0, 400.0, 20, 8, depth=5.0)
    model = ShallowWaterModel(mesh, backend=backend)
    rng = np.random.default_rng(3)
    n = mesh.n_face
    h = rng.uniform(0.0, 3.0, n)
    h[rng.random(n) < 0.2] = 5e-5  # films under the dry depth, fast "velocities" that do not count
    hu, hv = rng.normal(0.0, 2.0, n) * h, rng.normal(0.0, 2.0, n) * h
    hu[h < 1e-4] = 1.0
    eps = model.dry_depth
    u = np.where(h > eps, np.sqrt(2.0) * h * hu / np.sqrt(h**4 + np.maximum(h**4, eps**4)), 0.0)
    v = np.where(h > eps, np.sqrt(2.0) * h * hv / np.sqrt(h**4 + np.maximum(h**4, eps**4)), 0.0)
    speed = np.sqrt(u * u + v * v)
    check = model.speed_check(State(h, hu, hv))
    assert (check.n_nonfinite, check.first_nonfinite, check.fastest_face) == (0, -1, int(np.argmax(speed)))
    assert check.max_speed == pytest.approx(speed.max(), rel=1e-14)
    top = int(np.argmax(speed))
    hv[[5, 9]] = [np.inf, np.nan]
    h[top] = np.nan
    second = int(np.argmax(np.where(np.isin(np.arange(n), [5, 9, top]), -1.0, speed)))
    check = model.speed_check(State(h, hu, hv))
    assert (check.n_nonfinite, check.first_nonfinite, check.fastest_face) == (3, min(5, top), second)
    assert check.max_speed == pytest.approx(speed[second], rel=1e-14)


def test_the_numba_state_check_allocates_no_face_arrays():
    """The check every 10 steps reads the state in one pass: on a 20,000-face mesh it allocates
    less than one face array of float64 (the check used to allocate about ten)."""
    import tracemalloc

    pytest.importorskip("numba")
    mesh = rectangle(10000.0, 5000.0, 100, 50, depth=5.0)
    model = ShallowWaterModel(mesh, backend="numba")
    sim = Simulation(model, model.initial_state(eta=0.2), stop_time=1.0)
    sim.check_finite()  # compiled and loaded
    tracemalloc.start()
    sim.check_finite()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert mesh.n_face == 20000 and peak < 8 * mesh.n_face, peak


def test_a_runaway_speed_stops_the_run_before_it_reaches_nan():
    """A face driven to 80 m/s is finite but unphysical: the check names it; with the bound
    lifted the same run goes on (it is the bound, not the numbers, that stops it)."""
    model = small_model()
    state = model.initial_state(eta=0.0)
    i = 7
    state.hu[i] = 80.0 * state.h[i]
    sim = Simulation(model, state, stop_time=5.0, clock=Clock(start="2026-11-25T00:00Z"), nan_check=IterationInterval(1))
    with pytest.raises(NumericalInstability, match=r"above max_speed 50 m/s .* face \d+ at"):
        sim.run()
    state = model.initial_state(eta=0.0)
    state.hu[i] = 80.0 * state.h[i]
    Simulation(model, state, stop_time=0.5, nan_check=IterationInterval(1), max_speed=None).run()
    assert np.isfinite(state.hu).all()
    # a calm run never trips it
    state = model.initial_state(eta=0.0)
    state.hu[i] = 2.0 * state.h[i]
    Simulation(model, state, stop_time=5.0, nan_check=IterationInterval(1)).run()


def test_times_need_a_timezone():
    with pytest.raises(ValueError, match="no time zone"):
        utc("2026-11-25T00:00")
    assert utc("2026-11-25T01:00+01:00").hour == 0


def test_unknown_schemes_are_refused_with_the_choices():
    mesh = rectangle(10.0, 10.0, 1, 1)
    with pytest.raises(ValueError, match="hll, hllc"):
        ShallowWaterModel(mesh, riemann_solver="roe")
    with pytest.raises(ValueError, match="barth-jespersen"):
        ShallowWaterModel(mesh, limiter="superbee")
    with pytest.raises(ValueError, match="ssp-rk2"):
        Simulation(ShallowWaterModel(mesh), ShallowWaterModel(mesh).initial_state(0.0), stop_time=1.0, time_stepper="rk4")


def test_every_simulation_watches_its_threads_and_leaves_one_thread_alone():
    """Every Simulation carries a CoreShare (solver.core_share) checked each wall second, or
    none with ``core_share=None``; on one thread it changes nothing (the two-thread case runs
    in its own process: tests/test_core_share.py)."""
    import numba

    from solver.core_share import CoreShare

    model = small_model()
    sim = Simulation(model, model.initial_state(0.0), stop_time=2.0)
    assert isinstance(sim.core_share, CoreShare) and sim.core_share.schedule.interval == 1.0
    assert Simulation(model, model.initial_state(0.0), stop_time=2.0, core_share=None).core_share is None
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        seen = []
        sim.callbacks["threads"] = Callback(lambda s: seen.append(numba.get_num_threads()), IterationInterval(1))
        sim.run()
        assert seen and set(seen) == {1} and numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
