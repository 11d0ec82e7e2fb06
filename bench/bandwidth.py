"""The machine's STREAM triad bandwidth (numba, 1 and 2 threads) and the bandwidth limit it puts
on the solver: bytes moved per triangle-update counted from the kernels' arrays, and the
measured rate as a fraction of that limit.

    python bench/bandwidth.py [--n 40000] [--repeats 5] [--stepper muscl-hancock|ssp-rk2]

Bytes per triangle-update: every array a pass reads or writes counted once per pass
(compulsory traffic; gathers from neighbours assumed to hit the cache), for each stage of the
step (primitives, node extrema, reconstruction, fluxes, accumulation, the fused Euler stage
with the implicit friction: two stages for SSP-RK2, one for MUSCL–Hancock, whose reconstruction
also writes the predicted centres) plus the time-step reduction and the stage average (SSP-RK2)
(MUSCL–Hancock's one stage updates the state in place). Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problems as P  # noqa: E402


@njit(parallel=True, cache=True)
def triad(a, b, c, s):
    for i in prange(a.size):
        a[i] = b[i] + s * c[i]


def triad_bandwidth(threads, repeats, n=40_000_000):
    set_num_threads(threads)
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    triad(a, b, c, 3.0)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        triad(a, b, c, 3.0)
        ts.append(time.perf_counter() - t0)
    return 3 * 8 * n / P.median(ts)  # STREAM convention: 2 reads + 1 write, no write-allocate


def bytes_per_update(model, stepper="ssp-rk2"):
    """Compulsory bytes per triangle per step of ``stepper`` (``ssp-rk2``: two stages and their
    average; ``muscl-hancock``: one stage, whose reconstruction also writes the predicted centres
    that the accumulation reads, and updates the state in place), from the numba backend's
    arrays: every array a pass touches, once per pass. Returns (bytes per step, {pass: bytes})."""
    k = model.backend
    nf = model.mesh.n_face
    state = 3 * nf * 8
    hancock = stepper == "muscl-hancock"
    centre = k.centre.nbytes if hancock else 0
    passes = {
        "primitives": state + k.bed.nbytes + k.prim.nbytes + k.wet.nbytes,
        "node extrema": k.node_start.nbytes + k.node_faces.nbytes + k.prim.nbytes + k.extrema.nbytes,
        "reconstruction": centre
        + sum(
            a.nbytes
            for a in (
                k.prim,
                k.wet,
                k.extrema,
                k.neighbour_ext,
                k.face_nodes,
                k.edge_operator,
                k.edge_bed,
                k.face_edge_length,
                k.outward_normal,
                k.inv_area,
                k.edge_values,
                k.bed_slope,
            )
        ),
        "edge fluxes": sum(a.nbytes for a in (k.edge_values, k.left_slot, k.right_slot, k.normal, k.flux)),
        "accumulation": centre
        + sum(
            a.nbytes
            for a in (
                k.flux,
                k.normal,
                k.face_edge,
                k.face_is_left,
                k.face_edge_length,
                k.inv_area,
                k.bed_slope,
                k.dh,
                k.dhu,
                k.dhv,
            )
        ),
        "Euler stage with friction": 3 * state,  # U⁰ and dU/dt read, U written (one fused pass)
    }
    stages = 1 if hancock else 2
    parts = {name: stages * b / nf for name, b in passes.items()}
    parts["step (wave times)"] = (state + k.cfl_length.nbytes) / nf
    if not hancock:
        parts["stage average"] = 3 * state / nf
    return sum(parts.values()), parts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40000, help="triangles of the basin mesh for the solver rate")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--stepper", choices=("ssp-rk2", "muscl-hancock"), default="muscl-hancock")
    args = ap.parse_args(argv)
    from solver.simulation import Simulation

    bw = {th: triad_bandwidth(th, args.repeats) for th in (1, 2)}
    mesh = P.tidal_basin_mesh(args.n, reorder=True)
    model, state = P.coastcast_basin(mesh)
    per_update, parts = bytes_per_update(model, args.stepper)
    rates = {}
    for th in (1, 2):
        set_num_threads(th)
        sim = Simulation(model, state, stop_time=1e12, nan_check=None, time_stepper=args.stepper)
        sim.time_step(sim.next_dt())
        rs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                sim.time_step(sim.next_dt())
            rs.append(mesh.n_face * args.steps / (time.perf_counter() - t0))
        rates[th] = P.median(rs)
    print(f"\nbytes per triangle-update ({args.stepper} step), {mesh.n_face} triangles:")
    for name, b in parts.items():
        print(f"  {name:22s} {b:7.0f} B")
    print(f"  {'total per step':22s} {per_update:7.0f} B")
    print(f"\nmemory bandwidth and solver, medians of {args.repeats} (threads: {get_num_threads()} max; shared machine)")
    print(f"{'thr':>3} {'triad GB/s':>10} {'limit M tri-steps/s':>19} {'measured M/s':>12} {'fraction of limit':>17}")
    for th in (1, 2):
        limit = bw[th] / per_update
        print(f"{th:3d} {bw[th] / 1e9:10.1f} {limit / 1e6:19.1f} {rates[th] / 1e6:12.2f} {rates[th] / limit:17.2f}")


if __name__ == "__main__":
    main()
