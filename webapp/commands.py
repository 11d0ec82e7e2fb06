"""``coastcast serve``: the web app and its cycle service, and the database set-up (registered as
the ``coastcast.commands`` entry point ``serve``, :mod:`workflows.commands`).

::

    coastcast serve [--host 127.0.0.1] [--port 5000] [--instance DIR] [--workers N] [--dask ADDR]
    coastcast serve --init-db                                           # create/upgrade the tables, then exit
    coastcast serve --create-admin EMAIL [--password-env VAR]            # add an approved admin, then exit

The database is ``$COASTCAST_DATABASE_URL`` (SQLite in the instance folder by default). One
command runs the whole service: a production WSGI server (waitress, :mod:`webapp.serving`) and
the cycle service (:mod:`workflows.service`) on an embedded dask LocalCluster of ``--workers``
worker processes (or on the dask scheduler ``--dask ADDR``), which runs the cycles users ask for
and, unless ``--no-daily``, each active system's daily cycle. Cycles a previous server left
running are resumed from their last finished segment; ``coastcast scheduler`` may run beside it on
the same database (each cycle is claimed by one of them).
"""

from __future__ import annotations

import getpass
import logging
import os

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the web app (or set up its database)",
        description="Run the coastcast web app, or set up its database (--init-db, --create-admin).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--instance", default=None, help="instance folder (database, secret key, data); default ./instance")
    p.add_argument("--init-db", action="store_true", help="create the database tables and exit")
    p.add_argument("--create-admin", metavar="EMAIL", help="add an approved administrator and exit")
    p.add_argument(
        "--password-env", metavar="VAR", help="read the admin's password from this environment variable (default: ask)"
    )
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes of the embedded dask cluster: cycles at a time (default 1)"
    )
    p.add_argument(
        "--dask", metavar="ADDR", help="run the cycles on this dask scheduler (tcp://host:8786) instead of an embedded cluster"
    )
    p.add_argument(
        "--no-daily", action="store_true", help="do not start the daily cycles here (a separate `coastcast scheduler` does)"
    )
    p.add_argument("--threads", type=int, default=8, help="threads of the web server (default 8)")
    p.set_defaults(func=run)


def _app(args, **config):
    from webapp import create_app

    instance = os.path.abspath(args.instance or "instance")
    return create_app({"INSTANCE_PATH": instance, "COASTCAST_RUNNER_WORKERS": args.workers, **config})


def run(args) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: give a port from 1 to 65535")
    if args.init_db or args.create_admin:
        app = _app(args, COASTCAST_RUNNER="none")
        url = app.config["COASTCAST_DATABASE_URL"]
        print(f"database ready: {url.split('@')[-1]}")
        if args.create_admin:
            from workflows.db import create_user

            if args.password_env:
                password = os.environ.get(args.password_env)
                if not password:
                    raise ValueError(f"--password-env {args.password_env}: that environment variable is empty or unset")
            else:
                password = getpass.getpass(f"password for {args.create_admin}: ")
            if len(password) < 8:
                raise ValueError("the password must have at least 8 characters")
            with app.extensions["coastcast_sessions"]() as s:
                create_user(s, args.create_admin, password, is_admin=True, is_approved=True)
                s.commit()
            print(f"administrator {args.create_admin.strip().lower()} created")
        return 0

    if args.workers < 1 or args.threads < 1:
        raise ValueError("--workers and --threads must be at least 1")
    from webapp.runner import mark_interrupted
    from webapp.serving import serve

    app = _app(args, COASTCAST_RUNNER="dask", COASTCAST_DASK_SCHEDULER=args.dask or "", COASTCAST_DAILY=not args.no_daily)
    n = mark_interrupted(app.extensions["coastcast_sessions"], lease_seconds=app.config["COASTCAST_LEASE_SECONDS"])
    if n:
        log.warning("%d cycle(s) left running by a previous server marked interrupted; they resume", n)
    runner = app.extensions["coastcast_runner"]
    runner.start()
    print(
        f"coastcast web app on http://{args.host}:{args.port}/ (instance {app.instance_path}); "
        f"cycles on dask {runner.service.client.scheduler.address}",
        flush=True,
    )
    try:
        serve(app, args.host, args.port, threads=args.threads)
    finally:
        runner.shutdown()
    return 0
