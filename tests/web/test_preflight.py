"""The mesh pre-flight as a page a person reads (issue 17, item 5): the quality report as labelled
rows with rounded numbers and units (no dictionary dump), problems and warnings as lists, the depth
sources of a generated mesh, the run-time estimate, and the map preview's JSON (owner only); one
browser test draws the preview with its open-boundary label and legend."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from .conftest import PASSWORD, add_user, grid_mesh, login, write_gr3
from .test_app import sessions

PLYMOUTH = Path(__file__).resolve().parents[1] / "data" / "meshes" / "plymouth_sound.gr3"


def _section(html: str, id_: str = "preflight") -> str:
    m = re.search(rf'<section[^>]*id="{id_}".*?</section>', html, re.S)
    assert m, f"no section #{id_} in the page"
    return m.group(0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _upload(c, path: Path, name: str | None = None):
    r = c.post(
        "/systems/new",
        data={"name": "Plymouth upload", "kind": "upload", "mesh_file": (io.BytesIO(path.read_bytes()), name or path.name)},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.data[:2000]
    return int(r.headers["Location"].split("/")[2]), r.headers["Location"]


def _updates_72h():
    """Face-updates of a 72-hour forecast of the Plymouth mesh (solver.quality, checked by hand
    in tests/test_mesh_check.py): the page must show the report's count, scaled to its hours."""
    from solver.formats import read_mesh
    from solver.quality import check_mesh

    return check_mesh(read_mesh(PLYMOUTH)).n_updates


def test_upload_preflight_is_a_readable_table(app):
    add_user(app, "uma@example.org")
    c = app.test_client()
    login(c, "uma@example.org")
    sid, where = _upload(c, PLYMOUTH)
    html = c.get(where).get_data(as_text=True)
    sec = _section(html)
    text = _text(sec)
    assert "Pre-flight report: plymouth_sound.gr3" in text
    assert "723 nodes, 1,150 triangles; open boundaries: open_1." in text
    # rounded numbers with units, human labels
    assert "Minimum angle 25.3° (median 41.9°, 1 % of the triangles below 26.2°)" in text
    assert "Element size (side) smallest 90 m, median 555 m, largest 1,987 m" in text
    assert "Depth range 2.0–58.5 m (positive down)" in text
    assert "Boundary segments open_1 (open, 151 nodes); land_1 (land, 145 nodes)" in text
    assert "Stable time step 0.86 s (CFL 0.9), limited by a 53.4 m deep triangle at 4.3488° W, 50.3203° N" in text
    assert "Verdict usable" in text
    assert re.search(r"Run-time estimate: about [\d.]+ (s|min|h) for a 72-hour forecast", text), text
    updates = _updates_72h()
    assert f"1,150 triangles, {updates / 1e6:,.3g} million face-updates with local time steps at 3.35 million per second" in text
    # no raw dictionary dump: no braces, no quoted keys, no long unrounded floats
    assert "{" not in text and "}" not in text and "&#34;" not in sec and "min_angle_deg" not in sec
    assert not re.search(r"\d\.\d{4,}", re.sub(r"\d+\.\d{4}° [EWNS]", "", text)), text
    assert 'data-url="/systems/%d/wizard/mesh.json?mesh=pending"' % sid in sec
    assert "js/mesh_preview.js" in html and 'value="Accept this mesh"' in sec


def test_preflight_lists_problems_and_warnings(app, monkeypatch):
    from webapp import services

    monkeypatch.setattr(
        services,
        "check_mesh",
        lambda mesh: {
            "ok": False,
            "n_node": 30,
            "n_face": 40,
            "min_angle_deg": 2.04999,
            "problems": ["face 3 is inverted at (-4.1, 50.2)"],
            "warnings": ["12 faces are skewed"],
            "notes": [],
            "depth_range_m": [-1.234, 10.0],
            "n_dry_nodes": 3,
        },
    )
    add_user(app, "uma@example.org")
    c = app.test_client()
    login(c, "uma@example.org")
    lon, lat, faces = grid_mesh((-4.5, 50.0, -4.0, 50.4), 6, 5)
    write_gr3(Path(app.instance_path) / "m.gr3", lon, lat, faces)
    sid, where = _upload(c, Path(app.instance_path) / "m.gr3")
    sec = _section(c.get(where).get_data(as_text=True))
    assert re.search(r'<ul class="bad problems"><li>face 3 is inverted at \(-4.1, 50.2\)</li></ul>', sec), sec
    assert '<ul class="warn warnings"><li>12 faces are skewed</li></ul>' in sec
    assert re.search(r'<tr class="warn" data-key="min_angle"><th>Minimum angle</th><td>2.0°</td>', sec), sec
    assert "-1.2–10.0 m (positive down); 3 nodes above the datum" in sec
    assert re.search(r'<tr class="bad" data-key="verdict">', sec)
    assert "This mesh cannot be used" in sec and "Run-time estimate" not in sec


def test_mesh_preview_json_owner_only(app):
    add_user(app, "uma@example.org")
    add_user(app, "eve@example.org")
    c = app.test_client()
    login(c, "uma@example.org")
    sid, _ = _upload(c, PLYMOUTH)
    r = c.get(f"/systems/{sid}/wizard/mesh.json?mesh=pending")
    assert r.status_code == 200 and r.mimetype == "application/json"
    d = r.get_json()
    assert d["n_face"] == 1150 and len(d["triangles"]) == 3 * 1150 and d["n_node"] == len(d["lon"]) == len(d["depth"]) == 723
    names = [f["properties"]["name"] for f in d["open_boundaries"]["features"]]
    assert names == ["open_1"]
    line = d["open_boundaries"]["features"][0]["geometry"]
    assert line["type"] == "LineString" and len(line["coordinates"]) == 151
    assert d["depth_sources"] is None and d["node_source"] is None
    assert min(d["depth"]) == 2.0 and max(d["depth"]) == 58.48
    # the accepted mesh is not yet the system's: no such mesh
    assert c.get(f"/systems/{sid}/wizard/mesh.json").status_code == 404
    # another user: not found; nobody logged in: the login page
    other = app.test_client()
    login(other, "eve@example.org")
    assert other.get(f"/systems/{sid}/wizard/mesh.json?mesh=pending").status_code == 404
    assert other.get(f"/systems/{sid}/wizard/mesh.json").status_code == 404
    anon = app.test_client().get(f"/systems/{sid}/wizard/mesh.json?mesh=pending")
    assert anon.status_code in (302, 401) and b"open_1" not in anon.data


def test_accepted_upload_preflight_on_review_and_estimate_on_parameters(app):
    add_user(app, "uma@example.org")
    c = app.test_client()
    login(c, "uma@example.org")
    sid, _ = _upload(c, PLYMOUTH)
    assert c.post(f"/systems/{sid}/wizard/accept-mesh").status_code == 302
    assert c.get(f"/systems/{sid}/wizard/mesh.json").get_json()["n_face"] == 1150
    r = c.post(
        f"/systems/{sid}/wizard/parameters",
        data={"horizon_hours": 6, "run_hour_utc": 3, "manning": 0.025, "output_interval_minutes": 60},
    )
    assert r.status_code == 302
    page = _text(c.get(f"/systems/{sid}/wizard/parameters").get_data(as_text=True))
    assert re.search(r"Run-time estimate of this mesh: about [\d.]+ (s|min) for a 6-hour forecast", page), page
    html = c.get(f"/systems/{sid}/wizard/review").get_data(as_text=True)
    text = _text(_section(html))
    assert "Pre-flight report of the mesh" in text and "Depth range 2.0–58.5 m" in text
    assert "for a 6-hour forecast on one core" in text and f"{_updates_72h() / 12 / 1e6:,.3g} million face-updates" in text
    assert "js/mesh_preview.js" in html and "vendor/leaflet/leaflet.js" in html


def test_box_mesh_shows_its_depth_sources(app):
    """A generated mesh's sidecar gives the depth-source table and, re-derived node by node, the
    preview's per-node sources (the real generator on the Plymouth Sound box)."""
    from workflows import meshgen

    add_user(app, "uma@example.org")
    c = app.test_client()
    login(c, "uma@example.org")
    r = c.post("/systems/new", data={"name": "Box", "kind": "box", "west": -4.35, "south": 50.25, "east": -4.05, "north": 50.4})
    assert r.status_code == 302, r.data[:2000]
    sid = int(r.headers["Location"].split("/")[2])
    with sessions(app) as s:
        from workflows.db import ForecastSystem

        recorded = meshgen.read_depth_sources(s.get(ForecastSystem, sid).mesh_path)
    html = c.get(f"/systems/{sid}/wizard/review").get_data(as_text=True)
    table = re.search(r'<table class="list depth-sources".*?</table>', html, re.S).group(0)
    total = sum(recorded.values())
    for name, n in recorded.items():
        assert re.search(
            rf"<td>{re.escape(name)}</td><td class=\"num\">{n:,}</td>\s*<td class=\"num\">{100 * n / total:.1f} %</td>", table
        ), table
    d = c.get(f"/systems/{sid}/wizard/mesh.json").get_json()
    assert d["depth_sources"] == recorded
    assert d["source_names"] and len(d["node_source"]) == d["n_node"]
    counts = {name: d["node_source"].count(k) for k, name in enumerate(d["source_names"])}
    assert counts == recorded
    # the region page of a system with a mesh shows the same pre-flight
    region = c.get(f"/systems/{sid}/wizard/region").get_data(as_text=True)
    assert "The region&#39;s mesh" in region and "depth-sources" in region


def _logged_in_page(browser, base, email):
    """A new browser context logged in as ``email``, and the list its page errors and CSP
    violations are collected in."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_default_timeout(30_000)
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/dashboard")
    return ctx, page, errors


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_upload_preview_map(browser, live_server, artifacts):
    app, base = live_server()
    add_user(app, "uma@example.org")
    ctx, page, errors = _logged_in_page(browser, base, "uma@example.org")
    page.goto(base + "/systems/new")
    page.fill("#name", "Plymouth upload")
    page.check("input[name=kind][value=upload]")
    page.set_input_files("#mesh_file", str(PLYMOUTH))
    page.click("#region-form input[type=submit]")
    page.wait_for_selector("#preflight-map[data-state=ready]")
    label = page.locator("#preflight-map .boundary-label", has_text="open_1")
    label.wait_for(state="visible")
    assert label.is_visible()
    assert page.locator("#preflight-map .mesh-legend").is_visible()
    assert "Depth:" in page.inner_text("#preflight-map .mesh-legend")
    # the triangles are drawn: the canvas has coloured pixels in the middle of the mesh
    painted = page.evaluate("""() => { const c = document.querySelector('#preflight-map canvas.mesh-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) n++; return n; }""")
    assert painted > 100, painted
    assert "Run-time estimate" in page.inner_text("#preflight")
    page.locator("#preflight").screenshot(path=str(artifacts / "preflight_upload.png"))
    page.screenshot(path=str(artifacts / "preflight_upload_page.png"), full_page=True)
    assert not errors, errors
    ctx.close()


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_box_preview_colours_by_depth_source(browser, live_server, artifacts):
    app, base = live_server()
    add_user(app, "uma@example.org")
    ctx, page, errors = _logged_in_page(browser, base, "uma@example.org")
    page.goto(base + "/systems/new")
    page.fill("#name", "Plymouth box")
    for k, v in zip(("west", "south", "east", "north"), (-4.35, 50.25, -4.05, 50.40)):
        page.fill(f"#{k}", str(v))
    page.click("#region-form input[type=submit]")
    page.wait_for_url("**/wizard/forcings")
    sid = page.url.split("/")[-3]
    page.goto(f"{base}/systems/{sid}/wizard/review")
    page.wait_for_selector("#preflight-map[data-state=ready]")
    assert page.locator("#preflight-map .boundary-label", has_text="open_1").is_visible()
    assert page.locator("#preflight-sources").is_visible()
    toggle = page.locator("#preflight-map button.source-toggle")
    assert toggle.inner_text() == "Colour by depth source"
    toggle.click()
    page.wait_for_selector("#preflight-map[data-colour=source]")
    legend = page.inner_text("#preflight-map .mesh-legend")
    assert "Depth source:" in legend and "gallery:channel_biscay" in legend, legend
    page.locator("#preflight").screenshot(path=str(artifacts / "preflight_box_sources.png"))
    assert not errors, errors
    ctx.close()


def test_the_estimate_scales_the_reports_count_and_reads_an_older_report_with_global_steps():
    """By hand: a report's face-updates scale with the forecast's hours; a report stored before
    the local-step count (no ``n_updates``) is counted as n_face × ceil(hours · 3600 / dt)."""
    from webapp.wizard import run_time_estimate

    new = run_time_estimate({"dt_s": 2.0, "n_face": 100, "n_updates": 7.2e6, "hours": 72, "throughput": 1e6}, 6)
    assert new["updates"] == pytest.approx(6e5) and new["wall_s"] == pytest.approx(0.6)
    assert "with local time steps" in new["detail"]
    old = run_time_estimate({"dt_s": 2.0, "n_face": 100, "throughput": 5e6}, 1.0)
    assert old["updates"] == 100 * 1800 and old["wall_s"] == pytest.approx(100 * 1800 / 5e6)
    assert "in global steps of 2 s" in old["detail"]
    assert run_time_estimate({"n_face": 100}, 6) is None  # no time step: no estimate
