"""coastcast's Flask web app: forms, map, viewer, downloads and the JSON API.

``create_app(config=None)`` builds the app. Configuration (keys of ``config``, else the environment
variable of the same name where one is listed, else the default):

==============================  ==============================================================
``COASTCAST_DATABASE_URL``      SQLAlchemy URL (env too); default SQLite in the instance folder
``COASTCAST_DATA_DIR``          meshes, configs and run directories (env too); default
                                ``<instance>/data``
``SECRET_KEY``                  session signing key (env ``COASTCAST_SECRET_KEY``); default a
                                random key kept in ``<instance>/secret_key``
``COASTCAST_RUNNER``            how cycles run (env too; :mod:`webapp.runner`): ``"dask"``
                                (default: the cycle service on an embedded LocalCluster, or on
                                ``COASTCAST_DASK_SCHEDULER``), ``"inline"`` (the same pipeline
                                on threads of this process; "run now" waits for the end: tests),
                                ``"none"`` (cycles stay queued for ``coastcast scheduler``) or an
                                object with ``submit(cycle_id)``
``COASTCAST_RUNNER_WORKERS``    worker processes of the embedded cluster: cycles at a time
                                (default 1)
``COASTCAST_DASK_SCHEDULER``    address of a dask scheduler to run the cycles on (env too)
``COASTCAST_DAILY``             the embedded service also starts each active system's daily
                                cycle at its run hour (default True)
``COASTCAST_LEASE_SECONDS``     a cycle whose driver is silent this long is interrupted, then
                                resumed (env too; default 60)
``COASTCAST_TICK_SECONDS``      seconds between the cycle service's scheduling passes (env too;
                                default 60; "run now" wakes it at once)
``COASTCAST_SESSION_HOURS``     a login lasts this long, active or not (env too; default 12)
``COASTCAST_SECURE_COOKIES``    the session cookie is sent over HTTPS only (env too: 1/true/yes;
                                default off): set it behind a TLS-terminating proxy
``MAX_CONTENT_LENGTH``          upload limit in bytes (env ``COASTCAST_MAX_UPLOAD_MB``); 200 MB
``COASTCAST_MAX_MESH_NODES``    largest mesh accepted (nodes); default 2 000 000
``COASTCAST_TILE_URL``          optional map tile URL template; default none (the coastline is
                                drawn from the project's own data, so the map works offline); its
                                host is allowed for images by the Content-Security-Policy
``COASTCAST_MAX_UNPACKED_MB``   most a compressed upload may unpack to (env too); default 256
``COASTCAST_LOGIN_MAX_FAILURES``  failed logins to one account in the window before its logins
                                are refused (default 5; ``..._ADDRESS``: from one address, 20)
``COASTCAST_LOGIN_WINDOW_MINUTES``  that window (default 15)
``COASTCAST_PROXIES``           reverse proxies in front of the app whose ``X-Forwarded-*``
                                headers are trusted (env too; default 0), so that login throttling
                                sees the client's address
==============================  ==============================================================
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from workflows import db as dbm

from .extensions import close_session, csrf, get_session  # noqa: F401 (get_session: public here too)
from .security import (
    add_security_headers,
    compress_response,
    content_security_policy,
    private_dir,
    private_sqlite,
    shared_secret,
    user_error,
    user_log,
)

log = logging.getLogger(__name__)


def _secret_key(instance: Path) -> str:
    env = os.environ.get("COASTCAST_SECRET_KEY")
    if env:
        return env
    return shared_secret(instance / "secret_key")


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r} is not a number") from None


def _env_flag(name: str) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"environment variable {name}={text!r} is not one of 1/0, true/false, yes/no, on/off")


def _session_settings(app: Flask, config: dict) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when asked; a login's lifetime in hours."""
    hours = float(app.config["COASTCAST_SESSION_HOURS"])
    if not hours > 0:
        raise ValueError(f"COASTCAST_SESSION_HOURS must be a positive number of hours, got {hours}")
    if "PERMANENT_SESSION_LIFETIME" not in config:
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)
    if "SESSION_COOKIE_SECURE" not in config:
        app.config["SESSION_COOKIE_SECURE"] = bool(app.config["COASTCAST_SECURE_COOKIES"])


def create_app(config: dict | None = None) -> Flask:
    """Build the web app. ``config`` overrides the defaults and environment (see module doc)."""
    config = dict(config or {})
    app = Flask(__name__, instance_path=config.pop("INSTANCE_PATH", None) or None, instance_relative_config=True)
    instance = private_dir(Path(app.instance_path))

    max_mb = float(os.environ.get("COASTCAST_MAX_UPLOAD_MB", "200"))
    if os.environ.get("COASTCAST_ADMIN_EMAILS"):
        log.warning(
            "COASTCAST_ADMIN_EMAILS is ignored: registering never makes an administrator "
            "(make one with coastcast serve --create-admin EMAIL)"
        )
    app.config.update(
        COASTCAST_DATABASE_URL=dbm.database_url(instance),
        COASTCAST_DATA_DIR=os.environ.get("COASTCAST_DATA_DIR", str(instance / "data")),
        COASTCAST_RUNNER=os.environ.get("COASTCAST_RUNNER", "dask"),
        COASTCAST_RUNNER_WORKERS=1,
        COASTCAST_DASK_SCHEDULER=os.environ.get("COASTCAST_DASK_SCHEDULER", ""),
        COASTCAST_DAILY=True,
        COASTCAST_LEASE_SECONDS=float(os.environ.get("COASTCAST_LEASE_SECONDS", "60")),
        COASTCAST_TICK_SECONDS=float(os.environ.get("COASTCAST_TICK_SECONDS", "60")),
        COASTCAST_SESSION_HOURS=_env_number("COASTCAST_SESSION_HOURS", 12.0),
        COASTCAST_SECURE_COOKIES=_env_flag("COASTCAST_SECURE_COOKIES"),
        COASTCAST_MAX_MESH_NODES=2_000_000,
        COASTCAST_TILE_URL=os.environ.get("COASTCAST_TILE_URL", ""),
        COASTCAST_MAX_UNPACKED_MB=float(os.environ.get("COASTCAST_MAX_UNPACKED_MB", "256")),
        COASTCAST_LOGIN_MAX_FAILURES=5,
        COASTCAST_LOGIN_MAX_FAILURES_ADDRESS=20,
        COASTCAST_LOGIN_WINDOW_MINUTES=15,
        COASTCAST_PROXIES=int(os.environ.get("COASTCAST_PROXIES", "0")),
        MAX_CONTENT_LENGTH=int(max_mb * 1024 * 1024),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    _session_settings(app, config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    private_dir(Path(app.config["COASTCAST_DATA_DIR"]), tighten=False)
    if app.config["COASTCAST_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["COASTCAST_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)

    private_sqlite(app.config["COASTCAST_DATABASE_URL"])
    engine = dbm.make_engine(app.config["COASTCAST_DATABASE_URL"])
    app.extensions["coastcast_engine"] = engine
    app.extensions["coastcast_sessions"] = dbm.make_session_factory(engine)
    if app.config.get("COASTCAST_INIT_DB", True):
        dbm.init_db(engine)

    from .runner import make_runner

    app.extensions["coastcast_runner"] = make_runner(app)

    csrf.init_app(app)

    from . import account, api, auth, dashboard, downloads, system_edit, viewer, wizard

    for bp in (auth.bp, wizard.bp, dashboard.bp, viewer.bp, downloads.bp, api.bp, account.bp, system_edit.bp):
        app.register_blueprint(bp)

    app.before_request(auth.load_user)
    app.teardown_appcontext(close_session)
    app.extensions["coastcast_csp"] = content_security_policy(app.config["COASTCAST_TILE_URL"])
    app.after_request(add_security_headers)
    app.after_request(compress_response)
    _register_errors(app)
    app.jinja_env.globals["tile_url"] = app.config["COASTCAST_TILE_URL"]
    app.jinja_env.filters["user_error"] = user_error
    app.jinja_env.filters["user_log"] = user_log
    app.jinja_env.filters["utc"] = _utc_label
    app.jinja_env.filters["metres"] = _metres
    return app


def _utc_label(value) -> str:
    """An ISO time (``2022-03-18T03:46:26.89+00:00``) as ``2022-03-18 03:46 UTC``; '' for None."""
    from datetime import datetime, timezone

    if not value:
        return ""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _metres(value, signed: bool = False, digits: int = 2) -> str:
    """A height in m to 1 cm (``2.95``, ``+0.15`` when ``signed``; ``digits`` decimals); an en dash for None."""
    if value is None:
        return "–"
    value = round(float(value), digits) + 0.0  # no "-0.00"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _register_errors(app: Flask) -> None:
    from flask import jsonify
    from werkzeug.exceptions import HTTPException

    titles = {
        400: "Bad request",
        401: "Login required",
        404: "Not found",
        405: "Not allowed",
        413: "File too large",
        422: "Unreadable output",
    }
    defaults = {
        404: "There is nothing here, or it is not yours.",
        401: "Log in to see this.",
        405: "This address does not accept that method.",
    }

    def page(code, message):
        message = user_error(message)
        if _wants_json():
            return jsonify(error=message, status=code), code
        return render_template("error.html", code=code, title=titles.get(code, "Error"), message=message), code

    @app.errorhandler(413)
    def too_large(e):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return page(
            413,
            f"The upload is larger than this server accepts ({limit / 1024 / 1024:.0f} MB). "
            "Compress the mesh (gzip) or ask the administrator to raise COASTCAST_MAX_UPLOAD_MB.",
        )

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return page(400, f"The form could not be accepted: {e.description} Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(e):
        code = e.code or 500
        custom = e.description if e.description != type(e).description else None
        return page(code, custom or defaults.get(code, e.description))
