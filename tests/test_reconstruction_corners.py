"""Coastal corner faces: a face with two or three boundary edges stays first order.

Its least-squares gradient would rest on mirrored ghost cells only (a wall's ghost reflects the
normal velocity), and the limiter then bounds the face's velocity by its own reflection: the one
interior edge sees an amplified inflow. On a real generated mesh of Plymouth Sound (GSHHG coast)
a rising 2.3 m tide drove a 0.6 km inlet face to 949 m/s within 30 minutes that way; the physical
bound is the shallow-water wave speed of the inflow, about 1 m/s here.
"""

from pathlib import Path

import numpy as np
import pytest

from solver import ManningFriction, ShallowWaterModel, Simulation, TidalElevation
from solver.backends import BACKENDS
from solver.builders import rectangle
from solver.formats import read_mesh

PLYMOUTH = Path(__file__).resolve().parent / "data" / "meshes" / "plymouth_sound.gr3"


def test_corner_faces_are_those_with_two_boundary_edges():
    """A 3 x 3 square split along diagonals (18 faces): the faces with two edges on the boundary, counted
    here from the face-node lists alone, are the corner faces; the rest are not."""
    mesh = rectangle(3.0, 3.0, 3, 3, depth=1.0, pattern="diagonal")
    fnc = mesh.face_node_connectivity.tolist()
    count = {}
    for f in fnc:
        for k in range(3):
            e = frozenset((f[k], f[(k + 1) % 3]))
            count[e] = count.get(e, 0) + 1
    expected = [sum(count[frozenset((f[k], f[(k + 1) % 3]))] == 1 for k in range(3)) >= 2 for f in fnc]
    model = ShallowWaterModel(mesh, boundary_conditions={})
    assert model.corner_faces.tolist() == expected
    assert sum(expected) == 2  # the two corners the diagonals cut off


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_rising_tide_into_an_inlet_stays_bounded(backend):
    mesh = read_mesh(PLYMOUTH)
    amp, period = 2.3, 44714.0  # Plymouth's spring range, M2
    tide = TidalElevation(lambda t: amp * np.sin(2.0 * np.pi * t / period))
    model = ShallowWaterModel(mesh, boundary_conditions={"open_1": tide}, friction=ManningFriction(0.025), backend=backend)
    assert model.corner_faces.sum() == 7
    state = model.initial_state(0.0)
    Simulation(model, state, stop_time=1800.0).run()
    u, v = model.velocity(state)
    speed = np.hypot(u, v)
    # long-wave bound: the inflow speed of a wave of height a in depth H is about a sqrt(g/H);
    # the 30-minute rise is 0.58 m over depths of 2-58 m, so well under 1 m/s anywhere
    assert speed.max() < 1.0, f"{speed.max():.1f} m/s at face {speed.argmax()}"
    rise = amp * np.sin(2.0 * np.pi * 1800.0 / period)
    assert model.eta(state)[state.h > model.dry_depth].max() < rise + 0.1
