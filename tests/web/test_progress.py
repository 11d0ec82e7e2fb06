"""Honest progress: the fraction of simulated time, the stage (spin-up, forecast, publishing) and an
ETA, from the record a running segment writes (workflows.pipeline.CycleProgress) to what the cycle
page and its JSON show (webapp.progress.cycle_progress)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from workflows.db import Cycle
from workflows.pipeline import PROGRESS, CycleProgress, read_json

from .conftest import add_user, login

H = 3600.0


@pytest.fixture
def plan_dir(tmp_path):
    """A run directory whose plan is a cold start: 24 h of spin-up then a 6-h forecast, in
    segments [0, 24 h], [24 h, 30 h] of model time."""
    run_dir = tmp_path / "run"
    (run_dir / "work").mkdir(parents=True)
    plan = {"segments": [[0.0, 24 * H], [24 * H, 30 * H]], "t_forecast": 24 * H, "t_end": 30 * H, "cold_start": True}
    (run_dir / "work" / "plan.json").write_text(json.dumps(plan))
    return run_dir


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_segment_progress_is_the_fraction_of_simulated_time_with_stage_and_eta(plan_dir, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("workflows.pipeline.time.monotonic", clock)
    progress = CycleProgress(plan_dir, 0, token=None, interval=0.0)
    progress(0.0, 30 * H)  # the segment's first report: no rate yet
    rec = read_json(plan_dir / "run.json")
    assert (rec["progress"], rec["stage"], rec["eta_seconds"]) == (0.0, "spin-up", None)
    # 12 h of model time in 60 s of wall time: 18 h left at the same rate is 90 s
    clock.t += 60.0
    progress(12 * H, 30 * H)
    rec = read_json(plan_dir / "run.json")
    assert rec["progress"] == pytest.approx(0.4) and rec["stage"] == "spin-up"
    assert (rec["simulated_hours"], rec["total_hours"], rec["spinup_hours"]) == (12.0, 30.0, 24.0)
    assert rec["eta_seconds"] == pytest.approx(90.0)
    clock.t += 75.0  # 27 h done after 135 s: 3 h left, 15 s
    progress(27 * H, 30 * H)
    rec = read_json(plan_dir / "run.json")
    assert rec["stage"] == "forecast" and rec["progress"] == pytest.approx(0.9) and rec["eta_seconds"] == pytest.approx(15.0)
    assert read_json(plan_dir / PROGRESS)["stage"] == "forecast"


def test_a_second_segment_measures_its_own_rate(plan_dir, monkeypatch):
    """A resumed or later segment starts part-way: its ETA comes from its own pace, not from 0."""
    clock = FakeClock()
    monkeypatch.setattr("workflows.pipeline.time.monotonic", clock)
    progress = CycleProgress(plan_dir, 1, interval=0.0)
    progress(24 * H, 30 * H)
    clock.t += 10.0
    progress(25 * H, 30 * H)  # 1 h in 10 s: 5 h left is 50 s
    assert read_json(plan_dir / "run.json")["eta_seconds"] == pytest.approx(50.0)


def test_an_orphaned_attempt_stops_at_its_next_report(plan_dir):
    from workflows import rundir

    with rundir.RunLock(plan_dir, "new driver"):
        progress = CycleProgress(plan_dir, 0, token="the-dead-driver's", interval=0.0)
        with pytest.raises(rundir.OwnerLost):
            progress(1 * H, 30 * H)


def _running_cycle(app, system_with_cycle, record: dict, status: str = "running") -> int:
    run_dir = system_with_cycle["folder"] / "cycles" / "20261126T00Z"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps(record))
    with app.extensions["coastcast_sessions"]() as s:
        c = Cycle(
            system_id=system_with_cycle["system"],
            cycle_time=datetime(2026, 11, 26, tzinfo=timezone.utc),
            status=status,
            progress=0.0,
            run_dir=str(run_dir),
            log="segment 0 started",
        )
        s.add(c)
        s.commit()
        return c.id


def test_progress_json_and_pages_show_stage_hours_and_eta(app, system_with_cycle):
    written = datetime.now(timezone.utc) - timedelta(seconds=20)
    cid = _running_cycle(
        app,
        system_with_cycle,
        {
            "status": "running",
            "stage": "spin-up",
            "progress": 0.4,
            "simulated_hours": 12.0,
            "total_hours": 30.0,
            "spinup_hours": 24.0,
            "eta_seconds": 90.0,
            "updated": written.isoformat(),
        },
    )
    c = app.test_client()
    login(c, "alice@example.org")
    p = c.get(f"/cycles/{cid}/progress.json").json
    assert (p["status"], p["stage"], p["progress"]) == ("running", "spin-up", 0.4)
    assert 69.0 <= p["eta_seconds"] <= 70.5  # 90 s from a record written 20 s ago
    assert p["eta"].endswith("Z") and p["log"] == "segment 0 started"
    assert p["text"].startswith("spin-up: 12.0 of 30.0 h simulated (24 h spin-up, then the forecast) · about 70 s left")
    page = c.get(f"/cycles/{cid}").get_data(as_text=True)
    assert "spin-up: 12.0 of 30.0 h simulated" in page and 'value="0.4"' in page
    assert "12.0 of 30.0 h simulated" in c.get(f"/systems/{system_with_cycle['system']}").get_data(as_text=True)
    assert "12.0 of 30.0 h simulated" in c.get("/dashboard").get_data(as_text=True)
    api = c.get(f"/api/cycles/{cid}").json  # the JSON API answers the same progress
    assert (api["stage"], api["progress"], api["simulated_hours"], api["total_hours"], api["spinup_hours"]) == (
        "spin-up",
        0.4,
        12.0,
        30.0,
        24.0,
    )
    eta_api, eta_page = (datetime.fromisoformat(e.replace("Z", "+00:00")) for e in (api["eta"], p["eta"]))
    assert abs((eta_api - eta_page).total_seconds()) <= 1.0
    # someone else's cycle is not found
    add_user(app, "mallory@example.org")
    other = app.test_client()
    login(other, "mallory@example.org")
    assert other.get(f"/cycles/{cid}/progress.json").status_code == 404


def test_queued_and_finished_cycles(app, system_with_cycle):
    cid = _running_cycle(app, system_with_cycle, {"status": "queued"}, status="queued")
    c = app.test_client()
    login(c, "alice@example.org")
    p = c.get(f"/cycles/{cid}/progress.json").json
    assert (p["stage"], p["progress"], p["eta"], p["text"]) == ("queued", 0.0, None, "queued")
    done = c.get(f"/cycles/{system_with_cycle['cycle']}/progress.json").json
    assert (done["status"], done["stage"], done["progress"]) == ("succeeded", "succeeded", 1.0)
