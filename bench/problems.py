"""Benchmark problems shared by the scripts in bench/: the same mesh and initial state for
coastcast and for ANUGA 4.1 (flow algorithm DE0).

* ``tidal_basin(n_target)``: a 100 km × 50 km basin whose bed rises linearly from 20 m depth at
  the west (open, tidal) boundary to 5 m above the datum at the east end, so the east fifth is a
  dry beach; the surface starts tilted, η0 = 0.5 cos(π x / L) m, so water runs up and down the
  beach from the first step, and an M2-like tide (1 m, 12.42 h) enters from the west. Manning
  n = 0.025. Triangles: the ``diagonal`` rectangle pattern, 2 nx ny faces (n_target rounded).
* ``thacker_bowl(n)``: Thacker's planar oscillation in a paraboloid (the verification case).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from solver.boundaries import TidalElevation
from solver.builders import rectangle
from solver.model import ShallowWaterModel
from solver.terms import ManningFriction

log = logging.getLogger(__name__)

L_X, L_Y = 100e3, 50e3
TIDE_AMPLITUDE = 1.0
TIDE_PERIOD = 12.42 * 3600.0
MANNING = 0.025


def tide(t):
    return TIDE_AMPLITUDE * np.sin(2.0 * np.pi * t / TIDE_PERIOD)


def basin_depth(x, y):
    """Still-water depth (m, positive down): 20 m at x = 0 to −5 m at x = L."""
    return 20.0 - 25.0 * x / L_X


def initial_eta(x, y):
    return 0.5 * np.cos(np.pi * x / L_X)


def tidal_basin_mesh(n_target: int, reorder: bool = False):
    """The basin mesh with about ``n_target`` triangles (diagonal pattern, nx = 2 ny)."""
    ny = max(2, int(round(np.sqrt(n_target / 4.0))))
    mesh = rectangle(L_X, L_Y, 2 * ny, ny, depth=basin_depth, pattern="diagonal")
    if reorder:
        from solver.connectivity import hilbert_order, node_order_by_faces

        fp = hilbert_order(mesh.face_x, mesh.face_y)
        mesh = mesh.reordered(fp, node_order_by_faces(mesh.face_node_connectivity[fp], mesh.n_node))
    return mesh


def coastcast_basin(mesh, backend="numba", deep_water_step=None):
    """The tidal basin for coastcast; ``deep_water_step``: a :class:`solver.stability.DeepWaterStep` or None."""
    model = ShallowWaterModel(
        mesh,
        boundary_conditions={"west": TidalElevation(tide)},
        friction=ManningFriction(MANNING),
        backend=backend,
        deep_water_step=deep_water_step,
    )
    state = model.initial_state(initial_eta(mesh.face_x, mesh.face_y))
    return model, state


# -- ANUGA ------------------------------------------------------------------------------------
def anuga_domain(mesh, tags, threads=1):
    """An ANUGA DE0 domain on ``mesh`` (same nodes and triangles).

    ``tags``: segment name -> ANUGA boundary object factory ``f(domain)``; other boundary edges
    are reflective walls. ANUGA numbers edge i of a triangle opposite vertex i, so our local
    edge k (nodes k, k+1) is its edge (k + 2) % 3.
    """
    import anuga

    ef = mesh.edge_face_connectivity
    fe = mesh.face_edge_connectivity
    seg = mesh.boundary_edge_segment
    boundary = {}
    for j, e in enumerate(mesh.boundary_edges):
        f = int(ef[e, 0])
        k = int(np.flatnonzero(fe[f] == e)[0])
        name = mesh.boundaries[seg[j]].name if seg[j] >= 0 else "wall"
        boundary[(f, (k + 2) % 3)] = name if name in tags else "wall"
    points = np.column_stack([mesh.node_x, mesh.node_y])
    domain = anuga.Domain(points, mesh.face_node_connectivity.astype(np.int64), boundary)
    domain.set_flow_algorithm("DE0")
    domain.set_omp_num_threads(threads)
    domain.set_quantities_to_be_stored(None)
    domain.set_store(False)
    bcs = {name: make(domain) for name, make in tags.items()}
    bcs["wall"] = anuga.Reflective_boundary(domain)
    domain.set_boundary(bcs)
    return domain


def anuga_basin(mesh, threads=1):
    import anuga

    domain = anuga_domain(
        mesh,
        {"west": lambda d: anuga.Transmissive_n_momentum_zero_t_momentum_set_stage_boundary(d, function=tide)},
        threads=threads,
    )
    domain.set_quantity("elevation", lambda x, y: -basin_depth(x, y))
    domain.set_quantity("friction", MANNING)
    domain.set_quantity("stage", lambda x, y: np.maximum(initial_eta(x, y), -basin_depth(x, y)))
    return domain


def anuga_run(domain, duration):
    """Evolve ``duration`` seconds; returns (wall s, number of steps)."""
    t0 = time.perf_counter()
    t_end = domain.get_time() + duration
    for _ in domain.evolve(yieldstep=duration, finaltime=t_end):
        pass
    return time.perf_counter() - t0, domain.number_of_steps  # counted per evolve call


def median(values):
    return float(np.median(np.asarray(values, dtype=float)))


def quiet_anuga():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.getLogger("anuga").setLevel(logging.WARNING)
