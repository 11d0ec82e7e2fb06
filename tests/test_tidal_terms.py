"""Terms of the global tide model (tidal potential, self-attraction and loading, internal-tide
drag, quadratic friction) and the ADCIRC nodal attribute reader: hand-computed values, analytic
solutions, and the equilibrium tide against lunar and solar ephemerides."""

from __future__ import annotations

import gzip
import math
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pytest

from solver.formats import MeshFileError
from solver.formats.fort13 import read_fort13
from solver.geometry import EARTH_RADIUS
from solver.mesh import Mesh
from solver.state import State
from solver.terms import InternalTideDrag, QuadraticFriction, SelfAttractionLoading, TidalPotential
from solver.terms.tidal import EQUILIBRIUM_TIDE, face_neighbour_pairs
from workflows.forcing.tides import AstronomicalArguments, modified_julian_day

EIGHT = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1")
G = 9.81


def stub_arguments():
    """M2 and K1 with round numbers, for values worked out by hand."""
    return SimpleNamespace(
        constituents=("M2", "K1"),
        omega=np.array([1.405189e-4, 7.292117e-5]),
        phase0=np.array([0.3, 1.1]),
        f=np.array([1.02, 0.95]),
    )


def point_mesh(lon, lat, angle=None):
    """A stand-in for a mesh with faces centred at (lon, lat) degrees (and frame angles, rad)."""
    lon, lat = np.atleast_1d(np.asarray(lon, float)), np.atleast_1d(np.asarray(lat, float))
    m = SimpleNamespace(n_face=lon.size, face_lonlat=(lon, lat))
    if angle is not None:
        m.face_frame_angle = np.broadcast_to(np.asarray(angle, float), lon.shape)
    return m


# -- tidal potential: hand values --------------------------------------------------------------
def test_equilibrium_tide_hand_value():
    tp = TidalPotential(stub_arguments())
    # 30 E, 45 N, one hour in: χ = ω t + phase0 + s λ
    chi_m2 = 1.405189e-4 * 3600 + 0.3 + 2 * math.pi / 6  # 1.853066 rad
    chi_k1 = 7.292117e-5 * 3600 + 1.1 + math.pi / 6  # 1.886115 rad
    m2 = 0.693 * 1.02 * 0.242334 * 0.5 * math.cos(chi_m2)  # cos²45° = 0.5: -0.023856 m
    k1 = 0.736 * 0.95 * 0.141565 * 1.0 * math.cos(chi_k1)  # sin 90° = 1: -0.030696 m
    assert m2 + k1 == pytest.approx(-0.0545524, abs=1e-7)
    assert tp.elevation(30.0, 45.0, 3600.0) == pytest.approx([m2 + k1], abs=1e-12)
    # the gradient: east (1/(R cos φ)) ∂λ, north (1/R) ∂φ of C cos²φ cos χ and C sin 2φ cos χ
    cm, ck, phi = 0.693 * 1.02 * 0.242334, 0.736 * 0.95 * 0.141565, math.pi / 4
    east = (-cm * 2 * math.cos(phi) * math.sin(chi_m2) - ck * 2 * math.sin(phi) * math.sin(chi_k1)) / EARTH_RADIUS
    north = (-cm * math.sin(2 * phi) * math.cos(chi_m2) + ck * 2 * math.cos(2 * phi) * math.cos(chi_k1)) / EARTH_RADIUS
    assert east == pytest.approx(-5.74074e-8, rel=1e-5)
    gx, gy = tp.gradient(point_mesh(30.0, 45.0), 3600.0)
    assert gx[0] == pytest.approx(east, rel=1e-12)
    assert gy[0] == pytest.approx(north, rel=1e-12)
    # the momentum source +g h ∇η_eq on a wet face of depth 4000 m, nothing on a dry one
    model = SimpleNamespace(mesh=point_mesh([30.0, 30.0], [45.0, 45.0]), gravity=G)
    h = np.array([4000.0, 0.0])
    sx, sy = tp.momentum_tendency(model, h, np.zeros(2), np.zeros(2), np.array([True, False]), 3600.0)
    assert sx == pytest.approx([G * 4000.0 * east, 0.0], rel=1e-12)
    assert sy == pytest.approx([G * 4000.0 * north, 0.0], rel=1e-12)


def test_gradient_is_the_derivative_of_the_elevation_in_every_face_frame():
    args = AstronomicalArguments.for_run(EIGHT, datetime(2024, 3, 1, tzinfo=timezone.utc), timedelta(days=30))
    tp = TidalPotential(args)
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-180, 360, 300), rng.uniform(-88, 88, 300)
    angle = rng.uniform(-np.pi, np.pi, 300)
    t, d = 51234.0, 1e-4
    east = (tp.elevation(lon + d, lat, t) - tp.elevation(lon - d, lat, t)) / (
        2 * np.radians(d) * EARTH_RADIUS * np.cos(np.radians(lat))
    )
    north = (tp.elevation(lon, lat + d, t) - tp.elevation(lon, lat - d, t)) / (2 * np.radians(d) * EARTH_RADIUS)
    gx, gy = tp.gradient(point_mesh(lon, lat, angle), t)
    scale = np.hypot(east, north).max()
    # frame components of the geographic vector: u' = cos a e + sin a n, v' = −sin a e + cos a n
    assert np.abs(gx - (np.cos(angle) * east + np.sin(angle) * north)).max() < 1e-7 * scale
    assert np.abs(gy - (-np.sin(angle) * east + np.cos(angle) * north)).max() < 1e-7 * scale
    # finite at the poles, and the same vector however the pole face is labelled in longitude
    gx, gy = tp.gradient(point_mesh([0.0, 90.0, 0.0], [90.0, 90.0, -90.0], [0.0, np.pi / 2, 0.0]), t)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    assert np.hypot(gx[0], gy[0]) == pytest.approx(np.hypot(gx[1], gy[1]), rel=1e-12)
    # a subset of faces gives the same numbers as the full call
    mesh = point_mesh(lon, lat, angle)
    model = SimpleNamespace(mesh=mesh, gravity=G)
    h = rng.uniform(10, 5000, 300)
    wet = rng.uniform(size=300) > 0.1
    full = tp.momentum_tendency(model, h, h * 0, h * 0, wet, t)
    faces = np.array([5, 17, 299, 0])
    part = tp.momentum_tendency(model, h, h * 0, h * 0, wet, t, faces=faces)
    assert np.array_equal(part[0], full[0][faces]) and np.array_equal(part[1], full[1][faces])


def test_constituent_selection_and_love_factors():
    args = SimpleNamespace(
        constituents=("M4", "m2", "Z0", "O1"),
        omega=np.array([2.8e-4, 1.405189e-4, 0.0, 6.759774e-5]),
        phase0=np.zeros(4),
        f=np.ones(4),
    )
    tp = TidalPotential(args)
    assert tp.constituents == ("M2", "O1")
    assert tp.amplitude == pytest.approx([0.693 * 0.242334, 0.695 * 0.100514])
    assert TidalPotential(args, love_factor=1.0).amplitude == pytest.approx([0.242334, 0.100514])
    assert TidalPotential(args, love_factor={"o1": 0.7}).amplitude == pytest.approx([0.693 * 0.242334, 0.7 * 0.100514])
    with pytest.raises(ValueError, match="none of the constituents M4, Z0 has an equilibrium tide"):
        TidalPotential(SimpleNamespace(constituents=("M4", "Z0"), omega=np.ones(2), phase0=np.zeros(2), f=np.ones(2)))
    with pytest.raises(ValueError, match="needs a geographic mesh"):
        tp.gradient(SimpleNamespace(n_face=1, face_lonlat=None), 0.0)


# -- tidal potential against lunar and solar ephemerides ------------------------------------------
MOON_EARTH_MASS = 0.0123000371  # IAU 2009 system of astronomical constants
SUN_EARTH_MASS = 332946.0487


def body_species(ratio, position):
    """The degree-2 equilibrium tide of one body, ζ = (M_b/M_E)(R⁴/d³) P2(cos ψ) (that is (GM_b/g)(R²/d³)
    P2 with g = GM_E/R²), split by species: complex (3, n_t) c_s with ζ_s = Re(c_s e^{isλ}) Φ_s(φ),
    Φ_0 = 3 sin²φ − 1, Φ_1 = sin 2φ, Φ_2 = cos²φ. ``position``: (x, y, z) Earth-fixed, m, (n_t,) each.

    With cos ψ = sin φ sin δ + cos φ cos δ cos(λ − λ_b): P2 = ¼(3 sin²δ − 1)(3 sin²φ − 1)
    + ¾ sin 2δ sin 2φ cos(λ − λ_b) + ¾ cos²δ cos²φ cos 2(λ − λ_b).
    """
    x, y, z = (np.asarray(c, float) for c in position)
    d = np.sqrt(x * x + y * y + z * z)
    sin_dec, cos_dec = z / d, np.hypot(x, y) / d
    k = ratio * EARTH_RADIUS**4 / d**3
    e = np.exp(-1j * np.arctan2(y, x))  # e^{−iλ_b}
    return np.stack([k * 0.25 * (3 * sin_dec**2 - 1) + 0j, k * e * 0.75 * 2 * sin_dec * cos_dec, k * e * e * 0.75 * cos_dec**2])


def ephemeris_species(mjd):
    """:func:`body_species` of Moon plus Sun at ``mjd`` (n_t,), from pyTMD's ephemerides."""
    import pyTMD.astro

    return body_species(MOON_EARTH_MASS, pyTMD.astro.lunar_ecef(mjd)) + body_species(SUN_EARTH_MASS, pyTMD.astro.solar_ecef(mjd))


def on_points(species, lon, lat):
    """ζ_s at points: (3, n_t, n_pt) from complex (3, n_t) ``species`` and lon, lat degrees (n_pt,)."""
    lam, phi = np.radians(lon), np.radians(lat)
    shape = np.stack([3 * np.sin(phi) ** 2 - 1, np.sin(2 * phi), np.cos(phi) ** 2])
    return np.real(species[:, :, None] * np.exp(1j * np.arange(3)[:, None, None] * lam)) * shape[:, None, :]


def test_species_split_adds_up_to_p2():
    import pyTMD.astro

    mjd = 60370.0 + np.arange(0.0, 2.0, 0.1)
    x, y, z = (np.asarray(c, float) for c in pyTMD.astro.lunar_ecef(mjd))
    lon, lat = np.array([0.0, 77.0, -120.0]), np.array([10.0, -50.0, 80.0])
    lam, phi = np.radians(lon), np.radians(lat)
    d = np.sqrt(x * x + y * y + z * z)
    r = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    cos_psi = (x[:, None] * r[0] + y[:, None] * r[1] + z[:, None] * r[2]) / d[:, None]
    direct = MOON_EARTH_MASS * EARTH_RADIUS**4 / d[:, None] ** 3 * 0.5 * (3 * cos_psi**2 - 1)
    split = on_points(body_species(MOON_EARTH_MASS, (x, y, z)), lon, lat).sum(axis=0)
    assert np.abs(split - direct).max() < 1e-12


def test_equilibrium_tide_matches_lunar_and_solar_ephemerides():
    """The eight-constituent η_eq (1 + k − h set to 1: the astronomical equilibrium tide) against
    the diurnal + semidiurnal part of the degree-2 tide computed from the positions of Moon and
    Sun, over 30 days at six points.

    The difference is what the eight leave out. Over a year (2024) they leave an RMS of 1.13 cm ×
    cos²φ in the semidiurnal band and 1.40 cm × |sin 2φ| in the diurnal against these
    ephemerides: the omitted lines (2N2, MU2, NU2, L2, T2; J1, M1, OO1, RHO1, 2Q1 and smaller
    ones), the table's amplitudes (within 0.4 % of the ephemerides') and the ephemerides' Earth
    rotation angle, 0.28° ahead of the arguments' (about the 69 s of TT − UT1). In 30-day windows
    these range over 0.81–1.35 cm and 1.21–1.57 cm; the bound takes the upper ends plus 2 mm.
    """
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    t = np.arange(0.0, 30 * 86400.0, 1800.0)
    args = AstronomicalArguments.for_run(EIGHT, start, timedelta(days=30))
    tp = TidalPotential(args, love_factor=1.0)
    lon = np.array([0.0, 30.0, -70.0, 150.0, 200.0, -150.0])
    lat = np.array([0.0, 45.0, -30.0, 60.0, 10.0, -75.0])
    zeta = on_points(ephemeris_species(modified_julian_day(start) + t / 86400.0), lon, lat)
    tidal = zeta[1] + zeta[2]  # the long-period species (s = 0) is no part of the eight
    model = tp.elevation(lon, lat, t)
    phi = np.radians(lat)
    bound = np.hypot(0.0135 * np.cos(phi) ** 2, 0.0157 * np.sin(2 * phi)) + 0.002
    for j in range(lon.size):
        corr = np.corrcoef(model[:, j], tidal[:, j])[0, 1]
        rms = np.sqrt(np.mean((model[:, j] - tidal[:, j]) ** 2))
        assert corr >= 0.97, (lon[j], lat[j], corr)
        assert rms <= bound[j], (lon[j], lat[j], rms, bound[j])


def test_each_constituent_recovered_from_a_year_of_ephemerides():
    """Least squares on a year of the ephemeris tide, species by species, with the eight and the
    next ten constituents: every one of the eight comes back with the table's amplitude (within
    1 %) and with the phase of the run's arguments (within 1°), the diurnals included, which fixes
    the ±90° of their V0 and the sign of sin 2φ."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    t = np.arange(0.0, 370 * 86400.0, 3600.0)
    minor = {2: ("2N2", "MU2", "NU2", "L2", "T2"), 1: ("J1", "M1", "OO1", "RHO1", "2Q1")}
    species = ephemeris_species(modified_julian_day(start) + t / 86400.0)
    for s in (1, 2):
        names = tuple(c for c in EIGHT if EQUILIBRIUM_TIDE[c].species == s) + minor[s]
        args = AstronomicalArguments.for_run(names, start, timedelta(days=370))
        basis = args.f * np.exp(1j * args.angles(t))  # (n_t, n_con)
        fit, *_ = np.linalg.lstsq(basis, species[s], rcond=None)
        for name, a in zip(names, fit):
            if name in EQUILIBRIUM_TIDE:
                assert abs(a) == pytest.approx(EQUILIBRIUM_TIDE[name].amplitude, rel=0.01), name
                assert abs(np.degrees(np.angle(a))) < 1.0, name


# -- self-attraction and loading ------------------------------------------------------------------
def grid_mesh(n=5, dx=1000.0, depth=20.0, x0=0.0, y0=0.0, crs=None):
    """n × n nodes, dx apart, every square split along the same diagonal."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x, y = x0 + dx * i.ravel(), y0 + dx * j.ravel()
    node = np.arange(n * n).reshape(n, n)
    a, b, c, d = node[:-1, :-1].ravel(), node[1:, :-1].ravel(), node[1:, 1:].ravel(), node[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return Mesh(x.astype(float), y.astype(float), faces, np.full(n * n, depth), crs=crs)


def test_sal_of_a_linear_surface_is_exact():
    mesh = grid_mesh()
    model = SimpleNamespace(mesh=mesh, bed=-np.asarray(mesh.face_depth, float), gravity=G)
    xc, yc = mesh.face_x, mesh.face_y
    h = 0.5 + 2e-4 * xc - 1e-4 * yc + 20.0  # η = h + z_b, z_b = −20 m
    wet = np.ones(mesh.n_face, bool)
    sal = SelfAttractionLoading(beta=0.1)
    sx, sy = sal.momentum_tendency(model, h, h * 0, h * 0, wet, 0.0)
    # every face, the boundary ones included: g β h ∇η with ∇η = (2e-4, −1e-4)
    assert sx == pytest.approx(G * 0.1 * h * 2e-4, rel=1e-9)
    assert sy == pytest.approx(G * 0.1 * h * -1e-4, rel=1e-9)
    # by hand on face 0, centroid (666.67, 333.33) m: 9.81 × 0.1 × (0.5 + 0.13333 − 0.03333 + 20) × 2e-4
    assert sx[0] == pytest.approx(9.81 * 0.1 * 20.6 * 2e-4, rel=1e-9)
    # a dry face gets nothing, nor do the faces whose stencil (faces sharing a node) holds it
    wet[0] = False
    h[0] = 0.0
    sx2, sy2 = sal.momentum_tendency(model, h, h * 0, h * 0, wet, 0.0)
    fi, ni = face_neighbour_pairs(mesh)
    near = np.union1d([0], ni[fi == 0])
    assert np.all(sx2[near] == 0.0) and np.all(sy2[near] == 0.0)
    far = np.setdiff1d(np.arange(mesh.n_face), near)
    assert sx2[far] == pytest.approx(sx[far], rel=1e-12) and far.size > 0
    # subsets give the same numbers
    faces = np.array([3, 0, 20])
    px, py = sal.momentum_tendency(model, h, h * 0, h * 0, wet, 0.0, faces=faces)
    assert np.array_equal(px, sx2[faces]) and np.array_equal(py, sy2[faces])


def test_sal_gradient_on_the_sphere_in_rotated_face_frames():
    """η = c · p (p the unit position vector) has the tangential gradient (c − (c·p) p)/R; its
    components on each face frame's axes come back within Δx/(2R) (the field's curvature across
    the stencil, seen in the tangent plane): 8.7 × 10⁻⁴ for Δx = 0.1°."""
    geo = grid_mesh(n=8, dx=0.1, x0=-10.0, y0=40.0, crs="EPSG:4326")
    rng = np.random.default_rng(7)
    angle = rng.uniform(-np.pi, np.pi, geo.n_face)
    mesh = SimpleNamespace(
        n_face=geo.n_face,
        n_node=geo.n_node,
        face_node_connectivity=geo.face_node_connectivity,
        is_geographic=True,
        face_lonlat=geo.face_lonlat,
        face_frame_angle=angle,
    )
    lam, phi = np.radians(geo.face_lonlat[0]), np.radians(geo.face_lonlat[1])
    p = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], -1)
    c = np.array([0.3, -1.2, 0.8])
    east = np.stack([-np.sin(lam), np.cos(lam), 0 * lam], -1)
    north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], -1)
    ge, gn = east @ c / EARTH_RADIUS, north @ c / EARTH_RADIUS
    bed = np.full(geo.n_face, -4000.0)
    model = SimpleNamespace(mesh=mesh, bed=bed, gravity=G)
    gx, gy = SelfAttractionLoading().surface_gradient(model, p @ c - bed, np.ones(geo.n_face, bool))
    scale = np.hypot(ge, gn).max()
    tol = np.radians(0.1) / 2 * scale
    assert np.abs(gx - (np.cos(angle) * ge + np.sin(angle) * gn)).max() < tol
    assert np.abs(gy - (-np.sin(angle) * ge + np.cos(angle) * gn)).max() < tol


# -- internal-tide drag ----------------------------------------------------------------------------
NODE_1 = (1.821235654e-05, 1.103029498e-05, 1.417348457e-05)  # fort.13 internal_tide_friction, node 1


def test_internal_tide_drag_hand_value_and_rotation():
    xx, yy, xy = NODE_1
    angle = np.array([0.0, 0.7, -2.0])
    drag = InternalTideDrag(np.full(3, xx), np.full(3, yy), np.full(3, xy))
    assert drag.max_rate == pytest.approx(xx + yy, rel=1e-6)  # rank one: xy² = xx yy
    model = SimpleNamespace(mesh=point_mesh(np.zeros(3), np.zeros(3), angle))
    h = np.full(3, 100.0)
    ue, vn = 0.1, -0.05  # geographic east/north velocity
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * ue + s * vn, -s * ue + c * vn
    sx, sy = drag.momentum_tendency(model, h, u, v, np.ones(3, bool), 0.0)
    # by hand, in the geographic frame: −F·(hu) = −(xx·10 + xy·(−5), xy·10 + yy·(−5))
    east, north = -(xx * 10 - xy * 5), -(xy * 10 - yy * 5)
    assert east == pytest.approx(-1.112561e-4, rel=1e-6)
    assert sx[0] == pytest.approx(east, rel=1e-12) and sy[0] == pytest.approx(north, rel=1e-12)
    # F' = R F Rᵀ: the frame components of the same geographic vector
    assert sx == pytest.approx(c * east + s * north, rel=1e-12)
    assert sy == pytest.approx(-s * east + c * north, rel=1e-12)
    # dry faces carry no drag; subsets give the same numbers
    sx, sy = drag.momentum_tendency(model, h, u, v, np.array([True, False, True]), 0.0, faces=np.array([1, 2]))
    assert sx[0] == 0.0 and sy[0] == 0.0 and sx[1] != 0.0


def test_internal_tide_drag_from_nodes():
    x = np.array([0.0, 1.0, 1.0, 0.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    mesh = Mesh(x, y, np.array([[0, 1, 2], [0, 2, 3]]), np.full(4, 100.0))
    tensor = np.array([NODE_1, (0.0, 0.0, 0.0), (3e-6, 1e-6, -np.sqrt(3e-12)), (1e-6, 4e-6, 2e-6)])
    drag = InternalTideDrag.from_nodes(mesh, tensor)
    assert drag.fxx == pytest.approx([(NODE_1[0] + 3e-6) / 3, (NODE_1[0] + 3e-6 + 1e-6) / 3])
    assert drag.fxy == pytest.approx([(NODE_1[2] - np.sqrt(3e-12)) / 3, (NODE_1[2] - np.sqrt(3e-12) + 2e-6) / 3])
    with pytest.raises(ValueError, match=r"must be \(n_node, 3\) = \(4, 3\)"):
        InternalTideDrag.from_nodes(mesh, tensor[:3])
    with pytest.raises(ValueError, match="has 2 faces but the mesh has 3"):
        drag.frame_tensor(point_mesh(np.zeros(3), np.zeros(3)))


# -- quadratic friction ----------------------------------------------------------------------------
def test_quadratic_friction_follows_the_analytic_decay():
    """du/dt = −C_d u²/h at constant h: u(t) = u0 / (1 + C_d u0 t / h), for any step."""
    cd, depth = 0.0025, np.array([2.0, 10.0, 50.0, 0.0])
    u0, v0 = np.array([1.5, -0.8, 0.3, 0.0]), np.array([0.5, 0.6, 0.0, 0.0])
    speed0 = np.hypot(u0, v0)
    state = State(depth.copy(), depth * u0, depth * v0)
    model = SimpleNamespace(dry_depth=1e-4)
    friction = QuadraticFriction(cd)
    t = 0.0
    for dt in (10.0, 250.0, 3.0, 1000.0, 600.0):
        friction.implicit_update(model, state, dt)
        t += dt
        speed = speed0[:3] / (1 + cd * speed0[:3] * t / depth[:3])
        assert np.hypot(state.hu[:3], state.hv[:3]) / depth[:3] == pytest.approx(speed, rel=1e-12)
    # the direction is kept; the dry face is left alone
    assert state.hv[:3] / state.hu[:3] == pytest.approx(v0[:3] / u0[:3], rel=1e-12)
    assert state.hu[3] == 0.0 and state.hv[3] == 0.0
    # by hand: 1 m/s in 10 m of water with C_d = 0.0025 for 1000 s: 1 / (1 + 0.25) = 0.8 m/s
    s = State(np.array([10.0]), np.array([10.0]), np.array([0.0]))
    QuadraticFriction(np.array([0.0025])).implicit_update(model, s, 1000.0)
    assert s.hu[0] == pytest.approx(8.0, rel=1e-14)


# -- fort.13 -----------------------------------------------------------------------------------------
FORT13 = """\
OceanMesh2D
6
2
internal_tide_friction
local_dir, C_it =1.5,Nb, D250
3
0.000000000e+00 0.000000000e+00 0.000000000e+00 
quadratic_friction_coefficient_at_sea_floor
unitless
1
2.500000000e-03 
internal_tide_friction
3
1 1.821235654e-05 1.103029498e-05 1.417348457e-05
2 1.709491797e-05 1.261226002e-05 -1.468351288e-05
5 6.170459046e-07 5.419184243e-07 5.782633866e-07
quadratic_friction_coefficient_at_sea_floor
2
4 5.000000000e-03
6 5.0D-03
"""


@pytest.mark.parametrize("compress", [False, True])
def test_fort13_reads_the_global_mesh_layout(tmp_path, compress):
    path = tmp_path / ("fort.13.gz" if compress else "fort.13")
    path.write_bytes(gzip.compress(FORT13.encode()) if compress else FORT13.encode())
    attrs = read_fort13(path, n_node=6)
    assert attrs.title == "OceanMesh2D" and attrs.n_node == 6
    assert list(attrs) == ["internal_tide_friction", "quadratic_friction_coefficient_at_sea_floor"]
    itf = attrs["internal_tide_friction"]
    assert itf.units == "local_dir, C_it =1.5,Nb, D250" and itf.values.shape == (6, 3) and itf.n_listed == 3
    assert itf.values[0] == pytest.approx(NODE_1)
    assert itf.values[1, 2] == pytest.approx(-1.468351288e-05)
    assert np.array_equal(itf.values[[2, 3, 5]], np.zeros((3, 3)))
    cf = attrs["quadratic_friction_coefficient_at_sea_floor"]
    assert cf.units == "unitless" and cf.values_per_node == 1
    assert cf.values[:, 0] == pytest.approx([0.0025, 0.0025, 0.0025, 0.005, 0.0025, 0.005])
    assert not cf.values.flags.writeable
    with pytest.raises(KeyError, match="no nodal attribute 'manning'"):
        attrs["manning"]


def _replace(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


BROKEN = [
    (lambda t: "OceanMesh2D\n", r"fort\.13: line 2: the file ends before the node count"),
    (
        lambda t: _replace(t, "\n6\n2\n", "\nsix\n2\n"),
        r"fort\.13: line 2: expected the number of nodes \(an integer\), found 'six'",
    ),
    (lambda t: _replace(t, "\n6\n2\n", "\n6\ntwo\n"), r"fort\.13: line 3: expected the number of attributes"),
    (
        lambda t: _replace(t, "unitless\n1\n", "unitless\n0\n"),
        r"fort\.13: line 10: attribute 'quadratic_friction_coefficient_at_sea_floor' must have at least one value",
    ),
    (
        lambda t: _replace(t, "0.000000000e+00 0.000000000e+00 0.000000000e+00 \n", "0.0 0.0\n"),
        r"fort\.13: line 7: expected 3 fields in 'internal_tide_friction' default line 1, found 2",
    ),
    (lambda t: _replace(t, "2.500000000e-03 \n", "abc\n"), r"fort\.13: line 11: non-numeric field 'abc'"),
    (
        lambda t: _replace(t, "friction\n3\n1 ", "friction\n7\n1 "),
        r"fort\.13: line 13: 'internal_tide_friction' lists 7 nodes; expected 0\.\.6",
    ),
    (
        lambda t: _replace(t, "\n5 6.17", "\n9 6.17"),
        r"fort\.13: line 16: node id 9 of 'internal_tide_friction' is not an integer in 1\.\.6",
    ),
    (lambda t: _replace(t, "\n5 6.17", "\n1 6.17"), r"fort\.13: line 16: node 1 of 'internal_tide_friction' is listed twice"),
    (
        lambda t: _replace(t, "\n2 1.709491797e-05 1.261226002e-05 -1.468351288e-05", "\n2 1.709491797e-05"),
        r"fort\.13: line 15: expected 4 fields in 'internal_tide_friction' node line 2, found 2",
    ),
    (
        lambda t: _replace(t, "sea_floor\n2\n4", "sea_floor_x\n2\n4"),
        r"fort\.13: line 17: values for 'quadratic_friction_coefficient_at_sea_floor_x', which the header does not declare",
    ),
    (
        lambda t: t.split("quadratic_friction_coefficient_at_sea_floor\n2\n")[0],
        r"fort\.13: line 17: the file ends before the values of 'quadratic_friction_coefficient_at_sea_floor'",
    ),
    (
        lambda t: _replace(t, "\n6 5.0D-03\n", "\n"),
        r"fort\.13: line 20: the file ends after 1 of 2 'quadratic_friction_coefficient_at_sea_floor' node lines \(the count 2 is given in line 18\)",
    ),
    (
        lambda t: _replace(t, "quadratic_friction_coefficient_at_sea_floor\nunitless", "internal_tide_friction\nunitless"),
        r"fort\.13: line 8: attribute 'internal_tide_friction' is declared twice \(first in line 4\)",
    ),
]


@pytest.mark.parametrize("breaker, message", BROKEN)
def test_fort13_broken_inputs_name_file_and_line(tmp_path, breaker, message):
    path = tmp_path / "fort.13"
    path.write_text(breaker(FORT13))
    with pytest.raises(MeshFileError, match=message) as info:
        read_fort13(path)
    assert "\n" not in str(info.value)


def test_fort13_node_count_must_match_the_mesh(tmp_path):
    path = tmp_path / "fort.13"
    path.write_text(FORT13)
    with pytest.raises(MeshFileError, match=r"fort\.13: line 2: the file is for 6 nodes but the mesh has 27330"):
        read_fort13(path, n_node=27330)
    with pytest.raises(FileNotFoundError):
        read_fort13(tmp_path / "missing.13")
