"""The numba backend (solver.kernels) against the numpy reference, and face reordering.

Both backends implement the same scheme with the same arithmetic, so on random wet/dry states
their tendencies, time steps and implicit updates agree to round-off (1e-12 relative to each
field's magnitude), on Cartesian and lon/lat meshes, with every boundary condition kind and every
physics term. A subset of the verification catalogue runs with both backends.
"""

import numpy as np
import pytest

import solver.model
from solver.backends import BACKENDS
from solver.boundaries import FreeOutflow, RiverDischarge, TidalElevation, Wall
from solver.builders import rectangle
from solver.connectivity import hilbert_order, node_order_by_faces
from solver.mesh import Mesh, MeshError
from solver.model import ShallowWaterModel
from solver.simulation import Simulation
from solver.state import State
from solver.terms import AtmosphereSample, AtmosphericPressureGradient, Coriolis, ManningFriction, WindStress
from solver.terms.ramp import Ramped
from solver.verification import run_case

pytest.importorskip("numba")

RTOL = 1e-12


class _GradedAtmosphere:
    """Wind and pressure that vary in space and time (so the pressure gradient is not zero)."""

    def __init__(self, mesh):
        x = (mesh.node_x - mesh.node_x.min()) / np.ptp(mesh.node_x)
        y = (mesh.node_y - mesh.node_y.min()) / np.ptp(mesh.node_y)
        self.x, self.y = x, y

    def sample(self, t):
        return AtmosphereSample(
            8.0 + 4.0 * self.y + 1e-4 * t, -3.0 + 6.0 * self.x, 101325.0 - 800.0 * self.x + 300.0 * self.y * self.x
        )


def _meshes():
    def bed(x, y):  # a sloping beach with a bump, dry on the east side
        return (
            6.0 - 9.0 * x / x.max() + 1.5 * np.exp(-((x - 0.4 * x.max()) ** 2 + (y - 0.5 * y.max()) ** 2) / (0.02 * x.max() ** 2))
        )

    cart = rectangle(2000.0, 1000.0, 12, 6, depth=bed)
    diag = rectangle(2000.0, 1000.0, 14, 9, depth=bed, pattern="diagonal")
    # the same cross pattern in lon/lat degrees around 47 N (spherical metric)
    ll = rectangle(0.3, 0.2, 10, 7, x0=-4.0, y0=46.9, depth=lambda x, y: 30.0 - 45.0 * (x + 4.0) / 0.3)
    lonlat = Mesh(ll.node_x, ll.node_y, ll.face_node_connectivity, ll.depth, ll.boundaries, crs="EPSG:4326", name="lonlat")
    return {"cartesian": cart, "diagonal": diag, "lonlat": lonlat}


MESHES = _meshes()


def _conditions(kind):
    tide = TidalElevation(lambda t: 0.3 * np.cos(t / 3000.0))
    tide_uv = TidalElevation(lambda t: 0.2, velocity=lambda t: (0.3, -0.1))
    river = RiverDischarge(lambda t: 40.0 + t / 100.0)
    if kind == "all":  # east stays a wall (the land default)
        return {"west": tide, "south": river, "north": FreeOutflow()}
    return {"west": tide_uv, "north": RiverDischarge(5.0)}


def _model(mesh, backend, riemann, limiter, bcs, terms=True):
    kw = {}
    if terms:
        atm = _GradedAtmosphere(mesh)
        n = np.linspace(0.015, 0.035, mesh.n_face)
        kw = dict(
            friction=ManningFriction(n),
            coriolis=Coriolis() if mesh.crs else Coriolis(f0=1.1e-4, beta=2e-11),
            wind_stress=WindStress(atm),
            atmospheric_pressure=AtmosphericPressureGradient(atm),
        )
    return ShallowWaterModel(
        mesh, boundary_conditions=_conditions(bcs), riemann_solver=riemann, limiter=limiter, backend=backend, **kw
    )


def _random_state(model, seed):
    rng = np.random.default_rng(seed)
    nf = model.mesh.n_face
    eta = rng.uniform(-0.5, 1.0, nf)
    h = np.maximum(eta - model.bed, 0.0)
    h[rng.random(nf) < 0.1] = 0.0  # isolated dry faces in the wet area too
    h[rng.random(nf) < 0.05] = 2e-5  # films thinner than dry_depth
    u = rng.normal(0.0, 0.8, nf)
    v = rng.normal(0.0, 0.8, nf)
    return State(h, h * u, h * v)


def _close(a, b, what):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    scale = max(np.abs(a).max(), 1e-300)
    err = np.abs(a - b).max() / scale
    assert err <= RTOL, f"{what}: relative difference {err:.3e} (scale {scale:.3e})"


@pytest.mark.parametrize("mesh_name", sorted(MESHES))
@pytest.mark.parametrize(
    "riemann, limiter", [("hllc", "barth-jespersen"), ("hll", "barth-jespersen"), ("hllc", None), ("hll", None)]
)
@pytest.mark.parametrize("bcs", ["all", "flather"])
@pytest.mark.parametrize("half_step", [0.0, 4.0])
def test_backends_agree_on_random_states(mesh_name, riemann, limiter, bcs, half_step):
    """The same tendency to round-off, also with the MUSCL–Hancock predictor (``half_step``)."""
    mesh = MESHES[mesh_name]
    ref = _model(mesh, "numpy", riemann, limiter, bcs)
    fast = _model(mesh, "numba", riemann, limiter, bcs)
    for seed in range(3):
        state = _random_state(ref, seed)
        t = 1234.5 * seed
        a = ref.tendency(state, t, half_step=half_step)
        b = fast.tendency(state, t, half_step=half_step)
        assert np.abs(a.h).max() > 0 and np.abs(a.hu).max() > 0
        if half_step and limiter:  # the predictor moved something
            assert np.abs(a.h - ref.tendency(state, t).h).max() > 1e-6 * np.abs(a.h).max()
        for name in ("h", "hu", "hv"):
            _close(getattr(a, name), getattr(b, name), f"{mesh_name} {riemann} {limiter} τ={half_step} d{name}/dt")
        _close(a.boundary_outflow, b.boundary_outflow, "boundary outflow")
        assert fast.stable_dt(state, 0.9) == pytest.approx(ref.stable_dt(state, 0.9), rel=RTOL)
        s_ref, s_fast = state.copy(), state.copy()
        for s in (s_ref, s_fast):
            s.h -= 1e-3  # some slightly negative depths to clip
        ref.apply_implicit(s_ref, 7.0)
        fast.apply_implicit(s_fast, 7.0)
        for name in ("h", "hu", "hv"):
            _close(getattr(s_ref, name), getattr(s_fast, name), f"implicit {name}")
        assert (s_fast.h >= 0).all() and (s_fast.hu[s_fast.h <= fast.dry_depth] == 0).all()


@pytest.mark.parametrize("stepper", ["ssp-rk2", "muscl-hancock"])
def test_backends_agree_over_a_run(stepper):
    """Sixty adaptive steps of a tide flooding the beach give the same state."""
    mesh = MESHES["lonlat"]
    states = {}
    for backend in ("numpy", "numba"):
        model = _model(mesh, backend, "hllc", "barth-jespersen", "all")
        sim = Simulation(model, model.initial_state(0.0), stop_time=1e9, time_stepper=stepper)
        for _ in range(60):
            sim.time_step(sim.next_dt())
        states[backend] = (sim.state, sim.clock.time, sim.boundary_outflow)
    a, b = states["numpy"], states["numba"]
    assert a[1] == pytest.approx(b[1], rel=1e-12)
    for name in ("h", "hu", "hv"):
        _close(getattr(a[0], name), getattr(b[0], name), f"state {name} after 60 steps")
    _close(a[2], b[2], "outflow volume")


def _every_kernel():
    from solver.kernels import fluxes, ghosts, lts, reconstruct, update
    from solver.kernels.dispatch import Kernel

    return [k for mod in (fluxes, ghosts, lts, reconstruct, update) for k in vars(mod).values() if isinstance(k, Kernel)]


@pytest.mark.parametrize("stepper", ["ssp-rk2", "lts-rk2", "muscl-hancock"])
def test_threaded_and_serial_twins_give_the_same_run(stepper, monkeypatch):
    """Every kernel is compiled twice (solver.kernels.dispatch): runs that take only the threaded
    versions and only the serial ones end bit for bit equal (40 steps of a tide flooding the
    beach, global and local steps, the local levels forced on with ``min_saving=0``)."""
    import solver.kernels.dispatch as dispatch
    from solver.local_timestepping import LocalSSPRK2

    kernels = _every_kernel()
    assert len(kernels) >= 19 and sum(k.parallel is not None for k in kernels) >= 17
    mesh = MESHES["diagonal"]
    out = {}
    for which in ("serial", "parallel"):
        with monkeypatch.context() as m:
            if which == "parallel":  # the threaded twin whatever the loop length and thread count
                m.setattr(dispatch, "kernel_threads", lambda: 2)
                for k in kernels:
                    if k.parallel is not None:  # the serial-only kernels (a scatter, a reduction) have no twin
                        m.setattr(k, "serial_below", 0)
                        m.setattr(k, "serial", None)  # a call that reached it would fail
            else:
                for k in kernels:
                    m.setattr(k, "parallel", None)
            model = _model(mesh, "numba", "hllc", "barth-jespersen", "all")
            sim = Simulation(model, model.initial_state(0.0), stop_time=1e9, time_stepper=stepper)
            if stepper == "lts-rk2":
                sim.stepper = LocalSSPRK2(mesh.n_face, min_saving=0.0)
            for _ in range(40):
                sim.time_step(sim.next_dt())
            if stepper == "lts-rk2":
                assert (sim.stepper.level_counts > 0).sum() >= 2  # the levels are in use
            out[which] = (sim.state.copy(), sim.clock.time)
    a, b = out["serial"], out["parallel"]
    assert a[1] == b[1] and a[0].h.max() > 0
    for name in ("h", "hu", "hv"):
        np.testing.assert_array_equal(getattr(a[0], name), getattr(b[0], name))


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_lake_at_rest_is_exact_with_every_backend(backend):
    """Still water over a bumpy bed with dry land: the tendency is exactly zero in every face."""
    mesh = MESHES["lonlat"]
    model = ShallowWaterModel(mesh, friction=ManningFriction(0.02), backend=backend)
    assert model.backend.name == backend and type(model.backend) is BACKENDS[backend]
    state = model.initial_state(0.0)
    assert (state.h == 0).any() and (state.h > 0).any()
    for half_step in (0.0, 5.0):  # also through the MUSCL–Hancock predictor
        k = model.tendency(state, 0.0, half_step=half_step)
        assert np.abs(k.h).max() == 0.0
        assert np.abs(k.hu).max() == 0.0 and np.abs(k.hv).max() == 0.0


def test_numba_is_the_default_and_bad_backend_is_named():
    mesh = MESHES["cartesian"]
    assert ShallowWaterModel(mesh).backend.name == "numba"
    with pytest.raises(ValueError, match="unknown backend 'fortran'; choose one of numpy, numba"):
        ShallowWaterModel(mesh, backend="fortran")


class _PythonWall(Wall):
    """A wall whose ghost the backends must call in Python (no compiled kernel named)."""

    ghost_kernel = None


def test_terms_and_conditions_bring_their_own_behaviour():
    """The numba backend asks each term and condition what it does, not what it is: Coriolis
    offers a compiled source and joins the accumulation pass; the same Coriolis inside a ramp
    (past its ramp, factor exactly 1) offers none and runs in Python; a wall that names no ghost
    kernel runs its Python ghost. All give the numpy reference's tendency to round-off."""
    mesh = MESHES["lonlat"]
    bcs = {"west": TidalElevation(lambda t: 0.3), "south": RiverDischarge(30.0)}
    ref = ShallowWaterModel(mesh, boundary_conditions=bcs, coriolis=Coriolis(), backend="numpy")
    fused = ShallowWaterModel(mesh, boundary_conditions=bcs, coriolis=Coriolis(), backend="numba")
    python = ShallowWaterModel(
        mesh, boundary_conditions={**bcs, "east": _PythonWall()}, coriolis=Ramped(Coriolis(), 1.0), backend="numba"
    )
    assert fused.backend.rotation_rate.shape == (mesh.n_face,) and fused.backend.python_terms == []
    assert python.backend.rotation_rate.size == 0 and len(python.backend.python_terms) == 1
    assert any(bc is python.boundary_conditions["east"] for bc, _, _ in python.backend.ghost_groups)
    f = 2.0 * 7.2921159e-5 * np.sin(np.deg2rad(mesh.face_lonlat[1]))
    np.testing.assert_allclose(fused.backend.rotation_rate, f, rtol=1e-15)
    state = _random_state(ref, 11)
    a = ref.tendency(state, 50.0)
    for model in (fused, python):
        b = model.tendency(state, 50.0)
        for name in ("h", "hu", "hv", "boundary_outflow"):
            _close(getattr(a, name), getattr(b, name), f"d{name}/dt")


def test_dry_dry_edges_with_subnormal_momentum_stay_finite():
    """Edge depths zero on both sides with subnormal velocities (momentum decayed under friction):
    zero flux. The plain HLL formulas give 0 × 1/den with den subnormal, i.e. 0 × inf = NaN."""
    from solver.kernels.fluxes import HLL, HLLC, edge_fluxes

    # rows: (eta, h, u, v); edge 0 between rows 0|1, edge 1 between rows 2|3 (wet reference)
    ev = np.array([[0.5, 0.0, 1e-321, -1e-321], [0.7, 0.0, -1e-321, 1e-321], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    normal = np.array([[1.0, 0.0], [0.6, 0.8]])
    for solver_code in (HLL, HLLC):
        flux = np.full((2, 4), np.nan)
        edge_fluxes(
            np.arange(2, dtype=np.int32),
            ev,
            np.array([0, 2], dtype=np.int32),
            np.array([1, 3], dtype=np.int32),
            normal,
            normal,
            9.81,
            solver_code,
            flux,
        )
        assert np.array_equal(flux[0], np.zeros(4))
        # lake at rest across edge 1: no mass flux, momentum deviation exactly zero
        assert flux[1, 0] == 0.0 and flux[1, 1] == 0.0 and flux[1, 3] == 0.0


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("lake-at-rest", {"geographic": True, "steps": 200}),
        ("conservation", {"steps": 200}),
        ("thacker", {"n": 16, "periods": 0.5}),
    ],
)
def test_verification_subset(backend, name, kwargs, monkeypatch):
    monkeypatch.setattr(solver.model, "default_backend", lambda: backend)
    result = run_case(name, **kwargs)
    failed = {k: (m.value, m.bound) for k, m in result.metrics.items() if not m.passed}
    assert not failed, f"{name} with {backend}: {failed}"


def test_hilbert_order_visits_grid_cells_one_step_at_a_time():
    X, Y = np.meshgrid(np.arange(16), np.arange(16))
    x, y = X.ravel() + 0.5, Y.ravel() + 0.5
    p = hilbert_order(x, y, bits=4)
    assert np.array_equal(np.sort(p), np.arange(256))
    steps = np.abs(np.diff(x[p])) + np.abs(np.diff(y[p]))
    assert (steps == 1.0).all()


def test_reordered_mesh_gives_the_permuted_tendency():
    mesh = MESHES["lonlat"]
    fp = hilbert_order(mesh.face_x, mesh.face_y)
    npm = node_order_by_faces(mesh.face_node_connectivity[fp], mesh.n_node)
    re = mesh.reordered(fp, npm)
    assert re.n_face == mesh.n_face and re.boundaries[0].name == mesh.boundaries[0].name
    np.testing.assert_allclose(re.face_area, mesh.face_area[fp], rtol=1e-14)
    a_model = _model(mesh, "numba", "hllc", "barth-jespersen", "all", terms=False)
    b_model = _model(re, "numba", "hllc", "barth-jespersen", "all", terms=False)
    state = _random_state(a_model, 5)
    ka = a_model.tendency(state, 10.0)
    ref = (ka.h.copy(), ka.hu.copy(), ka.hv.copy(), ka.boundary_outflow.copy())
    kb = b_model.tendency(State(state.h[fp], state.hu[fp], state.hv[fp]), 10.0)
    _close(ref[0][fp], kb.h, "reordered dh/dt")
    _close(ref[1][fp], kb.hu, "reordered dhu/dt")
    _close(ref[3], kb.boundary_outflow, "reordered outflow")
    with pytest.raises(MeshError, match="face_permutation must be a permutation"):
        mesh.reordered(np.zeros(mesh.n_face, dtype=int))


def test_threads_follow_the_cores_the_process_owns():
    """A process pinned to one core runs its kernels on one thread (no oversubscription); the
    OpenMP threads spin for a bounded time unless the user chose a wait policy or a spin count."""
    import subprocess
    import sys

    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from solver.kernels import owned_cores, use_threads; import numba; "
        "print(owned_cores(), use_threads(), numba.get_num_threads(), os.environ.get('GOMP_SPINCOUNT'), "
        "os.environ.get('OMP_WAIT_POLICY'))"
    )
    base = {k: v for k, v in __import__("os").environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base, check=True).stdout.split()
    assert out == ["1", "1", "1", "10000000", "None"]
    mine = dict(base, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=mine, check=True).stdout.split()
    assert out[3:] == ["None", "PASSIVE"]


THREADS_BEFORE_NUMBA = """
import json, sys
from solver.kernels import kernel_threads, use_threads
out = [kernel_threads(), use_threads(1), kernel_threads(), "numba" in sys.modules]
from solver.kernels.jit import numba_ready
numba = numba_ready()
out += [kernel_threads(), numba.get_num_threads(), use_threads(5), numba.get_num_threads(), use_threads(1), kernel_threads()]
print(json.dumps(out))
"""


def test_one_thread_is_chosen_without_numba_and_handed_to_it_later():
    """solver.kernels.threads: with a pool of two (``NUMBA_NUM_THREADS=2``) the kernels may use
    two threads; choosing one does not import numba, and numba, imported afterwards, runs the
    kernels of that thread on one; more than the pool is never set."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", THREADS_BEFORE_NUMBA], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == [2, 1, 1, False, 1, 1, 2, 2, 1, 1]


TWO_THREAD_FLUXES = """
import numpy as np, numba
from solver.kernels import fluxes
numba.set_num_threads(2)
rng = np.random.default_rng(7)
n_edge, n_slot = 6000, 9000  # 24 blocks of 256 edges: both threads run several
eta = rng.uniform(-1.0, 2.0, n_slot)
h = np.where(rng.random(n_slot) < 0.2, 0.0, rng.uniform(0.0, 30.0, n_slot))  # dry sides too
ev = np.column_stack([eta, h, rng.normal(0, 1, n_slot), rng.normal(0, 1, n_slot)])
left, right = (rng.integers(0, n_slot, n_edge).astype(np.int32) for _ in range(2))
a = rng.uniform(0, 2 * np.pi, n_edge)
normal = np.column_stack([np.cos(a), np.sin(a)])
normal_right = np.column_stack([np.cos(a + 0.01), np.sin(a + 0.01)])
edges = np.sort(rng.choice(n_edge, 5000, replace=False)).astype(np.int32)
args = lambda out: (edges, ev, left, right, normal, normal_right, 9.81, fluxes.HLLC, out)
serial = np.zeros((n_edge, 4)); fluxes.edge_fluxes.serial(*args(serial))
same = True
for _ in range(20):
    threaded = np.full((n_edge, 4), np.nan); fluxes.edge_fluxes.parallel(*args(threaded))
    same &= np.array_equal(threaded[edges], serial[edges])
print(numba.get_num_threads(), same, int(np.count_nonzero(serial[edges, 0])))
"""


def test_flux_blocks_stay_private_to_each_thread():
    """The flux pass works on blocks of edges gathered into scratch rows (solver.kernels.fluxes):
    on two threads each block's scratch must be its own thread's (numba hoists the allocation to
    each worker), or the threaded twin would mix blocks. Twenty threaded passes over 5,000 edges
    in a two-thread process give the serial twin's fluxes bit for bit."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["NUMBA_NUM_THREADS"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", TWO_THREAD_FLUXES], capture_output=True, text=True, env=env, timeout=300, check=True
    ).stdout.split()
    assert out[:2] == ["2", "True"], out
    assert int(out[2]) > 2500  # most edges carry water: the comparison is not of zeros
