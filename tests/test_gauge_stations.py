"""Tide gauges as stations of a real cycle: placement, the gauges' own tide, datums, skill, alerts.

A 0.24° × 0.12°, 20 m deep basin in the Iroise beside Brest, forced at its open boundary with
Brest's own eleven harmonic constants (catalogue), cold-started on 2022-03-18 (spring tide) for a
24-hour forecast. The catalogue's gauges of Brest and Le Conquet fall beside the basin and become
stations. Independent references: great-circle distances by the spherical law of cosines,
utide's ``reconstruct`` of the gauge's constants, the datum differences of the data kit's row for
Brest computed by hand (MSL − LAT = 4.203 − 0.422 = 3.781 m; MHWS − MSL = 7.003 − 4.203 = 2.800 m;
HAT − MSL = 7.898 − 4.203 = 3.695 m), and the long-wave physics of a basin 18 km long against a
625 km M2 wavelength (the tide at its head is the tide at its mouth within a few cm).
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from tests.cycle_fixtures import write_inputs
from workflows.config import ConfigError
from workflows.cycle import run_cycle
from workflows.gauges import load_catalogue

BREST = "ticon/brest-3-fra-refmar"
CONQUET = "ticon/le_conquet-152-fra-refmar"
MSL_ABOVE_LAT_BREST = 4.203 - 0.422
MHWS_BREST = 7.003 - 4.203
HAT_BREST = 7.898 - 4.203
CC = ["compliance-checker", "-t", "cf:1.11", "-s", "check_cf_role", "-s", "check_single_cf_role", "-s", "check_dimension_order"]


def brest_harmonics() -> dict:
    cat = load_catalogue()
    i = int(cat.index(BREST))
    return {
        c: (float(cat.amplitude[i, k]), float(cat.phase[i, k]))
        for k, c in enumerate(cat.constituents)
        if np.isfinite(cat.amplitude[i, k])
    }


def iroise_inputs(folder: Path, **extra) -> Path:
    kw = dict(
        hours=24.0,
        spinup_hours=6.0,
        segment_hours=12.0,
        start="2022-03-18T00:00Z",
        origin=(-4.75, 48.30),
        depth=(20.0, 20.0),
        harmonics=brest_harmonics(),
        stations=[{"name": "basin head", "lon": -4.52, "lat": 48.36}],
        thresholds=[{"station": "Brest", "level_m": 6.0, "datum": "chart", "name": "quay"}],
    )
    kw.update(extra)
    return write_inputs(folder, **kw)


@pytest.fixture(scope="module")
def iroise(tmp_path_factory):
    root = tmp_path_factory.mktemp("iroise")
    info = run_cycle(iroise_inputs(root / "in"), root / "run", figures=False)
    return root / "run", info


def station_index(run: Path, name: str) -> int:
    with netCDF4.Dataset(run / "stations.nc") as ds:
        raw = ds["station_name"][:]
        names = [str(n) for n in (netCDF4.chartostring(raw) if raw.dtype.kind == "S" and raw.ndim == 2 else raw)]
    return names.index(name)


def var(run: Path, name: str) -> np.ndarray:
    with netCDF4.Dataset(run / "stations.nc") as ds:
        return np.asarray(ds[name][:], dtype=float)


def test_gauges_near_the_mesh_become_stations_at_a_recorded_distance(iroise):
    run, info = iroise
    placed = {g["gauge_id"]: g for g in info["gauges"]["stations"]}
    assert set(placed) == {BREST, CONQUET}
    # Brest is published by three data centres: placed once, the copies recorded
    assert {d["gauge_id"] for d in info["gauges"]["placement"]["duplicates"]} == {
        "ticon/brest-822-fra-uhslc_fd",
        "ticon/brest-822a-fra-uhslc_rq",
    }
    for g in placed.values():
        lo1, la1, lo2, la2 = np.radians([g["gauge_lon"], g["gauge_lat"], g["lon"], g["lat"]])
        cosines = 6371.0 * np.arccos(np.sin(la1) * np.sin(la2) + np.cos(la1) * np.cos(la2) * np.cos(lo2 - lo1))
        assert g["distance_km"] == pytest.approx(cosines, rel=1e-6)
        assert 0.5 < g["distance_km"] < 10.0
    # the sampling point is the nearest deep-enough face centroid: no centroid of the basin is nearer
    from tests.cycle_fixtures import basin_mesh

    mesh = basin_mesh(origin=(-4.75, 48.30), depth=(20.0, 20.0))
    b = placed[BREST]
    d = np.hypot((mesh.face_x - b["gauge_lon"]) * np.cos(np.radians(48.38)), mesh.face_y - b["gauge_lat"])
    assert (mesh.face_x[d.argmin()], mesh.face_y[d.argmin()]) == pytest.approx((b["lon"], b["lat"]))
    gid = var_text(run, "gauge_id")
    assert gid[station_index(run, "Brest")] == BREST and gid[station_index(run, "basin head")] == ""
    assert var(run, "gauge_distance")[station_index(run, "Brest")] == pytest.approx(b["distance_km"] * 1000, rel=1e-6)


def var_text(run: Path, name: str) -> list[str]:
    with netCDF4.Dataset(run / "stations.nc") as ds:
        raw = ds[name][:]
        return [str(x) for x in (netCDF4.chartostring(raw) if raw.dtype.kind == "S" and raw.ndim == 2 else raw)]


def test_the_gauge_prediction_in_stations_nc_matches_utide(iroise):
    import utide

    run, _ = iroise
    cat = load_catalogue()
    b = int(cat.index(BREST))
    with netCDF4.Dataset(run / "stations.nc") as ds:
        t = netCDF4.num2date(ds["time"][:], ds["time"].units, only_use_cftime_datetimes=False, only_use_python_datetimes=True)
    times = np.array([np.datetime64(x.replace(tzinfo=None), "ns") for x in t])
    hourly = np.datetime64("2022-03-01T00:00") + np.arange(40 * 24) * np.timedelta64(3600, "s")
    coef = utide.solve(
        hourly,
        np.cos(2 * np.pi * np.arange(hourly.size) * 3600.0 / 44714.0),
        lat=cat.lat[b],
        constit=list(cat.constituents),
        method="ols",
        conf_int="none",
        trend=False,
        verbose=False,
    )
    names = list(coef.name)
    coef.A, coef.g = np.zeros(len(names)), np.zeros(len(names))
    for k, c in enumerate(cat.constituents):
        coef.A[names.index(c)], coef.g[names.index(c)] = cat.amplitude[b, k], cat.phase[b, k]
    coef.mean = coef.slope = 0.0
    ref = utide.reconstruct(times, coef, verbose=False).h
    ours = var(run, "tide_prediction")[station_index(run, "Brest")]
    assert np.ptp(ours) > 5.5  # spring tide at Brest
    assert np.abs(ours - ref).max() < 0.015
    assert np.all(np.isnan(var(run, "tide_prediction")[station_index(run, "basin head")]))


def test_water_level_above_chart_datum_and_lat_by_hand(iroise):
    run, _ = iroise
    i = station_index(run, "Brest")
    zeta = var(run, "zeta")[i]
    assert var(run, "msl_above_chart_datum")[i] == pytest.approx(MSL_ABOVE_LAT_BREST, abs=1e-4)
    assert var(run, "msl_above_lat")[i] == pytest.approx(MSL_ABOVE_LAT_BREST, abs=1e-4)
    assert var(run, "mhws_above_msl")[i] == pytest.approx(MHWS_BREST, abs=1e-4)
    assert var(run, "hat_above_msl")[i] == pytest.approx(HAT_BREST, abs=1e-4)
    np.testing.assert_allclose(var(run, "zeta_above_chart_datum")[i], zeta + MSL_ABOVE_LAT_BREST, atol=1e-4)
    np.testing.assert_allclose(var(run, "zeta_above_lat")[i], zeta + MSL_ABOVE_LAT_BREST, atol=1e-4)
    # never below chart datum by more than the model's error: LAT is the lowest tide
    assert var(run, "zeta_above_chart_datum")[i].min() > -0.3


def test_skill_against_the_gauge_tide(iroise):
    """The basin forced with Brest's own tide reproduces it at the Brest station: RMSE under
    10 cm on a 5.8 m range (measured 5.5 cm), high water within 20 minutes; skill.csv and
    run.json carry the numbers of the published series."""
    run, info = iroise
    rows = {r["gauge_id"]: r for r in csv.DictReader(open(run / "skill.csv"))}
    assert set(rows) == {BREST, CONQUET}
    i = station_index(run, "Brest")
    model, tide = var(run, "zeta")[i], var(run, "tide_prediction")[i]
    rmse = float(np.sqrt(np.mean((model - tide) ** 2)))
    assert float(rows[BREST]["rmse_m"]) == pytest.approx(rmse, rel=1e-4)
    assert float(rows[BREST]["bias_m"]) == pytest.approx(float(np.mean(model - tide)), abs=1e-5)
    assert float(rows[BREST]["correlation"]) == pytest.approx(float(np.corrcoef(model, tide)[0, 1]), abs=1e-6)
    assert rmse < 0.10 and int(rows[BREST]["hw_pairs"]) == 2
    assert abs(float(rows[BREST]["hw_time_error_mean_min"])) < 20.0
    assert abs(float(rows[BREST]["hw_height_error_mean_m"])) < 0.15
    s = info["skill"]
    assert s["n_gauges"] == 2 and s["rmse_median_m"] == pytest.approx(np.median([float(r["rmse_m"]) for r in rows.values()]))
    assert json.loads((run / "run.json").read_text())["skill"]["stations"][0]["station"] in ("Brest", "Le Conquet")


def test_alerts_for_mhws_and_a_users_chart_datum_threshold(iroise):
    """Spring tide of 2022-03-18: the forecast exceeds MHWS (2.800 m above MSL) at Brest but not
    HAT (3.695 m); the user's quay at 6.0 m above chart datum is 2.219 m above MSL."""
    run, info = iroise
    i = station_index(run, "Brest")
    peak = float(np.nanmax(var(run, "zeta")[i]))
    alerts = {(a["station"], a["threshold"]): a for a in info["alerts"]}
    assert MHWS_BREST < peak < HAT_BREST
    assert ("Brest", "HAT") not in alerts
    mhws = alerts[("Brest", "MHWS")]
    assert mhws["level"] == pytest.approx(MHWS_BREST, abs=1e-4)
    assert mhws["margin"] == pytest.approx(peak - MHWS_BREST, abs=0.02)  # the peak refined between samples
    quay = alerts[("Brest", "quay")]
    assert quay["level"] == pytest.approx(6.0 - MSL_ABOVE_LAT_BREST, abs=1e-4)
    assert quay["first_time"] < mhws["first_time"] < quay["peak_time"]
    assert ("basin head", "MHWS") not in alerts  # the user's own station has no datums


def test_stations_with_gauge_variables_pass_the_cf_checker(iroise):
    run, _ = iroise
    out = subprocess.run([*CC, str(run / "stations.nc")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]


def test_any_subset_catalogue_and_no_gauges(tmp_path):
    """A catalogue of one gauge (written by the builder) gives that gauge only; ``catalogue =
    "none"`` gives none, and a threshold naming a gauge that is not there is refused in one line."""
    from workflows.cycle import prepare
    from workflows.data.gauges import build_catalogue as bc

    full = load_catalogue()
    k = int(full.index(CONQUET))
    header = ["id", "name", "country", "source", "licence", "lat", "lon"]
    header += [f"{c}_{q}" for c in full.constituents for q in ("amp_m", "phase_deg")]
    header += ["chart_datum"] + [f"datum_{d}_m" for d in full.datums]
    row = [full.station_id[k], full.name[k], full.country[k], full.source[k], full.licence[k], full.lat[k], full.lon[k]]
    row += [v for c in range(len(full.constituents)) for v in (full.amplitude[k, c], full.phase[k, c])]
    row += [full.chart_datum[k]] + list(full.datum_height[k])
    src = tmp_path / "one.csv"
    src.write_text(",".join(header) + "\n" + ",".join("" if isinstance(v, float) and np.isnan(v) else str(v) for v in row) + "\n")
    one = bc.build(src, tmp_path / "one.nc")
    cfg = iroise_inputs(tmp_path / "in", gauges={"catalogue": str(one)}, thresholds=[])
    plan = json.loads(prepare(cfg, tmp_path / "run").read_text())
    assert [g["gauge_id"] for g in plan["gauges"]] == [CONQUET]
    cfg = iroise_inputs(tmp_path / "in2", gauges={"catalogue": "none"}, thresholds=[])
    assert json.loads(prepare(cfg, tmp_path / "run2").read_text())["gauges"] == []
    cfg = iroise_inputs(tmp_path / "in3", gauges={"catalogue": "none"})
    with pytest.raises(
        ConfigError, match=r"\[\[thresholds\]\] station 'Brest' is neither one of the system's stations nor a gauge"
    ):
        prepare(cfg, tmp_path / "run3")


@pytest.mark.parametrize(
    "table, message",
    [
        ({"gauges": {"max_distance": 5}}, "unknown key 'max_distance'; did you mean 'max_distance_km'?"),
        ({"gauges": {"thresholds": ["MHWZ"]}}, "thresholds MHWZ: not a tidal datum"),
        ({"gauges": {"catalogue": "nothere.nc"}}, "[gauges] catalogue 'nothere.nc' does not exist"),
        ({"thresholds": [{"station": "Brest", "level_m": 3.0, "datum": "CD"}]}, "datum 'CD' is not one of"),
    ],
)
def test_gauge_keys_are_checked(tmp_path, table, message):
    from workflows.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(iroise_inputs(tmp_path / "in", **table))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_user_stations_are_checked_against_the_mesh_not_the_box():
    """A lon/lat strip whose western half is land (depth −2 m): a station in the water stays, one
    on land 2 km from the water moves to the nearest wet face (its distance recorded), one 20 km
    inland or 20 km off the mesh is refused with a one-line reason."""
    from types import SimpleNamespace as S

    from solver.mesh import Mesh
    from workflows.gauge_stations import GaugeStationError, great_circle_km, place_stations

    nx, ny = 40, 10
    lon, lat = np.meshgrid(np.linspace(-5.0, -4.0, nx + 1), np.linspace(48.0, 48.25, ny + 1))
    lon, lat = lon.ravel(), lat.ravel()
    idx = np.arange(lon.size).reshape(ny + 1, nx + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    faces = np.concatenate([np.c_[a, b, c], np.c_[a, c, d]])
    depth = np.where(lon < -4.5, -2.0, 10.0)
    mesh = Mesh(lon, lat, faces, depth)
    water = S(name="water", lon=-4.3, lat=48.1)
    shore = S(name="shore", lon=-4.55, lat=48.1)  # on land, about 2-4 km from the first wet face
    placed = place_stations([water, shore], mesh)
    assert placed[0].moved_km == 0.0 and (placed[0].lon, placed[0].lat) == (-4.3, 48.1)
    p = placed[1]
    assert 0.5 < p.moved_km < 5.0 and p.lon > -4.525  # into the first faces with water (mean node depth ≥ 0.5 m)
    assert p.moved_km == pytest.approx(float(great_circle_km(-4.55, 48.1, p.lon, p.lat)), rel=1e-9)
    for far in (S(name="inland", lon=-4.8, lat=48.1), S(name="offshore", lon=-3.7, lat=48.1)):
        with pytest.raises(GaugeStationError, match=rf"station '{far.name}' at .* km away \(limit 5 km\)"):
            place_stations([far], mesh)
