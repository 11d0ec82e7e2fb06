"""Many systems at once: 4 small systems' cycles on a LocalCluster of 1 and of 2 worker processes.

    python bench/scaling.py [--systems 4] [--hours 24] [--out DIR]

Each system is the tiny test basin (144 triangles, tests/cycle_fixtures.py) with its own run
directory; the workers (processes, 1 thread each, NUMBA_NUM_THREADS=1) are warmed up first (numba
loads its compiled kernels once per process), then the cycles are submitted together through
workflows.pipeline and the wall time from submission to the last publish is printed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _warm(folder: str) -> float:
    """Run a 30-minute cycle in this worker process (loads numba's kernels); returns its wall time."""
    from tests.cycle_fixtures import write_inputs
    from workflows.cycle import run_cycle

    t0 = time.perf_counter()
    f = Path(folder) / f"warm-{time.monotonic_ns()}"
    cfg = write_inputs(f / "in", hours=0.5, spinup_hours=0.25, segment_hours=0.5)
    run_cycle(cfg, f / "run", figures=False)
    return time.perf_counter() - t0


def run(workers: int, systems: int, hours: float, out: Path) -> dict:
    from tests.cycle_fixtures import write_inputs
    from workflows.cluster import open_client
    from workflows.pipeline import CycleRequest, run_cycles

    folder = out / f"w{workers}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    requests = [
        CycleRequest(
            write_inputs(folder / f"s{i}" / "in", hours=hours, spinup_hours=1.0, segment_hours=12.0),
            folder / f"s{i}" / "run",
            system=f"s{i}",
        )
        for i in range(systems)
    ]
    with open_client(workers=workers) as client:
        client.run(_warm, str(folder))
        t0 = time.perf_counter()
        outcomes = run_cycles(requests, client=client, figures=False)
        wall = time.perf_counter() - t0
    bad = [o for o in outcomes if o.status != "succeeded"]
    if bad:
        raise SystemExit(f"{len(bad)} cycle(s) failed: {bad[0].error}")
    sim = sum(sum(s["wall_seconds"] for s in o.info["segments"]) for o in outcomes)
    return {"workers": workers, "wall": wall, "simulate_sum": sim}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--systems", type=int, default=4)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = args.out or Path(tempfile.mkdtemp(prefix="coastcast-scaling-"))
    rows = [run(w, args.systems, args.hours, out) for w in (1, 2)]
    print(
        f"{args.systems} systems x {args.hours:g} h forecast (+1 h spin-up), tiny basin (144 triangles), LocalCluster processes x 1 thread"
    )
    print(f"{'workers':>8} {'wall s':>8} {'sum of segment wall s':>22}")
    for r in rows:
        print(f"{r['workers']:>8} {r['wall']:>8.1f} {r['simulate_sum']:>22.1f}")
    print(f"speed-up 2 workers vs 1: {rows[0]['wall'] / rows[1]['wall']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
