"""Thacker's planar oscillation in a paraboloid (wetting and drying): L1 depth error after one
period against wall time, coastcast (numba, Barth–Jespersen; SSP-RK2 with global and with local
time steps; ``--steppers euler`` adds forward Euler, one flux evaluation per step as ANUGA's DE0,
which with this unrelaxed limiter is not stable for gravity waves, see ``solver.timestepping``) and
ANUGA 4.1 (DE0), on the same meshes (the verification case's 4 m × 4 m cross-pattern
rectangles, 4 n² triangles).

    python bench/thacker_accuracy.py [--n 16 32 64] [--repeats 3] [--threads 1] [--steppers ssp-rk2 lts-rk2]

Error: Σ A |h − h_exact| / Σ A with h_exact the cell average of Thacker's solution (Thacker 1981,
J. Fluid Mech. 107; SWASHES §4.2.2) at t = one period. Medians of ``--repeats`` wall times.
Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problems as P  # noqa: E402

from solver.builders import rectangle  # noqa: E402
from solver.model import ShallowWaterModel  # noqa: E402
from solver.simulation import Simulation  # noqa: E402
from solver.state import State  # noqa: E402
from solver.verification import analytic  # noqa: E402
from solver.verification.cases import _cell_average  # noqa: E402

A, H0, ETA = 1.0, 0.1, 0.5


def bowl(n):
    return rectangle(4.0, 4.0, n, n, x0=-2.0, y0=-2.0, depth=lambda x, y: H0 * (1 - (x**2 + y**2) / A**2))


def exact(mesh, t):
    return _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, t, A, H0, ETA)[0])


def l1(mesh, h, hx):
    return float(np.sum(mesh.face_area * np.abs(h - hx)) / np.sum(mesh.face_area))


def run_coastcast(mesh, period, stepper="ssp-rk2"):
    model = ShallowWaterModel(mesh, dry_depth=1e-6)
    h = exact(mesh, 0.0)
    _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, A, H0, ETA)
    state = State(h, h * u, h * v)
    sim = Simulation(model, state, stop_time=period, cfl=0.9, time_stepper=stepper)
    t0 = time.perf_counter()
    sim.run()
    # smallest steps: lts-rk2 counts them on its level 0 (its global steps too, where its levels do not pay)
    steps = int(sim.stepper.level_steps[0]) if hasattr(sim.stepper, "level_steps") else sim.clock.iteration
    return time.perf_counter() - t0, l1(mesh, state.h, exact(mesh, period)), steps


def run_anuga(mesh, period, threads):
    domain = P.anuga_domain(mesh, {}, threads=threads)
    domain.set_minimum_allowed_height(1e-6)
    domain.set_quantity("elevation", lambda x, y: -H0 * (1 - (x**2 + y**2) / A**2))
    z = domain.quantities["elevation"].centroid_values.copy()
    h = exact(mesh, 0.0)
    _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, A, H0, ETA)
    domain.set_quantity("stage", z + h, location="centroids")
    domain.set_quantity("xmomentum", h * u, location="centroids")
    domain.set_quantity("ymomentum", h * v, location="centroids")
    wall, steps = P.anuga_run(domain, period)
    hd = domain.quantities["stage"].centroid_values - domain.quantities["elevation"].centroid_values
    return wall, l1(mesh, hd, exact(mesh, period)), steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steppers", nargs="+", default=["ssp-rk2", "lts-rk2"], help="coastcast time steppers")
    args = ap.parse_args(argv)
    import numba

    numba.set_num_threads(args.threads)
    P.quiet_anuga()
    period = analytic.thacker_period(A, H0)
    for stepper in args.steppers:
        run_coastcast(bowl(8), period, stepper)  # load the compiled kernels
    rows = []
    for n in args.n:
        mesh = bowl(n)
        codes = [(f"coastcast {st}", lambda st=st, mesh=mesh: run_coastcast(mesh, period, st)) for st in args.steppers]
        for code, fn in codes + [("ANUGA 4.1 DE0", lambda mesh=mesh: run_anuga(mesh, period, args.threads))]:
            res = [fn() for _ in range(args.repeats)]
            wall = P.median([r[0] for r in res])
            rows.append((n, mesh.n_face, code, wall, res[0][1], res[0][2]))
    print(
        f"\nThacker bowl, one period ({period:.3f} s), {args.threads} thread(s), medians of {args.repeats} (shared machine: other jobs may run)"
    )
    print(
        "(steps: smallest steps; lts-rk2 takes one per 8 of them on its coarsest level, or global steps where its levels would not pay)"
    )
    print(f"{'n':>4} {'triangles':>9} {'code':18} {'steps':>6} {'wall s':>8} {'L1 depth error m':>17} {'M tri-steps/s':>13}")
    for n, nf, code, wall, err, steps in rows:
        print(f"{n:4d} {nf:9d} {code:18} {steps:6d} {wall:8.3f} {err:17.3e} {nf * steps / wall / 1e6:13.2f}")


if __name__ == "__main__":
    main()
