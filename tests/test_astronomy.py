"""The tidal astronomy of :mod:`workflows.forcing.astronomy` against pyTMD, and a forecast that
does not import pyTMD.

Reference: pyTMD 3.0 (``pyTMD.constituents.frequency`` and ``arguments``), the implementation the
module's formulas follow, for every constituent of its table under every nodal convention, at
dates spread over 1990-2040; then the boundary tide of the Channel/Biscay mesh predicted the
way the forecasts did before (pyTMD's arguments) and the way they do now. pyTMD is imported by
these tests only; the forecast path is checked in a fresh process (``sys.modules``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from workflows.forcing import astronomy
from workflows.forcing.harmonics import TideInputError, constituent_frequency, modified_julian_day

ptc = pytest.importorskip("pyTMD.constituents")

REPO = Path(__file__).resolve().parents[1]
MESHES = REPO / "meshes"
NAMES = list(astronomy.DOODSON)
LOWER = [astronomy.PYTMD_NAMES[n] for n in NAMES]
UTC = timezone.utc


def _mjd_1990_2040(n=600, seed=20261206):
    """(n,) Modified Julian Days: 1990-01-01 to 2040-12-31 at random times of day, plus the ends."""
    lo, hi = 47892.0, 66479.0
    rng = np.random.default_rng(seed)
    return np.concatenate([[lo, hi - 1e-3, 51544.5, 60310.75], rng.uniform(lo, hi, n)])


def _wrapped(a):
    """Angles (rad) reduced to (-pi, pi]."""
    return np.angle(np.exp(1j * np.asarray(a)))


def test_every_constituent_has_one_nodal_rule_and_pytmd_doodson_numbers():
    """Each name of the table is either a linear constituent (a nodal family per convention) or
    a compound one (parents), never both, and its Doodson numbers are pyTMD's, convention by
    convention (OTIS shifts S1's argument by 90 deg)."""
    linear, compound = set(astronomy._NODAL), set(astronomy._COMPOUND)
    assert linear | compound == set(NAMES) and not linear & compound
    assert all(len(v) == len(astronomy.CONVENTIONS) for v in astronomy._NODAL.values())
    assert {f for v in astronomy._NODAL.values() for f in v} <= set(astronomy._FAMILIES)
    for conv in astronomy.CONVENTIONS:
        np.testing.assert_array_equal(astronomy._numbers(NAMES, conv), ptc.coefficients_table(LOWER, corrections=conv))


@pytest.mark.parametrize("corrections", astronomy.CONVENTIONS)
def test_angular_speeds_equal_pytmd(corrections):
    """``omega`` of all 66 constituents within 1e-9 relative of ``pyTMD.constituents.frequency``
    (pyTMD differentiates the longitudes numerically over 72 min at J2000, the module takes the
    rates of their polynomials: measured < 1e-12)."""
    ours = astronomy.angular_speed(NAMES, corrections)
    ref = ptc.frequency(LOWER, corrections=corrections)
    assert len(NAMES) >= 60 and (ref > 0).all()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(constituent_frequency(NAMES, corrections), ref, rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("corrections", astronomy.CONVENTIONS)
def test_arguments_and_nodal_corrections_equal_pytmd(corrections):
    """V0 (rad, modulo 2 pi) and u within 1e-6 rad, f within 1e-8, of ``pyTMD.constituents.arguments``
    at 604 dates of 1990-2040, for every constituent (measured: 1e-14)."""
    mjd = _mjd_1990_2040()
    u, f, v0 = astronomy.arguments(mjd, NAMES, corrections)
    pu, pf, pv0 = ptc.arguments(mjd, LOWER, corrections=corrections)
    assert u.shape == f.shape == v0.shape == (mjd.size, len(NAMES))
    assert np.abs(_wrapped(np.radians(v0 - pv0))).max() < 1e-6
    assert np.abs(_wrapped(u - pu)).max() < 1e-6
    assert np.abs(f - pf).max() < 1e-8
    # and the corrections are not trivially 1 and 0: M2's f spans 0.96-1.04 over a nodal cycle
    m2 = NAMES.index("M2")
    assert f[:, m2].min() < 0.965 and f[:, m2].max() > 1.035


def test_constituents_the_forecast_sources_can_name_are_known():
    """What the code and its data can ask for: the shipped atlas and gauge catalogue, the
    minor-tide inference, TELEMAC's period table, FES2014/2022 and TPXO9/10 files, NOAA's 37."""
    import netCDF4

    from workflows.forcing.minor_tides import POTENTIAL_AMPLITUDE, SEMIDIURNAL_MAJOR, SEMIDIURNAL_MINOR
    from workflows.forcing.tide_formats import PERIOD_CANDIDATES

    shipped = []
    for path, var in (
        (REPO / "workflows" / "data" / "tides" / "coastcast_tides_north_atlantic.nc", "constituent"),
        (REPO / "workflows" / "data" / "gauges" / "tide_gauges_north_atlantic.nc", "constituent"),
    ):
        with netCDF4.Dataset(path) as ds:
            raw = ds[var][:]
            rows = netCDF4.chartostring(raw) if raw.dtype.kind == "S" else raw
            shipped += [str(c).strip() for c in np.ravel(rows)]
    assert "M2" in shipped and "MN4" in shipped and "M6" in shipped
    fes = (
        "2N2 EPS2 J1 K1 K2 L2 LAMBDA2 M2 M3 M4 M6 M8 MF MKS2 MM MN4 MS4 MSF MSQM MTM MU2 N2 N4 NU2 O1 P1 Q1 R2 S1 S2 S4 SA SSA T2"
    )
    tpxo = "M2 S2 N2 K2 K1 O1 P1 Q1 MM MF M4 MN4 MS4 2N2 S1"
    noaa = (
        "M2 S2 N2 K1 M4 O1 M6 MK3 S4 MN4 NU2 S6 MU2 2N2 OO1 LAM2 S1 M1 J1 MM SSA SA MSF MF RHO Q1 T2 R2 2Q1 P1 2SM2 M3 L2 2MK3 K2 "
        "M8 MS4"
    )
    names = {*shipped, *POTENTIAL_AMPLITUDE, *SEMIDIURNAL_MAJOR, *SEMIDIURNAL_MINOR, *PERIOD_CANDIDATES}
    names |= {*fes.split(), *tpxo.split(), *noaa.split(), "SIGMA1", "SIG1"}
    omega = constituent_frequency(sorted(names))
    assert (omega > 0).all()


def test_aliases_and_unknown_names():
    """SIGMA1 and SIG1 are pyTMD's sigma1, LDA2 its lambda2; Z0 has speed 0; an unknown name
    is a one-line TideInputError naming it."""
    s1, s2, lam, z0 = constituent_frequency(["SIGMA1", "sig1", "LDA2", "Z0"])
    ref = ptc.frequency(["sigma1", "lambda2"], corrections="FES")
    assert s1 == s2 == pytest.approx(ref[0], rel=1e-12) and lam == pytest.approx(ref[1], rel=1e-12) and z0 == 0.0
    with pytest.raises(TideInputError, match=r"^tidal constituent 'XY7' is not known") as err:
        constituent_frequency(["M2", "xy7"])
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="nodal_corrections 'NOAA' is not one of FES, OTIS, GOT, perth3"):
        astronomy.angular_speed(["M2"], "NOAA")


def _pytmd_prediction(constants, start, duration, corrections, t):
    """(n_t, n_point) tide from ``constants`` as the forecasts computed it until 2026-12:
    omega from ``ptc.frequency``, V0 at ``start`` and f, u at the mid-time from ``ptc.arguments``."""
    lower = [astronomy.PYTMD_NAMES[c] for c in constants.constituents]
    omega = ptc.frequency(lower, corrections=corrections)
    _, _, v0 = ptc.arguments(np.array([modified_julian_day(start)]), lower, corrections=corrections)
    pu, pf, _ = ptc.arguments(np.array([modified_julian_day(start + duration / 2)]), lower, corrections=corrections)
    theta = np.multiply.outer(t, omega) + np.mod(np.radians(v0[0]) + pu[0], 2 * np.pi)  # (n_t, n_con)
    g = np.radians(constants.phase)
    fa = pf[0][:, None] * constants.amplitude
    return np.cos(theta) @ (fa * np.cos(g)) + np.sin(theta) @ (fa * np.sin(g))


@pytest.mark.parametrize("corrections", astronomy.CONVENTIONS)
def test_channel_biscay_boundary_tide_is_unchanged(corrections):
    """The tide at the 114 open-boundary nodes of the Channel/Biscay mesh (JMJ atlas: M2 S2 N2
    M4; 2N2 MU2 NU2 LAMBDA2 L2 T2 K2 inferred; K1 O1 P1 Q1 MS4 MN4 from the coastcast atlas), 7
    days every 10 min from 2026-03-01: the module's arguments give the tide pyTMD's gave within
    1e-9 m (measured: 3e-13 m under each convention, on a tide of up to 2.2 m)."""
    from solver.formats.gr3 import read_gr3
    from workflows.forcing.tides import tidal_forcing_for_boundary

    mesh = read_gr3(MESHES / "channel_biscay" / "hgrid.gr3.gz").mesh
    start, duration = datetime(2026, 3, 1, tzinfo=UTC), timedelta(days=7)
    t = np.arange(0.0, duration.total_seconds() + 1.0, 600.0)
    worst, n_con, top = 0.0, 0, 0.0
    for b in (b for b in mesh.boundaries if b.role == "open"):
        source = {
            "kind": "atlas",
            "model": "jmj",
            "path": str(MESHES / "channel_biscay" / "jmj_channel_biscay_tides.nc"),
            "supplement": "coastcast",
            "nodal_corrections": corrections,
        }
        lon, lat = mesh.node_x[b.node_ids], mesh.node_y[b.node_ids]
        forcing = tidal_forcing_for_boundary(source, lon, lat, b.node_ids, start, duration=duration)
        ours = forcing.elevation(t)
        ref = _pytmd_prediction(forcing.constants, start, duration, corrections, t)
        worst = max(worst, float(np.abs(ours - ref).max()))
        n_con, top = len(forcing.constants.constituents), max(top, float(np.abs(ref).max()))
    assert n_con == 17 and top > 2.0
    assert worst < 1e-9, worst


def test_a_forecast_imports_neither_pytmd_nor_distributed(tmp_path):
    """A fresh process builds the tidal forcing from every kind of source the forecasts read
    (harmonics CSV, JMJ and coastcast atlases with inference and supplement, TELEMAC .cli,
    fort.15, bctides), predicts a gauge and sizes a segment's threads as a segment does outside
    dask: neither pyTMD nor distributed is imported."""
    code = f"""
import json, sys
from datetime import datetime, timezone
import numpy as np
from solver.formats.gr3 import read_gr3
from workflows.forcing.tides import tidal_forcing_for_boundary
from workflows.gauges import load_catalogue
from workflows.cycle import _use_owned_threads
M = {str(MESHES)!r}
start = datetime(2026, 1, 10, tzinfo=timezone.utc)
def opens(name):
    mesh = read_gr3(M + "/" + name + "/hgrid.gr3.gz").mesh
    return mesh, [b for b in mesh.boundaries if b.role == "open"]
mesh, ob = opens("channel_biscay")
b = ob[0]
lon, lat = mesh.node_x[b.node_ids], mesh.node_y[b.node_ids]
n = []
for src in (
    {{"kind": "harmonics", "path": M + "/channel_biscay/jmj_open_boundary_elevation_harmonics.csv"}},
    {{"kind": "atlas", "model": "jmj", "path": M + "/channel_biscay/jmj_channel_biscay_tides.nc", "supplement": "coastcast"}},
    {{"kind": "atlas", "model": "coastcast", "nodal_corrections": "OTIS"}},
):
    f = tidal_forcing_for_boundary(src, lon, lat, b.node_ids, start)
    n.append(float(np.abs(f.elevation(np.arange(0.0, 86400.0, 3600.0))).max()))
mesh, ob = opens("gironde")
b = ob[1]
f = tidal_forcing_for_boundary({{"kind": "telemac-cli", "path": M + "/gironde/maree.cli"}},
    mesh.node_x[b.node_ids], mesh.node_y[b.node_ids], b.node_ids, start)
n.append(float(np.abs(f.elevation(0.0)).max()))
from workflows.forcing import tide_formats
tide_formats.read_fort15_boundary_harmonics(M + "/western_north_atlantic/fort.15")
tide_formats.read_bctides({str(REPO / "tests" / "data" / "tides" / "bctides_two_segments.in")!r})
cat = load_catalogue()
n.append(float(np.abs(cat.predict(np.array(["2026-01-10T00", "2026-01-10T06"], dtype="datetime64[ns]"), [0])).max()))
threads = _use_owned_threads()
print(json.dumps({{"heights": n, "threads": threads,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("pyTMD", "distributed", "dask"))}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "COASTCAST_THREADS"}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600, check=False
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [], out["loaded"]
    assert all(h > 0.1 for h in out["heights"]), out["heights"]
    assert out["threads"] >= 1


def test_a_segment_on_a_dask_worker_still_takes_one_thread(monkeypatch):
    """On a dask worker (distributed imported, ``get_worker`` finds one) a segment asks for one
    solver thread, as before; outside one, with distributed imported or not, for the process's
    cores (``use_threads()``). The requests are recorded (on 2 cores both answers could be 1)."""
    import solver.kernels
    from workflows.cycle import _use_owned_threads

    asked = []
    monkeypatch.setattr(solver.kernels, "use_threads", lambda n=None: asked.append(n) or 1)
    monkeypatch.delenv("COASTCAST_THREADS", raising=False)
    _use_owned_threads()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.submit(_use_owned_threads, pure=False).result()
    _use_owned_threads()
    assert asked == [None, 1, None]
