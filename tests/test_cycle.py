"""A forecast cycle end to end on a small real basin: outputs read back by real clients, segments
that join seamlessly, and an exact hot start (DESIGN §5, §6)."""

import json
import shutil
import subprocess

import netCDF4
import numpy as np
import pytest

from tests.cycle_fixtures import write_inputs
from workflows.cycle import run_cycle

CC = ["compliance-checker", "-t", "cf:1.11", "-s", "check_cf_role", "-s", "check_single_cf_role", "-s", "check_dimension_order"]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    cfg = write_inputs(root / "in")
    info = run_cycle(cfg, root / "run")
    return root / "run", info


def read(path, name):
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        return ds[name][:]


def test_outputs_and_run_record(cycle):
    run_dir, info = cycle
    for name in ("fields.nc", "stations.nc", "max.nc", "restart.nc", "run.json"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.rglob("*.part"))
    rec = json.loads((run_dir / "run.json").read_text())
    assert rec["status"] == "succeeded"
    assert rec["n_triangles"] == 144 and rec["n_time_steps"] > 50
    assert set(rec["stages_seconds"]) == {"prepare", "simulate", "publish"}
    assert rec["forcing"]["tides"][0]["boundary"] == "open_1"
    # the cycle ran in this process: its recorded peak is this process's peak so far, or less
    import resource

    assert 50.0 < rec["peak_memory_mb"] <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 + 1.0
    # published times: every 30 min from the forecast start (the spin-up is not published)
    t = read(run_dir / "fields.nc", "time")
    np.testing.assert_allclose(t, np.arange(5) * 1800.0)
    ts = read(run_dir / "stations.nc", "time")
    np.testing.assert_allclose(ts, np.arange(13) * 600.0)
    with netCDF4.Dataset(run_dir / "fields.nc") as ds:
        assert ds["time"].units.startswith("seconds since 2026-01-10")
        assert ds["zeta"].chunking()[0] == 1 and ds["zeta"].filters()["zlib"]


@pytest.mark.parametrize("name", ["fields.nc", "stations.nc", "max.nc"])
def test_published_files_pass_the_cf_checker(cycle, name):
    run_dir, _ = cycle
    out = subprocess.run([*CC, str(run_dir / name)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]


def test_fields_pass_the_ugrid_checker_and_open_in_xugrid(cycle):
    import xugrid

    run_dir, _ = cycle
    out = subprocess.run(["ugrid-checker", str(run_dir / "fields.nc")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "No problems found" in out.stdout, out.stdout[-2000:]
    ds = xugrid.open_dataset(run_dir / "fields.nc", engine="netcdf4")
    assert ds.ugrid.grid.n_face == 144
    assert ds["zeta"].sizes["time"] == 5


def test_tide_reaches_the_basin(cycle):
    """The water level at the mouth station, 1.5 km inside the open boundary of a 30-m deep basin
    (a tide wave crosses that in 90 s), follows the tide prescribed on the boundary (M2 1 m + S2
    0.3 m): against the boundary prediction, RMS difference < 4 cm over the 2-h forecast and the
    same range within 5 %."""
    from datetime import datetime, timezone

    from solver.formats import read_mesh
    from workflows.forcing.tides import tidal_forcing_for_boundary

    run_dir, _ = cycle
    z = read(run_dir / "stations.nc", "zeta")
    mouth = z[0] if z.shape[0] == 2 else z[:, 0]
    t = read(run_dir / "stations.nc", "time")  # s since the forecast start (2026-01-10T00Z)
    folder = run_dir.parent / "in"
    mesh = read_mesh(folder / "hgrid.gr3")
    ids = mesh.boundary("open_1").node_ids
    forcing = tidal_forcing_for_boundary(
        {"kind": "harmonics", "path": str(folder / "tides.csv")},
        mesh.node_x[ids],
        mesh.node_y[ids],
        ids,
        datetime(2026, 1, 10, tzinfo=timezone.utc),
    )
    boundary = np.array([forcing.elevation(float(s))[0] for s in t])
    assert np.ptp(boundary) > 0.3  # the 2-h window sees 0.37 m of the tide's swing
    assert np.sqrt(np.mean((mouth - boundary) ** 2)) < 0.04, np.c_[t, mouth, boundary]
    assert np.ptp(mouth) == pytest.approx(np.ptp(boundary), rel=0.05)


def test_segments_join_seamlessly(tmp_path, cycle):
    """The same cycle in one segment gives the same published numbers as in 1-hour segments."""
    run_dir, _ = cycle
    cfg = write_inputs(tmp_path / "in", segment_hours=10.0)
    run_cycle(cfg, tmp_path / "run", figures=False)
    for f, v in (
        ("fields.nc", "zeta"),
        ("fields.nc", "ubar"),
        ("stations.nc", "zeta"),
        ("max.nc", "zeta_max"),
        ("max.nc", "zeta_max_time"),
    ):
        np.testing.assert_array_equal(read(tmp_path / "run" / f, v), read(run_dir / f, v), err_msg=f"{f}:{v}")


def test_hot_start_continues_exactly(tmp_path, cycle):
    """A 2-h cycle equals a 1-h cycle's restart hot-started for the next hour, bit for bit."""
    run_dir, _ = cycle
    restart = tmp_path / "restart.nc"
    shutil.copyfile(run_dir / "restart.nc", restart)
    cfg = write_inputs(tmp_path / "in", start="2026-01-10T01:00Z", hours=1.0, initial={"kind": "restart", "file": str(restart)})
    info = run_cycle(cfg, tmp_path / "run", figures=False)
    assert info["cold_start"] is False
    hot = read(tmp_path / "run" / "fields.nc", "zeta")
    whole = read(run_dir / "fields.nc", "zeta")
    np.testing.assert_array_equal(hot[-1], whole[-1])
    np.testing.assert_array_equal(
        read(tmp_path / "run" / "stations.nc", "zeta")[..., -1], read(run_dir / "stations.nc", "zeta")[..., -1]
    )


def test_restart_valid_at_another_time_is_refused(tmp_path, cycle):
    from workflows.config import ConfigError

    run_dir, _ = cycle
    cfg = write_inputs(
        tmp_path / "in", start="2026-01-10T05:00Z", hours=1.0, initial={"kind": "restart", "file": str(run_dir / "restart.nc")}
    )
    with pytest.raises(ConfigError, match="valid at 2026-01-10T01:00:00"):
        run_cycle(cfg, tmp_path / "run", figures=False)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "failed"


def test_publish_refuses_segments_without_a_forcing_record(tmp_path):
    """A run folder whose segment stats predate the forcing record gets a one-line CycleError, not a KeyError."""
    import json

    from workflows.cycle import CycleError, publish

    run = tmp_path / "run"
    seg = run / "work" / "seg_000"
    seg.mkdir(parents=True)
    (run / "work" / "plan.json").write_text(json.dumps({"segments": [[0.0, 3600.0]], "t_end": 3600.0}))
    (seg / "stats.json").write_text(json.dumps({"steps": 1}))
    (seg / "end.nc").write_bytes(b"")
    with pytest.raises(CycleError, match="no forcing record"):
        publish(run, figures=False)


def test_solver_mesh_keeps_the_file_nodes_and_orders_faces_along_a_hilbert_curve(tmp_path):
    """read_mesh_for: the same nodes in the file's numbering (inputs keyed by node stay valid),
    the same triangles, renumbered so that consecutive faces are closer together in space."""
    from solver.formats import read_mesh
    from workflows.config import load_config
    from workflows.cycle import read_mesh_for

    cfg = load_config(write_inputs(tmp_path / "in"))
    raw = read_mesh(cfg.mesh_path)
    mesh = read_mesh_for(cfg)
    np.testing.assert_array_equal(mesh.node_x, raw.node_x)
    np.testing.assert_array_equal(mesh.node_y, raw.node_y)
    np.testing.assert_array_equal(mesh.depth, raw.depth)
    assert [b.node_ids.tolist() for b in mesh.boundaries] == [b.node_ids.tolist() for b in raw.boundaries]

    def rows(f):  # each triangle as its sorted node ids, in a canonical order
        s = np.sort(f, axis=1)
        return s[np.lexsort(s.T[::-1])]

    np.testing.assert_array_equal(rows(mesh.face_node_connectivity), rows(raw.face_node_connectivity))

    def step(m):  # median distance between consecutive faces' centroids
        return np.median(np.hypot(np.diff(m.face_x), np.diff(m.face_y)))

    assert step(mesh) < step(raw)
    # consecutive faces are mostly edge neighbours along the curve
    ff = mesh.face_face_connectivity
    neighbours = (ff[:-1] == np.arange(1, mesh.n_face)[:, None]).any(axis=1)
    assert neighbours.mean() > 0.5


def gfs_grib(cycle, hour, box, u10: float) -> bytes:
    """A GFS-style GRIB2 file for ``cycle`` + ``hour`` over ``box``: uniform 10 m wind ``u10``
    eastward, 0 northward, 101325 Pa."""
    eccodes = pytest.importorskip("eccodes")
    res = 0.25
    lon0, lat_top = box.west % 360.0, box.north
    ni = int(round((box.east - box.west) / res)) + 1
    nj = int(round((box.north - box.south) / res)) + 1
    out = b""
    for short, level, value in (
        ("10u", "heightAboveGround", u10),
        ("10v", "heightAboveGround", 0.0),
        ("prmsl", "meanSea", 101325.0),
    ):
        h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
        try:
            eccodes.codes_set_key_vals(h, {"Ni": ni, "Nj": nj})
            eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", lat_top)
            eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", lat_top - res * (nj - 1))
            eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", lon0)
            eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", (lon0 + res * (ni - 1)) % 360.0)
            eccodes.codes_set(h, "iDirectionIncrementInDegrees", res)
            eccodes.codes_set(h, "jDirectionIncrementInDegrees", res)
            eccodes.codes_set(h, "dataDate", int(cycle.strftime("%Y%m%d")))
            eccodes.codes_set(h, "dataTime", cycle.hour * 100)
            eccodes.codes_set(h, "stepUnits", "h")
            eccodes.codes_set(h, "forecastTime", hour)
            eccodes.codes_set(h, "typeOfLevel", level)
            eccodes.codes_set(h, "shortName", short)
            eccodes.codes_set(h, "packingType", "grid_ieee")
            eccodes.codes_set_values(h, np.full(ni * nj, value))
            out += eccodes.codes_get_message(h)
        finally:
            eccodes.codes_release(h)
    return out


def test_the_forcing_is_resolved_once_at_prepare(tmp_path, monkeypatch):
    """Prepare resolves the forcing once (here: GFS unreachable, so the older cycle in the cache);
    a newer cycle that lands in the cache afterwards changes nothing: every segment opens the
    recorded files, the run equals one made without the newer files, and run.json lists every
    segment's sources. Resolving again with the newer files there would give other numbers."""
    from datetime import datetime, timedelta, timezone

    from tests.cycle_fixtures import basin_mesh
    from workflows.cycle import PLAN, prepare, publish, simulate_segment
    from workflows.forcing.gfs import Box, GfsDownloader, gfs_forecast_hours

    monkeypatch.setenv("COASTCAST_CACHE", str(tmp_path / "cache"))
    atmosphere = {
        "source": "gfs",
        "base_url": "http://127.0.0.1:9/filter_gfs_0p25.pl",
        "retries": 0,
        "timeout_seconds": 2.0,
        "backoff_seconds": 0.0,
        "extra_hours": 0,
        "fallback_cycles_hours": [6],
    }
    cfg = write_inputs(tmp_path / "in", start="2026-01-10T07:00Z", atmosphere=atmosphere)  # model time from 06:00 (1 h spin-up)
    mesh = basin_mesh()
    box = Box.around(mesh.node_x, mesh.node_y, 1.0)
    dl = GfsDownloader(tmp_path / "cache" / "gfs")
    t0 = datetime(2026, 1, 10, 6, tzinfo=timezone.utc)
    older_cycle, newer_cycle = t0 - timedelta(hours=6), t0

    def fill(cycle, u10):
        paths = []
        for hour in gfs_forecast_hours(cycle, t0, t0 + timedelta(hours=3)):
            p = dl.cache_path(cycle, hour, box)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(gfs_grib(cycle, hour, box, u10))
            paths.append(p)
        return paths

    older = [str(p) for p in fill(older_cycle, 5.0)]
    run = tmp_path / "run"
    prepare(cfg, run)
    newer = fill(newer_cycle, 20.0)  # the 06Z cycle arrives after prepare
    n = len(json.loads((run / PLAN).read_text())["segments"])
    for k in range(n):
        simulate_segment(run, k)
    forcing = publish(run, figures=False)["forcing"]
    assert forcing["atmosphere"]["used"] == "gfs-previous-cycle" and forcing["atmosphere"]["files"] == older
    assert n == 3 and [s["segment"] for s in forcing["segments"]] == [0, 1, 2]
    for s in forcing["segments"]:
        assert s["atmosphere"]["used"] == "gfs-previous-cycle" and s["atmosphere"]["files"] == older
        assert [t["source"] for t in s["tides"]] == [t["source"] for t in forcing["tides"]]
    assert json.loads((run / "run.json").read_text())["forcing"] == forcing
    for p in newer:
        p.unlink()
    run_cycle(cfg, tmp_path / "without", figures=False)
    for f, v in (("stations.nc", "zeta"), ("fields.nc", "zeta"), ("fields.nc", "ubar")):
        np.testing.assert_array_equal(read(run / f, v), read(tmp_path / "without" / f, v), err_msg=f"{f}:{v}")
    fill(newer_cycle, 20.0)
    late = run_cycle(cfg, tmp_path / "resolved-late", figures=False)
    assert late["forcing"]["atmosphere"]["used"] == "gfs"
    assert np.abs(read(tmp_path / "resolved-late" / "stations.nc", "zeta") - read(run / "stations.nc", "zeta")).max() > 1e-3
