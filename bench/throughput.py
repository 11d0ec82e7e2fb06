"""Triangle-updates per second of coastcast (numba backend, 1 and 2 threads) and ANUGA (DE0; measured with 4.1 and 4.2)
on the same meshes and problem (bench/problems.py: a tide entering a sloping basin with wetting
and drying), ~10 k, 40 k and 160 k triangles.

    python bench/throughput.py [--sizes 10000 40000 160000] [--repeats 3] [--steps 60] [--steppers muscl-hancock ssp-rk2]

A triangle-update is one triangle advanced by one time step (triangles × steps / wall seconds).
coastcast's step is MUSCL–Hancock (one flux evaluation, ``muscl-hancock``) or SSP-RK2 (two) with
dt = cfl A/(3 L_max)/(|u| + c); ANUGA DE0
takes forward-Euler steps (one flux evaluation) with dt from the inscribed radius, about twice as
long on these right triangles, so the table also gives the simulated seconds per wall second ×
triangles ("tri·s/s"), the measure a forecast cares about. With local time steps (``lts-rk2``)
a step advances the coarsest level, 8 smallest steps; its triangle-steps are counted as a global
stepper would take them (triangles × 8 × steps), so the column compares work done per second.
Medians of ``--repeats`` runs, each continuing the same simulation. Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problems as P  # noqa: E402


def coastcast_rate(mesh, threads, repeats, steps, stepper="ssp-rk2", deep=1.0):
    import numba

    from solver.simulation import Simulation
    from solver.stability import DeepWaterStep

    numba.set_num_threads(threads)
    model, state = P.coastcast_basin(mesh, deep_water_step=DeepWaterStep(factor=deep) if deep > 1.0 else None)
    sim = Simulation(model, state, stop_time=1e12, nan_check=None, time_stepper=stepper)
    for _ in range(3):  # loads the compiled kernels
        sim.time_step(sim.next_dt())
    # smallest steps per step: lts-rk2 takes 2^K, or 1 where its levels do not pay (global_steps)
    per_step = 1 if getattr(sim.stepper, "global_steps", False) else 2 ** getattr(sim.stepper, "K", 0)
    rates, sim_rates = [], []
    for _ in range(repeats):
        t_model = sim.clock.time
        t0 = time.perf_counter()
        for _ in range(steps):
            sim.time_step(sim.next_dt())
        wall = time.perf_counter() - t0
        rates.append(mesh.n_face * steps * per_step / wall)
        sim_rates.append(mesh.n_face * (sim.clock.time - t_model) / wall)
    sim.check_finite()
    return P.median(rates), P.median(sim_rates), sim.last_dt / per_step  # the smallest step


def anuga_version():
    import anuga

    return anuga.__version__


def anuga_rate(mesh, threads, repeats, steps, dt_guess):
    domain = P.anuga_basin(mesh, threads=threads)
    P.anuga_run(domain, 2 * dt_guess)
    rates, sim_rates = [], []
    for _ in range(repeats):
        duration = steps * 2.0 * dt_guess  # about `steps` ANUGA steps
        wall, n = P.anuga_run(domain, duration)
        rates.append(mesh.n_face * n / wall)
        sim_rates.append(mesh.n_face * duration / wall)
    return P.median(rates), P.median(sim_rates)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 40000, 160000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--no-anuga", action="store_true")
    ap.add_argument("--steppers", nargs="+", default=["muscl-hancock", "ssp-rk2"])
    ap.add_argument(
        "--reorder",
        choices=["none", "hilbert", "both"],
        default="none",
        help="face numbering for coastcast: the builder's, Hilbert-sorted, or both (1 thread)",
    )
    ap.add_argument(
        "--deep-water-step",
        type=float,
        default=1.0,
        help="coastcast's stable-step factor in water >= 5 m deep (solver.stability.DeepWaterStep; 1 = off, the default; "
        "forecasts use 2): changes the simulated time per wall second, not the steps per second",
    )
    args = ap.parse_args(argv)
    P.quiet_anuga()
    rows = []
    for n in args.sizes:
        mesh = P.tidal_basin_mesh(n)
        mesh_h = P.tidal_basin_mesh(n, reorder=True)
        dt = None
        for th in args.threads:
            variants = {
                "none": [("builder", mesh)],
                "hilbert": [("hilbert", mesh_h)],
                "both": [("builder", mesh), ("hilbert", mesh_h)],
            }[args.reorder]
            if th != args.threads[0] and args.reorder == "both":
                variants = [("hilbert", mesh_h)]
            for order, m in variants:
                for stepper in args.steppers:
                    r, rs, dt = coastcast_rate(m, th, args.repeats, args.steps, stepper, args.deep_water_step)
                    deep = f", deep×{args.deep_water_step:g}" if args.deep_water_step > 1.0 else ""
                    rows.append((mesh.n_face, f"coastcast {stepper} ({order}{deep})", th, r, rs))
        if not args.no_anuga:
            for th in args.threads:
                r, rs = anuga_rate(mesh, th, args.repeats, args.steps, dt)
                rows.append((mesh.n_face, f"ANUGA {anuga_version()} DE0", th, r, rs))
    ref = {(n, th): (r, rs) for n, code, th, r, rs in rows if code.startswith("ANUGA")}
    ref1 = {n: v for (n, th), v in ref.items() if th == 1}
    print(f"\nthroughput, medians of {args.repeats} runs of {args.steps} steps (shared machine: other jobs may run)")
    print(f"{'triangles':>9} {'code':36} {'thr':>3} {'M tri-steps/s':>13} {'M tri·s/s':>10} {'vs ANUGA 1 core':>17}")
    for n, code, th, r, rs in rows:
        a = ref1.get(n)
        vs = f"{r / a[0]:5.2f}× / {rs / a[1]:5.2f}×" if a else "-"
        print(f"{n:9d} {code:36} {th:3d} {r / 1e6:13.2f} {rs / 1e6:10.1f} {vs:>17}")
    print("(ratio columns: triangle-steps per second / simulated time per wall second)")


if __name__ == "__main__":
    main()
