"""The machine's STREAM triad bandwidth (numba, 1 and 2 threads) and the bandwidth limit it puts
on the solver: bytes moved per triangle-update counted from the kernels' arrays, and the
measured rate as a fraction of that limit.

    python bench/bandwidth.py [--n 40000] [--repeats 5]

Bytes per triangle-update: every array a pass reads or writes counted once per pass
(compulsory traffic; gathers from neighbours assumed to hit the cache), for the two SSP-RK2
stages (primitives, node extrema, reconstruction, fluxes, accumulation, implicit update, and the
numpy axpy of the time stepper) plus the time-step reduction and the stage average.
Prints the table last.
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


def bytes_per_update(model):
    """Compulsory bytes per triangle per SSP-RK2 step, from the numba backend's arrays."""
    k = model.backend
    nf = model.mesh.n_face
    state = 3 * nf * 8
    passes = {
        "primitives": state + k.bed.nbytes + k.prim.nbytes + k.wet.nbytes,
        "node extrema": k.node_start.nbytes + k.node_faces.nbytes + k.prim.nbytes + k.extrema.nbytes,
        "reconstruction": sum(
            a.nbytes
            for a in (
                k.prim,
                k.wet,
                k.extrema,
                k.neighbour_ext,
                k.face_nodes,
                k.operator,
                k.edge_offset,
                k.edge_bed,
                k.face_edge_length,
                k.outward_normal,
                k.inv_area,
                k.edge_values,
                k.bed_slope,
            )
        ),
        "edge fluxes": sum(a.nbytes for a in (k.edge_values, k.left_slot, k.right_slot, k.normal, k.flux)),
        "accumulation": sum(
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
        "implicit": 2 * state,
        "euler axpy (numpy)": 3 * 5 * nf * 8,  # dt*k (r+w), then add (2r+w), per variable
    }
    per_step = 2 * sum(passes.values()) + (state + k.cfl_length.nbytes) + 3 * 5 * nf * 8  # + dt reduction + stage average
    return per_step / nf, {name: 2 * b / nf for name, b in passes.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40000, help="triangles of the basin mesh for the solver rate")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args(argv)
    from solver.simulation import Simulation

    bw = {th: triad_bandwidth(th, args.repeats) for th in (1, 2)}
    mesh = P.tidal_basin_mesh(args.n, reorder=True)
    model, state = P.coastcast_basin(mesh)
    per_update, parts = bytes_per_update(model)
    rates = {}
    for th in (1, 2):
        set_num_threads(th)
        sim = Simulation(model, state, stop_time=1e12, nan_check=None)
        sim.time_step(sim.next_dt())
        rs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                sim.time_step(sim.next_dt())
            rs.append(mesh.n_face * args.steps / (time.perf_counter() - t0))
        rates[th] = P.median(rs)
    print(f"\nbytes per triangle-update (SSP-RK2 step), {mesh.n_face} triangles:")
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
