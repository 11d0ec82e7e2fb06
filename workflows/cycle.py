"""One forecast cycle, as idempotent stages that pass only paths.

``prepare(config_path, run_dir)`` → ``simulate_segment(run_dir, k)`` for k = 0 … n−1 →
``publish(run_dir)``; :func:`run_cycle` runs them in order in this process, and
:mod:`workflows.pipeline` farms the same functions out to dask workers. Each stage reads what it
needs from the run directory and writes its results there under temporary names renamed at the
end, so a stage that is retried (or run again on another worker after a crash) gives the same
files. The durable record of the cycle is ``run.json`` in the run directory (and the database row
kept by the pipeline), never a dask future.

Run directory::

    config.toml          the system's configuration, every key written and paths absolute (prepare)
    work/plan.json       the resolved timeline and segments (prepare)
    work/forcing.json    the forcing resolved once (prepare): tide tables and constituents, river
                         series, atmosphere files (the GFS cycle used); every segment uses it
    work/seg_000/        fields.nc, stations.nc, max.nc of segment 0 and end.nc, its final state
    fields.nc stations.nc max.nc restart.nc run.json figures/   (publish)

Timeline: a cold start spins up from rest over ``spinup_hours`` before the forecast start
(model time 0 = start − spin-up; records before the forecast start are not published); a hot
start continues the previous cycle's ``restart.nc``, which must be valid at the forecast start.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import resource
import shutil
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from . import stopping
from .config import ConfigError, ForecastConfig, dump_toml, load_config
from .stopping import Interrupted  # noqa: F401  (re-exported: the cycle's stop)

log = logging.getLogger(__name__)

PLAN = "work/plan.json"
FORCING = "work/forcing.json"
FINGERPRINT_ATTR = "coastcast_run_fingerprint"


class CycleError(RuntimeError):
    """A cycle that cannot go on; the message says which stage and why."""


# -- helpers ------------------------------------------------------------------------------------
def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def peak_memory_mb() -> float:
    """Peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _config(run_dir: Path) -> ForecastConfig:
    return load_config(run_dir / "config.toml")


def read_mesh_for(cfg: ForecastConfig):
    """The solver's mesh of a configuration: its mesh file, depths below mean sea level
    (``[bathymetry]``), faces renumbered along a Hilbert curve.

    The face order is the solver's memory order: faces (and the edges, numbered after them) that
    are neighbours in space sit together in memory, which makes the 72-hour Channel/Biscay run
    about 1.3x faster (docs/performance.md, "Memory order"). Node numbers stay those of the file,
    so every input keyed by node (boundary harmonics, atlases, initial fields) and every nodal
    output keep the file's numbering; face outputs carry the renumbered connectivity with them.
    """
    from solver.connectivity import hilbert_order
    from solver.formats import read_mesh

    mesh = read_mesh(cfg.mesh_path, crs=cfg.crs)
    cfg.check_against_mesh(mesh)
    if cfg.bathymetry is not None and cfg.bathymetry.shifts:
        from .bathymetry import DatumError, to_mean_sea_level

        try:
            mesh = to_mean_sea_level(mesh, cfg.bathymetry)
        except DatumError as exc:
            raise ConfigError(str(exc)) from None
    return mesh.reordered(hilbert_order(mesh.face_x, mesh.face_y))


# -- model construction ---------------------------------------------------------------------------
def build_forcing(cfg: ForecastConfig, mesh, model_start: datetime, duration_s: float, forcing: dict | None = None):
    """The boundary conditions and atmospheric forcing of a cycle, and the record of them.

    ``forcing`` None: resolved now, from the configuration (prepare does this once per cycle:
    which tide tables and constituents, which river series, which atmosphere files: the GFS cycle
    downloaded or fallen back on). ``forcing`` given (the record that prepare wrote in
    ``work/forcing.json``): exactly what it names is used and nothing is resolved again (no
    "latest" GFS cycle, no fallback); a tide or river whose source no longer reads the same is a
    :class:`CycleError`. Returns ``(boundary_conditions, atmosphere or None, record)``: the whole
    record when resolving, else the sources this build used.
    """
    from solver import FreeOutflow, RiverDischarge, TidalElevation, Wall

    record = {"tides": [], "rivers": [], "atmosphere": None, "warnings": list((forcing or {}).get("warnings", []))}
    duration = timedelta(seconds=duration_s)
    # a cold start ramps the tide up over the first half of the spin-up (model time from 0)
    ramp = None
    if cfg.initial.kind != "restart" and cfg.spinup_hours > 0:
        from solver import HalfCosineRamp

        ramp = HalfCosineRamp(0.5 * cfg.spinup_hours * 3600.0)
        record["tide_ramp_hours"] = 0.5 * cfg.spinup_hours
    lonlat = mesh.node_lonlat
    bcs = {}
    rivers = {r["boundary"]: dict(r) for r in cfg.rivers}
    fixed_tides = {t["boundary"]: t for t in forcing["tides"]} if forcing is not None else {}
    fixed_rivers = {r["boundary"]: r for r in forcing["rivers"]} if forcing is not None else {}
    for seg in mesh.boundaries:
        kind = cfg.boundaries.get(seg.name)
        if kind is None:
            continue
        if kind == "tide":
            from workflows.forcing.tides import tidal_forcing_for_boundary

            ids = seg.node_ids
            table = dict(fixed_tides[seg.name]["table"]) if forcing is not None else dict(cfg.tides)
            f = tidal_forcing_for_boundary(
                table, lonlat[0][ids], lonlat[1][ids], ids, model_start, duration=duration, base_dir=cfg.base_dir
            )
            bcs[seg.name] = TidalElevation(f.elevation, f.velocity, ramp=ramp)
            entry = {
                "boundary": seg.name,
                "source": f.description,
                "flather": f.velocity is not None,
                "constituents": list(f.constants.constituents),
                "table": table,
            }
            if forcing is not None and entry["source"] != fixed_tides[seg.name]["source"]:
                raise CycleError(
                    f"tides of {seg.name}: {entry['source']} is not what prepare resolved ({fixed_tides[seg.name]['source']})"
                )
            record["tides"].append(entry)
        elif kind == "river":
            from workflows.forcing.rivers import discharge_from_config

            table = dict(fixed_rivers[seg.name]["table"]) if forcing is not None else rivers[seg.name]
            q = discharge_from_config(table, start=model_start, base_dir=cfg.base_dir)
            bcs[seg.name] = RiverDischarge(q)
            entry = {"boundary": seg.name, "table": table, "discharge_at_start_m3s": float(q(0.0))}
            if forcing is not None and entry["discharge_at_start_m3s"] != fixed_rivers[seg.name]["discharge_at_start_m3s"]:
                raise CycleError(
                    f"river {seg.name}: {table.get('file', table.get('discharge'))} no longer gives the discharge prepare resolved"
                )
            record["rivers"].append(entry)
        elif kind == "wall":
            bcs[seg.name] = Wall()
        elif kind == "outflow":
            bcs[seg.name] = FreeOutflow()
    atmosphere = None
    if forcing is not None:
        fixed = forcing["atmosphere"] or {"used": "none"}
        if fixed.get("used", "none") != "none" and lonlat is not None:
            from workflows.forcing.atmosphere import open_atmosphere_file

            atmosphere = open_atmosphere_file(
                fixed["files"], lonlat[0], lonlat[1], model_start, duration_s / 3600.0, fixed.get("format", "auto")
            )
            record["atmosphere"] = {"used": fixed["used"], "files": list(fixed["files"]), **atmosphere.describe()}
        else:
            record["atmosphere"] = {"used": "none"}
    elif cfg.atmosphere not in ("none", None) and lonlat is not None:
        from workflows.forcing.atmosphere import AtmosphereConfig, build_atmosphere

        acfg = AtmosphereConfig.from_mapping(cfg.atmosphere, base_dir=cfg.base_dir)
        cache = Path(os.environ.get("COASTCAST_CACHE", Path.home() / ".cache" / "coastcast")) / "gfs"
        atmosphere, arec = build_atmosphere(acfg, lonlat[0], lonlat[1], model_start, duration_s / 3600.0, cache)
        if arec.get("used") == "file":
            arec.update(files=[str(p) for p in acfg.path], format=acfg.format)
        elif arec.get("used") in ("gfs", "gfs-previous-cycle"):
            arec.update(files=list(arec["source"]["paths"]), format="grib")
        record["atmosphere"] = arec
        if atmosphere is None and acfg.source != "none":
            record["warnings"].append(arec.get("message") or "atmospheric forcing unavailable: fell back to tides only")
    else:
        record["atmosphere"] = {"requested": "none", "used": "none"}
    return bcs, atmosphere, record


def build_model(cfg: ForecastConfig, mesh, model_start: datetime, duration_s: float, forcing: dict | None = None):
    """The :class:`~solver.model.ShallowWaterModel` of a configuration and its forcing record.

    Tides and rivers become boundary conditions; atmosphere (with its fallback) becomes the wind
    stress and pressure-gradient terms (:func:`build_forcing`, which ``forcing`` is passed to).
    Returns ``(model, record)``.
    """
    from solver import AtmosphericPressureGradient, Coriolis, ManningFriction, ShallowWaterModel, WindStress
    from solver.stability import DeepWaterStep

    bcs, atmosphere, record = build_forcing(cfg, mesh, model_start, duration_s, forcing)
    p = cfg.physics
    model = ShallowWaterModel(
        mesh,
        boundary_conditions=bcs,
        friction=ManningFriction(p.manning) if p.manning > 0 else None,
        coriolis=Coriolis() if (p.coriolis and mesh.node_lonlat is not None) else None,
        wind_stress=WindStress(atmosphere) if atmosphere is not None else None,
        atmospheric_pressure=AtmosphericPressureGradient(atmosphere) if atmosphere is not None else None,
        riemann_solver=p.riemann_solver,
        limiter=p.limiter,
        gravity=p.gravity,
        dry_depth=p.wetting_drying_threshold,
        deep_water_step=DeepWaterStep(depth=p.deep_water_depth, factor=p.deep_water_step) if p.deep_water_step > 1.0 else None,
    )
    return model, record


def initial_state(cfg: ForecastConfig, model, model_start: datetime):
    """(State, Clock) at the beginning of the cycle."""
    from solver.state import Clock

    if cfg.initial.kind == "restart":
        from solver.output.checkpoint import load_restart

        state, clock = load_restart(cfg.initial.file, model)
        valid = clock.datetime
        if abs((valid - cfg.start).total_seconds()) > 1.0:
            raise ConfigError(
                f"[initial] restart file {cfg.initial.file} is valid at {valid.isoformat()} but the cycle starts at {cfg.start.isoformat()}"
            )
        return state, clock
    if cfg.initial.kind == "elevation":
        from solver.formats import read_mesh

        ic = read_mesh(cfg.initial.file, crs=cfg.crs or model.mesh.crs)
        if ic.n_node != model.mesh.n_node:
            raise ConfigError(f"[initial] {cfg.initial.file} has {ic.n_node} nodes but the mesh has {model.mesh.n_node}")
        # elev.ic stores the elevation in the depth column (gr3 layout)
        eta = ic.depth[model.mesh.face_node_connectivity].mean(axis=1)
        return model.initial_state(eta=eta), Clock(start=model_start)
    return model.initial_state(eta=0.0), Clock(start=model_start)


# -- stages --------------------------------------------------------------------------------------
def prepare(config_path, run_dir, *, overwrite: bool = False, attempt: str | None = None) -> Path:
    """Validate the configuration, bind the run directory to its inputs and plan the segments.

    The resolved configuration becomes the run directory's ``config.toml`` and its
    :func:`~workflows.rundir.fingerprint` goes into ``work/plan.json``. A directory that already
    holds a forecast is resumed (its finished segments kept) only when the fingerprints match;
    otherwise :class:`~workflows.rundir.RunDirMismatch` says what differs and nothing there is
    touched, unless ``overwrite`` asks for a clean start. The caller holds the run directory's
    :class:`~workflows.rundir.RunLock`; ``attempt`` (its token) names this run's work, so that
    a prepare retried by the same writer does not count its own segments as resumed. Returns
    the plan path.
    """
    import tomllib

    from . import rundir

    run_dir = Path(run_dir)
    (run_dir / "work").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dst = run_dir / "config.toml"
    # every key written, paths absolute: the copy loads back equal wherever it lies
    text = dump_toml(load_config(config_path))
    candidate = run_dir / "work" / "config.next.toml"
    candidate.write_text(text, encoding="utf-8")
    try:
        cfg = load_config(candidate)
        mesh = read_mesh_for(cfg)
        _check_start(cfg)
        resolved = tomllib.loads(text)
        fp = rundir.fingerprint(resolved, mesh)
        old_plan = _read_json(run_dir / PLAN) if (run_dir / PLAN).is_file() else None
        reused: list[int] = []
        if rundir.holds_forecast(run_dir):
            old_fp = (old_plan or {}).get("fingerprint")
            if old_fp is not None and old_fp.get("sha256") == fp["sha256"]:
                # the finished segments from the first on: a later one is only as good as those before it
                while len(reused) < len(old_plan["segments"]) and _segment_done(run_dir, len(reused), fp["sha256"]):
                    reused.append(len(reused))
                stale = _segment_dir(run_dir, len(reused)) / "end.nc"
                if stale.is_file():
                    log.warning(
                        "segment %d: %s was written for other inputs; running it and the later segments again", len(reused), stale
                    )
                _drop_segments_from(run_dir, len(reused))
            elif overwrite:
                gone = rundir.clean(run_dir)
                (run_dir / "work").mkdir(parents=True, exist_ok=True)
                candidate.write_text(text, encoding="utf-8")
                log.warning("%s: overwrite: removed the previous forecast (%s)", run_dir, ", ".join(gone))
                old_plan = None
            else:
                if old_fp is None:
                    why = "a forecast written without a fingerprint (an older coastcast or another tool)"
                else:
                    old_cfg = tomllib.loads(dst.read_text(encoding="utf-8")) if dst.is_file() else None
                    why = "a forecast of other inputs: " + rundir.describe_difference(old_fp, fp, old_cfg, resolved)
                raise rundir.RunDirMismatch(
                    f"run directory {run_dir} holds {why}; run into another directory, or pass --overwrite to replace it"
                )
    except BaseException:
        candidate.unlink(missing_ok=True)
        raise
    os.replace(candidate, dst)
    gauges, placement = _gauge_stations(cfg, mesh)
    from .gauge_stations import GaugeStationError, place_stations

    try:
        user_stations = place_stations(cfg.stations, mesh)
    except GaugeStationError as exc:
        raise ConfigError(str(exc)) from None
    spin = cfg.spinup_hours * 3600.0
    if cfg.initial.kind == "restart":
        from solver.output.checkpoint import load_restart

        # only the clock is needed here; the model is built without forcing
        _, clock = load_restart(cfg.initial.file, _bare_model(mesh))
        model_start = clock.start
        t_begin = clock.time
    else:
        model_start = cfg.start - timedelta(seconds=spin)
        t_begin = 0.0
    t_forecast = t_begin + spin if cfg.initial.kind != "restart" else t_begin
    t_end = t_forecast + cfg.hours * 3600.0
    seg = cfg.segment_hours * 3600.0
    bounds = [t_begin]
    t = t_forecast if spin > 0 else t_begin + seg
    while t < t_end - 1e-6:
        if t > bounds[-1] + 1e-6:
            bounds.append(t)
        t += seg
    bounds.append(t_end)
    plan = {
        "name": cfg.name,
        "cycle": cfg.start.isoformat(),
        "model_start": model_start.isoformat(),
        "t_forecast": t_forecast,
        "t_end": t_end,
        "t_restart": t_forecast + cfg.restart_hours * 3600.0,
        "segments": [[a, b] for a, b in zip(bounds[:-1], bounds[1:])],
        "n_face": mesh.n_face,
        "n_node": mesh.n_node,
        "cold_start": cfg.initial.kind != "restart",
        "stations": [p.as_dict() for p in user_stations],
        "gauges": [g.as_dict() for g in gauges],
        "gauge_placement": placement,
        "fingerprint": fp,
        "attempt": attempt or uuid.uuid4().hex,
        "resumed": _resumed(reused, old_plan, attempt),
        "prepare_seconds": time.perf_counter() - t0,
    }
    forcing_path = run_dir / FORCING
    if reused and forcing_path.is_file():
        log.info("%s: the resumed segments' forcing record is kept (%s)", cfg.name, forcing_path)
    else:
        # resolved once: every segment (and every retry of one) uses exactly this record
        _, atmosphere, forcing = build_forcing(cfg, mesh, model_start, t_end)
        if atmosphere is not None and hasattr(atmosphere, "close"):
            atmosphere.close()
        _write_json(forcing_path, forcing)
    path = run_dir / PLAN
    _write_json(path, plan)
    log.info(
        "%s: %d segments from %s, forecast %s + %g h%s",
        cfg.name,
        len(plan["segments"]),
        model_start.isoformat(),
        cfg.start.isoformat(),
        cfg.hours,
        f"; resuming after segment(s) {reused}" if reused else "",
    )
    return path


def _gauge_stations(cfg: ForecastConfig, mesh):
    """The catalogue gauges placed on the mesh as stations (``[gauges]``) and the placement
    summary; checks that every ``[[thresholds]]`` names a station of the system."""
    from .gauge_stations import place_gauges
    from .gauges import load_catalogue

    stations, summary = [], None
    if cfg.gauges.catalogue is not None:
        stations, summary = place_gauges(
            load_catalogue(cfg.gauges.catalogue),
            mesh,
            max_distance_km=cfg.gauges.max_distance_km,
            min_depth_m=cfg.gauges.min_depth_m,
            taken={s.name for s in cfg.stations},
        )
        log.info(
            "%s: %d tide gauge(s) placed as stations (of %d near the mesh)", cfg.name, summary["placed"], summary["considered"]
        )
    known = {s.name for s in cfg.stations} | {g.station for g in stations} | {g.gauge_id for g in stations}
    for t in cfg.thresholds:
        if t.station not in known:
            raise ConfigError(
                f"[[thresholds]] station {t.station!r} is neither one of the system's stations nor a gauge placed on its mesh "
                f"(stations: {', '.join(sorted(known)) or 'none'})"
            )
    return stations, summary


def _gauges_of(plan: dict):
    from .gauge_stations import GaugeStation

    return [GaugeStation(**g) for g in plan.get("gauges", [])]


def _station_list(cfg: ForecastConfig, plan: dict) -> list[tuple[str, float, float]]:
    """(name, lon, lat) of every station: the user's (where they were placed on the mesh), then the gauges'."""
    placed = plan.get("stations")
    own = (
        [(p["name"], p["lon"], p["lat"]) for p in placed]
        if placed is not None
        else [(s.name, s.lon, s.lat) for s in cfg.stations]
    )
    return own + [(g.station, g.lon, g.lat) for g in _gauges_of(plan)]


def _resumed(reused: list[int], old_plan: dict | None, attempt: str | None) -> dict | None:
    """What a plan takes over from an earlier writer: its finished segments (None for a fresh
    start; a prepare retried by the same writer keeps the record it had)."""
    if old_plan is None or not reused:
        return None
    if attempt is not None and old_plan.get("attempt") == attempt:
        return old_plan.get("resumed")
    return {"segments": reused, "previous_attempt": old_plan.get("attempt")}


def _check_start(cfg: ForecastConfig) -> None:
    """Refuse a cold start from rest without spin-up when the boundaries force a tide: the tide
    would be switched on as a step, sending a bore through the domain that spoils the first
    hours and the maxima (a 1.5 m drop in 20 minutes at the Gironde mouth)."""
    if cfg.initial.kind == "rest" and cfg.spinup_hours <= 0 and "tide" in cfg.boundaries.values():
        raise ConfigError(
            "spinup_hours = 0 on a cold start from rest switches the tide on as a step (a bore through the domain); "
            'set spinup_hours (24 is the default, at least a few hours), or start from [initial] kind = "restart" or "elevation"'
        )


def _end_fingerprint(path: Path) -> str | None:
    import netCDF4

    try:
        with netCDF4.Dataset(path) as ds:
            return str(ds.getncattr(FINGERPRINT_ATTR)) if FINGERPRINT_ATTR in ds.ncattrs() else None
    except OSError:
        return None


def _drop_segments_from(run_dir: Path, k: int) -> None:
    """Remove segment ``k`` and every later one (each starts from the state the one before ended with)."""
    for seg in sorted((run_dir / "work").glob("seg_[0-9][0-9][0-9]")):
        if int(seg.name[4:]) >= k:
            shutil.rmtree(seg)


def _segment_done(run_dir: Path, k: int, fingerprint: str) -> bool:
    """Segment ``k`` finished and its end state carries ``fingerprint``."""
    end = _segment_dir(run_dir, k) / "end.nc"
    return end.is_file() and _end_fingerprint(end) == fingerprint


def _bare_model(mesh):
    from solver import ShallowWaterModel, Wall

    return ShallowWaterModel(
        mesh, boundary_conditions={s.name: Wall() for s in mesh.boundaries if s.role == "open"}, limiter=None
    )


def _segment_dir(run_dir: Path, k: int) -> Path:
    return run_dir / "work" / f"seg_{k:03d}"


def _use_owned_threads() -> int:
    """Size the solver's threads to what this run owns: ``COASTCAST_THREADS`` when set; one in a
    dask worker (a worker runs as many segments at once as it has threads, so the cores are
    shared out by tasks); else the cores of this process (affinity, cgroup quota)."""
    from solver.kernels import use_threads

    env = os.environ.get("COASTCAST_THREADS")
    if env:
        try:
            return use_threads(int(env))
        except ValueError:
            raise ConfigError(f"COASTCAST_THREADS={env!r}: give a whole number of threads") from None
    import sys

    # a dask worker has imported distributed; where nothing has, this is no worker (and importing
    # it only to ask would cost 0.5 s of every forecast's start)
    get_worker = getattr(sys.modules.get("distributed"), "get_worker", None)
    if get_worker is not None:
        try:
            get_worker()
            return use_threads(1)
        except ValueError:
            pass
    return use_threads()


def simulate_segment(run_dir, k: int, *, progress=None) -> Path:
    """Run segment ``k`` of the plan from the end state of segment k−1 (or the initial state).

    Idempotent: a segment whose ``end.nc`` exists is not run again. Returns the segment folder.
    ``progress(sim_seconds_done, sim_seconds_total, wall_seconds)`` is called as it goes.
    """
    from solver import Callback, IterationInterval, Simulation, TimeInterval
    from solver.output import MaximaWriter, StationWriter, UGRIDFieldWriter
    from solver.output.checkpoint import load_restart, write_restart

    run_dir = Path(run_dir)
    plan = _read_json(run_dir / PLAN)
    fp = plan["fingerprint"]["sha256"]
    seg_dir = _segment_dir(run_dir, k)
    end_file = seg_dir / "end.nc"
    if end_file.is_file():
        if _end_fingerprint(end_file) == fp:
            log.info("segment %d already done (%s)", k, end_file)
            return seg_dir
        log.warning("segment %d: %s was written for other inputs; running the segment again", k, end_file)
        _drop_segments_from(run_dir, k)
    seg_dir.mkdir(parents=True, exist_ok=True)
    cfg = _config(run_dir)
    threads = _use_owned_threads()
    log.info("segment %d: %d solver thread(s)", k, threads)
    mesh = read_mesh_for(cfg)
    model_start = datetime.fromisoformat(plan["model_start"])
    t_a, t_b = plan["segments"][k]
    forcing_path = run_dir / FORCING
    if not forcing_path.is_file():
        raise CycleError(f"segment {k}: {forcing_path} (the forcing resolved by prepare) does not exist; prepare the cycle again")
    model, record = build_model(cfg, mesh, model_start, plan["t_end"], forcing=_read_json(forcing_path))
    if k == 0:
        state, clock = initial_state(cfg, model, model_start)
    else:
        prev = _segment_dir(run_dir, k - 1) / "end.nc"
        if not prev.is_file():
            raise CycleError(f"segment {k} needs segment {k - 1}'s end state {prev}, which does not exist")
        if _end_fingerprint(prev) != fp:
            raise CycleError(f"segment {k} needs segment {k - 1}'s end state {prev}, but that was written for other inputs")
        state, clock = load_restart(prev, model)
    if abs(clock.time - t_a) > 1e-6 * max(1.0, t_a):
        raise CycleError(f"segment {k} should start at t = {t_a} s but its initial state is at t = {clock.time} s")
    t_fc = plan["t_forecast"]
    start = datetime.fromisoformat(plan["cycle"])
    writers = {
        "fields": UGRIDFieldWriter(
            seg_dir / "fields.nc", TimeInterval(cfg.output_interval_minutes * 60.0, offset=t_fc), start=start, publish_start=t_fc
        ),
        "maxima": MaximaWriter(seg_dir / "max.nc", IterationInterval(1), start=start, publish_start=t_fc),
    }
    stations = _station_list(cfg, plan)
    if stations:
        writers["stations"] = StationWriter(
            seg_dir / "stations.nc",
            TimeInterval(cfg.station_interval_minutes * 60.0, offset=t_fc),
            stations,
            start=start,
            allow_dry=True,
            publish_start=t_fc,
        )
    restart_time = plan["t_restart"]
    callbacks = {}
    if t_a < restart_time <= t_b + 1e-9:
        callbacks["restart"] = Callback(
            lambda s: write_restart(seg_dir / "restart.nc", s, {FINGERPRINT_ATTR: fp}), _AtTime(restart_time)
        )
    wall0 = time.perf_counter()
    first_iteration = clock.iteration
    # a stop asked by a signal whose exception was lost (workflows.stopping): within 20 steps
    callbacks["stop"] = Callback(lambda s: stopping.check(), IterationInterval(20))
    if progress is not None:
        total = plan["t_end"] - plan["segments"][0][0]
        done0 = t_a - plan["segments"][0][0]
        callbacks["progress"] = Callback(
            lambda s: progress(done0 + s.clock.time - t_a, total, time.perf_counter() - wall0), IterationInterval(20)
        )
    sim = Simulation(
        model,
        state,
        stop_time=t_b,
        clock=clock,
        cfl=cfg.physics.cfl,
        time_stepper=cfg.physics.time_stepper,
        output_writers=writers,
        callbacks=callbacks,
    )
    try:
        sim.run()
    except BaseException:
        for w in writers.values():
            if hasattr(w, "abort"):
                w.abort()
        raise
    stats = {
        "segment": k,
        "t_start": t_a,
        "t_end": t_b,
        "steps": sim.clock.iteration - first_iteration,
        "iterations_total": sim.clock.iteration,
        "wall_seconds": sim.wall_time,
        "peak_memory_mb": peak_memory_mb(),
        "volume_m3": model.volume(state),
        "forcing": record,
        "attempt": plan["attempt"],
    }
    _write_json(seg_dir / "stats.json", stats)
    write_restart(end_file, sim, {FINGERPRINT_ATTR: fp})  # last: marks the segment done
    if progress is not None:
        progress(t_b - plan["segments"][0][0], plan["t_end"] - plan["segments"][0][0], time.perf_counter() - wall0)
    return seg_dir


class _AtTime:
    """A schedule that fires once, at model time ``t`` (the simulation lands a step on it)."""

    def __init__(self, t: float):
        self.t = float(t)

    def next_time(self, time_now: float) -> float:
        return self.t if time_now < self.t - 1e-9 else math.inf

    def due(self, clock) -> bool:
        return abs(clock.time - self.t) <= 1e-9 * max(1.0, self.t)


def publish(run_dir, *, figures: bool = True) -> dict:
    """Merge the segments' outputs into the published files, draw the figures, write ``run.json``."""
    from .merge import merge_maxima, merge_time_records

    run_dir = Path(run_dir)
    plan = _read_json(run_dir / PLAN)
    n = len(plan["segments"])
    segs = [_segment_dir(run_dir, k) for k in range(n)]
    missing = [str(s) for s in segs if not (s / "end.nc").is_file()]
    if missing:
        raise CycleError(f"cannot publish: segment(s) not finished: {', '.join(missing)}")
    stats = [_read_json(s / "stats.json") for s in segs]
    if any("forcing" not in s for s in stats):
        raise CycleError(
            f"cannot publish {run_dir}: a segment's stats.json has no forcing record (written by an older coastcast); delete work/ and run the cycle again"
        )
    t0 = time.perf_counter()
    merge_time_records([s / "fields.nc" for s in segs], run_dir / "fields.nc")
    if any((s / "stations.nc").is_file() for s in segs):
        merge_time_records([s / "stations.nc" for s in segs], run_dir / "stations.nc")
    merge_maxima([s / "max.nc" for s in segs], run_dir / "max.nc")
    restart = [s / "restart.nc" for s in segs if (s / "restart.nc").is_file()]
    if restart:
        shutil.copyfile(restart[-1], run_dir / "restart.nc.part")
        os.replace(run_dir / "restart.nc.part", run_dir / "restart.nc")
    from .gauge_stations import add_gauge_variables, cycle_skill

    cfg = _config(run_dir)
    verify_publication(run_dir, plan, cfg)
    gauges = _gauges_of(plan)
    if gauges:
        add_gauge_variables(run_dir / "stations.nc", gauges, cfg.gauges.catalogue)
    gauge_record = cycle_skill(run_dir, cfg, gauges, cfg.gauges.catalogue)
    warnings = []
    fig_paths = []
    if figures:
        try:
            fig_paths = draw_figures(run_dir)
        except Exception as exc:  # figures are a convenience; the data are published anyway
            warnings.append(f"figures not drawn: {exc}")
            log.warning("figures not drawn: %s", exc)
    # the forcing resolved by prepare, and what each segment used of it (no model rebuilt, nothing downloaded again)
    record = _read_json(run_dir / FORCING)
    warnings = sorted(set(record.get("warnings", [])) | {w for s in stats for w in s["forcing"].get("warnings", [])}) + warnings
    record["segments"] = [{"segment": s["segment"], **{k: v for k, v in s["forcing"].items() if k != "warnings"}} for s in stats]
    from .meshgen import read_depth_sources, synthetic_warning

    depth_sources = read_depth_sources(cfg.mesh_path)
    if (warn := synthetic_warning(depth_sources)) is not None:
        warnings.append(warn)
    record.pop("warnings", None)
    for s in stats:
        s.pop("forcing", None)
    if (
        record["atmosphere"]
        and record["atmosphere"].get("used") == "none"
        and record["atmosphere"].get("requested") not in (None, "none")
    ):
        warnings.append("no atmospheric forcing could be had: this forecast is TIDES ONLY")
    outputs = {p.name: p.stat().st_size for p in sorted(run_dir.glob("*.nc"))}
    ours = [s for s in stats if s.get("attempt") == plan.get("attempt")]
    reused = [s["segment"] for s in stats if s.get("attempt") != plan.get("attempt")]
    previous = _read_json(run_dir / "run.json") if (run_dir / "run.json").is_file() else {}
    info = {
        **{k: previous[k] for k in ("owner", "pid", "host", "started") if k in previous},
        "status": "succeeded",
        "name": cfg.name,
        "cycle": plan["cycle"],
        "forecast_end": (cfg.start + timedelta(hours=cfg.hours)).isoformat(),
        "model_start": plan["model_start"],
        "cold_start": plan["cold_start"],
        "spinup_hours": cfg.spinup_hours,
        "hours": cfg.hours,
        "n_triangles": plan["n_face"],
        "n_nodes": plan["n_node"],
        "n_time_steps": sum(s["steps"] for s in stats),
        "segments": stats,
        "fingerprint": {k: plan["fingerprint"][k] for k in ("sha256", "parts", "code")},
        "attempt": plan.get("attempt"),
        "resumed_from": (
            {"segments_reused": reused, "previous_attempt": (plan.get("resumed") or {}).get("previous_attempt")}
            if reused
            else None
        ),
        "stages_seconds": {  # this run's own work; reused segments are listed in resumed_from
            "prepare": plan["prepare_seconds"],
            "simulate": sum(s["wall_seconds"] for s in ours),
            "publish": None,
        },
        "peak_memory_mb": max([s["peak_memory_mb"] for s in stats] + [peak_memory_mb()]),
        "forcing": record,
        "stations": plan.get("stations", []),
        "depth_sources": depth_sources,
        "gauges": {"placement": plan.get("gauge_placement"), "stations": plan.get("gauges", [])},
        "skill": gauge_record["skill"],
        "alerts": gauge_record["alerts"],
        "warnings": warnings,
        "outputs_bytes": outputs,
        "figures": [str(p.relative_to(run_dir)) for p in fig_paths],
        "versions": _versions(),
        "config": dict(cfg.raw),
        "finished": datetime.now(timezone.utc).isoformat(),
    }
    info["stages_seconds"]["publish"] = time.perf_counter() - t0
    _write_json(run_dir / "run.json", info)
    return info


def expected_times(hours: float, interval_minutes: float, include_start: bool = True) -> np.ndarray:
    """Output times of a forecast, s after its start: every interval up to ``hours`` inclusive,
    from 0 (a cold start) or from the first interval (a hot start: the state at 0 is the
    previous cycle's, published there)."""
    dt = interval_minutes * 60.0
    t = np.arange(0.0, hours * 3600.0 + 1e-6, dt)
    return t if include_start else t[1:]


def verify_publication(run_dir: Path, plan: dict, cfg: ForecastConfig) -> None:
    """Check that the published files hold the whole forecast before it is called succeeded.

    ``fields.nc`` has a record at every output time of the forecast window and ``stations.nc``
    (when the system has stations) one at every station time for every station; ``max.nc``
    exists; ``restart.nc`` is valid at the planned restart time. Raises :class:`CycleError`
    naming the first file that falls short.
    """
    import netCDF4

    def times(path):
        with netCDF4.Dataset(path) as ds:
            return np.asarray(ds["time"][:], dtype=float), ds

    def check(name, interval_minutes):
        path = run_dir / name
        if not path.is_file():
            raise CycleError(f"publication check: {name} is missing")
        want = expected_times(cfg.hours, interval_minutes, include_start=plan["cold_start"])
        with netCDF4.Dataset(path) as ds:
            got = np.asarray(ds["time"][:], dtype=float)
            n_station = ds.dimensions["station"].size if "station" in ds.dimensions else None
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-3):
            raise CycleError(
                f"publication check: {name} has {got.size} of {want.size} records "
                f"(times {got[:1].tolist()}…{got[-1:].tolist()} s, expected {want[:1].tolist()}…{want[-1]:g} s)"
            )
        return n_station

    check("fields.nc", cfg.output_interval_minutes)
    n_station = len(_station_list(cfg, plan))
    if n_station:
        n = check("stations.nc", cfg.station_interval_minutes)
        if n != n_station:
            raise CycleError(f"publication check: stations.nc has {n} of {n_station} stations")
    if not (run_dir / "max.nc").is_file():
        raise CycleError("publication check: max.nc is missing")
    restart = run_dir / "restart.nc"
    if not restart.is_file():
        raise CycleError("publication check: restart.nc is missing")
    with netCDF4.Dataset(restart) as ds:
        t = float(ds["time"][...])
        fp = str(ds.getncattr(FINGERPRINT_ATTR)) if FINGERPRINT_ATTR in ds.ncattrs() else None
    if abs(t - plan["t_restart"]) > 1e-3 or fp != plan["fingerprint"]["sha256"]:
        raise CycleError(
            f"publication check: restart.nc is valid at t = {t:g} s of another run, not at the planned {plan['t_restart']:g} s of this one"
        )


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("coastcast", "numpy", "numba", "xarray", "netCDF4"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def draw_figures(run_dir: Path) -> list[Path]:
    from . import figures

    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    out = []
    idx = figures.high_water_index(run_dir / "fields.nc")
    out.append(figures.plot_water_level_map(run_dir / "fields.nc", idx, fig_dir / "water_level_high_water.png"))
    out.append(figures.plot_maxima_map(run_dir / "max.nc", fig_dir / "maxima.png"))
    if (run_dir / "stations.nc").is_file():
        res = figures.plot_stations(run_dir / "stations.nc", fig_dir)
        out.extend(res if isinstance(res, (list, tuple)) else [])
    return [Path(p) for p in out if p]


def run_cycle(
    config_path, run_dir, *, progress=None, figures: bool = True, overwrite: bool = False, owner: str = "coastcast run"
) -> dict:
    """Run a whole cycle in this process: prepare, every segment, publish. Returns run.json's content.

    The run directory is locked for the whole cycle (:class:`~workflows.rundir.RunLock`; a second
    writer is refused with :class:`~workflows.rundir.RunLocked`, and a directory holding another
    forecast with :class:`~workflows.rundir.RunDirMismatch`, both before anything is written).
    ``run.json`` says ``running`` (with pid and host) from the moment the plan exists, then
    ``succeeded``, ``failed`` (the reason) or ``interrupted`` (:class:`Interrupted`, Ctrl-C).
    A stop asked by a signal is honoured within 20 steps, before each segment and before
    publishing even where its exception was lost (:mod:`workflows.stopping`).
    """
    from . import rundir

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat()
    with rundir.RunLock(run_dir, owner) as lock:
        # we hold the lock, so a record still "running" is a dead writer's
        before = rundir.as_interrupted(_read_json(run_dir / "run.json")) if (run_dir / "run.json").is_file() else None
        running = {"status": "running", "owner": owner, "pid": os.getpid(), "host": platform.node(), "started": started}
        if not rundir.holds_forecast(run_dir):
            _write_json(run_dir / "run.json", running)  # nothing here to lose: say so at once
        try:
            plan_path = prepare(config_path, run_dir, overwrite=overwrite, attempt=lock.token)
        except rundir.RunDirError:
            raise  # refused: the directory is left as it was
        except BaseException as exc:
            _write_json(run_dir / "run.json", {**running, **_ended(exc)})
            raise
        plan = _read_json(plan_path)
        if plan.get("resumed"):
            prev = before or {}
            running["resuming"] = {
                "segments_reused": plan["resumed"]["segments"],
                "previous_status": prev.get("status"),
                "previous_error": prev.get("error"),
            }
        _write_json(
            run_dir / "run.json",
            {
                **running,
                "name": plan["name"],
                "cycle": plan["cycle"],
                "fingerprint": plan["fingerprint"]["sha256"],
                "attempt": plan["attempt"],
            },
        )
        try:
            for k in range(len(plan["segments"])):
                stopping.check()  # a stop whose exception was lost (workflows.stopping)
                simulate_segment(run_dir, k, progress=progress)
            stopping.check()
            info = publish(run_dir, figures=figures)
        except BaseException as exc:
            _write_json(
                run_dir / "run.json",
                {**(_read_json(run_dir / "run.json") if (run_dir / "run.json").is_file() else running), **_ended(exc)},
            )
            raise
        info["wall_seconds"] = time.perf_counter() - t0
        if lock.previous and lock.previous.get("pid"):
            info["took_over_from"] = {k: lock.previous.get(k) for k in ("owner", "pid", "host", "started")}
        _write_json(run_dir / "run.json", info)
    return info


def _ended(exc: BaseException) -> dict:
    status = "interrupted" if isinstance(exc, (Interrupted, KeyboardInterrupt, SystemExit)) else "failed"
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return {"status": status, "error": reason, "finished": datetime.now(timezone.utc).isoformat()}
