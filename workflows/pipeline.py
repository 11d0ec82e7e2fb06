"""Forecast cycles as dask graphs: many systems' cycles at once, on any dask cluster.

A cycle is a chain of tasks whose arguments and results are paths (DESIGN §6)::

    prepare(config, run_dir) → segment 0 → segment 1 → … → segment n−1 → publish(run_dir)

built from the stages of :mod:`workflows.cycle` (each idempotent: a segment whose ``end.nc``
exists is skipped, so a rerun or a resumed cycle goes on from its last finished segment). Task
keys carry the system and the cycle (``segment-003-brest-20261125T00Z-1a2b3c4d``), so the cycles
of many systems share one cluster without colliding.

Durable record, never only in dask futures:

* the **tasks** write what happened into the run directory, which every worker sees (a shared
  file system): ``run.json`` (status ``running``, stage, progress, then the published record),
  ``work/events.jsonl`` (one line per task start/end/error: stage, host, pid, time), ``run.log``
  (the tasks' log records) and ``work/progress.json`` (the running segment's progress and
  heartbeat);
* the **driver** (:class:`CycleDriver`, in the process that submitted the cycles) mirrors that
  record into the database row (status queued/running/succeeded/failed/interrupted, progress,
  log, error, started/finished) and a :class:`~workflows.db.CycleLease` heartbeat, and writes
  the terminal status (``failed`` with the reason, ``interrupted``) into ``run.json``.

Failures: a task that raises is retried ``retries`` times (dask ``retries=``), then its cycle is
marked failed with the reason while the other cycles go on. A worker that dies mid-task has the
task rerun on another worker by the dask scheduler (at most
``distributed.scheduler.allowed-failures`` times, then ``KilledWorker`` fails the cycle). A
segment rerun while an earlier attempt might still be alive (a driver crash leaves orphaned
tasks running) waits on that attempt's lease (``work/seg_k.lease``, refreshed by a heartbeat
thread, taken over when it is older than ``lease_seconds`` or its process is gone on this
host). A driver that dies leaves its rows ``running`` with a stale lease:
:func:`recover_stale_cycles` marks them ``interrupted`` and the scheduler resumes them.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import rundir
from .cycle import PLAN, CycleError, prepare, publish, simulate_segment

log = logging.getLogger(__name__)

RUN_JSON = "run.json"
EVENTS = "work/events.jsonl"
PROGRESS = "work/progress.json"
RUN_LOG = "run.log"
TERMINAL = ("succeeded", "failed", "interrupted")
DEFAULT_RETRIES = 2
DEFAULT_LEASE_SECONDS = 60.0
MAX_LOG_CHARS = 200_000


# -- small file helpers (shared by tasks and driver) ----------------------------------------------
def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path) -> dict | None:
    """The JSON content of ``path``, or None when it is missing or half-written."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_events(run_dir) -> list[dict]:
    """The task events of a run directory (``work/events.jsonl``), oldest first."""
    path = Path(run_dir) / EVENTS
    out = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a killed process
                continue
    except FileNotFoundError:
        pass
    return out


def update_run_record(run_dir, **fields) -> dict:
    """Merge ``fields`` into ``run.json`` (atomically); a published record (``succeeded``) is
    only amended, never turned back into a running one."""
    path = Path(run_dir) / RUN_JSON
    data = read_json(path) or {}
    if data.get("status") == "succeeded" and fields.get("status") in ("queued", "running"):
        return data
    data.update(fields)
    data["updated"] = _now_iso()
    _write_json(path, data)
    return data


def _event(run_dir: Path, **fields) -> None:
    fields = {"time": _now_iso(), "host": socket.gethostname(), "pid": os.getpid(), **fields}
    (run_dir / "work").mkdir(parents=True, exist_ok=True)
    with open(run_dir / EVENTS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(fields, default=str) + "\n")


class _TaskLog(logging.Handler):
    """Appends this thread's log records to the cycle's ``run.log`` while a task runs."""

    def __init__(self, path: Path):
        super().__init__(logging.INFO)
        self.path = path
        self.thread_id = threading.get_ident()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        if record.thread != self.thread_id:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(self.format(record) + "\n")
        except OSError:
            pass


class _stage:
    """Context of one task attempt: log capture, start/done/error events, run.json stage."""

    def __init__(self, run_dir, stage: str, segment: int | None = None):
        self.run_dir = Path(run_dir)
        self.stage = stage
        self.segment = segment

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.handler = _TaskLog(self.run_dir / RUN_LOG)
        root = logging.getLogger()
        self.old_level = root.level
        root.addHandler(self.handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        _event(self.run_dir, stage=self.stage, segment=self.segment, event="start", worker=_worker_address())
        label = self.stage if self.segment is None else f"{self.stage} {self.segment}"
        logging.getLogger("coastcast.pipeline").info("%s started on %s (pid %d)", label, socket.gethostname(), os.getpid())
        if self.stage != "prepare":  # prepare marks it once the directory is known to be this cycle's
            fields = {"stage": "publishing", "progress": 1.0, "eta_seconds": None} if self.stage == "publish" else {}
            update_run_record(self.run_dir, status="running", task=label, **fields)
        return self

    def __exit__(self, kind, exc, tb):
        seconds = time.perf_counter() - self.t0
        label = self.stage if self.segment is None else f"{self.stage} {self.segment}"
        if exc is None:
            _event(self.run_dir, stage=self.stage, segment=self.segment, event="done", seconds=seconds)
            logging.getLogger("coastcast.pipeline").info("%s done in %.2f s", label, seconds)
        else:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _event(self.run_dir, stage=self.stage, segment=self.segment, event="error", seconds=seconds, error=reason)
            # the traceback goes to run.log (owners and admins; the web app shows users the one line)
            logging.getLogger("coastcast.pipeline").error("%s failed: %s", label, reason, exc_info=(kind, exc, tb))
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.old_level)
        return False


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


# -- segment lease ------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        import psutil

        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE
    except Exception:  # psutil.NoSuchProcess and friends
        return False


class SegmentLease:
    """An exclusive, heartbeated claim on segment ``k`` of a run directory (``work/seg_k.lease``).

    Entering waits while another live attempt holds the lease (its heartbeat is younger than
    ``lease_seconds`` and, on this host, its process exists), or until the segment is finished;
    then a heartbeat thread refreshes the claim every ``lease_seconds / 6`` s until exit.
    """

    def __init__(self, run_dir, k: int, lease_seconds: float = DEFAULT_LEASE_SECONDS, max_wait: float | None = None):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "work" / f"seg_{k:03d}.lease"
        self.end_file = self.run_dir / "work" / f"seg_{k:03d}" / "end.nc"
        self.lease_seconds = float(lease_seconds)
        self.max_wait = max_wait if max_wait is not None else 4 * self.lease_seconds + 60.0
        self.me = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._thread = None

    def _stale(self, held: dict) -> bool:
        if time.time() - float(held.get("heartbeat", 0)) > self.lease_seconds:
            return True
        return held.get("host") == self.me["host"] and not _pid_alive(int(held.get("pid", -1)))

    def _write(self) -> None:
        _write_json(self.path, {**self.me, "heartbeat": time.time()})

    def __enter__(self):
        t0 = time.monotonic()
        waited = False
        while True:
            if self.end_file.is_file():
                break  # finished by an earlier attempt: simulate_segment will skip it
            held = read_json(self.path)
            if held is None or held.get("token") == self.me["token"] or self._stale(held):
                self._write()
                time.sleep(0.05)
                again = read_json(self.path)
                if again is not None and again.get("token") == self.me["token"]:
                    break
                continue
            if not waited:
                log.info("segment lease %s held by pid %s on %s; waiting", self.path.name, held.get("pid"), held.get("host"))
                waited = True
            if time.monotonic() - t0 > self.max_wait:
                raise CycleError(
                    f"{self.path}: still held by pid {held.get('pid')} on {held.get('host')} after {self.max_wait:.0f} s"
                )
            time.sleep(0.25)
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.path.name}", daemon=True)
        self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(max(0.2, self.lease_seconds / 6.0)):
            held = read_json(self.path)
            if held is not None and held.get("token") != self.me["token"]:
                log.warning("segment lease %s was taken over by pid %s", self.path.name, held.get("pid"))
                return
            try:
                self._write()
            except OSError:
                pass

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        held = read_json(self.path)
        if held is not None and held.get("token") == self.me["token"]:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        return False


# -- progress -------------------------------------------------------------------------------------
STAGES = ("queued", "preparing", "spin-up", "forecast", "publishing")
"""The stages a cycle's record names while it runs, in order (``run.json`` ``stage``)."""


class CycleProgress:
    """The honest progress of a running segment, written to ``run.json`` and ``work/progress.json``.

    Called as ``progress(done_s, total_s, wall_s)`` by :func:`workflows.cycle.simulate_segment`,
    where ``done_s`` is the model time simulated since the cycle's first step and ``total_s`` the
    whole run's (spin-up included). It records ``progress`` = done_s / total_s (the fraction of
    simulated time), ``stage`` = ``"spin-up"`` before the forecast start and ``"forecast"`` after,
    the simulated and total hours, and an ETA from this segment's wall-clock rate (seconds of
    model time per second of wall time since it started), at most every ``interval`` seconds.
    Each call first checks that the run directory is still the driver's of ``token``
    (:func:`~workflows.rundir.check_owner`), so an orphaned attempt stops.
    """

    def __init__(self, run_dir, k: int, token: str | None = None, interval: float = 0.5):
        self.run_dir = Path(run_dir)
        self.k = int(k)
        self.token = token
        self.interval = float(interval)
        plan = read_json(self.run_dir / PLAN) or {}
        segments = plan.get("segments") or [[0.0, 0.0]]
        self.t_first = float(segments[0][0])
        self.t_forecast = float(plan.get("t_forecast", self.t_first))
        self.spinup_hours = (self.t_forecast - self.t_first) / 3600.0 if plan.get("cold_start", True) else 0.0
        self.wall0 = time.monotonic()
        self.done0: float | None = None
        self.last = 0.0

    def stage_at(self, done_s: float) -> str:
        """``"spin-up"`` while the model time is before the forecast start, else ``"forecast"``."""
        return "spin-up" if self.t_first + done_s < self.t_forecast - 1e-6 else "forecast"

    def eta_seconds(self, done_s: float, total_s: float, now: float) -> float | None:
        """Wall seconds left at this segment's rate so far; None before the rate is known."""
        if self.done0 is None:
            return None
        simulated, wall = done_s - self.done0, now - self.wall0
        if simulated <= 0 or wall <= 0:
            return None
        return max(total_s - done_s, 0.0) * wall / simulated

    def __call__(self, done_s: float, total_s: float, wall_s: float | None = None) -> None:
        now = time.monotonic()
        if self.done0 is None:
            self.done0 = float(done_s)
        if now - self.last < self.interval and done_s < total_s:
            return
        self.last = now
        rundir.check_owner(self.run_dir, self.token)
        fraction = min(max(done_s / total_s, 0.0), 1.0) if total_s > 0 else 1.0
        eta = self.eta_seconds(done_s, total_s, now)
        record = {
            "segment": self.k,
            "fraction": fraction,
            "simulated_s": done_s,
            "total_s": total_s,
            "stage": self.stage_at(done_s),
            "eta_seconds": eta,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": time.time(),
        }
        _write_json(self.run_dir / PROGRESS, record)
        update_run_record(
            self.run_dir,
            progress=fraction,
            stage=record["stage"],
            segment=self.k,
            simulated_hours=round(done_s / 3600.0, 4),
            total_hours=round(total_s / 3600.0, 4),
            spinup_hours=round(self.spinup_hours, 4),
            eta_seconds=None if eta is None else round(eta, 1),
        )


# -- tasks (module-level: importable on every worker) ---------------------------------------------
def prepare_task(config_path: str, run_dir: str, token: str | None = None, overwrite: bool = False) -> str:
    """Task: :func:`workflows.cycle.prepare` for the driver whose lock ``token`` owns the run
    directory (an interrupted cycle resumes from its finished segments when its inputs are
    unchanged). Returns the plan path."""
    run_dir = Path(run_dir)
    with _stage(run_dir, "prepare"):
        rundir.check_owner(run_dir, token)
        plan = prepare(config_path, run_dir, overwrite=overwrite, attempt=token)
        update_run_record(run_dir, status="running", stage="preparing", task="prepare")
        return str(plan)


def segment_task(
    previous: str, run_dir: str, k: int, lease_seconds: float = DEFAULT_LEASE_SECONDS, token: str | None = None
) -> str:
    """Task: segment ``k`` (``previous`` is the path returned by the task before it, which makes
    the dependency). Stops (:class:`~workflows.rundir.OwnerLost`) when the run directory's lock
    no longer names the driver of ``token``. Returns the segment folder."""
    run_dir = Path(run_dir)
    rundir.check_owner(run_dir, token)
    with _stage(run_dir, "segment", k):
        progress = CycleProgress(run_dir, k, token)
        with SegmentLease(run_dir, k, lease_seconds):
            return str(simulate_segment(run_dir, k, progress=progress))


def publish_task(previous: str, run_dir: str, figures: bool = True, token: str | None = None) -> str:
    """Task: merge and publish (``run.json`` with ``status = "succeeded"``). Returns the run.json path."""
    run_dir = Path(run_dir)
    rundir.check_owner(run_dir, token)
    with _stage(run_dir, "publish"):
        publish(run_dir, figures=figures)
        return str(run_dir / RUN_JSON)


# -- driver ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CycleRequest:
    """One cycle to run: its configuration, its run directory, and optionally its database row.

    ``system`` names the system in task keys (default: the configuration's ``name``);
    ``resume`` marks an interrupted cycle taken up again (its finished segments are kept when
    its inputs are unchanged, as for every cycle); ``overwrite`` replaces a forecast of other
    inputs in ``run_dir`` instead of refusing.
    """

    config_path: Path
    run_dir: Path
    system: str | None = None
    cycle_id: int | None = None
    resume: bool = False
    overwrite: bool = False


@dataclass
class CycleOutcome:
    """How a cycle ended: ``status`` (succeeded, failed, interrupted), ``error`` (one line) and
    ``info`` (the content of its run.json)."""

    request: CycleRequest
    status: str
    error: str | None = None
    info: dict = field(default_factory=dict)


@dataclass
class _Tracked:
    request: CycleRequest
    label: str
    futures: list
    submitted: float
    lock: rundir.RunLock | None = None
    started: datetime | None = None
    db_status: str | None = None
    last_progress: float = -1.0
    log_size: int = -1
    last_beat: float = 0.0

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip())
    return out or "system"


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0] if text else type(exc).__name__


def stage_summary(events: Iterable[dict]) -> dict:
    """Attempts and seconds per stage from the task events: ``{"segment-000": {"attempts": 2, "seconds": 1.2, "hosts": [...]}}``."""
    out: dict[str, dict] = {}
    for e in events:
        name = e.get("stage", "?") if e.get("segment") is None else f"{e['stage']}-{int(e['segment']):03d}"
        rec = out.setdefault(name, {"attempts": 0, "seconds": None, "errors": [], "hosts": []})
        if e.get("event") == "start":
            rec["attempts"] += 1
            host = f"{e.get('host')}:{e.get('pid')}"
            if host not in rec["hosts"]:
                rec["hosts"].append(host)
        elif e.get("event") == "done":
            rec["seconds"] = e.get("seconds")
        elif e.get("event") == "error":
            rec["errors"].append(e.get("error"))
    return out


class CycleDriver:
    """Submits cycles to a dask ``client`` and keeps their durable record up to date.

    ``submit(request)`` adds a cycle (its graph is submitted at once); ``poll()`` updates every
    record and returns the outcomes of the cycles that ended since the last call; ``wait()``
    polls until all have ended. ``session_factory`` (optional) is the database whose Cycle rows
    (``request.cycle_id``) and CycleLease heartbeats the driver keeps.
    """

    def __init__(
        self,
        client,
        *,
        session_factory=None,
        retries: int = DEFAULT_RETRIES,
        figures: bool = True,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = 0.5,
        on_outcome: Callable[[CycleOutcome], None] | None = None,
    ):
        self.client = client
        self.session_factory = session_factory
        self.retries = int(retries)
        self.figures = bool(figures)
        self.lease_seconds = float(lease_seconds)
        self.poll_seconds = float(poll_seconds)
        self.on_outcome = on_outcome
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.tracked: dict[str, _Tracked] = {}

    # - submission -
    def submit(self, request: CycleRequest) -> None:
        """Submit one cycle: its prepare task now, the segments and publish as soon as the plan
        exists (:meth:`poll`), so that the chain follows the plan ``prepare`` wrote."""
        run_dir = Path(request.run_dir).resolve()
        request = CycleRequest(
            Path(request.config_path).resolve(), run_dir, request.system, request.cycle_id, request.resume, request.overwrite
        )
        if any(t.request.run_dir == run_dir for t in self.tracked.values()):
            raise ValueError(f"{run_dir} is already being run by this driver")
        run_dir.mkdir(parents=True, exist_ok=True)
        claimed = self.session_factory is not None and request.cycle_id is not None
        if claimed and not claim_cycle(self.session_factory, request.cycle_id, self.owner, lease_seconds=self.lease_seconds):
            raise CycleTaken(f"cycle {request.cycle_id} is run by another driver (its lease is held and fresh)")
        try:
            lock = rundir.RunLock(run_dir, f"dask driver {self.owner}").acquire()  # RunLocked: another writer has it
        except rundir.RunLocked:
            if claimed:
                release_cycle(self.session_factory, request.cycle_id, self.owner)
            raise
        name, start = _name_and_start(request.config_path)
        system = _slug(request.system or name)
        label = f"{system}-{start}-{uuid.uuid4().hex[:8]}"
        if not rundir.holds_forecast(run_dir):  # else prepare first checks that the forecast there is this one
            update_run_record(
                run_dir,
                status="queued",
                name=name,
                progress=0.0,
                error=None,
                submitted=_now_iso(),
                driver=self.owner,
                host=socket.gethostname(),
                pid=os.getpid(),
                finished=None,
            )
        plan_f = self.client.submit(
            prepare_task,
            str(request.config_path),
            str(run_dir),
            lock.token,
            request.overwrite,
            key=f"prepare-{label}",
            pure=False,
            retries=self.retries,
        )
        self.tracked[label] = _Tracked(request, label, [plan_f], time.time(), lock=lock)
        self._db_update(self.tracked[label], status="queued", progress=0.0, error=None, finished=None, started=None, lease=True)
        log.info("submitted %s", label)

    def _submit_chain(self, t: _Tracked) -> None:
        plan = read_json(t.request.run_dir / PLAN)
        if plan is None:
            raise CycleError(f"{t.request.run_dir / PLAN} is missing after prepare")
        prev = t.futures[0]
        for k in range(len(plan["segments"])):
            prev = self.client.submit(
                segment_task,
                prev,
                str(t.request.run_dir),
                k,
                self.lease_seconds,
                t.lock.token,
                key=f"segment-{k:03d}-{t.label}",
                pure=False,
                retries=self.retries,
            )
            t.futures.append(prev)
        t.futures.append(
            self.client.submit(
                publish_task,
                prev,
                str(t.request.run_dir),
                self.figures,
                t.lock.token,
                key=f"publish-{t.label}",
                pure=False,
                retries=self.retries,
            )
        )
        log.info("%s: %d segment(s) submitted", t.label, len(plan["segments"]))

    @property
    def pending(self) -> int:
        return len(self.tracked)

    def labels(self) -> list[str]:
        return list(self.tracked)

    # - polling -
    def poll(self) -> list[CycleOutcome]:
        """Update every cycle's record; return the outcomes of those that ended."""
        ended = []
        for label, t in list(self.tracked.items()):
            final = t.futures[-1]
            status = final.status
            if status == "finished" and len(t.futures) == 1:  # the plan exists: submit the chain
                try:
                    self._submit_chain(t)
                except Exception as exc:  # e.g. an unreadable plan: the cycle fails, others go on
                    outcome = self._finish(t, "failed", f"prepare: {_first_line(exc)}")
                    t.release()
                    del self.tracked[label]
                    ended.append(outcome)
                    continue
                status = t.futures[-1].status
            if status == "finished":
                outcome = self._succeeded(t)
            elif status == "error" or any(f.status == "error" for f in t.futures):
                outcome = self._failed(t)
            elif status in ("cancelled", "lost") or self.client.status not in ("running", "connecting", "newly-created"):
                outcome = self._interrupted(t, "the dask scheduler or the connection to it was lost")
            else:
                self._refresh(t)
                continue
            t.release()
            del self.tracked[label]
            ended.append(outcome)
            if self.on_outcome:
                self.on_outcome(outcome)
        return ended

    def wait(self, timeout: float | None = None) -> list[CycleOutcome]:
        """Poll until every submitted cycle has ended (or ``timeout`` s); returns the outcomes."""
        t0 = time.monotonic()
        out = []
        while self.tracked:
            out.extend(self.poll())
            if not self.tracked:
                break
            if timeout is not None and time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{len(self.tracked)} cycle(s) still running after {timeout:.0f} s: {', '.join(self.tracked)}")
            time.sleep(self.poll_seconds)
        return out

    def interrupt_all(self, reason: str) -> list[CycleOutcome]:
        """Mark every cycle still tracked ``interrupted`` (e.g. on shutdown) and forget them."""
        out = []
        for label, t in list(self.tracked.items()):
            for f in t.futures:
                f.release()
            out.append(self._interrupted(t, reason))
            t.release()
            del self.tracked[label]
        return out

    def _refresh(self, t: _Tracked) -> None:
        rec = read_json(t.request.run_dir / RUN_JSON) or {}
        fields = {}
        if rec.get("status") == "running" and t.db_status != "running":
            t.started = datetime.now(UTC)
            fields.update(status="running", started=t.started)
        progress = float(rec.get("progress", 0.0) or 0.0)
        if abs(progress - t.last_progress) >= 0.01:
            fields["progress"] = progress
            t.last_progress = progress
        size = _size(t.request.run_dir / RUN_LOG)
        if size != t.log_size:
            fields["log"] = _tail(t.request.run_dir / RUN_LOG)
            t.log_size = size
        beat = time.time() - t.last_beat >= min(5.0, self.lease_seconds / 4.0)
        if fields or beat:
            self._db_update(t, lease=True, **fields)
            t.last_beat = time.time()

    def _pipeline_info(self, t: _Tracked) -> dict:
        return {
            "driver": self.owner,
            "keys": [f.key for f in t.futures],
            "retries": self.retries,
            "wall_seconds": time.time() - t.submitted,
            "stages": stage_summary(read_events(t.request.run_dir)),
        }

    def _succeeded(self, t: _Tracked) -> CycleOutcome:
        info = read_json(t.request.run_dir / RUN_JSON) or {}
        info = update_run_record(t.request.run_dir, pipeline=self._pipeline_info(t), wall_seconds=time.time() - t.submitted)
        self._db_update(
            t,
            status="succeeded",
            progress=1.0,
            error=None,
            finished=datetime.now(UTC),
            log=_tail(t.request.run_dir / RUN_LOG),
            lease=True,
            stages=info["pipeline"]["stages"],
        )
        log.info("%s succeeded in %.1f s", t.label, time.time() - t.submitted)
        return CycleOutcome(t.request, "succeeded", None, info)

    def _failed(self, t: _Tracked) -> CycleOutcome:
        failed = next(f for f in t.futures if f.status == "error")
        exc = failed.exception()
        stage = failed.key.split(f"-{t.label}")[0] if isinstance(failed.key, str) else str(failed.key)
        error = f"{stage}: {_first_line(exc)}"
        attempts = stage_summary(read_events(t.request.run_dir)).get(stage, {}).get("attempts")
        if attempts:
            error += f" (after {attempts} attempt{'s' if attempts != 1 else ''})"
        for f in t.futures:
            f.release()
        if isinstance(exc, rundir.RunDirError):  # refused before it was ours: the forecast there keeps its record
            self._db_update(t, status="failed", error=error, finished=datetime.now(UTC), lease=True)
            log.error("%s refused: %s", t.label, error)
            return CycleOutcome(t.request, "failed", error, read_json(t.request.run_dir / RUN_JSON) or {})
        info = update_run_record(
            t.request.run_dir, status="failed", error=error, finished=_now_iso(), pipeline=self._pipeline_info(t)
        )
        self._db_update(
            t,
            status="failed",
            error=error,
            finished=datetime.now(UTC),
            log=_tail(t.request.run_dir / RUN_LOG),
            lease=True,
            stages=info["pipeline"]["stages"],
        )
        log.error("%s failed: %s", t.label, error)
        return CycleOutcome(t.request, "failed", error, info)

    def _finish(self, t: _Tracked, status: str, error: str) -> CycleOutcome:
        for f in t.futures:
            f.release()
        info = update_run_record(t.request.run_dir, status=status, error=error, finished=_now_iso())
        self._db_update(t, status=status, error=error, finished=datetime.now(UTC), lease=True)
        return CycleOutcome(t.request, status, error, info)

    def _interrupted(self, t: _Tracked, reason: str) -> CycleOutcome:
        info = update_run_record(t.request.run_dir, status="interrupted", error=reason, finished=_now_iso())
        self._db_update(t, status="interrupted", error=reason, finished=datetime.now(UTC), lease=True)
        log.warning("%s interrupted: %s", t.label, reason)
        return CycleOutcome(t.request, "interrupted", reason, info)

    # - database -
    def _db_update(self, t: _Tracked, *, lease: bool, stages: dict | None = None, **fields) -> None:
        if self.session_factory is None or t.request.cycle_id is None:
            if "status" in fields:
                t.db_status = fields["status"]
            return
        from .db import Cycle, CycleLease

        try:
            with self.session_factory() as s:
                row = s.get(Cycle, t.request.cycle_id)
                if row is None:
                    return
                for key, value in fields.items():
                    if key == "log" and value is not None and len(value) > MAX_LOG_CHARS:
                        value = "…\n" + value[-MAX_LOG_CHARS:]
                    setattr(row, key, value)
                if "status" not in fields and row.status == "interrupted" and t.db_status in ("queued", "running"):
                    # another process (e.g. a restarted web server) marked our live cycle interrupted
                    row.status, row.error, row.finished = t.db_status, None, None
                if lease:
                    lease_row = s.get(CycleLease, t.request.cycle_id)
                    if lease_row is None:
                        lease_row = CycleLease(cycle_id=t.request.cycle_id, resumes=0, attempts={})
                        s.add(lease_row)
                    lease_row.owner = "" if fields.get("status") in TERMINAL else self.owner  # released when it ends
                    lease_row.heartbeat = datetime.now(UTC)
                    if stages is not None:
                        lease_row.attempts = {k: v["attempts"] for k, v in stages.items()}
                s.commit()
            if "status" in fields:
                t.db_status = fields["status"]
        except Exception:  # the database is down: the run directory keeps the record
            log.exception("cycle %s: could not update the database row", t.request.cycle_id)


def _name_and_start(config_path: Path) -> tuple[str, str]:
    """The system name and the cycle label (``20261125T00Z``) for task keys, read leniently
    (the prepare task validates the configuration and fails the cycle with the reason)."""
    import tomllib

    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return "system", "cycle"
    name = str(data.get("name", "system"))
    try:
        from solver.state import utc

        start = utc(data["start"]).strftime("%Y%m%dT%HZ") if "start" in data else "today"
    except Exception:
        start = "cycle"
    return name, start


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail(path: Path, limit: int = MAX_LOG_CHARS) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            n = fh.tell()
            fh.seek(max(0, n - limit))
            text = fh.read().decode("utf-8", errors="replace")
        return text if n <= limit else "…\n" + text
    except FileNotFoundError:
        return ""


# -- claims ---------------------------------------------------------------------------------------
class CycleTaken(rundir.RunLocked):
    """Another live driver (a web server's embedded scheduler, ``coastcast scheduler``) holds the
    cycle's lease: it runs that cycle, this driver must not."""


def claim_cycle(
    session_factory, cycle_id: int, owner: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS, now: datetime | None = None
) -> bool:
    """Take the :class:`~workflows.db.CycleLease` of ``cycle_id`` for ``owner``, atomically.

    Succeeds when the cycle has no lease row yet (an INSERT that a concurrent INSERT makes fail on
    the primary key), or its lease is released (``owner == ""``), already ``owner``'s, or stale (no
    heartbeat for ``lease_seconds``) — a conditional UPDATE, of which one of two concurrent
    drivers wins. Returns whether ``owner`` now holds it; whoever loses leaves the cycle alone.
    """
    from sqlalchemy import or_, update
    from sqlalchemy.exc import IntegrityError

    from .db import CycleLease

    now = now or datetime.now(UTC)
    stale = now - timedelta(seconds=lease_seconds)
    with session_factory() as s:
        taken = s.execute(
            update(CycleLease)
            .where(
                CycleLease.cycle_id == cycle_id,
                or_(
                    CycleLease.owner == "",
                    CycleLease.owner == owner,
                    CycleLease.heartbeat.is_(None),
                    CycleLease.heartbeat < stale,
                ),
            )
            .values(owner=owner, heartbeat=now)
        ).rowcount
        if taken == 1:
            s.commit()
            return True
        if s.get(CycleLease, cycle_id) is not None:
            s.rollback()
            return False
        s.add(CycleLease(cycle_id=cycle_id, owner=owner, heartbeat=now, resumes=0, attempts={}))
        try:
            s.commit()
            return True
        except IntegrityError:
            s.rollback()
            return False


def release_cycle(session_factory, cycle_id: int, owner: str) -> None:
    """Give up ``owner``'s lease of ``cycle_id`` (``owner = ""``), so that the cycle, once queued
    again (a later "run now"), can be claimed at once rather than after the lease expires."""
    from sqlalchemy import update

    from .db import CycleLease

    with session_factory() as s:
        s.execute(update(CycleLease).where(CycleLease.cycle_id == cycle_id, CycleLease.owner == owner).values(owner=""))
        s.commit()


# -- recovery -------------------------------------------------------------------------------------
def recover_stale_cycles(
    session_factory, *, now: datetime | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> list[int]:
    """Mark ``running`` (or ``queued`` and leased) cycles whose driver stopped heart-beating more
    than ``lease_seconds`` before ``now`` as ``interrupted`` (row and run.json). Returns their ids.

    A running row without a lease (run by the web app's own runner) is left to that runner's
    start-up check. Call it when a scheduler starts and periodically while it runs.
    """
    from .db import Cycle, CycleLease

    now = now or datetime.now(UTC)
    out = []
    with session_factory() as s:
        rows = (
            s.query(Cycle, CycleLease)
            .join(CycleLease, CycleLease.cycle_id == Cycle.id)
            .filter(Cycle.status.in_(("queued", "running")))
            .all()
        )
        for cycle, lease in rows:
            beat = lease.heartbeat
            if beat is not None and (now - beat).total_seconds() <= lease_seconds:
                continue
            if not lease.owner and cycle.status == "queued":  # released: queued again, waiting for a driver
                continue
            reason = f"its driver {lease.owner} stopped at {beat.isoformat() if beat else 'start'} (no heartbeat for {lease_seconds:.0f} s)"
            cycle.status, cycle.error, cycle.finished = "interrupted", reason, now
            lease.owner = ""  # its driver is gone: released, so that the next driver claims it at once
            out.append(cycle.id)
            if cycle.run_dir and Path(cycle.run_dir).is_dir():
                update_run_record(cycle.run_dir, status="interrupted", error=reason, finished=now.isoformat())
            log.warning("cycle %d interrupted: %s", cycle.id, reason)
        s.commit()
    return out


# -- convenience ----------------------------------------------------------------------------------
def run_cycles(
    requests: Sequence[CycleRequest],
    *,
    client=None,
    scheduler: str | None = None,
    spec=None,
    workers: int | None = None,
    session_factory=None,
    retries: int = DEFAULT_RETRIES,
    figures: bool = True,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    timeout: float | None = None,
) -> list[CycleOutcome]:
    """Run many cycles at once and wait for all; outcomes in the order of ``requests``.

    ``client``: an existing :class:`distributed.Client`; else one is opened on ``scheduler`` (an
    address or a cluster file), ``spec`` (:class:`~workflows.cluster.ClusterSpec`) or a
    LocalCluster of ``workers`` processes, and closed afterwards.
    """
    if client is None:
        from .cluster import open_client

        with open_client(scheduler=scheduler, spec=spec, workers=workers) as c:
            return run_cycles(
                requests,
                client=c,
                session_factory=session_factory,
                retries=retries,
                figures=figures,
                lease_seconds=lease_seconds,
                timeout=timeout,
            )
    driver = CycleDriver(client, session_factory=session_factory, retries=retries, figures=figures, lease_seconds=lease_seconds)
    outcomes: dict[Path, CycleOutcome] = {}
    try:
        for r in requests:
            try:
                driver.submit(r)
            except rundir.RunLocked as exc:  # another writer has it: that cycle is not ours to record
                outcomes[Path(r.run_dir).resolve()] = CycleOutcome(r, "failed", str(exc), {})
        for o in driver.wait(timeout=timeout):
            outcomes[o.request.run_dir] = o
    except BaseException:
        driver.interrupt_all("the driver stopped (interrupted or failed) while this cycle ran")
        raise
    return [outcomes[Path(r.run_dir).resolve()] for r in requests]


def run_on_cluster(
    config_path,
    run_dir,
    *,
    scheduler: str | None = None,
    figures: bool = True,
    retries: int = DEFAULT_RETRIES,
    workers: int | None = None,
    overwrite: bool = False,
) -> dict:
    """One cycle on a dask cluster (``coastcast run --scheduler ADDR``); returns run.json's content.

    ``scheduler``: a scheduler address (``tcp://host:8786``), a cluster file (``.yaml``/``.toml``,
    see :mod:`workflows.cluster`), or None for a LocalCluster. Raises :class:`CycleError` with the
    reason when the cycle fails.
    """
    outcome = run_cycles(
        [CycleRequest(Path(config_path), Path(run_dir), overwrite=overwrite)],
        scheduler=scheduler,
        figures=figures,
        retries=retries,
        workers=workers,
    )[0]
    if outcome.status != "succeeded":
        raise CycleError(f"cycle {outcome.status}: {outcome.error}")
    return outcome.info
