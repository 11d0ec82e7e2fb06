"""Boundary conditions: exact inflow volumes, clamped elevation, mass balance with open boundaries."""

import numpy as np
import pytest

from solver import FreeOutflow, ManningFriction, RiverDischarge, ShallowWaterModel, Simulation, TidalElevation
from solver.builders import rectangle


def test_river_discharge_brings_exactly_its_volume():
    mesh = rectangle(1000.0, 200.0, 20, 4, depth=2.0)
    q = 50.0
    model = ShallowWaterModel(mesh, boundary_conditions={"west": RiverDischarge(q)}, friction=ManningFriction(0.03))
    state = model.initial_state(0.0)
    v0 = model.volume(state)
    sim = Simulation(model, state, stop_time=600.0)
    sim.run()
    west = [s.name for s in mesh.boundaries].index("west")
    assert sim.boundary_outflow[west] == pytest.approx(-q * 600.0, rel=1e-12)
    assert model.volume(state) - v0 == pytest.approx(q * 600.0, rel=1e-9)


def test_river_discharge_time_series_callable():
    mesh = rectangle(1000.0, 200.0, 10, 2, depth=2.0)
    model = ShallowWaterModel(mesh, boundary_conditions={"west": RiverDischarge(lambda t: 10.0 + t / 60.0)})
    state = model.initial_state(0.0)
    v0 = model.volume(state)
    Simulation(model, state, stop_time=300.0, time_stepper="ssp-rk2").run()
    # SSP-RK2 integrates a linear-in-time inflow exactly: ∫0^300 (10 + t/60) dt = 3000 + 750
    assert model.volume(state) - v0 == pytest.approx(3750.0, rel=1e-9)


@pytest.mark.parametrize("stepper", ["euler", "ssp-rk2", "ssp-rk3", "lts-rk2"])
def test_mass_balance_with_tide_river_and_outflow(stepper):
    """Volume change equals minus the integrated boundary outflow, to round-off."""
    mesh = rectangle(2000.0, 500.0, 20, 5, depth=lambda x, y: 1.0 + x / 1000.0)
    model = ShallowWaterModel(
        mesh,
        boundary_conditions={
            "east": TidalElevation(lambda t: 0.5 * np.sin(2 * np.pi * t / 1800.0)),
            "west": RiverDischarge(20.0),
            "north": FreeOutflow(),
        },
        friction=ManningFriction(0.025),
    )
    state = model.initial_state(0.0)
    v0 = model.volume(state)
    sim = Simulation(model, state, stop_time=900.0, time_stepper=stepper)
    sim.run()
    balance = model.volume(state) - v0 + sim.boundary_outflow.sum()
    assert abs(balance) / v0 < 1e-12
    assert state.h.min() >= 0.0


def test_clamped_elevation_holds_the_boundary_level():
    """A slow tide through a short deep channel: the surface at the mouth follows η_ext closely."""
    mesh = rectangle(500.0, 50.0, 20, 1, depth=10.0)
    amp, period = 0.3, 3600.0
    model = ShallowWaterModel(mesh, boundary_conditions={"west": TidalElevation(lambda t: amp * np.sin(2 * np.pi * t / period))})
    state = model.initial_state(0.0)
    sim = Simulation(model, state, stop_time=period / 4)
    sim.run()
    mouth = mesh.face_x < 500.0 / 20
    assert np.max(np.abs(model.eta(state)[mouth] - amp)) < 0.01 * amp


def test_missing_and_unknown_boundaries_are_refused():
    mesh = rectangle(10.0, 10.0, 2, 2).with_boundaries(
        [s if s.name != "west" else type(s)("west", "open", s.node_ids) for s in rectangle(10.0, 10.0, 2, 2).boundaries]
    )
    with pytest.raises(ValueError, match="open boundary 'west' has no condition"):
        ShallowWaterModel(mesh)
    with pytest.raises(KeyError, match="mesh has only"):
        ShallowWaterModel(mesh, boundary_conditions={"west": FreeOutflow(), "ocean": FreeOutflow()})


def test_forcing_with_wrong_node_count_is_refused():
    mesh = rectangle(100.0, 10.0, 4, 1, depth=5.0)
    model = ShallowWaterModel(mesh, boundary_conditions={"west": TidalElevation(lambda t: np.zeros(7))})
    with pytest.raises(ValueError, match="7 values for a segment of 2 nodes"):
        Simulation(model, model.initial_state(0.0), stop_time=10.0).run()


def _edge_states(u, v, h=10.0):
    from solver.boundaries import EdgeStates

    n = len(u)
    h = np.full(n, h)
    return EdgeStates(h - 10.0, h, np.asarray(u, float), np.asarray(v, float), np.full(n, -10.0))


def test_clamped_tide_takes_the_tangential_velocity_from_outside_only_where_water_enters():
    # outward normal +x: u > 0 leaves, u < 0 enters; the tangential component is v
    bc = TidalElevation(0.0)
    bc.bind(np.array([[0, 1], [0, 1]]), 2)
    normal = np.array([[1.0, 0.0], [1.0, 0.0]])
    eta_g, h_g, u_g, v_g = bc.ghost(0.0, _edge_states([0.5, -0.5], [0.3, 0.3]), normal, 9.81)
    assert v_g[0] == pytest.approx(0.3)  # outflow: carried out from inside
    assert v_g[1] == 0.0  # inflow: the external (unknown, zero) tangential velocity
    assert eta_g == pytest.approx([0.0, 0.0])
    assert u_g == pytest.approx([0.5, -0.5])  # the normal component is the interior's


def test_clamped_tide_does_not_pull_water_into_a_drawn_down_face():
    """A face next to the boundary 8 m below the tide level: the ghost keeps the interior's normal
    velocity (here 0.2 m/s inwards) instead of the outgoing-invariant value u_n − 2(√(g h_g) − √(g h))
    (−11.2 m/s), the dam break that dug a 28 m hole at the St George's Channel boundary."""
    bc = TidalElevation(0.0)
    bc.bind(np.array([[0, 1]]), 2)
    normal = np.array([[1.0, 0.0]])
    s = _edge_states([-0.2], [0.0], h=2.0)  # bed −10 m, surface −8 m
    eta_g, h_g, u_g, v_g = bc.ghost(0.0, s, normal, 9.81)
    assert h_g == pytest.approx([10.0]) and eta_g == pytest.approx([0.0])
    assert u_g == pytest.approx([-0.2]) and v_g == pytest.approx([0.0])


@pytest.mark.parametrize("h_inside", [8.0, 5.0])
def test_a_raised_boundary_level_sends_the_bore_of_rankine_hugoniot(h_inside):
    """Channel at rest, depth h1; the open boundary holds the level at h0 = 10 m from t = 0. Exact
    solution (Stoker 1957, ch. 10; the held-level piston problem): a uniform state (h0, u0) behind
    a bore, u0 = (h0 − h1)√(g(h0 + h1)/(2 h0 h1)), bore speed s = h0 u0/(h0 − h1)."""
    from solver.state import State

    g, h0, h1, T = 9.81, 10.0, h_inside, 300.0
    mesh = rectangle(20000.0, 500.0, 200, 2, depth=h0)
    model = ShallowWaterModel(mesh, boundary_conditions={"west": TidalElevation(0.0)})
    state = State(np.full(mesh.n_face, h1), np.zeros(mesh.n_face), np.zeros(mesh.n_face))
    Simulation(model, state, stop_time=T).run()
    u0 = (h0 - h1) * np.sqrt(g * (h0 + h1) / (2 * h0 * h1))
    s = h0 * u0 / (h0 - h1)
    exact_h = np.where(mesh.face_x < s * T, h0, h1)
    behind = mesh.face_x < 0.8 * s * T
    assert np.mean(np.abs(state.h - exact_h)) / np.mean(exact_h) < 2e-3
    assert np.median(state.hu[behind] / state.h[behind]) == pytest.approx(u0, rel=5e-3)
    assert np.median(state.h[behind]) == pytest.approx(h0, rel=2e-3)


def test_half_cosine_ramp_starts_the_tide_smoothly():
    from solver import HalfCosineRamp

    r = HalfCosineRamp(3600.0)
    assert [r(-1.0), r(0.0), r(1800.0), r(3600.0), r(1e6)] == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    # slope zero at both ends: (r(δ) − r(0)) / δ → 0
    assert (r(1.0) - r(0.0)) / 1.0 < 1e-6 and (r(3600.0) - r(3599.0)) / 1.0 < 1e-6
    bc = TidalElevation(lambda t: np.array([2.0, 2.0]), mean_level=0.5, ramp=r)
    bc.bind(np.array([[0, 1]]), 2)
    s = _edge_states([0.0], [0.0])
    normal = np.array([[1.0, 0.0]])
    assert bc.ghost(0.0, s, normal, 9.81)[0] == pytest.approx([0.5])
    assert bc.ghost(1800.0, s, normal, 9.81)[0] == pytest.approx([1.5])
    assert bc.ghost(7200.0, s, normal, 9.81)[0] == pytest.approx([2.5])
    with pytest.raises(ValueError, match="positive"):
        HalfCosineRamp(0.0)
