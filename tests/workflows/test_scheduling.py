"""Daily scheduling rules with a clock the test controls (``now`` injected), and a two-day chain
(cold start, then hot start from the first day's restart.nc) on a LocalCluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import add_system

from workflows.config import load_config
from workflows.db import Cycle, CycleLease, ForecastSystem
from workflows.scheduling import DailyScheduler, due_cycles, latest_run_time

D = datetime(2026, 3, 5, tzinfo=UTC)


class FakeDriver:
    """Records submissions; cycles never finish."""

    def __init__(self):
        self.requests = []
        self.tracked = {}

    def submit(self, request):
        self.requests.append(request)

    def poll(self):
        return []


def _tick(sf, now, driver=None, **kw):
    driver = driver or FakeDriver()
    return DailyScheduler(sf, driver, **kw).tick(now), driver


def _finish(sf, cycle_id, status="succeeded", restart=True):
    with sf() as s:
        c = s.get(Cycle, cycle_id)
        c.status = status
        if restart:
            (Path(c.run_dir) / "restart.nc").write_bytes(b"state")
        s.commit()


def test_latest_run_time():
    now = datetime(2026, 3, 5, 5, 30, tzinfo=UTC)
    assert latest_run_time(now, 6) == datetime(2026, 3, 4, 6, tzinfo=UTC)
    assert latest_run_time(now, 5) == datetime(2026, 3, 5, 5, tzinfo=UTC)
    assert latest_run_time(now.replace(hour=5, minute=0), 5) == datetime(2026, 3, 5, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="run_hour_utc must be 0..23, got 24"):
        latest_run_time(now, 24)


def test_active_systems_start_at_their_run_hour_paused_and_drafts_skipped(tmp_path, database):
    _, sf = database
    a = add_system(sf, tmp_path / "a", "a", run_hour=3, restart_hours=24.0, hours=24.0)
    add_system(sf, tmp_path / "b", "b", run_hour=3, status="paused")
    add_system(sf, tmp_path / "c", "c", run_hour=3, status="draft")
    # before the run hour: yesterday's cycle is the one due (a new system catches up once)
    with sf() as s:
        assert [(d.system_id, d.cycle_time) for d in due_cycles(s, D + timedelta(hours=2))] == [(a, D - timedelta(hours=21))]
    acted, driver = _tick(sf, D + timedelta(hours=3, minutes=1))
    assert len(acted["started"]) == 1 and len(driver.requests) == 1
    with sf() as s:
        c = s.get(Cycle, acted["started"][0])
        assert (c.system_id, c.cycle_time, c.status) == (a, D + timedelta(hours=3), "queued")
        cfg = load_config(Path(c.run_dir) / "config.toml")
    assert cfg.start == D + timedelta(hours=3) and cfg.initial.kind == "rest"  # cold start
    assert driver.requests[0].run_dir == Path(c.run_dir) and driver.requests[0].cycle_id == c.id
    # one cycle per system at a time, and never twice for the same run time
    acted, _ = _tick(sf, D + timedelta(hours=3, minutes=2))
    assert acted["started"] == []
    _finish(sf, c.id, "failed", restart=False)
    acted, _ = _tick(sf, D + timedelta(hours=20))
    assert acted["started"] == []


def test_missed_days_are_caught_up_once_and_hot_start_follows_a_valid_restart(tmp_path, database):
    _, sf = database
    a = add_system(sf, tmp_path / "a", "a", run_hour=0, hours=48.0, restart_hours=24.0)
    acted, _ = _tick(sf, D + timedelta(minutes=5))
    first = acted["started"][0]
    _finish(sf, first)
    # next day: hot start from the first cycle's restart.nc (valid at D + 24 h)
    acted, driver = _tick(sf, D + timedelta(days=1, minutes=5))
    second = acted["started"][0]
    with sf() as s:
        c1, c2 = s.get(Cycle, first), s.get(Cycle, second)
        cfg = load_config(Path(c2.run_dir) / "config.toml")
    assert (cfg.initial.kind, Path(cfg.initial.file)) == ("restart", Path(c1.run_dir) / "restart.nc")
    assert cfg.start == D + timedelta(days=1)
    _finish(sf, second)
    # the scheduler is down for three days: one catch-up cycle (the latest), cold (no valid restart)
    acted, driver = _tick(sf, D + timedelta(days=5, hours=7))
    assert len(acted["started"]) == 1
    with sf() as s:
        c = s.get(Cycle, acted["started"][0])
        assert c.cycle_time == D + timedelta(days=5)
        assert load_config(Path(c.run_dir) / "config.toml").initial.kind == "rest"
        assert s.query(Cycle).filter_by(system_id=a).count() == 3
    acted, _ = _tick(sf, D + timedelta(days=5, hours=8))
    assert acted["started"] == []


def test_interrupted_cycles_resume_a_bounded_number_of_times_and_queued_web_cycles_are_picked_up(tmp_path, database):
    _, sf = database
    add_system(sf, tmp_path / "a", "a", run_hour=0)
    b = add_system(sf, tmp_path / "b", "b", run_hour=0, status="paused")
    acted, _ = _tick(sf, D + timedelta(minutes=1))
    cid = acted["started"][0]
    for round_ in (1, 2):
        _finish(sf, cid, "interrupted", restart=False)
        acted, driver = _tick(sf, D + timedelta(hours=round_), max_resumes=2)
        assert acted["resumed"] == [cid] and acted["started"] == []
        assert driver.requests[0].resume is True
        with sf() as s:
            assert s.get(Cycle, cid).status == "queued" and s.get(CycleLease, cid).resumes == round_
    _finish(sf, cid, "interrupted", restart=False)
    acted, driver = _tick(sf, D + timedelta(hours=3), max_resumes=2)
    assert acted["given_up"] == [cid] and driver.requests == []
    with sf() as s:
        assert s.get(Cycle, cid).status == "failed" and s.get(Cycle, cid).error.startswith("interrupted 3 times")
    # a cycle the web app queued (no lease, no driver) is run by the scheduler, even of a paused system
    with sf() as s:
        system = s.get(ForecastSystem, b)
        run_dir = tmp_path / "b" / "manual"
        run_dir.mkdir()
        (run_dir / "config.toml").write_text("name = 'b'\n")
        c = Cycle(system_id=system.id, cycle_time=D + timedelta(hours=5), status="queued", run_dir=str(run_dir))
        s.add(c)
        s.commit()
        manual = c.id
    acted, driver = _tick(sf, D + timedelta(hours=5))
    assert acted["picked_up"] == [manual] and driver.requests[0].cycle_id == manual


@pytest.mark.cluster
def test_two_daily_cycles_on_a_local_cluster_hot_start_continues_exactly(tmp_path, database):
    import netCDF4

    from workflows.cluster import open_client
    from workflows.pipeline import CycleDriver

    _, sf = database
    sid = add_system(
        sf,
        tmp_path / "a",
        "a",
        run_hour=0,
        hours=48.0,
        spinup_hours=1.0,
        segment_hours=12.0,
        restart_hours=24.0,
        start="2026-01-10T00:00Z",
    )
    day1 = datetime(2026, 1, 10, tzinfo=UTC)
    with open_client(workers=1) as client:
        driver = CycleDriver(client, session_factory=sf, figures=False, poll_seconds=0.1)
        sched = DailyScheduler(sf, driver)
        ids = []
        for day in range(2):
            acted = sched.tick(day1 + timedelta(days=day, minutes=10))
            ids += acted["started"]
            outcomes = driver.wait(timeout=120)
            assert [o.status for o in outcomes] == ["succeeded"], outcomes[0].error
    with sf() as s:
        c1, c2 = s.get(Cycle, ids[0]), s.get(Cycle, ids[1])
        assert (c1.status, c2.status) == ("succeeded", "succeeded") and c2.system_id == sid
        r1, r2 = Path(c1.run_dir), Path(c2.run_dir)
    import json

    info1, info2 = json.loads((r1 / "run.json").read_text()), json.loads((r2 / "run.json").read_text())
    assert info1["cold_start"] is True and info2["cold_start"] is False
    assert info2["model_start"] == info1["model_start"]  # one continuous model clock
    # day 2 continues day 1's state: over the 24 h they share, the station series are identical
    with netCDF4.Dataset(r1 / "stations.nc") as a, netCDF4.Dataset(r2 / "stations.nc") as b:
        ta = netCDF4.num2date(a["time"][:], a["time"].units)
        tb = netCDF4.num2date(b["time"][:], b["time"].units)
        common = [t for t in tb if t in set(ta)]
        assert len(common) == 24 * 6  # 10-minute records from D+1 00:10 to D+2 00:00
        ia = [list(ta).index(t) for t in common]
        ib = [list(tb).index(t) for t in common]
        za, zb = a["zeta"][:, ia].filled(np.nan), b["zeta"][:, ib].filled(np.nan)
    # not bit for bit: the tide module evaluates nodal corrections for each run's own window, which
    # moves the boundary tide by ~1e-5 m; a cold start from rest would be off by decimetres
    assert np.nanmax(np.abs(za)) > 0.2
    assert np.nanmax(np.abs(za[:, 0] - zb[:, 0])) < 1e-4
    assert np.nanmax(np.abs(za - zb)) < 1e-3


@pytest.mark.cluster
def test_scheduler_command_once_runs_the_due_cycle(tmp_path, database, capsys):
    from workflows.cli import main

    url, sf = database
    sid = add_system(sf, tmp_path / "a", "a", run_hour=0, hours=2.0)
    assert main(["scheduler", "--database", url, "--workers", "1", "--once", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "1 cycle(s) run:" in out and "succeeded" in out
    with sf() as s:
        (c,) = s.query(Cycle).filter_by(system_id=sid).all()
        assert (c.status, c.progress) == ("succeeded", 1.0) and (Path(c.run_dir) / "stations.nc").is_file()
        assert c.cycle_time == latest_run_time(datetime.now(UTC), 0)
    # nothing more is due
    assert main(["scheduler", "--database", url, "--workers", "1", "--once"]) == 0
    assert "no cycle due" in capsys.readouterr().out


def test_scheduler_command_bad_input_is_one_line(tmp_path, capsys):
    from workflows.cli import main

    assert main(["scheduler", "--database", f"sqlite:///{tmp_path}/x.sqlite", "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "coastcast scheduler: error: --workers must be at least 1, got 0"
    assert main(["scheduler", "--database", f"sqlite:///{tmp_path}/x.sqlite", "--cluster", str(tmp_path / "none.yaml")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"coastcast scheduler: error: cluster file '{tmp_path / 'none.yaml'}' does not exist"
    )
