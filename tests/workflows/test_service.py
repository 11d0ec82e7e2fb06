"""One execution path, as operated: real ``coastcast serve`` and ``coastcast scheduler`` processes
on one database, killed with SIGKILL mid-cycle.

(a) the web server (and its embedded cycle service) SIGKILLed in the middle of a segment, then
    started again: the cycle is resumed from its finished segments, succeeds exactly once (one
    publish), and its published files equal bit for bit those of an undisturbed run;
(b) a web server and a scheduler on one database with several queued cycles: every cycle is run
    by exactly one of them (one prepare, one publish), and all succeed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REFERENCE, _env, add_system, assert_same_outputs, free_port, wait_for

from workflows.db import Cycle, CycleLease, ForecastSystem
from workflows.pipeline import PROGRESS, read_events, read_json
from workflows.scheduling import enqueue

pytestmark = pytest.mark.cluster

LEASE_SECONDS = 6.0


def _service_env(url: str) -> dict:
    env = _env()
    env.update(
        COASTCAST_DATABASE_URL=url,
        COASTCAST_LEASE_SECONDS=str(LEASE_SECONDS),
        COASTCAST_TICK_SECONDS="1",
        COASTCAST_THREADS="1",
        OMP_NUM_THREADS="1",
    )
    return env


class Processes:
    """Real service processes, each in its own session (so the whole group can be killed at the end)."""

    def __init__(self, folder: Path, url: str):
        self.folder, self.url = folder, url
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str, name: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}-{len(self.procs)}.log", "w")
        p = subprocess.Popen(
            [sys.executable, "-m", "workflows.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_service_env(self.url),
            start_new_session=True,
            cwd=self.folder,
        )
        self.procs.append(p)
        return p

    def serve(self, instance: Path) -> subprocess.Popen:
        return self.start("serve", "--instance", str(instance), "--port", str(free_port()), "--no-daily", name="serve")

    def close(self) -> None:
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)


@pytest.fixture
def processes(tmp_path, database):
    folder = tmp_path / "procs"
    folder.mkdir()
    procs = Processes(folder, database[0])
    yield procs
    procs.close()


def _queue(sf, sid: int, when: datetime) -> tuple[int, Path]:
    with sf() as s:
        c = enqueue(s, s.get(ForecastSystem, sid), when, None)
        s.commit()
        return c.id, Path(c.run_dir)


def _segment_running(run_dir: Path, k: int):
    p = read_json(run_dir / PROGRESS)
    seg = run_dir / "work" / f"seg_{k:03d}"
    return p if p and p.get("segment") == k and not (seg / "end.nc").exists() else None


def _count(run_dir: Path, stage: str, event: str) -> int:
    return sum(1 for e in read_events(run_dir) if e.get("stage") == stage and e.get("event") == event)


def _status(sf, cid: int) -> str:
    with sf() as s:
        return s.get(Cycle, cid).status


def test_web_server_killed_mid_cycle_resumes_once_with_identical_outputs(tmp_path, database, processes, reference_run):
    _, sf = database
    sid = add_system(sf, tmp_path / "sys", "killed", **REFERENCE)
    cid, run_dir = _queue(sf, sid, datetime(2026, 1, 10, tzinfo=UTC))
    first = processes.serve(tmp_path / "instance")
    wait_for(lambda: _segment_running(run_dir, 1), 180, "segment 1 to be running under the first server")
    os.kill(first.pid, signal.SIGKILL)  # the server only: its worker processes are orphaned, as after a crash
    first.wait(timeout=10)
    assert _status(sf, cid) == "running"
    second = processes.serve(tmp_path / "instance")
    wait_for(lambda: _status(sf, cid) in ("succeeded", "failed"), 240, "the restarted server to finish the cycle")
    with sf() as s:
        c, lease = s.get(Cycle, cid), s.get(CycleLease, cid)
        assert c.status == "succeeded", (c.error, c.log[-3000:])
        assert lease.resumes == 1 and lease.owner == ""  # resumed once, released at the end
    assert _count(run_dir, "publish", "done") == 1  # published once: the orphaned worker did not
    assert "segment 0 already done" in (run_dir / "run.log").read_text()
    assert read_json(run_dir / "run.json")["status"] == "succeeded"
    assert_same_outputs(reference_run, run_dir)
    assert second.poll() is None  # the server goes on serving


def test_web_server_and_scheduler_on_one_database_run_each_cycle_once(tmp_path, database, processes):
    _, sf = database
    cycles = []
    for k in range(3):
        sid = add_system(sf, tmp_path / f"sys{k}", f"shared{k}", hours=2.0, spinup_hours=1.0, segment_hours=1.0)
        cycles.append(_queue(sf, sid, datetime(2026, 1, 10 + k, tzinfo=UTC)))
    processes.serve(tmp_path / "instance")
    processes.start(
        "scheduler", "--workers", "1", "--interval", "1", "--lease-seconds", str(LEASE_SECONDS), "--no-figures", name="scheduler"
    )
    wait_for(lambda: all(_status(sf, cid) in ("succeeded", "failed") for cid, _ in cycles), 300, "the three cycles to finish")
    owners = set()
    for cid, run_dir in cycles:
        assert _status(sf, cid) == "succeeded"
        assert _count(run_dir, "prepare", "start") == 1, read_events(run_dir)
        assert _count(run_dir, "publish", "done") == 1
        owners.add(read_json(run_dir / "run.json")["pipeline"]["driver"])
    assert len(owners) >= 1 and all(owners)
    time.sleep(2 * LEASE_SECONDS)  # nothing is taken again once done
    for cid, run_dir in cycles:
        assert _status(sf, cid) == "succeeded" and _count(run_dir, "prepare", "start") == 1
