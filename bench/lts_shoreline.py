"""Local time stepping against global steps where the shoreline moves: Thacker's bowl (one
period, analytic solution) and a tidal flat (a 50 m deep channel along the open west boundary,
a 5 km shelf edge, then 32 km of flats sloping from 2 m below to 3 m above datum; a 2 m
semidiurnal tide, 3 hours of flooding).

    python bench/lts_shoreline.py [--n 32 64] [--flat-n 80] [--repeats 3] [--pairs ssp-rk2:lts-rk2 muscl-hancock:lts-muscl-hancock]

Each pair is a global stepper and the local stepper of the same scheme (Heun stages; the
forecasts' MUSCL–Hancock steps). Per case and stepper: steps on each level (finest first; global steps count as level 0), level
rebuilds, face updates, CPU seconds (``time.process_time``, medians of ``--repeats``: the figure
that other jobs on a shared machine disturb least), the ratio LTS / global, and the error: the
bowl's L1 depth error against Thacker's solution, the flat's largest elevation difference from
the global stepper. One thread (numba). Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import thacker_accuracy as T  # noqa: E402

from solver import ManningFriction, ShallowWaterModel, Simulation, TidalElevation, Wall  # noqa: E402
from solver.builders import rectangle  # noqa: E402
from solver.state import State  # noqa: E402
from solver.verification import analytic  # noqa: E402

PAIRS = ("ssp-rk2:lts-rk2", "muscl-hancock:lts-muscl-hancock")


def bowl_case(n):
    mesh = T.bowl(n)
    period = analytic.thacker_period(T.A, T.H0)

    def setup():
        model = ShallowWaterModel(mesh, dry_depth=1e-6)
        h = T.exact(mesh, 0.0)
        _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, T.A, T.H0, T.ETA)
        return model, State(h, h * u, h * v), period

    def error(model, state, reference):
        return T.l1(mesh, state.h, T.exact(mesh, period)), "L1 depth error vs Thacker (m)"

    return f"Thacker bowl n={n} ({mesh.n_face} triangles)", setup, error


def flat_case(n):
    length, width = 40e3, 8e3
    mesh = rectangle(
        length, width, n, max(n // 5, 2), depth=lambda x, y: 2.0 - 5.0 * (x - 8e3) / 32e3 + 48.0 / (1.0 + np.exp((x - 5e3) / 1e3))
    )

    def setup():
        tide = TidalElevation(lambda t: 2.0 * np.sin(2 * np.pi * t / 44712.0))
        model = ShallowWaterModel(
            mesh,
            boundary_conditions={"west": tide, "east": Wall(), "north": Wall(), "south": Wall()},
            friction=ManningFriction(0.025),
            dry_depth=1e-3,
        )
        return model, model.initial_state(eta=0.0), 3 * 3600.0

    def error(model, state, reference):
        if reference is None:
            return 0.0, "max |η − η_global| (m)"
        return float(np.max(np.abs(model.eta(state) - reference))), "max |η − η_global| (m)"

    return f"tidal flat {n}×{max(n // 5, 2)} ({mesh.n_face} triangles)", setup, error


def run(setup, stepper):
    model, state, stop = setup()
    sim = Simulation(model, state, stop_time=stop, cfl=0.9, time_stepper=stepper)
    c0 = time.process_time()
    sim.run()
    cpu = time.process_time() - c0
    st = sim.stepper
    if hasattr(st, "level_steps"):
        levels, rebuilds, updates = tuple(int(x) for x in st.level_steps), st.rebuilds, st.face_updates
    else:
        levels, rebuilds, updates = (sim.clock.iteration,), 0, sim.clock.iteration * model.mesh.n_face
    return cpu, model, state, levels, rebuilds, updates


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[32, 64], help="bowl resolutions")
    ap.add_argument("--flat-n", type=int, nargs="+", default=[80], help="tidal flat resolutions (cells along the 40 km)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS), help="GLOBAL:LOCAL stepper pairs")
    args = ap.parse_args(argv)
    import numba

    numba.set_num_threads(1)
    pairs = [tuple(p.split(":")) for p in args.pairs]
    for st in {s for p in pairs for s in p}:  # load the compiled kernels
        run(bowl_case(8)[1], st)
    rows = []
    for name, setup, error in [bowl_case(n) for n in args.n] + [flat_case(n) for n in args.flat_n]:
        for pair in pairs:
            cpu = {}
            reference = None
            for st in pair:
                res = [run(setup, st) for _ in range(args.repeats)]
                _, model, state, levels, rebuilds, updates = res[0]
                if st == pair[0]:
                    reference = model.eta(state).copy()
                err, what = error(model, state, reference)
                cpu[st] = statistics.median(r[0] for r in res)
                rows.append((name, st, levels, rebuilds, updates, cpu[st], cpu[st] / cpu[pair[0]], err, what))
    print(
        f"\nMoving shoreline: local steps (4 levels) against the global steps of the same scheme, 1 thread, CPU s medians of {args.repeats}"
    )
    print(
        f"{'case':34} {'stepper':17} {'steps per level':>22} {'rebuilds':>8} {'face updates':>13} {'CPU s':>7} {'ratio':>6}  error"
    )
    for name, st, levels, rebuilds, updates, c, ratio, err, what in rows:
        lv = "/".join(str(x) for x in levels)
        print(f"{name:34} {st:17} {lv:>22} {rebuilds:8d} {updates:13d} {c:7.2f} {ratio:6.2f}  {err:.3e} {what}")


if __name__ == "__main__":
    main()
