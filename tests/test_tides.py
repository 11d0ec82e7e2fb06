"""Tidal forcing: prediction against independent references, readers, atlases, the factory.

References: a hand-computed S2 tide and M2 equilibrium argument (Schureman 1958, Meeus 1998
mean longitudes); utide's ``reconstruct`` (Foreman nodal corrections, evaluated at every time);
the JMJ open-boundary CSV against the JMJ atlas; the Plymouth tide gauge (CMEMS, January 2022).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from workflows.forcing import ForcingError
from workflows.forcing import tide_atlases as ta
from workflows.forcing import tide_formats as tf
from workflows.forcing.tides import (
    AstronomicalArguments,
    HarmonicConstituents,
    TidalElevation,
    TidalVelocity,
    TideInputError,
    TideSource,
    load_constants,
    modified_julian_day,
    tidal_forcing_for_boundary,
)

REPO = Path(__file__).resolve().parents[1]
MESHES = REPO / "meshes"
JMJ_NC = MESHES / "channel_biscay" / "jmj_channel_biscay_tides.nc"
JMJ_CSV = MESHES / "channel_biscay" / "jmj_open_boundary_elevation_harmonics.csv"
FORT15 = MESHES / "western_north_atlantic" / "fort.15"
MAREE = MESHES / "gironde" / "maree.cli"
BCTIDES = REPO / "tests" / "data" / "tides" / "bctides_two_segments.in"
PLYMOUTH = REPO / "tests" / "data" / "gauges" / "IR_TS_TG_Plymouth_202201.nc"
UTC = timezone.utc
START = datetime(2022, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


def _open_boundaries(gr3):
    from solver.formats.gr3 import read_gr3

    mesh = read_gr3(gr3).mesh
    return mesh, [b for b in mesh.boundaries if b.role == "open"]


# ------------------------------------------------------------------------------------------------
# prediction


def test_s2_hand_computed():
    """S2 has f = 1, u = 0 and V0 = 2T with T = 180 deg + 15 deg/h x UTC hour (Schureman 1958,
    table 2), so at 00Z V0 = 0 and at 06Z V0 = 180 deg; its speed is exactly 30 deg/h."""
    c = HarmonicConstituents(("S2",), [[1.0, 0.5]], [[30.0, 200.0]])
    eta = TidalElevation.build(c, START)
    args = eta.series.arguments
    assert args.f[0] == pytest.approx(1.0, abs=1e-12)
    assert args.omega[0] == pytest.approx(2 * math.pi / 43200.0, rel=1e-12)
    for t in (0.0, 3 * 3600.0, 7.25 * 3600.0, 5 * 86400.0 + 1234.0):
        deg = 30.0 * t / 3600.0
        expected = [math.cos(math.radians(deg - 30.0)), 0.5 * math.cos(math.radians(deg - 200.0))]
        np.testing.assert_allclose(eta(t), expected, atol=1e-9)
    assert eta(3 * 3600.0)[0] == pytest.approx(0.5, abs=1e-9)  # cos(90 - 30)
    six = TidalElevation.build(c, datetime(2022, 1, 1, 6, tzinfo=UTC))
    assert six(0.0)[0] == pytest.approx(math.cos(math.radians(180.0 - 30.0)), abs=1e-9)


def test_m2_equilibrium_argument_hand_computed():
    """V0(M2) = 2T - 2s + 2h (Schureman 1958) with the mean longitudes of the Moon s and Sun h
    from Meeus (1998, eqs. 47.1 and 25.2) at 2022-01-01T00Z; TT - UT (69 s) is neglected
    (0.02 deg), hence the 0.05 deg tolerance."""
    jc = (modified_julian_day(START) - 51544.5) / 36525.0
    s = 218.3164477 + 481267.88123421 * jc
    h = 280.46646 + 36000.76983 * jc
    v0 = (2 * 180.0 - 2 * s + 2 * h) % 360.0
    args = AstronomicalArguments.for_run(["M2"], START, nodal_time=START)
    u_deg = math.degrees(math.atan2(math.sin(args.phase0[0]), math.cos(args.phase0[0])))
    # phase0 = V0 + u; u(M2) = 2(xi - nu) is -1.85 deg in 2022 (nodal longitude N = 46 deg)
    import pyTMD.constituents as ptc

    pu, _, _ = ptc.arguments(np.array([modified_julian_day(START)]), ["m2"], corrections="FES")
    assert math.degrees(pu[0, 0]) == pytest.approx(-1.85, abs=0.05)
    got = (u_deg - math.degrees(pu[0, 0])) % 360.0
    assert abs((got - v0 + 180.0) % 360.0 - 180.0) < 0.05


def _utide_reference(times, lat, cons, amp, pha):
    import utide

    t = np.arange(len(times)) * 3600.0
    coef = utide.solve(
        times,
        np.cos(2 * np.pi * t / 44714.0),
        lat=lat,
        constit=list(cons),
        method="ols",
        conf_int="none",
        trend=False,
        verbose=False,
    )
    names = list(coef.name)
    coef.A = np.zeros(len(names))
    coef.g = np.zeros(len(names))
    for c, a, g in zip(cons, amp, pha):
        coef.A[names.index(c)] = a
        coef.g[names.index(c)] = g
    coef.mean = 0.0
    coef.slope = 0.0
    return utide.reconstruct(times, coef, verbose=False).h


def test_prediction_matches_utide_reconstruct():
    """30 days, hourly, nine constituents at three points (Plymouth-, Brest- and Gironde-like
    constants). utide evaluates Foreman's nodal corrections (with satellites) at every hour; we
    use Schureman's (pyTMD "FES") once at mid-period. The two nodal models differ by up to 0.2 %
    in f(M2) and 0.1-0.5 deg in u, i.e. a few mm on a 3 m tide: measured max 7.4 mm, RMS 3.1 mm
    for the Plymouth point; asserted max < 12 mm, RMS < 5 mm."""
    cons = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1", "M4")
    points = {
        50.37: ([1.68, 0.60, 0.33, 0.17, 0.07, 0.06, 0.02, 0.02, 0.10], [152, 195, 133, 192, 112, 330, 104, 290, 100]),
        48.38: ([2.05, 0.75, 0.41, 0.21, 0.06, 0.07, 0.02, 0.02, 0.05], [140, 180, 121, 177, 75, 327, 67, 280, 20]),
        45.57: ([1.53, 0.57, 0.32, 0.16, 0.07, 0.06, 0.02, 0.02, 0.09], [92, 126, 72, 124, 70, 320, 60, 275, 203]),
    }
    n = 30 * 24
    times = np.datetime64("2022-01-01T00:00") + np.arange(n) * np.timedelta64(3600, "s")
    t = np.arange(n) * 3600.0
    lats = np.array(list(points))
    amp = np.array([points[la][0] for la in lats]).T
    pha = np.array([points[la][1] for la in lats], dtype=float).T
    eta = TidalElevation.build(HarmonicConstituents(cons, amp, pha, np.zeros(3), lats), START, duration=timedelta(days=30))
    ours = eta(t)
    assert ours.shape == (n, 3)
    for j, la in enumerate(lats):
        ref = _utide_reference(times, la, cons, amp[:, j], pha[:, j])
        diff = ours[:, j] - ref
        rms = float(np.sqrt(np.mean(diff**2)))
        log.info("utide comparison at lat %.2f: max %.4f m, rms %.4f m", la, np.abs(diff).max(), rms)
        assert np.abs(diff).max() < 0.012
        assert rms < 0.005
        assert ref.std() > 1.0  # a real tide, not two zeros agreeing


def test_velocity_and_scalar_calls():
    c = HarmonicConstituents(
        ("M2", "S2"),
        [[1.0, 2.0], [0.3, 0.4]],
        [[10.0, 20.0], [30.0, 40.0]],
        u_amplitude=[[0.5, 0.1], [0.2, 0.0]],
        u_phase=[[50.0, 60.0], [70.0, 80.0]],
        v_amplitude=[[1.0, 2.0], [0.3, 0.4]],
        v_phase=[[10.0, 20.0], [30.0, 40.0]],
    )
    eta = TidalElevation.build(c, START)
    vel = TidalVelocity.build(c, START)
    for t in (0.0, 1000.0, 86400.0 * 2.5):
        u, v = vel(t)
        assert u.shape == v.shape == (2,) == eta(t).shape
        np.testing.assert_allclose(v, eta(t), atol=1e-12)  # same constants -> same series
    # u at the first point from its own constants, summed by hand
    args = eta.series.arguments
    t = 4321.0
    theta = args.omega * t + args.phase0
    hand = sum(args.f[k] * [0.5, 0.2][k] * math.cos(theta[k] - math.radians([50.0, 70.0][k])) for k in range(2))
    assert vel(t)[0][0] == pytest.approx(hand, abs=1e-12)
    assert eta(np.array([0.0, 60.0, 120.0])).shape == (3, 2)


def test_nodal_corrections_at_mid_time():
    eta = TidalElevation.build(HarmonicConstituents(("M2",), [[1.0]], [[0.0]]), START, duration=timedelta(days=30))
    assert eta.series.arguments.nodal_time == START + timedelta(days=15)
    assert TidalElevation.build(eta.constants, START).series.arguments.nodal_time == START + timedelta(hours=36)


def test_bad_constants_and_times():
    with pytest.raises(TideInputError, match="no time zone"):
        TidalElevation.build(HarmonicConstituents(("M2",), [[1.0]], [[0.0]]), datetime(2022, 1, 1))
    with pytest.raises(TideInputError, match="not known to pyTMD"):
        TidalElevation.build(HarmonicConstituents(("XX9",), [[1.0]], [[0.0]]), START)
    with pytest.raises(TideInputError, match="amplitude of M2 at point 1 is nan"):
        HarmonicConstituents(("M2",), [[1.0, float("nan")]], [[0.0, 0.0]])
    with pytest.raises(TideInputError, match="negative"):
        HarmonicConstituents(("M2",), [[-1.0]], [[0.0]])
    with pytest.raises(TideInputError, match="more than once"):
        HarmonicConstituents(("M2", "m2"), [[1.0], [1.0]], [[0.0], [0.0]])
    with pytest.raises(TideInputError, match=r"K1 not available \(it has M2\)"):
        HarmonicConstituents(("M2",), [[1.0]], [[0.0]], source="x.csv").select(["K1"])
    assert issubclass(TideInputError, ForcingError) and issubclass(ForcingError, ValueError)


# ------------------------------------------------------------------------------------------------
# atlas checks against the CSV and the Plymouth gauge


@pytest.fixture(scope="module")
def jmj():
    return ta.open_atlas("jmj", JMJ_NC)


def test_jmj_atlas_reproduces_boundary_csv(jmj):
    """At the 114 open-boundary nodes (which are atlas nodes), the atlas interpolated at the CSV
    positions equals the CSV; the CSV rounds amplitudes to 0.1 mm and phases to 0.01 deg, i.e. at
    most 0.05 mm + 1.5 m x 0.005 deg = 0.18 mm of complex difference."""
    csv = tf.read_boundary_harmonics_csv(JMJ_CSV)
    assert csv.n_point == 114 and csv.constituents == ("M2", "S2", "N2", "M4")
    at = jmj.interpolate(csv.lon, csv.lat)
    diff = np.abs(at.complex_elevation() - csv.complex_elevation())
    assert diff.max() < 2e-4, diff.max(axis=1)
    assert at.has_currents


def test_jmj_atlas_at_plymouth_matches_observed_m2(jmj):
    """SOURCES.md: a 31-day UTide analysis of the Plymouth gauge gives M2 1.682 m / 152.0 deg."""
    c = jmj.interpolate([-4.185], [50.368], ["M2"])
    assert abs(c.amplitude[0, 0] - 1.68) < 0.15
    assert abs((c.phase[0, 0] - 152.0 + 180) % 360 - 180) < 8.0


def _plymouth_record():
    with netCDF4.Dataset(PLYMOUTH) as ds:
        days = np.asarray(ds["TIME"][:], dtype=float)
        slev = np.ma.filled(ds["SLEV"][:, 0].astype(float), np.nan)
        qc = np.asarray(ds["SLEV_QC"][:, 0])
        assert "days since 1950-01-01" in ds["TIME"].units
    t = (days - (START - datetime(1950, 1, 1, tzinfo=UTC)).days) * 86400.0
    ok = np.isfinite(slev) & (qc == 1)
    return t[ok], slev[ok] - slev[ok].mean()


def test_plymouth_prediction_against_observed_january_2022(jmj):
    """31-day prediction with the atlas's four constituents (no diurnals, no surge) against the
    de-meaned hourly record: measured RMS 0.312 m and correlation 0.974 for a signal of 1.27 m
    standard deviation; asserted RMS < 0.40 m and r > 0.96."""
    t, obs = _plymouth_record()
    assert t.size == 734
    eta = TidalElevation.build(jmj.interpolate([-4.185], [50.368]), START, duration=timedelta(days=31))
    pred = eta(t)[:, 0]
    rms = float(np.sqrt(np.mean((pred - obs) ** 2)))
    r = float(np.corrcoef(pred, obs)[0, 1])
    log.info("Plymouth Jan 2022: RMS %.3f m, r %.3f", rms, r)
    assert rms < 0.40
    assert r > 0.96
    # a one-hour timing error is caught: it would give r ~ 0.83
    late = eta(t - 3600.0)[:, 0]
    assert np.corrcoef(late, obs)[0, 1] < 0.9


def test_jmj_atlas_linear_on_its_triangles(jmj):
    """Inside the triangles the atlas is linear: at centroids the mean of the three nodes, and at
    random interior points the same as matplotlib's LinearTriInterpolator."""
    import matplotlib.tri as mtri

    rng = np.random.default_rng(1)
    tris = rng.choice(len(jmj.tri), 200, replace=False)
    nodes = jmj.tri[tris]
    cx, cy = jmj.lon[nodes].mean(axis=1), jmj.lat[nodes].mean(axis=1)
    c = jmj.interpolate(cx, cy, ["M2"])
    np.testing.assert_allclose(c.complex_elevation()[0], jmj.elev[0][nodes].mean(axis=1), atol=1e-6)
    w = rng.dirichlet([1.0, 1.0, 1.0], size=200)
    px, py = (jmj.lon[nodes] * w).sum(axis=1), (jmj.lat[nodes] * w).sum(axis=1)
    tri = mtri.Triangulation(jmj.lon, jmj.lat, jmj.tri)
    z = jmj.elev[1]  # S2
    ref = mtri.LinearTriInterpolator(tri, z.real)(px, py) + 1j * mtri.LinearTriInterpolator(tri, z.imag)(px, py)
    got = jmj.interpolate(px, py, ["S2"]).complex_elevation()[0]
    np.testing.assert_allclose(got, np.asarray(ref), atol=1e-6)
    u = jmj.interpolate(cx, cy, ["M2"]).u_amplitude[0]
    np.testing.assert_allclose(u, np.abs(jmj.u[0][nodes].mean(axis=1)), atol=1e-6)


def test_jmj_atlas_refuses_points_far_outside(jmj):
    with pytest.raises(TideInputError, match=r"outside the atlas.*\(-20.0000, 40.0000\)"):
        jmj.interpolate([-20.0], [40.0])


# ------------------------------------------------------------------------------------------------
# the factory on the gallery meshes


def test_factory_channel_csv_and_atlas_agree(jmj):
    mesh, opens = _open_boundaries(MESHES / "channel_biscay" / "hgrid.gr3.gz")
    assert [len(b.node_ids) for b in opens] == [25, 12, 77]
    t = np.arange(0, 72 * 3600.0 + 1, 1800.0)
    for b in opens:
        lon, lat = mesh.node_x[b.node_ids], mesh.node_y[b.node_ids]
        table = tidal_forcing_for_boundary({"kind": "harmonics", "path": str(JMJ_CSV)}, lon, lat, b.node_ids, START)
        atlas = tidal_forcing_for_boundary({"kind": "atlas", "model": "jmj", "path": str(JMJ_NC)}, lon, lat, b.node_ids, START)
        assert table.velocity is None and atlas.velocity is not None
        np.testing.assert_allclose(table.elevation(t), atlas.elevation(t), atol=1e-3)
        u, v = atlas.velocity(3600.0)
        assert u.shape == v.shape == (len(b.node_ids),)
        assert np.abs(table.elevation(t)).max() > 0.5


def test_factory_gironde_telemac_cli():
    mesh, opens = _open_boundaries(MESHES / "gironde" / "hgrid.gr3.gz")
    sea = opens[1]
    lon, lat = mesh.node_x[sea.node_ids], mesh.node_y[sea.node_ids]
    forcing = tidal_forcing_for_boundary({"kind": "telemac-cli", "path": str(MAREE)}, lon, lat, sea.node_ids, START)
    c = forcing.constants
    # the file's four, then the minor semidiurnal ones inferred from N2, M2, S2 (test_minor_tides.py)
    assert c.constituents == ("M2", "S2", "N2", "M4", "2N2", "MU2", "NU2", "LAMBDA2", "L2", "T2", "K2") and c.n_point == 28
    i = list(sea.node_ids).index(154)  # global node 155 of maree.cli
    assert c.amplitude[0, i] == pytest.approx(1.526) and c.phase[0, i] == pytest.approx(92.0)
    assert c.amplitude[3, i] == pytest.approx(0.094) and c.phase[3, i] == pytest.approx(202.8)
    # the same constants as the JMJ atlas there (SOURCES.md): complex M2 difference < 0.15 m
    at = ta.open_atlas("jmj", JMJ_NC).interpolate(lon, lat, ["M2", "S2"])
    assert np.abs(at.complex_elevation() - c.select(["M2", "S2"]).complex_elevation()).max() < 0.15
    river = opens[0]
    with pytest.raises(TideInputError, match=r"maree.cli: 5 of the boundary's 5 nodes are not in the file"):
        tidal_forcing_for_boundary(
            {"kind": "telemac-cli", "path": str(MAREE)},
            mesh.node_x[river.node_ids],
            mesh.node_y[river.node_ids],
            river.node_ids,
            START,
        )


def test_factory_wnat_fort15():
    mesh, opens = _open_boundaries(MESHES / "western_north_atlantic" / "fort.14.gz")
    b = opens[0]
    lon, lat = mesh.node_x[b.node_ids], mesh.node_y[b.node_ids]
    forcing = tidal_forcing_for_boundary(
        {"kind": "fort15", "path": str(FORT15)}, lon, lat, b.node_ids, START, constituents=["M2", "K1"]
    )
    c = forcing.constants
    assert c.constituents == ("M2", "K1") and c.n_point == 55
    assert forcing.elevation(0.0).shape == (55,)
    with pytest.raises(TideInputError, match="NETA = 55 boundary nodes but the mesh boundary has 54"):
        tidal_forcing_for_boundary({"kind": "fort15", "path": str(FORT15)}, lon[:54], lat[:54], b.node_ids[:54], START)
    part = tidal_forcing_for_boundary(
        {"kind": "fort15", "path": str(FORT15), "offset": 5}, lon[5:9], lat[5:9], b.node_ids[5:9], START
    )
    full = tf.read_fort15_boundary_harmonics(FORT15)
    np.testing.assert_allclose(part.constants.amplitude[:8], full.amplitude[:, 5:9])  # then the inferred minor ones


def test_factory_bctides():
    lon, lat, ids = np.array([-5.0, -5.1, -5.2]), np.array([48.0, 48.1, 48.2]), np.array([10, 11, 12])
    f = tidal_forcing_for_boundary({"kind": "bctides", "path": str(BCTIDES), "boundary": 1}, lon, lat, ids, START)
    assert f.velocity is not None
    assert f.constants.v_amplitude[1, 2] == pytest.approx(0.034) and f.constants.v_phase[1, 2] == pytest.approx(324.0)
    no_currents = tidal_forcing_for_boundary(
        {"kind": "bctides", "path": str(BCTIDES), "boundary": 1, "currents": False}, lon, lat, ids, START
    )
    assert no_currents.velocity is None
    with pytest.raises(TideInputError, match="open boundary 2 has no tidal harmonics"):
        tidal_forcing_for_boundary({"kind": "bctides", "path": str(BCTIDES), "boundary": 2}, lon[:2], lat[:2], ids[:2], START)
    with pytest.raises(TideInputError, match="has 2 open boundary segments: set 'boundary'"):
        tidal_forcing_for_boundary({"kind": "bctides", "path": str(BCTIDES)}, lon, lat, ids, START)
    with pytest.raises(TideInputError, match="open boundary 1 has 3 nodes, the mesh boundary has 2"):
        tidal_forcing_for_boundary({"kind": "bctides", "path": str(BCTIDES), "boundary": 1}, lon[:2], lat[:2], ids[:2], START)


def test_tide_source_config(tmp_path):
    src = TideSource.from_mapping(
        {"source": "atlas", "model": "jmj", "path": "tides.nc", "constituents": "M2, S2"}, base_dir=tmp_path
    )
    assert src.path == tmp_path / "tides.nc" and src.constituents == ("M2", "S2")
    with pytest.raises(TideInputError, match=r"\[tides\]: unknown key 'constituent'; did you mean 'constituents'\?"):
        TideSource.from_mapping({"kind": "harmonics", "path": "x.csv", "constituent": ["M2"]})
    with pytest.raises(TideInputError, match="currents must be true or false, got 'yes'"):
        TideSource.from_mapping({"kind": "harmonics", "path": "x.csv", "currents": "yes"})
    with pytest.raises(TideInputError, match="missing key 'path'"):
        TideSource.from_mapping({"kind": "harmonics"})
    with pytest.raises(TideInputError, match="kind 'fes' is not one of"):
        TideSource.from_mapping({"kind": "fes", "path": "x"})
    with pytest.raises(TideInputError, match="atlas model 'got' is not one of"):
        TideSource.from_mapping({"kind": "atlas", "model": "got", "path": "x"})
    with pytest.raises(FileNotFoundError):
        tidal_forcing_for_boundary({"kind": "harmonics", "path": str(tmp_path / "none.csv")}, [0.0], [50.0], [0], START)


def test_csv_positions_must_match_the_mesh():
    with pytest.raises(TideInputError, match=r"node 11078 is at \(4.61670, 53.03900\) in the file"):
        load_constants(TideSource("harmonics", JMJ_CSV), [5.0], [53.039], [11077])


# ------------------------------------------------------------------------------------------------
# readers: real files


def test_read_real_fort15():
    c = tf.read_fort15_boundary_harmonics(FORT15)
    assert c.constituents == ("Q1", "O1", "P1", "K1", "N2", "M2", "S2", "K2") and c.n_point == 55
    assert c.amplitude[0, 0] == pytest.approx(6.019535802e-03) and c.phase[0, 0] == pytest.approx(2.899923852e02)
    assert c.amplitude[1, 0] == pytest.approx(5.541069518e-02) and c.phase[1, 0] == pytest.approx(3.344275127e02)


def test_read_real_maree_cli():
    c = tf.read_telemac_harmonic_cli(MAREE)
    assert c.constituents == ("M2", "S2", "N2", "M4") and c.n_point == 28
    assert list(c.node_ids[:3]) == [154, 233, 633]
    np.testing.assert_allclose(c.amplitude[:, 0], [1.526, 0.574, 0.316, 0.094])
    np.testing.assert_allclose(c.phase[:, -1], [92.1, 126.2, 72.3, 203.5])


def test_read_bctides_fixture():
    segs = tf.read_bctides(BCTIDES)
    assert [(s.index, s.n_node, s.iettype, s.ifltype) for s in segs] == [(1, 3, 3, 3), (2, 2, 0, 2)]
    c = segs[0].constants
    np.testing.assert_allclose(c.amplitude, [[1.5, 1.45, 1.4], [0.5, 0.48, 0.46]])
    np.testing.assert_allclose(c.u_phase[0], [10.0, 12.0, 14.0])
    np.testing.assert_allclose(c.v_amplitude[0], [0.1, 0.11, 0.12])
    assert segs[1].constants is None


def test_identify_by_period():
    assert tf.identify_by_period(44714.0) == "M2"
    assert tf.identify_by_period(22357.0) == "M4"
    assert tf.identify_by_period(86164.0) == "K1"
    with pytest.raises(TideInputError, match="matches no constituent"):
        tf.identify_by_period(40000.0)


# ------------------------------------------------------------------------------------------------
# readers: a catalogue of broken inputs


def _edit(path: Path, tmp_path: Path, old: str | None, new: str, name=None, count=1) -> Path:
    text = path.read_text()
    if new == "<CUT>":  # truncate the file just before ``old``
        text = text[: text.index(old)]
    elif old is None:
        text = new
    else:
        assert old in text, old
        text = text.replace(old, new, count)
    out = tmp_path / (name or path.name)
    out.write_text(text)
    return out


CSV_HEAD = "open_boundary,seq,node,lon,lat,depth_m,M2_amp_m,M2_phase_deg,S2_amp_m,S2_phase_deg,N2_amp_m,N2_phase_deg,M4_amp_m,M4_phase_deg"
CSV_ROW2 = "1,2,11077,4.48330,53.11120,25.22,0.6035,166.98,0.1834,228.31,0.0933,160.59,0.0803,175.00"

CSV_CASES = [
    ("missing column", CSV_HEAD, CSV_HEAD.replace("node,", "nod,"), r"line 1: missing column\(s\) node"),
    ("cm units", "M2_amp_m,", "M2_amp_cm,", r"line 1: column 'M2_amp_cm': amplitudes must be in metres"),
    ("radians", "S2_phase_deg", "S2_phase_rad", r"line 1: column 'S2_phase_rad': phases must be in degrees"),
    ("no phase", ",M4_amp_m,M4_phase_deg", ",M4_amp_m,M4_phase", r"phases must be in degrees"),
    ("nan", CSV_ROW2, CSV_ROW2.replace("0.6035", "nan"), r"line 3: M2 amplitude is 'nan' \(not a finite number\)"),
    ("text", CSV_ROW2, CSV_ROW2.replace("0.6035", "abc"), r"line 3: M2 amplitude 'abc' is not a number"),
    ("negative", CSV_ROW2, CSV_ROW2.replace("0.6035", "-0.6035"), r"line 3: M2 amplitude = -0.6035 is negative"),
    ("centimetres", CSV_ROW2, CSV_ROW2.replace("0.6035", "60.35"), r"line 3: M2 amplitude = 60.35 m is not believable"),
    ("short row", CSV_ROW2, CSV_ROW2.rsplit(",", 1)[0], r"line 3: 13 fields, the header has 14"),
    ("duplicate node", CSV_ROW2, CSV_ROW2.replace("11077", "11078"), r"node 11078 repeats line"),
    ("duplicate seq", CSV_ROW2, CSV_ROW2.replace("1,2,", "1,1,"), r"open_boundary 1 seq 1 repeats line 2"),
    ("node 0", CSV_ROW2, CSV_ROW2.replace("11077", "0"), r"line 3: node '0' is not a 1-based node number"),
    ("unknown constituent", "N2_amp_m,N2_phase_deg", "XY7_amp_m,XY7_phase_deg", r"'XY7' is not known to pyTMD"),
]


@pytest.mark.parametrize("label, old, new, message", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_csv_reader_rejects(tmp_path, label, old, new, message):
    bad = _edit(JMJ_CSV, tmp_path, old, new)
    with pytest.raises(TideInputError, match=message) as err:
        tf.read_boundary_harmonics_csv(bad)
    assert "\n" not in str(err.value)


def test_csv_reader_empty_and_filter(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TideInputError, match="empty file"):
        tf.read_boundary_harmonics_csv(empty)
    with pytest.raises(TideInputError, match="no data rows for open_boundary 9"):
        tf.read_boundary_harmonics_csv(JMJ_CSV, open_boundary=9)
    assert tf.read_boundary_harmonics_csv(JMJ_CSV, open_boundary=2).n_point == 12


BCTIDES_CASES = [
    ("truncated", "2 0 2 2 1", "<CUT>", r"line 29: file ends early: expected flags of open boundary 2"),
    ("flags", "2 0 2 2 1", "2 0 2.5 2 1", r"line 30: flags of open boundary 2 must be integers"),
    ("order", "S2\n0.500 140.0", "K2\n0.500 140.0", r"line 18: open boundary 1 elevation: expected constituent S2 .* found 'K2'"),
    ("bad number", "1.450 101.5", "1.450 1O1.5", r"line 16: M2 phase at node 2 of open boundary 1 '1O1.5' is not a number"),
    ("cm", "1.400 103.0", "140.0 103.0", r"line 17: M2 amplitude at node 3 of open boundary 1 = 140 m is not believable"),
    (
        "short line",
        "0.310 12.0 0.110 282.0",
        "0.310 12.0 0.110",
        r"line 24: expected 4 numbers \(u amplitude u phase v amplitude v phase\) of M2 at node 2",
    ),
    (
        "frequency",
        "1.405189e-04 0.98130 46.77 !freq",
        "1.5e-04 0.98130 46.77 !freq",
        r"line 9: M2 frequency 0.00015 rad/s differs",
    ),
    (
        "unknown",
        "S2\n1.454441e-04 1.00000 0.00\n2 !nope",
        "ZZ2\n1.454441e-04 1.00000 0.00\n2 !nope",
        r"'ZZ2' is not known to pyTMD",
    ),
    ("iettype", "2 0 2 2 1", "2 7 2 2 1", r"open boundary 2: iettype 7 is not one of 0..5"),
    ("nan", "0.460 142.0", "nan 142.0", r"line 21: S2 amplitude at node 3 of open boundary 1 is 'nan'"),
]


@pytest.mark.parametrize("label, old, new, message", BCTIDES_CASES, ids=[c[0] for c in BCTIDES_CASES])
def test_bctides_reader_rejects(tmp_path, label, old, new, message):
    bad = _edit(BCTIDES, tmp_path, old, new)
    with pytest.raises(TideInputError, match=message) as err:
        tf.read_bctides(bad)
    assert str(err.value).startswith("bctides_two_segments.in: ")


def _fort15_lines():
    return FORT15.read_text().splitlines(keepends=True)


def test_fort15_reader_rejects(tmp_path):
    lines = _fort15_lines()
    m2 = next(i for i, ln in enumerate(lines) if ln.strip() == "M2" and i > 60)
    cases = [
        (lines[: m2 + 1] + lines[m2 + 2 :], r"M2 has 54 boundary nodes, Q1 has 55 \(NETA\)"),
        (lines[:m2] + ["M3\n"] + lines[m2 + 1 :], rf"line {m2 + 1}: amplitude block 6 is 'M3', expected M2"),
        (lines[: m2 + 1] + [" 5.0e-01  NaN \n"] + lines[m2 + 2 :], rf"line {m2 + 2}: M2 phase is 'NaN'"),
        (lines[: m2 + 1] + [" 52.4  226.3 \n"] + lines[m2 + 2 :], rf"line {m2 + 2}: M2 amplitude = 52.4 m is not believable"),
        ([ln for ln in lines if "NBFR" not in ln], r"no periodic boundary table \(NBFR\) found"),
    ]
    for i, (text, message) in enumerate(cases):
        bad = tmp_path / f"fort{i}.15"
        bad.write_text("".join(text))
        with pytest.raises(TideInputError, match=message):
            tf.read_fort15_boundary_harmonics(bad)


def test_fort15_without_nbfr_comment_is_found(tmp_path):
    text = "".join(ln.replace("! NBFR", "") for ln in _fort15_lines())
    bad = tmp_path / "fort.15"
    bad.write_text(text)
    c = tf.read_fort15_boundary_harmonics(bad)
    assert c.n_point == 55 and c.constituents[0] == "Q1"


CLI_CASES = [
    ("unknown period", " 45570.D0", " 40000.D0", r"line 5: period 40000 s matches no constituent"),
    ("period count", " 4\n 4\n", " 4\n 3\n", r"line 2: 3 periods for 4 waves"),
    (
        "short block",
        "   234\n    1.519   92.0\n",
        "   234\n",
        r"expected 'M2 amplitude phase' of node 234|expected 'M4 amplitude phase'",
    ),
    ("text", "    0.571  126.0", "    0.571  abc", r"line 14: S2 phase 'abc' is not a number"),
    ("repeated node", "   634\n", "   155\n", r"node 155 repeats line 7"),
    ("cm", "    1.512   91.9", "  151.2   91.9", r"M2 amplitude = 151.2 m is not believable"),
]


@pytest.mark.parametrize("label, old, new, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_telemac_cli_reader_rejects(tmp_path, label, old, new, message):
    bad = _edit(MAREE, tmp_path, old, new)
    with pytest.raises(TideInputError, match=message):
        tf.read_telemac_harmonic_cli(bad)


# ------------------------------------------------------------------------------------------------
# FES and TPXO layouts, written here with a field that bilinear interpolation reproduces exactly


def _field(lon, lat):
    """Complex A exp(-iG) in m, bilinear in lon and lat."""
    return (1.0 + 0.5j) + (0.02 - 0.01j) * lon + (0.03 + 0.02j) * (lat - 45) + 0.001j * lon * (lat - 45)


def _write_fes(path: Path, lon, lat, z_m, amp="amplitude", pha="phase", units="cm", land=()):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("lat", lat.size)
        ds.createDimension("lon", lon.size)
        ds.createVariable("lon", "f8", ("lon",))[:] = lon
        ds.createVariable("lat", "f8", ("lat",))[:] = lat
        a = ds.createVariable(amp, "f4", ("lat", "lon"), fill_value=np.float32(1.8446744e19))
        p = ds.createVariable(pha, "f4", ("lat", "lon"), fill_value=np.float32(1.8446744e19))
        if units is not None:
            a.units = units
        scale = {"cm": 100.0, "cm/s": 100.0, "m": 1.0, "furlong": 1.0}.get(units or "cm", 100.0)
        amp_v = np.ma.masked_array(np.abs(z_m) * scale)
        pha_v = np.ma.masked_array(np.mod(-np.degrees(np.angle(z_m)), 360))
        for j, i in land:
            amp_v[j, i] = np.ma.masked
            pha_v[j, i] = np.ma.masked
        a[:] = amp_v
        p[:] = pha_v


@pytest.fixture
def fes_dir(tmp_path):
    lon = np.arange(-10.0, 2.01, 0.25)
    lat = np.arange(52.0, 42.99, -0.25)  # descending, as some products store it
    d = tmp_path / "fes2022b"
    d.mkdir()
    lo, la = np.meshgrid(lon, lat)
    _write_fes(d / "m2_fes2022.nc", lon, lat, _field(lo, la))
    _write_fes(d / "s2_fes2022.nc", lon, lat, 0.4 * _field(lo, la), land=[(4, 8)])  # lat 51, lon -8
    for name, amp, pha in (("eastward_velocity", "Ua", "Ug"), ("northward_velocity", "Va", "Vg")):
        (tmp_path / name).mkdir()
        for con, k in (("m2", 0.5), ("s2", 0.2)):
            _write_fes(tmp_path / name / f"{con}.nc", lon, lat, k * _field(lo, la), amp, pha, "cm/s")
    return d


def test_fes_atlas_bilinear_exact_and_units(fes_dir):
    atlas = ta.FesAtlas(fes_dir)
    assert set(atlas.constituents) == {"M2", "S2"}
    lon = np.array([-5.13, -0.4, 1.9, -9.9])
    lat = np.array([48.37, 43.1, 51.95, 47.0])
    c = atlas.interpolate(lon, lat, ["M2"])
    np.testing.assert_allclose(c.complex_elevation()[0], _field(lon, lat), atol=2e-6)
    # a land corner: the nearest wet cell is used instead
    s2 = atlas.interpolate([-8.1], [51.05], ["S2"])
    nearest = [0.4 * _field(-8.0, 51.25), 0.4 * _field(-8.25, 51.0)]  # both at ~17-20 km
    assert min(abs(s2.complex_elevation()[0, 0] - z) for z in nearest) < 2e-6


def test_fes_factory_with_currents(fes_dir, tmp_path):
    src = {
        "kind": "atlas",
        "model": "fes",
        "path": str(fes_dir),
        "u_path": str(tmp_path / "eastward_velocity"),
        "v_path": str(tmp_path / "northward_velocity"),
        "constituents": ["M2", "S2"],
    }
    f = tidal_forcing_for_boundary(src, [-5.0, -4.0], [48.0, 48.5], [3, 4], START)
    assert f.velocity is not None
    c = f.constants
    np.testing.assert_allclose(c.u_amplitude[0], 0.5 * np.abs(_field(np.array([-5.0, -4.0]), np.array([48.0, 48.5]))), rtol=1e-5)
    np.testing.assert_allclose(c.amplitude[1], 0.4 * np.abs(_field(np.array([-5.0, -4.0]), np.array([48.0, 48.5]))), rtol=1e-5)


def test_fes_errors(tmp_path, fes_dir):
    lon = np.arange(-10.0, 2.01, 0.25)
    lat = np.arange(43.0, 52.01, 0.25)
    lo, la = np.meshgrid(lon, lat)
    bad = tmp_path / "bad"
    bad.mkdir()
    _write_fes(bad / "m2.nc", lon, lat, _field(lo, la), units="furlong")
    with pytest.raises(TideInputError, match=r"m2.nc: variable amplitude has units 'furlong'"):
        ta.FesAtlas(bad).interpolate([-5.0], [48.0])
    with pytest.raises(TideInputError, match=r"constituent\(s\) K1 not in the atlas"):
        ta.FesAtlas(fes_dir).interpolate([-5.0], [48.0], ["K1"])
    with pytest.raises(TideInputError, match=r"outside the atlas, e.g. point 0 at \(-30.0000, 48.0000\)"):
        ta.FesAtlas(fes_dir).interpolate([-30.0], [48.0], ["M2"])
    with pytest.raises(FileNotFoundError):
        ta.FesAtlas(tmp_path / "nowhere").interpolate([-5.0], [48.0])
    (tmp_path / "empty").mkdir()
    with pytest.raises(TideInputError, match="no FES constituent files"):
        ta.FesAtlas(tmp_path / "empty").interpolate([-5.0], [48.0])


def test_fes_global_grid_wraps_in_longitude(tmp_path):
    lon = np.arange(0.0, 360.0, 0.5)
    lat = np.arange(40.0, 60.01, 0.5)
    lo, la = np.meshgrid(lon, lat)
    z = (0.5 + 0.1j) * (1 + np.cos(np.radians(lo))) + 0.01 * (la - 50)  # smooth and periodic
    _write_fes(tmp_path / "m2.nc", lon, lat, z)
    c = ta.FesAtlas(tmp_path).interpolate([-0.2, 359.9, -4.0], [50.0, 50.0, 48.25])
    zc = c.complex_elevation()[0]
    # across the 0/360 seam: linear between the columns at 359.5 and 0.0
    expected_seam = 0.6 * z[20, 0] + 0.4 * z[20, -1]
    assert abs(zc[0] - expected_seam) < 2e-6
    assert abs(zc[1] - (0.8 * z[20, 0] + 0.2 * z[20, -1])) < 2e-6
    exact = (0.5 + 0.1j) * (1 + np.cos(np.radians(356.0))) + 0.01 * (48.25 - 50)
    assert abs(zc[2] - exact) < 1e-4  # bilinear on a smooth field: 1e-5 m


def _write_tpxo_atlas(path: Path, con: str, lon, lat, z_m, units="millimeter"):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("nx", lon.size)
        ds.createDimension("ny", lat.size)
        ds.createDimension("nct", 4)
        ds.createVariable("lon_z", "f8", ("nx",))[:] = lon
        ds.createVariable("lat_z", "f8", ("ny",))[:] = lat
        re_ = ds.createVariable("hRe", "i4", ("nx", "ny"))
        im_ = ds.createVariable("hIm", "i4", ("nx", "ny"))
        re_.units = im_.units = units
        scale = {"millimeter": 1000.0, "m": 1.0}[units]
        re_[:] = np.round(z_m.real.T * scale)
        im_[:] = np.round(z_m.imag.T * scale)
        ds.createVariable("con", "S1", ("nct",))[:] = netCDF4.stringtochar(np.array([con.ljust(4)], "S4"))[0]


def test_tpxo_atlas_files_and_single_file_agree(tmp_path):
    lon = np.arange(-10.0, 2.01, 1 / 6)
    lat = np.arange(43.0, 52.01, 1 / 6)
    lo, la = np.meshgrid(lon, lat)
    z = _field(lo, la)
    a = tmp_path / "tpxo9_atlas"
    a.mkdir()
    _write_tpxo_atlas(a / "h_m2_tpxo9_atlas_30_v5.nc", "m2", lon, lat, z)
    _write_tpxo_atlas(a / "h_k1_tpxo9_atlas_30_v5.nc", "k1", lon, lat, 0.1 * z)
    pts = (np.array([-5.13, 0.3]), np.array([48.37, 44.9]))
    c = ta.TpxoAtlas(a).interpolate(*pts, ["M2", "K1"])
    np.testing.assert_allclose(c.complex_elevation()[0], _field(*pts), atol=1e-3)  # stored in whole mm
    np.testing.assert_allclose(c.complex_elevation()[1], 0.1 * _field(*pts), atol=1e-3)
    # the older one-file layout: ha (m), hp (deg), 2-D lon_z/lat_z, con(nc, 4)
    s = tmp_path / "tpxo9"
    s.mkdir()
    with netCDF4.Dataset(s / "h_tpxo9.v1.nc", "w") as ds:
        for dim, n in (("nc", 2), ("nx", lon.size), ("ny", lat.size), ("nct", 4)):
            ds.createDimension(dim, n)
        ds.createVariable("lon_z", "f8", ("nx", "ny"))[:] = np.repeat(lon[:, None], lat.size, 1)
        ds.createVariable("lat_z", "f8", ("nx", "ny"))[:] = np.repeat(lat[None, :], lon.size, 0)
        ha = ds.createVariable("ha", "f4", ("nc", "nx", "ny"))
        ha.units = "meter"
        hp = ds.createVariable("hp", "f4", ("nc", "nx", "ny"))
        zz = np.stack([z.T, 0.1 * z.T])
        ha[:] = np.abs(zz)
        hp[:] = np.mod(-np.degrees(np.angle(zz)), 360)
        ds.createVariable("con", "S1", ("nc", "nct"))[:] = netCDF4.stringtochar(np.array(["m2  ", "k1  "], "S4"))
    c2 = ta.TpxoAtlas(s).interpolate(*pts)
    assert c2.constituents == ("M2", "K1")
    np.testing.assert_allclose(c2.complex_elevation(), c.complex_elevation(), atol=1.5e-3)
    f = tidal_forcing_for_boundary({"kind": "atlas", "model": "tpxo", "path": str(a)}, *pts, [0, 1], START)
    assert f.velocity is None and f.constants.constituents == ("K1", "M2")


def test_tpxo_errors(tmp_path):
    lon = np.arange(-10.0, 2.01, 0.5)
    lat = np.arange(43.0, 52.01, 0.5)
    lo, la = np.meshgrid(lon, lat)
    _write_tpxo_atlas(tmp_path / "h_m2_tpxo9_atlas_30_v5.nc", "s2", lon, lat, _field(lo, la))
    with pytest.raises(TideInputError, match="holds constituent S2, the name says M2"):
        ta.TpxoAtlas(tmp_path).interpolate([-5.0], [48.0])
    with pytest.raises(TideInputError, match="TPXO currents are not supported"):
        ta.open_atlas("tpxo", tmp_path, u_path=tmp_path)
