"""How the web app hands its cycles to the cycle service: views only enqueue.

A view makes the durable record of a cycle (a ``queued`` :class:`~workflows.db.Cycle` row and the
``config.toml`` of its run directory) and calls ``runner.submit(cycle_id)``. Every runner here
runs cycles through the one dask pipeline of :mod:`workflows.service` (claims, leases, retries,
resume), so a cycle asked for on the web runs exactly as a daily one:

* :class:`ServiceRunner` (``COASTCAST_RUNNER = "dask"``, the default): a
  :class:`~workflows.service.CycleService` on an embedded LocalCluster of
  ``COASTCAST_RUNNER_WORKERS`` worker processes, or on the dask scheduler
  ``COASTCAST_DASK_SCHEDULER``; ``submit`` wakes its loop. ``coastcast serve`` starts it at once
  (so the daily cycles run too); otherwise the first submit does.
* :class:`InlineRunner` (``"inline"``): the same service on worker threads of this process, and
  ``submit`` returns when the cycle has ended (tests, debugging).
* :class:`QueueRunner` (``"none"``): leaves the cycle queued for a separate ``coastcast
  scheduler`` on the same database.

Progress, status and logs come from the database row and the run directory (``run.json``), never
from the runner.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Protocol

from workflows.db import Cycle, CycleLease, utcnow

log = logging.getLogger(__name__)


class Runner(Protocol):
    def submit(self, cycle_id: int) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


def _service(session_factory, app_config, *, processes: bool):
    from workflows.service import CycleService

    return CycleService(
        session_factory,
        scheduler=app_config.get("COASTCAST_DASK_SCHEDULER") or None,
        workers=int(app_config.get("COASTCAST_RUNNER_WORKERS", 1)),
        processes=processes,
        figures=bool(app_config.get("COASTCAST_FIGURES", True)),
        lease_seconds=float(app_config.get("COASTCAST_LEASE_SECONDS", 60.0)),
        poll_seconds=float(app_config.get("COASTCAST_POLL_SECONDS", 1.0)),
        interval_seconds=float(app_config.get("COASTCAST_TICK_SECONDS", 60.0)),
        daily=bool(app_config.get("COASTCAST_DAILY", True)),
    )


class ServiceRunner:
    """The cycle service in a background thread of the web server (see the module docstring)."""

    def __init__(self, session_factory, app_config):
        self.service = _service(session_factory, app_config, processes=True)
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open the cluster and start the scheduling loop (idempotent)."""
        with self._lock:
            if not self._started:
                self.service.start()
                self._started = True

    def submit(self, cycle_id: int) -> None:
        self.start()
        log.info("cycle %d queued; waking the cycle service", cycle_id)
        self.service.wake()

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._started:
                n = self.service.stop()
                if n:
                    log.warning("%d cycle(s) interrupted by the shutdown; they resume at the next start", n)
                self._started = False


class InlineRunner:
    """The cycle service on threads of this process; ``submit`` waits for the cycle to end."""

    def __init__(self, session_factory, app_config):
        self.service = _service(session_factory, app_config, processes=False)
        self.service.daily = False
        self.timeout = float(app_config.get("COASTCAST_INLINE_TIMEOUT", 600.0))

    def submit(self, cycle_id: int) -> None:
        self.service.run_pending(timeout=self.timeout)

    def shutdown(self, wait: bool = True) -> None:
        if self.service.client is not None:
            self.service.stop()


class QueueRunner:
    """Leaves cycles queued, for a ``coastcast scheduler`` on the same database to run."""

    def submit(self, cycle_id: int) -> None:
        log.info("cycle %d queued for the external scheduler", cycle_id)

    def shutdown(self, wait: bool = True) -> None:
        pass


RUNNERS = {"dask": ServiceRunner, "inline": InlineRunner}


def make_runner(app) -> Runner:
    """The runner named by ``app.config['COASTCAST_RUNNER']`` (see :mod:`webapp`)."""
    spec = app.config.get("COASTCAST_RUNNER", "dask")
    if hasattr(spec, "submit"):
        return spec
    if spec in ("none", None):
        return QueueRunner()
    if spec not in RUNNERS:
        raise ValueError(f"COASTCAST_RUNNER = {spec!r}: write 'dask', 'inline' or 'none', or give an object with submit()")
    return RUNNERS[spec](app.extensions["coastcast_sessions"], app.config)


def mark_interrupted(session_factory, lease_seconds: float = 120.0) -> int:
    """Mark cycles left ``running`` with no live driver (no lease, or one silent for
    ``lease_seconds``) as ``interrupted``; returns how many. The cycle service resumes them.

    Cycles whose lease heartbeat is fresh are alive elsewhere (a ``coastcast scheduler``, another
    server on the same database) and left alone.
    """
    now = utcnow()
    with session_factory() as s:
        rows = s.query(Cycle).filter(Cycle.status == "running").all()
        alive = {
            lease.cycle_id
            for lease in s.query(CycleLease).filter(CycleLease.cycle_id.in_([c.id for c in rows])).all()
            if lease.owner and lease.heartbeat is not None and now - lease.heartbeat < timedelta(seconds=lease_seconds)
        }
        rows = [c for c in rows if c.id not in alive]
        for lease in s.query(CycleLease).filter(CycleLease.cycle_id.in_([c.id for c in rows])).all():
            lease.owner = ""  # no live driver: released for the service that resumes it
        for c in rows:
            c.status, c.finished = "interrupted", utcnow()
            c.error = "the server stopped while this cycle ran; it resumes when the cycle service starts"
        s.commit()
        return len(rows)
