"""Resilience of the dask pipeline on a real multi-process cluster (scheduler + 2 workers).

(a) a worker SIGKILLed in the middle of a segment: the segment is rerun on the other worker and
    the published files equal, bit for bit, those of an undisturbed run;
(b) a task that raises (a damaged tide file) is retried, then its cycle is marked
    failed with the reason (database row and run.json) while another system's cycle succeeds;
(c) the driver killed mid-cycle: its row stays ``running`` only until the lease runs out, is then
    marked ``interrupted``, and resuming it finishes from the last finished segment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REFERENCE, add_system, assert_same_outputs, wait_for

from tests.cycle_fixtures import write_inputs
from workflows.db import Cycle, CycleLease, ForecastSystem, utcnow
from workflows.pipeline import (
    PROGRESS,
    CycleDriver,
    CycleRequest,
    read_events,
    read_json,
    recover_stale_cycles,
    stage_summary,
)
from workflows.scheduling import DailyScheduler, enqueue

pytestmark = pytest.mark.cluster


def _segment_running(run_dir: Path, k: int):
    """The progress record while segment k is part-way (its .part files exist, end.nc does not)."""
    p = read_json(run_dir / PROGRESS)
    seg = run_dir / "work" / f"seg_{k:03d}"
    if p and p.get("segment") == k and not (seg / "end.nc").exists() and (seg / "fields.nc.part").exists():
        return p
    return None


def test_worker_killed_mid_segment_gives_identical_outputs(tmp_path, test_cluster, reference_run):
    from distributed import Client

    cfg = write_inputs(tmp_path / "inputs", **REFERENCE)
    run_dir = tmp_path / "run"
    with Client(test_cluster.address, timeout=30) as client:
        driver = CycleDriver(client, figures=False, retries=1, poll_seconds=0.1)
        driver.submit(CycleRequest(cfg, run_dir, system="killed"))

        def mid_segment_1():
            driver.poll()
            return _segment_running(run_dir, 1)

        progress = wait_for(mid_segment_1, 60, "segment 1 to be running")
        victim = test_cluster.worker_of(progress["pid"])
        assert victim is not None, "the segment's process belongs to none of the test workers"
        seg0_end = (run_dir / "work" / "seg_000" / "end.nc").stat().st_mtime_ns
        test_cluster.kill(victim)
        assert not (run_dir / "work" / "seg_001" / "end.nc").exists()  # killed before the segment ended
        outcomes = driver.wait(timeout=90)
    assert [o.status for o in outcomes] == ["succeeded"], outcomes[0].error
    stages = stage_summary(read_events(run_dir))
    assert stages["segment-001"]["attempts"] == 2
    assert len(stages["segment-001"]["hosts"]) == 2  # rerun in another worker process
    # segment 0's result (a path) died with the worker's memory: dask recomputes it, and the
    # idempotent stage finds its end.nc and does not simulate it again
    assert (run_dir / "work" / "seg_000" / "end.nc").stat().st_mtime_ns == seg0_end
    assert stages["segment-002"]["attempts"] == 1
    info = read_json(run_dir / "run.json")
    assert info["status"] == "succeeded" and info["pipeline"]["stages"]["segment-001"]["attempts"] == 2
    assert_same_outputs(reference_run, run_dir)


def test_failing_task_is_retried_then_cycle_fails_while_other_system_succeeds(tmp_path, test_cluster, database):
    from distributed import Client

    _, sf = database
    ids = {}
    for name in ("broken", "healthy"):
        sid = add_system(sf, tmp_path / name, name, hours=2.0)
        with sf() as s:
            c = Cycle(
                system_id=sid,
                cycle_time=utcnow().replace(minute=0, second=0, microsecond=0),
                status="queued",
                run_dir=str(tmp_path / name / "run"),
            )
            s.add(c)
            s.commit()
            ids[name] = c.id
    # the broken system's tide file is damaged: the configuration reads, its forcing (resolved at prepare) cannot
    broken_run = tmp_path / "broken" / "run"
    (tmp_path / "broken" / "tides.csv").write_text("open_boundary,seq,node\n1,1,x\n")
    healthy_cfg = tmp_path / "healthy" / "basin.toml"
    with Client(test_cluster.address, timeout=30) as client:
        driver = CycleDriver(client, session_factory=sf, figures=False, retries=2, poll_seconds=0.1)
        driver.submit(CycleRequest(tmp_path / "broken" / "basin.toml", broken_run, system="broken", cycle_id=ids["broken"]))
        driver.submit(CycleRequest(healthy_cfg, tmp_path / "healthy" / "run", system="healthy", cycle_id=ids["healthy"]))
        outcomes = {o.request.cycle_id: o for o in driver.wait(timeout=120)}
    bad, good = outcomes[ids["broken"]], outcomes[ids["healthy"]]
    assert good.status == "succeeded" and (tmp_path / "healthy" / "run" / "stations.nc").is_file()
    assert bad.status == "failed"
    assert bad.error.startswith("prepare: TideInputError: ") and bad.error.count("\n") == 0
    assert "tides.csv: line 1: missing column(s) lon, lat" in bad.error
    assert "(after 3 attempts)" in bad.error  # 1 + retries
    assert stage_summary(read_events(broken_run))["prepare"]["attempts"] == 3
    assert read_json(broken_run / "run.json")["status"] == "failed"
    assert read_json(broken_run / "run.json")["error"] == bad.error
    with sf() as s:
        row_bad, row_good = s.get(Cycle, ids["broken"]), s.get(Cycle, ids["healthy"])
        assert (row_bad.status, row_bad.error) == ("failed", bad.error)
        assert row_bad.finished is not None and "prepare failed" in row_bad.log
        assert (row_good.status, row_good.progress) == ("succeeded", 1.0)
        assert s.get(CycleLease, ids["broken"]).attempts["prepare"] == 3


DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from distributed import Client
    from workflows.db import make_engine, make_session_factory
    from workflows.pipeline import CycleDriver, CycleRequest
    url, address, run_dir, cycle_id = sys.argv[1:5]
    sf = make_session_factory(make_engine(url))
    with Client(address, timeout=30) as client:
        d = CycleDriver(client, session_factory=sf, figures=False, lease_seconds=20, poll_seconds=0.1)
        d.submit(CycleRequest(Path(run_dir) / "config.toml", Path(run_dir), cycle_id=int(cycle_id)))
        d.wait(timeout=120)
""")


def test_driver_crash_leaves_no_cycle_running_forever_and_resumes(tmp_path, test_cluster, database, reference_run):
    from distributed import Client

    url, sf = database
    sid = add_system(sf, tmp_path / "sys", "crash", **REFERENCE)
    with sf() as s:  # the cycle as the scheduler queues it, same forecast as the reference
        c = enqueue(s, s.get(ForecastSystem, sid), datetime(2026, 1, 10, tzinfo=UTC), None)
        s.commit()
        cid, run_dir = c.id, Path(c.run_dir)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, url, test_cluster.address, str(run_dir), str(cid)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "driver.log", "w"),
        start_new_session=True,
    )
    try:
        wait_for(lambda: _segment_running(run_dir, 1), 60, "segment 1 to be running")
        with sf() as s:
            assert s.get(Cycle, cid).status == "running"
        seg0_end = (run_dir / "work" / "seg_000" / "end.nc").stat().st_mtime_ns
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    # a live lease is respected ...
    assert recover_stale_cycles(sf, now=utcnow(), lease_seconds=20) == []
    # ... a stale one is not: the row is interrupted, not left running
    later = utcnow() + timedelta(seconds=21)
    assert recover_stale_cycles(sf, now=later, lease_seconds=20) == [cid]
    with sf() as s:
        row = s.get(Cycle, cid)
        assert row.status == "interrupted" and "stopped" in row.error
    assert read_json(run_dir / "run.json")["status"] == "interrupted"
    # the scheduler resumes it (the system's newest cycle) from its last finished segment
    with Client(test_cluster.address, timeout=30) as client:
        d = CycleDriver(client, session_factory=sf, figures=False, lease_seconds=20, poll_seconds=0.1)
        sched = DailyScheduler(sf, d, lease_seconds=20, max_resumes=1)
        with sf() as s:  # no daily cycle in the way: the system runs at an hour already covered
            s.get(Cycle, cid).system.run_hour_utc = row.cycle_time.hour
            s.commit()
        acted = sched.tick(later)
        assert acted["resumed"] == [cid] and acted["started"] == []
        outcomes = d.wait(timeout=90)
    assert [o.status for o in outcomes] == ["succeeded"], outcomes[0].error
    stages = stage_summary(read_events(run_dir))
    # resumed after segment 0: its task finds end.nc and does not simulate it again
    assert (run_dir / "work" / "seg_000" / "end.nc").stat().st_mtime_ns == seg0_end
    assert "segment 0 already done" in (run_dir / "run.log").read_text()
    assert stages["prepare"]["attempts"] == 2
    with sf() as s:
        row = s.get(Cycle, cid)
        assert (row.status, row.progress, row.error) == ("succeeded", 1.0, None)
        assert s.get(CycleLease, cid).resumes == 1
    assert_same_outputs(reference_run, run_dir)


def test_scheduler_killed_cycle_is_interrupted_then_resumed_on_a_restarted_scheduler(
    tmp_path, test_cluster, database, reference_run
):
    from distributed import Client

    _, sf = database
    sid = add_system(sf, tmp_path / "sys", "lost", **REFERENCE)
    with sf() as s:
        c = enqueue(s, s.get(ForecastSystem, sid), datetime(2026, 1, 10, tzinfo=UTC), None)
        s.commit()
        cid, run_dir = c.id, Path(c.run_dir)
    request = CycleRequest(run_dir / "config.toml", run_dir, cycle_id=cid)
    client = Client(test_cluster.address, timeout=30)
    try:
        driver = CycleDriver(client, session_factory=sf, figures=False, poll_seconds=0.1)
        driver.submit(request)
        wait_for(lambda: (driver.poll() or True) and _segment_running(run_dir, 1), 60, "segment 1 to be running")
        test_cluster.kill(test_cluster.scheduler)
        outcomes = wait_for(driver.poll, 30, "the driver to notice the lost scheduler")
    finally:
        client.close(timeout=5)
    assert [o.status for o in outcomes] == ["interrupted"]
    with sf() as s:
        assert s.get(Cycle, cid).status == "interrupted" and "scheduler" in s.get(Cycle, cid).error
    assert read_json(run_dir / "run.json")["status"] == "interrupted"
    # the scheduler comes back (same address) with a fresh worker; the cycle resumes
    test_cluster.start_scheduler()
    test_cluster.add_worker()
    test_cluster.wait_for_workers(1)
    with Client(test_cluster.address, timeout=30) as client:
        driver = CycleDriver(client, session_factory=sf, figures=False, poll_seconds=0.1)
        driver.submit(CycleRequest(run_dir / "config.toml", run_dir, cycle_id=cid, resume=True))
        outcomes = driver.wait(timeout=90)
    assert [o.status for o in outcomes] == ["succeeded"], outcomes[0].error
    assert "segment 0 already done" in (run_dir / "run.log").read_text()
    assert_same_outputs(reference_run, run_dir)
