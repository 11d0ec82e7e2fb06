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
    assert rec["peak_memory_mb"] > 0
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
    """Water level at the mouth station swings by about the forced tide (M2 1 m + S2 0.3 m)."""
    run_dir, _ = cycle
    z = read(run_dir / "stations.nc", "zeta")
    names = [n.tobytes().decode().strip("\x00 ") if hasattr(n, "tobytes") else str(n) for n in read(run_dir / "stations.nc", "station_name")]
    mouth = z[0] if z.shape[0] == 2 else z[:, 0]
    assert 0.3 < np.ptp(mouth) < 3.0


def test_segments_join_seamlessly(tmp_path, cycle):
    """The same cycle in one segment gives the same published numbers as in 1-hour segments."""
    run_dir, _ = cycle
    cfg = write_inputs(tmp_path / "in", segment_hours=10.0)
    run_cycle(cfg, tmp_path / "run", figures=False)
    for f, v in (("fields.nc", "zeta"), ("fields.nc", "ubar"), ("stations.nc", "zeta"), ("max.nc", "zeta_max"), ("max.nc", "zeta_max_time")):
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
    np.testing.assert_array_equal(read(tmp_path / "run" / "stations.nc", "zeta")[..., -1], read(run_dir / "stations.nc", "zeta")[..., -1])


def test_restart_valid_at_another_time_is_refused(tmp_path, cycle):
    from workflows.config import ConfigError

    run_dir, _ = cycle
    cfg = write_inputs(tmp_path / "in", start="2026-01-10T05:00Z", hours=1.0, initial={"kind": "restart", "file": str(run_dir / "restart.nc")})
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
