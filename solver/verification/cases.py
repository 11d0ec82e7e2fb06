"""The verification catalogue run by ``coastcast validate`` and by the tests.

Every case builds its own mesh, runs the solver, compares with an independent analytic reference
(:mod:`solver.verification.analytic`) and returns a :class:`CaseResult` holding the measured error
norms, the tolerance each must meet and the resolution used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..boundaries import TidalElevation
from ..builders import rectangle
from ..model import ShallowWaterModel
from ..simulation import Simulation
from ..state import State
from ..terms import Coriolis, ManningFriction, UniformAtmosphere, WindStress
from ..terms.atmosphere import RHO_WATER
from . import analytic

CASES = {}
G = 9.81


def registrar(registry: dict):
    """A decorator factory ``case(name, description)`` that records functions in ``registry``."""

    def case(name, description):
        def deco(fn):
            fn.case_name = name
            fn.description = description
            registry[name] = fn
            return fn

        return deco

    return case


case = registrar(CASES)


@dataclass
class Metric:
    value: float
    bound: float
    kind: str = "max"  # "max": value <= bound; "min": value >= bound
    unit: str = ""

    @property
    def passed(self) -> bool:
        if not np.isfinite(self.value):
            return False
        return bool(self.value <= self.bound if self.kind == "max" else self.value >= self.bound)


@dataclass
class CaseResult:
    name: str
    description: str
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.metrics.values())

    def to_dict(self) -> dict:
        return {
            "case": self.name,
            "description": self.description,
            "passed": self.passed,
            "wall_seconds": round(self.wall_seconds, 3),
            "metrics": {
                k: {
                    "value": float(m.value),
                    "bound": m.bound,
                    "kind": "<=" if m.kind == "max" else ">=",
                    "unit": m.unit,
                    "passed": m.passed,
                }
                for k, m in self.metrics.items()
            },
            "info": self.info,
        }

    def format(self) -> str:
        lines = [f"{self.name}: {'PASS' if self.passed else 'FAIL'} ({self.wall_seconds:.1f} s) — {self.description}"]
        for k, m in self.metrics.items():
            op = "<=" if m.kind == "max" else ">="
            lines.append(f"  {k:32s} {m.value:12.4e} {m.unit:6s} ({op} {m.bound:g}) {'ok' if m.passed else 'FAILED'}")
        for k, v in self.info.items():
            lines.append(f"  {k}: {v}")
        return "\n".join(lines)


def run_case(name: str, **kwargs) -> CaseResult:
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}; known cases: {', '.join(CASES)}")
    t0 = time.perf_counter()
    res = CASES[name](**kwargs)
    res.wall_seconds = time.perf_counter() - t0
    return res


def _l1(model, err):
    a = model.area
    return float(np.sum(a * np.abs(err)) / np.sum(a))


def _channel(length, nx, depth=None, width_cells=1):
    dx = length / nx
    return rectangle(length, dx * width_cells, nx, width_cells, depth=depth)


# -- cases ------------------------------------------------------------------------------------
def _bumpy_basin(n):
    def depth(x, y):
        return 2.0 - 1.5 * np.exp(-((x - 3) ** 2 + (y - 2) ** 2) / 0.5) - 3.0 * np.exp(-((x - 7) ** 2 + (y - 2.5) ** 2) / 0.8)

    return rectangle(10.0, 5.0, 2 * n, n, depth=depth)


@case("lake-at-rest", "still water over bumps and an emerged island (dry faces) stays at rest for 1000 steps")
def lake_at_rest(n=10, steps=1000, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2", geographic=False):
    """With ``geographic=True`` the basin is placed on the sphere (lon/lat mesh, 2° × 1° at 48° N)."""
    mesh = _bumpy_basin(n)
    if geographic:
        from ..mesh import Mesh

        mesh = Mesh(
            -5.0 + mesh.node_x * 0.2, 47.5 + mesh.node_y * 0.2, mesh.face_node_connectivity, mesh.depth * 10.0, mesh.boundaries
        )
    model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter, friction=ManningFriction(0.02))
    state = model.initial_state(eta=0.0)
    sim = Simulation(model, state, stop_time=np.inf, time_stepper=time_stepper)
    for _ in range(steps):
        sim.time_step(sim.next_dt())
    u, v = model.velocity(state)
    wet = state.h > 0
    res = CaseResult("lake-at-rest", lake_at_rest.description)
    res.metrics["max_speed"] = Metric(float(np.max(np.hypot(u, v))), 1e-10, unit="m/s")
    res.metrics["max_eta_deviation"] = Metric(float(np.max(np.abs(model.eta(state)[wet]))), 1e-12, unit="m")
    res.info.update(
        n_face=mesh.n_face,
        dry_faces=int((~wet).sum()),
        steps=steps,
        riemann_solver=riemann_solver,
        limiter=limiter,
        geographic=geographic,
    )
    return res


def _jittered(mesh, fraction=0.2, seed=3):
    """The same mesh with interior nodes moved at random by up to ``fraction`` of the spacing (irregular areas)."""
    from ..mesh import Mesh

    rng = np.random.default_rng(seed)
    boundary = np.zeros(mesh.n_node, dtype=bool)
    boundary[mesh.edge_node_connectivity[mesh.boundary_edges].ravel()] = True
    h = np.sqrt(np.median(mesh.face_area))
    dx = np.where(boundary, 0.0, rng.uniform(-fraction, fraction, mesh.n_node) * h)
    dy = np.where(boundary, 0.0, rng.uniform(-fraction, fraction, mesh.n_node) * h)
    return Mesh(
        mesh.node_x + dx,
        mesh.node_y + dy,
        mesh.face_node_connectivity,
        mesh.depth,
        mesh.boundaries,
        crs=mesh.crs,
        name=mesh.name + " jittered",
    )


@case("conservation", "closed basin with wetting/drying, friction, Coriolis and wind: total volume conserved")
def conservation(n=10, steps=500, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    mesh = _jittered(_bumpy_basin(n))
    model = ShallowWaterModel(
        mesh,
        riemann_solver=riemann_solver,
        limiter=limiter,
        friction=ManningFriction(0.02),
        coriolis=Coriolis(f0=1e-4),
        wind_stress=WindStress(UniformAtmosphere(mesh.n_node, 10.0, 5.0)),
    )
    eta0 = 0.3 * np.exp(-((mesh.face_x - 2) ** 2 + (mesh.face_y - 1.5) ** 2) / 0.3)
    state = model.initial_state(eta=eta0)
    v0 = model.volume(state)
    sim = Simulation(model, state, stop_time=np.inf, time_stepper=time_stepper)
    for _ in range(steps):
        sim.time_step(sim.next_dt())
    res = CaseResult("conservation", conservation.description)
    res.metrics["relative_volume_change"] = Metric(abs(model.volume(state) - v0) / v0, 1e-12)
    res.metrics["min_depth"] = Metric(float(state.h.min()), 0.0, kind="min", unit="m")
    res.info.update(n_face=mesh.n_face, steps=steps, simulated_seconds=round(sim.clock.time, 3))
    return res


def _dam_break(kind, resolutions, h_right, t_end=1.5, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    length, x0, hl = 20.0, 10.0, 1.0
    errors = []
    for nx in resolutions:
        mesh = _channel(length, nx)
        model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter, dry_depth=1e-8)
        h0 = np.where(mesh.face_x < x0, hl, h_right)
        state = State(h0.copy(), np.zeros_like(h0), np.zeros_like(h0))
        Simulation(model, state, stop_time=t_end, time_stepper=time_stepper, cfl=0.9).run()
        if kind == "ritter":
            hx, _ = analytic.ritter(mesh.face_x, t_end, hl, x0)
        else:
            hx, _ = analytic.stoker(mesh.face_x, t_end, hl, h_right, x0)
        errors.append(_l1(model, state.h - hx))
    return errors


def _dam_break_result(name, description, kind, resolutions, h_right, **scheme):
    errs = _dam_break(kind, resolutions, h_right, **scheme)
    res = CaseResult(name, description)
    for n, e in zip(resolutions, errs):
        res.metrics[f"L1_depth_error_nx{n}"] = Metric(e, 0.004 * 50 / n, unit="m")
    # a discontinuous solution converges at first order in L1 at best (LeVeque 2002, sec. 8.7):
    # 4x finer gives at most 4x smaller errors; 3.0 admits an observed order down to 0.8
    # (measured: 3.6 wet, 4.0 dry with HLL, Barth-Jespersen, SSP-RK2; 1.5 would pass order 0.3)
    res.metrics["error_ratio_coarse_to_fine"] = Metric(errs[0] / errs[-1], 3.0, kind="min")
    res.info.update(resolutions=list(resolutions), domain="20 m channel, dam at 10 m, t = 1.5 s")
    return res


@case("dam-break-dry", "Ritter's dam break onto a dry bed (h_L = 1 m): L1 depth error decreasing with resolution")
def dam_break_dry(resolutions=(50, 100, 200), riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    return _dam_break_result(
        "dam-break-dry",
        dam_break_dry.description,
        "ritter",
        resolutions,
        0.0,
        riemann_solver=riemann_solver,
        limiter=limiter,
        time_stepper=time_stepper,
    )


@case("dam-break-wet", "Stoker's dam break onto a wet bed (h_L = 1 m, h_R = 0.1 m): L1 depth error decreasing with resolution")
def dam_break_wet(resolutions=(50, 100, 200), riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    return _dam_break_result(
        "dam-break-wet",
        dam_break_wet.description,
        "stoker",
        resolutions,
        0.1,
        riemann_solver=riemann_solver,
        limiter=limiter,
        time_stepper=time_stepper,
    )


@case("thacker", "Thacker's planar surface oscillating in a paraboloid (wetting and drying): errors after one period")
def thacker(n=40, periods=1.0, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    a, h0, eta = 1.0, 0.1, 0.5
    mesh = rectangle(4.0, 4.0, n, n, x0=-2.0, y0=-2.0, depth=lambda x, y: h0 * (1 - (x**2 + y**2) / a**2))
    model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter, dry_depth=1e-6)
    h, u, v, _ = analytic.thacker_planar(mesh.face_x, mesh.face_y, 0.0, a, h0, eta)
    # cell averages of the initial depth by 4-point sub-sampling of each triangle
    h = _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, 0.0, a, h0, eta)[0])
    state = State(h, h * u, h * v)
    T = analytic.thacker_period(a, h0) * periods
    Simulation(model, state, stop_time=T, time_stepper=time_stepper, cfl=0.9).run()
    hx = _cell_average(mesh, lambda x, y: analytic.thacker_planar(x, y, T, a, h0, eta)[0])
    wet = hx > 0
    zeta_err = (state.h + model.bed - (hx + model.bed))[wet]
    res = CaseResult("thacker", thacker.description)
    res.metrics["L1_depth_error"] = Metric(_l1(model, state.h - hx), 4e-4 * 40 / n, unit="m")
    res.metrics["L1_surface_error_wet"] = Metric(
        float(np.sum(model.area[wet] * np.abs(zeta_err)) / np.sum(model.area[wet])), 2e-3 * 40 / n, unit="m"
    )
    res.metrics["relative_volume_change"] = Metric(
        abs(model.volume(state) - float(np.dot(model.area, h))) / float(np.dot(model.area, h)), 1e-12
    )
    res.info.update(n_face=mesh.n_face, period_s=round(T, 4), a=a, h0=h0, eta=eta)
    return res


def _cell_average(mesh, fn):
    """Face averages of fn(x, y) by the 3-point edge-midpoint rule (exact for quadratics)."""
    f = mesh.face_node_connectivity
    x, y = mesh.node_x[f], mesh.node_y[f]
    xm = 0.5 * (x + np.roll(x, -1, axis=1))
    ym = 0.5 * (y + np.roll(y, -1, axis=1))
    return fn(xm, ym).mean(axis=1)


def _upward_crossings(t, s):
    s = s - s.mean()
    i = np.flatnonzero((s[:-1] < 0) & (s[1:] >= 0))
    return t[i] - s[i] * (t[i + 1] - t[i]) / (s[i + 1] - s[i])


@case("seiche", "fundamental standing wave in a closed 100 m basin, 10 m deep: period against Merian's formula")
def seiche(nx=50, periods=4, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    length, depth, amp = 100.0, 10.0, 0.01
    mesh = _channel(length, nx, depth=depth)
    model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter)
    eta0 = _cell_average(mesh, lambda x, y: amp * np.cos(np.pi * x / length))
    state = model.initial_state(eta=eta0)
    T = analytic.seiche_period(length, depth)
    probe = mesh.face_x < length / nx
    times, series = [], []
    sim = Simulation(model, state, stop_time=periods * T, time_stepper=time_stepper, cfl=0.9)

    def record(s):
        times.append(s.clock.time)
        series.append(float(np.mean(model.eta(s.state)[probe])))

    from ..schedules import Callback, IterationInterval

    sim.callbacks["probe"] = Callback(record, IterationInterval(1))
    sim.run()
    crossings = _upward_crossings(np.array(times), np.array(series))
    measured = float(np.mean(np.diff(crossings)))
    res = CaseResult("seiche", seiche.description)
    res.metrics["period_relative_error"] = Metric(abs(measured - T) / T, 0.01)
    res.info.update(n_face=mesh.n_face, analytic_period_s=round(T, 4), measured_period_s=round(measured, 4))
    return res


@case("tidal-channel", "frictionless 10 km channel forced by a tide at its mouth: co-oscillating tide against linear theory")
def tidal_channel(
    nx=40, periods=2.0, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2", deep_water_step=None
):
    length, depth, amp = 10_000.0, 10.0, 0.02
    c = np.sqrt(G * depth)
    omega = 1.0e-4 * c  # k L = 1
    mesh = _channel(length, nx, depth=depth)
    bc = TidalElevation(lambda t: amp * np.sin(omega * t))
    model = ShallowWaterModel(
        mesh, boundary_conditions={"west": bc}, riemann_solver=riemann_solver, limiter=limiter, deep_water_step=deep_water_step
    )
    eta0, u0 = analytic.tidal_channel(mesh.face_x, 0.0, amp, omega, length, depth)
    h0 = depth + eta0
    state = State(h0, h0 * u0, np.zeros_like(h0))
    T = 2 * np.pi / omega
    t_end = periods * T
    errs = []
    sim = Simulation(model, state, stop_time=t_end, time_stepper=time_stepper, cfl=0.9)
    from ..schedules import Callback, TimeInterval

    def compare(s):
        ex, _ = analytic.tidal_channel(mesh.face_x, s.clock.time, amp, omega, length, depth)
        errs.append(np.max(np.abs(model.eta(s.state) - ex)))

    sim.callbacks["compare"] = Callback(compare, TimeInterval(T / 8))
    sim.run()
    res = CaseResult("tidal-channel", tidal_channel.description)
    res.metrics["max_eta_error_over_amplitude"] = Metric(float(np.max(errs)) / amp, 0.03)
    res.info.update(
        n_face=mesh.n_face,
        period_s=round(T, 1),
        kL=1.0,
        amplitude_m=amp,
        mouth_to_head_amplification=round(1 / np.cos(1.0), 4),
        steps=sim.clock.iteration * 2 ** getattr(sim.stepper, "K", 0),
    )
    return res


@case("wind-setup", "closed 2 km basin, 2 m deep, 15 m/s wind: time-mean surface slope against τ/(ρ g h)")
def wind_setup(nx=40, periods=4, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    length, depth, wind = 2000.0, 2.0, 15.0
    mesh = _channel(length, nx, depth=depth)
    atm = UniformAtmosphere(mesh.n_node, wind, 0.0)
    ws = WindStress(atm)
    model = ShallowWaterModel(
        mesh, wind_stress=ws, friction=ManningFriction(0.02), riemann_solver=riemann_solver, limiter=limiter
    )
    state = model.initial_state(eta=0.0)
    tau = float(ws.stress(model, 0.0)[0][0])
    T = analytic.seiche_period(length, depth)
    sim = Simulation(model, state, stop_time=(periods + 1) * T, time_stepper=time_stepper, cfl=0.9)
    acc = {"sum": np.zeros(mesh.n_face), "dt": 0.0}

    def accumulate(s):
        if s.clock.time > T:
            acc["sum"] += model.eta(s.state) * s.last_dt
            acc["dt"] += s.last_dt

    from ..schedules import Callback, IterationInterval

    sim.callbacks["mean"] = Callback(accumulate, IterationInterval(1))
    sim.run()
    mean_eta = acc["sum"] / acc["dt"]
    slope = float(np.polyfit(mesh.face_x, mean_eta, 1)[0])
    expected = tau / (RHO_WATER * G * depth)
    exact = analytic.wind_setup(mesh.face_x, length, depth, tau, RHO_WATER)
    res = CaseResult("wind-setup", wind_setup.description)
    res.metrics["slope_relative_error"] = Metric(abs(slope - expected) / expected, 0.01)
    res.metrics["max_profile_error_over_setup"] = Metric(float(np.max(np.abs(mean_eta - exact)) / np.max(np.abs(exact))), 0.02)
    res.info.update(n_face=mesh.n_face, stress_Pa=round(tau, 5), analytic_slope=expected, measured_slope=slope)
    return res


@case("kelvin", "Kelvin wave along a wall on an f-plane (f = 1e-4 s-1): cross-channel decay scale against R = √(gH)/f")
def kelvin(nx=40, ny=20, periods=1.5, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    length, width, depth, amp, f = 400e3, 200e3, 10.0, 0.1, 1e-4
    c = np.sqrt(G * depth)
    omega = 2 * np.pi / 44714.0  # M2
    R = c / f
    mesh = rectangle(length, width, nx, ny, depth=depth)
    seg_xy = {s.name: (mesh.node_x[s.node_ids], mesh.node_y[s.node_ids]) for s in mesh.boundaries}

    def boundary(name):
        x, y = seg_xy[name]
        el = lambda t: analytic.kelvin_wave(x, y, t, amp, omega, depth, f)[0]  # noqa: E731
        vel = lambda t: (analytic.kelvin_wave(x, y, t, amp, omega, depth, f)[1], np.zeros_like(x))  # noqa: E731
        return TidalElevation(el, vel)

    model = ShallowWaterModel(
        mesh,
        boundary_conditions={"west": boundary("west"), "east": boundary("east")},
        coriolis=Coriolis(f0=f),
        riemann_solver=riemann_solver,
        limiter=limiter,
    )
    eta0, u0, _ = analytic.kelvin_wave(mesh.face_x, mesh.face_y, 0.0, amp, omega, depth, f)
    h0 = depth + eta0
    state = State(h0, h0 * u0, np.zeros_like(h0))
    T = 2 * np.pi / omega
    t_end = periods * T
    column = np.abs(mesh.face_x - length / 2) < length / nx
    samples = []
    sim = Simulation(model, state, stop_time=t_end, time_stepper=time_stepper, cfl=0.9)
    from ..schedules import Callback, TimeInterval

    def record(s):
        if s.clock.time >= t_end - T - 1e-6:
            samples.append((s.clock.time, model.eta(s.state)[column].copy()))

    sim.callbacks["record"] = Callback(record, TimeInterval(T / 24))
    sim.run()
    t = np.array([s[0] for s in samples])
    E = np.array([s[1] for s in samples])
    A = np.stack([np.sin(omega * t), np.cos(omega * t), np.ones_like(t)], axis=1)
    coef = np.linalg.lstsq(A, E, rcond=None)[0]
    amp_y = np.hypot(coef[0], coef[1])
    y = mesh.face_y[column]
    fit = np.polyfit(y, np.log(amp_y), 1)
    R_fit = -1.0 / fit[0]
    ex, _, _ = analytic.kelvin_wave(mesh.face_x, mesh.face_y, t_end, amp, omega, depth, f)
    res = CaseResult("kelvin", kelvin.description)
    res.metrics["decay_scale_relative_error"] = Metric(abs(R_fit - R) / R, 0.02)
    res.metrics["max_eta_error_over_amplitude"] = Metric(float(np.max(np.abs(model.eta(state) - ex))) / amp, 0.06)
    res.info.update(n_face=mesh.n_face, analytic_R_km=round(R / 1e3, 2), fitted_R_km=round(R_fit / 1e3, 2))
    return res


@case(
    "inertial", "inertial oscillation of a uniform current on an f-plane: amplitude and turning of the current after one period"
)
def inertial(n=40, periods=1.0, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    """A uniform current U over a flat bed under a flat surface, on an f-plane, turns clockwise
    at the rate f without changing its speed: u + i v = U e^{−i f t} is an exact solution of the
    nonlinear shallow-water equations (u·∇u = 0, ∇η = 0; Gill 1982, *Atmosphere–Ocean
    Dynamics*, §8.2, Kundu & Cohen, *Fluid Mechanics*, §14.7). In a closed basin 1000 km wide
    and 1 m deep, the disturbances from the walls travel √(gh) t ≈ 200 km in one inertial
    period, so the current in the 200 km × 200 km centre is the open-ocean one. Metrics: the
    largest relative error of the speed and the largest error of the direction there, after
    one period. With f Δt ≈ 0.057 per step (f = 1e-4 s⁻¹, 25 km cells), an integrator that is
    first order in the rotation (the Euler step) errs in the speed by about e^{π f Δt} − 1 ≈ 19 %
    a period (measured 19.3 %); SSP-RK2 and MUSCL–Hancock by 0.014 %, and both turn it 0.19°
    too little."""
    width, depth, speed, f = 1000e3, 1.0, 0.1, 1e-4
    mesh = rectangle(width, width, n, n, depth=depth)
    model = ShallowWaterModel(mesh, coriolis=Coriolis(f0=f), riemann_solver=riemann_solver, limiter=limiter)
    h0 = np.full(mesh.n_face, depth)
    state = State(h0.copy(), h0 * speed, np.zeros_like(h0))
    t_end = periods * 2 * np.pi / f
    sim = Simulation(model, state, stop_time=t_end, time_stepper=time_stepper, cfl=0.9)
    sim.run()
    centre = (np.abs(mesh.face_x - width / 2) < 100e3) & (np.abs(mesh.face_y - width / 2) < 100e3)
    u, v = model.velocity(state)
    w = (u + 1j * v)[centre]
    exact = speed * np.exp(-1j * f * t_end)
    res = CaseResult("inertial", inertial.description)
    res.metrics["speed_relative_error"] = Metric(float(np.max(np.abs(np.abs(w) / speed - 1.0))), 0.01)
    res.metrics["direction_error_deg"] = Metric(float(np.max(np.abs(np.degrees(np.angle(w / exact))))), 0.5, unit="deg")
    res.info.update(n_face=mesh.n_face, steps=sim.clock.iteration, f_dt=round(f * t_end / sim.clock.iteration, 4))
    return res


@case("convergence", "(1,1) standing wave in a closed square basin: observed order of the L1 surface error over 3 resolutions")
def convergence(resolutions=(8, 16, 32), riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    length, depth, amp = 10.0, 1.0, 1e-5
    omega = np.pi / length * np.sqrt(2 * G * depth)
    t_end = 0.5 * 2 * np.pi / omega
    errs = []
    for n in resolutions:
        mesh = rectangle(length, length, n, n, depth=depth)
        model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter)
        eta0 = _cell_average(mesh, lambda x, y: analytic.standing_wave_2d(x, y, 0.0, amp, length, depth)[0])
        state = model.initial_state(eta=eta0)
        Simulation(model, state, stop_time=t_end, time_stepper=time_stepper, cfl=0.9).run()
        ex = _cell_average(mesh, lambda x, y: analytic.standing_wave_2d(x, y, t_end, amp, length, depth)[0])
        errs.append(_l1(model, model.eta(state) - ex))
    sizes = length / np.array(resolutions, dtype=float)
    order = float(np.polyfit(np.log(sizes), np.log(errs), 1)[0])
    res = CaseResult("convergence", convergence.description)
    res.metrics["observed_order"] = Metric(order, 1.8, kind="min")
    for n, e in zip(resolutions, errs):
        res.info[f"L1_error_n{n}"] = e
    res.info.update(resolutions=list(resolutions), amplitude_over_depth=amp / depth)
    return res


@case("steep-slope", "free waves over a 150 m → 3000 m continental slope in a closed basin: the discrete energy never grows")
def steep_slope(nx=30, hours=36.0, riemann_solver="hll", limiter="barth-jespersen", time_stepper="ssp-rk2"):
    """Energy stability over steep bathymetry, the setting of the shelf break in a regional model.

    A frictionless closed basin 300 km × 150 km, 3000 m deep in the west rising over a curved
    slope (tanh, 12 km scale) to a 150 m shelf, on a jittered mesh of 10 km squares split in 4
    (comparable to a regional mesh in deep water); a 1 m Gaussian hump in the deep part, with
    Coriolis f = 1.1e-4 s⁻¹. The continuous equations conserve the energy
    E = ∫ ½ h |u|² + ½ g η² dA (e.g. Vreugdenhil 1994, *Numerical methods for shallow-water
    flow*, §2.6); an upwind finite-volume scheme may only dissipate it. Measured: the largest
    relative rise of E over its running minimum, sampled every 30 min. (HLLC, whose tangential
    flux carries no wave-speed dissipation, lets grid-scale motion over the slope grow here
    after about a day; HLL does not — docs/verification.md.)
    """
    from ..schedules import Callback, TimeInterval

    def depth(x, y):
        return 150.0 + 2850.0 * 0.5 * (1.0 - np.tanh((x - 100e3 - 10e3 * np.sin(y / 30e3)) / 12e3))

    mesh = _jittered(rectangle(300e3, 150e3, nx, nx // 2, depth=depth), 0.25)
    model = ShallowWaterModel(mesh, riemann_solver=riemann_solver, limiter=limiter, coriolis=Coriolis(1.1e-4))
    eta0 = np.exp(-((mesh.face_x - 60e3) ** 2 + (mesh.face_y - 75e3) ** 2) / (20e3) ** 2)
    state = model.initial_state(eta=eta0)

    def energy(s):
        u, v = model.velocity(s)
        eta = model.eta(s)
        return float(np.sum(model.area * (0.5 * s.h * (u * u + v * v) + 0.5 * G * eta * eta)))

    samples = [energy(state)]
    sim = Simulation(model, state, stop_time=hours * 3600.0, time_stepper=time_stepper, cfl=0.9)
    if hasattr(sim.stepper, "min_saving"):  # local steps: keep the levels (the case tests their interfaces) on this small mesh
        sim.stepper.min_saving = 0.0
    sim.callbacks["energy"] = Callback(lambda s: samples.append(energy(s.state)), TimeInterval(1800.0))
    sim.run()
    e = np.array(samples)
    growth = float(np.max(e / np.minimum.accumulate(e)) - 1.0)
    u, v = model.velocity(state)
    res = CaseResult("steep-slope", steep_slope.description)
    res.metrics["energy_growth"] = Metric(growth, 1e-3)
    res.info.update(
        n_face=mesh.n_face,
        hours=hours,
        final_energy_ratio=float(e[-1] / e[0]),
        max_speed=float(np.max(np.hypot(u, v))),
        riemann_solver=riemann_solver,
        limiter=limiter,
        time_stepper=time_stepper,
        steps=sim.clock.iteration,
    )
    if hasattr(sim.stepper, "level_counts"):
        res.info["faces_per_level"] = sim.stepper.level_counts.tolist()
    return res
