"""Skill at the tide gauges, threshold alerts and the wizard's thresholds in the web app.

Every number comes from a REAL cycle (``real_cycle`` in conftest: workflows.cycle.run_cycle on
the Iroise basin beside Brest, with the gauges Brest and Le Conquet as stations) and is checked
against the files that cycle published (skill.csv, run.json, stations.nc, read here with csv,
json and netCDF4), and where possible against an independent recomputation (RMSE from the
series, datum shifts by subtraction).
"""

from __future__ import annotations

import csv
import json
import shutil
import tomllib

import netCDF4
import numpy as np
import pytest

from workflows.db import ForecastSystem

from .conftest import BREST_ID, CONQUET_ID, REAL_THRESHOLDS, add_real_system, add_user, login


def sessions(app):
    return app.extensions["coastcast_sessions"]()


def published(run_dir):
    """skill.csv rows, run.json and the stations.nc variables of a run directory."""
    with open(run_dir / "skill.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    record = json.loads((run_dir / "run.json").read_text())
    with netCDF4.Dataset(run_dir / "stations.nc") as ds:
        raw = ds["station_name"][:]
        names = [str(n) for n in (netCDF4.chartostring(raw) if raw.dtype.kind == "S" and raw.ndim == 2 else raw)]
        nc = {
            k: np.ma.filled(ds[k][:].astype(float), np.nan)
            for k in (
                "zeta",
                "tide_prediction",
                "zeta_above_chart_datum",
                "zeta_above_lat",
                "msl_above_chart_datum",
                "msl_above_lat",
                "mhws_above_msl",
                "hat_above_msl",
                "gauge_distance",
            )
        }
        nc["gauge_id"] = [str(x) for x in netCDF4.chartostring(ds["gauge_id"][:])]
    return rows, record, names, nc


@pytest.fixture
def real(app, real_cycle):
    ids = add_real_system(app, real_cycle)
    c = app.test_client()
    login(c, "gwen@example.org")
    return {**real_cycle, **ids, "client": c}


# ---------------------------------------------------------------- API


def test_skill_endpoint_carries_the_published_skill(real):
    c, run_dir = real["client"], real["run_dir"]
    rows, record, names, nc = published(run_dir)
    d = c.get(f"/api/cycles/{real['cycle']}/skill").get_json()
    assert d["cycle"] == "2022-03-18T00Z"
    for key in ("reference", "n_gauges", "rmse_median_m", "rmse_p90_m"):
        assert d[key] == record["skill"][key], key
    assert d["n_gauges"] == 2 and [r["gauge_id"] for r in d["stations"]] == [BREST_ID, CONQUET_ID]
    # every column of skill.csv, typed, equal to the file's value
    assert len(d["stations"]) == len(rows)
    for got, row in zip(d["stations"], rows):
        for col, text in row.items():
            if col in ("station", "gauge_id", "gauge_name", "reference"):
                assert got[col] == text
            else:
                assert got[col] == (int(text) if col in ("n", "hw_pairs") else float(text)), col
    # where each gauge is, from run.json's placement
    placed = {g["station"]: g for g in record["gauges"]["stations"]}
    for got in d["stations"]:
        assert (got["gauge_lon"], got["gauge_lat"], got["chart_datum"]) == tuple(
            placed[got["station"]][k] for k in ("gauge_lon", "gauge_lat", "chart_datum")
        )
    assert d["placement"]["placed"] == 2 and "catalogue" not in d["placement"]
    # independent: the median of the RMSEs, and Brest's RMSE recomputed from the published series
    assert d["rmse_median_m"] == pytest.approx(float(np.median([float(r["rmse_m"]) for r in rows])), rel=1e-12)
    i = names.index("Brest")
    rmse = float(np.sqrt(np.mean((nc["zeta"][i] - nc["tide_prediction"][i]) ** 2)))
    assert d["stations"][0]["rmse_m"] == pytest.approx(rmse, rel=1e-4) and rmse > 0


def test_alerts_endpoint_carries_the_published_alerts(real):
    c, run_dir = real["client"], real["run_dir"]
    _, record, names, nc = published(run_dir)
    d = c.get(f"/api/cycles/{real['cycle']}/alerts").get_json()
    assert d["checked"] is True and d["n_alerts"] == len(record["alerts"]) == len(d["alerts"])
    assert d["alerts"] == record["alerts"]
    got = {(a["station"], a["threshold"]): a for a in d["alerts"]}
    assert {("Brest", "MHWS"), ("Le Conquet", "MHWS"), ("Brest", "quay"), ("basin head", "road")} <= set(got)
    b = names.index("Brest")
    # levels above MSL from the datums in stations.nc: MHWS as published, the quay 6 m above chart datum
    assert got["Brest", "MHWS"]["level"] == pytest.approx(nc["mhws_above_msl"][b], abs=1e-4)
    assert got["Brest", "quay"]["level"] == pytest.approx(6.0 - nc["msl_above_chart_datum"][b], abs=1e-4)
    assert got["basin head", "road"]["level"] == 1.5
    for a in d["alerts"]:
        assert a["margin"] == pytest.approx(a["peak_height"] - a["level"], abs=1e-9)
        k = names.index(a["station"])
        assert abs(a["peak_height"] - np.nanmax(nc["zeta"][k])) < 0.05  # the peak of the published series
    assert ("Brest", "HAT") not in got and np.nanmax(nc["zeta"][b]) < nc["hat_above_msl"][b]


def test_stations_endpoint_adds_the_gauge_prediction_and_datums(real):
    c, run_dir = real["client"], real["run_dir"]
    _, _, names, nc = published(run_dir)
    d = c.get(f"/api/cycles/{real['cycle']}/stations").get_json()
    assert [s["name"] for s in d["stations"]] == names == ["basin head", "Brest", "Le Conquet"]
    for k, s in enumerate(d["stations"]):
        if not nc["gauge_id"][k]:
            assert s["gauge_id"] is None and s["chart_datum"] is None and s["mhws_above_msl"] is None
            assert d["tide_prediction"][k] is None and d["zeta_above_chart_datum"][k] is None
            continue
        assert s["gauge_id"] == nc["gauge_id"][k] and s["chart_datum"] == "LAT"
        assert s["distance_km"] == pytest.approx(nc["gauge_distance"][k] / 1000, abs=6e-4)
        for key in ("msl_above_chart_datum", "msl_above_lat", "mhws_above_msl", "hat_above_msl"):
            assert s[key] == pytest.approx(nc[key][k], abs=5e-4), key
        for key in ("zeta", "tide_prediction", "zeta_above_chart_datum", "zeta_above_lat"):
            assert len(d[key][k]) == len(d["times"]) == nc["zeta"].shape[1]
            np.testing.assert_allclose(d[key][k], nc[key][k], atol=5e-4 + 1e-9, err_msg=key)
        # the datum shift is a constant: water level above chart datum = zeta + MSL above chart datum
        np.testing.assert_allclose(
            np.subtract(d["zeta_above_chart_datum"][k], d["zeta"][k]), s["msl_above_chart_datum"], atol=1.5e-3
        )
    assert d["stations"][1]["msl_above_chart_datum"] == pytest.approx(4.203 - 0.422, abs=1e-3)  # Brest, by hand


def test_skill_and_alerts_are_owned_and_fail_in_one_line(app, real, tmp_path):
    add_user(app, "mallory@example.org")
    m = app.test_client()
    login(m, "mallory@example.org")
    for what in ("skill", "alerts", "stations"):
        assert m.get(f"/api/cycles/{real['cycle']}/{what}").status_code == 404
    # a copy of the run whose run.json is broken: 422 with one line; without run.json: 404
    broken = tmp_path / "broken"
    shutil.copytree(real["run_dir"], broken, ignore=shutil.ignore_patterns("work", "*.lock"))
    (broken / "run.json").write_text('{"skill": {"n_gauges": 2,\n')
    with sessions(app) as s:
        from workflows.db import Cycle

        s.get(Cycle, real["cycle"]).run_dir = str(broken)
        s.commit()
    c = real["client"]
    for what in ("skill", "alerts"):
        r = c.get(f"/api/cycles/{real['cycle']}/{what}")
        assert r.status_code == 422 and r.get_json()["error"].startswith("run.json: not valid JSON (line 2"), r.data
        assert "\n" not in r.get_json()["error"]
    page = c.get(f"/systems/{real['system']}").get_data(as_text=True)
    assert "run.json unreadable" in page
    (broken / "run.json").unlink()
    assert c.get(f"/api/cycles/{real['cycle']}/alerts").status_code == 404
    # skill.csv alone still answers (rows from the csv)
    d = c.get(f"/api/cycles/{real['cycle']}/skill").get_json()
    assert [r["gauge_id"] for r in d["stations"]] == [BREST_ID, CONQUET_ID] and d["rmse_median_m"] is None
    (broken / "skill.csv").unlink()
    assert c.get(f"/api/cycles/{real['cycle']}/skill").status_code == 404


# ---------------------------------------------------------------- pages


def test_dashboard_cycle_and_viewer_pages_show_alerts_and_skill(real):
    c = real["client"]
    _, record, _, _ = published(real["run_dir"])
    n = len(record["alerts"])
    index = c.get("/dashboard").get_data(as_text=True)
    stations = list(dict.fromkeys(a["station"] for a in record["alerts"]))
    assert f'data-alerts="{n}"' in index and f"{n} alerts" in index and ", ".join(stations) in index
    page = c.get(f"/systems/{real['system']}").get_data(as_text=True)
    assert f"{n} threshold alerts in cycle 2022-03-18T00Z" in page
    assert f"RMSE {record['skill']['rmse_median_m']:.3f} m" in page
    for a in record["alerts"]:
        assert f'<tr data-station="{a["station"]}" data-threshold="{a["threshold"]}">' in page
        assert f'<td class="num margin">{a["margin"]:+.2f}</td>' in page
    quay = next(a for a in record["alerts"] if a["threshold"] == "quay")
    assert quay["peak_time"][:10] + " " + quay["peak_time"][11:16] + " UTC" in page
    cyc = c.get(f"/cycles/{real['cycle']}").get_data(as_text=True)
    assert 'id="alerts"' in cyc and 'id="skill"' in cyc
    view = c.get(f"/cycles/{real['cycle']}/view").get_data(as_text=True)
    brest = next(r for r in record["skill"]["stations"] if r["station"] == "Brest")
    row = view[view.index('<tr data-station="Brest">') :]
    row = row[: row.index("</tr>")]
    assert f'<td class="num rmse">{brest["rmse_m"]:.3f}</td>' in row and f"{brest['correlation']:.4f}" in row
    assert f"{brest['hw_time_error_mean_min']:+.1f}" in row and 'class="plot-station" data-station="Brest"' in row
    assert f'<td class="num" id="rmse-median">{record["skill"]["rmse_median_m"]:.3f}</td>' in view


def test_pages_of_a_cycle_without_gauges_say_nothing_of_skill(app, system_with_cycle):
    c = app.test_client()
    login(c, "alice@example.org")
    d = c.get(f"/api/cycles/{system_with_cycle['cycle']}/skill").get_json()
    assert d["n_gauges"] == 0 and d["stations"] == [] and d["rmse_median_m"] is None
    a = c.get(f"/api/cycles/{system_with_cycle['cycle']}/alerts").get_json()
    assert a == {"cycle": "2026-11-25T00Z", "checked": False, "n_alerts": 0, "alerts": []}
    view = c.get(f"/cycles/{system_with_cycle['cycle']}/view").get_data(as_text=True)
    assert 'id="skill"' not in view and 'id="alerts"' not in view
    st = c.get(f"/api/cycles/{system_with_cycle['cycle']}/stations").get_json()
    assert st["tide_prediction"] is None and st["stations"][0]["gauge_id"] is None


# ---------------------------------------------------------------- wizard: the user's thresholds


def _draft_on_real_mesh(app, real_cycle):
    ids = add_real_system(app, real_cycle, email="hal@example.org", status="draft")
    c = app.test_client()
    login(c, "hal@example.org")
    return ids["system"], c


def _rows(*rows):
    data = {}
    for i, (station, name, level, datum) in enumerate(rows):
        data.update(
            {
                f"threshold-{i}-station": station,
                f"threshold-{i}-name": name,
                f"threshold-{i}-level": level,
                f"threshold-{i}-datum": datum,
            }
        )
    return data


def test_wizard_thresholds_become_the_config_the_real_cycle_ran(app, real_cycle):
    sid, c = _draft_on_real_mesh(app, real_cycle)
    page = c.get(f"/systems/{sid}/wizard/thresholds").get_data(as_text=True)
    record = json.loads((real_cycle["run_dir"] / "run.json").read_text())
    # the gauges offered are those the real cycle placed on this mesh
    for g in record["gauges"]["stations"]:
        assert f'<option value="{g["gauge_id"]}" >{g["station"]} (gauge)</option>' in page
    assert '<option value="basin head" >basin head</option>' in page
    r = c.post(
        f"/systems/{sid}/wizard/thresholds",
        data=_rows((BREST_ID, "quay", "6", "chart"), ("", "", "", "MSL"), ("basin head", "road", "1,5", "MSL")),
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/systems/{sid}/wizard/review")
    review = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Brest ({BREST_ID}): quay at 6 m above chart" in review and "basin head: road at 1.5 m above MSL" in review
    r = c.post(f"/systems/{sid}/wizard/review", data={"confirm": "y"})
    assert r.status_code == 302
    with sessions(app) as s:
        cfg = tomllib.loads(s.get(ForecastSystem, sid).config_toml)
    ran = tomllib.loads(real_cycle["config"].read_text())
    assert cfg["thresholds"] == ran["thresholds"] == REAL_THRESHOLDS
    # the forecast's own reader takes them
    from workflows.config import ThresholdSpec

    specs = [ThresholdSpec.from_mapping(t, "t") for t in cfg["thresholds"]]
    assert [(t.station, t.level_m, t.datum, t.name) for t in specs] == [
        (BREST_ID, 6.0, "chart", "quay"),
        ("basin head", 1.5, "MSL", "road"),
    ]
    # and the step shows them again when revisited
    with sessions(app) as s:
        s.get(ForecastSystem, sid).status = "draft"
        s.commit()
    again = c.get(f"/systems/{sid}/wizard/thresholds").get_data(as_text=True)
    assert 'name="threshold-0-level" value="6"' in again and 'name="threshold-1-level" value="1.5"' in again


@pytest.mark.parametrize(
    "row, message",
    [
        (
            (BREST_ID, "quay", "abc", "chart"),
            "Row 1: the level must be a number of metres from -100 to 100, e.g. 5.5 (got &#39;abc&#39;).",
        ),
        ((BREST_ID, "quay", "nan", "chart"), "Row 1: the level must be a number of metres"),
        ((BREST_ID, "quay", "1e9", "MSL"), "Row 1: the level must be a number of metres"),
        (
            (BREST_ID, "quay", "", "MSL"),
            "Row 1: the level must be a number of metres from -100 to 100, e.g. 5.5 (got &#39;&#39;).",
        ),
        ((BREST_ID, "quay", "6", "MHWS"), "Row 1: the datum must be MSL, chart or LAT (got &#39;MHWS&#39;)."),
        (
            ("basin head", "road", "2", "chart"),
            "Row 1: &#39;basin head&#39; is not a tide gauge, so it has no chart datum: give the level above MSL.",
        ),
        (("basin head", "road", "2", "LAT"), "has no LAT datum: give the level above MSL."),
        (("Nowhere", "x", "2", "MSL"), "Row 1: &#39;Nowhere&#39; is neither one of your stations nor a tide gauge on this mesh."),
        (("ticon/brest-822-fra-uhslc_fd", "x", "2", "MSL"), "is neither one of your stations nor a tide gauge on this mesh"),
        ((BREST_ID, "mhws", "2", "MSL"), "names a tidal datum that every gauge station is checked against"),
        ((BREST_ID, "q" * 61, "2", "MSL"), "Row 1: the name is 61 characters long; use at most 60."),
        (("", "quay", "2", "MSL"), "Row 1: choose the station."),
    ],
)
def test_wizard_threshold_errors_are_one_line_and_store_nothing(app, real_cycle, row, message):
    sid, c = _draft_on_real_mesh(app, real_cycle)
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows(row))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    errors = [line for line in html.splitlines() if 'class="error" role="alert"' in line]
    assert len(errors) == 1 and message in errors[0], errors
    assert "Traceback" not in html
    assert f'name="threshold-0-level" value="{row[2]}"' in html.replace("&#39;", "'")  # what was typed is kept
    with sessions(app) as s:
        assert "thresholds" not in (s.get(ForecastSystem, sid).settings or {})


def test_wizard_threshold_duplicate_name_and_stale_station(app, real_cycle):
    sid, c = _draft_on_real_mesh(app, real_cycle)
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows((BREST_ID, "quay", "6", "chart"), (BREST_ID, "Quay", "5", "MSL")))
    assert f"Row 2: Brest ({BREST_ID}) already has a threshold named &#39;Quay&#39;." in r.get_data(as_text=True)
    # no name: the forecast's default name, the same at the same station twice is refused
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows(("basin head", "", "2", "MSL"), ("basin head", "", "2.0", "MSL")))
    assert "Row 2: basin head already has a threshold named &#39;2 m above MSL&#39;." in r.get_data(as_text=True)
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows(("basin head", "", "2", "MSL")))
    assert r.status_code == 302
    # the station is then renamed: the review refuses to create the system until the threshold is fixed
    c.post(f"/systems/{sid}/wizard/stations", data={"stations": "head of the basin, -4.52, 48.36"})
    review = c.get(f"/systems/{sid}/wizard/review").get_data(as_text=True)
    assert (
        "Fix the thresholds step: threshold &#39;2 m above MSL&#39;: station &#39;basin head&#39; is no longer one of the stations."
        in review
    )
    r = c.post(f"/systems/{sid}/wizard/review", data={"confirm": "y"}, follow_redirects=True)
    assert b"Fix the thresholds step" in r.data
    with sessions(app) as s:
        assert s.get(ForecastSystem, sid).status == "draft"


def test_wizard_thresholds_without_a_gauge_catalogue(app, real_cycle, monkeypatch):
    from webapp import services

    def missing(mesh_path, taken=()):
        raise services.ServiceUnavailable("workflows.gauges is not available on this server (No module named 'x')")

    monkeypatch.setattr(services, "gauge_stations", missing)
    sid, c = _draft_on_real_mesh(app, real_cycle)
    page = c.get(f"/systems/{sid}/wizard/thresholds").get_data(as_text=True)
    assert "Tide gauges cannot be listed on this server (workflows.gauges is not available" in page
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows((BREST_ID, "quay", "6", "chart")))
    assert "is neither one of your stations nor a tide gauge on this mesh" in r.get_data(as_text=True)
    r = c.post(f"/systems/{sid}/wizard/thresholds", data=_rows(("basin head", "road", "-0.25", "MSL")))
    assert r.status_code == 302
    with sessions(app) as s:
        assert s.get(ForecastSystem, sid).settings["thresholds"] == [
            {"station": "basin head", "name": "road", "level_m": -0.25, "datum": "MSL", "kind": "station", "label": "basin head"}
        ]


def test_wizard_gauge_threshold_refused_at_review_when_the_gauge_left_the_mesh(app, real_cycle, monkeypatch):
    from webapp import services

    sid, c = _draft_on_real_mesh(app, real_cycle)
    assert c.post(f"/systems/{sid}/wizard/thresholds", data=_rows((BREST_ID, "quay", "6", "chart"))).status_code == 302
    assert b"Fix the thresholds step" not in c.get(f"/systems/{sid}/wizard/review").data
    # the region changed: no gauge on the new mesh
    monkeypatch.setattr(services, "gauge_stations", lambda mesh_path, taken=(): [])
    review = c.get(f"/systems/{sid}/wizard/review").get_data(as_text=True)
    assert f"threshold &#39;quay&#39;: the tide gauge &#39;{BREST_ID}&#39; is not on the mesh any more" in review
    c.post(f"/systems/{sid}/wizard/review", data={"confirm": "y"})
    with sessions(app) as s:
        assert s.get(ForecastSystem, sid).status == "draft"
