"""Sessions and accounts (#19 items 4 and 5): the secret key made once by racing processes; a session
cookie dies at logout and expires; Secure cookies behind TLS; the administrator list cannot be
claimed by registering first. Flask's test client on SQLite, real processes for the race."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from workflows.db import User

from .conftest import PASSWORD, add_user, login

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# ---------------------------------------------------------------- the secret key, once


RACER = """
import sys, time
from pathlib import Path
from webapp.security import shared_secret
folder = Path(sys.argv[1])
(folder / f"ready-{sys.argv[2]}").touch()
while not (folder / "go").exists():
    time.sleep(0.0005)
print(shared_secret(folder / "instance" / "secret_key"))
"""


def test_secret_key_made_once_by_racing_processes(tmp_path):
    """8 processes released together on one empty instance folder all get the key that is on disk."""
    import os
    import subprocess
    import sys
    import time

    (tmp_path / "instance").mkdir()
    n = 8
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(i)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err for _, err in results]
    keys = [out.strip() for out, _ in results]
    on_disk = (tmp_path / "instance" / "secret_key").read_text().strip()
    assert len(on_disk) == 64 and int(on_disk, 16) >= 0
    assert keys == [on_disk] * n
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]  # no temporary file left


def test_app_keeps_its_key_and_refuses_an_empty_one(tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.delenv("COASTCAST_SECRET_KEY", raising=False)
    cfg = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "COASTCAST_RUNNER": "none",
        "COASTCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    first = create_app(dict(cfg))
    second = create_app(dict(cfg))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text().strip()
    for app in (first, second):
        app.extensions["coastcast_engine"].dispose()
    (tmp_path / "instance" / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match=r"secret_key is empty: delete it"):
        create_app(dict(cfg))


# ---------------------------------------------------------------- sessions end at logout and expire


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _thief(app, value: str):
    """Another browser replaying a copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_copied_cookie_is_refused_after_logout(app):
    add_user(app, "alice@example.org")
    c = app.test_client()
    assert login(c, "alice@example.org").status_code == 302
    stolen = _cookie(c)
    thief = _thief(app, stolen)
    assert thief.get("/dashboard").status_code == 200  # a copied cookie works while the session lives
    assert c.post("/logout").status_code == 302
    r = thief.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert thief.get("/api/systems").status_code == 401
    # a new login gets a working session; the old cookie stays dead
    assert login(c, "alice@example.org").status_code == 302 and c.get("/dashboard").status_code == 200
    assert _thief(app, stolen).get("/dashboard").status_code == 302
    with app.extensions["coastcast_sessions"]() as s:
        assert s.query(User).filter_by(email="alice@example.org").one().session_epoch == 1


def test_revoked_account_s_old_cookie_stays_dead_after_approval(app):
    add_user(app, "root@example.org", admin=True)
    uid = add_user(app, "bob@example.org")
    admin, bob = app.test_client(), app.test_client()
    login(admin, "root@example.org")
    login(bob, "bob@example.org")
    stolen = _cookie(bob)
    assert admin.post(f"/admin/users/{uid}/revoke").status_code == 302
    assert admin.post(f"/admin/users/{uid}/approve").status_code == 302
    assert _thief(app, stolen).get("/dashboard").status_code == 302
    assert login(bob, "bob@example.org").status_code == 302 and bob.get("/dashboard").status_code == 200


@SQLITE_ONLY
def test_a_login_expires_however_active(make_app):
    import time

    app = make_app(COASTCAST_SESSION_HOURS=4.0 / 3600)  # four seconds
    add_user(app, "alice@example.org")
    c = app.test_client()
    t0 = time.monotonic()
    r = login(c, "alice@example.org")
    assert "Expires=" in r.headers["Set-Cookie"]  # a lasting cookie with the lifetime, not a browser-session one
    requests = 0
    while time.monotonic() - t0 < 2.5:  # active all along: each request would refresh a sliding session
        assert c.get("/dashboard").status_code == 200
        requests += 1
        time.sleep(0.3)
    assert requests >= 2
    time.sleep(max(0.0, 4.5 - (time.monotonic() - t0)))
    r = c.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@SQLITE_ONLY
def test_default_lifetime_is_twelve_hours(app):
    from datetime import timedelta

    assert app.permanent_session_lifetime == timedelta(hours=12)


def _set_cookie(app, email="alice@example.org") -> str:
    add_user(app, email)
    return login(app.test_client(), email).headers["Set-Cookie"]


@SQLITE_ONLY
def test_secure_cookie_setting(make_app, monkeypatch):
    plain = _set_cookie(make_app())
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure = _set_cookie(make_app(COASTCAST_SECURE_COOKIES=True), "bob@example.org")
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Lax" in secure
    monkeypatch.setenv("COASTCAST_SECURE_COOKIES", "yes")
    assert "Secure" in _set_cookie(make_app(), "carol@example.org")


@SQLITE_ONLY
def test_bad_session_settings_are_one_line_errors(make_app, monkeypatch):
    monkeypatch.setenv("COASTCAST_SECURE_COOKIES", "maybe")
    with pytest.raises(ValueError, match=r"^environment variable COASTCAST_SECURE_COOKIES='maybe' is not one of"):
        make_app()
    monkeypatch.delenv("COASTCAST_SECURE_COOKIES")
    monkeypatch.setenv("COASTCAST_SESSION_HOURS", "twelve")
    with pytest.raises(ValueError, match=r"^environment variable COASTCAST_SESSION_HOURS='twelve' is not a number$"):
        make_app()
    monkeypatch.delenv("COASTCAST_SESSION_HOURS")
    with pytest.raises(ValueError, match=r"COASTCAST_SESSION_HOURS must be a positive number of hours, got 0"):
        make_app(COASTCAST_SESSION_HOURS=0)


# ---------------------------------------------------------------- administrators only from the server


def test_admin_list_cannot_be_claimed_by_registering_first(make_app, monkeypatch, caplog):
    monkeypatch.setenv("COASTCAST_ADMIN_EMAILS", "boss@example.org")
    app = make_app(COASTCAST_ADMIN_EMAILS=["boss@example.org"])
    assert "COASTCAST_ADMIN_EMAILS is ignored" in caplog.text
    c = app.test_client()
    r = c.post("/register", data={"email": "Boss@example.org", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 302
    with app.extensions["coastcast_sessions"]() as s:
        user = s.query(User).one()
        assert (user.email, user.is_admin, user.is_approved) == ("boss@example.org", False, False)
    r = login(c, "boss@example.org")
    assert r.status_code == 200 and b"waits for an administrator" in r.data
    assert c.get("/admin/users").status_code == 302  # not logged in at all
