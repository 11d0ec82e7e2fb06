"""Password change on the account page: the current password, the new one twice, the rules of
registration; wrong current passwords count as failed logins."""

from __future__ import annotations

import pytest

from workflows.db import User

from .conftest import PASSWORD, add_user, login

NEW = "a much better secret 7"


def sessions(app):
    return app.extensions["coastcast_sessions"]()


@pytest.fixture
def alice(app):
    uid = add_user(app, "alice@example.org")
    c = app.test_client()
    login(c, "alice@example.org")
    return uid, c


def _hash(app, uid):
    with sessions(app) as s:
        return s.get(User, uid).password_hash


@pytest.mark.parametrize(
    "data, message",
    [
        ({"current": "wrong password", "password": NEW, "confirm": NEW}, "That is not your current password."),
        ({"current": PASSWORD, "password": NEW, "confirm": NEW + "x"}, "The passwords differ."),
        ({"current": PASSWORD, "password": "short", "confirm": "short"}, "Use at least 8 characters."),
        ({"current": "", "password": NEW, "confirm": NEW}, "Enter your current password."),
        (
            {"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
            "The new password is the current one; choose another.",
        ),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(app, alice, data, message):
    uid, c = alice
    before = _hash(app, uid)
    r = c.post("/account", data=data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'<p class="error" role="alert">{message}</p>' in html.replace("&#39;", "'")
    assert _hash(app, uid) == before
    assert login(app.test_client(), "alice@example.org", PASSWORD).status_code == 302


def test_the_password_changes_and_other_sessions_end(app, alice):
    uid, c = alice
    other = app.test_client()  # alice in another browser (or a copied cookie)
    login(other, "alice@example.org")
    assert other.get("/dashboard").status_code == 200
    r = c.post("/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert r.status_code == 302 and r.headers["Location"].endswith("/account")
    assert "Your password is changed. You are logged out everywhere else." in c.get("/account").get_data(as_text=True)
    with sessions(app) as s:
        assert s.get(User, uid).check_password(NEW) and not s.get(User, uid).check_password(PASSWORD)
    fresh = app.test_client()
    assert login(fresh, "alice@example.org", PASSWORD).status_code == 200  # the old one: the form again
    assert login(fresh, "alice@example.org", NEW).status_code == 302
    assert c.get("/dashboard").status_code == 200  # this session goes on
    assert other.get("/dashboard").status_code == 302  # the other one is over
    assert other.get("/api/systems").status_code == 401


def test_wrong_current_passwords_count_as_failed_logins(make_app):
    app = make_app(COASTCAST_LOGIN_MAX_FAILURES=3)
    add_user(app, "alice@example.org")
    c = app.test_client()
    login(c, "alice@example.org")
    for _ in range(3):
        assert c.post("/account", data={"current": "guess", "password": NEW, "confirm": NEW}).status_code == 200
    r = c.post("/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert r.status_code == 429 and "Too many failed logins" in r.get_data(as_text=True)
    with sessions(app) as s:
        assert s.query(User).one().check_password(PASSWORD)


def test_the_account_page_needs_a_login(app):
    assert app.test_client().get("/account").status_code == 302
