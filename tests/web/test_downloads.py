"""The downloads page and the files API on a REAL published run directory (``real_cycle``:
workflows.cycle.run_cycle on the Iroise basin, its figures drawn by workflows.cycle.draw_figures):
the published files with one-line descriptions and sizes, never the work/ internals."""

from __future__ import annotations

import re
import shutil
from html import unescape

import pytest

from workflows.db import Cycle

from .conftest import add_real_system, login

PUBLISHED_TOP = {"fields.nc", "stations.nc", "max.nc", "restart.nc", "run.json", "skill.csv", "config.toml", "run.log"}


@pytest.fixture
def published(app, real_cycle, tmp_path):
    """A copy of the real run directory with its figures drawn and a writer's lock, as a cycle of gwen's."""
    from workflows.cycle import draw_figures

    run_dir = tmp_path / "run"
    shutil.copytree(real_cycle["run_dir"], run_dir)
    draw_figures(run_dir)
    (run_dir / "run.lock").write_text('{"owner": "web app", "pid": 1}')
    (run_dir / "fields.nc.part").write_bytes(b"half")
    ids = add_real_system(app, real_cycle)
    with app.extensions["coastcast_sessions"]() as s:
        s.get(Cycle, ids["cycle"]).run_dir = str(run_dir)
        s.commit()
    c = app.test_client()
    login(c, "gwen@example.org")
    return {**ids, "run_dir": run_dir, "client": c}


def _expected(run_dir):
    """What a person should be offered, from the directory itself: the top-level outputs and the figures."""
    names = {p.name for p in run_dir.iterdir() if p.is_file() and p.name in PUBLISHED_TOP}
    names |= {f"figures/{p.name}" for p in (run_dir / "figures").glob("*.png")}
    return names


def test_the_files_api_lists_the_publication_only(published):
    run_dir, c = published["run_dir"], published["client"]
    internals = [p.relative_to(run_dir).as_posix() for p in (run_dir / "work").rglob("*") if p.is_file()]
    assert any(n.endswith("plan.json") for n in internals) and any("seg_" in n for n in internals)  # a real work/
    files = c.get(f"/api/cycles/{published['cycle']}/files").get_json()["files"]
    names = [f["name"] for f in files]
    assert set(names) == _expected(run_dir)
    assert {"fields.nc", "stations.nc", "max.nc", "restart.nc", "run.json", "figures/maxima.png"} <= set(names)
    assert not any(n.startswith("work/") or n in ("run.lock", "fields.nc.part") for n in names)
    assert names[:4] == ["fields.nc", "stations.nc", "max.nc", "restart.nc"]  # the outputs first
    for f in files:
        assert f["size"] == (run_dir / f["name"]).stat().st_size, f["name"]
        assert f["description"] and "\n" not in f["description"], f["name"]
        assert f["download_url"] == f"/api/cycles/{published['cycle']}/files/{f['name']}"
    by = {f["name"]: f["description"] for f in files}
    assert "CF/UGRID NetCDF" in by["fields.nc"] and "water level" in by["fields.nc"]
    assert "station time series" in by["stations.nc"]
    assert by["figures/maxima.png"].startswith("figure")
    station_png = next(n for n in names if n.startswith("figures/station_"))
    assert station_png[len("figures/station_") : -4] in by[station_png]
    # the internals are not served either, by the page's route or the API's
    for name in [internals[0], "work/plan.json", "run.lock", "fields.nc.part"]:
        assert c.get(f"/cycles/{published['cycle']}/files/{name}").status_code == 404, name
        assert c.get(f"/api/cycles/{published['cycle']}/files/{name}").status_code == 404, name
    raw = (run_dir / "stations.nc").read_bytes()
    r = c.get(f"/api/cycles/{published['cycle']}/files/stations.nc")
    assert r.status_code == 200 and r.data == raw


def test_the_downloads_page_describes_each_file_with_its_size(published):
    run_dir, c = published["run_dir"], published["client"]
    html = c.get(f"/cycles/{published['cycle']}/files").get_data(as_text=True)
    rows = re.findall(
        r'<tr data-name="([^"]+)">.*?<td class="description">([^<]*)</td>\s*'
        r'<td class="num" data-bytes="(\d+)">([^<]*)</td>',
        html,
        re.S,
    )
    assert {unescape(n) for n, *_ in rows} == _expected(run_dir)
    assert "work/" not in html and "run.lock" not in html and "plan.json" not in html
    for name, description, nbytes, shown in rows:
        size = (run_dir / unescape(name)).stat().st_size
        assert int(nbytes) == size
        value, unit = shown.split()
        scale = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
        assert abs(float(value) * scale - size) <= 0.05 * scale + 1, (name, shown, size)  # to the digit shown
        assert description.strip()


@pytest.mark.parametrize(
    "n, text",
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (14_249, "14.2 kB"), (3_400_000, "3.4 MB"), (1_200_000_000, "1.20 GB")],
)
def test_human_size(n, text):
    from webapp.outputs import human_size

    assert human_size(n) == text
