"""Hot start (solver.output.checkpoint): a run of 2T equals a run of T plus a restart of T, bit for bit."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import netCDF4
import numpy as np
import pytest

from solver import (
    Callback,
    Clock,
    IterationInterval,
    ManningFriction,
    ShallowWaterModel,
    Simulation,
    State,
    TidalElevation,
    TimeInterval,
)
from solver.builders import rectangle
from solver.output import (
    Checkpointer,
    RestartError,
    UGRIDFieldWriter,
    load_restart,
    mesh_fingerprint,
)
from solver.output.checkpoint import load_boundary_outflow, write_restart

START = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
T = 250.0


def make_mesh(**kw):
    return rectangle(2000.0, 1000.0, 8, 4, depth=lambda x, y: 3.0 - 3.5 * (x - kw.get("x0", 0.0)) / 2000.0, **kw)


def make_model(mesh):
    tide = TidalElevation(lambda t: 0.1 * np.sin(2 * np.pi * t / 600.0))
    return ShallowWaterModel(mesh, boundary_conditions={"west": tide}, friction=ManningFriction(0.025))


def run(model, state, clock, stop, restart_path, fields_path, steps):
    return Simulation(
        model,
        state,
        stop_time=stop,
        clock=clock,
        output_writers={
            "restart": Checkpointer(restart_path, TimeInterval(T)),
            "fields": UGRIDFieldWriter(fields_path, TimeInterval(60.0)),
        },
        callbacks={"steps": Callback(lambda s: steps.append((s.clock.time, s.last_dt, s.clock.iteration)), IterationInterval(1))},
    ).run()


def test_run_of_2T_equals_run_of_T_plus_restart_of_T_bit_for_bit(tmp_path):
    mesh = make_mesh()
    full_steps, first_steps, second_steps = [], [], []
    model = make_model(mesh)
    full = run(model, model.initial_state(0.0), Clock(start=START), 2 * T, tmp_path / "full.nc", tmp_path / "f1.nc", full_steps)

    model = make_model(mesh)
    first = run(model, model.initial_state(0.0), Clock(start=START), T, tmp_path / "restart.nc", tmp_path / "f2.nc", first_steps)
    model = make_model(mesh)  # a fresh model, as in the next cycle's process
    state, clock = load_restart(tmp_path / "restart.nc", model)
    assert clock.start == START and clock.time == first.clock.time == T and clock.iteration == first.clock.iteration
    np.testing.assert_array_equal(state.h, first.state.h)
    second = run(model, state, clock, 2 * T, tmp_path / "restart2.nc", tmp_path / "f3.nc", second_steps)

    # the restarted run took exactly the uninterrupted run's steps after T ...
    n1 = first.clock.iteration
    assert full_steps[: n1 + 1] == first_steps
    assert full_steps[n1 + 1 :] == second_steps
    assert len(second_steps) > 50
    # ... and ends in the identical state
    assert second.clock.time == full.clock.time and second.clock.iteration == full.clock.iteration
    for name in ("h", "hu", "hv"):
        a, b = getattr(full.state, name), getattr(second.state, name)
        assert a.tobytes() == b.tobytes(), name
    assert np.abs(full.state.hu).max() > 0.05  # the tide is flowing, so the comparison means something
    # the checkpoint written at 2T is the final state, exactly
    s2, c2 = load_restart(tmp_path / "full.nc", make_model(mesh))
    assert c2.time == 2 * T and c2.iteration == full.clock.iteration
    assert s2.hv.tobytes() == full.state.hv.tobytes()
    np.testing.assert_array_equal(load_boundary_outflow(tmp_path / "full.nc"), full.boundary_outflow)
    assert not (tmp_path / "full.nc.part").exists()


def test_restart_from_another_mesh_is_refused(tmp_path):
    mesh = make_mesh()
    model = make_model(mesh)
    sim = SimpleNamespace(
        model=model,
        state=model.initial_state(0.0),
        clock=Clock(start=START, time=60.0, iteration=7),
        boundary_outflow=np.zeros(4),
    )
    write_restart(tmp_path / "restart.nc", sim)

    other = make_model(rectangle(2000.0, 1000.0, 8, 5, depth=2.0))
    with pytest.raises(
        RestartError, match=r"n_face=128, n_node=77.* has n_face=160, n_node=94, fingerprint \w+; a hot start needs the same mesh"
    ) as e:
        load_restart(tmp_path / "restart.nc", other)
    assert "\n" not in str(e.value)

    shifted = make_model(make_mesh(x0=10.0))  # same counts, moved coordinates
    assert shifted.mesh.n_face == mesh.n_face
    with pytest.raises(RestartError, match=f"fingerprint {mesh_fingerprint(mesh)[:12]}"):
        load_restart(tmp_path / "restart.nc", shifted)


def test_checkpoint_overwrites_atomically_and_survives_a_failed_write(tmp_path):
    mesh = make_mesh()
    model = make_model(mesh)
    path = tmp_path / "restart.nc"
    st = model.initial_state(0.0)
    write_restart(path, SimpleNamespace(model=model, state=st, clock=Clock(start=START, time=10.0, iteration=1)))
    st2 = State(st.h + 0.5, st.hu + 1.0, st.hv)
    write_restart(path, SimpleNamespace(model=model, state=st2, clock=Clock(start=START, time=20.0, iteration=2)))
    got, clock = load_restart(path, model)
    assert clock.time == 20.0 and clock.iteration == 2
    np.testing.assert_array_equal(got.hu, st2.hu)

    class Broken:
        def __array__(self, *a, **k):
            raise RuntimeError("disk full")

    bad = SimpleNamespace(model=model, state=State(st.h, Broken(), st.hv), clock=Clock(start=START, time=30.0, iteration=3))
    with pytest.raises(RuntimeError, match="disk full"):
        write_restart(path, bad)
    got, clock = load_restart(path, model)  # the previous checkpoint is intact
    assert clock.time == 20.0
    assert not (tmp_path / "restart.nc.part").exists()


def test_bad_restart_files_give_one_line_errors(tmp_path):
    model = make_model(make_mesh())
    with pytest.raises(RestartError, match="does not exist"):
        load_restart(tmp_path / "nope.nc", model)
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(RestartError, match="not a readable NetCDF file"):
        load_restart(junk, model)
    other = tmp_path / "other.nc"
    with netCDF4.Dataset(other, "w") as ds:
        ds.title = "something else"
    with pytest.raises(RestartError, match="lacks clock_start.*not a coastcast restart file"):
        load_restart(other, model)


def _restart_of_a_flowing_state(tmp_path, mesh):
    """A restart file of ``mesh`` after 200 s of the tide (values differ from face to face)."""
    model = make_model(mesh)
    sim = Simulation(model, model.initial_state(0.0), stop_time=200.0, clock=Clock(start=START)).run()
    write_restart(tmp_path / "restart.nc", sim)
    return sim


def test_restart_with_faces_in_another_order_is_matched_by_their_nodes(tmp_path):
    """The solver numbers faces in its own memory order; a restart names each face by its nodes,
    so the same mesh with its faces renumbered (and their corners rotated) reads the same state,
    face by face."""
    mesh = make_mesh()
    sim = _restart_of_a_flowing_state(tmp_path, mesh)
    p = np.random.default_rng(3).permutation(mesh.n_face)
    renumbered = mesh.reordered(p)
    rotated = type(mesh)(
        mesh.node_x, mesh.node_y, np.roll(renumbered.face_node_connectivity, 1, axis=1), mesh.depth, mesh.boundaries, None
    )
    assert mesh_fingerprint(rotated) != mesh_fingerprint(mesh)
    for other in (renumbered, rotated):
        state, clock = load_restart(tmp_path / "restart.nc", make_model(other))
        assert clock.iteration == sim.clock.iteration
        for name in ("h", "hu", "hv"):
            assert getattr(state, name).tobytes() == getattr(sim.state, name)[p].tobytes(), name
    assert np.ptp(sim.state.hu) > 0  # the faces hold different values: the order is tested


def test_restart_of_other_faces_on_the_same_nodes_is_refused(tmp_path):
    """Same nodes, same number of faces, one quad split along its other diagonal: not the same
    mesh, refused as before; and a format-1 file (no face nodes) in another order is refused."""
    x = np.array([0.0, 1000.0, 1000.0, 0.0, 2000.0, 2000.0])
    y = np.array([0.0, 0.0, 1000.0, 1000.0, 0.0, 1000.0])
    a = type(make_mesh())(x, y, np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2]]), np.full(6, 3.0), (), None)
    b = type(a)(x, y, np.array([[0, 1, 3], [1, 2, 3], [1, 4, 5], [1, 5, 2]]), np.full(6, 3.0), (), None)
    model = ShallowWaterModel(a)
    sim = SimpleNamespace(model=model, state=model.initial_state(0.0), clock=Clock(start=START), boundary_outflow=np.zeros(0))
    write_restart(tmp_path / "restart.nc", sim)
    with pytest.raises(RestartError, match="a hot start needs the same mesh"):
        load_restart(tmp_path / "restart.nc", ShallowWaterModel(b))
    # a restart written before faces were named by their nodes: position only
    mesh = make_mesh()
    sim = _restart_of_a_flowing_state(tmp_path, mesh)
    with netCDF4.Dataset(tmp_path / "restart.nc", "a") as ds:
        ds.delncattr("mesh_node_fingerprint")
    with pytest.raises(RestartError, match="a hot start needs the same mesh"):
        load_restart(tmp_path / "restart.nc", make_model(mesh.reordered(np.arange(mesh.n_face)[::-1])))
    assert load_restart(tmp_path / "restart.nc", make_model(mesh))[1].iteration == sim.clock.iteration
