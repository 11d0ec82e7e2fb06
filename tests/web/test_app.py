"""Web app unit tests with Flask's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from workflows.db import Cycle, ForecastSystem, Station, User

from .conftest import (PASSWORD, add_user, analytic_zeta, csrf_token, fake_run_cycle, grid_mesh, login, write_gr3)


def sessions(app):
    return app.extensions["coastcast_sessions"]()


# ---------------------------------------------------------------- accounts

def test_register_waits_for_approval_then_logs_in(app):
    add_user(app, "admin@example.org", admin=True)
    c = app.test_client()
    r = c.post("/register", data={"email": "Bob@Example.org ", "password": "secret-pass-1", "confirm": "secret-pass-1"})
    assert r.status_code == 302
    with sessions(app) as s:
        bob = s.query(User).filter_by(email="bob@example.org").one()
        assert not bob.is_approved and not bob.is_admin
        assert "secret-pass-1" not in bob.password_hash and bob.check_password("secret-pass-1")
        assert not bob.check_password("secret-pass-2")
        bob_id = bob.id
    r = c.post("/login", data={"email": "bob@example.org", "password": "secret-pass-1"})
    assert r.status_code == 200 and b"waits for an administrator" in r.data
    assert c.get("/dashboard").status_code == 302
    a = app.test_client()
    login(a, "admin@example.org")
    assert b"bob@example.org" in a.get("/admin/users").data
    assert a.post(f"/admin/users/{bob_id}/approve").status_code == 302
    r = c.post("/login", data={"email": "bob@example.org", "password": "secret-pass-1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")
    assert c.get("/dashboard").status_code == 200
    # a plain user cannot reach the admin page; wrong password is refused
    assert c.get("/admin/users").status_code == 404
    assert b"Wrong e-mail or password" in app.test_client().post(
        "/login", data={"email": "bob@example.org", "password": "nope-nope"}).data


def test_register_form_errors_store_nothing(app):
    c = app.test_client()
    r = c.post("/register", data={"email": "not-an-email", "password": "short", "confirm": "other"})
    assert r.status_code == 200
    for msg in (b"Enter an e-mail address", b"at least 8 characters", b"The passwords differ"):
        assert msg in r.data
    with sessions(app) as s:
        assert s.query(User).count() == 0


def test_admin_emails_config_makes_admin(make_app):
    app = make_app(COASTCAST_ADMIN_EMAILS=["Boss@example.org"])
    c = app.test_client()
    c.post("/register", data={"email": "boss@example.org", "password": "secret-pass-1", "confirm": "secret-pass-1"})
    with sessions(app) as s:
        u = s.query(User).one()
        assert u.is_admin and u.is_approved


def test_csrf_is_enforced_on_forms(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, TESTING=False)
    add_user(app, "carol@example.org")
    c = app.test_client()
    r = c.post("/login", data={"email": "carol@example.org", "password": PASSWORD})
    assert r.status_code == 400 and b"could not be accepted" in r.data
    token = csrf_token(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"email": "carol@example.org", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    # logged in, a POST action without the token is refused too
    assert c.post("/logout").status_code == 400
