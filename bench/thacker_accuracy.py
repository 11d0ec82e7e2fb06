"""Thacker's planar oscillation in a paraboloid (wetting and drying): wall time to reach the same L1
depth error after one period, coastcast (numba, Barth–Jespersen; MUSCL–Hancock, one flux
evaluation per step as ANUGA's DE0, and SSP-RK2, two; ``--steppers lts-rk2 lts-muscl-hancock``
adds local time steps, which take global steps on this uniform bowl; ``--steppers euler`` forward
Euler, which with this unrelaxed limiter is not stable for gravity waves, see
``solver.timestepping``) against ANUGA (DE0), on the same meshes (the verification case's
4 m × 4 m cross-pattern rectangles, 4 n² triangles).

    python bench/thacker_accuracy.py [--coastcast-n 16 24 32 48 64] [--anuga-n 32 64 128] [--repeats 3]
                                     [--threads 1] [--steppers muscl-hancock ssp-rk2] [--kernels aot|jit]

The ANUGA rows need ANUGA in the interpreter that runs the script (``pip install anuga``; it was
measured with ANUGA 4.2.0 in a virtual environment that also sees this project:
``/path/to/venv/bin/python bench/thacker_accuracy.py``). Without it the script prints coastcast's
rows and says that the ANUGA rows, the interpolation and the ratio were skipped.

Each (code, resolution, repeat) runs as a **whole process**: a fresh ``python
bench/thacker_accuracy.py --worker CODE N`` whose wall time is taken from its launch to its exit
(interpreter start, imports, mesh, initial state, model or domain set-up, loading numba's cached
kernels at their first call, the run, the error, exit — both codes' workers freeze the garbage
collector before exiting, as the ``coastcast`` command does, ``workflows.cli.console_main``),
with ``NUMBA_NUM_THREADS``,
``OMP_NUM_THREADS`` and ``COASTCAST_THREADS`` set to ``--threads`` (one by default). The worker
also reports the in-process run time (``Simulation.run`` / ANUGA's ``evolve``; coastcast's includes
loading its kernels from numba's cache, at their first call). A first, untimed worker per code on
a tiny mesh fills numba's cache (and Python's bytecode caches) so that no timed run compiles.
coastcast's serial kernels are by default the ones compiled ahead of time for this machine
(``coastcast compile``, :mod:`solver.kernels.aot`; the script builds them first where they are
missing, as the warm-up fills numba's cache): a one-thread process then never loads numba's
just-in-time machinery. ``--kernels jit`` runs numba's, from its cache, as before 2026-12-07.
Repeats are interleaved (every case once, then again) so that a burst of load on a shared machine
spreads over the cases; medians of ``--repeats`` are printed.

Error: Σ A |h − h_exact| / Σ A over the whole 4 m × 4 m mesh, with h_exact the cell average of
Thacker's solution (Thacker 1981, J. Fluid Mech. 107; SWASHES §4.2.2;
``solver.verification.analytic.thacker_planar``) at t = one period; in metres and as a percentage
of the **shoreline tilt** 2 η h0 / a (0.1 m here). Thacker's free surface is the plane
ζ = (η h0/a²)(2x cos ωt + 2y sin ωt − η) of slope 2 η h0 / a²; the wet region is the disc of radius
a about η (cos ωt, sin ωt), and along its shoreline ζ = (η h0/a²)(η + 2a cos(φ − ωt)): the
shoreline rises and falls by 2 η h0 / a (the surface slope times the wet radius) about its mean.

Then, within the overlap of the codes' error ranges: targets at the geometric middle of the
overlap and at each code's own measured errors inside the overlap; each code's time at a
target is interpolated log-log between the two adjacent resolutions whose errors bracket it; the
ratio ANUGA / coastcast uses the faster coastcast stepper at that target (named). A last line
gives the verdict at the middle of the overlap against the ≥ 4× target (issue 20). Load averages
(``os.getloadavg``) before and after are printed: on a shared machine other jobs slow both codes.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time

_T_START = time.perf_counter()

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problems as P  # noqa: E402

from solver.builders import rectangle  # noqa: E402
from solver.model import ShallowWaterModel  # noqa: E402
from solver.simulation import Simulation  # noqa: E402
from solver.state import State  # noqa: E402
from solver.verification import analytic  # noqa: E402
from solver.verification.cases import _cell_average  # noqa: E402

A, H0, ETA = 1.0, 0.1, 0.5
TILT = 2 * ETA * H0 / A  # the shoreline's rise and fall about its mean (m), see the module docstring
TARGET_RATIO = 4.0  # issue 20: ANUGA's wall time over coastcast's at equal error
RESULT = "THACKER-RESULT "


def bowl(n):
    return rectangle(4.0, 4.0, n, n, x0=-2.0, y0=-2.0, depth=lambda x, y: H0 * (1 - (x**2 + y**2) / A**2))


def exact(mesh, t):
    return _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, t, A, H0, ETA)[0])


def l1(mesh, h, hx):
    return float(np.sum(mesh.face_area * np.abs(h - hx)) / np.sum(mesh.face_area))


def run_coastcast(mesh, period, stepper="ssp-rk2"):
    """(run wall s, L1 error m, smallest steps, set-up s) for one period."""
    t0 = time.perf_counter()
    model = ShallowWaterModel(mesh, dry_depth=1e-6)
    h = exact(mesh, 0.0)
    _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, A, H0, ETA)
    state = State(h, h * u, h * v)
    sim = Simulation(model, state, stop_time=period, cfl=0.9, time_stepper=stepper)
    t1 = time.perf_counter()
    sim.run()
    run = time.perf_counter() - t1
    # smallest steps: lts-rk2 counts them on its level 0 (its global steps too, where its levels do not pay)
    steps = int(sim.stepper.level_steps[0]) if hasattr(sim.stepper, "level_steps") else sim.clock.iteration
    return run, l1(mesh, state.h, exact(mesh, period)), steps, t1 - t0


def run_anuga(mesh, period, threads):
    """(run wall s, L1 error m, steps, set-up s) for one period with ANUGA DE0."""
    t0 = time.perf_counter()
    domain = P.anuga_domain(mesh, {}, threads=threads)
    domain.set_minimum_allowed_height(1e-6)
    domain.set_quantity("elevation", lambda x, y: -H0 * (1 - (x**2 + y**2) / A**2))
    z = domain.quantities["elevation"].centroid_values.copy()
    h = exact(mesh, 0.0)
    _, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, A, H0, ETA)
    domain.set_quantity("stage", z + h, location="centroids")
    domain.set_quantity("xmomentum", h * u, location="centroids")
    domain.set_quantity("ymomentum", h * v, location="centroids")
    setup = time.perf_counter() - t0
    wall, steps = P.anuga_run(domain, period)
    hd = domain.quantities["stage"].centroid_values - domain.quantities["elevation"].centroid_values
    return wall, l1(mesh, hd, exact(mesh, period)), steps, setup


# -- one case in a fresh process ----------------------------------------------------------------
def worker(code, n, threads):
    """Run one case in this process and print its result line (``code``: a stepper or ``anuga``)."""
    imports = time.perf_counter() - _T_START
    period = analytic.thacker_period(A, H0)
    version = ""
    if code == "anuga":
        t0 = time.perf_counter()
        import anuga

        P.quiet_anuga()
        version = anuga.__version__
        imports += time.perf_counter() - t0
    mesh = bowl(n)
    if code == "anuga":
        run, err, steps, setup = run_anuga(mesh, period, threads)
    else:
        run, err, steps, setup = run_coastcast(mesh, period, code)
    out = dict(code=code, n=n, n_face=int(mesh.n_face), run=run, err=err, steps=int(steps), setup=setup)
    if code != "anuga":  # which serial kernels ran: ahead of time (coastcast compile) or numba's
        from solver.kernels.dispatch import KERNELS

        out["aot"] = all(k.compiled is not None for k in KERNELS.values())
    print(RESULT + json.dumps(dict(out, imports=imports, version=version)), flush=True)
    # both codes' workers end as the coastcast command does (workflows.cli.console_main)
    gc.freeze()


def launch(code, n, threads, kernels="aot"):
    """One whole process: its result with ``whole``, the wall seconds from launch to exit."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), COASTCAST_THREADS=str(threads))
    if kernels == "jit":
        env["COASTCAST_AOT"] = "0"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", code, str(n), "--threads", str(threads)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    whole = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith(RESULT):
            return dict(json.loads(line[len(RESULT) :]), whole=whole)
    raise RuntimeError(f"worker {code} n={n} ended without a result (exit {p.returncode}):\n{p.stderr[-3000:]}")


def anuga_available():
    p = subprocess.run([sys.executable, "-c", "import anuga"], capture_output=True, text=True, check=False)
    return p.returncode == 0


# -- equal-error comparison ----------------------------------------------------------------------
def interpolate(points, err, key):
    """Time (``key``: ``whole`` or ``run``) at error ``err``, log-log between the two adjacent
    resolutions whose errors bracket it; (seconds, (n1, n2)) or None outside the measured range."""
    pts = sorted(points, key=lambda r: r["n"])
    for a, b in zip(pts, pts[1:]):
        lo, hi = sorted((a["err"], b["err"]))
        if lo <= err <= hi and lo < hi:
            f = math.log(err / a["err"]) / math.log(b["err"] / a["err"])
            return math.exp(math.log(a[key]) + f * math.log(b[key] / a[key])), (a["n"], b["n"])
    return None


def pct(err):
    return 100.0 * err / TILT


def compare(rows, steppers):
    """Print the equal-error table; returns the verdict line."""
    anuga = [r for r in rows if r["code"] == "anuga"]
    cc = {st: [r for r in rows if r["code"] == st] for st in steppers}
    ranges = [(min(r["err"] for r in pts), max(r["err"] for r in pts)) for pts in [anuga, *cc.values()]]
    lo, hi = max(r[0] for r in ranges), min(r[1] for r in ranges)
    a_lo, a_hi = ranges[0]
    print(
        f"\nError ranges (m): ANUGA {a_lo:.3e}–{a_hi:.3e}; "
        + "; ".join(f"coastcast {st} {r[0]:.3e}–{r[1]:.3e}" for st, r in zip(steppers, ranges[1:]))
    )
    if lo > hi:
        line = "no overlap between the codes' error ranges: add resolutions (finer ANUGA or coarser coastcast meshes)"
        print(line)
        return f"verdict: not measured ({line})"
    middle = math.sqrt(lo * hi)
    print(f"Overlap {lo:.3e}–{hi:.3e} m ({pct(lo):.3f}–{pct(hi):.3f} % of the shoreline tilt); middle {middle:.3e} m")
    targets = [("middle of overlap", middle)]
    for name, pts in [*((f"coastcast {st}", cc[st]) for st in steppers), ("ANUGA", anuga)]:
        for r in sorted(pts, key=lambda r: r["n"]):
            # measured errors inside the overlap (one target where the steppers' errors agree to 1 %)
            if lo <= r["err"] <= hi and all(abs(r["err"] / t - 1) > 0.01 for _, t in targets):
                same = name != "ANUGA" and all(
                    any(q["n"] == r["n"] and abs(q["err"] / r["err"] - 1) <= 0.01 for q in cc[st]) for st in steppers
                )
                targets.append((f"{'coastcast' if same else name} n={r['n']} error", r["err"]))
    print("(times interpolated log-log between the bracketing resolutions, n1–n2; ratio = ANUGA / the faster coastcast stepper)")
    head = f"{'target':28} {'L1 m':>9} {'% tilt':>7} {'ANUGA whole s':>17}"
    head += "".join(f" {st + ' whole s':>22}" for st in steppers)
    head += f" {'ratio whole':>11} {'ratio run':>9}  faster"
    print(head)
    verdict = None
    ratios = []
    for name, target in targets:
        a_whole, a_run = interpolate(anuga, target, "whole"), interpolate(anuga, target, "run")
        if a_whole is None:
            print(f"{name:28} {target:9.3e} {pct(target):7.3f}  (outside ANUGA's interpolable range)")
            continue
        line = f"{name:28} {target:9.3e} {pct(target):7.3f} {a_whole[0]:8.2f} ({a_whole[1][0]:3d}–{a_whole[1][1]:3d})"
        best = None
        for st in steppers:
            w, r = interpolate(cc[st], target, "whole"), interpolate(cc[st], target, "run")
            if w is None:
                line += f" {'—':>22}"
                continue
            line += f" {w[0]:13.2f} ({w[1][0]:3d}–{w[1][1]:3d})"
            if best is None or w[0] < best[1]:
                best = (st, w[0], r[0])
        if best is None:
            print(line + "  (outside coastcast's range)")
            continue
        rw, rr = a_whole[0] / best[1], a_run[0] / best[2]
        ratios.append(rw)
        print(line + f" {rw:10.2f}× {rr:8.2f}×  {best[0]}")
        if verdict is None:
            verdict = (
                f"verdict: at L1 {target:.3e} m ({pct(target):.3f} % of the shoreline tilt) ANUGA DE0 takes {rw:.2f}× "
                f"coastcast {best[0]}'s whole-process wall time ({a_whole[0]:.1f} s vs {best[1]:.1f} s; run only {rr:.2f}×)"
            )
    if verdict is None:
        return "verdict: not measured (the middle of the overlap is outside a code's interpolable range)"
    spread = f"; {min(ratios):.2f}–{max(ratios):.2f}× over the {len(ratios)} targets" if len(ratios) > 1 else ""
    return verdict + spread + f" — target ≥ {TARGET_RATIO:g}×: {'met' if ratios[0] >= TARGET_RATIO else 'NOT met'}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--coastcast-n", type=int, nargs="+", default=[16, 24, 32, 48, 64], help="coastcast resolutions (4 n² triangles)"
    )
    ap.add_argument("--anuga-n", type=int, nargs="+", default=[32, 64, 128], help="ANUGA resolutions (4 n² triangles)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steppers", nargs="+", default=["muscl-hancock", "ssp-rk2"], help="coastcast time steppers")
    ap.add_argument(
        "--kernels",
        choices=("aot", "jit"),
        default="aot",
        help="coastcast's serial kernels: compiled ahead of time (built first with `coastcast compile` if this machine "
        "has none for this version) or numba's just-in-time ones from its cache (default aot)",
    )
    ap.add_argument("--worker", nargs=2, metavar=("CODE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]), args.threads)
    if args.kernels == "aot":
        from solver.kernels import aot

        if not aot.module_path().is_file():
            print("building the ahead-of-time kernels (coastcast compile) ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "workflows.cli", "compile"], check=True, stdout=subprocess.DEVNULL)

    load0 = os.getloadavg()
    have_anuga = anuga_available()
    cases = [(st, n) for n in args.coastcast_n for st in args.steppers]
    if have_anuga:
        cases += [("anuga", n) for n in args.anuga_n]
    warm = {code: launch(code, 8, args.threads, args.kernels)["whole"] for code in dict.fromkeys(c for c, _ in cases)}
    print("warm-up (untimed, fills the caches): " + ", ".join(f"{c} {w:.1f} s" for c, w in warm.items()), file=sys.stderr)
    results = {c: [] for c in cases}
    for rep in range(args.repeats):
        for code, n in cases:
            r = launch(code, n, args.threads, args.kernels)
            results[(code, n)].append(r)
            print(f"[{rep + 1}/{args.repeats}] {code} n={n}: whole {r['whole']:.2f} s, run {r['run']:.2f} s", file=sys.stderr)
    load1 = os.getloadavg()

    rows = []
    for res in results.values():
        errs = {round(r["err"], 12) for r in res}
        rows.append(
            dict(
                res[0],
                whole=P.median([r["whole"] for r in res]),
                run=P.median([r["run"] for r in res]),
                setup=P.median([r["setup"] for r in res]),
                imports=P.median([r["imports"] for r in res]),
                same=len(errs) == 1,
            )
        )
    anuga_label = "ANUGA " + next((r["version"] for r in rows if r["code"] == "anuga"), "") + " DE0"
    period = analytic.thacker_period(A, H0)
    print(
        f"\nThacker bowl, one period ({period:.3f} s), {args.threads} thread(s) per process, "
        f"medians of {args.repeats} whole processes; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} before, "
        f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} after ({os.cpu_count()} CPUs, shared)"
    )
    aot_used = {r.get("aot") for r in rows if r["code"] != "anuga"}
    print(
        "coastcast's serial kernels: "
        + {frozenset([True]): "compiled ahead of time (coastcast compile)", frozenset([False]): "numba's, from its cache"}.get(
            frozenset(aot_used), "mixed (a build appeared or vanished during the run)"
        )
    )
    print(
        "(whole: launch to exit of a fresh process; run: Simulation.run / evolve inside it; imports and set-up: the worker's "
        "own clocks; steps: smallest steps, lts-rk2's level 0 or its global steps)"
    )
    print(
        f"{'code':22} {'n':>4} {'triangles':>9} {'steps':>6} {'whole s':>8} {'run s':>8} {'imports s':>9} {'setup s':>7} "
        f"{'L1 depth m':>10} {'% tilt':>7} {'M tri-steps/s':>13}"
    )
    for r in sorted(rows, key=lambda r: (r["code"] == "anuga", r["code"], r["n"])):
        label = anuga_label if r["code"] == "anuga" else f"coastcast {r['code']}"
        print(
            f"{label:22} {r['n']:4d} {r['n_face']:9d} {r['steps']:6d} {r['whole']:8.2f} {r['run']:8.2f} {r['imports']:9.2f} "
            f"{r['setup']:7.2f} {r['err']:10.3e} {pct(r['err']):7.3f} {r['n_face'] * r['steps'] / r['run'] / 1e6:13.2f}"
            + ("" if r["same"] else "  (error differed between repeats)")
        )
    if not have_anuga:
        print(
            f"\nANUGA is not importable by {sys.executable} (pip install anuga): its rows, the interpolation and the ratio skipped"
        )
        return None
    print(compare(rows, args.steppers))
    return None


if __name__ == "__main__":
    main()
