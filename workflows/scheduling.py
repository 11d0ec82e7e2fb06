"""Daily cycles of every active forecast system (``coastcast scheduler``).

The rules, all decided by pure functions of the database and an injected ``now`` (so that tests
control the clock instead of waiting):

* a system's cycle is due at its run hour (``ForecastSystem.run_hour_utc``, UTC) every day; the
  cycle's forecast starts at that instant (``cycle_time``) — :func:`latest_run_time`;
* one cycle per system at a time: a system with a queued or running cycle gets no new one;
* a missed cycle (the scheduler was down at the run hour) is caught up once: only the latest due
  instant is considered, never each missed day; a cycle that already exists for that instant (or
  a later one, e.g. the web app's "run now") is not run again;
* paused (and draft) systems are skipped;
* hot start: when the previous cycle succeeded and its ``restart.nc`` is valid at this cycle's
  start (its ``cycle_time + restart_hours``), the new cycle continues it (``[initial] kind =
  "restart"``); otherwise it spins up cold;
* a cycle left ``running`` by a dead driver is marked ``interrupted`` once its lease is stale
  (:func:`workflows.pipeline.recover_stale_cycles`) and resumed from its last finished segment,
  at most ``max_resumes`` times, while it is still its system's newest cycle; then it is failed
  with the reason;
* cycles queued by the web app (its ``none`` runner) are picked up and run.

:class:`DailyScheduler` applies these rules at each :meth:`~DailyScheduler.tick` and hands the
cycles to a :class:`~workflows.pipeline.CycleDriver` (dask).
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from .db import CYCLE_ACTIVE, Cycle, CycleLease, ForecastSystem, utcnow
from .pipeline import (
    DEFAULT_LEASE_SECONDS,
    CycleRequest,
    recover_stale_cycles,
    update_run_record,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_RESUMES = 2


def latest_run_time(now: datetime, run_hour_utc: int) -> datetime:
    """The latest instant at ``run_hour_utc``:00 UTC that is not after ``now``."""
    now = now.astimezone(UTC)
    if not 0 <= int(run_hour_utc) <= 23:
        raise ValueError(f"run_hour_utc must be 0..23, got {run_hour_utc}")
    t = now.replace(hour=int(run_hour_utc), minute=0, second=0, microsecond=0)
    return t if t <= now else t - timedelta(days=1)


def cycle_dir(system: ForecastSystem, cycle_time: datetime) -> Path:
    """``<data_dir>/cycles/YYYYmmddTHHZ`` (the web app's layout)."""
    return Path(system.data_dir) / "cycles" / cycle_time.astimezone(UTC).strftime("%Y%m%dT%HZ")


@dataclass(frozen=True)
class DueCycle:
    """A cycle to start: system, forecast start, and the restart file to continue (None: cold)."""

    system_id: int
    cycle_time: datetime
    hot_start: Path | None


def _restart_valid_time(cycle: Cycle) -> datetime | None:
    """When ``cycle``'s restart.nc is valid: its start + restart_hours (from its config.toml)."""
    if not cycle.run_dir:
        return None
    try:
        data = tomllib.loads((Path(cycle.run_dir) / "config.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    hours = float(data.get("hours", 72.0))
    restart_hours = float(data.get("restart_hours", min(24.0, hours)))
    return cycle.cycle_time + timedelta(hours=restart_hours)


def hot_start_file(session, system: ForecastSystem, cycle_time: datetime) -> Path | None:
    """The restart.nc of the system's latest succeeded cycle when it is valid at ``cycle_time``."""
    prev = (
        session.query(Cycle)
        .filter(Cycle.system_id == system.id, Cycle.status == "succeeded", Cycle.cycle_time < cycle_time)
        .order_by(Cycle.cycle_time.desc())
        .first()
    )
    if prev is None or not prev.run_dir:
        return None
    restart = Path(prev.run_dir) / "restart.nc"
    valid = _restart_valid_time(prev)
    if restart.is_file() and valid is not None and abs((valid - cycle_time).total_seconds()) < 1.0:
        return restart
    return None


def due_cycles(session, now: datetime) -> list[DueCycle]:
    """The cycles to start at ``now`` (see the module docstring for the rules)."""
    out = []
    for system in session.query(ForecastSystem).filter(ForecastSystem.status == "active").order_by(ForecastSystem.id):
        t = latest_run_time(now, system.run_hour_utc)
        busy = session.query(Cycle.id).filter(Cycle.system_id == system.id, Cycle.status.in_(CYCLE_ACTIVE)).first()
        if busy is not None:
            continue
        newest = session.query(Cycle).filter(Cycle.system_id == system.id).order_by(Cycle.cycle_time.desc()).first()
        if newest is not None and newest.cycle_time >= t:
            continue
        out.append(DueCycle(system.id, t, hot_start_file(session, system, t)))
    return out


def cycle_config_text(
    system: ForecastSystem, cycle_time: datetime, hot_start: Path | None, config_toml: str | None = None
) -> str:
    """A cycle's config.toml: the system's configuration (``config_toml``, else
    ``system.config_toml``) checked by the configuration schema, with ``start`` = the cycle time
    and, for a hot start, ``[initial] kind = "restart"`` from ``hot_start`` (otherwise the
    system's own initial state, a stale restart of an older cycle replaced by rest). Relative paths
    are taken from the system's data folder; the text written has them absolute. Raises
    ValueError (:class:`~workflows.config.ConfigError`) with the reason when the configuration
    cannot be used."""
    from .config import ForecastConfig, dump_toml, with_overrides

    text = system.config_toml if config_toml is None else config_toml
    where = f"system {system.id} ({system.name!r})"
    if not (text or "").strip():
        raise ValueError(f"{where} has no configuration (config_toml is empty)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: config_toml is not valid TOML ({exc})") from None
    data["start"] = cycle_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(data.get("initial"), dict) and data["initial"].get("kind") == "restart":
        data.pop("initial")  # a stale restart of an older cycle is of no use
    cfg = ForecastConfig.from_mapping(data, base_dir=system.data_dir or ".", where=where)
    if hot_start is not None:
        cfg = with_overrides(cfg, {"initial": {"kind": "restart", "file": str(hot_start)}}, where=where)
    return dump_toml(cfg)


def enqueue(session, system: ForecastSystem, cycle_time: datetime, hot_start: Path | None) -> Cycle:
    """Create the queued Cycle row and write its run directory's config.toml (not committed)."""
    cycle = Cycle(system_id=system.id, cycle_time=cycle_time, status="queued", progress=0.0, log="")
    cycle.run_dir = str(cycle_dir(system, cycle_time))
    session.add(cycle)
    session.flush()
    run_dir = Path(cycle.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        text = cycle_config_text(system, cycle_time, hot_start)
    except ValueError as exc:
        cycle.status, cycle.error, cycle.finished = "failed", str(exc), utcnow()
        return cycle
    tmp = run_dir / "config.toml.part"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(run_dir / "config.toml")
    log.info("%s %s queued (%s)", system.name, cycle.label, f"hot start from {hot_start}" if hot_start else "cold start")
    return cycle


def resumable_cycles(session, now: datetime, max_resumes: int = DEFAULT_MAX_RESUMES) -> tuple[list[int], list[int]]:
    """``(resume, give_up)``: interrupted cycles that are still their active system's newest one
    and have been resumed fewer than ``max_resumes`` times, and those that have used them up."""
    resume, give_up = [], []
    rows = (
        session.query(Cycle).join(ForecastSystem).filter(Cycle.status == "interrupted", ForecastSystem.status == "active").all()
    )
    for c in rows:
        newest = session.query(Cycle.id).filter(Cycle.system_id == c.system_id).order_by(Cycle.cycle_time.desc()).first()
        if newest is None or newest[0] != c.id or not c.run_dir or not (Path(c.run_dir) / "config.toml").is_file():
            continue
        lease = session.get(CycleLease, c.id)
        (resume if (lease.resumes if lease else 0) < max_resumes else give_up).append(c.id)
    return resume, give_up


class DailyScheduler:
    """Applies the scheduling rules at each :meth:`tick` and runs the cycles with ``driver``
    (a :class:`~workflows.pipeline.CycleDriver`, or any object with ``submit``, ``poll``,
    ``labels`` and ``tracked``). ``daily`` False: no daily cycles, only the queued and the
    interrupted ones."""

    def __init__(
        self,
        session_factory,
        driver,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_resumes: int = DEFAULT_MAX_RESUMES,
        daily: bool = True,
    ):
        self.session_factory = session_factory
        self.daily = bool(daily)
        self.driver = driver
        self.lease_seconds = float(lease_seconds)
        self.max_resumes = int(max_resumes)

    def _submit(self, cycle: Cycle, resume: bool = False) -> None:
        from .rundir import RunLocked

        run_dir = Path(cycle.run_dir)
        try:
            self.driver.submit(
                CycleRequest(run_dir / "config.toml", run_dir, system=f"s{cycle.system_id}", cycle_id=cycle.id, resume=resume)
            )
        except RunLocked as exc:  # another process (a web server, a second scheduler) runs it
            log.warning("cycle %d not submitted: %s", cycle.id, exc)

    def _driven_ids(self) -> set[int]:
        return {t.request.cycle_id for t in getattr(self.driver, "tracked", {}).values()}

    def _plan(self, s, now: datetime, done: dict, driven: set[int]) -> list[tuple[Cycle, bool]]:
        """The database changes of one tick (in session ``s``, not committed) and the cycles to submit."""
        resume, give_up = resumable_cycles(s, now, self.max_resumes)
        for cid in give_up:
            c = s.get(Cycle, cid)
            c.status = "failed"
            c.error = f"interrupted {self.max_resumes + 1} times; not resumed again ({c.error})"
            c.finished = now
            update_run_record(c.run_dir, status="failed", error=c.error)
            done["given_up"].append(cid)
        to_submit = []
        for cid in resume:
            c = s.get(Cycle, cid)
            lease = s.get(CycleLease, cid)
            if lease is None:
                lease = CycleLease(cycle_id=cid, resumes=0, attempts={})
                s.add(lease)
            lease.resumes = (lease.resumes or 0) + 1
            c.status, c.error, c.finished = "queued", None, None
            to_submit.append((c, True))
            done["resumed"].append(cid)
        for due in due_cycles(s, now) if self.daily else []:
            system = s.get(ForecastSystem, due.system_id)
            c = enqueue(s, system, due.cycle_time, due.hot_start)
            if c.status == "queued":
                to_submit.append((c, False))
                done["started"].append(c.id)
        # queued cycles nobody drives: the web app's, or those a stopped driver released
        fresh = now - timedelta(seconds=self.lease_seconds)
        leased = {cid for (cid,) in s.query(CycleLease.cycle_id).filter(CycleLease.owner != "", CycleLease.heartbeat >= fresh)}
        for c in s.query(Cycle).join(ForecastSystem).filter(Cycle.status == "queued").order_by(Cycle.created):
            if c.id in leased or c.id in driven or any(c is x for x, _ in to_submit) or not c.run_dir:
                continue
            if not (Path(c.run_dir) / "config.toml").is_file():
                c.status, c.error, c.finished = "failed", f"{c.run_dir}/config.toml does not exist", now
                continue
            to_submit.append((c, False))
            done["picked_up"].append(c.id)
        return to_submit

    def tick(self, now: datetime | None = None) -> dict:
        """One pass: recover stale cycles, resume interrupted ones, start due ones, pick up queued
        ones, poll the driver. Returns the cycle ids acted on, by action."""
        now = now or utcnow()
        done = {"interrupted": [], "resumed": [], "given_up": [], "started": [], "picked_up": []}
        done["interrupted"] = recover_stale_cycles(self.session_factory, now=now, lease_seconds=self.lease_seconds)
        driven = self._driven_ids()
        with self.session_factory() as s:
            try:
                to_submit = self._plan(s, now, done, driven)
                s.commit()
            except IntegrityError as exc:  # another scheduler on this database created a due cycle first
                s.rollback()
                log.info(
                    "scheduler tick at %s undone, another scheduler acted first (%s); next tick",
                    now.isoformat(),
                    str(getattr(exc, "orig", exc)).splitlines()[0],
                )
                self.driver.poll()
                return {k: [] for k in done}
        for c, resume in to_submit:
            self._submit(c, resume)
        self.driver.poll()
        if any(done.values()):
            log.info("scheduler tick at %s: %s", now.isoformat(), {k: v for k, v in done.items() if v})
        return done

    def run_forever(
        self,
        *,
        interval_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        stop: threading.Event | None = None,
        wake: threading.Event | None = None,
        clock=utcnow,
    ) -> None:
        """Tick every ``interval_seconds`` (and at once when ``wake`` is set, e.g. by the web app's
        "run now") and poll the driver every ``poll_seconds`` until ``stop`` is set. A tick that
        raises (the database away for a moment) is logged and tried again at the next one."""
        stop = stop or threading.Event()
        wake = wake or threading.Event()
        next_tick = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick or wake.is_set():
                    wake.clear()
                    self.tick(clock())
                    next_tick = time.monotonic() + interval_seconds
                else:
                    self.driver.poll()
            except Exception:
                log.exception("scheduler pass failed; trying again")
                next_tick = time.monotonic() + poll_seconds
            wake.wait(poll_seconds)
