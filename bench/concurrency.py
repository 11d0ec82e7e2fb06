"""Several forecasts at once on one machine: aggregate throughput against one run alone.

    python bench/concurrency.py [--runs 1 2 4] [--hours 6] [--policies owned shared]

Each run is a real ``coastcast run`` of the Channel/Biscay gallery region (tides only, 29 k
triangles) in its own process and run directory, all started together. Policies:

* ``owned``: every process sizes its threads to the cores it owns (the default of a standalone
  ``coastcast run``: affinity and cgroup quota), and its :class:`solver.core_share.CoreShare`
  decides how many of them it uses as the others come and go (spinning threads between loops;
  run with ``OMP_WAIT_POLICY=PASSIVE`` in the environment for sleeping ones, the callback then
  stands aside);
* ``shared``: ``COASTCAST_THREADS`` = cores // runs (at least 1), what a scheduler that knows the
  other runs sets.

Aggregate throughput = runs × simulated hours / wall seconds of the slowest; the ratio to one run
alone (same policy) is the figure of merit (target ≥ 0.9: no collapse). Prints the table last.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPINUP_HOURS = 1.0
"""Each run spins up from rest for this long (simulated, counted in the throughput) before its forecast."""

CONFIG = """name = "bench-concurrency-{i}"
gallery = "channel_biscay"
start = "2024-03-10T00:00:00Z"
hours = {hours}
spinup_hours = {spinup}
atmosphere = "none"
[gauges]
catalogue = "none"
"""


def batch(n: int, hours: float, policy: str, cores: int) -> float:
    """Wall seconds until all ``n`` simultaneous runs have finished."""
    with tempfile.TemporaryDirectory(prefix="coastcast-conc-") as tmp:
        env = dict(os.environ)
        env.pop("COASTCAST_THREADS", None)
        if policy == "shared":
            env["COASTCAST_THREADS"] = str(max(1, cores // n))
        procs = []
        t0 = time.perf_counter()
        for i in range(n):
            cfg = Path(tmp) / f"run{i}.toml"
            cfg.write_text(CONFIG.format(i=i, hours=hours, spinup=SPINUP_HOURS), encoding="utf-8")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "workflows.cli", "run", str(cfg), "--out", str(Path(tmp) / f"run{i}"), "--no-figures"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"a run failed: {err.strip().splitlines()[-1] if err.strip() else p.returncode}")
        return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--policies", nargs="+", default=["owned", "shared"], choices=["owned", "shared"])
    args = ap.parse_args(argv)
    from solver.kernels import owned_cores

    cores = owned_cores()
    batch(1, 1.0, "owned", cores)  # warm the kernel cache
    rows = []
    for policy in args.policies:
        alone = None
        for n in args.runs:
            wall = batch(n, args.hours, policy, cores)
            rate = n * (args.hours + SPINUP_HOURS) / wall
            alone = rate if n == 1 else alone
            rows.append((policy, n, wall, rate, rate / alone if alone else float("nan")))
            print(f"{policy:6s} {n} run(s): {wall:7.1f} s wall, {rate:6.2f} simulated h/s aggregate", flush=True)
    print(f"\n{cores} core(s); Channel/Biscay, {SPINUP_HOURS:g} h spin-up + {args.hours:g} h each, tides only")
    print("| policy | runs | wall (s) | aggregate simulated h/s | ratio to one run |")
    print("|---|---|---|---|---|")
    for policy, n, wall, rate, ratio in rows:
        print(f"| {policy} | {n} | {wall:.1f} | {rate:.2f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
