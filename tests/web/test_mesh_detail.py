"""A drawn box's mesh detail: "coarse" triangles are three times the generator's default sizes
(the real generator on the Plymouth Sound box: 13,030 triangles standard, 3,130 coarse)."""

from __future__ import annotations

import pytest

from workflows.db import ForecastSystem
from workflows.meshgen import default_sizes

from .conftest import add_user, login

BOX = {"west": -4.35, "south": 50.25, "east": -4.05, "north": 50.4}


def _faces(app, c, detail: str) -> tuple[int, int, dict]:
    r = c.post("/systems/new", data={"name": f"Box {detail}", "kind": "box", "detail": detail, **BOX})
    assert r.status_code == 302, r.data[:2000]
    sid = int(r.headers["Location"].split("/")[2])
    from solver.formats import read_mesh

    with app.extensions["coastcast_sessions"]() as s:
        system = s.get(ForecastSystem, sid)
        mesh = read_mesh(system.mesh_path)
        return sid, mesh.n_face, dict(system.settings)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_coarse_box_has_several_times_fewer_triangles(app):
    from webapp.services import mesh_sizes

    res, mn = default_sizes(tuple(BOX.values()))
    assert mesh_sizes(tuple(BOX.values()), "coarse") == pytest.approx({"resolution": 3 * res, "min_size": 3 * mn})
    add_user(app, "vic@example.org")
    c = app.test_client()
    login(c, "vic@example.org")
    _, standard, s1 = _faces(app, c, "standard")
    _, coarse, s2 = _faces(app, c, "coarse")
    assert (s1["mesh_detail"], s2["mesh_detail"]) == ("standard", "coarse")
    # element area scales with size squared: 9x fewer in open water; along the coast the
    # shoreline's own vertices keep triangles small, so the whole mesh has 3-9x fewer (4.2x here)
    assert 3.0 < standard / coarse < 9.0, (standard, coarse)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unknown_detail_is_refused_and_nothing_is_stored(app):
    add_user(app, "wes@example.org")
    c = app.test_client()
    login(c, "wes@example.org")
    r = c.post("/systems/new", data={"name": "Box", "kind": "box", "detail": "ultra", **BOX})
    assert r.status_code == 200 and b"Not a valid choice" in r.data
    with app.extensions["coastcast_sessions"]() as s:
        assert s.query(ForecastSystem).count() == 0
