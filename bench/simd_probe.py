"""How fast is the flux pass, and how much of it is the vector loop?

    python bench/simd_probe.py [--repeats 21]

The solver's passes are loops over index lists (a level's edges under local time stepping) that
read each side's reconstructed state from rows of an (n, 4) array through slot indices; LLVM does
not turn such gathers into SIMD code. The flux pass (:func:`solver.kernels.fluxes.edge_fluxes`)
therefore gathers the inputs of :data:`~solver.kernels.fluxes.BLOCK` edges into contiguous rows,
runs the HLL/HLLC arithmetic over them as a branch-free loop that LLVM compiles to vector code
(:func:`~solver.kernels.fluxes.block_fluxes`), and scatters the fluxes back. On the Channel/Biscay
forecast's state after 30 simulated minutes (one thread) this probe prints the nanoseconds per
edge of the whole pass (serial twin) over all edges and over the largest local-time-stepping
level's edges, of the vector loop alone on already gathered inputs, and the packed square roots
and divisions in the vector loop's machine code (zero would mean it did not vectorise).

The scalar loop it replaced took 15-20 ns an edge on this machine (2026-12-06, docs/performance.md
"A vector loop for the edge fluxes"). Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np
from numba import njit

from solver.kernels.fluxes import block_fluxes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def median_ns(fn, n_items, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e9 * float(np.median(ts)) / n_items


def packed_ops(dispatcher):
    asm = dispatcher.inspect_asm(dispatcher.signatures[0])
    return {op: len(re.findall(op, asm)) for op in ("vsqrtpd", "vdivpd", "vsqrtsd", "vdivsd")}


@njit
def blocks(s, g, hllc, out):
    """:func:`solver.kernels.fluxes.block_fluxes` over the blocks ``s`` (n_block, 12, BLOCK)."""
    for k in range(s.shape[0]):
        block_fluxes(s[k], s.shape[2], g, hllc, out)


def measure(b, g, edges, repeats):
    """(n, whole pass, vector loop alone) in ns per edge for the listed edges of backend ``b``."""
    from solver.kernels import fluxes

    n = edges.size
    flux = np.zeros_like(b.flux)
    whole = median_ns(
        lambda: fluxes.edge_fluxes.serial(
            edges, b.edge_values, b.left_slot, b.right_slot, b.normal, b.normal_right, g, b.solver_code, flux
        ),
        n,
        repeats,
    )
    # the vector loop alone, block after block, on inputs gathered once: the edges' own inputs
    # (the cost of a select-only loop does not depend on the values, but subnormals would)
    n_block = max(1, n // fluxes.BLOCK)
    take = edges[: n_block * fluxes.BLOCK]
    left, right = b.edge_values[b.left_slot[take]], b.edge_values[b.right_slot[take]]
    rows = np.concatenate([left.T, right.T, b.normal[take].T, b.normal_right[take].T])  # (12, n)
    s = np.ascontiguousarray(rows.reshape(12, n_block, fluxes.BLOCK).transpose(1, 0, 2))
    out = np.zeros((4, fluxes.BLOCK))
    hllc = b.solver_code == fluxes.HLLC

    vector = median_ns(lambda: blocks(s, g, hllc, out), n_block * fluxes.BLOCK, repeats)
    return n, whole, vector


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args(argv)

    import forecast
    import numba

    from solver.kernels import fluxes
    from solver.simulation import Simulation

    numba.set_num_threads(1)
    model = forecast.build_model(0.5)
    state = model.initial_state(0.0)
    sim = Simulation(model, state, stop_time=1800.0, time_stepper="lts-rk2")
    sim.run()
    b = model.backend
    b.tendency(model, state, sim.clock.time)  # every face's edge values
    levels = [lv for lv in sim.stepper.levels if lv is not None]
    level_edges = max(levels, key=lambda lv: lv.subset.edges.size).subset.edges
    rows = [
        (name, *measure(b, model.gravity, edges, args.repeats))
        for name, edges in (("all edges", b.full.edges), ("largest LTS level", level_edges))
    ]
    print(
        f"\nEdge flux pass, Channel/Biscay after 30 min, one thread, ns per edge (medians of {args.repeats}); "
        f"packed ops of the vector loop {packed_ops(fluxes.block_fluxes)}"
    )
    print(f"{'edges':>20} {'n':>7} {'whole pass':>11} {'vector loop':>12} {'gather+scatter':>15}")
    for name, n, whole, vector in rows:
        print(f"{name:>20} {n:7d} {whole:11.2f} {vector:12.2f} {whole - vector:15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
