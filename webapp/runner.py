"""Cycle runners: the web app only enqueues; a runner executes a queued Cycle row.

A runner is any object with ``submit(cycle_id: int) -> None``. The default,
:class:`ProcessPoolRunner`, runs each cycle in a worker process (spawned, so the HDF5 library,
which is not thread-safe, is never shared with the server's threads, and a crash in the solver
cannot take the server down). :func:`execute_cycle` does the
work for every runner here: it marks the row running, calls
``workflows.cycle.run_cycle(config_path, run_dir, progress=...)`` (or the configured
``COASTCAST_RUN_FUNCTION``), records progress (0..1), the log and the outcome in the row, and
never raises. The state lives in the database and the run directory, so a restarted server loses
nothing but the threads: ``coastcast serve`` marks cycles left ``running`` as ``interrupted``.
"""
from __future__ import annotations

import logging
import threading
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Protocol

from workflows.db import Cycle, utcnow

log = logging.getLogger(__name__)

MAX_LOG_CHARS = 200_000


class Runner(Protocol):
    def submit(self, cycle_id: int) -> None: ...


def default_run_function():
    """``workflows.cycle.run_cycle`` (its run-directory lock owned by the "web app"), imported on first use."""
    from functools import partial

    from workflows.cycle import run_cycle

    return partial(run_cycle, owner="web app")


class _ThreadLog(logging.Handler):
    """Collects the log records emitted by one thread (the cycle's) as text lines."""

    def __init__(self, thread_id: int):
        super().__init__(logging.INFO)
        self.thread_id = thread_id
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        if record.thread == self.thread_id:
            self.lines.append(self.format(record))

    def text(self) -> str:
        out = "\n".join(self.lines)
        return out if len(out) <= MAX_LOG_CHARS else "…\n" + out[-MAX_LOG_CHARS:]


def execute_cycle(session_factory, cycle_id: int, run_function: Callable | None = None) -> str:
    """Run queued cycle ``cycle_id`` to the end; returns its final status. Never raises."""
    handler = _ThreadLog(threading.get_ident())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        with session_factory() as s:
            cycle = s.get(Cycle, cycle_id)
            if cycle is None or cycle.status != "queued":
                return cycle.status if cycle else "missing"
            cycle.status, cycle.started, cycle.progress, cycle.error = "running", utcnow(), 0.0, None
            run_dir = Path(cycle.run_dir)
            s.commit()
        config_path = run_dir / "config.toml"
        last = [0.0]

        def progress(*args, **kwargs):
            fraction = kwargs.get("fraction")
            message = kwargs.get("message")
            for a in args:
                if isinstance(a, (int, float)) and fraction is None:
                    fraction = float(a)
                elif isinstance(a, str):
                    message = a
            if message:
                logging.getLogger("coastcast.cycle").info("%s", message)
            now = time.monotonic()
            if fraction is not None and now - last[0] >= 0.5:
                last[0] = now
                with session_factory() as s2:
                    c = s2.get(Cycle, cycle_id)
                    if c is not None:
                        c.progress = max(0.0, min(1.0, float(fraction)))
                        c.log = handler.text()
                        s2.commit()

        from workflows.rundir import RunLocked

        status, error, ours = "succeeded", None, True
        try:
            fn = run_function or default_run_function()
            log.info("cycle %d: running %s", cycle_id, config_path)
            result = fn(config_path, run_dir, progress=progress)
            if isinstance(result, dict) and str(result.get("status", "succeeded")) not in ("succeeded", "ok", "success"):
                status, error = "failed", str(result.get("error") or f"the run reported status {result.get('status')!r}")
        except RunLocked as exc:  # another process writes that directory: leave it alone
            status, error, ours = "failed", str(exc), False
            log.error("cycle %d: %s", cycle_id, exc)
        except Exception as exc:  # the cycle fails, the server goes on
            status, error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
            log.exception("cycle %d failed", cycle_id)
        log.info("cycle %d: %s", cycle_id, status)
        text = handler.text()
        try:
            if ours:
                (run_dir / "run.log").write_text(text + "\n")
        except OSError:
            pass
        with session_factory() as s:
            cycle = s.get(Cycle, cycle_id)
            if cycle is not None:
                cycle.status, cycle.error, cycle.finished, cycle.log = status, error, utcnow(), text
                if status == "succeeded":
                    cycle.progress = 1.0
                s.commit()
        return status
    except Exception:  # database trouble: logged, the thread survives
        log.exception("cycle %d: could not record the run", cycle_id)
        return "failed"
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


class ThreadPoolRunner:
    """Runs cycles in a thread pool inside the server process (only for run functions that do
    no HDF5/netCDF I/O of their own, since HDF5 is not thread-safe; prefer the process runner)."""

    def __init__(self, session_factory, run_function: Callable | None = None, max_workers: int = 1):
        self.session_factory = session_factory
        self.run_function = run_function
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="coastcast-cycle")

    def submit(self, cycle_id: int) -> None:
        self.pool.submit(execute_cycle, self.session_factory, cycle_id, self.run_function)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


def _execute_in_process(database_url: str, cycle_id: int, run_function: Callable | None) -> str:
    """Worker-process entry: its own engine, then :func:`execute_cycle`."""
    from workflows.db import make_engine, make_session_factory

    logging.basicConfig(level=logging.INFO)
    engine = make_engine(database_url)
    try:
        return execute_cycle(make_session_factory(engine), cycle_id, run_function)
    finally:
        engine.dispose()


class ProcessPoolRunner:
    """Runs cycles in spawned worker processes (``coastcast serve``'s default).

    ``run_function`` must be importable by name (a module-level function) so that it can be sent
    to the worker; None means ``workflows.cycle.run_cycle``.
    """

    def __init__(self, database_url: str, run_function: Callable | None = None, max_workers: int = 1):
        self.database_url = database_url
        self.run_function = run_function
        self.pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, cycle_id: int) -> None:
        future = self.pool.submit(_execute_in_process, self.database_url, cycle_id, self.run_function)
        future.add_done_callback(lambda f: f.exception() and log.error("cycle %d: worker failed: %s", cycle_id, f.exception()))

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


class InlineRunner:
    """Runs the cycle at once in the caller's thread (debugging and tests)."""

    def __init__(self, session_factory, run_function: Callable | None = None):
        self.session_factory = session_factory
        self.run_function = run_function

    def submit(self, cycle_id: int) -> None:
        execute_cycle(self.session_factory, cycle_id, self.run_function)

    def shutdown(self, wait: bool = True) -> None:
        pass


class NullRunner:
    """Leaves cycles queued, for an external scheduler (e.g. ``coastcast scheduler``) to pick up."""

    def submit(self, cycle_id: int) -> None:
        log.info("cycle %d queued for the external scheduler", cycle_id)

    def shutdown(self, wait: bool = True) -> None:
        pass


def make_runner(app) -> Runner:
    """The runner named by ``app.config['COASTCAST_RUNNER']`` (see :mod:`webapp`)."""
    spec = app.config.get("COASTCAST_RUNNER", "process")
    sessions = app.extensions["coastcast_sessions"]
    fn = app.config.get("COASTCAST_RUN_FUNCTION")
    if hasattr(spec, "submit"):
        return spec
    if spec == "process":
        return ProcessPoolRunner(app.config["COASTCAST_DATABASE_URL"], fn, int(app.config.get("COASTCAST_RUNNER_WORKERS", 1)))
    if spec == "thread":
        return ThreadPoolRunner(sessions, fn, int(app.config.get("COASTCAST_RUNNER_WORKERS", 1)))
    if spec == "inline":
        return InlineRunner(sessions, fn)
    if spec in ("none", None):
        return NullRunner()
    raise ValueError(f"COASTCAST_RUNNER = {spec!r}: write 'process', 'thread', 'inline', 'none' or give an object with submit()")


def mark_interrupted(session_factory, lease_seconds: float = 120.0) -> int:
    """Mark cycles left ``running`` by a dead server as ``interrupted``; returns how many.

    Cycles driven by the dask pipeline (``coastcast scheduler``) whose lease heartbeat is fresher
    than ``lease_seconds`` are alive elsewhere and left alone.
    """
    from datetime import timedelta

    from workflows.db import CycleLease

    now = utcnow()
    with session_factory() as s:
        rows = s.query(Cycle).filter(Cycle.status == "running").all()
        alive = {
            l.cycle_id
            for l in s.query(CycleLease).filter(CycleLease.cycle_id.in_([c.id for c in rows])).all()
            if l.heartbeat is not None and now - l.heartbeat < timedelta(seconds=lease_seconds)
        }
        rows = [c for c in rows if c.id not in alive]
        for c in rows:
            c.status, c.finished = "interrupted", utcnow()
            c.error = "the server stopped while this cycle ran; run it again"
        s.commit()
        return len(rows)
