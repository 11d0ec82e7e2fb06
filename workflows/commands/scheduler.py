"""``coastcast scheduler``: run the daily cycles of every active forecast system on dask."""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "scheduler",
        help="run the daily cycles of all active systems (on dask)",
        description="Start each active system's cycle at its run hour (UTC), hot-starting from the previous "
        "cycle's restart.nc; catch a missed cycle up once; resume cycles interrupted by a crash. "
        "See docs/operations.md.",
    )
    p.add_argument("--database", help="database URL (default: $COASTCAST_DATABASE_URL or ./coastcast.sqlite)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDR", help="dask scheduler address (tcp://host:8786) to run the cycles on")
    where.add_argument(
        "--cluster", metavar="FILE", help="cluster file (YAML/TOML: local, slurm, pbs, htcondor, gateway; see docs/examples)"
    )
    where.add_argument("--workers", type=int, help="worker processes of the local dask cluster (default 2)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between scheduling passes (default 60)")
    p.add_argument("--retries", type=int, default=2, help="retries of a task that raises (default 2)")
    p.add_argument(
        "--lease-seconds", type=float, default=120.0, help="a cycle whose driver is silent this long is interrupted (default 120)"
    )
    p.add_argument("--max-resumes", type=int, default=2, help="resumes of an interrupted cycle before it is failed (default 2)")
    p.add_argument("--once", action="store_true", help="one scheduling pass, wait for the cycles it started, then exit")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cluster import load_cluster_spec
    from ..db import database_url, init_db, make_engine, make_session_factory
    from ..service import CycleService

    if args.interval <= 0 or args.lease_seconds <= 0 or args.retries < 0 or args.max_resumes < 0:
        raise ValueError("--interval and --lease-seconds must be positive, --retries and --max-resumes >= 0")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    spec = load_cluster_spec(args.cluster) if args.cluster else None
    url = args.database or database_url()
    engine = make_engine(url)
    init_db(engine)  # creates or upgrades the schema
    sessions = make_session_factory(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service = CycleService(
        sessions,
        scheduler=args.scheduler,
        spec=spec,
        workers=args.workers or 2,
        retries=args.retries,
        figures=not args.no_figures,
        lease_seconds=args.lease_seconds,
        max_resumes=args.max_resumes,
        interval_seconds=args.interval,
    )
    try:
        if args.once:
            outcomes = service.run_pending()
            print(
                f"{len(outcomes)} cycle(s) run: " + ", ".join(f"{o.request.run_dir.name} {o.status}" for o in outcomes)
                if outcomes
                else "no cycle due",
                flush=True,
            )
            return 1 if any(o.status != "succeeded" for o in outcomes) else 0
        service.start()
        print(
            f"coastcast scheduler: database {engine.url.render_as_string(hide_password=True)}, "
            f"dask {service.client.scheduler.address}",
            flush=True,
        )
        stop.wait()
    finally:
        left = service.stop("the scheduler stopped while this cycle ran; it resumes when a scheduler starts again")
        if left:
            log.warning("%d cycle(s) interrupted by the shutdown", left)
        engine.dispose()
    return 0
