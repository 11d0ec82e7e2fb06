"""Does the edge-flux arithmetic vectorise, and what would a per-edge contiguous layout gain?

    python bench/simd_probe.py [--repeats 21]

The solver's kernels are scalar loops: they run over index lists (a level's edges under local
time stepping) and read each side's reconstructed state from rows of an (n, 4) array through
slot indices, and LLVM does not turn such gathers into SIMD code. This probe measures, on the
Channel/Biscay forecast's state after 30 simulated minutes (one thread), the nanoseconds per edge of:

1. the production flux kernel (:func:`solver.kernels.fluxes.edge_fluxes`, serial twin) over all
   edges and over the largest local-time-stepping level's edges;
2. the same HLL/HLLC arithmetic written over contiguous per-edge arrays (the twelve inputs
   η, h, u, v of both sides and the two normals as separate arrays, four output arrays), which
   LLVM compiles to AVX-512/AVX2 vector code on this machine (the count of packed square roots
   and divisions in its machine code is printed);
3. the gather of those twelve inputs from the production arrays into the contiguous ones (what
   a level's edges would cost before the vector loop while they are not contiguous).

The contiguous kernel must give the production fluxes bit for bit (checked on every edge,
HLL or HLLC as the model uses); it lives here as the probe's instrument, not in the solver.
Prints the table last.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@njit(error_model="numpy")
def gather_edge_states(edges, edge_values, left_slot, right_slot, normal, normal_right, out):
    """out (12, edges.size): η, h, u, v of the left side, of the right side, then the normal in
    the left face's frame and in the right face's, per listed edge."""
    for t in range(edges.size):
        e = edges[t]
        sl = left_slot[e]
        sr = right_slot[e]
        for c in range(4):
            out[c, t] = edge_values[sl, c]
            out[4 + c, t] = edge_values[sr, c]
        out[8, t] = normal[e, 0]
        out[9, t] = normal[e, 1]
        out[10, t] = normal_right[e, 0]
        out[11, t] = normal_right[e, 1]


@njit(error_model="numpy")
def contiguous_fluxes(s, g, hllc, out):
    """The arithmetic of :func:`solver.kernels.fluxes.edge_fluxes` over contiguous per-edge
    inputs ``s`` (12, n) (:func:`gather_edge_states`) into ``out`` (4, n), branch-free: the
    dry-edge and dry-side cases become selects, so the loop vectorises."""
    for t in range(s.shape[1]):
        etaL = s[0, t]
        hL = s[1, t]
        uL = s[2, t]
        vL = s[3, t]
        etaR = s[4, t]
        hR = s[5, t]
        uR = s[6, t]
        vR = s[7, t]
        nx = s[8, t]
        ny = s[9, t]
        rx = s[10, t]
        ry = s[11, t]
        zs = max(etaL - hL, etaR - hR)
        hLs = max(etaL - zs, 0.0)
        hRs = max(etaR - zs, 0.0)
        unL = uL * nx + vL * ny
        utL = -uL * ny + vL * nx
        unR = uR * rx + vR * ry
        utR = -uR * ry + vR * rx
        cL = math.sqrt(g * hLs)
        cR = math.sqrt(g * hRs)
        a = min(unL - cL, unR - cR)
        b = unR - 2.0 * cR
        sL = a if hLs > 0.0 else b
        c = max(unL + cL, unR + cR)
        d = unL + 2.0 * cL
        sR = c if hRs > 0.0 else d
        sLm = min(sL, 0.0)
        sRp = max(sR, 0.0)
        den = sRp - sLm
        wet = (den > 0.0) & ((hLs > 0.0) | (hRs > 0.0))
        inv = 1.0 / (den if wet else 1.0)
        inv = inv if wet else 0.0
        qL = hLs * unL
        qR = hRs * unR
        mass = (sRp * qL - sLm * qR + sLm * sRp * (hRs - hLs)) * inv
        dp = 0.5 * g * (hRs * hRs - hLs * hLs)
        mom = (sRp * qL * unL - sLm * (qR * unR + dp) + sLm * sRp * (qR - qL)) * inv
        if hllc:
            tang = mass * (utL if mass >= 0.0 else utR)
        else:
            tang = (sRp * hLs * unL * utL - sLm * hRs * unR * utR + sLm * sRp * (hRs * utR - hLs * utL)) * inv
        dry = (hLs == 0.0) & (hRs == 0.0)
        out[0, t] = 0.0 if dry else mass
        out[1, t] = 0.0 if dry else mom
        out[2, t] = 0.0 if dry else tang
        out[3, t] = 0.0 if dry else dp


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


def measure(b, g, edges, reference, repeats):
    """(n, production, contiguous, gather) ns per edge for the listed edges of backend ``b``."""
    from solver.kernels import fluxes

    n = edges.size
    flux = np.zeros_like(b.flux)
    prod = median_ns(
        lambda: fluxes.edge_fluxes.serial(
            edges, b.edge_values, b.left_slot, b.right_slot, b.normal, b.normal_right, g, b.solver_code, flux
        ),
        n,
        repeats,
    )
    s = np.zeros((12, n))
    out = np.zeros((4, n))
    gather = median_ns(
        lambda: gather_edge_states(edges, b.edge_values, b.left_slot, b.right_slot, b.normal, b.normal_right, s), n, repeats
    )
    hllc = b.solver_code == fluxes.HLLC
    vector = median_ns(lambda: contiguous_fluxes(s, g, hllc, out), n, repeats)
    if not np.array_equal(out.T, reference[edges]):
        raise SystemExit(
            f"the contiguous kernel differs from the production fluxes by {np.abs(out.T - reference[edges]).max():g}"
        )
    return n, prod, vector, gather


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args(argv)

    import forecast
    import numba

    from solver.simulation import Simulation

    numba.set_num_threads(1)
    model = forecast.build_model(0.5)
    state = model.initial_state(0.0)
    sim = Simulation(model, state, stop_time=1800.0, time_stepper="lts-rk2")
    sim.run()
    b = model.backend
    g = model.gravity
    b.tendency(model, state, sim.clock.time)  # every face's edge values, every edge's flux
    reference = b.flux.copy()
    levels = [lv for lv in sim.stepper.levels if lv is not None]
    level_edges = max(levels, key=lambda lv: lv.subset.edges.size).subset.edges
    rows = [
        (name, *measure(b, g, edges, reference, args.repeats))
        for name, edges in (("all edges", b.full.edges), ("largest LTS level", level_edges))
    ]
    ops = packed_ops(contiguous_fluxes)
    print(
        f"\nEdge fluxes, Channel/Biscay after 30 min, one thread, ns per edge (medians of {args.repeats}); "
        f"contiguous kernel equal to production bit for bit; its packed ops {ops}"
    )
    print(f"{'edges':>20} {'n':>7} {'production':>11} {'contiguous':>11} {'gather':>8} {'gather+contiguous':>18}")
    for name, n, prod, vector, gather in rows:
        print(f"{name:>20} {n:7d} {prod:11.2f} {vector:11.2f} {gather:8.2f} {gather + vector:18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
