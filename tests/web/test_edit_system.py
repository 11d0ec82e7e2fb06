"""Editing a forecast system after creation: a new version of its configuration; cycles already
run keep theirs, the next one uses the new one; a refused edit says why in one line and stores
nothing. Real database, real run directories, the app's own routes."""

from __future__ import annotations

import re
import tomllib
from html import unescape
from pathlib import Path

import pytest

from workflows.db import Cycle, ForecastSystem, SystemConfigVersion

from .conftest import add_user, login


@pytest.fixture
def app(make_app):
    """Cycles stay queued (no runner): the test reads what a queued cycle will run."""
    return make_app(COASTCAST_RUNNER="none")


def sessions(app):
    return app.extensions["coastcast_sessions"]()


@pytest.fixture
def system(app, system_with_cycle):
    """alice's system with its wizard configuration (version 1) and one cycle run with it."""
    from webapp.systems import config_toml

    ids = system_with_cycle
    with app.app_context(), sessions(app) as s:
        sysm = s.get(ForecastSystem, ids["system"])
        text = config_toml(sysm)
        sysm.config_toml = text
        Path(sysm.data_dir, "config.toml").write_text(text)
        cyc = s.get(Cycle, ids["cycle"])
        data = tomllib.loads(text)
        data["start"] = "2026-11-25T00:00:00Z"
        import tomli_w

        (ids["run_dir"] / "config.toml").write_text(tomli_w.dumps(data))  # what that cycle ran with
        cyc.created = sysm.created
        s.commit()
    c = app.test_client()
    login(c, "alice@example.org")
    return {**ids, "client": c, "v1": text}


def form_data(**changes):
    data = {
        "name": "Plymouth Sound",
        "run_hour_utc": "0",
        "horizon_hours": "6",
        "output_interval_minutes": "60",
        "manning": "0.025",
        "spinup_hours": "24",
        "tide_source": "jmj",
        "atmosphere": "none",
        "stations": "Plymouth, -4.185, 50.366\nOffshore, -4.3, 50.15",
        "note": "",
    }
    data.update(changes)
    return data


def _state(app, sid):
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, sid)
        return {
            "config": sysm.config_toml,
            "settings": dict(sysm.settings),
            "name": sysm.name,
            "hours": sysm.horizon_hours,
            "run_hour": sysm.run_hour_utc,
            "stations": [(st.name, st.lon, st.lat) for st in sysm.stations],
            "versions": [
                (v.version, v.config_toml)
                for v in s.query(SystemConfigVersion).filter_by(system_id=sid).order_by(SystemConfigVersion.version)
            ],
        }


def test_edit_makes_version_2_old_cycle_keeps_1_next_cycle_uses_2(app, system):
    c, sid = system["client"], system["system"]
    page = c.get(f"/systems/{sid}/edit").get_data(as_text=True)
    assert 'value="Plymouth Sound"' in page and "version 1" in page
    r = c.post(
        f"/systems/{sid}/edit",
        data=form_data(
            name="Plymouth Sound and Tamar",
            horizon_hours="12",
            manning="0.03",
            run_hour_utc="6",
            stations="Plymouth, -4.185, 50.366\nOffshore, -4.3, 50.15\nDrake's Island, -4.153, 50.356",
            note="longer forecast, rougher bed",
        ),
    )
    assert r.status_code == 302, unescape(r.get_data(as_text=True))[:3000]
    st = _state(app, sid)
    assert [v for v, _ in st["versions"]] == [1, 2]
    v1, v2 = (tomllib.loads(t) for _, t in st["versions"])
    assert st["versions"][0][1] == system["v1"]  # version 1 is the wizard's text, kept
    assert (v1["hours"], v1["physics"]["manning"], v1["name"]) == (6, 0.025, "Plymouth Sound")
    assert (v2["hours"], v2["physics"]["manning"], v2["name"]) == (12, 0.03, "Plymouth Sound and Tamar")
    assert [s["name"] for s in v2["stations"]] == ["Plymouth", "Offshore", "Drake's Island"]
    assert st["config"] == st["versions"][1][1] and st["run_hour"] == 6 and st["hours"] == 12
    assert Path(system["folder"], "config.toml").read_text() == st["config"]
    with sessions(app) as s:
        assert s.query(SystemConfigVersion).filter_by(system_id=sid, version=2).one().note == "longer forecast, rougher bed"

    # the cycle already run keeps version 1: its page says so, its config.toml is untouched
    old = c.get(f"/cycles/{system['cycle']}").get_data(as_text=True)
    assert re.search(r'id="config-version" data-version="1"', old)
    old_cfg = tomllib.loads(c.get(f"/cycles/{system['cycle']}/files/config.toml").get_data(as_text=True))
    assert old_cfg["hours"] == 6 and old_cfg["physics"]["manning"] == 0.025

    # the next cycle is queued with version 2; an edit now leaves that queued cycle as it is
    assert c.post(f"/systems/{sid}/run").status_code == 302
    with sessions(app) as s:
        new = s.query(Cycle).filter(Cycle.system_id == sid, Cycle.id != system["cycle"]).one()
        new_id, run_dir, start = new.id, Path(new.run_dir), new.cycle_time
    assert new.status == "queued"
    cfg = tomllib.loads((run_dir / "config.toml").read_text())
    assert cfg["hours"] == 12 and cfg["physics"]["manning"] == 0.03 and len(cfg["stations"]) == 3
    # the cycle's file is version 2 as the configuration schema writes it (every key, paths absolute)
    from workflows.config import ForecastConfig, dump_toml, load_config

    ran = load_config(run_dir / "config.toml")
    assert ran.start == start
    expected = ForecastConfig.from_mapping({**v2, "start": start.strftime("%Y-%m-%dT%H:%M:%SZ")}, base_dir=system["folder"])
    assert dump_toml(ran) == dump_toml(expected)
    page = c.get(f"/cycles/{new_id}").get_data(as_text=True)
    assert 'id="config-version" data-version="2"' in page and "longer forecast, rougher bed" in page
    r = c.post(
        f"/systems/{sid}/edit",
        data=form_data(
            name="Plymouth Sound and Tamar",
            horizon_hours="24",
            manning="0.03",
            run_hour_utc="6",
            stations="Plymouth, -4.185, 50.366\nOffshore, -4.3, 50.15\nDrake's Island, -4.153, 50.356",
        ),
        follow_redirects=True,
    )
    assert (
        f"Saved as configuration version 3: the next cycle uses it; cycles already run keep theirs, and cycle "
        f"{start.strftime('%Y-%m-%dT%HZ')}, already queued, runs with version 2."
    ) in unescape(r.get_data(as_text=True))
    assert tomllib.loads((run_dir / "config.toml").read_text())["hours"] == 12
    assert 'data-version="2"' in c.get(f"/cycles/{new_id}").get_data(as_text=True)
    with sessions(app) as s:
        assert s.query(SystemConfigVersion).filter_by(system_id=sid, version=3).one().note == "horizon 12 → 24 h"
    # the versions page: both, newest first, each with the cycles that ran it
    page = unescape(c.get(f"/systems/{sid}/versions").get_data(as_text=True))
    assert page.index('id="version-3"') < page.index('id="version-2"') < page.index('id="version-1"')
    assert "hours = 24" in page and "hours = 12" in page and "hours = 6" in page and "2026-11-25T00Z" in page
    # the API: the system's current version and its history, each cycle's version
    d = c.get(f"/api/systems/{sid}").get_json()
    assert tomllib.loads(d["config_toml"])["hours"] == 24 and d["config_version"] == 3
    assert [(v["version"], v["note"]) for v in d["config_versions"]] == [
        (1, "created with the wizard"),
        (2, "longer forecast, rougher bed"),
        (3, "horizon 12 → 24 h"),
    ]
    assert c.get(f"/api/cycles/{system['cycle']}").get_json()["config_version"] == 1
    assert c.get(f"/api/cycles/{new_id}").get_json()["config_version"] == 2


def test_a_change_outside_the_configuration_makes_no_version(app, system):
    c, sid = system["client"], system["system"]
    before = _state(app, sid)
    r = c.post(f"/systems/{sid}/edit", data=form_data(run_hour_utc="18"), follow_redirects=True)
    assert "The forecast configuration is unchanged (still version 1): run hour 00 → 18 UTC." in unescape(
        r.get_data(as_text=True)
    )
    after = _state(app, sid)
    assert after["run_hour"] == 18 and after["config"] == before["config"] and after["versions"] == []


@pytest.mark.parametrize(
    "changes, where, message",
    [
        ({"horizon_hours": "0"}, "field-horizon_hours", "The horizon is 1 to 72 hours."),
        ({"horizon_hours": "abc"}, "field-horizon_hours", "Not a valid integer value."),
        (
            {"output_interval_minutes": "120", "horizon_hours": "1"},
            "field-output_interval_minutes",
            "The output interval is longer than the forecast.",
        ),
        ({"run_hour_utc": "24"}, "field-run_hour_utc", "The run hour is 0 to 23 (UTC)."),
        ({"name": "  "}, "field-name", "Give the system a name."),
        ({"tide_source": "tpxo7"}, "field-tide_source", "Not a valid choice."),
        ({"stations": "Plymouth, -4.185"}, "field-stations", "stations line 1: expected 'name, lon, lat', got 2 values"),
        (
            {"stations": "Far, -3.0, 50.2"},
            "field-stations",
            "stations line 1: station 'Far' at (-3.0000, 50.2000) is outside the region",
        ),
        ({"tide_source": "fes2022"}, "edit-problem", "tides"),
    ],
)
def test_a_refused_edit_says_why_in_one_line_and_stores_nothing(app, system, changes, where, message):
    c, sid = system["client"], system["system"]
    before = _state(app, sid)
    r = c.post(f"/systems/{sid}/edit", data=form_data(**{"horizon_hours": "12", "manning": "0.05", **changes}))
    assert r.status_code == 400
    html = unescape(r.get_data(as_text=True))
    errors = re.findall(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', html)
    if where == "edit-problem":  # refused by the configuration's own check
        assert errors == re.findall(r'<p class="error" role="alert" id="edit-problem">([^<]*)</p>', html)
    else:  # next to its field, and only there
        block = re.search(rf'<div class="field has-error" id="{where}">(.*?)</div>', html, re.S)
        assert block, html[:3000]
        assert errors == re.findall(r'<p class="error" role="alert">([^<]*)</p>', block.group(1))
    assert errors and message in errors[0] and all("\n" not in e.strip() for e in errors), errors
    assert _state(app, sid) == before  # nothing stored, no version


def test_only_the_owner_edits(app, system):
    add_user(app, "mallory@example.org")
    m = app.test_client()
    login(m, "mallory@example.org")
    sid = system["system"]
    before = _state(app, sid)
    assert m.get(f"/systems/{sid}/edit").status_code == 404
    assert m.post(f"/systems/{sid}/edit", data=form_data(horizon_hours="12")).status_code == 404
    assert m.get(f"/systems/{sid}/versions").status_code == 404
    assert _state(app, sid) == before


def test_rivers_are_edited_as_in_the_forcings_step(app, system):
    """The open boundaries' rows (the wizard's forcings step parser): a bad discharge is refused
    next to its boundary; a good one is in the new version's [[rivers]]."""
    c, sid = system["client"], system["system"]
    with sessions(app) as s:
        sysm = s.get(ForecastSystem, sid)
        sysm.settings = {**sysm.settings, "mesh": {"open_boundaries": ["ocean", "river_1"]}}
        s.commit()
    before = _state(app, sid)
    page = c.get(f"/systems/{sid}/edit").get_data(as_text=True)
    assert 'name="boundary-1-role"' in page and "river_1" in page
    r = c.post(
        f"/systems/{sid}/edit",
        data=form_data(**{"boundary-0-role": "tide", "boundary-1-role": "river", "boundary-1-discharge": "lots"}),
    )
    assert r.status_code == 400
    block = re.search(r'<div class="field row3 has-error" id="field-boundary-1">(.*?)</div>', r.get_data(as_text=True), re.S)
    assert block and "Boundary &#39;river_1&#39;: give the river discharge in m³/s (a number from 0 to 300000)." in block.group(1)
    assert _state(app, sid) == before
    r = c.post(
        f"/systems/{sid}/edit",
        data=form_data(**{"boundary-0-role": "tide", "boundary-1-role": "river", "boundary-1-discharge": "250"}),
    )
    assert r.status_code == 302
    st = _state(app, sid)
    assert [v for v, _ in st["versions"]] == [1, 2] and st["settings"]["rivers"] == [{"boundary": "river_1", "discharge": 250.0}]
    assert tomllib.loads(st["config"])["rivers"] == [{"boundary": "river_1", "discharge": 250.0}]
