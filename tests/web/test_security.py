"""Security hardening of the web app (#19 item 5): capped decompression of uploads, response
headers (CSP and friends), one-line errors for users, private instance files, login throttling,
no account enumeration. Flask's test client on SQLite (and PostgreSQL where the database matters)."""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from workflows.db import Cycle, ForecastSystem, LoginFailure, User

from .conftest import PASSWORD, add_user, grid_mesh, login, write_gr3

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
EVIL = "<img src=x onerror=alert(1)>"


def sessions(app):
    return app.extensions["coastcast_sessions"]()


def _upload(c, data: bytes, filename: str):
    return c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _gzip_bomb(unpacked_mb: int, member_mb: int = 16) -> bytes:
    """A multi-member gzip of zeros: ``unpacked_mb`` MB unpacked, about 1/1000 of that packed."""
    member = gzip.compress(bytes(member_mb << 20), compresslevel=9, mtime=0)
    return member * (unpacked_mb // member_mb)


# ---------------------------------------------------------------- uploads: decompression capped


@SQLITE_ONLY
def test_gzip_bomb_mesh_is_refused_before_the_reader(make_app, stub_services, monkeypatch):
    app = make_app(COASTCAST_MAX_UNPACKED_MB=1)
    calls = []
    monkeypatch.setattr(stub_services, "read_mesh", lambda path: calls.append(path))
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    r = _upload(c, gzip.compress(bytes(8 << 20), mtime=0), "mesh.gr3.gz")
    assert r.status_code == 200
    errors = re.findall(r'<p class="error" role="alert">([^<]*)</p>', r.get_data(as_text=True))
    assert errors == [
        "mesh.gr3.gz: more than 1 MB when decompressed; this server accepts at most 1 MB (COASTCAST_MAX_UNPACKED_MB)"
    ], errors
    assert calls == []  # the mesh reader never saw it
    with sessions(app) as s:
        assert s.query(ForecastSystem).count() == 0
    # a gzip whose first member is fine but whose stream is cut is refused in one line too
    r = _upload(c, gzip.compress(b"x" * 1000, mtime=0)[:-12], "cut.gr3.gz")
    assert b"cut.gr3.gz: the gzip stream is truncated or corrupt" in r.data and calls == []


@SQLITE_ONLY
def test_the_issue_s_1_mb_gzip_of_zeros_stays_small(app, stub_services, monkeypatch):
    """1 MB packed, 1 GiB unpacked (the upload that took the server to 2.3 GiB): refused at the default
    limit while Python's allocations stay under 16 MB."""
    bomb = _gzip_bomb(1024)
    assert len(bomb) < 1.5e6
    monkeypatch.setattr(stub_services, "read_mesh", lambda path: pytest.fail("the reader was called"))
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    tracemalloc.start()
    try:
        r = _upload(c, bomb, "hgrid.gr3.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert b"hgrid.gr3.gz: more than 256 MB when decompressed" in r.data
    assert peak < 16e6 + 3 * len(bomb), peak


@SQLITE_ONLY
def test_small_gzip_mesh_and_netcdf_within_the_cap(make_app, tmp_path):
    """The real reader (solver.formats) still gets a gzip-compressed gr3 under the cap; a NetCDF mesh
    whose (compressed) variable unpacks past the cap is refused without reading it."""
    netCDF4 = pytest.importorskip("netCDF4")
    app = make_app(COASTCAST_MAX_UNPACKED_MB=1)
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    lon, lat, faces = grid_mesh((-4.5, 50.0, -4.0, 50.4), 6, 5)
    write_gr3(tmp_path / "m.gr3", lon, lat, faces)
    r = _upload(c, gzip.compress((tmp_path / "m.gr3").read_bytes()), "m.gr3.gz")
    assert r.status_code == 302, r.get_data(as_text=True)
    with netCDF4.Dataset(tmp_path / "big.nc", "w", format="NETCDF4") as ds:
        ds.createDimension("nMesh2d_node", 2_000_000)
        ds.createVariable("mesh2d_node_x", "f8", ("nMesh2d_node",), zlib=True)  # never written: a few kB on disk
    data = (tmp_path / "big.nc").read_bytes()
    assert len(data) < 100_000
    r = _upload(c, data, "big.nc")
    assert (
        b"big.nc: variable mesh2d_node_x holds 15 MB when decompressed; this server accepts at most 1 MB "
        b"(COASTCAST_MAX_UNPACKED_MB)"
    ) in r.data


# ---------------------------------------------------------------- response headers


def _csp(resp) -> dict[str, list[str]]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@SQLITE_ONLY
def test_security_headers_on_every_response(app, system_with_cycle):
    c = app.test_client()
    responses = {
        "login page": c.get("/login"),
        "static script": c.get("/static/js/basemap.js"),
        "404 page": c.get("/nowhere"),
        "401 JSON": c.get("/api/systems"),
        "redirect": c.get("/dashboard"),
    }
    login(c, "alice@example.org")
    responses["viewer"] = c.get(f"/cycles/{system_with_cycle['cycle']}/view")
    responses["JSON"] = c.get(f"/api/cycles/{system_with_cycle['cycle']}/mesh")
    for what, r in responses.items():
        assert r.headers.get("X-Frame-Options") == "DENY", what
        assert r.headers.get("X-Content-Type-Options") == "nosniff", what
        assert r.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what
        csp = _csp(r)
        assert csp["default-src"] == ["'self'"], what
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], what
        assert csp["img-src"] == ["'self'", "data:"], what
        assert csp["connect-src"] == ["'self'"] and csp["object-src"] == ["'none'"], what
        assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"], what
        assert csp["form-action"] == ["'self'"], what


@SQLITE_ONLY
def test_csp_allows_the_configured_tile_server(make_app):
    for url, source in (
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
        ("http://{s}-tiles.example.org/{z}/{x}/{y}.png", "http:"),
    ):
        app = make_app(COASTCAST_TILE_URL=url)
        r = app.test_client().get("/login")
        assert _csp(r)["img-src"] == ["'self'", "data:", source], url
        assert f'data-tiles="{url}"' in r.get_data(as_text=True)


@SQLITE_ONLY
def test_pages_have_no_inline_scripts_styles_or_handlers(app, system_with_cycle):
    """What the policy forbids is not used: no <script> bodies, <style>, style= or on…= attributes."""
    add_user(app, "admin@example.org", admin=True)
    ids = system_with_cycle
    c = app.test_client()
    urls = ["/login", "/register"]
    login(c, "alice@example.org")
    with sessions(app) as s:  # a draft for the wizard's steps
        draft = ForecastSystem(
            owner_id=ids["user"],
            name="Draft",
            region_kind="box",
            mesh_path=str(ids["folder"] / "hgrid.gr3"),
            data_dir=str(ids["folder"]),
            status="draft",
            settings={"tide_source": "none"},
        )
        draft.bbox = ids["bbox"]
        s.add(draft)
        s.commit()
        did = draft.id
    urls += [
        "/dashboard",
        f"/systems/{ids['system']}",
        f"/cycles/{ids['cycle']}",
        f"/cycles/{ids['cycle']}/view",
        f"/cycles/{ids['cycle']}/files",
        f"/systems/{ids['system']}/delete",
        "/systems/new",
    ]
    urls += [f"/systems/{did}/wizard/{step}" for step in ("region", "forcings", "parameters", "stations", "thresholds", "review")]
    pages = {u: c.get(u) for u in urls}
    a = app.test_client()
    login(a, "admin@example.org")
    pages["/admin/users"] = a.get("/admin/users")
    for url, r in pages.items():
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html, re.I), url


def test_map_scripts_never_pass_html_strings_to_leaflet():
    """Station and system names reach Leaflet as text nodes (coastcast.text), never as HTML strings."""
    js = Path(__file__).resolve().parents[2] / "webapp" / "static" / "js"
    calls = []
    for f in sorted(js.glob("*.js")):
        src = f.read_text()
        calls += [(f.name, m.group(1)) for m in re.finditer(r"\.bind(?:Tooltip|Popup)\(\s*([^,)]*)", src)]
        calls += [(f.name, "setContent " + m.group(1)) for m in re.finditer(r"\.setContent\(\s*([^,)]*)", src)]
        for m in re.finditer(r"\.(?:innerHTML|outerHTML)\s*=\s*([^;]*)|insertAdjacentHTML", src):
            assert m.group(1) in ('""', "''"), (f.name, m.group(0))
    assert len(calls) >= 2, calls
    for name, arg in calls:
        assert arg.startswith("coastcast.text("), (name, arg)
    basemap = (js / "basemap.js").read_text()
    assert "text: text" in basemap and "document.createTextNode" in basemap


# ---------------------------------------------------------------- one-line errors for users

TRACEBACK = """Traceback (most recent call last):
  File "/srv/coastcast/workflows/cycle.py", line 412, in run_cycle
    mesh = read_mesh(cfg.mesh)
  File "/srv/coastcast/solver/formats/gr3.py", line 88, in read_gr3
    raise MeshFileError(f"{where(p, n)}bad node")
solver.formats._common.MeshFileError: /srv/coastcast/instance/data/systems/ab12/hgrid.gr3: line 7: bad node"""


def _fail_cycle(app, cycle_id, error, log):
    with sessions(app) as s:
        c = s.get(Cycle, cycle_id)
        c.status, c.error, c.log = "failed", error, log
        s.commit()


@SQLITE_ONLY
def test_failed_cycle_error_is_one_line_without_paths_for_users(app, system_with_cycle):
    ids = system_with_cycle
    log = (
        "2026-11-25 00:00:01 INFO coastcast.cycle: reading /srv/coastcast/instance/data/systems/ab12/hgrid.gr3\n"
        "2026-11-25 00:00:02 ERROR webapp.runner: cycle 1 failed\n" + TRACEBACK + "\n"
        "2026-11-25 00:00:02 INFO webapp.runner: cycle 1: failed"
    )
    _fail_cycle(app, ids["cycle"], TRACEBACK, log)
    shown = "solver.formats._common.MeshFileError: hgrid.gr3: line 7: bad node"
    c = app.test_client()
    login(c, "alice@example.org")
    for url in (f"/cycles/{ids['cycle']}", f"/systems/{ids['system']}"):
        html = c.get(url).get_data(as_text=True)
        assert f'<span class="error">{shown}</span>' in html or f'<p class="error">{shown}</p>' in html, url
        assert "Traceback" not in html and "/srv/" not in html and "line 412" not in html, url
    page = c.get(f"/cycles/{ids['cycle']}").get_data(as_text=True)
    assert "INFO coastcast.cycle: reading hgrid.gr3" in page and "cycle 1: failed" in page
    for url in (f"/api/cycles/{ids['cycle']}", f"/api/systems/{ids['system']}"):
        body = c.get(url).get_data(as_text=True)
        assert "Traceback" not in body and "/srv/" not in body, url
    assert c.get(f"/api/cycles/{ids['cycle']}").json["error"] == shown
    # the owner who is an administrator sees the whole record
    with sessions(app) as s:
        s.get(User, ids["user"]).is_admin = True
        s.commit()
    page = c.get(f"/cycles/{ids['cycle']}").get_data(as_text=True)
    assert "Traceback (most recent call last):" in page and "/srv/coastcast/solver/formats/gr3.py" in page
    assert c.get(f"/api/cycles/{ids['cycle']}").json["error"] == TRACEBACK


@SQLITE_ONLY
def test_a_cycle_that_raises_shows_its_owner_one_line(make_app, tmp_path):
    """The real path: the runner logs the traceback; the owner sees one line and no server path."""
    app = make_app()
    uid = add_user(app, "bob@example.org")
    folder = tmp_path / "data" / "systems" / "bob1"
    folder.mkdir(parents=True)
    secret = tmp_path / "data" / "secret-place" / "hgrid.gr3"  # the mesh lies elsewhere on the server, damaged
    secret.parent.mkdir(parents=True)
    lines = ["bad mesh", "2 4"] + [f"{i} -4.{i} 50.{i} 10 extra" for i in range(1, 4)] + ["4 -4.4 50.4 ten"]
    secret.write_text("\n".join(lines) + "\n")
    with sessions(app) as s:
        sysm = ForecastSystem(
            owner_id=uid,
            name="Bob's bay",
            region_kind="box",
            mesh_path=str(secret),
            data_dir=str(folder),
            status="active",
            horizon_hours=6,
            run_hour_utc=0,
            settings={"tide_source": "none", "atmosphere": "none"},
        )
        s.add(sysm)
        s.commit()
        sid = sysm.id
    c = app.test_client()
    login(c, "bob@example.org")
    assert c.post(f"/systems/{sid}/run").status_code == 302
    with sessions(app) as s:
        cyc = s.query(Cycle).filter_by(system_id=sid).one()
        assert cyc.status == "failed" and "Traceback" in cyc.log and "solver/formats" in cyc.log  # kept for admins
    assert "Traceback" in (Path(cyc.run_dir) / "run.log").read_text()  # the file keeps the record
    for url in (f"/systems/{sid}", f"/cycles/{cyc.id}", f"/api/cycles/{cyc.id}", f"/cycles/{cyc.id}/files/run.log"):
        body = c.get(url).get_data(as_text=True)
        assert "Traceback" not in body and str(tmp_path) not in body, url
        assert str(Path(__file__).parent) not in body and 'File "/' not in body, url
    error = c.get(f"/api/cycles/{cyc.id}").json["error"]
    assert error.startswith("prepare: ") and "hgrid.gr3" in error and "secret-place" not in error, error
    r = c.get(f"/cycles/{cyc.id}/files/run.log")
    assert r.mimetype == "text/plain" and "prepare started" in r.get_data(as_text=True)
    with sessions(app) as s:  # an administrator downloads the file as written
        s.get(User, uid).is_admin = True
        s.commit()
    assert c.get(f"/cycles/{cyc.id}/files/run.log").get_data() == (Path(cyc.run_dir) / "run.log").read_bytes()


# ---------------------------------------------------------------- private instance files


@SQLITE_ONLY
def test_database_and_instance_files_are_private(make_app, tmp_path, monkeypatch):
    monkeypatch.delenv("COASTCAST_SECRET_KEY", raising=False)
    old = os.umask(0o022)
    try:
        instance = tmp_path / "fresh" / "instance"
        url = f"sqlite:///{instance / 'coastcast.sqlite'}"
        app = make_app(
            INSTANCE_PATH=str(instance), SECRET_KEY=None, COASTCAST_DATA_DIR=str(instance / "data"), COASTCAST_DATABASE_URL=url
        )
        add_user(app, "gus@example.org")  # the database is written (WAL files appear)
        mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
        assert mode(instance) == 0o700 and mode(instance / "data") == 0o700
        assert mode(instance / "secret_key") == 0o600
        db_files = sorted(instance.glob("coastcast.sqlite*"))
        assert instance / "coastcast.sqlite" in db_files
        assert {p.name: mode(p) for p in db_files} == {p.name: 0o600 for p in db_files}
        app.extensions["coastcast_engine"].dispose()
        # files left readable by an older version are tightened at start
        for p in [instance / "secret_key", *db_files]:
            if p.exists():
                p.chmod(0o644)
        make_app(
            INSTANCE_PATH=str(instance), SECRET_KEY=None, COASTCAST_DATA_DIR=str(instance / "data"), COASTCAST_DATABASE_URL=url
        )
        assert mode(instance / "secret_key") == 0o600 and mode(instance / "coastcast.sqlite") == 0o600
    finally:
        os.umask(old)


# ---------------------------------------------------------------- logins: throttled, no enumeration


def _fail(client, email, n=1):
    for _ in range(n):
        r = login(client, email, "not the password")
        assert b"Wrong e-mail or password" in r.data


def _client(app, address):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def test_login_throttled_per_account(make_app):
    app = make_app()
    add_user(app, "bob@example.org")
    c = _client(app, "192.0.2.1")
    _fail(c, "bob@example.org", 5)
    r = login(c, "bob@example.org")  # the right password, but too late
    assert r.status_code == 429
    errors = re.findall(r'<p class="error" role="alert">([^<]*)</p>', r.get_data(as_text=True))
    assert errors == ["Too many failed logins for this account or from this address; try again in 15 minutes."]
    assert c.get("/dashboard").status_code == 302
    assert login(_client(app, "198.51.100.7"), "bob@example.org").status_code == 429  # from anywhere
    # the state is in the database: a restarted server refuses too
    app2 = make_app()
    assert login(_client(app2, "192.0.2.1"), "bob@example.org").status_code == 429
    # an unknown account gets the same answers
    _fail(c, "nobody@example.org", 5)
    assert login(c, "nobody@example.org").status_code == 429
    # the window passes
    with sessions(app) as s:
        for f in s.query(LoginFailure).filter_by(email="bob@example.org"):
            f.time = f.time - timedelta(minutes=11)
        s.commit()
    r = login(c, "bob@example.org")
    assert r.status_code == 429 and b"try again in 4 minutes" in r.data
    with sessions(app) as s:
        for f in s.query(LoginFailure).filter_by(email="bob@example.org"):
            f.time = f.time - timedelta(minutes=5)
        s.commit()
    r = login(c, "bob@example.org")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")
    with sessions(app) as s:  # a success forgets the account's failures
        assert s.query(LoginFailure).filter_by(email="bob@example.org").count() == 0


def test_login_throttled_per_address(make_app):
    app = make_app(COASTCAST_LOGIN_MAX_FAILURES_ADDRESS=8)
    add_user(app, "carol@example.org")
    c = _client(app, "203.0.113.9")
    for k in range(8):
        _fail(c, f"guess{k}@example.org")
    assert login(c, "carol@example.org").status_code == 429
    assert login(_client(app, "203.0.113.10"), "carol@example.org").status_code == 302


def test_unknown_account_costs_one_password_check(app, monkeypatch):
    from workflows import db as dbm

    add_user(app, "bob@example.org")
    checked = []
    real = dbm.check_password_hash
    monkeypatch.setattr(dbm, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    c = app.test_client()
    _fail(c, "bob@example.org")
    _fail(c, "nobody@example.org")
    assert len(checked) == 2
    method = lambda h: h.split("$")[0]  # noqa: E731
    assert method(checked[0]) == method(checked[1]) == "pbkdf2:sha256:1000"


def test_registration_does_not_tell_whether_an_account_exists(app, monkeypatch):
    from workflows import db as dbm

    add_user(app, "bob@example.org", approved=False)
    hashed = []
    real = dbm.generate_password_hash
    monkeypatch.setattr(dbm, "generate_password_hash", lambda p, **kw: hashed.append(p) or real(p, **kw))
    answers = []
    for email in ("new@example.org", "Bob@Example.org"):
        c = app.test_client()
        r = c.post("/register", data={"email": email, "password": "another pass 9", "confirm": "another pass 9"})
        page = c.get(r.headers["Location"]).get_data(as_text=True)
        answers.append((r.status_code, r.headers["Location"], re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)', page)))
    assert answers[0] == answers[1], answers
    assert hashed == ["another pass 9", "another pass 9"]  # the same work either way
    with sessions(app) as s:
        assert s.query(User).count() == 2
        bob = s.query(User).filter_by(email="bob@example.org").one()
        assert bob.check_password(PASSWORD) and not bob.check_password("another pass 9") and not bob.is_approved
