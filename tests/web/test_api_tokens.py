"""Personal API tokens: made and revoked on the account's API page, stored as a hash, shown once;
``Authorization: Bearer`` authenticates the API (only the API) as the token's owner, with no CSRF."""

from __future__ import annotations

import hashlib
import re
from html import unescape

import pytest

from workflows.db import ApiToken, ForecastSystem, User

from .conftest import add_user, login


def sessions(app):
    return app.extensions["coastcast_sessions"]()


def make_token(client, name="script") -> str:
    r = client.post("/account/api/tokens", data={"name": name})
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    m = re.search(r'<code id="token-value">([^<]+)</code>', r.get_data(as_text=True))
    assert m, "the new token is not shown"
    assert r.headers["Cache-Control"] == "no-store"
    return unescape(m.group(1))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def two_users(app, system_with_cycle):
    """alice (system_with_cycle) and bob, who has a system of his own."""
    bob = add_user(app, "bob@example.org")
    with sessions(app) as s:
        sysm = ForecastSystem(owner_id=bob, name="Bob's bay", status="active", settings={})
        s.add(sysm)
        s.commit()
        bob_system = sysm.id
    alice = app.test_client()
    login(alice, "alice@example.org")
    return {**system_with_cycle, "bob": bob, "bob_system": bob_system, "alice_client": alice}


def test_token_shown_once_stored_as_hash_and_authenticates_the_api(app, two_users):
    ids, alice = two_users, two_users["alice_client"]
    token = make_token(alice, "nightly download")
    assert token.startswith("cc_") and len(token) > 40
    with sessions(app) as s:
        row = s.query(ApiToken).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.user_id == ids["user"]
        assert row.name == "nightly download" and token.startswith(row.prefix) and len(row.prefix) < 16
        assert token not in repr([getattr(row, c.key) for c in ApiToken.__table__.columns])
    page = alice.get("/account/api").get_data(as_text=True)
    assert token not in page and row.prefix in page and "nightly download" in page

    anon = app.test_client()  # no cookie at all
    r = anon.get("/api/systems", headers=bearer(token))
    assert r.status_code == 200 and [s["name"] for s in r.get_json()["systems"]] == ["Plymouth Sound"]
    assert "Set-Cookie" not in r.headers  # a token request leaves the session alone
    assert anon.get(f"/api/systems/{ids['bob_system']}", headers=bearer(token)).status_code == 404
    cyc = anon.get(f"/api/cycles/{ids['cycle']}", headers=bearer(token)).get_json()
    assert cyc["status"] == "succeeded" and cyc["cycle"] == "2026-11-25T00Z"
    raw = (ids["run_dir"] / "fields.nc").read_bytes()
    r = anon.get(f"/api/cycles/{ids['cycle']}/files/fields.nc", headers=bearer(token))
    assert r.status_code == 200 and r.data == raw
    r = anon.get(f"/api/cycles/{ids['cycle']}/files/fields.nc", headers={**bearer(token), "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.data == raw[10:20]
    with sessions(app) as s:
        assert s.query(ApiToken).one().last_used is not None
    # only the API: the pages and the page downloads do not take tokens
    assert anon.get("/dashboard", headers=bearer(token)).status_code == 302
    assert anon.get(f"/cycles/{ids['cycle']}/files/fields.nc", headers=bearer(token)).status_code == 302
    assert anon.get("/api/systems").status_code == 401


def test_each_token_sees_its_owner_only(app, two_users):
    ids = two_users
    alice_token = make_token(ids["alice_client"])
    bob = app.test_client()
    login(bob, "bob@example.org")
    bob_token = make_token(bob)
    anon = app.test_client()
    assert [s["id"] for s in anon.get("/api/systems", headers=bearer(bob_token)).get_json()["systems"]] == [ids["bob_system"]]
    for url in (
        f"/api/systems/{ids['system']}",
        f"/api/cycles/{ids['cycle']}",
        f"/api/cycles/{ids['cycle']}/files",
        f"/api/cycles/{ids['cycle']}/files/fields.nc",
        f"/api/cycles/{ids['cycle']}/mesh",
        f"/api/cycles/{ids['cycle']}/stations",
    ):
        assert anon.get(url, headers=bearer(bob_token)).status_code == 404, url
        assert anon.get(url, headers=bearer(alice_token)).status_code == 200, url
    # a token beats the cookie: bob's token in alice's browser is bob
    r = ids["alice_client"].get("/api/systems", headers=bearer(bob_token))
    assert [s["id"] for s in r.get_json()["systems"]] == [ids["bob_system"]]


def test_revoked_unknown_and_malformed_tokens_are_refused(app, two_users):
    ids, alice = two_users, two_users["alice_client"]
    token = make_token(alice)
    keep = make_token(alice, "other")
    anon = app.test_client()
    assert anon.get("/api/systems", headers=bearer(token)).status_code == 200
    with sessions(app) as s:
        tid = s.query(ApiToken).filter_by(name="script").one().id
    # bob cannot revoke alice's token
    bob = app.test_client()
    login(bob, "bob@example.org")
    assert bob.post(f"/account/api/tokens/{tid}/revoke").status_code == 404
    assert anon.get("/api/systems", headers=bearer(token)).status_code == 200
    r = alice.post(f"/account/api/tokens/{tid}/revoke", follow_redirects=True)
    assert r.status_code == 200 and 'data-state="revoked"' in r.get_data(as_text=True)
    r = anon.get("/api/systems", headers=bearer(token))
    assert r.status_code == 401 and r.get_json() == {"error": "this API token was revoked", "status": 401}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # a bad token is refused even beside a valid session cookie
    assert alice.get("/api/systems", headers=bearer(token)).status_code == 401
    assert alice.get("/api/systems").status_code == 200
    for header in ("Bearer cc_" + "x" * 43, "Bearer ", "Basic YWxpY2U6cHc=", token):
        r = anon.get("/api/systems", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert len(r.get_json()["error"].splitlines()) == 1
    assert anon.get("/api/systems", headers=bearer(keep)).status_code == 200
    # an account whose approval is revoked: its tokens stop working
    with sessions(app) as s:
        s.get(User, ids["user"]).is_approved = False
        s.commit()
    assert anon.get("/api/systems", headers=bearer(keep)).status_code == 401


def test_token_requests_need_no_csrf_cookie_requests_do(make_app, system_with_cycle):
    """With CSRF on. The API is read-only today, so a POST route is added to the API's endpoints
    for this test (``api.echo``): the API's own hooks run for it. By cookie it needs the CSRF
    token (400 without, 200 with ``X-CSRFToken``); with a token it needs none."""
    from flask import g, jsonify

    app = make_app(WTF_CSRF_ENABLED=True)
    app.add_url_rule(
        "/api/echo", endpoint="api.echo", methods=["POST"], view_func=lambda: jsonify(user=g.user.email if g.user else None)
    )
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert (
        c.post("/login", data={"email": "alice@example.org", "password": "correct horse 42", "csrf_token": csrf}).status_code
        == 302
    )
    api_page = c.get("/account/api").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', api_page).group(1)
    assert c.post("/account/api/tokens", data={"name": "x"}).status_code == 400  # the form itself needs CSRF
    token = make_token_with(c, csrf)
    r = c.post("/api/echo")
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]
    r = c.post("/api/echo", headers={"X-CSRFToken": csrf})
    assert r.status_code == 200 and r.get_json() == {"user": "alice@example.org"}
    anon = app.test_client()
    r = anon.post("/api/echo", headers=bearer(token))
    assert r.status_code == 200 and r.get_json() == {"user": "alice@example.org"}
    assert anon.post("/api/echo").status_code == 200 and anon.post("/api/echo").get_json() == {"user": None}
    assert anon.get(f"/api/cycles/{system_with_cycle['cycle']}", headers=bearer(token)).status_code == 200


def make_token_with(client, csrf) -> str:
    r = client.post("/account/api/tokens", data={"name": "csrf", "csrf_token": csrf})
    assert r.status_code == 201
    return unescape(re.search(r'<code id="token-value">([^<]+)</code>', r.get_data(as_text=True)).group(1))


def test_the_api_page_documents_every_endpoint(app, system_with_cycle):
    c = app.test_client()
    login(c, "alice@example.org")
    html = c.get("/account/api").get_data(as_text=True)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) >= 14
    documented = dict(re.findall(r'<article class="endpoint" id="([^"]+)" data-rule="([^"]+)">', html))
    for rule in rules:
        assert unescape(documented.get(rule.endpoint.replace(".", "-"), "")) == rule.rule, rule.rule
    from webapp.api import DOCS

    assert {r.endpoint for r in rules} == set(DOCS)  # each with a summary, an example request and answer
    for endpoint, (summary, path, example) in DOCS.items():
        assert summary and path.startswith("/api/") and example, endpoint
        assert unescape(html).count(path) >= 1, path
    assert c.post("/account/api/tokens", data={"name": ""}).status_code == 400
