"""Time from starting ``coastcast run`` to the end of the solver's first step, on the tiny test basin
(``tests/cycle_fixtures.write_inputs``: 144 triangles, 2 hours), cold and warm.

    python bench/startup.py [--repeats 5] [--cold] [--kernels both|aot|jit]

Each repeat starts a fresh Python process that runs the CLI (``workflows.cli.main``) and stops
after the first ``Simulation.time_step`` (the kernels compile or load at their first call),
printing its CPU time (``time.process_time``: interpreter
start, imports, configuration, forcing, model set-up, loading or compiling the kernels), the
wall time since the parent started it and which of the heavy libraries of :data:`HEAVY` it had
imported by then. ``--cold`` points numba at an empty cache directory
(``NUMBA_CACHE_DIR``, a temporary one; the checkout's own cache is left alone), so that a first
run compiles the kernels as on a fresh install, and the repeats then load them from there.
Medians are printed last; each run says whether it logged that it was compiling.

``--kernels``: the serial kernels compiled ahead of time for this machine (``coastcast compile``,
:mod:`solver.kernels.aot`; built first where missing), numba's (``COASTCAST_AOT=0``), or both in
turn (the default: warm runs interleaved, aot then jit, so that the machine's load falls on both).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAVY = (
    "pyTMD",
    "distributed",
    "dask",
    "xarray",
    "pandas",
    "scipy.spatial",
    "scipy.interpolate",
    "flask",
    "sqlalchemy",
    "netCDF4",
)
"""Libraries costing 0.1-2 s of import each: each run lists those it loaded before its first step."""

CHILD = (
    f"HEAVY = {HEAVY!r}\n"
    + """
import json, os, sys, time
import solver.simulation as S
step = S.Simulation.time_step
def first_step(self, dt):
    step(self, dt)
    heavy = sorted(m for m in HEAVY if m in sys.modules)
    print("FIRST-STEP " + json.dumps({"cpu": time.process_time(), "heavy": heavy}), flush=True)
    os._exit(0)
S.Simulation.time_step = first_step
from workflows.cli import main
sys.exit(main(sys.argv[1:]))
"""
)


def once(config: Path, out: Path, cache_dir: str | None, kernels: str = "aot") -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS="1", COASTCAST_THREADS="1", OMP_NUM_THREADS="1")
    if kernels == "jit":
        env["COASTCAST_AOT"] = "0"
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", CHILD, "run", str(config), "--out", str(out), "--no-figures", "--overwrite"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    wall = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith("FIRST-STEP "):
            compiling = [x for x in p.stderr.splitlines() if "compiling" in x]
            return dict(
                json.loads(line[len("FIRST-STEP ") :]), wall=wall, said=compiling[0].split(" INFO ")[-1] if compiling else ""
            )
    raise RuntimeError(f"coastcast run ended without a step (exit {p.returncode}): {p.stderr[-2000:]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="empty the kernels' numba cache first")
    ap.add_argument(
        "--kernels", choices=("both", "aot", "jit"), default="both", help="serial kernels (default both, interleaved)"
    )
    args = ap.parse_args(argv)
    kinds = ("aot", "jit") if args.kernels == "both" else (args.kernels,)
    if "aot" in kinds:
        from solver.kernels import aot

        if not aot.module_path().is_file():
            print("building the ahead-of-time kernels (coastcast compile) ...")
            subprocess.run([sys.executable, "-m", "workflows.cli", "compile"], check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(ROOT / "tests"))
    from cycle_fixtures import write_inputs

    with tempfile.TemporaryDirectory(prefix="coastcast-startup-") as tmp:
        config = write_inputs(Path(tmp) / "inputs")
        rows = {k: [] for k in kinds}
        cache_dir = None
        if args.cold:
            cache_dir = str(Path(tmp) / "numba-cache")
            for k in kinds:  # aot first: it compiles nothing, so jit's first run is still the cold one
                r = once(config, Path(tmp) / f"run-cold-{k}", cache_dir, k)
                print(
                    f"{k} cold (empty numba cache): CPU {r['cpu']:.2f} s, wall {r['wall']:.2f} s; "
                    f"logged: {r['said'] or '(nothing about compiling)'}"
                )
        for i in range(args.repeats):
            for k in kinds:
                r = once(config, Path(tmp) / f"run-{k}-{i}", cache_dir, k)
                rows[k].append(r)
                print(
                    f"{k} warm {i + 1}: CPU {r['cpu']:.2f} s, wall {r['wall']:.2f} s; "
                    f"logged: {r['said'] or '(nothing about compiling)'}"
                )
        for k in kinds:
            print(
                f"{k} warm, median of {args.repeats}: CPU {statistics.median(r['cpu'] for r in rows[k]):.2f} s, "
                f"wall {statistics.median(r['wall'] for r in rows[k]):.2f} s to the first step; "
                f"heavy libraries loaded: {', '.join(rows[k][-1]['heavy']) or 'none'}"
            )


if __name__ == "__main__":
    main()
