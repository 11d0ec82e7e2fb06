"""Output writers (solver.output): fields.nc (UGRID/CF), stations.nc (CF timeSeries), max.nc.

One small real simulation per mesh kind (a 2 km × 1 km rectangle, sloping bed that is dry in the
east, a 0.1 m / 600 s tide on the west boundary, Manning friction; 10 simulated minutes, 128
faces) runs once with all writers while callbacks record the model state independently at every
step; the tests compare the files with those recordings and run the CF and UGRID checkers.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import netCDF4
import numpy as np
import pytest

from solver import (
    Callback,
    Clock,
    IterationInterval,
    ManningFriction,
    Mesh,
    ShallowWaterModel,
    Simulation,
    TidalElevation,
    TimeInterval,
)
from solver.builders import rectangle
from solver.output import (
    MaximaWriter,
    StationError,
    StationWriter,
    UGRIDFieldWriter,
    locate_points,
)

START = datetime(2026, 1, 1, 6, tzinfo=UTC)
STOP = 600.0
FIELD_EVERY = 60.0
STATION_EVERY = 30.0
LAT0 = 50.0
M_PER_DEG = 111_195.0
STATIONS_XY = [("Harbour A", 310.0, 520.0), ("Pier-B", 1010.0, 205.0), ("C", 1490.0, 777.0)]
CC = ["-t", "cf:1.11", "-s", "check_cf_role", "-s", "check_single_cf_role", "-s", "check_dimension_order"]


def to_lonlat(x, y):
    return -4.0 + np.asarray(x) / (M_PER_DEG * np.cos(np.radians(LAT0))), LAT0 + np.asarray(y) / M_PER_DEG


def make_mesh(kind):
    m = rectangle(2000.0, 1000.0, 8, 4, depth=lambda x, y: 3.0 - 3.5 * x / 2000.0)
    if kind == "lonlat":
        lon, lat = to_lonlat(m.node_x, m.node_y)
        m = Mesh(lon, lat, m.face_node_connectivity, m.depth, m.boundaries, crs="EPSG:4326", name="rectangle lon/lat")
    return m


def make_model(mesh):
    tide = TidalElevation(lambda t: 0.1 * np.sin(2 * np.pi * t / 600.0))
    return ShallowWaterModel(mesh, boundary_conditions={"west": tide}, friction=ManningFriction(0.025))


def stations_for(kind):
    if kind == "lonlat":
        return [(n, *map(float, to_lonlat(x, y))) for n, x, y in STATIONS_XY]
    return STATIONS_XY


def snapshot(sim):
    m = sim.model
    u, v = m.velocity(sim.state)
    return {"t": sim.clock.time, "eta": m.eta(sim.state).copy(), "u": u, "v": v, "wet": sim.state.h > m.dry_depth}


def independent_node_average(mesh, wet, q):
    """Area-weighted mean of q over the wet faces around each node, with a plain loop (NaN if none)."""
    num = np.zeros(mesh.n_node)
    den = np.zeros(mesh.n_node)
    for f, nodes in enumerate(mesh.face_node_connectivity):
        if wet[f]:
            for n in nodes:
                num[n] += mesh.face_area[f] * q[f]
                den[n] += mesh.face_area[f]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


@pytest.fixture(scope="module", params=["cartesian", "lonlat"])
def case(request, tmp_path_factory):
    kind = request.param
    out = tmp_path_factory.mktemp(kind)
    mesh = make_mesh(kind)
    model = make_model(mesh)
    fields = UGRIDFieldWriter(out / "fields.nc", TimeInterval(FIELD_EVERY), title="test fields")
    stations = StationWriter(out / "stations.nc", TimeInterval(STATION_EVERY), stations_for(kind))
    maxima = MaximaWriter(out / "max.nc")
    dense, at_fields, at_stations, part_seen = [], [], [], []

    def watch(sim):
        part_seen.append((fields.part_path.exists(), (out / "fields.nc").exists()))

    sim = Simulation(
        model,
        model.initial_state(0.0),
        stop_time=STOP,
        clock=Clock(start=START),
        output_writers={"fields": fields, "stations": stations, "max": maxima},
        callbacks={
            "dense": Callback(lambda s: dense.append(snapshot(s)), IterationInterval(1)),
            "fields": Callback(lambda s: at_fields.append(snapshot(s)), TimeInterval(FIELD_EVERY)),
            "stations": Callback(lambda s: at_stations.append(snapshot(s)), TimeInterval(STATION_EVERY)),
            "watch": Callback(watch, TimeInterval(120.0)),
        },
    ).run()
    return {
        "kind": kind,
        "out": out,
        "mesh": mesh,
        "model": model,
        "sim": sim,
        "dense": dense,
        "fields": at_fields,
        "stations": at_stations,
        "part_seen": part_seen,
        "writers": (fields, stations, maxima),
    }


def run_checker(args):
    exe = shutil.which(args[0])
    if exe is None:
        pytest.skip(f"{args[0]} is not installed")
    return subprocess.run([exe, *args[1:]], check=False, capture_output=True, text=True, timeout=120)


# -- checkers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fields.nc", "stations.nc", "max.nc"])
def test_files_pass_cf_1_11_compliance_checker(case, name):
    r = run_checker(["compliance-checker", *CC, str(case["out"] / name)])
    assert r.returncode == 0, r.stdout[-3000:]
    assert "All tests passed!" in r.stdout, r.stdout[-3000:]


@pytest.mark.parametrize("name", ["fields.nc", "max.nc"])
def test_mesh_files_pass_ugrid_checker(case, name):
    r = run_checker(["ugrid-checker", str(case["out"] / name)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No problems found" in r.stdout, r.stdout


# -- fields.nc --------------------------------------------------------------------------------
def test_fields_attributes_and_encoding(case):
    with netCDF4.Dataset(case["out"] / "fields.nc") as ds:
        assert ds.Conventions == "CF-1.11 UGRID-1.0"
        assert ds.title == "test fields" and ds.institution == "coastcast"
        assert "coastcast 0.1" in ds.source
        assert ds.dimensions["time"].isunlimited()
        assert ds["time"].units == "seconds since 2026-01-01 06:00:00"
        np.testing.assert_array_equal(ds["time"][:], np.arange(0.0, STOP + 1, FIELD_EVERY))
        z = ds["zeta"]
        assert z.dtype == np.float32 and z.dimensions == ("time", "nMesh2_node")
        assert z.standard_name == "sea_surface_height_above_mean_sea_level"
        assert z.chunking() == [1, case["mesh"].n_node]
        assert z.filters()["zlib"] and z.filters()["complevel"] == 4
        assert ds["depth"].standard_name == "sea_floor_depth_below_mean_sea_level" and ds["depth"].positive == "down"
        np.testing.assert_allclose(ds["depth"][:], case["mesh"].depth, rtol=1e-6)
        expect_u = "barotropic_eastward_sea_water_velocity" if case["kind"] == "lonlat" else "barotropic_sea_water_x_velocity"
        assert ds["ubar"].standard_name == expect_u
        np.testing.assert_array_equal(ds["mesh2d_face_nodes"][:], case["mesh"].face_node_connectivity)


def test_xugrid_node_zeta_equals_independent_area_weighted_average(case):
    xugrid = pytest.importorskip("xugrid")
    uds = xugrid.open_dataset(case["out"] / "fields.nc", engine="netcdf4")  # no cfgrib/eccodes import
    mesh = case["mesh"]
    times = uds["time"].values
    assert len(times) == len(case["fields"]) == 11
    np.testing.assert_array_equal(
        times, np.array([np.datetime64((START + timedelta(seconds=60 * k)).replace(tzinfo=None), "ns") for k in range(11)])
    )
    checked_dry = 0
    for k in (3, 7, 10):
        snap = case["fields"][k]
        ref = independent_node_average(mesh, snap["wet"], snap["eta"])
        got = uds["zeta"].isel(time=k).values
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=0, atol=2e-7)
        uref = independent_node_average(mesh, snap["wet"], snap["u"])
        np.testing.assert_allclose(uds["ubar"].isel(time=k).values, np.nan_to_num(uref), atol=1e-6)
        dry = np.isnan(ref)
        checked_dry += dry.sum()
        assert (uds["ubar"].isel(time=k).values[dry] == 0).all()
        np.testing.assert_array_equal(uds["wet"].isel(time=k).values, (~dry).astype(np.int8))
    assert checked_dry > 0, "the case should have dry nodes (the bed is above the datum in the east)"
    assert uds.ugrid.grid.n_face == mesh.n_face


def test_fields_face_values_are_the_model_values(case):
    with netCDF4.Dataset(case["out"] / "fields.nc") as ds:
        for k, snap in enumerate(case["fields"]):
            zf = ds["zeta_face"][k]
            np.testing.assert_array_equal(np.ma.getmaskarray(zf), ~snap["wet"])
            np.testing.assert_array_equal(zf.compressed(), snap["eta"][snap["wet"]].astype(np.float32))
            np.testing.assert_array_equal(ds["ubar_face"][k], snap["u"].astype(np.float32))
            np.testing.assert_array_equal(ds["vbar_face"][k], snap["v"].astype(np.float32))
            np.testing.assert_array_equal(ds["wet_face"][k], snap["wet"].astype(np.int8))
    # the tide reached the interior
    assert np.nanmax(np.abs(case["fields"][5]["eta"][case["fields"][5]["wet"]])) > 0.05


def test_part_file_during_the_run_and_only_final_file_afterwards(case):
    out = case["out"]
    assert case["part_seen"] and all(part and not final for part, final in case["part_seen"])
    for name in ("fields.nc", "stations.nc", "max.nc"):
        assert (out / name).is_file()
        assert not (out / (name + ".part")).exists()


def test_run_that_raises_leaves_no_fields_file(tmp_path):
    mesh = make_mesh("cartesian")
    model = make_model(mesh)
    writers = {
        "fields": UGRIDFieldWriter(tmp_path / "fields.nc", TimeInterval(30.0)),
        "stations": StationWriter(tmp_path / "stations.nc", TimeInterval(30.0), STATIONS_XY),
        "max": MaximaWriter(tmp_path / "max.nc"),
    }

    def boom(sim):
        if sim.clock.time > 0:
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        Simulation(
            model,
            model.initial_state(0.0),
            stop_time=300.0,
            clock=Clock(start=START),
            output_writers=writers,
            callbacks={"boom": Callback(boom, TimeInterval(90.0))},
        ).run()
    for name in ("fields.nc", "stations.nc", "max.nc"):
        assert not (tmp_path / name).exists()
    assert (tmp_path / "fields.nc.part").exists()
    writers["fields"].abort()
    assert not (tmp_path / "fields.nc.part").exists()


def test_publish_start_skips_spin_up_and_geoid_datum(tmp_path):
    mesh = make_mesh("lonlat")
    model = make_model(mesh)
    w = UGRIDFieldWriter(
        tmp_path / "f.nc", TimeInterval(60.0), publish_start=180.0, datum="geoid", compression=0, start=START - timedelta(hours=1)
    )
    Simulation(model, model.initial_state(0.0), stop_time=300.0, clock=Clock(start=START), output_writers={"f": w}).run()
    with netCDF4.Dataset(tmp_path / "f.nc") as ds:
        np.testing.assert_array_equal(ds["time"][:], 3600.0 + np.array([180.0, 240.0, 300.0]))
        assert ds["time"].units == "seconds since 2026-01-01 05:00:00"
        assert ds["zeta"].standard_name == "sea_surface_height_above_geoid"
        assert ds["depth"].standard_name == "sea_floor_depth_below_geoid"
        assert not ds["zeta"].filters()["zlib"]


def test_unknown_datum_is_refused():
    with pytest.raises(ValueError, match="unknown datum 'chart datum'"):
        UGRIDFieldWriter("x.nc", TimeInterval(60.0), datum="chart datum")


# -- stations.nc ------------------------------------------------------------------------------
def reference_face(mesh, x, y):
    """The containing face found with matplotlib's trapezoid-map finder (independent of locate_points)."""
    from matplotlib.tri import Triangulation

    tri = Triangulation(mesh.node_x, mesh.node_y, mesh.face_node_connectivity)
    return int(tri.get_trifinder()(x, y))


def test_locate_points_agrees_with_matplotlib_trifinder():
    mesh = make_mesh("cartesian")
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-100, 2100, 300), rng.uniform(-100, 1100, 300)
    got = locate_points(mesh, x, y)
    ref = np.array([reference_face(mesh, a, b) for a, b in zip(x, y)])
    np.testing.assert_array_equal(got, ref)
    assert (got == -1).sum() > 10 and (got >= 0).sum() > 200


def test_station_series_equal_model_face_values(case):
    mesh = case["mesh"]
    with netCDF4.Dataset(case["out"] / "stations.nc") as ds:
        assert ds.featureType == "timeSeries"
        assert ds["station_name"].cf_role == "timeseries_id"
        names = [str(n) for n in ds["station_name"][:]]
        assert names == [s[0] for s in STATIONS_XY]
        np.testing.assert_array_equal(ds["time"][:], np.arange(0.0, STOP + 1, STATION_EVERY))
        st = stations_for(case["kind"])
        xname, yname = ("lon", "lat") if case["kind"] == "lonlat" else ("x", "y")
        np.testing.assert_array_equal(ds[xname][:], [s[1] for s in st])
        np.testing.assert_array_equal(ds[yname][:], [s[2] for s in st])
        zeta, u, v = ds["zeta"][:], ds["u"][:], ds["v"][:]
        assert zeta.shape == (3, len(case["stations"]))
    for i, (_, x, y) in enumerate(st):
        f = reference_face(mesh, x, y)
        for k, snap in enumerate(case["stations"]):
            assert snap["wet"][f]
            assert zeta[i, k] == np.float32(snap["eta"][f])
            assert u[i, k] == np.float32(snap["u"][f]) and v[i, k] == np.float32(snap["v"][f])
    assert np.ptp(zeta[0]) > 0.1  # the tide passes the stations


def test_station_outside_mesh_is_refused_at_construction():
    mesh = make_mesh("lonlat")
    lon, lat = to_lonlat(2500.0, 300.0)
    with pytest.raises(StationError, match=r"station 'Offshore' at \(-3\.96\d+°, 50\.002\d*°\) lies outside mesh") as e:
        StationWriter("s.nc", TimeInterval(60.0), [("Offshore", lon, lat)], mesh=mesh)
    assert "\n" not in str(e.value)


def test_station_in_dry_face_is_refused_at_open(tmp_path):
    mesh = make_mesh("cartesian")
    model = make_model(mesh)
    w = StationWriter(tmp_path / "s.nc", TimeInterval(60.0), [("Dune", 1900.0, 500.0)])
    sim = Simulation(model, model.initial_state(0.0), stop_time=60.0, output_writers={"s": w})
    with pytest.raises(StationError, match=r"station 'Dune' at \(1900, 500\) lies in face \d+, dry at the start"):
        sim.run()
    # accepted with allow_dry; zeta is masked while the face stays dry
    w = StationWriter(tmp_path / "s.nc", TimeInterval(60.0), [("Dune", 1900.0, 500.0)], allow_dry=True)
    Simulation(model, model.initial_state(0.0), stop_time=60.0, output_writers={"s": w}).run()
    with netCDF4.Dataset(tmp_path / "s.nc") as ds:
        assert np.ma.getmaskarray(ds["zeta"][:]).all()
        assert (ds["u"][:] == 0).all()


def test_malformed_stations_are_refused():
    with pytest.raises(StationError, match=r"station 1: expected \(name, lon, lat\)"):
        StationWriter("s.nc", None, [("A", 0.0, 0.0), ("B", 1.0)])
    with pytest.raises(StationError, match="repeated: 'A'"):
        StationWriter("s.nc", None, [("A", 0.0, 0.0), ("A", 1.0, 1.0)])


# -- max.nc -----------------------------------------------------------------------------------
def test_maxima_equal_the_maximum_of_a_dense_recording(case):
    mesh = case["mesh"]
    dense = case["dense"]
    assert len(dense) == case["sim"].clock.iteration + 1
    eta = np.array([d["eta"] for d in dense])
    wet = np.array([d["wet"] for d in dense])
    speed = np.array([np.hypot(d["u"], d["v"]) for d in dense])
    times = np.array([d["t"] for d in dense])
    zf = np.where(wet, eta, -np.inf)
    sf = np.where(wet, speed, -np.inf)
    node_z = np.array([independent_node_average(mesh, d["wet"], d["eta"]) for d in dense])
    node_u = np.array([independent_node_average(mesh, d["wet"], d["u"]) for d in dense])
    node_v = np.array([independent_node_average(mesh, d["wet"], d["v"]) for d in dense])
    nz = np.where(np.isnan(node_z), -np.inf, node_z)
    ns = np.where(np.isnan(node_z), -np.inf, np.hypot(node_u, node_v))
    with netCDF4.Dataset(case["out"] / "max.nc") as ds:
        assert ds["time"].units == "seconds since 2026-01-01 06:00:00"
        assert ds.time_coverage_end == "2026-01-01T06:10:00Z"
        for name, ref in (("zeta_max_face", zf), ("speed_max_face", sf), ("zeta_max", nz), ("speed_max", ns)):
            got = ds[name][:]
            never = np.isneginf(ref.max(axis=0))
            np.testing.assert_array_equal(np.ma.getmaskarray(got), never, err_msg=name)
            np.testing.assert_allclose(
                got.compressed(), ref.max(axis=0)[~never].astype(np.float32), rtol=2e-7, atol=1e-7, err_msg=name
            )
            tname = {"zeta_max": "zeta_max_time", "speed_max": "speed_max_time"}.get(name, name.replace("_face", "_time_face"))
            when = ds[tname][:]
            np.testing.assert_array_equal(np.ma.getmaskarray(when), never, err_msg=tname)
            np.testing.assert_array_equal(when.compressed(), times[ref.argmax(axis=0)][~never], err_msg=tname)
        assert np.ma.getmaskarray(ds["zeta_max_face"][:]).sum() > 0
        # the maximum is reached between output times, so output-time sampling would miss it
        assert not np.isin(ds["zeta_max_time_face"][:].compressed(), np.arange(0, STOP + 1, FIELD_EVERY)).all()


@pytest.mark.filterwarnings("ignore:Projected \\(non-spherical\\) coordinates:UserWarning")
def test_uxarray_opens_fields_and_maxima(case):
    ux = pytest.importorskip("uxarray")
    for name, var in (("fields.nc", "zeta"), ("max.nc", "zeta_max")):
        path = str(case["out"] / name)
        uds = ux.open_dataset(path, path, engine="netcdf4", grid_kwargs={"engine": "netcdf4"})
        assert uds.uxgrid.n_face == case["mesh"].n_face and uds.uxgrid.n_node == case["mesh"].n_node
        with netCDF4.Dataset(path) as ds:
            np.testing.assert_array_equal(uds[var].values, np.ma.filled(ds[var][:].astype(float), np.nan))


def test_projected_mesh_writes_lonlat_and_locates_lonlat_stations(tmp_path):
    from pyproj import Transformer

    m = rectangle(2000.0, 1000.0, 8, 4, x0=400_000.0, y0=5_540_000.0, depth=3.0)
    mesh = Mesh(m.node_x, m.node_y, m.face_node_connectivity, m.depth, m.boundaries, crs="EPSG:32630", name="utm")
    to_ll = Transformer.from_crs("EPSG:32630", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(401_010.0, 5_540_205.0)
    model = make_model(mesh)
    f = UGRIDFieldWriter(tmp_path / "fields.nc", TimeInterval(60.0))
    s = StationWriter(tmp_path / "stations.nc", TimeInterval(60.0), [("P", lon, lat)])
    sim = Simulation(
        model, model.initial_state(0.0), stop_time=120.0, clock=Clock(start=START), output_writers={"f": f, "s": s}
    ).run()
    ug, vg = model.velocity(sim.state)
    assert s.faces[0] == reference_face(mesh, 401_010.0, 5_540_205.0)
    nlon, nlat = to_ll.transform(mesh.node_x, mesh.node_y)
    with netCDF4.Dataset(tmp_path / "fields.nc") as ds:
        np.testing.assert_allclose(ds["mesh2d_node_x"][:], nlon, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds["mesh2d_node_y"][:], nlat, rtol=0, atol=1e-12)
        assert ds["mesh2d_node_x"].standard_name == "longitude"
        assert ds["ubar"].standard_name == "barotropic_eastward_sea_water_velocity"
        assert ds["mesh2d"].coastcast_crs == "EPSG:32630"
        ue, vn = ds["ubar_face"][-1].astype(float), ds["vbar_face"][-1].astype(float)
    # grid components are rotated to east/north by the meridian convergence (pyproj's, independent)
    from pyproj import Proj

    gamma = Proj("EPSG:32630").get_factors(*to_ll.transform(mesh.face_x, mesh.face_y)).meridian_convergence
    assert 0.9 < np.abs(gamma).min() and np.abs(gamma).max() < 1.2  # ~1.07° at 4.4° W, 50° N in zone 30
    moving = np.hypot(ug, vg) > 0.05
    assert moving.sum() > 20
    np.testing.assert_allclose(np.hypot(ue, vn)[moving], np.hypot(ug, vg)[moving], rtol=1e-6)
    turn = np.degrees(np.arctan2(vn, ue) - np.arctan2(vg, ug))[moving]
    np.testing.assert_allclose(np.abs(turn), np.abs(gamma[moving]), atol=2e-3)
    # west of the central meridian (3° W) the meridians lean towards it (true north has a grid +x
    # component), so a flow along grid +x has a northward component: the turn is anticlockwise
    assert (turn > 0).all()
