"""Wall time and peak memory of a tides-only forecast of the Channel/Biscay gallery mesh
(29 k triangles), the run behind ``coastcast demo``.

    python bench/forecast.py [--hours 72] [--repeats 3] [--threads 2] [--steppers lts-muscl-hancock lts-rk2] [--order faces]
                             [--deep-water-step 2 1]

Each open boundary is forced by its JMJ harmonics (M2, S2, N2, M4; CSV in meshes/channel_biscay)
through ``workflows.forcing.tides.tidal_forcing_for_boundary`` and ``solver.boundaries.TidalElevation``;
Manning 0.025, Coriolis, cfl 0.9, no output writers (the solver alone); time stepping with
local steps (``lts-muscl-hancock``, the forecast default, or ``lts-rk2``, the same levels with Heun stages)
and/or one global step (``muscl-hancock``, ``ssp-rk2``), with the
longer deep-water step (``solver.stability.DeepWaterStep``, factor 2, the forecast default) or
the positivity bound everywhere (``--deep-water-step 1``). Each repeat
runs in a fresh process, so the peak resident memory (``resource.getrusage`` maximum RSS, which
includes Python, numpy, numba and the compiled kernels) is the run's own. The run's CPU seconds (``time.process_time``, all threads of the process) are
printed beside its wall time: on a machine shared with other jobs the CPU time of a one-thread run
is the steadier figure. Prints the table last.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MESH = ROOT / "meshes" / "channel_biscay" / "hgrid.gr3.gz"
CSV = ROOT / "meshes" / "channel_biscay" / "jmj_open_boundary_elevation_harmonics.csv"
START = datetime(2024, 3, 10, tzinfo=timezone.utc)  # a spring tide
ORDERS = ("file", "faces", "faces+nodes")


def build_model(hours: float, order: str = "faces", deep_water_step: float = 2.0):
    """The forecast's model of the Channel/Biscay mesh (module docstring), forced for ``hours``."""
    from solver.boundaries import TidalElevation
    from solver.connectivity import hilbert_order, node_order_by_faces
    from solver.formats import read_mesh
    from solver.model import ShallowWaterModel
    from solver.stability import DeepWaterStep
    from solver.terms import Coriolis, ManningFriction
    from workflows.bathymetry import to_mean_sea_level
    from workflows.forcing.tides import tidal_forcing_for_boundary
    from workflows.gallery import load_region

    mesh = to_mean_sea_level(read_mesh(MESH), load_region("channel_biscay").bathymetry)  # depths below MSL, as a forecast runs
    duration = timedelta(hours=hours)
    bcs = {}
    for seg in mesh.boundaries:
        if seg.role != "open":
            continue
        ids = seg.node_ids
        source = {"source": "harmonics", "file": str(CSV), "constituents": ["M2", "S2", "N2", "M4"]}
        f = tidal_forcing_for_boundary(source, mesh.node_x[ids], mesh.node_y[ids], ids, START, duration=duration)
        bcs[seg.name] = TidalElevation(f.elevation, f.velocity)
    # memory order, after the forcing (which matches the CSV by node id): "faces" along a Hilbert
    # curve, as workflows.cycle.read_mesh_for does for every forecast; "faces+nodes" also
    # renumbers the nodes (segments keep their node order); "file" keeps the file's order
    if order != "file":
        fp = hilbert_order(mesh.face_x, mesh.face_y)
        mesh = mesh.reordered(
            fp, node_order_by_faces(mesh.face_node_connectivity[fp], mesh.n_node) if order == "faces+nodes" else None
        )
    deep = DeepWaterStep(factor=deep_water_step) if deep_water_step > 1.0 else None
    return ShallowWaterModel(
        mesh, boundary_conditions=bcs, friction=ManningFriction(0.025), coriolis=Coriolis(), deep_water_step=deep
    )


def one_run(
    hours: float, threads: int, order: str = "faces", stepper: str = "lts-muscl-hancock", deep_water_step: float = 2.0
) -> dict:
    """Set up and run one forecast in this process; returns timings (s), steps and peak RSS (MiB)."""
    import resource

    import numba

    from solver.simulation import Simulation

    numba.set_num_threads(threads)
    t0 = time.perf_counter()
    model = build_model(hours, order, deep_water_step)
    mesh = model.mesh
    state = model.initial_state(0.0)
    sim = Simulation(model, state, stop_time=hours * 3600.0, time_stepper=stepper)
    setup = time.perf_counter() - t0
    c0 = time.process_time()
    sim.run()
    cpu = time.process_time() - c0
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return {
        "setup_s": setup,
        "run_s": sim.wall_time,
        "run_cpu_s": cpu,
        "total_s": total,
        "steps": sim.clock.iteration,
        "base_steps": int(sim.stepper.level_steps[0]) if hasattr(sim.stepper, "level_steps") else sim.clock.iteration,
        "mean_dt_s": hours * 3600.0 / sim.clock.iteration,
        "n_face": mesh.n_face,
        "peak_rss_mib": rss,
        "max_eta_m": float(np.max(model.eta(state)[state.h > model.dry_depth])),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[72.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument(
        "--order",
        choices=ORDERS,
        default="faces",
        help="memory order of the mesh (default: the forecast's, faces along a Hilbert curve)",
    )
    ap.add_argument("--steppers", nargs="+", default=["lts-muscl-hancock", "lts-rk2"], help="time steppers to compare")
    ap.add_argument(
        "--deep-water-step",
        type=float,
        nargs="+",
        default=[2.0],
        help="stable-step factor in water >= 5 m deep (solver.stability.DeepWaterStep; 1 = the positivity bound everywhere; the forecast default 2)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(one_run(args.hours[0], args.threads[0], args.order, args.steppers[0], args.deep_water_step[0])))
        return
    rows = []
    for hours in args.hours:
        for th in args.threads:
            for stepper in args.steppers:
                for deep in args.deep_water_step:
                    runs = []
                    for _ in range(args.repeats):  # alternate nothing: each repeat is a fresh process
                        cmd = [
                            sys.executable,
                            __file__,
                            "--child",
                            "--hours",
                            str(hours),
                            "--threads",
                            str(th),
                            "--steppers",
                            stepper,
                        ]
                        cmd += ["--order", args.order, "--deep-water-step", str(deep)]
                        out = subprocess.run(
                            cmd, capture_output=True, text=True, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
                        )
                        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
                    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
                    rows.append((hours, th, stepper, deep, med, runs))
    print(
        f"\nChannel/Biscay tides-only forecast, {args.order} memory order, medians of {args.repeats} fresh processes (shared machine: other jobs may run)"
    )
    print(
        "(steps: the coarsest level's under local time steps; M tri-steps/s counts faces × smallest steps, as a global stepper would take)"
    )
    print(
        f"{'hours':>5} {'thr':>3} {'stepper':>8} {'deep':>4} {'faces':>6} {'steps':>6} {'setup s':>7} {'run s':>7} {'run CPU s':>9} {'total s':>7} {'M tri-steps/s':>13} {'peak RSS MiB':>12}"
    )
    for hours, th, stepper, deep, m, runs in rows:
        rate = m["n_face"] * m["base_steps"] / m["run_s"] / 1e6
        print(
            f"{hours:5.0f} {th:3d} {stepper:>8} {deep:4.1f} {m['n_face']:6.0f} {m['steps']:6.0f} {m['setup_s']:7.1f} {m['run_s']:7.1f} {m['run_cpu_s']:9.1f} {m['total_s']:7.1f} {rate:13.2f} {m['peak_rss_mib']:12.0f}"
        )
        totals = ", ".join(f"{r['total_s']:.1f}" for r in runs)
        print(f"      runs (total s): {totals}; max wet eta {m['max_eta_m']:.2f} m")


if __name__ == "__main__":
    main()
