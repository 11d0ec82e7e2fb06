"""Security hardening shared by the web app: response headers, private instance files, what users
see of server errors, and login throttling.

* :func:`add_security_headers` (an ``after_request`` hook): a Content-Security-Policy allowing only
  the app's own scripts, styles and requests, images from the app, ``data:`` (Leaflet) and the
  configured tile server; ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: strict-origin-when-cross-origin`` (tile servers such as OpenStreetMap's ask
  for the origin; paths, which carry ids, stay private).
* :func:`compress_response` (an ``after_request`` hook): JSON, text and small NetCDF answers gzipped
  when the client accepts it.
* :func:`private_dir` / :func:`private_file`: the instance folder, data folder, secret key and
  SQLite database are made 0700 / 0600; files left readable by others are tightened, with a warning.
  :func:`shared_secret`: the session key created once, atomically, whichever process starts first.
* :func:`user_error` / :func:`user_log`: a cycle's error and log as its owner sees them — one line,
  no traceback, absolute server paths reduced to their file name; administrators see the record.
* :func:`login_refusal` / :func:`record_login_failure`: failures per account and per address in the
  database (``LoginFailure``); too many in the window and logins are refused for a while.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import re
import secrets
import stat
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, g, request

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- response headers


def tile_source(tile_url: str) -> str | None:
    """The CSP source of a tile URL template: ``https://{s}.tile.osm.org/{z}/{x}/{y}.png`` ->
    ``https://*.tile.osm.org``; a placeholder elsewhere in the host -> the scheme alone (``https:``)."""
    if not tile_url:
        return None
    parts = urlsplit(re.sub(r"\{[^}]*\}", "*", tile_url.strip()))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    if "*" in host and not (host.startswith("*.") and "*" not in host[2:]):
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str = "") -> str:
    images = ["'self'", "data:"] + ([s] if (s := tile_source(tile_url)) else [])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def add_security_headers(response):
    """``after_request``: the headers of the module doc on every response (a view's own are kept)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.extensions["coastcast_csp"])
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


# ---------------------------------------------------------------- compression

#: media types gzipped when the client accepts it: JSON and text from MIN_GZIP_BYTES, NetCDF up to
#: MAX_GZIP_NETCDF_BYTES (its variables are zlib-compressed already, but a published stations.nc
#: still shrinks to about a tenth and max.nc to half; a large fields.nc gains about a fifth and goes
#: as it is, with byte ranges)
GZIP_TYPES = frozenset({"application/json", "application/geo+json", "text/plain", "text/csv", "application/x-netcdf"})
MIN_GZIP_BYTES = 2048
MAX_GZIP_NETCDF_BYTES = 16 << 20
GZIP_LEVEL = 5


def compress_response(response):
    """``after_request``: gzip a 200 answer of a :data:`GZIP_TYPES` type when the request accepts
    gzip and asks for no byte range. The ETag becomes weak (the same resource, another encoding), so
    ``If-None-Match`` still answers 304; ``Vary: Accept-Encoding`` on every answer of those types.
    Answers already encoded (the coastline's cached gzip), streamed, or too small are left alone."""
    if response.mimetype not in GZIP_TYPES:
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or (response.is_streamed and not response.direct_passthrough)
        or "Content-Encoding" in response.headers
        or request.accept_encodings["gzip"] <= 0
        or "Range" in request.headers
    ):
        return response
    size = response.content_length
    if response.mimetype == "application/x-netcdf":
        if size is None or size > MAX_GZIP_NETCDF_BYTES:
            return response
    if size is not None and size < MIN_GZIP_BYTES:
        return response
    response.direct_passthrough = False  # a file from send_file is read here
    data = response.get_data()
    if len(data) < MIN_GZIP_BYTES:
        return response
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    if len(packed) > 0.95 * len(data):
        return response
    response.set_data(packed)
    response.content_encoding = "gzip"
    response.headers.pop("Accept-Ranges", None)
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


# ---------------------------------------------------------------- private files


def _tighten(path: Path, mode: int) -> None:
    now = stat.S_IMODE(path.stat().st_mode)
    if now & ~mode:
        try:
            path.chmod(now & mode)
            log.warning("%s was readable by others (mode %o); now %o", path, now, now & mode)
        except OSError as exc:
            log.warning("%s is readable by others (mode %o) and could not be changed: %s", path, now, exc)


def private_dir(path: Path, tighten: bool = True) -> Path:
    """Create ``path`` (and parents) with the new folder itself 0700; an existing one loses others'
    access when ``tighten`` (the group's is kept: a site may share it with its workers)."""
    path = Path(path)
    if path.is_dir():
        if tighten:
            _tighten(path, 0o770)
    else:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)
    return path


def private_file(path: Path, text: str | None = None) -> Path:
    """Make ``path`` 0600: created empty (or with ``text``) without ever being readable by others,
    or, when it exists, tightened to 0600 (kept otherwise)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _tighten(path, 0o600)
        return path
    with os.fdopen(fd, "w") as fh:
        if text is not None:
            fh.write(text)
    os.chmod(path, 0o600)
    return path


def shared_secret(path: Path, nbytes: int = 32) -> str:
    """The secret kept in ``path`` (0600), created on first use: every process that calls this at
    once gets the same value, and none ever reads a partly written file.

    The new secret is written and synced to a private temporary file beside ``path``, then
    hard-linked to ``path``: the link fails if another process linked first, and the loser reads the
    winner's secret. An empty file at ``path`` is an error (one line naming it)."""
    path = Path(path)
    for _ in range(100):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            text = None
        if text:
            _tighten(path, 0o600)
            return text
        if text == "":
            raise RuntimeError(f"{path} is empty: delete it and a new secret is made at the next start")
        secret = secrets.token_hex(nbytes)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secret + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue  # another process won: read its secret
            log.info("new secret in %s", path)
            return secret
        finally:
            os.unlink(tmp)
    raise RuntimeError(f"{path}: could not read or create the secret")


def private_sqlite(url: str) -> None:
    """An SQLite database file of ``url`` (``sqlite:///PATH``) created or kept 0600 with its WAL and
    shared-memory files (SQLite gives those the database's mode); other URLs are left alone."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return
    path = Path(url[len("sqlite:///") :].split("?", 1)[0])
    if not path.parent.exists():
        private_dir(path.parent)
    private_file(path)
    for extra in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + extra)
        if side.exists():
            _tighten(side, 0o600)


# ---------------------------------------------------------------- errors as users see them

_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"():,;<>\[\]]+/)+([^\s/'\"():,;<>\[\]]*)")
_TB_START = "Traceback (most recent call last):"
_TB_CHAIN = ("During handling of the above exception", "The above exception was the direct cause")
MAX_ERROR_CHARS = 300


def redact_paths(text: str) -> str:
    """Absolute server paths reduced to their last part: ``/srv/x/data/hgrid.gr3`` -> ``hgrid.gr3``."""
    return _PATH.sub(lambda m: m.group(1) or "…", text)


def is_admin() -> bool:
    user = g.get("user")
    return bool(user is not None and user.is_admin)


def one_line(text: str | None) -> str | None:
    """The line that says what went wrong: a traceback's exception line, else the first line;
    server paths reduced to file names, at most :data:`MAX_ERROR_CHARS` characters."""
    if not text:
        return text
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    line = lines[0]
    if any(ln.startswith(_TB_START) for ln in lines):
        tail = [ln for ln in lines if not ln[:1].isspace() and not ln.startswith(_TB_START) and not ln.startswith(_TB_CHAIN)]
        line = tail[-1] if tail else "the run failed"
    line = redact_paths(line.strip())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def user_error(text: str | None) -> str | None:
    """A cycle's (or any server) error as the current user may see it: the record for an
    administrator, :func:`one_line` for everyone else."""
    return text if is_admin() else one_line(text)


def user_log(text: str | None) -> str | None:
    """A cycle's log for the current user: as recorded for an administrator; for everyone else
    without tracebacks (their exception line kept) and with server paths reduced to file names."""
    if not text or is_admin():
        return text
    out, in_tb = [], False
    for ln in str(text).splitlines():
        if ln.startswith(_TB_START):
            in_tb = True
            continue
        if in_tb:
            if not ln.strip() or ln[:1].isspace() or ln.startswith(_TB_CHAIN):
                continue
            in_tb = False
        out.append(redact_paths(ln))
    return "\n".join(out)


# ---------------------------------------------------------------- login throttling


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _limits():
    cfg = current_app.config
    return (
        int(cfg["COASTCAST_LOGIN_MAX_FAILURES"]),
        int(cfg["COASTCAST_LOGIN_MAX_FAILURES_ADDRESS"]),
        timedelta(minutes=float(cfg["COASTCAST_LOGIN_WINDOW_MINUTES"])),
    )


def login_refusal(db, email: str, address: str) -> str | None:
    """The one-line refusal when ``email`` or ``address`` has too many recent failed logins, else None.

    Refused attempts are not counted: the account opens again when its oldest failure in the
    window is older than the window (an attacker gets at most N guesses per window)."""
    from workflows.db import LoginFailure, utcnow

    per_account, per_address, window = _limits()
    now = utcnow()
    since = now - window
    waits = []
    for column, value, limit in ((LoginFailure.email, email[:254], per_account), (LoginFailure.address, address, per_address)):
        times = [
            t
            for (t,) in db.query(LoginFailure.time)
            .filter(column == value, LoginFailure.time > since)
            .order_by(LoginFailure.time.desc())
            .limit(limit)
        ]
        if len(times) >= limit:
            waits.append(min(times) + window - now)
    if not waits:
        return None
    minutes = max(1, math.ceil(max(waits).total_seconds() / 60))
    log.warning("login refused: too many failures for %r or from %s", email, address)
    return (
        f"Too many failed logins for this account or from this address; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def record_login_failure(db, email: str, address: str) -> None:
    """Store one failed login (and forget those older than the window); commits."""
    from workflows.db import LoginFailure, utcnow

    _, _, window = _limits()
    now = utcnow()
    db.query(LoginFailure).filter(LoginFailure.time <= now - window).delete(synchronize_session=False)
    db.add(LoginFailure(email=email[:254], address=address, time=now))
    db.commit()
    log.info("failed login for %r from %s", email, address)


def forget_login_failures(db, email: str) -> None:
    """A successful login clears the account's failures (not the address's); commits."""
    from workflows.db import LoginFailure

    db.query(LoginFailure).filter(LoginFailure.email == email[:254]).delete(synchronize_session=False)
    db.commit()


_DUMMY_HASHES: dict[str, str] = {}


def dummy_password_check(password: str) -> None:
    """Check ``password`` against a hash of nothing, with the method real hashes use, so that an
    unknown account costs as much time as a wrong password."""
    from workflows import db as dbm

    method = dbm.PASSWORD_METHOD
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = dbm.hash_password(os.urandom(16).hex())
    dbm.check_password_hash(_DUMMY_HASHES[method], password)
