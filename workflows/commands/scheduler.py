"""``coastcast scheduler``: run the daily cycles of every active forecast system on dask."""
from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "scheduler", help="run the daily cycles of all active systems (on dask)",
        description="Start each active system's cycle at its run hour (UTC), hot-starting from the previous "
                    "cycle's restart.nc; catch a missed cycle up once; resume cycles interrupted by a crash. "
                    "See docs/operations.md.")
    p.add_argument("--database", help="database URL (default: $COASTCAST_DATABASE_URL or ./coastcast.sqlite)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDR", help="dask scheduler address (tcp://host:8786) to run the cycles on")
    where.add_argument("--cluster", metavar="FILE", help="cluster file (YAML/TOML: local, slurm, pbs, htcondor, gateway; see docs/examples)")
    where.add_argument("--workers", type=int, help="worker processes of the local dask cluster (default 2)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between scheduling passes (default 60)")
    p.add_argument("--retries", type=int, default=2, help="retries of a task that raises (default 2)")
    p.add_argument("--lease-seconds", type=float, default=120.0, help="a cycle whose driver is silent this long is interrupted (default 120)")
    p.add_argument("--max-resumes", type=int, default=2, help="resumes of an interrupted cycle before it is failed (default 2)")
    p.add_argument("--once", action="store_true", help="one scheduling pass, wait for the cycles it started, then exit")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cluster import load_cluster_spec, open_client
    from ..db import database_url, init_db, make_engine, make_session_factory
    from ..pipeline import CycleDriver
    from ..scheduling import DailyScheduler

    if args.interval <= 0 or args.lease_seconds <= 0 or args.retries < 0 or args.max_resumes < 0:
        raise ValueError("--interval and --lease-seconds must be positive, --retries and --max-resumes >= 0")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    spec = load_cluster_spec(args.cluster) if args.cluster else None
    url = args.database or database_url()
    engine = make_engine(url)
    init_db(engine)  # adds the tables it lacks (cycle_leases) to an existing database
    sessions = make_session_factory(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with open_client(scheduler=args.scheduler, spec=spec, workers=args.workers) as client:
        driver = CycleDriver(client, session_factory=sessions, retries=args.retries, figures=not args.no_figures,
                             lease_seconds=args.lease_seconds)
        sched = DailyScheduler(sessions, driver, lease_seconds=args.lease_seconds, max_resumes=args.max_resumes)
        print(f"coastcast scheduler: database {engine.url.render_as_string(hide_password=True)}, dask {client.scheduler.address}",
              flush=True)
        try:
            if args.once:
                acted = sched.tick()
                outcomes = []
                while driver.pending and not stop.is_set():
                    outcomes += driver.poll()
                    stop.wait(1.0)
                n = sum(len(v) for k, v in acted.items() if k in ("started", "resumed", "picked_up"))
                print(f"{n} cycle(s) run: " + ", ".join(f"{o.request.run_dir.name} {o.status}" for o in outcomes) if n else "no cycle due")
                failed = [o for o in outcomes if o.status != "succeeded"]
                return 1 if failed else 0
            sched.run_forever(interval_seconds=args.interval, stop=stop)
        finally:
            left = driver.interrupt_all("the scheduler stopped while this cycle ran; it resumes when the scheduler restarts")
            if left:
                log.warning("%d cycle(s) interrupted by the shutdown", len(left))
            engine.dispose()
    return 0
