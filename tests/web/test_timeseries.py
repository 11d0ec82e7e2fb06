"""Time series for people: ISO-8601 UTC times with a "Z", the current (speed and direction, with
u and v) beside the water level, in the JSON and in the viewer's charts (UTC, 24-hour clock, ISO
dates, no AM/PM). Values are checked against the NetCDF files, read here with netCDF4."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

import netCDF4
import numpy as np
import pytest

from .conftest import OMEGA, PASSWORD, U0, V0, add_real_system, login

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _nc_stations(path):
    with netCDF4.Dataset(path) as ds:
        raw = ds["station_name"][:]
        names = [str(n) for n in (netCDF4.chartostring(raw) if raw.dtype.kind == "S" and raw.ndim == 2 else raw)]
        times = netCDF4.num2date(ds["time"][:], ds["time"].units, only_use_cftime_datetimes=False, only_use_python_datetimes=True)
        u = np.ma.filled(ds["u"][:].astype(float), np.nan)
        v = np.ma.filled(ds["v"][:].astype(float), np.nan)
    if u.shape[0] != len(names):
        u, v = u.T, v.T
    return names, [t.replace(tzinfo=timezone.utc) for t in times], u, v


def _bearing_towards(u, v):
    """Independent of the app: the compass bearing (° clockwise from north) of the vector (u east, v north)."""
    return (90.0 - np.degrees(np.arctan2(v, u))) % 360.0


def test_station_series_iso_times_and_currents_as_in_stations_nc(app, real_cycle):
    ids = add_real_system(app, real_cycle)
    c = app.test_client()
    login(c, "gwen@example.org")
    d = c.get(f"/api/cycles/{ids['cycle']}/stations").get_json()
    names, times, u, v = _nc_stations(real_cycle["run_dir"] / "stations.nc")
    assert [s["name"] for s in d["stations"]] == names
    assert all(ISO_Z.match(t) for t in d["times_iso"])
    assert [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in d["times_iso"]] == times
    assert d["times_iso"][0] == "2022-03-18T00:00:00Z" and "2022-03-18T13:00:00Z" in d["times_iso"]
    assert d["times"] == [int(t.timestamp()) for t in times]
    speed = np.hypot(u, v)
    assert np.nanmax(speed) > 0.01  # a real current to compare
    np.testing.assert_allclose(np.array(d["u"], float), u, atol=5e-4 + 1e-12)
    np.testing.assert_allclose(np.array(d["v"], float), v, atol=5e-4 + 1e-12)
    np.testing.assert_allclose(np.array(d["speed"], float), speed, atol=5e-4 + 1e-12)
    got = np.array(d["direction"], dtype=float)  # None -> nan
    fast = speed >= 0.01
    assert fast.sum() > 10 and np.isfinite(got[fast]).all()
    diff = (got[fast] - _bearing_towards(u[fast], v[fast]) + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() <= 0.05 + 1e-9


def test_point_series_currents_and_iso_times(app, system_with_cycle):
    ids = system_with_cycle
    c = app.test_client()
    login(c, "alice@example.org")
    d = c.get(f"/api/cycles/{ids['cycle']}/series", query_string={"lon": -4.2345, "lat": 50.2871}).get_json()
    t = ids["truth"]["t"]
    expect_times = [(ids["start"] + timedelta(seconds=float(s))).strftime("%Y-%m-%dT%H:%M:%SZ") for s in t]
    assert d["times_iso"] == expect_times
    u, v = U0 * np.cos(OMEGA * t), V0 * np.cos(OMEGA * t)  # the fixture's analytic current
    np.testing.assert_allclose(d["speed"], np.hypot(u, v), atol=6e-4)
    # (0.3, -0.2) flows towards the south-east, 123.69° from north; its opposite towards 303.69°
    towards = math.degrees(math.atan2(0.3, -0.2)) % 360
    for k, sign in enumerate(np.sign(np.cos(OMEGA * t))):
        assert d["direction"][k] == pytest.approx(towards if sign > 0 else (towards + 180) % 360, abs=0.06)


def test_viewer_time_axes_are_utc_24_hour_iso_with_currents(browser, live_server, artifacts, real_cycle):  # noqa: F811
    app, base = live_server(COASTCAST_RUNNER="none")
    ids = add_real_system(app, real_cycle)
    names, times, u, v = _nc_stations(real_cycle["run_dir"] / "stations.nc")
    errors = []
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-US", timezone_id="America/New_York")
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    page.goto(base + "/login")
    page.fill("#email", "gwen@example.org")
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/dashboard")
    page.goto(f"{base}/cycles/{ids['cycle']}/view")
    page.wait_for_selector("#chart .uplot canvas")
    page.wait_for_selector("#chart-current .uplot canvas")
    k = 0
    name = page.evaluate("() => document.querySelector('#viewer').dataset.plotted")
    assert name == f"station:{names[k]}"
    ticks = {sel: page.get_attribute(sel, "data-xticks") for sel in ("#chart", "#chart-current")}
    legend = page.inner_text("#chart .u-legend") + page.inner_text("#chart-current .u-legend")
    page.locator("#chart-current").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "40_viewer_current_chart.png"), full_page=True)
    for labels in ticks.values():
        assert labels and not re.search(r"\b(AM|PM|am|pm)\b", labels), labels
        parts = labels.split("|")
        hours = [int(p[:2]) for p in parts]
        assert all(re.match(r"^\d\d:\d\d(\n\d{4}-\d\d-\d\d)?$", p) for p in parts), parts
        assert any(h >= 13 for h in hours), parts  # the 24-hour clock past noon (the data span 24 h)
        assert "\n2022-03-18" in labels  # the day as an ISO date
    assert not re.search(r"\b(AM|PM)\b", legend) and "UTC" in legend
    chart = page.evaluate("""() => ({labels: window.coastcastCurrentChart.series.map((s) => s.label || null),
        data: window.coastcastCurrentChart.data, axes: window.coastcastCurrentChart.axes.map((a) => a.label)})""")
    assert chart["labels"] == ["time (UTC)", "current speed", "direction (towards)"]
    assert chart["data"][0] == [int(t.timestamp()) for t in times]
    np.testing.assert_allclose(np.array(chart["data"][1], float), np.hypot(u[k], v[k]), atol=5e-4 + 1e-12)
    fast = np.hypot(u[k], v[k]) >= 0.01
    got = np.array(chart["data"][2], dtype=float)
    diff = (got[fast] - _bearing_towards(u[k][fast], v[k][fast]) + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() <= 0.05 + 1e-9
    assert chart["axes"][1] == "speed (m/s)" and chart["axes"][2].startswith("direction")
    assert page.is_visible("#chart-current") and not page.is_visible("#current-note")
    assert not errors, errors
    page.close()
