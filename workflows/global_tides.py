"""coastcast's own global ocean tide model and the atlas it writes.

A forward barotropic tide model run with coastcast's solver on the whole sphere
(:class:`solver.geometry.SphereGeometry`) on the OceanMesh2D global mesh of the ADCIRC test suite
(``workflows/data/global_oceanmesh2d``: 27,330 nodes, 50,859 faces, edges 30–600 km), forced by
the equilibrium tide of the eight principal constituents (:class:`solver.terms.tidal.TidalPotential`,
ramped in), with scalar self-attraction and loading, quadratic bottom friction and the mesh's
internal-tide drag tensor (fort.13), as ADCIRC's global tide configuration of the same mesh
(fort.15: C_d = 0.0025, internal_tide_friction).

The run's surface elevation and depth-averaged currents are analysed harmonically while it runs
(streaming least squares, :class:`HarmonicAnalysis`): a record of ~30 days separates M2, S2, N2,
K1, O1 and Q1 (Rayleigh: 27.6 days for M2/N2 and O1/Q1), but not K2 from S2 nor P1 from K1 (182.6
days). Those two are inferred, as in t_tide's inference (Pawlowicz, Beardsley & Lentz 2002,
Comput. Geosci. 28): each is assumed to have its partner's Greenwich phase lag and its amplitude
in the ratio of their equilibrium tides (K2/S2 = 0.272, P1/K1 = 0.318), so the pair is one
unknown. The quarter-diurnal M4, MS4 and MN4 are fitted too (so that the shelf's overtides do not
leak into the others) and written with the rest.

The atlas (:func:`write_atlas`) holds amplitudes and Greenwich phase lags of elevation and of
eastward/northward currents at the mesh nodes (face values averaged to nodes by area) in the
layout the triangle-atlas reader of :mod:`workflows.forcing.tide_atlases` reads, with UGRID
mesh attributes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from solver.state import utc

log = logging.getLogger(__name__)

GLOBAL_MESH_DIR = Path(__file__).parent / "data" / "global_oceanmesh2d"
"""The global mesh, its nodal attributes (fort.13) and ADCIRC's control file (fort.15)."""

ATLAS_CONSTITUENTS = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1", "M4", "MS4", "MN4")
"""What the atlas holds: the eight forced constituents and three overtides."""

FORCED = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1")
INFERRED = {"K2": "S2", "P1": "K1"}
"""Constituent -> the resolved partner it is inferred from (same phase lag, equilibrium amplitude ratio)."""


@dataclass(frozen=True)
class GlobalTideSetup:
    """The physics and the record of one global tide run.

    start : aware UTC datetime of t = 0; days : simulated days; spinup_days : days before the
    harmonic analysis starts; ramp_days : ramp of the potential; sample_minutes : analysis
    sampling interval; sal_beta : scalar SAL factor β (0.12: on this mesh it beats Ray's 0.085,
    M2 median error at open-water gauges 0.102 m against 0.121 m, docs/validation.md); drag_coefficient : quadratic bottom
    friction C_d; internal_tide_scale : factor on the fort.13 internal-tide drag tensor (0: none);
    deep_water_factor : :class:`solver.stability.DeepWaterStep` factor; cfl : Courant number.
    """

    start: datetime = datetime(2022, 1, 1, tzinfo=timezone.utc)
    days: float = 33.0
    spinup_days: float = 3.0
    ramp_days: float = 2.0
    sample_minutes: float = 30.0
    sal_beta: float = 0.12
    drag_coefficient: float = 0.0025
    internal_tide_scale: float = 1.0
    deep_water_factor: float = 2.0
    cfl: float = 0.9

    def __post_init__(self):
        utc(self.start, "start")
        if not 0 <= self.spinup_days < self.days:
            raise ValueError(f"spinup_days must be in [0, days), got {self.spinup_days} of {self.days}")

    @property
    def record_days(self) -> float:
        return self.days - self.spinup_days


def load_global_mesh(directory: Path = GLOBAL_MESH_DIR):
    """(mesh, nodal attributes) of the global mesh in ``directory`` (fort.14.gz, fort.13.gz)."""
    from solver.formats.fort13 import read_fort13
    from solver.formats.gr3 import read_gr3

    mesh = read_gr3(directory / "fort.14.gz").mesh
    attrs = read_fort13(directory / "fort.13.gz", n_node=mesh.n_node)
    return mesh, attrs


def build_model(mesh, attributes, arguments, setup: GlobalTideSetup):
    """The :class:`solver.model.ShallowWaterModel` of the global tide: Coriolis, the ramped
    equilibrium tide, SAL, quadratic friction and internal-tide drag."""
    from solver.model import ShallowWaterModel
    from solver.stability import DeepWaterStep
    from solver.terms import Coriolis
    from solver.terms.friction import QuadraticFriction
    from solver.terms.ramp import Ramped
    from solver.terms.tidal import InternalTideDrag, SelfAttractionLoading, TidalPotential

    potential = TidalPotential(arguments)
    drag = None
    if setup.internal_tide_scale > 0 and "internal_tide_friction" in attributes:
        tensor = setup.internal_tide_scale * np.asarray(attributes["internal_tide_friction"].values)
        drag = InternalTideDrag.from_nodes(mesh, tensor)
    return ShallowWaterModel(
        mesh,
        coriolis=Coriolis(),
        friction=QuadraticFriction(setup.drag_coefficient),
        tidal_potential=Ramped(potential, setup.ramp_days * 86400.0) if setup.ramp_days > 0 else potential,
        self_attraction=SelfAttractionLoading(setup.sal_beta) if setup.sal_beta > 0 else None,
        internal_tide_drag=drag,
        deep_water_step=DeepWaterStep(factor=setup.deep_water_factor) if setup.deep_water_factor > 1 else None,
    )


class HarmonicAnalysis:
    """Streaming least-squares harmonic analysis of many series sampled at common times.

    The model y(t) = z0 + Σ_g [a_g C_g(t) + b_g S_g(t)] with, for a group g of a resolved
    constituent k and the constituents inferred from it (ratio r_j),
    C_g = f_k cos θ_k + Σ_j r_j f_j cos θ_j and S_g likewise with sines, θ = ω t + V0 + u; then
    A_k = √(a² + b²), G_k = atan2(b, a) and A_j = r_j A_k, G_j = G_k. The normal equations
    XᵀX and Xᵀy are accumulated sample by sample (O(n_basis n_series) per sample, no record
    kept) and solved at the end.

    arguments : the run's :class:`workflows.forcing.tides.AstronomicalArguments` for
    ``constituents``; ratios : inferred name -> (partner, amplitude ratio).
    """

    def __init__(self, arguments, ratios: dict, n_series: int):
        names = list(arguments.constituents)
        self.constituents = tuple(names)
        self.ratios = dict(ratios)
        self.resolved = [c for c in names if c not in self.ratios]
        self._arguments = arguments
        self._members = {k: [(names.index(k), 1.0)] for k in self.resolved}
        for j, (k, r) in self.ratios.items():
            self._members[k].append((names.index(j), float(r)))
        n_basis = 1 + 2 * len(self.resolved)
        self.xtx = np.zeros((n_basis, n_basis))
        self.xty = np.zeros((n_basis, n_series))
        self.n_samples = 0

    def basis(self, t: float) -> np.ndarray:
        """(n_basis,) regressors at model time t (s): 1, then C_g, S_g per resolved constituent."""
        theta = self._arguments.angles(t)
        f = self._arguments.f
        row = [1.0]
        for k in self.resolved:
            c = sum(r * f[i] * np.cos(theta[i]) for i, r in self._members[k])
            s = sum(r * f[i] * np.sin(theta[i]) for i, r in self._members[k])
            row += [c, s]
        return np.array(row)

    def add(self, t: float, y: np.ndarray) -> None:
        """One sample: y (n_series,) at model time t."""
        x = self.basis(t)
        self.xtx += np.outer(x, x)
        self.xty += np.outer(x, y)
        self.n_samples += 1

    def solve(self):
        """(mean (n_series,), complex constants (n_con, n_series) A e^{-iG} in ``constituents`` order)."""
        coef = np.linalg.solve(self.xtx, self.xty)
        out = np.zeros((len(self.constituents), coef.shape[1]), dtype=complex)
        for m, k in enumerate(self.resolved):
            a, b = coef[1 + 2 * m], coef[2 + 2 * m]
            z = a - 1j * b  # A cos G − i A sin G = A e^{-iG}
            for i, r in self._members[k]:
                out[i] = r * z
        return coef[0], out


def inference_ratios() -> dict:
    """Inferred constituent -> (partner, equilibrium amplitude ratio incl. the Love factors)."""
    from solver.terms.tidal import EQUILIBRIUM_TIDE as E

    return {j: (k, (E[j].amplitude * E[j].love) / (E[k].amplitude * E[k].love)) for j, k in INFERRED.items()}


def face_to_node(mesh, values: np.ndarray) -> np.ndarray:
    """Area-weighted mean over the faces around each node: (…, n_face) -> (…, n_node)."""
    from scipy.sparse import csr_matrix

    f = mesh.face_node_connectivity
    w = np.repeat(mesh.face_area, 3)
    m = csr_matrix((w, (f.ravel(), np.repeat(np.arange(mesh.n_face), 3))), shape=(mesh.n_node, mesh.n_face))
    norm = np.asarray(m.sum(axis=1)).ravel()
    v = np.asarray(values)
    flat = v.reshape(-1, mesh.n_face)
    out = np.stack([m @ row for row in flat]) / norm
    return out.reshape(v.shape[:-1] + (mesh.n_node,))


@dataclass
class GlobalTideResult:
    """Harmonic constants at the mesh nodes: ``elev``, ``u``, ``v`` (n_con, n_node) complex
    A e^{-iG} (m, m s⁻¹, Greenwich phase lags referred to UTC), and the run's figures."""

    mesh: object
    constituents: tuple
    elev: np.ndarray
    u: np.ndarray
    v: np.ndarray
    setup: GlobalTideSetup
    wall_seconds: float
    steps: int
    peak_rss_mb: float


def run_global_tides(
    setup: GlobalTideSetup = GlobalTideSetup(), directory: Path = GLOBAL_MESH_DIR, progress=None
) -> GlobalTideResult:
    """Run the global tide model and analyse it (module docstring). ``progress(day, days, wall_s)``
    is called about every simulated day."""
    import resource

    from solver.schedules import Callback, TimeInterval
    from solver.simulation import Simulation
    from workflows.forcing.tides import AstronomicalArguments

    t0 = time.perf_counter()
    mesh, attrs = load_global_mesh(directory)
    if not mesh.is_sphere:
        raise ValueError(f"{directory}: the mesh is not global (see solver.mesh.Mesh.is_sphere)")
    duration = timedelta(days=setup.days)
    forcing_args = AstronomicalArguments.for_run(FORCED, setup.start, duration)
    model = build_model(mesh, attrs, forcing_args, setup)
    analysis_args = AstronomicalArguments.for_run(ATLAS_CONSTITUENTS, setup.start, duration)
    ratios = inference_ratios()
    n = mesh.n_face
    ha = HarmonicAnalysis(analysis_args, ratios, 3 * n)
    state = model.initial_state(eta=0.0)
    ca, sa = np.cos(mesh.face_frame_angle), np.sin(mesh.face_frame_angle)
    dt_sample = setup.sample_minutes * 60.0
    t_first = setup.spinup_days * 86400.0
    stop = setup.days * 86400.0
    last_day = [0]

    def sample(sim):
        t = sim.clock.time
        if t >= t_first - 1e-6:
            u, v = model.velocity(state)
            ha.add(t, np.concatenate([model.eta(state), ca * u - sa * v, sa * u + ca * v]))
        if progress is not None and t >= (last_day[0] + 1) * 86400.0:
            last_day[0] = int(t // 86400.0)
            progress(t / 86400.0, setup.days, time.perf_counter() - t0)

    sim = Simulation(
        model,
        state,
        stop_time=stop,
        cfl=setup.cfl,
        time_stepper="ssp-rk2",
        callbacks={"harmonics": Callback(sample, TimeInterval(dt_sample))},
    )
    sim.run()
    steps = sim.clock.iteration
    _, z = ha.solve()
    elev, u, v = z[:, :n], z[:, n : 2 * n], z[:, 2 * n :]
    nodes = face_to_node(mesh, np.stack([elev, u, v]))
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    log.info("global tides: %.1f days in %.0f s wall, %d steps, peak RSS %.0f MB", setup.days, wall, steps, rss)
    return GlobalTideResult(mesh, ATLAS_CONSTITUENTS, nodes[0], nodes[1], nodes[2], setup, wall, steps, rss)


def write_atlas(result: GlobalTideResult, path, *, bbox=None) -> Path:
    """Write the atlas NetCDF (float32 amplitudes and phases at nodes, UGRID mesh) to ``path``.

    ``bbox`` = (west, south, east, north) keeps the faces whose nodes all lie in the box (and
    drops faces across the antimeridian, which a lon/lat triangulation cannot hold); None keeps
    every face that does not cross the antimeridian.
    """
    import netCDF4

    mesh = result.mesh
    lon, lat = mesh.node_x, mesh.node_y
    f = mesh.face_node_connectivity
    keep = np.ptp(lon[f], axis=1) < 180.0
    if bbox is not None:
        w, s, e, n = bbox
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        keep &= inside[f].all(axis=1)
    faces = f[keep]
    used = np.unique(faces)
    renum = np.full(mesh.n_node, -1, dtype=np.int64)
    renum[used] = np.arange(used.size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    setup = result.setup
    with netCDF4.Dataset(tmp, "w") as ds:
        ds.createDimension("node", used.size)
        ds.createDimension("nele", faces.shape[0])
        ds.createDimension("nvert", 3)
        ds.createDimension("ncon", len(result.constituents))
        ds.createDimension("nchar", 4)
        m = ds.createVariable("mesh", "i4")
        m.cf_role = "mesh_topology"
        m.topology_dimension = 2
        m.node_coordinates = "lon lat"
        m.face_node_connectivity = "tri"
        for name, vals, units, std in (
            ("lon", lon[used], "degrees_east", "longitude"),
            ("lat", lat[used], "degrees_north", "latitude"),
        ):
            var = ds.createVariable(name, "f8", ("node",))
            var.units = units
            var.standard_name = std
            var[:] = vals
        d = ds.createVariable("depth", "f4", ("node",), zlib=True)
        d.units = "m"
        d.positive = "down"
        d.long_name = "still-water depth of the global mesh below mean sea level"
        d[:] = mesh.depth[used]
        tri = ds.createVariable("tri", "i4", ("nele", "nvert"), zlib=True)
        tri.cf_role = "face_node_connectivity"
        tri.start_index = 0
        tri[:] = renum[faces]
        con = ds.createVariable("constituent", "S1", ("ncon", "nchar"))
        con[:] = netCDF4.stringtochar(np.array([c.ljust(4)[:4] for c in result.constituents], dtype="S4"))
        for key, z, unit, what in (
            ("elev", result.elev, "m", "sea surface elevation"),
            ("u", result.u, "m s-1", "eastward depth-averaged current"),
            ("v", result.v, "m s-1", "northward depth-averaged current"),
        ):
            zz = z[:, used]
            a = ds.createVariable(f"{key}_amp", "f4", ("ncon", "node"), zlib=True, least_significant_digit=4)
            a.units = unit
            a.long_name = f"{what} amplitude"
            a[:] = np.abs(zz)
            p = ds.createVariable(f"{key}_phase", "f4", ("ncon", "node"), zlib=True, least_significant_digit=2)
            p.units = "degree"
            p.long_name = f"{what} Greenwich phase lag"
            p[:] = np.mod(-np.degrees(np.angle(zz)), 360.0)
        ds.title = "coastcast global ocean tide atlas"
        ds.institution = "coastcast"
        ds.source = (
            f"coastcast barotropic tide model on the OceanMesh2D global mesh (ADCIRC test suite): {setup.days:g} days from "
            f"{setup.start.isoformat()}, harmonic analysis of the last {setup.record_days:g} days sampled every "
            f"{setup.sample_minutes:g} min; SAL beta {setup.sal_beta}, C_d {setup.drag_coefficient}, internal-tide drag x "
            f"{setup.internal_tide_scale}"
        )
        ds.inference = "K2 from S2 and P1 from K1: same Greenwich phase lag, equilibrium amplitude ratio"
        ds.phase_convention = "Greenwich phase lag in degrees, time in UTC"
        ds.Conventions = "CF-1.8 UGRID-1.0"
        ds.license = "CC-BY-4.0 (coastcast); the mesh: ADCIRC test suite, OceanMesh2D (see SOURCE.md)"
    tmp.replace(path)
    return path
