"""Scale: one big mesh, an ensemble on a dask cluster, many small systems at once.

    python bench/scaling.py                      # all three sections below, with their defaults
    python bench/scaling.py mesh [--meshes 60k 250k 1M] [--threads 1 2] [--repeats 3] [--hours H]
                                 [--steppers lts-muscl-hancock lts-rk2] [--cache DIR]
    python bench/scaling.py ensemble [--members 8] [--workers 2] [--hours 1] [--spinup 0.5] [--repeats 3]
    python bench/scaling.py systems [--systems 4] [--hours 24] [--out DIR]
    python bench/scaling.py meshes [--meshes 60k 250k 1M] [--cache DIR]   # only generate (and cache) the meshes

``mesh``: the whole English Channel (box lon -6..2.5, lat 48.5..51.3: open boundaries in the
Western Approaches, across the Bristol Channel / Celtic Sea at 51.3 N and in the southern North
Sea at 2.5 E; the south edge crosses Brittany north of the Rade de Brest and the Rance) meshed by
``workflows.meshgen.generate_mesh`` at three sizes (:data:`MESHES`: largest / coastal element
size 4000/1000 m, 1640/410 m and 650/200 m: 64 k, 244 k and 1.07 M triangles). Generated
meshes are cached as UGRID files in ``--cache`` (default ``<tmp>/coastcast-scaling-meshes``),
keyed by box, sizes and the generator's source, with their generation time and peak memory.
Each mesh runs as a forecast builds it (``workflows.cycle``: ``load_config`` -> ``read_mesh_for``
-> ``build_model`` -> ``initial_state``, then ``solver.Simulation`` with the configuration's
cfl and time stepper, no output writers): every open boundary forced by the JMJ atlas
(meshes/channel_biscay, diurnals from coastcast's global atlas), Manning 0.025, Coriolis, the
deep-water step; a cold start (the tide ramped in over half the 0.5 h spin-up) whose first
:data:`WARM_SECONDS` simulated seconds are run untimed (numba loads its kernels: the start-up,
reported apart), then ``--hours`` timed (default :data:`SIM_HOURS`: 0.25 h at 64 k, 0.08 h at 244 k,
0.025 h at 1.07 M, so that no run takes more than about two minutes; tens of the coarsest local steps).
Each measurement is a fresh process (``COASTCAST_THREADS`` = 1 or 2), so its peak RSS is its own;
repeats alternate the meshes and thread counts. Printed: wall s per simulated hour, µs per
face update (a face's step; local time stepping updates each face at its own level's
rate), M face updates/s, peak RSS, the 1-min load average before each run, and the growth of
the cost per triangle from one size to the next. Generating the 1.07 M mesh takes about 3 minutes
(once; cached); the section 10-15 minutes on 2 cores.

``ensemble``: the Channel/Biscay gallery region (29 k triangles), ``--members`` members
(``[[ensemble.tides]]``: the JMJ harmonics with 8 different constituent sets), each a cycle of
``--spinup`` + ``--hours`` simulated hours run through ``workflows.ensemble.run_ensemble`` on a
dask LocalCluster (``workflows.cluster.open_client``) of ``--workers`` processes x 1 thread,
against one member alone (``workflows.pipeline.run_cycles``) on the same cluster. Aggregate
throughput ratio = members x wall(1 member) / wall(all members); 2 workers on 2 free cores
would give 2.

``systems``: 4 small systems' cycles (the tiny test basin, 144 triangles, tests/cycle_fixtures.py)
on a LocalCluster of 1 and of 2 worker processes (1 thread each); the workers are warmed up
first (numba loads its compiled kernels once per process), then the cycles are submitted
together through workflows.pipeline and the wall time from submission to the last publish is
printed.

All tables are printed at the end of each section; medians over the repeats.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BBOX = (-6.0, 48.5, 2.5, 51.3)
"""The whole English Channel, W S E N (degrees)."""
MESHES = {"60k": (4000.0, 1000.0), "250k": (1640.0, 410.0), "1M": (650.0, 200.0)}
"""Mesh name -> (largest element size, coastal element size) in m for :func:`workflows.meshgen.generate_mesh`."""
SIM_HOURS = {"60k": 0.25, "250k": 0.08, "1M": 0.025}
"""Simulated hours timed per mesh (each run a few minutes at most on a 2-core machine; tens of coarsest local steps)."""
JMJ_ATLAS = ROOT / "meshes" / "channel_biscay" / "jmj_channel_biscay_tides.nc"
START = "2024-03-10T00:00:00Z"  # a spring tide
SPINUP_HOURS = 0.5
WARM_SECONDS = 20.0
"""Simulated seconds run before the timing starts (numba loads its kernels on their first call)."""
CONSTITUENT_SETS = (
    ["M2", "S2", "N2", "M4"],
    ["M2", "S2", "N2"],
    ["M2", "S2", "M4"],
    ["M2", "N2", "M4"],
    ["M2", "S2"],
    ["M2", "N2"],
    ["M2", "M4"],
    ["M2"],
)
"""The ensemble members' tides (JMJ harmonics; same cost, different forcing)."""


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def _median(values):
    return statistics.median(values) if values else float("nan")


def _child(args: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run ``python bench/scaling.py _child ...`` in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", *args]
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    out = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=timeout)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"child {' '.join(args)} failed (exit {out.returncode}):\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- meshes ---------------------------------------------------------------------------------------
def mesh_key(name: str) -> str:
    """Cache file stem of mesh ``name``: box, sizes and a hash of the generator's source."""
    res, mn = MESHES[name]
    src = (ROOT / "workflows" / "meshgen.py").read_bytes()
    h = hashlib.sha256(src + repr((BBOX, res, mn)).encode()).hexdigest()[:10]
    return f"channel_{name}_r{res:g}_m{mn:g}_{h}"


def generate_child(out: str, res: float, mn: float) -> dict:
    """Generate one mesh in this process and write it; returns its record (sizes, timings, peak RSS)."""
    import resource

    from solver.formats import write_mesh
    from solver.quality import check_mesh
    from workflows.meshgen import generate_mesh

    t0 = time.perf_counter()
    g = generate_mesh(BBOX, resolution=res, min_size=mn, name=Path(out).stem)
    wall = time.perf_counter() - t0
    m = g.mesh
    part = Path(out).with_suffix(".part.nc")
    write_mesh(m, part)
    os.replace(part, out)
    r = check_mesh(m)
    return {
        "file": out,
        "n_face": int(m.n_face),
        "n_node": int(m.n_node),
        "resolution_m": g.resolution,
        "min_size_m": g.min_size,
        "min_angle_deg": float(r.min_angle_deg),
        "check_ok": bool(r.ok),
        "problems": list(r.problems)[:3],
        "open_boundaries": {b.name: int(len(b.node_ids)) for b in m.boundaries if b.role == "open"},
        "n_land_boundaries": sum(b.role != "open" for b in m.boundaries),
        "depth_sources": g.depth_sources,
        "notes": list(g.notes),
        "timings_s": g.timings,
        "generate_s": wall,
        "write_s": time.perf_counter() - t0 - wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "load_before": None,
    }


def ensure_mesh(name: str, cache: Path) -> dict:
    """The cached mesh ``name`` (generated in a child process when missing) and its record."""
    cache.mkdir(parents=True, exist_ok=True)
    stem = mesh_key(name)
    path, info = cache / f"{stem}.nc", cache / f"{stem}.json"
    if path.is_file() and info.is_file():
        return json.loads(info.read_text(encoding="utf-8"))
    res, mn = MESHES[name]
    la = load()
    print(f"generating mesh {name} ({res:g}/{mn:g} m) into {path} ...", flush=True)
    rec = _child(["generate", str(path), str(res), str(mn)])
    rec["load_before"] = la
    rec["name"] = name
    info.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return rec


def print_meshes(recs: list[dict]) -> None:
    print(f"\nGenerated meshes of the English Channel, box {' '.join(f'{v:g}' for v in BBOX)} (workflows.meshgen)")
    print(
        "| mesh | sizes m (max/coast) | triangles | nodes | open boundaries (nodes) | min angle | generate s | peak RSS MiB | load |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for r in recs:
        ob = ", ".join(f"{v}" for v in r["open_boundaries"].values())
        la = r.get("load_before")
        print(
            f"| {r['name']} | {r['resolution_m']:g}/{r['min_size_m']:g} | {r['n_face']:,} | {r['n_node']:,} | {ob} | "
            f"{r['min_angle_deg']:.1f}° | {r['generate_s']:.0f} | {r['peak_rss_mib']:.0f} | {'' if la is None else f'{la:.2f}'} |"
        )
    for r in recs:
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items() if k != "total")
        print(f"  {r['name']}: {steps} s; depth from {r['depth_sources']}; {'; '.join(r['notes'])}")


# -- one forecast-built run per process -----------------------------------------------------------
CONFIG = """name = "bench-scale-{name}"
mesh = "{mesh}"
start = "{start}"
hours = {hours}
spinup_hours = {spinup}
atmosphere = "none"
[gauges]
catalogue = "none"
[physics]
time_stepper = "{stepper}"
[tides]
source = "atlas"
model = "jmj"
path = "{atlas}"
supplement = "coastcast"
[boundaries]
{boundaries}
"""


def write_config(folder: Path, rec: dict, hours: float, stepper: str) -> Path:
    """A forecast configuration of a generated mesh: every open boundary forced by the JMJ atlas."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = "\n".join(f'{b} = "tide"' for b in rec["open_boundaries"])
    text = CONFIG.format(
        name=rec["name"],
        mesh=rec["file"],
        start=START,
        hours=max(hours, 1.0),
        spinup=SPINUP_HOURS,
        stepper=stepper,
        atlas=JMJ_ATLAS,
        boundaries=bounds,
    )
    path = folder / f"{rec['name']}-{stepper}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_child(config: str, hours: float, threads: int, warm_s: float = WARM_SECONDS) -> dict:
    """Build the model of ``config`` as a forecast segment does, run its first ``warm_s`` seconds
    (numba loads its compiled kernels on their first call: the start-up, reported apart), then
    ``hours`` more, timed."""
    import resource
    from datetime import timedelta

    import numpy as np

    from solver import Simulation
    from solver.kernels import use_threads
    from workflows.config import load_config
    from workflows.cycle import build_model, initial_state, read_mesh_for

    got = use_threads(threads)
    t0 = time.perf_counter()
    cfg = load_config(config)
    mesh = read_mesh_for(cfg)
    t_mesh = time.perf_counter() - t0
    model_start = cfg.start - timedelta(hours=cfg.spinup_hours)
    duration = warm_s + hours * 3600.0
    model, _ = build_model(cfg, mesh, model_start, duration)
    t_model = time.perf_counter() - t0 - t_mesh
    state, clock = initial_state(cfg, model, model_start)
    sim = Simulation(model, state, stop_time=warm_s, clock=clock, cfl=cfg.physics.cfl, time_stepper=cfg.physics.time_stepper)
    setup = time.perf_counter() - t0
    rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    st = sim.stepper

    def updates():
        return int(getattr(st, "face_updates", 0)) or int(sim.clock.iteration) * mesh.n_face

    sim.run()  # the start-up: kernels loaded, the first step(s) taken
    warm_wall, warm_updates, warm_steps = sim.wall_time, updates(), sim.clock.iteration
    v0 = model.volume(state)
    la = load()
    sim.stop_time = duration
    sim.run()
    wet = state.h > model.dry_depth
    return {
        "threads": got,
        "stepper": cfg.physics.time_stepper,
        "n_face": int(mesh.n_face),
        "sim_hours": hours,
        "mesh_s": t_mesh,
        "forcing_s": t_model,
        "setup_s": setup,
        "startup_s": warm_wall,
        "run_s": sim.wall_time - warm_wall,
        "steps": int(sim.clock.iteration - warm_steps),
        "face_updates": updates() - warm_updates,
        "levels": [int(v) for v in getattr(st, "level_counts", [])],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_after_setup_mib": rss_setup,
        "load_before": la,
        "load_after": load(),
        "max_abs_eta_m": float(np.max(np.abs(model.eta(state)[wet]))),
        "volume_change_m3": float(model.volume(state) - v0),
    }


def section_mesh(args) -> list[dict]:
    recs = [ensure_mesh(n, args.cache) for n in args.meshes]
    print_meshes(recs)
    folder = Path(tempfile.mkdtemp(prefix="coastcast-scale-"))
    hours = {r["name"]: args.hours or SIM_HOURS[r["name"]] for r in recs}
    configs = {(r["name"], s): write_config(folder, r, hours[r["name"]], s) for r in recs for s in args.steppers}
    env = {"NUMBA_NUM_THREADS": str(max(args.threads))}
    # warm numba's on-disk cache (the first process after a code change compiles)
    _child(["run", str(configs[(recs[0]["name"], args.steppers[0])]), "0.01", "1"], env=dict(env, COASTCAST_THREADS="1"))
    runs: dict = {}
    for rep in range(args.repeats):
        for r in recs:
            for s in args.steppers:
                for th in args.threads:
                    res = _child(
                        ["run", str(configs[(r["name"], s)]), str(hours[r["name"]]), str(th)],
                        env=dict(env, COASTCAST_THREADS=str(th)),
                        timeout=args.timeout,
                    )
                    runs.setdefault((r["name"], s, th), []).append(res)
                    print(
                        f"[{rep + 1}/{args.repeats}] {r['name']:>5} {s} {th} thread(s): run {res['run_s']:.1f} s "
                        f"(set-up {res['setup_s']:.1f} s), {res['face_updates'] / res['run_s'] / 1e6:.2f} M face updates/s, "
                        f"peak {res['peak_rss_mib']:.0f} MiB, load {res['load_before']:.2f}->{res['load_after']:.2f}",
                        flush=True,
                    )
    shutil.rmtree(folder, ignore_errors=True)
    rows = []
    for (name, s, th), rs in runs.items():
        rec = next(r for r in recs if r["name"] == name)
        run_s = _median([x["run_s"] for x in rs])
        rows.append(
            {
                "mesh": name,
                "stepper": s,
                "threads": th,
                "n_face": rec["n_face"],
                "n": len(rs),
                "run_s": run_s,
                "s_per_h": run_s / hours[name],
                "sim_s": hours[name] * 3600.0,
                "us_per_update": _median([x["run_s"] / x["face_updates"] * 1e6 for x in rs]),
                "mups": _median([x["face_updates"] / x["run_s"] / 1e6 for x in rs]),
                "updates_per_face_h": _median([x["face_updates"] / x["n_face"] / hours[name] for x in rs]),
                "startup_s": _median([x["startup_s"] for x in rs]),
                "steps": _median([x["steps"] for x in rs]),
                "setup_s": _median([x["setup_s"] for x in rs]),
                "peak_rss_mib": _median([x["peak_rss_mib"] for x in rs]),
                "rss_setup_mib": _median([x["rss_after_setup_mib"] for x in rs]),
                "load": [x["load_before"] for x in rs],
                "max_eta": max(x["max_abs_eta_m"] for x in rs),
            }
        )
    print(
        "\nEnglish Channel, tide-forced cold start built as a forecast builds it (no output), timed after its first "
        f"{WARM_SECONDS:g} s; medians of {args.repeats} fresh processes; load = 1-min load average before each timed part "
        "(2-core machine, shared)"
    )
    print(
        "| mesh | triangles | stepper | threads | simulated s | wall s / simulated h | µs / face update | M face updates/s | "
        "face updates / triangle / h | set-up s | start-up s | peak RSS MiB | load |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['mesh']} | {r['n_face']:,} | {r['stepper']} | {r['threads']} | {r['sim_s']:.0f} | {r['s_per_h']:.0f} | "
            f"{r['us_per_update']:.3f} | {r['mups']:.2f} | {r['updates_per_face_h']:.0f} | {r['setup_s']:.1f} | "
            f"{r['startup_s']:.1f} | {r['peak_rss_mib']:.0f} | {' '.join(f'{v:.2f}' for v in r['load'])} |"
        )
    print("\nCost growth from one size to the next (ratio of the larger mesh's figure to the smaller's, per triangle):")
    print(
        "| from -> to | stepper | threads | triangles x | wall/h per triangle x | µs per face update x | face updates per triangle-hour x |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for s in args.steppers:
        for th in args.threads:
            seq = [r for r in rows if r["stepper"] == s and r["threads"] == th]
            for a, b in zip(seq, seq[1:]):
                nx = b["n_face"] / a["n_face"]
                print(
                    f"| {a['mesh']} -> {b['mesh']} | {s} | {th} | {nx:.2f} | {b['s_per_h'] / a['s_per_h'] / nx:.2f} | "
                    f"{b['us_per_update'] / a['us_per_update']:.2f} | {b['updates_per_face_h'] / a['updates_per_face_h']:.2f} |"
                )
    if 1 in args.threads and 2 in args.threads:
        print("\nSecond thread: wall(1 thread) / wall(2 threads), medians")
        for name in args.meshes:
            for s in args.steppers:
                one = [r for r in rows if r["mesh"] == name and r["stepper"] == s and r["threads"] == 1]
                two = [r for r in rows if r["mesh"] == name and r["stepper"] == s and r["threads"] == 2]
                if one and two:
                    print(f"  {name:>5} {s}: {one[0]['run_s'] / two[0]['run_s']:.2f}x")
    mem = [r for r in rows if r["threads"] == args.threads[0] and r["stepper"] == args.steppers[0]]
    if len(mem) > 1:
        a, b = mem[0], mem[-1]
        slope = (b["peak_rss_mib"] - a["peak_rss_mib"]) / (b["n_face"] - a["n_face"]) * 1024 * 1024
        print(
            f"\nPeak RSS grows by {slope:.0f} bytes per triangle ({a['mesh']} -> {b['mesh']}); at {a['mesh']}: {a['peak_rss_mib']:.0f} MiB"
        )
    return rows


# -- ensemble -------------------------------------------------------------------------------------
ENSEMBLE_CONFIG = """name = "bench-ensemble"
gallery = "channel_biscay"
start = "{start}"
hours = {hours}
spinup_hours = {spinup}
segment_hours = 12
atmosphere = "none"
[gauges]
catalogue = "none"
[ensemble]
members = {members}
{tides}
"""


def _warm(folder: str) -> float:
    """Run a 30-minute cycle in this worker process (loads numba's kernels); returns its wall time."""
    from tests.cycle_fixtures import write_inputs
    from workflows.cycle import run_cycle

    t0 = time.perf_counter()
    f = Path(folder) / f"warm-{time.monotonic_ns()}"
    cfg = write_inputs(f / "in", hours=0.5, spinup_hours=0.25, segment_hours=0.5)
    run_cycle(cfg, f / "run", figures=False)
    return time.perf_counter() - t0


def _quiet_dask() -> None:
    """distributed sets its loggers to INFO when it is imported: keep its start/stop lines out of the tables."""
    import distributed  # noqa: F401

    logging.getLogger("distributed").setLevel(logging.WARNING)


def _member_seconds(run_dir: Path) -> dict:
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    st = info["stages_seconds"]
    return {"prepare": st["prepare"], "simulate": st["simulate"], "publish": st["publish"]}


def section_ensemble(args) -> dict:
    from workflows.cluster import open_client
    from workflows.ensemble import member_configs, run_ensemble
    from workflows.pipeline import CycleRequest, run_cycles

    _quiet_dask()
    sets = [CONSTITUENT_SETS[k % len(CONSTITUENT_SETS)] for k in range(args.members)]
    csv = ROOT / "meshes" / "channel_biscay" / "jmj_open_boundary_elevation_harmonics.csv"
    tides = "\n".join(f'[[ensemble.tides]]\nsource = "harmonics"\nfile = "{csv}"\nconstituents = {json.dumps(c)}' for c in sets)
    out = Path(tempfile.mkdtemp(prefix="coastcast-ensemble-"))
    cfg = out / "ensemble.toml"
    text = ENSEMBLE_CONFIG.format(start=START, hours=args.hours, spinup=args.spinup, members=args.members, tides=tides)
    cfg.write_text(text, encoding="utf-8")
    sim_h = args.hours + args.spinup
    singles, alls, loads = [], [], []
    member_stats, single_stats = [], []
    with open_client(workers=args.workers) as client:
        client.run(_warm, str(out))
        for rep in range(args.repeats):
            # one member alone, through the same pipeline on the same cluster
            d1 = out / f"single{rep}"
            (_, m1, _) = member_configs(cfg, d1)[0]
            la = load()
            t0 = time.perf_counter()
            (o,) = run_cycles([CycleRequest(m1, d1 / "run", system=f"single{rep}")], client=client, figures=False)
            singles.append(time.perf_counter() - t0)
            if o.status != "succeeded":
                raise SystemExit(f"the single member failed: {o.error}")
            single_stats.append(_member_seconds(d1 / "run"))
            # all members through workflows.ensemble
            dn = out / f"ensemble{rep}"
            lb = load()
            t0 = time.perf_counter()
            info = run_ensemble(cfg, dn, client=client, figures=False)
            alls.append(time.perf_counter() - t0)
            if info["status"] != "succeeded":
                bad = [m for m in info["members"] if m["status"] != "succeeded"]
                raise SystemExit(f"ensemble {info['status']}: {bad[0]['error'] if bad else ''}")
            member_stats += [_member_seconds(Path(m["run_dir"])) for m in info["members"]]
            loads.append((la, lb))
            print(
                f"[{rep + 1}/{args.repeats}] 1 member {singles[-1]:.1f} s, {args.members} members {alls[-1]:.1f} s, "
                f"ratio {args.members * singles[-1] / alls[-1]:.2f}, load {la:.2f}/{lb:.2f}",
                flush=True,
            )
    shutil.rmtree(out, ignore_errors=True)
    w1, wn = _median(singles), _median(alls)
    print(
        f"\nEnsemble on a dask LocalCluster of {args.workers} worker processes x 1 thread: Channel/Biscay gallery mesh "
        f"(29 229 triangles), tides only, {args.spinup:g} h spin-up + {args.hours:g} h forecast per member, "
        f"medians of {args.repeats}"
    )
    print("| run | wall s | simulated member-hours per wall s | load (1-min, before) |")
    print("|---|---:|---:|---|")
    print(f"| 1 member alone | {w1:.1f} | {sim_h / w1:.3f} | {' '.join(f'{a:.2f}' for a, _ in loads)} |")
    print(
        f"| {args.members} members (run_ensemble) | {wn:.1f} | {args.members * sim_h / wn:.3f} | {' '.join(f'{b:.2f}' for _, b in loads)} |"
    )
    print(f"aggregate throughput ratio ({args.members} x wall(1) / wall({args.members})): {args.members * w1 / wn:.2f}")
    for label, stats in (("1 member alone", single_stats), ("ensemble members", member_stats)):
        print(
            f"  {label}, per member (median s): prepare {_median([s['prepare'] for s in stats]):.1f}, "
            f"simulate {_median([s['simulate'] for s in stats]):.1f}, publish {_median([s['publish'] for s in stats]):.1f}"
        )
    return {"single": w1, "all": wn}


# -- many small systems ---------------------------------------------------------------------------
def run_systems(workers: int, systems: int, hours: float, out: Path) -> dict:
    from tests.cycle_fixtures import write_inputs
    from workflows.cluster import open_client
    from workflows.pipeline import CycleRequest, run_cycles

    _quiet_dask()
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
        la = load()
        t0 = time.perf_counter()
        outcomes = run_cycles(requests, client=client, figures=False)
        wall = time.perf_counter() - t0
    bad = [o for o in outcomes if o.status != "succeeded"]
    if bad:
        raise SystemExit(f"{len(bad)} cycle(s) failed: {bad[0].error}")
    sim = sum(sum(s["wall_seconds"] for s in o.info["segments"]) for o in outcomes)
    return {"workers": workers, "wall": wall, "simulate_sum": sim, "load": la}


def section_systems(args) -> list[dict]:
    out = args.out or Path(tempfile.mkdtemp(prefix="coastcast-scaling-"))
    rows = [run_systems(w, args.systems, args.hours, out) for w in (1, 2)]
    print(
        f"\n{args.systems} systems x {args.hours:g} h forecast (+1 h spin-up), tiny basin (144 triangles), "
        "LocalCluster processes x 1 thread"
    )
    print(f"{'workers':>8} {'wall s':>8} {'sum of segment wall s':>22} {'load':>6}")
    for r in rows:
        print(f"{r['workers']:>8} {r['wall']:>8.1f} {r['simulate_sum']:>22.1f} {r['load']:>6.2f}")
    print(f"speed-up 2 workers vs 1: {rows[0]['wall'] / rows[1]['wall']:.2f}x")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return rows


# -- command line ---------------------------------------------------------------------------------
def _child_main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    what = argv[0]
    if what == "generate":
        rec = generate_child(argv[1], float(argv[2]), float(argv[3]))
    elif what == "run":
        rec = run_child(argv[1], float(argv[2]), int(argv[3]))
    else:
        raise SystemExit(f"unknown child {what!r}")
    print(json.dumps(rec))
    return 0


def _add_mesh_options(p) -> None:
    p.add_argument("--meshes", nargs="+", default=list(MESHES), choices=list(MESHES), help="mesh sizes (default: all)")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "coastcast-scaling-meshes",
        help="folder of the generated meshes (default: <tmp>/coastcast-scaling-meshes)",
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "_child":
        return _child_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="section", metavar="SECTION")
    m = sub.add_parser("mesh", help="1 M-triangle Channel mesh and smaller ones: wall time, memory, 1 and 2 threads")
    _add_mesh_options(m)
    m.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument(
        "--hours", type=float, help="simulated hours timed per run (default: SIM_HOURS, 0.25 h at 60k to 0.025 h at 1M)"
    )
    m.add_argument(
        "--steppers", nargs="+", default=["lts-muscl-hancock"], help="time steppers (default: lts-muscl-hancock, the forecasts')"
    )
    m.add_argument("--timeout", type=float, default=900.0, help="seconds before a run is abandoned (default 900)")
    g = sub.add_parser("meshes", help="only generate (and cache) the Channel meshes")
    _add_mesh_options(g)
    e = sub.add_parser("ensemble", help="an ensemble on a dask LocalCluster against one member alone")
    e.add_argument("--members", type=int, default=8)
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--hours", type=float, default=1.0, help="forecast hours per member (default 1)")
    e.add_argument("--spinup", type=float, default=0.5, help="spin-up hours per member (default 0.5)")
    e.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("systems", help="4 tiny systems' cycles on 1 and 2 worker processes")
    s.add_argument("--systems", type=int, default=4)
    s.add_argument("--hours", type=float, default=24.0)
    s.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    if args.section == "meshes":
        print_meshes([ensure_mesh(n, args.cache) for n in args.meshes])
    elif args.section == "mesh":
        section_mesh(args)
    elif args.section == "ensemble":
        section_ensemble(args)
    elif args.section == "systems":
        section_systems(args)
    else:  # everything with its defaults
        for name in ("mesh", "ensemble", "systems"):
            print(f"\n=== {name} ===", flush=True)
            sub_args = ap.parse_args([name])
            {"mesh": section_mesh, "ensemble": section_ensemble, "systems": section_systems}[name](sub_args)
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
