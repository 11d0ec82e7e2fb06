"""Validation against the real ocean: ``coastcast validate jmj-tides`` and ``coastcast validate gironde``.

``jmj-tides``: the Channel/Biscay (JMJ) gallery mesh forced only by its open-boundary harmonics
(M2, S2, N2, M4; clamped elevation), run through January 2022 after a spin-up; a least-squares
harmonic analysis of the modelled elevation at every node is compared with the JMJ atlas
(complex M2 error |A_m e^{iG_m} − A_a e^{iG_a}|, median and 90th percentile over wet nodes) and,
at Plymouth, with the same analysis of the observed January 2022 record (CMEMS, ACD datum;
de-meaned). ``gironde``: the Gironde estuary with its tide (maree.cli) and river flows
(qsl_ME.txt) over several days: depths stay non-negative, the volume budget closes against the
boundary fluxes, and the maximum wet extent is mapped.

Both need minutes to hours of CPU time: they are marked ``slow`` in the tests.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from solver.verification.cases import CaseResult, Metric, registrar

log = logging.getLogger(__name__)

CASES = {}
REPO = Path(__file__).resolve().parents[1]
PLYMOUTH_GAUGE = REPO / "tests" / "data" / "gauges" / "IR_TS_TG_Plymouth_202201.nc"


case = registrar(CASES)


class ValidationError(ValueError):
    """A validation run that cannot go on as asked (e.g. a checkpoint of another run); one line."""


# -- harmonic analysis ------------------------------------------------------------------------------
def harmonic_fit(t, series, constituents, start: datetime, duration: timedelta):
    """Least-squares amplitudes and Greenwich phase lags of ``constituents`` (plus a mean).

    η(t) = c + Σ_k f_k A_k cos(ω_k t + V0_k + u_k − G_k), fitted for all points at once.
    ``t``: (n_t,) s since ``start``; ``series``: (n_t, n_point). Nodal f, u at the mid-time
    (Pugh & Woodworth 2014, §4.2). Returns (amplitude (n_con, n_point), phase_deg (n_con,
    n_point), mean (n_point,)); NaN where a point has missing samples.
    """
    from workflows.forcing.tides import AstronomicalArguments

    args = AstronomicalArguments.for_run(constituents, start, duration)
    t = np.asarray(t, dtype=float)
    arg = np.outer(t, args.omega) + args.phase0  # (n_t, n_con)
    design = np.concatenate([np.ones((t.size, 1)), args.f * np.cos(arg), args.f * np.sin(arg)], axis=1)
    y = np.asarray(series, dtype=float)
    ok = np.all(np.isfinite(y), axis=0)
    coef = np.full((design.shape[1], y.shape[1]), np.nan)
    if ok.any():
        coef[:, ok] = np.linalg.lstsq(design, y[:, ok], rcond=None)[0]
    k = len(constituents)
    a, b = coef[1 : 1 + k], coef[1 + k :]
    return np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360.0, coef[0]


def complex_error(a1, g1, a2, g2):
    """|A1 e^{iG1} − A2 e^{iG2}| (m), phases in degrees."""
    return np.abs(a1 * np.exp(1j * np.radians(g1)) - a2 * np.exp(1j * np.radians(g2)))


def read_gauge(path):
    """(times datetime64[s] UTC, de-meaned sea level m) of a CMEMS tide-gauge file, good QC only."""
    import netCDF4

    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        days = ds["TIME"][:].astype(float)
        slev = ds["SLEV"][:].astype(float).reshape(days.size, -1)[:, 0]
        qc = ds["SLEV_QC"][:].reshape(days.size, -1)[:, 0] if "SLEV_QC" in ds.variables else np.ones(days.size)
        fill = getattr(ds["SLEV"], "_FillValue", None)
        scale = getattr(ds["SLEV"], "scale_factor", 1.0)
    good = (qc == 1) & np.isfinite(slev)
    if fill is not None:
        good &= slev != fill * (1 if scale == 1.0 else 1)
    times = np.datetime64("1950-01-01T00:00:00") + (days * 86400.0).round().astype("timedelta64[s]")
    return times[good], slev[good] - slev[good].mean()


# -- JMJ Channel/Biscay tides ----------------------------------------------------------------------
@case(
    "jmj-tides",
    "Channel/Biscay mesh forced by its boundary harmonics for January 2022: M2 against the JMJ atlas and the Plymouth gauge",
)
def jmj_tides(
    days: float = 30.0,
    spinup_days: float = 2.0,
    manning: float = 0.025,
    sample_minutes: float = 30.0,
    figures_dir=None,
    constituents=("M2", "S2", "N2", "M4"),
    fit_constituents=None,
    boundary: str = "clamped",
):
    """``constituents`` force the boundaries; ``fit_constituents`` (default the same) are analysed.

    ``boundary``: ``"clamped"`` prescribes the elevation harmonics of the boundary table (the
    velocity from inside, :class:`solver.boundaries.TidalElevation`); ``"flather"`` takes elevation
    and currents from the JMJ atlas at the boundary nodes (the same elevation harmonics) and lets
    outgoing waves leave.

    A quick variant forces M2 alone and fits M2, M4, M6 over a few days (a whole number of M2
    periods separates them exactly); the full validation forces all four for 30 days.
    """
    fit = tuple(fit_constituents or constituents)
    from solver import Callback, Clock, Simulation, TimeInterval
    from solver.locate import locate_points
    from solver.output.nodal import NodeAverager

    from .config import ForecastConfig
    from .cycle import build_model, read_mesh_for
    from .forcing.tide_atlases import open_atlas
    from .gallery import load_region

    region = load_region("channel_biscay")
    if boundary == "clamped":
        tides = {"kind": "harmonics", "path": str(region.tides.file), "constituents": list(constituents)}
    elif boundary == "flather":
        tides = {
            "kind": "atlas",
            "model": "jmj",
            "path": str(region.tides.atlas_file),
            "constituents": list(constituents),
            "currents": True,
        }
    else:
        raise ValidationError(f"jmj-tides: boundary {boundary!r} is not 'clamped' or 'flather'")
    analysis_start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    model_start = analysis_start - timedelta(days=spinup_days)
    cfg = ForecastConfig.from_mapping(
        {
            "name": "jmj-tides",
            "gallery": "channel_biscay",
            "start": analysis_start.isoformat(),
            "hours": 24.0 * days,
            "spinup_hours": 24.0 * spinup_days,
            "tides": tides,
            "physics": {"manning": manning, "coriolis": True},
        }
    )
    mesh = read_mesh_for(cfg)
    total = (spinup_days + days) * 86400.0
    model, record = build_model(cfg, mesh, model_start, total)
    state = model.initial_state(0.0)
    averager = NodeAverager(mesh)
    plymouth = next(s for s in region.stations if s.name == "Plymouth")
    ply_face = int(locate_points(mesh, np.array([plymouth.lon]), np.array([plymouth.lat]))[0])
    times, nodes, ply = [], [], []
    t_spin = spinup_days * 86400.0

    def sample(sim):
        if sim.clock.time < t_spin - 1e-6:
            return
        wet = sim.state.h > model.dry_depth
        eta = model.eta(sim.state)
        _, (zn,) = averager(wet, eta)
        times.append(sim.clock.time - t_spin)
        nodes.append(zn.astype(np.float32))
        ply.append(eta[ply_face])

    wall0 = time.perf_counter()
    sim = Simulation(
        model,
        state,
        stop_time=total,
        clock=Clock(start=model_start),
        cfl=cfg.physics.cfl,
        time_stepper=cfg.physics.time_stepper,
        callbacks={"sample": Callback(sample, TimeInterval(sample_minutes * 60.0))},
    )
    last = [0.0]

    def report(s):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            log.info("jmj-tides: %.2f of %.1f days, wall %.0f s", s.clock.time / 86400, total / 86400, last[0] - wall0)

    sim.callbacks["report"] = Callback(report, TimeInterval(3600.0))
    sim.run()
    wall = time.perf_counter() - wall0
    t = np.array(times)
    series = np.array(nodes, dtype=float)
    amp, pha, _ = harmonic_fit(t, series, fit, analysis_start, timedelta(days=days))
    atlas = open_atlas("jmj", region.tides.atlas_file)
    lon, lat = mesh.node_lonlat
    consts = atlas.interpolate(lon, lat, constituents=["M2"])
    a_atlas, g_atlas = consts.amplitude[0], consts.phase[0]
    m2 = list(fit).index("M2")
    # the atlas's wet nodes: deeper than 1 m in the mesh file (whatever datum the model converts to)
    wet_nodes = np.isfinite(amp[m2]) & (region.mesh().depth > 1.0) & np.isfinite(a_atlas)
    err = complex_error(amp[m2], pha[m2], a_atlas, g_atlas)[wet_nodes]
    # Plymouth: the same analysis of the model and of the observations
    obs_t, obs = read_gauge(PLYMOUTH_GAUGE)
    obs_s = (obs_t - np.datetime64(analysis_start.replace(tzinfo=None))).astype("timedelta64[s]").astype(float)
    sel = (obs_s >= 0) & (obs_s <= days * 86400.0)
    # the observations are always analysed over the whole month with the main constituents
    obs_fit = ("M2", "S2", "N2", "K1", "O1", "M4")
    sel = (obs_s >= 0) & (obs_s <= 31 * 86400.0)
    a_obs, g_obs, _ = harmonic_fit(obs_s[sel], obs[sel, None], obs_fit, analysis_start, timedelta(days=31))
    a_mod, g_mod, _ = harmonic_fit(t, np.array(ply)[:, None], fit, analysis_start, timedelta(days=days))
    m2 = list(fit).index("M2")
    dphase = (g_mod[m2, 0] - g_obs[0, 0] + 180.0) % 360.0 - 180.0
    res = CaseResult("jmj-tides", jmj_tides.description, wall_seconds=wall)
    res.metrics["atlas_M2_complex_error_median"] = Metric(float(np.median(err)), 0.10, unit="m")
    res.metrics["atlas_M2_complex_error_p90"] = Metric(float(np.percentile(err, 90)), 0.30, unit="m")
    res.metrics["plymouth_M2_amplitude_error"] = Metric(float(abs(a_mod[m2, 0] - a_obs[0, 0])), 0.10, unit="m")
    res.metrics["plymouth_M2_phase_error"] = Metric(float(abs(dphase)), 10.0, unit="deg")
    res.info.update(
        days=days,
        spinup_days=spinup_days,
        manning=manning,
        boundary=boundary,
        bathymetry=cfg.bathymetry.describe(),
        n_face=mesh.n_face,
        wet_nodes_compared=int(wet_nodes.sum()),
        time_steps=sim.clock.iteration,
        wall_seconds=round(wall, 1),
        plymouth_model_M2=f"{a_mod[m2, 0]:.3f} m / {g_mod[m2, 0]:.1f} deg",
        plymouth_observed_M2=f"{a_obs[0, 0]:.3f} m / {g_obs[0, 0]:.1f} deg (31 days, {', '.join(obs_fit)})",
        plymouth_model_S2=f"{a_mod[fit.index('S2'), 0]:.3f} m / {g_mod[fit.index('S2'), 0]:.1f} deg" if "S2" in fit else "",
        plymouth_observed_S2=f"{a_obs[1, 0]:.3f} m / {g_obs[1, 0]:.1f} deg",
        forced_constituents=list(constituents),
        fitted_constituents=list(fit),
        atlas_M2_amplitude_range_m=f"{np.nanmin(a_atlas[wet_nodes]):.3f}..{np.nanmax(a_atlas[wet_nodes]):.3f}",
        forcing=record["tides"][0]["source"] if record["tides"] else "",
    )
    if figures_dir is not None:
        _jmj_figures(
            Path(figures_dir), mesh, amp[m2], pha[m2], a_atlas, g_atlas, wet_nodes, t, np.array(ply), obs_s[sel], obs[sel]
        )
    return res


def _jmj_figures(folder, mesh, amp, pha, a_atlas, g_atlas, wet, t, ply, obs_t, obs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    folder.mkdir(parents=True, exist_ok=True)
    tri = mtri.Triangulation(mesh.node_x, mesh.node_y, mesh.face_node_connectivity)
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), constrained_layout=True)
    for ax, data, title, cmap in (
        (axes[0], np.where(wet, amp, np.nan), "model M2 amplitude (m)", "viridis"),
        (axes[1], np.where(wet, a_atlas, np.nan), "JMJ atlas M2 amplitude (m)", "viridis"),
        (axes[2], np.where(wet, complex_error(amp, pha, a_atlas, g_atlas), np.nan), "complex M2 error (m)", "magma"),
    ):
        m = ax.tripcolor(
            tri,
            np.nan_to_num(data, nan=0.0),
            shading="gouraud",
            cmap=cmap,
            vmin=0,
            vmax=np.nanmax(data) if "error" not in title else 0.3,
        )
        ax.tricontour(
            tri,
            np.where(wet, pha if "model" in title else g_atlas, 0.0),
            levels=np.arange(0, 360, 30),
            colors="w",
            linewidths=0.4,
        ) if "error" not in title else None
        ax.set_title(title)
        ax.set_aspect(1 / np.cos(np.radians(48)))
        fig.colorbar(m, ax=ax, shrink=0.8)
    fig.savefig(folder / "jmj_m2_maps.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(12, 3.5), constrained_layout=True)
    ax.plot(obs_t / 86400, obs, lw=0.8, label="observed (de-meaned, CMEMS)")
    ax.plot(t / 86400, ply - np.mean(ply), lw=0.8, label="coastcast (tides only)")
    ax.set_xlabel("days since 2022-01-01 00:00 UTC")
    ax.set_ylabel("water level (m)")
    ax.set_title("Plymouth, January 2022")
    ax.legend(loc="upper right")
    fig.savefig(folder / "jmj_plymouth.png", dpi=110)
    plt.close(fig)


# -- Gironde --------------------------------------------------------------------------------------
@case("gironde", "Gironde estuary with tide and river flows: no negative depths, closed volume budget, wet/dry extent")
def gironde(
    days: float = 15.0,
    spinup_days: float = 0.0,
    figures_dir=None,
    time_stepper: str = "lts-muscl-hancock",
    checkpoint_dir=None,
    checkpoint_hours: float = 6.0,
    stop_days: float | None = None,
):
    """Run the Gironde for ``days`` from rest.

    With ``checkpoint_dir`` the run is resumable: every ``checkpoint_hours`` of model time it
    writes ``restart.nc`` (the exact state, :mod:`solver.output.checkpoint`) and
    ``progress.npz`` (initial volume, minimum depth, ever-wet/ever-dry masks, wall time so far);
    a later call with the same directory and ``days`` continues from there, bit for bit (a restart
    on a whole hour reproduces the uninterrupted run, local time stepping included).
    ``stop_days`` ends this call early (with a checkpoint) so that a long run can be done in
    slices; the result then reports the run so far (``info["completed_days"]``).
    """
    from solver import Callback, Clock, IterationInterval, Simulation, TimeInterval
    from solver.output.checkpoint import load_boundary_outflow, load_restart, write_restart

    from .config import ForecastConfig
    from .cycle import build_model, read_mesh_for

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cfg = ForecastConfig.from_mapping(
        {
            "name": "gironde",
            "gallery": "gironde",
            "start": start.isoformat(),
            "hours": 24.0 * days,
            "spinup_hours": 0.0,
            "physics": {"manning": 0.02, "wetting_drying_threshold": 1e-3, "time_stepper": time_stepper},
        }
    )
    mesh = read_mesh_for(cfg)
    total = days * 86400.0
    model, record = build_model(cfg, mesh, start, total)
    state = model.initial_state(0.0)
    clock = Clock(start=start)
    v0 = model.volume(state)
    ever_wet = state.h > model.dry_depth
    ever_dry = ~ever_wet.copy()
    min_h = [float(state.h.min())]
    outflow0 = None
    wall_before = 0.0
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if folder is not None and (folder / "restart.nc").is_file():
        state, clock = load_restart(folder / "restart.nc", model)
        progress_file = folder / "progress.npz"
        if not progress_file.is_file():
            raise ValidationError(f"{folder}: restart.nc without progress.npz; remove the folder to start again")
        with np.load(progress_file) as prog:
            if float(prog["days"]) != float(days) or float(prog["time"]) != clock.time:
                raise ValidationError(
                    f"{folder}: the checkpoint is of a {float(prog['days']):g}-day run at t = {float(prog['time']):.0f} s "
                    f"but restart.nc is at t = {clock.time:.0f} s and {days:g} days were asked; use another folder"
                )
            v0, min_h[0], wall_before = float(prog["v0"]), float(prog["min_h"]), float(prog["wall"])
            ever_wet, ever_dry = prog["ever_wet"].copy(), prog["ever_dry"].copy()
        outflow0 = load_boundary_outflow(folder / "restart.nc")
        log.info("gironde: resuming from %s at %.2f days", folder, clock.time / 86400.0)

    def track(sim):
        wet = sim.state.h > model.dry_depth
        ever_wet[:] |= wet
        ever_dry[:] |= ~wet
        min_h[0] = min(min_h[0], float(sim.state.h.min()))

    stop = total if stop_days is None else min(total, stop_days * 86400.0)
    if stop < total and folder is None:
        raise ValidationError("gironde: stop_days needs a checkpoint_dir to resume from")
    wall0 = time.perf_counter()
    sim = Simulation(
        model,
        state,
        stop_time=stop,
        clock=clock,
        cfl=cfg.physics.cfl,
        time_stepper=cfg.physics.time_stepper,
        callbacks={"track": Callback(track, IterationInterval(10))},
    )
    if outflow0 is not None:
        sim.boundary_outflow[:] = outflow0

    def checkpoint(s):
        if s.clock.iteration == 0:
            return
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / "progress.part.npz"
        np.savez(
            part,
            days=days,
            time=s.clock.time,
            v0=v0,
            min_h=min_h[0],
            wall=wall_before + time.perf_counter() - wall0,
            ever_wet=ever_wet,
            ever_dry=ever_dry,
        )
        write_restart(folder / "restart.nc", s)
        part.replace(folder / "progress.npz")
        log.info(
            "gironde: checkpoint at %.2f of %g days, wall %.0f s",
            s.clock.time / 86400.0,
            days,
            wall_before + time.perf_counter() - wall0,
        )

    if folder is not None:
        sim.callbacks["checkpoint"] = Callback(checkpoint, TimeInterval(checkpoint_hours * 3600.0))
    sim.run()
    if folder is not None and not sim.callbacks["checkpoint"].schedule.due(sim.clock):
        checkpoint(sim)  # the state where this call stopped, off the checkpoint schedule
    wall = wall_before + time.perf_counter() - wall0
    inflow = -sim.boundary_outflow
    balance = model.volume(state) - v0 - inflow.sum()
    exchanged = np.abs(inflow).sum() + 1.0
    intertidal = ever_wet & ever_dry
    res = CaseResult("gironde", gironde.description)
    res.metrics["min_depth"] = Metric(min_h[0], 0.0, kind="min", unit="m")
    res.metrics["volume_budget_error_relative"] = Metric(abs(balance) / max(v0, exchanged), 1e-12)
    res.metrics["intertidal_faces"] = Metric(float(intertidal.sum()), 1.0, kind="min")
    # a slice (stop_days) is not a finished validation: the case passes only once all days are run
    res.metrics["fraction_of_days_run"] = Metric(sim.clock.time / total, 1.0 - 1e-9, kind="min")
    names = [s.name for s in mesh.boundaries]
    res.wall_seconds = wall  # all slices of a resumed run
    res.info.update(
        days=days,
        completed_days=round(sim.clock.time / 86400.0, 6),
        n_face=mesh.n_face,
        time_stepper=time_stepper,
        time_steps=sim.clock.iteration,
        wall_seconds=round(wall, 1),
        initial_volume_m3=f"{v0:.6e}",
        net_inflow_m3={names[i]: f"{inflow[i]:.4e}" for i in range(len(names)) if abs(inflow[i]) > 0},
        budget_residual_m3=f"{balance:.3e}",
        wet_area_max_km2=round(float(model.area[ever_wet].sum()) / 1e6, 2),
        intertidal_area_km2=round(float(model.area[intertidal].sum()) / 1e6, 2),
        rivers=record["rivers"],
    )
    if figures_dir is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.tri as mtri

        folder = Path(figures_dir)
        folder.mkdir(parents=True, exist_ok=True)
        tri = mtri.Triangulation(mesh.node_x, mesh.node_y, mesh.face_node_connectivity)
        cls = np.where(intertidal, 1, np.where(ever_wet, 2, 0))
        fig, ax = plt.subplots(figsize=(7, 8), constrained_layout=True)
        from matplotlib.colors import ListedColormap

        ax.tripcolor(tri, facecolors=cls, cmap=ListedColormap(["#d9c9a3", "#f2a541", "#3a7dc9"]), vmin=0, vmax=2)
        ax.set_title(f"Gironde, {days:g} days: always wet (blue), intertidal (orange), never wet (sand)")
        ax.set_aspect(1 / np.cos(np.radians(45.2)))
        fig.savefig(folder / "gironde_wet_extent.png", dpi=110)
        plt.close(fig)
    return res


# -- tide gauges ------------------------------------------------------------------------------------
GAUGE_FIT = ("M2", "S2", "N2", "K1", "O1", "M4", "MS4")


@case(
    "gauges",
    "A gallery region's hindcast, as its forecasts run, against every catalogue gauge on its mesh: total-tide RMSE and per-constituent complex errors",
)
def gauges(
    region: str = "channel_biscay",
    days: float = 16.0,
    spinup_days: float = 2.0,
    start: str = "2022-01-01T00:00Z",
    figures_dir=None,
    checkpoint_dir=None,
    physics: dict | None = None,
    fit=GAUGE_FIT,
    overrides: dict | None = None,
):
    """Run the region's forecast configuration (its own tides, the forecast physics; no wind) as
    one cycle of ``days`` after ``spinup_days`` of spin-up, with every catalogue gauge within
    reach as a station (:mod:`workflows.gauge_stations`), then compare at each gauge:

    * the water level with the gauge's harmonic prediction over the window: RMSE and bias;
    * per constituent of ``fit``: the complex error |A_m e^{iG_m} − A_g e^{iG_g}| between a
      least-squares fit of the model series and the same fit of the gauge's prediction series
      (same times, same constituents: what a short window cannot separate leaks alike into
      both, so the difference is the model's);

    and print the median and 90th percentile over the gauges. ``checkpoint_dir``: the run
    directory (a rerun resumes there from its finished segments; see docs/operations.md); default
    a temporary one. ``physics``: ``[physics]`` keys to change (e.g. ``{"manning": 0.03}``).
    ``overrides``: configuration tables to set, section -> {key: value} (e.g.
    ``{"tides": {"kind": "atlas", "model": "coastcast"}}`` to force the region from coastcast's
    global atlas instead of its own tides; ``coastcast validate gauges --set tides.kind=atlas
    --set tides.model=coastcast``).
    """
    import shutil
    import tempfile

    from solver.state import utc

    from .cycle import run_cycle
    from .gallery import load_region
    from .gauge_stations import read_station_series

    reg = load_region(region)
    t0 = utc(start)
    data = {
        "name": f"validate-gauges-{region}",
        "gallery": region,
        "start": start,
        "hours": 24.0 * days,
        "spinup_hours": 24.0 * spinup_days,
        "segment_hours": 24.0,
        "restart_hours": 24.0 * days,
        "output_interval_minutes": 24.0 * 60.0,
        "station_interval_minutes": 10.0,
        "stations": [],
        "atmosphere": "none",
    }
    if physics:
        data["physics"] = dict(physics)
    for section, table in (overrides or {}).items():
        if isinstance(table, dict):
            data[section] = {**data.get(section, {}), **table}
        else:
            data[section] = table
    own = checkpoint_dir is None
    run_dir = Path(checkpoint_dir) if checkpoint_dir else Path(tempfile.mkdtemp(prefix="coastcast-gauges-"))
    cfg_path = run_dir.parent / f"{run_dir.name}.validate.toml"
    import tomli_w

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        wall0 = time.perf_counter()
        info = run_cycle(cfg_path, run_dir, figures=False)
        wall = time.perf_counter() - wall0
        names, times, zeta = read_station_series(run_dir / "stations.nc")
        pred = read_station_series(run_dir / "stations.nc", "tide_prediction")[2] if info["gauges"]["stations"] else None
    finally:
        cfg_path.unlink(missing_ok=True)
        if own:
            shutil.rmtree(run_dir, ignore_errors=True)
    placed = info["gauges"]["stations"]
    if not placed:
        raise ValidationError(f"gauges: no catalogue gauge lies within reach of region {region!r}")
    rows = [names.index(g["station"]) for g in placed]
    model, ref = zeta[rows].T, pred[rows].T  # (n_t, n_gauge)
    t = (times - np.datetime64(t0.replace(tzinfo=None))).astype("timedelta64[s]").astype(float)
    diff = model - ref
    rmse = np.sqrt(np.nanmean(diff**2, axis=0))
    bias = np.nanmean(diff, axis=0)
    am, gm, _ = harmonic_fit(t, model, fit, t0, timedelta(days=days))
    ag, gg, _ = harmonic_fit(t, ref, fit, t0, timedelta(days=days))
    err = complex_error(am, gm, ag, gg)  # (n_con, n_gauge)
    dphase = (gm - gg + 180.0) % 360.0 - 180.0
    res = CaseResult("gauges", gauges.description, wall_seconds=wall)
    res.metrics["rmse_median"] = Metric(float(np.median(rmse)), 0.15, unit="m")
    res.metrics["rmse_p90"] = Metric(float(np.percentile(rmse, 90)), 0.30, unit="m")
    k = list(fit).index("M2")
    res.metrics["M2_complex_error_median"] = Metric(float(np.median(err[k])), 0.10, unit="m")
    table = {}
    for i, c in enumerate(fit):
        table[c] = {
            "median_m": round(float(np.median(err[i])), 4),
            "p90_m": round(float(np.percentile(err[i], 90)), 4),
            "amplitude_ratio_median": round(float(np.median(am[i] / np.where(ag[i] > 0, ag[i], np.nan))), 3),
            "phase_error_median_deg": round(float(np.median(dphase[i])), 1),
            "gauge_amplitude_median_m": round(float(np.median(ag[i])), 3),
        }
    per_gauge = [
        {
            "station": g["station"],
            "gauge_id": g["gauge_id"],
            "lon": g["gauge_lon"],
            "lat": g["gauge_lat"],
            "distance_km": round(g["distance_km"], 2),
            "rmse_m": round(float(rmse[j]), 4),
            "bias_m": round(float(bias[j]), 4),
            "M2_model": f"{am[k, j]:.3f} m / {gm[k, j]:.1f} deg",
            "M2_gauge": f"{ag[k, j]:.3f} m / {gg[k, j]:.1f} deg",
            "M2_complex_error_m": round(float(err[k, j]), 4),
        }
        for j, g in enumerate(placed)
    ]
    res.info.update(
        region=region,
        start=start,
        days=days,
        spinup_days=spinup_days,
        n_gauges=len(placed),
        distance_km_median=round(float(np.median([g["distance_km"] for g in placed])), 2),
        physics=dict(info["config"].get("physics", {})),
        forcing=info["forcing"]["tides"][0]["source"] if info["forcing"]["tides"] else "",
        bias_median_m=round(float(np.median(bias)), 4),
        rmse_p10_median_p90_m=[round(float(np.percentile(rmse, q)), 4) for q in (10, 50, 90)],
        constituents=table,
        worst=sorted(per_gauge, key=lambda g: -g["rmse_m"])[:5],
        wall_seconds=round(wall, 1),
    )
    if figures_dir is not None:
        folder = Path(figures_dir)
        _gauge_map(folder / f"gauges_{region}.png", reg.mesh(), placed, rmse, err[k], region, days)
        _write_csv(folder / f"gauges_{region}.csv", per_gauge)
        res.info["per_gauge_table"] = str(folder / f"gauges_{region}.csv")
    return res


def _write_csv(path: Path, rows: list[dict]) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _gauge_map(path: Path, mesh, placed, rmse, m2_error, region: str, days: float) -> Path:
    """Two maps: the RMSE of the total tide and the M2 complex error at each gauge, over the mesh."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    path.parent.mkdir(parents=True, exist_ok=True)
    lon = np.array([g["gauge_lon"] for g in placed])
    lat = np.array([g["gauge_lat"] for g in placed])
    tri = mtri.Triangulation(mesh.node_x, mesh.node_y, mesh.face_node_connectivity)
    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), constrained_layout=True)
    for ax, values, title in (
        (axes[0], rmse, f"water level RMSE against the gauge tide (m), {days:g} days"),
        (axes[1], m2_error, "M2 complex error (m)"),
    ):
        ax.triplot(tri, color="0.85", lw=0.2)
        sc = ax.scatter(
            lon,
            lat,
            c=values,
            s=28,
            cmap="magma_r",
            vmin=0.0,
            vmax=max(0.5, float(np.nanmax(values))),
            edgecolors="k",
            linewidths=0.3,
        )
        ax.set_aspect(1 / np.cos(np.radians(float(np.mean(lat)))))
        ax.set_title(f"{region}: {title}; median {np.median(values):.3f} m")
        fig.colorbar(sc, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@case(
    "global-atlas",
    "coastcast's global tide atlas against the gauge catalogue (open-water and all gauges) and the JMJ atlas's deep Atlantic boundary",
)
def global_atlas(atlas_path=None, figures_dir=None, open_depth: float = 50.0, max_km: float = 50.0):
    """Per constituent, the median and 90th percentile of the complex error of the atlas
    (:mod:`workflows.atlas_validation`): at open-water gauges (inside the atlas's triangles,
    atlas depth ≥ ``open_depth`` m), at every gauge within ``max_km`` of a wet atlas node, and at
    the JMJ atlas's Atlantic boundary nodes against the JMJ values. Targets: M2 median ≤ 10 cm at
    the open-water gauges and at the JMJ boundary."""
    from . import atlas_validation as av
    from .forcing.tide_atlases import open_atlas
    from .gallery import load_region

    t0 = time.perf_counter()
    atlas = open_atlas("coastcast", atlas_path)
    gauges_cmp = av.against_gauges(atlas, max_km=max_km)
    ow = av.open_water(gauges_cmp, open_depth)
    jmj_file = load_region("channel_biscay").tides.atlas_file
    jmj_cmp = av.against_jmj_boundary(atlas, jmj_file)
    tables = {"open_water": gauges_cmp.table(ow), "all_gauges": gauges_cmp.table(), "jmj_boundary": jmj_cmp.table()}
    res = CaseResult("global-atlas", global_atlas.description, wall_seconds=time.perf_counter() - t0)
    res.metrics["M2_open_water_median"] = Metric(tables["open_water"]["M2"]["median_m"], 0.10, unit="m")
    res.metrics["M2_jmj_boundary_median"] = Metric(tables["jmj_boundary"]["M2"]["median_m"], 0.10, unit="m")
    res.info.update(
        atlas=str(atlas.path),
        n_open_water=int(ow.sum()),
        n_all=int(gauges_cmp.names.size),
        n_jmj_nodes=int(jmj_cmp.names.size),
        open_depth_m=open_depth,
        max_km=max_km,
        constituents=tables,
    )
    if figures_dir is not None:
        folder = Path(figures_dir)
        folder.mkdir(parents=True, exist_ok=True)
        res.info["figures"] = [
            str(av.cotidal_figure(atlas, folder / "atlas_m2_cotidal.png", gauges=gauges_cmp)),
            str(av.scatter_figure(gauges_cmp, folder / "atlas_m2_gauges.png", open_depth=open_depth)),
        ]
    return res
