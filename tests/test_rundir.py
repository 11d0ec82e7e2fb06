"""A run directory holds one forecast (docs/operations.md "Run directories").

Real ``coastcast run`` processes on the small tidal basin: a different configuration into the
same directory is refused and the forecast there is kept; two concurrent runs cannot both write;
``kill -9`` leaves a ``running`` record that reads as interrupted and a resume that finishes
bit-identical to an undisturbed run; SIGTERM is recorded; a missing named file, a tide switched on
as a step, and a partial publication are refused with one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import tomli_w

from tests.cycle_fixtures import write_inputs
from workflows import rundir, stopping
from workflows.config import ConfigError, load_config
from workflows.cycle import CycleError, Interrupted, run_cycle, verify_publication

FINE = (24, 12)  # 576 triangles: a few seconds per simulated hour, slow enough to catch mid-run


def coastcast(*args, cwd, wait=True, **kw):
    cmd = [sys.executable, "-m", "workflows.cli", *map(str, args)]
    env = {**os.environ, "COASTCAST_CACHE": str(Path(cwd) / "cache")}
    if wait:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env, **kw)
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zeta(path: Path) -> np.ndarray:
    with netCDF4.Dataset(path) as ds:
        return np.asarray(ds["zeta"][:])


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def edit(config: Path, out: Path, change) -> Path:
    data = tomllib.loads(config.read_text())
    change(data)
    out.write_text(tomli_w.dumps(data))
    return out


def wait_for(predicate, timeout=120.0, proc=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished 2-h cycle (1-h segments) run by the CLI."""
    root = tmp_path_factory.mktemp("rundir")
    cfg = write_inputs(root / "in", hours=2.0)
    out = coastcast("run", cfg, "--out", root / "run", "--no-figures", cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    return root, cfg, root / "run"


def test_a_different_configuration_is_refused_and_the_forecast_kept(finished, tmp_path):
    root, cfg, run = finished
    before = {n: sha(run / n) for n in ("fields.nc", "stations.nc", "max.nc", "restart.nc", "run.json", "config.toml")}
    other = edit(cfg, root / "in" / "manning.toml", lambda d: d["physics"].update(manning=0.06))
    out = coastcast("run", other, "--out", run, "--no-figures", cwd=tmp_path)
    assert out.returncode != 0
    line = out.stderr.strip().splitlines()[-1]
    assert "holds a forecast of other inputs" in line and "physics.manning 0.025 -> 0.06" in line and "--overwrite" in line, line
    # another start: refused too, naming the key
    out = coastcast("run", cfg, "--out", run, "--start", "2026-01-11T00:00Z", "--no-figures", cwd=tmp_path)
    assert out.returncode != 0 and "start '2026-01-10T00:00Z' -> '2026-01-11T00:00Z'" in out.stderr, out.stderr[-500:]
    # nothing already stored was touched
    assert {n: sha(run / n) for n in before} == before
    assert record(run)["status"] == "succeeded"


def test_overwrite_starts_clean(finished, tmp_path):
    _, cfg, run = finished
    copy = tmp_path / "run"
    out = coastcast("run", cfg, "--out", copy, "--no-figures", cwd=tmp_path)
    assert out.returncode == 0
    first = zeta(copy / "fields.nc")
    other = edit(cfg, cfg.with_name("manning.toml"), lambda d: d["physics"].update(manning=0.06))
    out = coastcast("run", other, "--out", copy, "--no-figures", "--overwrite", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    rec = record(copy)
    assert rec["status"] == "succeeded" and rec["config"]["physics"]["manning"] == 0.06 and rec["resumed_from"] is None
    # the new friction reached the numbers: more friction, a smaller tidal range at the head
    assert np.ptp(zeta(copy / "fields.nc")[:, -1]) < np.ptp(first[:, -1]) - 1e-3


def test_the_same_inputs_resume_and_count_only_this_runs_work(finished, tmp_path):
    root, cfg, run = finished
    copy = tmp_path / "run"
    out = coastcast("run", cfg, "--out", copy, "--no-figures", cwd=tmp_path)
    assert out.returncode == 0
    first = record(copy)
    out = coastcast("run", cfg, "--out", copy, "--no-figures", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    again = record(copy)
    assert again["resumed_from"]["segments_reused"] == [0, 1, 2]
    assert again["resumed_from"]["previous_attempt"] == first["attempt"] != again["attempt"]
    assert again["stages_seconds"]["simulate"] == 0.0
    assert again["fingerprint"]["sha256"] == first["fingerprint"]["sha256"]
    np.testing.assert_array_equal(zeta(copy / "fields.nc"), zeta(run / "fields.nc"))


def test_a_segment_end_state_of_other_inputs_is_not_reused(finished, tmp_path):
    """A tampered fingerprint on segment 1's end state: the segment is run again, same numbers."""
    _, cfg, run = finished
    copy = tmp_path / "run"
    assert coastcast("run", cfg, "--out", copy, "--no-figures", cwd=tmp_path).returncode == 0
    with netCDF4.Dataset(copy / "work" / "seg_001" / "end.nc", "a") as ds:
        ds.setncattr("coastcast_run_fingerprint", "0" * 64)
    out = coastcast("run", cfg, "--out", copy, "--no-figures", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "seg_001/end.nc was written for other inputs; running it and the later segments again" in out.stderr
    rec = record(copy)
    assert rec["resumed_from"]["segments_reused"] == [0]
    np.testing.assert_array_equal(zeta(copy / "fields.nc"), zeta(run / "fields.nc"))


def test_a_second_writer_is_refused_while_the_first_finishes_whole(tmp_path):
    cfg = write_inputs(tmp_path / "in", hours=3.0, resolution=FINE)
    run = tmp_path / "run"
    first = coastcast("run", cfg, "--out", run, "--no-figures", cwd=tmp_path, wait=False)
    try:
        wait_for(lambda: (run / "run.json").is_file() and record(run).get("status") == "running", proc=first)
        second = coastcast("run", cfg, "--out", run, "--no-figures", cwd=tmp_path)
        assert second.returncode != 0
        line = second.stderr.strip().splitlines()[-1]
        assert f"is being written by coastcast run (pid {first.pid} on" in line, line
        assert first.wait(timeout=600) == 0, first.stderr.read()[-2000:]
    finally:
        first.kill()
    rec = record(run)
    assert rec["status"] == "succeeded" and rec["pid"] == first.pid
    with netCDF4.Dataset(run / "fields.nc") as ds:
        assert ds.dimensions["time"].size == 7  # every 30 min, 0…3 h
    with netCDF4.Dataset(run / "stations.nc") as ds:
        assert ds.dimensions["time"].size == 19
    assert not rundir.is_locked(run)


def test_kill_9_reads_interrupted_and_the_resume_equals_an_undisturbed_run(tmp_path):
    cfg = write_inputs(tmp_path / "in", hours=3.0, resolution=FINE)
    whole = tmp_path / "whole"
    run_cycle(cfg, whole, figures=False)
    run = tmp_path / "run"
    proc = coastcast("run", cfg, "--out", run, "--no-figures", cwd=tmp_path, wait=False)
    try:
        wait_for(lambda: (run / "work" / "seg_001" / "end.nc").is_file(), proc=proc)
        rec = record(run)
        assert rec["status"] == "running" and rec["pid"] == proc.pid
        assert rundir.run_status(run)["status"] == "running"  # its writer lives
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    status = rundir.run_status(run)
    assert status["status"] == "interrupted" and f"pid {proc.pid}" in status["error"]
    assert not rundir.is_locked(run)
    out = coastcast("run", cfg, "--out", run, "--no-figures", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    rec = record(run)
    reused = rec["resumed_from"]["segments_reused"]
    assert reused[:2] == [0, 1] and rec["took_over_from"]["pid"] == proc.pid
    ours = [s for s in rec["segments"] if s["segment"] not in reused]
    assert rec["stages_seconds"]["simulate"] == pytest.approx(sum(s["wall_seconds"] for s in ours))
    assert rec["stages_seconds"]["simulate"] < sum(s["wall_seconds"] for s in rec["segments"])
    for name, var in (("fields.nc", "zeta"), ("stations.nc", "zeta"), ("max.nc", "zeta_max")):
        with netCDF4.Dataset(run / name) as a, netCDF4.Dataset(whole / name) as b:
            np.testing.assert_array_equal(a[var][:], b[var][:], err_msg=name)


def test_sigterm_is_recorded_as_interrupted(tmp_path):
    cfg = write_inputs(tmp_path / "in", hours=3.0, resolution=FINE)
    run = tmp_path / "run"
    proc = coastcast("run", cfg, "--out", run, "--no-figures", cwd=tmp_path, wait=False)
    try:
        wait_for(lambda: (run / "work" / "seg_000" / "end.nc").is_file(), proc=proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
    rec = record(run)
    assert rec["status"] == "interrupted" and "SIGTERM" in rec["error"], rec
    assert not list(run.glob("*.nc"))  # nothing published


class _LosesTheSignal:
    """Receives SIGTERM inside its destructor: the handler's exception is printed as "Exception
    ignored" and lost, as when the signal lands while the garbage collector runs a ``__del__``."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # bytecodes after the signal: the handler runs here
            time.sleep(0)


def test_a_stop_whose_exception_was_lost_still_stops_the_cycle(tmp_path, monkeypatch):
    """The signal arrives in a destructor during the first of three segments: its exception is
    lost, but the segment stops within its next 20 steps, the cycle records ``interrupted`` and
    publishes nothing (workflows.stopping)."""
    cfg = write_inputs(tmp_path / "in", hours=2.0)
    run = tmp_path / "run"
    previous = signal.getsignal(signal.SIGTERM)
    stopping.install()
    fired, lost = [], []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: lost.append(u.exc_type))  # "Exception ignored"

    def progress(done, total, wall):
        if not fired:
            fired.append(done)
            _LosesTheSignal()  # dropped at once: its __del__ runs now

    try:
        with pytest.raises(Interrupted, match="SIGTERM"):
            run_cycle(cfg, run, progress=progress, figures=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
        stopping.clear()
    assert fired and lost == [Interrupted]  # the handler's exception was lost, not raised
    rec = record(run)
    assert rec["status"] == "interrupted" and "SIGTERM" in rec["error"], rec
    assert not (run / "work" / "seg_000" / "end.nc").exists()  # the segment it landed in stopped
    assert not (run / "work" / "seg_001").exists()  # and the next one never started
    assert not list(run.glob("*.nc"))  # nothing published


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda d: d.update(atmosphere="nothere.nc"), "atmosphere 'nothere.nc' does not exist"),
        (lambda d: d.update(atmosphere={"source": "file", "path": ["era5.nc"]}), "[atmosphere] path 'era5.nc' does not exist"),
        (lambda d: d["tides"].update(file="tidez.csv"), "[tides] file 'tidez.csv' does not exist"),
        (lambda d: d.update(stations_file="ports.csv"), "stations_file 'ports.csv' does not exist"),
    ],
)
def test_a_named_input_that_does_not_exist_is_an_error(tmp_path, change, key):
    cfg = edit(write_inputs(tmp_path / "in"), tmp_path / "in" / "typo.toml", change)
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert key in str(info.value) and "\n" not in str(info.value)
    out = coastcast("run", cfg, "--out", tmp_path / "run", cwd=tmp_path)
    assert out.returncode == 2 and key in out.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run" / "fields.nc").exists()


def test_a_cold_start_without_spin_up_is_refused(tmp_path):
    cfg = write_inputs(tmp_path / "in", spinup_hours=0.0)
    out = coastcast("run", cfg, "--out", tmp_path / "run", cwd=tmp_path)
    assert out.returncode == 2
    line = out.stderr.strip().splitlines()[-1]
    assert "spinup_hours = 0 on a cold start from rest" in line and "step" in line, line
    # a state that is not at rest may start at once: an initial elevation (gr3 layout, as elev.ic)
    from solver.formats import read_mesh, write_mesh
    from solver.mesh import Mesh

    m = read_mesh(tmp_path / "in" / "hgrid.gr3")
    write_mesh(
        Mesh(m.node_x, m.node_y, m.face_node_connectivity, np.zeros(m.n_node), m.boundaries, crs=m.crs),
        tmp_path / "in" / "elev.gr3",
    )
    warm = edit(cfg, tmp_path / "in" / "elev.toml", lambda d: d.update(initial={"kind": "elevation", "file": "elev.gr3"}))
    out = coastcast("run", warm, "--out", tmp_path / "run2", "--no-figures", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]


def test_a_partial_publication_is_not_called_succeeded(finished, tmp_path):
    """fields.nc with 1 of its 5 records (as a second writer's cleanup once left it) fails the check."""
    _, _, run = finished
    plan = json.loads((run / "work" / "plan.json").read_text())
    cfg = load_config(run / "config.toml")
    verify_publication(run, plan, cfg)  # the real one passes
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run, broken, ignore=shutil.ignore_patterns("run.lock"))
    with netCDF4.Dataset(run / "fields.nc") as src, netCDF4.Dataset(broken / "fields.nc", "w") as dst:
        for name, dim in src.dimensions.items():
            dst.createDimension(name, 1 if name == "time" else dim.size)
        for name, v in src.variables.items():
            out = dst.createVariable(name, v.dtype, v.dimensions)
            out[:] = v[:1] if v.dimensions and v.dimensions[0] == "time" else v[:]
    with pytest.raises(CycleError, match=r"fields.nc has 1 of 5 records"):
        verify_publication(broken, plan, cfg)
    (broken / "restart.nc").unlink()
    shutil.copyfile(run / "work" / "seg_000" / "end.nc", broken / "restart.nc")  # valid at the end of the spin-up
    shutil.copyfile(run / "fields.nc", broken / "fields.nc")
    with pytest.raises(CycleError, match=r"restart.nc is valid at t = 3600 s"):
        verify_publication(broken, plan, cfg)


def test_the_dask_driver_takes_the_same_lock(tmp_path):
    """A run directory held by another writer is refused by the pipeline's driver before anything
    is submitted, and a task of a driver that lost the directory stops."""
    from workflows.pipeline import CycleDriver, CycleRequest, segment_task

    cfg = write_inputs(tmp_path / "in")
    run = tmp_path / "run"
    with rundir.RunLock(run, "web app") as held:
        driver = CycleDriver(client=None)
        with pytest.raises(rundir.RunLocked, match=rf"being written by web app \(pid {os.getpid()} on"):
            driver.submit(CycleRequest(cfg, run))
        assert not (run / "run.json").exists()
        with pytest.raises(rundir.OwnerLost, match="this task's driver is gone"):
            segment_task("plan", str(run), 0, 60.0, "a-dead-drivers-token")
        rundir.check_owner(run, held.token)  # the owner's own tasks go on


def test_lock_file_names_its_owner_and_heartbeats(tmp_path):
    with rundir.RunLock(tmp_path, "coastcast run", heartbeat_seconds=0.1) as lock:
        owner = rundir.lock_owner(tmp_path)
        assert (owner["owner"], owner["pid"], owner["token"]) == ("coastcast run", os.getpid(), lock.token)
        beat = owner["heartbeat"]
        wait_for(lambda: rundir.lock_owner(tmp_path)["heartbeat"] > beat, timeout=5)
        assert rundir.is_locked(tmp_path)
    assert not rundir.is_locked(tmp_path) and rundir.lock_owner(tmp_path) is None
