"""The cycle service: every cycle of one database runs through one dask pipeline.

Whoever asks for a cycle — the web app's "run now", the daily rules, a resumed interruption — makes
a durable :class:`~workflows.db.Cycle` row (status ``queued``, ``config.toml`` in its run
directory). A :class:`CycleService` owns a dask client, a
:class:`~workflows.pipeline.CycleDriver` and a :class:`~workflows.scheduling.DailyScheduler`;
its loop (a background thread, or :meth:`CycleService.run_pending` in the caller's) claims such
rows (:func:`~workflows.pipeline.claim_cycle`: one driver per cycle, across processes and
machines), runs them as ``prepare → segments → publish`` tasks with leases and retries, and
mirrors their record into the database. Nothing lives only in the service: a service (web server,
``coastcast scheduler``) killed mid-cycle leaves a row whose lease goes stale; the next service on
the database marks it ``interrupted`` and resumes it from its last finished segment.

``coastcast serve`` starts one with an embedded LocalCluster (or on ``--dask ADDR``);
``coastcast scheduler`` is the same service without the web app.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from .pipeline import DEFAULT_LEASE_SECONDS, DEFAULT_RETRIES, CycleDriver, CycleOutcome
from .scheduling import DEFAULT_MAX_RESUMES, DailyScheduler

log = logging.getLogger(__name__)


class CycleService:
    """The daily rules and the queue of one database, run on a dask cluster.

    ``scheduler``: a dask scheduler address or cluster file; ``spec``: a
    :class:`~workflows.cluster.ClusterSpec`; neither: a LocalCluster of ``workers`` worker
    processes of one thread each (``processes=False``: threads of this process, for tests and
    debugging). ``daily``: also start each active system's cycle at its run hour (False: only run
    what is queued). Use :meth:`start` / :meth:`stop` (or ``with``) for the background loop.
    """

    def __init__(
        self,
        session_factory,
        *,
        scheduler: str | None = None,
        spec=None,
        workers: int = 1,
        processes: bool = True,
        retries: int = DEFAULT_RETRIES,
        figures: bool = True,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_resumes: int = DEFAULT_MAX_RESUMES,
        interval_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        daily: bool = True,
    ):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if interval_seconds <= 0 or poll_seconds <= 0 or lease_seconds <= 0:
            raise ValueError("interval_seconds, poll_seconds and lease_seconds must be positive")
        self.session_factory = session_factory
        self.scheduler_address = scheduler
        self.spec = spec
        self.workers = int(workers)
        self.processes = bool(processes)
        self.retries = int(retries)
        self.figures = bool(figures)
        self.lease_seconds = float(lease_seconds)
        self.max_resumes = int(max_resumes)
        self.interval_seconds = float(interval_seconds)
        self.poll_seconds = float(poll_seconds)
        self.daily = bool(daily)
        self.client = None
        self.driver: CycleDriver | None = None
        self.scheduler: DailyScheduler | None = None
        self._stack: contextlib.ExitStack | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()

    # - the cluster -
    def _open(self) -> None:
        with self._lock:
            if self.client is not None:
                return
            from .cluster import ClusterSpec, open_client

            spec = self.spec
            if spec is None and not self.scheduler_address:
                spec = ClusterSpec(workers=self.workers, options={"processes": self.processes})
            stack = contextlib.ExitStack()
            self.client = stack.enter_context(open_client(scheduler=self.scheduler_address, spec=spec, workers=self.workers))
            self._stack = stack
            self.driver = CycleDriver(
                self.client,
                session_factory=self.session_factory,
                retries=self.retries,
                figures=self.figures,
                lease_seconds=self.lease_seconds,
            )
            self.scheduler = DailyScheduler(
                self.session_factory,
                self.driver,
                lease_seconds=self.lease_seconds,
                max_resumes=self.max_resumes,
                daily=self.daily,
            )
            log.info("cycle service on dask %s (driver %s)", self.client.scheduler.address, self.driver.owner)

    # - background loop -
    def start(self) -> CycleService:
        """Open the cluster and run the scheduler loop in a daemon thread; returns self."""
        self._open()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="coastcast-cycles", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        self.scheduler.run_forever(
            interval_seconds=self.interval_seconds, poll_seconds=self.poll_seconds, stop=self._stop, wake=self._wake
        )

    def wake(self) -> None:
        """Run a scheduling pass now (a cycle was queued); the background loop picks it up."""
        self._wake.set()

    # - in the caller's thread -
    def run_pending(self, timeout: float | None = None) -> list[CycleOutcome]:
        """One scheduling pass, then wait until every cycle it (or an earlier pass) started has
        ended; returns their outcomes. For tests and ``coastcast scheduler --once``."""
        self._open()
        self.scheduler.tick()
        return self.driver.wait(timeout=timeout)

    def stop(self, reason: str = "the service stopped while this cycle ran; it resumes when a service starts again") -> int:
        """Stop the loop, mark the cycles still running ``interrupted`` (they resume later) and
        close the cluster this service started. Returns how many were interrupted."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        n = 0
        with self._lock:
            if self.driver is not None:
                n = len(self.driver.interrupt_all(reason))
            if self._stack is not None:
                self._stack.close()
            self.client = self.driver = self.scheduler = self._stack = None
        return n

    def __enter__(self) -> CycleService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
