"""``coastcast serve``: the web app, and its database set-up.

::

    coastcast serve [--host 127.0.0.1] [--port 5000] [--instance DIR]   # run the web app
    coastcast serve --init-db                                           # create the tables, then exit
    coastcast serve --create-admin EMAIL [--password-env VAR]            # add an approved admin, then exit

The database is ``$COASTCAST_DATABASE_URL`` (SQLite in the instance folder by default). The server
is werkzeug's threaded server, enough for a small team; behind a reverse proxy run the app with
any WSGI server (``gunicorn 'webapp:create_app()'``). Cycles run in a thread pool in this process;
cycles a previous server left running are marked ``interrupted`` at start.
"""
from __future__ import annotations

import getpass
import logging
import os

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="run the web app (or set up its database)",
                              description="Run the coastcast web app, or set up its database (--init-db, --create-admin).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--instance", default=None, help="instance folder (database, secret key, data); default ./instance")
    p.add_argument("--init-db", action="store_true", help="create the database tables and exit")
    p.add_argument("--create-admin", metavar="EMAIL", help="add an approved administrator and exit")
    p.add_argument("--password-env", metavar="VAR",
                   help="read the admin's password from this environment variable (default: ask)")
    p.add_argument("--workers", type=int, default=1, help="cycles run at the same time (default 1)")
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

    from webapp.runner import mark_interrupted

    app = _app(args)
    n = mark_interrupted(app.extensions["coastcast_sessions"])
    if n:
        log.warning("%d cycle(s) left running by a previous server marked interrupted", n)
    print(f"coastcast web app on http://{args.host}:{args.port}/ (instance {app.instance_path})")
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
    return 0
