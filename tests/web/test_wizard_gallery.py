"""A gallery region through the web wizard with its default choices gets its own forcing: the
Gironde its maree.cli and its two rivers' series, the Western North Atlantic its fort.15, the
Channel/Biscay its JMJ atlas, the North Sea and the Mersey coastcast's global atlas; the region's
datum, roles and stations come with it (the configuration names the region)."""

from __future__ import annotations

import re
import tomllib

import pytest

from workflows.config import ForecastConfig
from workflows.db import ForecastSystem

from .conftest import add_user, login
from .test_app import sessions


def _defaults(html: str) -> dict:
    """The form fields as the browser would submit them untouched (selected options, values)."""
    data = {}
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        sel = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', m.group(2)) or re.search(
            r'<option[^>]*value="([^"]*)"', m.group(2)
        )
        data[m.group(1)] = sel.group(1)
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data.setdefault(m.group(1), m.group(2))
    return data


@pytest.mark.parametrize(
    "region, tides, rivers",
    [
        ("gironde", "telemac-cli", {"open_1", "open_3"}),
        ("western_north_atlantic", "fort15", set()),
        ("channel_biscay", "atlas/jmj", set()),
        ("north_sea", "atlas/coastcast", set()),
        ("mersey", "atlas/coastcast", set()),
    ],
)
def test_gallery_region_with_default_choices_gets_its_own_forcing(app, region, tides, rivers):
    add_user(app, "gina@example.org")
    c = app.test_client()
    login(c, "gina@example.org")
    r = c.post("/systems/new", data={"name": f"{region} test", "kind": "gallery", "gallery": region})
    assert r.status_code == 302 and "/wizard/forcings" in r.headers["Location"], r.data[:2000]
    sid = int(r.headers["Location"].split("/")[2])
    page = c.get(f"/systems/{sid}/wizard/forcings").data.decode()
    assert 'id="tide-choice"' in page and "Best for this region" in page
    r = c.post(f"/systems/{sid}/wizard/forcings", data=_defaults(page))
    assert r.status_code == 302, r.data[:3000]
    page = c.get(f"/systems/{sid}/wizard/parameters").data.decode()
    assert c.post(f"/systems/{sid}/wizard/parameters", data=_defaults(page)).status_code == 302
    assert c.post(f"/systems/{sid}/wizard/stations", data={"stations": ""}).status_code in (200, 302)
    c.get(f"/systems/{sid}/wizard/thresholds")
    r = c.post(f"/systems/{sid}/wizard/review", data={"confirm": "y"})
    assert r.status_code == 302, r.data[:3000]
    with sessions(app) as s:
        text = s.get(ForecastSystem, sid).config_toml
    data = tomllib.loads(text)
    assert data["gallery"] == region and "mesh" not in data
    cfg = ForecastConfig.from_mapping(data)
    kind = cfg.tides["kind"] + ("/" + cfg.tides["model"] if cfg.tides.get("model") else "")
    assert kind == tides
    assert {r_["boundary"] for r_ in cfg.rivers} == rivers
    if region == "gironde":
        assert all("file" in r_ and r_["file"].endswith("qsl_ME.txt") for r_ in cfg.rivers)
        assert cfg.boundaries["open_2"] == "tide" and cfg.boundaries["open_1"] == "river"


def test_wizard_refuses_a_station_far_from_the_water_of_the_mesh(app):
    """The stations step checks each station against the mesh (not the box): one 40 km inland
    from the Gironde estuary is refused with its distance; the system keeps no station."""
    add_user(app, "sam@example.org")
    c = app.test_client()
    login(c, "sam@example.org")
    r = c.post("/systems/new", data={"name": "Gironde stations", "kind": "gallery", "gallery": "gironde"})
    sid = int(r.headers["Location"].split("/")[2])
    page = c.get(f"/systems/{sid}/wizard/forcings").data.decode()
    c.post(f"/systems/{sid}/wizard/forcings", data=_defaults(page))
    page = c.get(f"/systems/{sid}/wizard/parameters").data.decode()
    c.post(f"/systems/{sid}/wizard/parameters", data=_defaults(page))
    r = c.post(f"/systems/{sid}/wizard/stations", data={"stations": "Inland, -0.45, 45.10"})
    assert r.status_code == 200
    assert re.search(r"station &#39;Inland&#39; at \(-0\.4500, 45\.1000\) lies .* km away \(limit 5 km\)", r.data.decode()), (
        r.data.decode()[-3000:]
    )
    with sessions(app) as s:
        assert not s.get(ForecastSystem, sid).stations
