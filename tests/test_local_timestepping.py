"""Local time stepping (solver.local_timestepping): stable levels, exact conservation across
level interfaces, and the same answer as the global scheme to within its own time error, for
both local steppers (Heun stages and MUSCL–Hancock steps on the levels)."""

import numpy as np
import pytest

from solver import Coriolis, ManningFriction, ShallowWaterModel, Simulation, TidalElevation, Wall
from solver.builders import rectangle
from solver.local_timestepping import LocalMusclHancock, LocalSSPRK2

LOCAL = {"lts-rk2": LocalSSPRK2, "lts-muscl-hancock": LocalMusclHancock}
"""Each local stepper by name; its :attr:`global_stepper` is the scheme it reduces to."""


def shelf_model(backend=None, n=24):
    """A 60 km × 20 km basin, 2000 m deep in the west rising to 10 m in the east: the local
    stable step varies 14-fold, so faces fall on all four levels."""
    mesh = rectangle(60e3, 20e3, n, n // 3, depth=lambda x, y: 10.0 + 1990.0 / (1.0 + np.exp((x - 20e3) / 4e3)))
    kw = {} if backend is None else {"backend": backend}
    model = ShallowWaterModel(
        mesh,
        boundary_conditions={
            "west": TidalElevation(lambda t: 0.5 * np.sin(2 * np.pi * t / 3600.0)),
            "east": Wall(),
            "north": Wall(),
            "south": Wall(),
        },
        friction=ManningFriction(0.025),
        coriolis=Coriolis(1e-4),
        **kw,
    )
    return model


def lts_simulation(model, state, stepper="lts-rk2", **kw):
    """A Simulation with local time steps kept on their levels whatever they save
    (``min_saving=0``; by default a small mesh whose levels save little takes global steps):
    these tests are about the levels' arithmetic."""
    sim = Simulation(model, state, time_stepper=stepper, **kw)
    sim.stepper = LOCAL[stepper](model.mesh.n_face, min_saving=0.0)
    sim.stepper.cfl = sim.cfl
    return sim


@pytest.mark.parametrize("stepper", sorted(LOCAL))
def test_levels_are_stable_and_graded(stepper):
    """Every face's step 2^j δ is within its own CFL bound; edge neighbours differ by ≤ 1 level."""
    model = shelf_model()
    state = model.initial_state(eta=0.0)
    sim = lts_simulation(model, state, stepper, stop_time=600.0)
    sim.run()
    lts = sim.stepper
    counts = lts.level_counts
    assert (counts > 0).sum() >= 3, counts
    dt = sim.last_dt
    delta = dt / 2**lts.K
    own = 0.9 * model.mesh.face_cfl_length / np.sqrt(9.81 * state.h)  # at rest after 600 s: |u| ≪ c
    assert np.all(delta * 2.0**lts.level <= own * 1.05)
    ff = model.mesh.face_face_connectivity
    nb = ff >= 0
    assert np.all(np.abs(lts.level[:, None] - lts.level[np.maximum(ff, 0)])[nb] <= 1)


@pytest.mark.parametrize("stepper", sorted(LOCAL))
def test_volume_is_conserved_across_level_interfaces(stepper):
    """Closed basin, wetting beach, friction and Coriolis: the volume changes by round-off only."""
    mesh = rectangle(30e3, 6e3, 30, 6, depth=lambda x, y: 200.0 - x * 201.0 / 30e3)  # 200 m to 1 m above datum
    model = ShallowWaterModel(mesh, friction=ManningFriction(0.03), coriolis=Coriolis(1e-4), dry_depth=1e-4)
    state = model.initial_state(eta=0.5 * np.exp(-(((mesh.face_x - 8e3) / 3e3) ** 2)))
    v0 = model.volume(state)
    sim = lts_simulation(model, state, stepper, stop_time=1800.0)
    sim.run()
    assert (sim.stepper.level_counts > 0).sum() >= 3
    assert abs(model.volume(state) - v0) / v0 < 1e-13
    assert state.h.min() >= 0.0


def test_agrees_with_global_steps():
    """A tide entering the shelf (amplified to about 0.8 m at the coast): LTS and global SSP-RK2
    differ by less than 0.5 % of the largest elevation, well inside the 1–2 % the tidal cases of
    the verification catalogue allow (LTS is first order in time only across level interfaces)."""
    runs = {}
    for stepper in ("ssp-rk2", "lts-rk2"):
        model = shelf_model()
        state = model.initial_state(eta=0.0)
        sim = (
            lts_simulation(model, state, stop_time=3600.0) if stepper == "lts-rk2" else Simulation(model, state, stop_time=3600.0)
        )
        sim.run()
        runs[stepper] = (model.eta(state), sim.clock.iteration)
    (a, n_global), (b, n_local) = runs["ssp-rk2"], runs["lts-rk2"]
    assert n_local * 4 < n_global * 1.2  # the coarsest level takes up to 8 base steps at once
    assert np.max(np.abs(a)) > 0.5
    assert np.max(np.abs(a - b)) < 5e-3 * np.max(np.abs(a)), np.max(np.abs(a - b))


@pytest.fixture(scope="module")
def shelf_reference():
    """The shelf tide after 1 h on a mesh twice as fine (global SSP-RK2): (face x, face y, η)."""
    fine = shelf_model(n=48)
    state = fine.initial_state(eta=0.0)
    Simulation(fine, state, stop_time=3600.0).run()
    return fine.mesh.face_x, fine.mesh.face_y, fine.eta(state)


@pytest.mark.parametrize("local", sorted(LOCAL))
def test_local_steps_are_as_accurate_as_global_steps(local, shelf_reference):
    """Against the same tide on a mesh twice as fine (SSP-RK2, sampled at the nearest face
    centre), each local stepper's surface after 1 h is as accurate as global SSP-RK2's on the
    coarse mesh (mean |Δη| within 2 %). MUSCL–Hancock on the levels differs from global steps by
    about 2 % of the largest elevation here — its error is O(Δt Δx), and every level runs near
    its own stability limit — but that moves it towards the finer mesh's answer, not away."""
    from scipy.spatial import cKDTree

    fx, fy, f_eta = shelf_reference
    errors = {}
    for stepper in ("ssp-rk2", local):
        model = shelf_model()
        state = model.initial_state(eta=0.0)
        if stepper == local:
            sim = lts_simulation(model, state, local, stop_time=3600.0)
        else:
            sim = Simulation(model, state, stop_time=3600.0)
        sim.run()
        if stepper == local:
            assert (sim.stepper.level_counts > 0).sum() >= 3
        near = cKDTree(np.c_[fx, fy]).query(np.c_[model.mesh.face_x, model.mesh.face_y])[1]
        errors[stepper] = np.mean(np.abs(model.eta(state) - f_eta[near]))
    assert errors[local] <= 1.02 * errors["ssp-rk2"], errors


def test_needs_the_numba_backend():
    model = shelf_model(backend="numpy", n=6)
    with pytest.raises(ValueError, match="lts-rk2.*numba"):
        Simulation(model, model.initial_state(eta=0.0), stop_time=10.0, time_stepper="lts-rk2").run()


@pytest.mark.parametrize("local", sorted(LOCAL))
def test_one_level_is_the_global_scheme(local):
    """With a single level LTS is exactly its global scheme (Heun's method, MUSCL–Hancock)."""
    cls = LOCAL[local]
    out = []
    for stepper in (cls.global_stepper.name, cls):
        model = shelf_model(n=12)
        state = model.initial_state(eta=0.0)
        sim = Simulation(model, state, stop_time=300.0, dt=2.0, time_stepper=cls.global_stepper.name)
        if stepper is cls:
            sim.stepper = cls(model.mesh.n_face, n_levels=1)
        sim.run()
        out.append(state.h.copy())
    assert np.abs(out[0] - shelf_model(n=12).initial_state(eta=0.0).h).max() > 1e-3  # the tide came in
    np.testing.assert_allclose(out[1], out[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("stepper", sorted(LOCAL))
def test_restart_at_a_whole_hour_continues_bit_for_bit(stepper):
    """Levels depend only on the state at each hour (``regroup``) and on stability, so two 1-h
    runs equal one 2-h run exactly, as the forecast cycle's segments and hot starts require."""
    from solver import Callback, Clock, TimeInterval

    model = shelf_model()
    full = model.initial_state(eta=0.0)
    hourly = {"hourly": Callback(lambda s: None, TimeInterval(3600.0))}
    sim = lts_simulation(model, full, stepper, stop_time=7200.0, callbacks=hourly)
    sim.run()
    assert (sim.stepper.level_counts > 0).sum() >= 3
    model = shelf_model()
    state = model.initial_state(eta=0.0)
    lts_simulation(model, state, stepper, stop_time=3600.0).run()
    clock = Clock(time=3600.0)
    lts_simulation(model, state, stepper, stop_time=7200.0, clock=clock).run()
    for name in ("h", "hu", "hv"):
        assert getattr(state, name).tobytes() == getattr(full, name).tobytes(), name


def test_physics_terms_on_a_subset_equal_the_full_mesh_rows():
    """Each level evaluates the explicit terms on its own faces only: same numbers as the full mesh."""
    from solver.terms import AtmosphereSample, AtmosphericPressureGradient, WindStress

    mesh = rectangle(4000.0, 2000.0, 8, 4, depth=lambda x, y: 2.0 + x / 1000.0)

    class Graded:
        def sample(self, t):
            x, y = mesh.node_x / 4000.0, mesh.node_y / 2000.0
            return AtmosphereSample(8.0 + 4.0 * y + 1e-4 * t, -3.0 + 6.0 * x, 101325.0 - 800.0 * x + 300.0 * x * y)

    model = ShallowWaterModel(mesh)
    rng = np.random.default_rng(1)
    h = rng.uniform(0.0, 3.0, mesh.n_face)
    u, v = rng.normal(size=(2, mesh.n_face))
    wet = h > 0.5
    faces = np.array([0, 3, 7, 20, mesh.n_face - 1])
    for term in (Coriolis(1e-4), WindStress(Graded()), AtmosphericPressureGradient(Graded())):
        full = term.momentum_tendency(model, h, u, v, wet, 600.0)
        part = term.momentum_tendency(model, h, u, v, wet, 600.0, faces=faces)
        for a, b in zip(full, part):
            assert np.any(a[faces] != 0.0)
            np.testing.assert_array_equal(b, a[faces])


def thacker_bowl(n):
    """Thacker's planar oscillation in a paraboloid (a = 1 m, h0 = 0.1 m, η = 0.5): the model,
    its initial state, one period (s) and the analytic depth at the end (cell averages)."""
    from solver.state import State
    from solver.verification import analytic
    from solver.verification.cases import _cell_average

    a, h0, eta = 1.0, 0.1, 0.5
    mesh = rectangle(4.0, 4.0, n, n, x0=-2.0, y0=-2.0, depth=lambda x, y: h0 * (1 - (x**2 + y**2) / a**2))
    model = ShallowWaterModel(mesh, dry_depth=1e-6)
    h = _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, 0.0, a, h0, eta)[0])
    _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, a, h0, eta)
    period = analytic.thacker_period(a, h0)
    exact = _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, period, a, h0, eta)[0])
    return model, State(h, h * u, h * v), period, exact


def _l1(model, h, exact):
    return float(np.sum(model.area * np.abs(h - exact)) / np.sum(model.area))


def test_moving_shoreline_does_not_rebuild_the_levels_every_step():
    """Thacker's bowl with the levels forced on (``min_saving=0``). Thin films at the moving
    shoreline set the smallest step and change speed from step to step; the levels used to be
    reassigned (index sets rebuilt, about 4 global steps of work each) at 183 of 186 steps. Now a
    regroup within an interval only moves faces to finer levels, and it happens only when the
    current levels would cost 1.25× the best step: after a regroup every face has
    Δt_i / 2^level_i ≥ min Δt, so each later regroup must lower some face's level and cannot
    repeat at every step (7 in 103 steps here). LTS still matches the global stepper's error
    against the analytic solution to 0.5 % (measured 0.2 %; without the refluxing, the
    prediction of the finer neighbours or the edge-flux integrals the difference is 0.7–2.6 %).
    Volume: 5e-8 relative change (the levels rebuilt at every step lost 4e-6; global steps
    conserve to round-off: a gap at the drying front with local steps, not yet explained)."""
    model, state, period, exact = thacker_bowl(16)
    Simulation(model, state, stop_time=period, time_stepper="ssp-rk2").run()
    err_global = _l1(model, state.h, exact)

    model, state, period, exact = thacker_bowl(16)
    v0 = model.volume(state)
    sim = Simulation(model, state, stop_time=period, time_stepper="lts-rk2")
    sim.stepper = LocalSSPRK2(model.mesh.n_face, min_saving=0.0)
    sim.run()
    lts = sim.stepper
    assert not lts.global_steps and (lts.level_steps > 0).all(), lts.level_steps
    assert lts.rebuilds <= sim.clock.iteration // 4, (lts.rebuilds, sim.clock.iteration)
    assert abs(_l1(model, state.h, exact) - err_global) <= 5e-3 * err_global, (_l1(model, state.h, exact), err_global)
    assert abs(model.volume(state) - v0) / v0 < 5e-7


def test_levels_that_do_not_pay_give_global_steps():
    """On Thacker's bowl every wet face is within a factor 2 of the fastest wave (|u| dominates
    near the shoreline), so the levels would save under 20 % of the work: lts-rk2 takes exactly
    the global SSP-RK2 steps (same face updates, same answer) instead of losing time to its
    per-level passes."""
    model, state, period, _ = thacker_bowl(16)
    g = Simulation(model, state, stop_time=period, time_stepper="ssp-rk2").run()
    h_global = state.h.copy()
    model, state, period, _ = thacker_bowl(16)
    sim = Simulation(model, state, stop_time=period, time_stepper="lts-rk2").run()
    assert sim.stepper.global_steps
    assert sim.stepper.face_updates <= 1.1 * g.clock.iteration * model.mesh.n_face
    np.testing.assert_array_equal(state.h, h_global)


def test_tidal_flat_levels_pay_and_follow_the_shoreline():
    """A 50 m channel, a shelf edge and 32 km of flats flooding under a 2 m tide for 3 hours:
    the levels stay (under half the global stepper's face updates), are reassigned a few times
    only (once per hour and when the flooding front leaves its band: 4 measured; the limit
    allows 3 more), and the elevation stays within 5 % of the tide's range of the global
    stepper's, where the front's position differs by a fraction of a face. (The fixed cost of
    each level's passes is left out of the decision here: on this 1,280-triangle mesh it makes
    the stepper take global steps, as ``test_levels_that_do_not_pay_give_global_steps``.)"""
    length = 40e3
    mesh = rectangle(length, 8e3, 40, 8, depth=lambda x, y: 2.0 - 5.0 * (x - 8e3) / 32e3 + 48.0 / (1.0 + np.exp((x - 5e3) / 1e3)))
    runs = {}
    for stepper in ("ssp-rk2", "lts-rk2"):
        tide = TidalElevation(lambda t: 2.0 * np.sin(2 * np.pi * t / 44712.0))
        model = ShallowWaterModel(
            mesh,
            boundary_conditions={"west": tide, "east": Wall(), "north": Wall(), "south": Wall()},
            friction=ManningFriction(0.025),
            dry_depth=1e-3,
        )
        state = model.initial_state(eta=0.0)
        sim = Simulation(model, state, stop_time=3 * 3600.0, time_stepper=stepper)
        if stepper == "lts-rk2":  # levels on, however small the mesh (the cost model would pick global steps)
            sim.stepper = LocalSSPRK2(mesh.n_face, step_overhead=0)
        runs[stepper] = (model.eta(state), sim.run())
    (a, g), (b, s) = runs["ssp-rk2"], runs["lts-rk2"]
    lts = s.stepper
    assert not lts.global_steps and (lts.level_steps > 0).all(), lts.level_steps
    assert lts.face_updates < 0.5 * g.clock.iteration * mesh.n_face
    assert lts.rebuilds <= 7, lts.rebuilds
    assert np.max(np.abs(a - b)) < 0.05 * 4.0, np.max(np.abs(a - b))
