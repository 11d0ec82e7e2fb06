"""The mesh gallery: region.toml files, their meshes, forcing files and stations."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from solver.formats import write_mesh
from workflows.gallery import Region, RegionError, find_face, list_regions, load_region

NAMES = ["channel_biscay", "gironde", "mersey", "north_sea", "western_north_atlantic"]


def test_list_and_validate():
    regions = list_regions()
    assert [r.name for r in regions] == NAMES
    for r in regions:
        assert isinstance(r, Region) and r.mesh_path.is_file()
        assert r.validate() == [], r.name
        assert (r.folder / "SOURCE.md").is_file()
        assert r.stations, r.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        regions[0].name = "x"  # frozen


def test_channel_biscay_ports_in_wet_faces():
    r = load_region("channel_biscay")
    need = {"Brest", "Plymouth", "Cherbourg", "Saint-Malo", "Le Havre", "Dover", "La Rochelle", "Santander", "Bilbao"}
    assert need <= {s.name for s in r.stations}
    m = r.mesh()
    for s in r.stations:
        k = find_face(m, s.lon, s.lat)
        assert k >= 0 and m.face_depth[k] > 1.0, s


def test_harmonics_table_matches_the_open_boundaries():
    r = load_region("channel_biscay")
    m = r.mesh()
    rows = list(csv.DictReader(open(r.tides.file)))
    assert len(rows) == 114
    for k in (1, 2, 3):
        nodes = [int(row["node"]) - 1 for row in rows if int(row["open_boundary"]) == k]
        np.testing.assert_array_equal(nodes, m.boundary(f"open_{k}").node_ids)
    lon = np.array([float(row["lon"]) for row in rows])
    ids = np.array([int(row["node"]) - 1 for row in rows])
    np.testing.assert_allclose(lon, m.node_x[ids], atol=1e-4)


def test_gironde_rivers_and_tide_file():
    r = load_region("gironde")
    m = r.mesh()
    assert dict(r.boundary_roles) == {"open_1": "river", "open_2": "ocean", "open_3": "river"}
    header = [ln.split() for ln in r.rivers[0].file.read_text().splitlines() if ln.strip() and not ln.startswith("#")][0]
    assert {rv.column for rv in r.rivers} <= set(header)
    # Garonne (open_3) ends near (-0.04, 44.58), Dordogne (open_1) near (0.08, 44.83)
    gar = m.boundary("open_3").node_ids
    assert abs(m.node_x[gar].mean() + 0.04) < 0.02 and abs(m.node_y[gar].mean() - 44.58) < 0.02
    # maree.cli lists exactly the 28 sea-boundary nodes (1-based global numbers after the header)
    lines = r.tides.file.read_text().split("\n")
    ids = [int(ln) for ln in lines[6:] if ln.strip() and len(ln.split()) == 1]
    assert sorted(i - 1 for i in ids) == sorted(m.boundary("open_2").node_ids.tolist())


def test_wnat_fort15_has_one_row_per_open_node():
    r = load_region("western_north_atlantic")
    text = r.tides.file.read_text().splitlines()
    n_open = r.mesh().boundary("open_1").node_ids.size
    # boundary forcing block: the constituent name, then one "amplitude phase" row per open node, then the next name
    blocks = [
        i
        for i, ln in enumerate(text)
        if ln.strip() == "M2" and i + n_open + 1 < len(text) and text[i + n_open + 1].strip() == "S2"
    ]
    assert len(blocks) == 1
    rows = [ln.split() for ln in text[blocks[0] + 1 : blocks[0] + 1 + n_open]]
    assert n_open == 55 and all(len(r_) == 2 for r_ in rows)
    assert all(0 < float(a) < 2 for a, _ in rows)


def test_env_override_and_bad_toml(tmp_path, monkeypatch):
    from solver.builders import rectangle
    from solver.mesh import Mesh

    rect = rectangle(1000.0, 500.0, 4, 2, depth=5.0)
    m = Mesh(-4 + rect.node_x * 1e-5, 48 + rect.node_y * 1e-5, rect.face_node_connectivity, rect.depth, rect.boundaries)
    folder = tmp_path / "box"
    folder.mkdir()
    write_mesh(m, folder / "hgrid.gr3")
    (folder / "region.toml").write_text(
        'name = "box"\ntitle = "a box"\nmesh = "hgrid.gr3"\n[boundaries]\nwest = "ocean"\n'
        '[[stations]]\nname = "mid"\nlon = -3.995\nlat = 48.0025\n'
    )
    monkeypatch.setenv("COASTCAST_GALLERY", str(tmp_path))
    r = load_region("box")
    assert [x.name for x in list_regions()] == ["box"]
    assert r.mesh().n_face == m.n_face and r.validate() == [
        "box: boundary 'west' is a land segment but region.toml makes it ocean"
    ]
    (folder / "region.toml").write_text('name = "box"\ntitle = "a box"\nmesh = "hgrid.gr3"\nstation = 1\n')
    with pytest.raises(RegionError, match=r"region.toml: unknown key 'station'; did you mean 'stations'\?"):
        load_region("box")
    with pytest.raises(KeyError, match="no gallery region 'boxx' \\(did you mean 'box'\\?\\)"):
        load_region("boxx")
