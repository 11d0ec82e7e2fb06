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


@pytest.mark.parametrize("stepper", ["euler", "ssp-rk2", "ssp-rk3"])
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
