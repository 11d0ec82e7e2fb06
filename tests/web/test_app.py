"""Web app unit tests with Flask's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tomllib
from datetime import datetime
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from workflows.db import Cycle, ForecastSystem, Station, User

from .conftest import PASSWORD, add_user, analytic_zeta, csrf_token, grid_mesh, login, write_gr3


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
    assert (
        b"Wrong e-mail or password"
        in app.test_client().post("/login", data={"email": "bob@example.org", "password": "nope-nope"}).data
    )


def test_register_form_errors_store_nothing(app):
    c = app.test_client()
    r = c.post("/register", data={"email": "not-an-email", "password": "short", "confirm": "other"})
    assert r.status_code == 200
    for msg in (b"Enter an e-mail address", b"at least 8 characters", b"The passwords differ"):
        assert msg in r.data
    with sessions(app) as s:
        assert s.query(User).count() == 0


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


# ---------------------------------------------------------------- ownership: every route, another user → 404


def _urls_for(app, ids):
    """Every rule that takes a system_id / cycle_id, filled with alice's ids: (method, url)."""
    out = []
    for rule in app.url_map.iter_rules():
        args = set(rule.arguments)
        if not args & {"system_id", "cycle_id"}:
            continue
        values = {"system_id": ids["system"], "cycle_id": ids["cycle"], "index": 0, "name": "fields.nc", "action": None}
        converters = rule._converters
        acts = [None]
        if "action" in args:
            acts = list(converters["action"].items) if hasattr(converters["action"], "items") else ["approve"]
        for act in acts:
            v = {k: values[k] for k in args}
            if act is not None:
                v["action"] = act
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **v)
            for m in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((m, url))
    return out


def test_another_user_gets_404_on_every_route(app, system_with_cycle):
    ids = system_with_cycle
    add_user(app, "mallory@example.org")
    urls = _urls_for(app, ids)
    assert len(urls) >= 25, urls
    assert any("/files/fields.nc" in u for _, u in urls) and any(u.startswith("/api/") for _, u in urls)
    m = app.test_client()
    login(m, "mallory@example.org")
    for method, url in urls:
        r = m.open(url, method=method, query_string={"lon": -4.2, "lat": 50.3} if "series" in url else None)
        assert r.status_code == 404, (method, url, r.status_code)
    # and nothing changed
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, ids["system"])
        assert sysm.status == "active" and len(sysm.cycles) == 1
    assert (ids["run_dir"] / "fields.nc").exists()
    # the owner reaches every GET (so the 404s above are not vacuous)
    a = app.test_client()
    login(a, "alice@example.org")
    for method, url in urls:
        if method == "GET" and "/wizard/" not in url:
            r = a.get(url, query_string={"lon": -4.2, "lat": 50.3} if "series" in url else None)
            assert r.status_code == 200, (url, r.status_code)
    # logged out: pages redirect to the login form, the API answers 401
    anon = app.test_client()
    assert anon.get(f"/systems/{ids['system']}").status_code == 302
    assert anon.get(f"/api/cycles/{ids['cycle']}").status_code == 401


# ---------------------------------------------------------------- wizard


def _wizard_to_review(c, bbox=(-4.5, 50.0, -4.0, 50.4), stations="Plymouth, -4.185, 50.366\nBuoy, -4.3, 50.1"):
    r = c.post(
        "/systems/new",
        data={"name": "Plymouth Sound", "kind": "box", "west": bbox[0], "south": bbox[1], "east": bbox[2], "north": bbox[3]},
    )
    assert r.status_code == 302 and "/wizard/forcings" in r.headers["Location"], r.data[:2000]
    sid = int(r.headers["Location"].split("/")[2])
    r = c.post(
        f"/systems/{sid}/wizard/forcings",
        data={
            "tide_source": "jmj",
            "atmosphere": "gfs",
            "boundary-0-role": "tide",
            "boundary-1-role": "river",
            "boundary-1-discharge": "250",
        },
    )
    assert r.status_code == 302, r.data
    r = c.post(
        f"/systems/{sid}/wizard/parameters",
        data={"horizon_hours": 48, "run_hour_utc": 6, "manning": 0.02, "output_interval_minutes": 30},
    )
    assert r.status_code == 302, r.data
    r = c.post(f"/systems/{sid}/wizard/stations", data={"stations": stations})
    assert r.status_code == 302, r.data
    return sid


def test_wizard_box_creates_system_and_config(app, stub_services):
    add_user(app, "dave@example.org")
    c = app.test_client()
    login(c, "dave@example.org")
    sid = _wizard_to_review(c)
    r = c.get(f"/systems/{sid}/wizard/review")
    assert b"river_1: 250.0 m" in r.data and b"Plymouth (-4.1850, 50.3660)" in r.data
    r = c.post(f"/systems/{sid}/wizard/review", data={})
    assert b"Tick the box" in r.data
    r = c.post(f"/systems/{sid}/wizard/review", data={"confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/systems/{sid}")
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, sid)
        assert sysm.status == "active" and sysm.region_kind == "box"
        assert sysm.bbox == (-4.5, 50.0, -4.0, 50.4)
        assert (sysm.horizon_hours, sysm.run_hour_utc) == (48, 6)
        assert [(st.name, st.lon, st.lat) for st in sysm.stations] == [("Plymouth", -4.185, 50.366), ("Buoy", -4.3, 50.1)]
        cfg = tomllib.loads(sysm.config_toml)
        assert Path(sysm.mesh_path).is_file() and cfg["mesh"] == sysm.mesh_path
        assert Path(sysm.data_dir, "config.toml").read_text() == sysm.config_toml
    assert cfg["hours"] == 48 and cfg["output_interval_minutes"] == 30
    assert cfg["tides"]["kind"] == "atlas" and cfg["tides"]["model"] == "jmj" and cfg["atmosphere"] == {"source": "gfs"}
    assert cfg["rivers"] == [{"boundary": "river_1", "discharge": 250.0}]
    assert cfg["physics"] == {"manning": 0.02}
    assert cfg["stations"][0] == {"name": "Plymouth", "lon": -4.185, "lat": 50.366}


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"kind": "box", "west": -4, "south": 50, "east": -3, "north": 51}, "name", b"Give the system a name"),
        ({"name": "x", "kind": "box"}, "west", b"Draw a box on the map or type this coordinate"),
        ({"name": "x", "kind": "box", "west": -3, "south": 50, "east": -4, "north": 51}, "east", b"must be greater than west"),
        ({"name": "x", "kind": "box", "west": -12, "south": 40, "east": 0, "north": 51}, "east", b"at most 6"),
        ({"name": "x", "kind": "box", "west": -4, "south": 95, "east": -3, "north": 96}, "south", b"outside"),
        ({"name": "x", "kind": "upload"}, "mesh_file", b"Choose a mesh file to upload"),
        ({"name": "x", "kind": "gallery", "gallery": "nowhere"}, "gallery", b"Pick one of the gallery meshes"),
    ],
)
def test_region_step_messages_next_to_field_and_nothing_stored(app, stub_services, tmp_path, data, field, message):
    add_user(app, "erin@example.org")
    c = app.test_client()
    login(c, "erin@example.org")
    r = c.post("/systems/new", data=data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    block = html[html.index(f'id="field-{field}"') :]
    block = block[: block.index("</div>")]
    assert message.decode() in block, block
    with sessions(app) as s:
        assert s.query(ForecastSystem).count() == 0
    assert not list((tmp_path / "data").glob("systems/*"))


def test_mesh_generation_error_is_shown_and_nothing_stored(app, stub_services, monkeypatch, tmp_path):
    def boom(bbox, out, **sizes):
        raise ValueError(f"box {bbox}: no water inside the box\nsecond line")

    monkeypatch.setattr(stub_services, "generate_mesh", boom)
    add_user(app, "erin@example.org")
    c = app.test_client()
    login(c, "erin@example.org")
    r = c.post("/systems/new", data={"name": "Inland", "kind": "box", "west": 1, "south": 47, "east": 2, "north": 48})
    assert r.status_code == 200 and b"no water inside the box" in r.data and b"second line" not in r.data
    with sessions(app) as s:
        assert s.query(ForecastSystem).count() == 0
    assert not list((tmp_path / "data").glob("systems/*"))


def test_mesh_generation_unavailable_says_so(app, monkeypatch, tmp_path):

    from webapp import services

    monkeypatch.setattr(
        services,
        "_load",
        lambda m, n: (_ for _ in ()).throw(
            services.ServiceUnavailable(f"{m} is not available on this server (No module named {m!r})")
        ),
    )
    add_user(app, "erin@example.org")
    c = app.test_client()
    login(c, "erin@example.org")
    r = c.post("/systems/new", data={"name": "Box", "kind": "box", "west": -4.5, "south": 50, "east": -4, "north": 50.4})
    assert b"workflows.meshgen is not available on this server" in r.data
    assert b"The gallery is not available" in r.data


def test_later_steps_validate(app, stub_services):
    add_user(app, "fay@example.org")
    c = app.test_client()
    login(c, "fay@example.org")
    sid = _wizard_to_review(c)
    r = c.post(
        f"/systems/{sid}/wizard/parameters",
        data={"horizon_hours": 73, "run_hour_utc": 24, "manning": 1, "output_interval_minutes": ""},
    )
    for msg in (b"1 to 72 hours", b"0 to 23", b"0.005 to 0.2", b"Give the output interval"):
        assert msg in r.data
    r = c.post(
        f"/systems/{sid}/wizard/forcings",
        data={"tide_source": "jmj", "atmosphere": "none", "boundary-1-role": "river", "boundary-1-discharge": "lots"},
    )
    assert b"Boundary &#39;river_1&#39;: give the river discharge" in r.data
    r = c.post(f"/systems/{sid}/wizard/stations", data={"stations": "A, -4.2, 50.2\nB, -4.2\n"})
    assert b"stations line 2: expected &#39;name, lon, lat&#39;, got 2 values" in r.data
    r = c.post(f"/systems/{sid}/wizard/stations", data={"stations": "Far, 2.0, 50.2"})
    assert b"is outside the region" in r.data and b"(2.0000, 50.2000)" in r.data
    r = c.post(
        f"/systems/{sid}/wizard/stations",
        data={"stations": "", "csv_file": (io.BytesIO(b"name,lon,lat\nX,-4.1,50.2\nY,abc,50\n"), "../../st.csv")},
    )
    assert b"st.csv line 3: lon/lat &#39;abc&#39;, &#39;50&#39; are not numbers" in r.data
    with sessions(app) as s:  # failed steps kept the earlier answers
        sysm = s.get(ForecastSystem, sid)
        assert sysm.horizon_hours == 48 and [st.name for st in sysm.stations] == ["Plymouth", "Buoy"]
        assert sysm.settings["rivers"] == [{"boundary": "river_1", "discharge": 250.0}]
    r = c.post(
        f"/systems/{sid}/wizard/stations",
        data={"stations": "", "csv_file": (io.BytesIO(b"name,lon,lat\nX,-4.1,50.2\n"), "st.csv")},
    )
    assert r.status_code == 302
    with sessions(app) as s:
        assert [(st.name, st.lon) for st in s.get(ForecastSystem, sid).stations] == [("X", -4.1)]


def test_upload_preflight_then_accept(app, stub_services, tmp_path):
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    lon, lat, faces = grid_mesh((-4.5, 50.0, -4.0, 50.4), 6, 5)
    mesh_file = tmp_path / "m.gr3"
    write_gr3(mesh_file, lon, lat, faces)
    r = c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO(mesh_file.read_bytes()), "../../../etc/hgrid.gr3")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    sid = int(r.headers["Location"].split("/")[2])
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Pre-flight report: etc_hgrid.gr3" in page and "30 nodes, 40 triangles" in page
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, sid)
        saved = Path(sysm.settings["pending_upload"]["path"])
        assert saved.parent == Path(sysm.data_dir) / "upload" and saved.name == "etc_hgrid.gr3"
        assert sysm.region_kind is None
    r = c.post(f"/systems/{sid}/wizard/accept-mesh")
    assert r.status_code == 302 and "/forcings" in r.headers["Location"]
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, sid)
        assert sysm.region_kind == "upload" and sysm.mesh_path == str(saved)
        assert sysm.bbox == (-4.5, 50.0, -4.0, 50.4)


def test_upload_bad_files(make_app, stub_services, tmp_path):
    app = make_app(MAX_CONTENT_LENGTH=4096, COASTCAST_MAX_MESH_NODES=20)
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    r = c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO(b"hello\nworld\n"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and b"notes.txt: not a mesh file" in r.data
    r = c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO(b"x" * 10000), "big.gr3")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and b"larger than this server accepts" in r.data
    lon, lat, faces = grid_mesh((-4.5, 50.0, -4.0, 50.4), 6, 5)
    write_gr3(tmp_path / "m.gr3", lon, lat, faces)
    r = c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO((tmp_path / "m.gr3").read_bytes()), "m.gr3")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and b"m.gr3: 30 nodes; this server accepts meshes of at most 20 nodes" in r.data
    with sessions(app) as s:
        assert s.query(ForecastSystem).count() == 0
    assert not list((tmp_path / "data").glob("systems/*"))


def test_unusable_upload_cannot_be_accepted(app, stub_services, monkeypatch, tmp_path):
    monkeypatch.setattr(stub_services, "check_mesh", lambda mesh: {"ok": False, "errors": ["face 3 is inverted at (-4.1, 50.2)"]})
    add_user(app, "gus@example.org")
    c = app.test_client()
    login(c, "gus@example.org")
    lon, lat, faces = grid_mesh((-4.5, 50.0, -4.0, 50.4), 6, 5)
    write_gr3(tmp_path / "m.gr3", lon, lat, faces)
    r = c.post(
        "/systems/new",
        data={"name": "Up", "kind": "upload", "mesh_file": (io.BytesIO((tmp_path / "m.gr3").read_bytes()), "m.gr3")},
        content_type="multipart/form-data",
    )
    sid = int(r.headers["Location"].split("/")[2])
    page = c.get(r.headers["Location"]).data
    assert b"face 3 is inverted" in page and b"cannot be used" in page
    c.post(f"/systems/{sid}/wizard/accept-mesh")
    with sessions(app) as s:
        assert s.get(ForecastSystem, sid).region_kind is None


# ---------------------------------------------------------------- dashboard and runner


def test_run_now_pause_resume_delete(app, system_with_cycle):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    r = c.post(f"/systems/{ids['system']}/run")
    assert r.status_code == 302
    with sessions(app) as s:
        cyc = s.query(Cycle).filter_by(system_id=ids["system"]).order_by(Cycle.created.desc()).first()
        assert (cyc.status, cyc.progress, cyc.error) == ("succeeded", 1.0, None), (cyc.error, cyc.log[-2000:])
        assert "segment 0 done" in cyc.log and "publish done" in cyc.log and cyc.started <= cyc.finished
        run_dir = Path(cyc.run_dir)
        cfg = tomllib.loads((run_dir / "config.toml").read_text())
        assert datetime.fromisoformat(cfg["start"].replace("Z", "+00:00")) == cyc.cycle_time and cfg["hours"] == 6
    # the real pipeline ran (prepare, segments, publish) and published 6 h of hourly fields
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "succeeded" and record["spinup_hours"] == 24.0  # the default cold-start spin-up, said
    last = json.loads((run_dir / "work" / "progress.json").read_text())  # the last progress the segment wrote
    assert (last["fraction"], last["stage"]) == (1.0, "forecast")
    assert last["simulated_s"] == last["total_s"] == pytest.approx((24 + 6) * 3600.0)
    with netCDF4.Dataset(run_dir / "fields.nc") as ds:
        assert ds.dimensions["time"].size == 7
    assert "segment 0 done" in (run_dir / "run.log").read_text()
    page = c.get(f"/systems/{ids['system']}").data
    assert page.count(b'class="view"') == 2
    assert c.post(f"/systems/{ids['system']}/pause").status_code == 302
    with sessions(app) as s:
        assert s.get(ForecastSystem, ids["system"]).status == "paused"
    c.post(f"/systems/{ids['system']}/resume")
    with sessions(app) as s:
        assert s.get(ForecastSystem, ids["system"]).status == "active"
    assert b"cannot be undone" in c.get(f"/systems/{ids['system']}/delete").data
    r = c.post(f"/systems/{ids['system']}/delete")
    assert r.status_code == 302
    with sessions(app) as s:
        assert s.get(ForecastSystem, ids["system"]) is None
        assert s.query(Cycle).count() == 0 and s.query(Station).count() == 0
    assert not ids["folder"].exists() and not run_dir.exists()


def test_failed_run_records_one_line_error(app, system_with_cycle):
    """A cycle whose mesh is unreadable fails in prepare with one line naming the file and the
    line; the run's log keeps the traceback for the owner and admins."""
    ids = system_with_cycle
    mesh = ids["folder"] / "hgrid.gr3"
    lines = mesh.read_text().splitlines()
    lines[5] = "4 not-a-number 50.2 10.0"
    mesh.write_text("\n".join(lines) + "\n")
    c = app.test_client()
    login(c, "alice@example.org")
    c.post(f"/systems/{ids['system']}/run")
    with sessions(app) as s:
        cyc = s.query(Cycle).filter(Cycle.system_id == ids["system"], Cycle.status != "succeeded").one()
        assert cyc.status == "failed", cyc.error
        assert cyc.error.startswith("prepare: ") and "\n" not in cyc.error and "hgrid.gr3" in cyc.error, cyc.error
        assert "line 6" in cyc.error and "(after 3 attempts)" in cyc.error, cyc.error
        assert "Traceback" in cyc.log  # the log keeps the detail for the owner


def test_one_cycle_at_a_time_and_interrupted(make_app, system_with_cycle):
    from webapp.runner import mark_interrupted

    app = make_app(COASTCAST_RUNNER="none")
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    c.post(f"/systems/{ids['system']}/run")
    r = c.post(f"/systems/{ids['system']}/run", follow_redirects=True)
    assert b"already queued or running" in r.data
    with sessions(app) as s:
        queued = s.query(Cycle).filter_by(status="queued").one()
        queued.status = "running"
        s.commit()
    assert mark_interrupted(app.extensions["coastcast_sessions"]) == 1
    with sessions(app) as s:
        assert s.query(Cycle).filter_by(status="interrupted").count() == 1


def test_missing_mesh_fails_cycle_with_reason_and_keeps_the_old_cycle(app, system_with_cycle):
    """The mesh file of the system is gone: the new cycle fails with the reason; the succeeded
    cycle already stored keeps its outputs."""
    ids = system_with_cycle
    (ids["folder"] / "hgrid.gr3").unlink()
    c = app.test_client()
    login(c, "alice@example.org")
    c.post(f"/systems/{system_with_cycle['system']}/run")
    with sessions(app) as s:
        cyc = s.query(Cycle).filter_by(status="failed").one()
        # refused when the cycle is made, before anything runs: one line naming the file
        assert cyc.error == f"system {ids['system']} ('Plymouth Sound'): mesh 'hgrid.gr3' does not exist", cyc.error
        assert s.get(Cycle, ids["cycle"]).status == "succeeded"
    assert (ids["run_dir"] / "fields.nc").is_file()


# ---------------------------------------------------------------- API and downloads


def test_api_lists_and_fields(app, system_with_cycle):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    systems = c.get("/api/systems").get_json()["systems"]
    assert [s["name"] for s in systems] == ["Plymouth Sound"] and systems[0]["bbox"] == list(ids["bbox"])
    detail = c.get(f"/api/systems/{ids['system']}").get_json()
    assert [st["name"] for st in detail["stations"]] == ["Plymouth", "Offshore"]
    assert detail["cycles"][0]["cycle"] == "2026-11-25T00Z" and detail["cycles"][0]["status"] == "succeeded"
    cyc = c.get(f"/api/cycles/{ids['cycle']}").get_json()
    names = {f["name"]: f for f in cyc["files"]}
    assert {"fields.nc", "stations.nc", "max.nc", "restart.nc", "run.json", "figures/map.png"} <= set(names)
    assert names["fields.nc"]["size"] == (ids["run_dir"] / "fields.nc").stat().st_size

    mesh = c.get(f"/api/cycles/{ids['cycle']}/mesh").get_json()
    assert mesh["n_node"] == 120 and mesh["n_face"] == 198 and len(mesh["triangles"]) == 3 * 198
    np.testing.assert_allclose(mesh["lon"], np.round(ids["lon"], 5))
    assert mesh["triangles"][:3] == ids["faces"][0].tolist()
    assert mesh["times"][1] - mesh["times"][0] == 3600 and mesh["times"][0] == int(ids["start"].timestamp())
    zeta = ids["truth"]["zeta"]
    assert mesh["zeta_min"] == round(float(zeta.min()), 3) and mesh["zeta_max"] == round(float(zeta.max()), 3)

    fr = c.get(f"/api/cycles/{ids['cycle']}/fields/3").get_json()
    np.testing.assert_allclose(fr["zeta"], zeta[3], atol=5e-4 + 1e-12)
    assert fr["time"] == mesh["times"][3] and len(fr["u"]) == 120
    assert c.get(f"/api/cycles/{ids['cycle']}/fields/7").status_code == 404

    mx = c.get(f"/api/cycles/{ids['cycle']}/max").get_json()
    assert mx["source"] == "max.nc"
    np.testing.assert_allclose(mx["zeta_max"], zeta.max(axis=0), atol=5e-4)

    st = c.get(f"/api/cycles/{ids['cycle']}/stations").get_json()
    assert [s["name"] for s in st["stations"]] == ["Plymouth", "Offshore"]
    t = np.asarray(st["times"], float) - st["times"][0]
    expect = analytic_zeta(-4.185, 50.366, t, ids["truth"]["lon0"], ids["truth"]["lat0"])
    np.testing.assert_allclose(st["zeta"][0], expect, atol=5e-4)


def test_point_series_interpolates_inside_and_nearest_outside(app, system_with_cycle):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    lon, lat = -4.2345, 50.2871
    d = c.get(f"/api/cycles/{ids['cycle']}/series", query_string={"lon": lon, "lat": lat}).get_json()
    assert d["method"] == "face"
    f = ids["faces"][d["face"]]
    from matplotlib.path import Path as MPath

    assert MPath(np.c_[ids["lon"][f], ids["lat"][f]]).contains_point((lon, lat))
    expect = analytic_zeta(lon, lat, ids["truth"]["t"], ids["truth"]["lon0"], ids["truth"]["lat0"])
    np.testing.assert_allclose(d["zeta"], expect, atol=6e-4)  # linear field: barycentric weights are exact
    np.testing.assert_allclose(d["u"], 0.3 * np.cos(2 * np.pi / (12.42 * 3600) * ids["truth"]["t"]), atol=6e-4)
    # outside the mesh: the nearest node (the SW corner), with its distance
    d = c.get(f"/api/cycles/{ids['cycle']}/series", query_string={"lon": -4.5, "lat": 50.0}).get_json()
    assert d["method"] == "nearest_node" and d["node"] == 0
    expect_km = np.hypot(0.1 * np.cos(np.radians(50.0)), 0.1) * 111.195
    assert d["distance_km"] == pytest.approx(expect_km, abs=1e-3)
    np.testing.assert_allclose(d["zeta"], ids["truth"]["zeta"][:, 0], atol=5e-4)
    assert c.get(f"/api/cycles/{ids['cycle']}/series", query_string={"lon": "x"}).status_code == 400


def test_downloads_stream_ranges_and_stay_in_run_dir(app, system_with_cycle, tmp_path):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    base = f"/cycles/{ids['cycle']}/files"
    raw = (ids["run_dir"] / "fields.nc").read_bytes()
    r = c.get(f"{base}/fields.nc")
    assert r.status_code == 200 and r.data == raw and r.headers["Accept-Ranges"] == "bytes"
    assert "attachment" in r.headers["Content-Disposition"] and r.headers["Content-Length"] == str(len(raw))
    from flask import g

    from webapp.downloads import file as download_view

    with app.test_request_context(f"{base}/fields.nc"), sessions(app) as s:
        g.user = s.get(User, ids["user"])
        resp = download_view.__wrapped__(ids["cycle"], "fields.nc")
        assert resp.direct_passthrough and not isinstance(resp.response, (list, bytes))  # a file wrapper: streamed
        resp.close()
    r = c.get(f"{base}/fields.nc", headers={"Range": "bytes=100-1123"})
    assert r.status_code == 206 and r.data == raw[100:1124]
    assert r.headers["Content-Range"] == f"bytes 100-1123/{len(raw)}"
    r = c.get(f"{base}/fields.nc", headers={"Range": f"bytes={len(raw) - 10}-"})
    assert r.status_code == 206 and r.data == raw[-10:]
    assert c.get(f"{base}/figures/map.png").status_code == 200
    secret = tmp_path / "outside.txt"
    secret.write_text("secret")
    (ids["run_dir"] / "link.nc").symlink_to(secret)
    (ids["run_dir"] / ".hidden").write_text("x")
    for name in (
        "../hgrid.gr3",
        "..%2fhgrid.gr3",
        "%2e%2e/hgrid.gr3",
        "figures/../../hgrid.gr3",
        "link.nc",
        ".hidden",
        str(secret),
        "%2Fetc%2Fpasswd",
        "nothing.nc",
        "figures",
    ):
        assert c.get(f"{base}/{name}", follow_redirects=True).status_code == 404, name
    listing = c.get(base).get_data(as_text=True)
    assert "fields.nc" in listing and "link.nc" not in listing and ".hidden" not in listing


def _coastline(c, bbox=None, **kw):
    r = c.get("/api/coastline", query_string={"bbox": ",".join(map(str, bbox))} if bbox else None, **kw)
    assert r.status_code == 200, r.data[:200]
    return r


def _kinds(fc):
    from shapely.geometry import shape

    return {f["properties"]["kind"]: shape(f["geometry"]) for f in fc["features"]}


def test_coastline_is_simplified_and_clipped(app):
    """Boxes off Norway, Iceland, Nova Scotia and Biscay: coast and land inside the snapped box, the coast
    on the GSHHG tiles' coastline and that coastline within the tolerance of it."""
    import shapely

    from webapp.coastline import snap_bbox
    from workflows.meshgen import coastline_tiles

    store = coastline_tiles()
    c = app.test_client()
    for bbox in [(4.0, 59.5, 6.5, 61.5), (-24.5, 63.2, -21.0, 65.0), (-64.5, 43.5, -62.5, 45.5), (-6.0, 44.0, 4.0, 49.0)]:
        r = _coastline(c, bbox)
        assert "public" in r.headers["Cache-Control"] and r.mimetype == "application/geo+json"
        fc = r.get_json()
        snapped, tol = fc["bbox"], fc["tolerance"]
        assert list(snap_bbox(bbox)[0]) == snapped and snap_bbox(snapped)[0] == tuple(snapped)
        assert snapped[0] <= bbox[0] and snapped[1] <= bbox[1] and snapped[2] >= bbox[2] and snapped[3] >= bbox[3]
        size = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
        assert max(snapped[2] - snapped[0], snapped[3] - snapped[1]) < 1.5 * size and size / 1100 < tol < size / 250
        f = _kinds(fc)
        assert fc["land"] and set(f) == {"land", "coast"}
        coast, land = f["coast"], f["land"]
        inside, want = shapely.box(*snapped).buffer(1e-9), shapely.box(*bbox)
        assert inside.contains(coast) and inside.contains(land) and coast.intersects(want) and land.intersects(want)
        assert land.is_valid and 0 < land.area < shapely.area(inside)
        # the coast's points lie on the full-resolution coast (up to rounding), and the coast within the tolerance
        full = shapely.MultiLineString(list(store.coast_lines(snapped)))
        pts = shapely.points(shapely.get_coordinates(coast))
        assert shapely.distance(pts, full).max() <= tol / 10
        longest = max(full.geoms, key=lambda g: g.length)
        assert shapely.distance(shapely.points(shapely.get_coordinates(longest)), coast).max() <= 1.1 * tol
        # land and coast agree (each within the tolerance of the full-resolution coast; specks of islands under
        # the tolerance that a tile side or the box cuts may have lines but no land)
        big = shapely.points(shapely.get_coordinates([g for g in coast.geoms if g.length > 10 * tol]))
        assert shapely.distance(big, land.boundary).max() <= 2.2 * tol
        n_full = shapely.get_num_coordinates(full)
        assert shapely.get_num_coordinates(coast) < n_full / 3, (shapely.get_num_coordinates(coast), n_full)
    # boxes over 32 degrees: the coastline only; a box outside the data: nothing
    fc = _coastline(c, (-40, 35, 0, 70)).get_json()
    assert not fc["land"] and set(_kinds(fc)) == {"coast"} and not _kinds(fc)["coast"].is_empty
    fc = _coastline(c, (-170, 10, -160, 20)).get_json()
    assert all(g.is_empty for g in _kinds(fc).values())


def test_coastline_land_is_land_and_sea_is_sea(app):
    import shapely

    from workflows.meshgen import coastline_tiles

    # off the 1-degree tile sides (is_land, the reference, answers False on a tile side)
    sea = [(-4.5, 46.5), (-2.6, 47.3), (-60.3, 40.2), (2.3, 62.2), (-35.3, 60.2), (-90.3, 25.2), (-64.2, 45.3)]
    land = [
        (2.3, 47.1),
        (-3.1, 48.1),
        (-4.3, 40.2),
        (-97.3, 35.2),
        (20.3, 10.2),
        (-42.3, 72.2),
        (9.3, 61.2),
        (-19.3, 64.8),
        (-62.5, 45.4),
        (-63.7, 44.8),
        (-62.3, 54.2),
    ]
    truth = coastline_tiles().is_land(*np.array(sea + land).T)
    assert not truth[: len(sea)].any() and truth[len(sea) :].all()
    c = app.test_client()
    points = [(p, False) for p in sea] + [(p, True) for p in land]
    boxes = [
        (x - size / 2, y - size / 2, x + size / 2, y + size / 2, [((x, y), on)]) for (x, y), on in points for size in (1.0, 6.0)
    ]
    boxes += [(-20.0, 36.0, 8.0, 64.0, points), (-72.0, 36.0, -44.0, 64.0, points)]  # 28 degrees
    for *bbox, pts in boxes:
        fc = _coastline(c, bbox).get_json()
        assert fc["land"]
        area = shapely.box(*fc["bbox"])
        for (x, y), on_land in pts:
            if area.contains_properly(shapely.Point(x, y)):
                assert shapely.contains_xy(_kinds(fc)["land"], x, y) == on_land, (x, y, bbox)


def test_coastline_without_box_covers_the_whole_extent(app):
    import shapely

    from workflows.meshgen import COAST_EXTENT

    fc = _coastline(app.test_client()).get_json()
    assert fc["bbox"] == list(COAST_EXTENT) and not fc["land"]
    coast = _kinds(fc)["coast"]
    w, s, e, n = shapely.bounds(coast)
    assert w < COAST_EXTENT[0] + 1 and e > COAST_EXTENT[2] - 1 and s < COAST_EXTENT[1] + 1 and n > COAST_EXTENT[3] - 1
    assert 5000 < shapely.get_num_coordinates(coast) < 60000
    # lines on every coast: the Gulf of Mexico, Nova Scotia, Greenland, Iceland, Norway, Svalbard, Biscay,
    # Senegal, Sicily, Jamaica, the Amazon's mouth, the Azores
    for x, y in [
        (-90, 29.5),
        (-64, 44.5),
        (-45, 60.5),
        (-20, 64),
        (5, 60),
        (15, 78),
        (-2, 43.5),
        (-17, 14.5),
        (14, 37),
        (-77, 18),
        (-50, 0.5),
        (-28, 38.5),
    ]:
        assert coast.intersects(shapely.box(x - 1, y - 1, x + 1, y + 1)), (x, y)


@pytest.mark.parametrize(
    "bbox",
    [
        "-inf,-inf,inf,inf",
        "nan,40,0,50",
        "0,40,nan,50",
        "1,2,0,3",
        "0,3,1,2",
        "0,0,0,1",
        "-10,40,0",
        "-10,40,0,50,60",
        "",
        "a,b,c,d",
        "-190,40,0,50",
        "-10,40,190,50",
        "-10,-95,0,50",
        "-10,40,0,91",
        "1e400,40,0,50",
    ],
)
def test_coastline_rejects_bad_boxes(app, bbox):
    r = app.test_client().get("/api/coastline", query_string={"bbox": bbox})
    assert r.status_code == 400
    err = r.get_json()
    assert err["status"] == 400 and "bbox" in err["error"] and "\n" not in err["error"] and len(err["error"]) < 120


def test_coastline_is_gzipped_and_cached(app):
    import gzip

    c = app.test_client()
    bbox = (-10.0, 43.0, 3.0, 53.0)
    plain = _coastline(c, bbox)
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    zipped = _coastline(c, bbox, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    assert len(zipped.data) < len(plain.data) / 2
    assert "max-age=86400" in zipped.headers["Cache-Control"] and zipped.headers["ETag"] != plain.headers["ETag"]
    again = c.get(
        "/api/coastline",
        query_string={"bbox": ",".join(map(str, bbox))},
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304
    whole = _coastline(c, headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(whole.data))["features"]


def test_viewer_and_pages_render(app, system_with_cycle):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    page = c.get(f"/cycles/{ids['cycle']}/view").get_data(as_text=True)
    assert f'data-mesh="/api/cycles/{ids["cycle"]}/mesh"' in page and "vendor/leaflet/leaflet.js" in page
    assert "unpkg" not in page and "cdn" not in page.lower()
    assert b"2026-11-25T00Z" in c.get("/dashboard").data
    assert b"ok" in c.get(f"/cycles/{ids['cycle']}").data
