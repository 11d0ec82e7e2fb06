"""Mesh readers and writers: round trips on the gallery meshes and hand-made files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from solver.formats import (
    MeshFileError,
    detect_format,
    mesh_differences,
    read_mesh,
    read_mesh_verbose,
    write_mesh,
)
from solver.mesh import BoundarySegment, Mesh

ROOT = Path(__file__).resolve().parents[1]
GALLERY = {
    "channel_biscay": ROOT / "meshes/channel_biscay/hgrid.gr3.gz",
    "gironde": ROOT / "meshes/gironde/hgrid.gr3.gz",
    "mersey": ROOT / "meshes/mersey/hgrid.gr3.gz",
    "north_sea": ROOT / "meshes/north_sea/hgrid.gr3.gz",
    "western_north_atlantic": ROOT / "meshes/western_north_atlantic/fort.14.gz",
}
MSH = ROOT / "tests/data/meshes/north_sea.msh"


def tiny_mesh(crs="EPSG:4326", x0=-4.0, y0=48.0, d=0.01):
    """A 2×1 box of 4 triangles: nodes 0-5 on the rim, 2 open + 1 land segment; depth 1..6 m."""
    x = x0 + d * np.array([0, 1, 2, 2, 1, 0], float)
    y = y0 + d * np.array([0, 0, 0, 1, 1, 1], float)
    f = np.array([[0, 1, 4], [0, 4, 5], [1, 2, 3], [1, 3, 4]])
    b = (
        BoundarySegment("sea west", "open", [5, 0]),
        BoundarySegment("river", "open", [2, 3]),
        BoundarySegment("coast", "land", [0, 1, 2]),
        BoundarySegment("north shore", "land", [3, 4, 5]),
    )
    return Mesh(x, y, f, np.arange(1.0, 7.0), b, crs=crs, name="tiny")


@pytest.mark.parametrize("region", sorted(GALLERY))
def test_gallery_gr3_round_trip(region, tmp_path):
    a = read_mesh(GALLERY[region])
    out = write_mesh(a, tmp_path / "x.gr3.gz")
    b = read_mesh(out)
    assert mesh_differences(a, b) == []
    # the rewritten file is itself a fixed point: gr3 -> Mesh -> gr3 gives identical text
    write_mesh(b, tmp_path / "y.gr3.gz")
    assert gzip.decompress(out.read_bytes()) == gzip.decompress((tmp_path / "y.gr3.gz").read_bytes())


@pytest.mark.parametrize("region", sorted(GALLERY))
def test_gallery_ugrid_round_trip(region, tmp_path):
    a = read_mesh(GALLERY[region])
    b = read_mesh(write_mesh(a, tmp_path / "x.nc"))
    assert mesh_differences(a, b) == []
    assert b.crs == "EPSG:4326"


def test_gallery_counts_and_boundaries():
    m = read_mesh(GALLERY["channel_biscay"])
    assert (m.n_node, m.n_face) == (15350, 29229)
    assert [(s.name, s.node_ids.size) for s in m.boundaries if s.role == "open"] == [
        ("open_1", 25),
        ("open_2", 12),
        ("open_3", 77),
    ]
    assert sum(s.role == "island" for s in m.boundaries) == 11
    assert sum(s.role == "land" for s in m.boundaries) == 3
    # first node of the file: "1 -1.1970000 45.0937000 0.0000"; first open node 11078 (1-based)
    assert (m.node_x[0], m.node_y[0], m.depth[0]) == (-1.197, 45.0937, 0.0)
    assert m.boundaries[0].node_ids[0] == 11077
    w = read_mesh(GALLERY["western_north_atlantic"])
    # ADCIRC IBTYPE 20 (mainland) -> land, 21 (island) -> island: 5 + 39 in the fort.14 header
    assert sum(s.role == "land" for s in w.boundaries) == 5 and sum(s.role == "island" for s in w.boundaries) == 39
    assert w.boundary("open_1").node_ids.size == 55


def test_tiny_round_trips_keep_names_and_crs(tmp_path):
    for crs, x0, y0, d in (("EPSG:4326", -4.0, 48.0, 0.01), ("EPSG:32630", 4.0e5, 5.3e6, 1000.0), (None, 0.0, 0.0, 10.0)):
        a = tiny_mesh(crs, x0, y0, d)
        sidecar = None if crs else "cartesian"
        for name in ("t.gr3", "t.nc"):
            p = write_mesh(a, tmp_path / name)
            b = read_mesh(p, crs=(crs if name.endswith("gr3") else None) or sidecar)
            diffs = mesh_differences(a, b)
            if name.endswith("gr3"):
                # gr3 groups open segments before land ones; names survive through "(name: ...)"
                assert [s.name for s in b.boundaries] == ["sea west", "river", "coast", "north shore"]
            assert diffs == [], (crs, name, diffs)


def test_gmsh_v2_matches_gallery_and_round_trips(tmp_path):
    res = read_mesh_verbose(MSH)  # CRS from the sidecar north_sea.msh.crs
    a = res.mesh
    assert res.format == "gmsh2.2" and a.crs == "EPSG:32630"
    assert (a.n_node, a.n_face) == (6396, 10583)
    ref = read_mesh(GALLERY["north_sea"])  # the gallery gr3 was derived from this file (pyproj, 7 decimals)
    lon, lat = a.node_lonlat
    assert np.abs(lon - ref.node_x).max() < 1e-7 and np.abs(lat - ref.node_y).max() < 1e-7
    assert np.array_equal(np.sort(a.face_node_connectivity, 1), np.sort(ref.face_node_connectivity, 1))
    key = lambda m: sorted((s.role, tuple(sorted(s.node_ids.tolist()))) for s in m.boundaries)  # noqa: E731
    assert key(a) == key(ref)  # 1 open (119 nodes), 1 coast, 36 islands
    # every named boundary edge is a mesh boundary edge and all of them are covered
    assert (a.boundary_edge_segment >= 0).all()
    b = read_mesh(write_mesh(a, tmp_path / "ns.nc"))
    assert mesh_differences(a, b) == []
    c = read_mesh(write_mesh(b, tmp_path / "ns.gr3"), crs="EPSG:32630")
    assert key(c) == key(a) and np.array_equal(c.node_x, a.node_x)


MSH_V4 = """$MeshFormat
4.1 0 8
$EndMeshFormat
$PhysicalNames
3
1 7 "Open sea"
1 8 "coast"
2 9 "water"
$EndPhysicalNames
$Entities
0 2 1 0
1 0 0 0 2 0 0 1 7 2 1 2
2 0 0 0 2 1 0 1 8 2 2 1
1 0 0 0 2 1 0 1 9 2 1 2
$EndEntities
$Nodes
3 6 10 60
1 1 0 2
10
20
0 0 5
1 0 7
1 2 0 2
30
40
2 0 9
2 1 11
2 1 0 2
50
60
1 1 8
0 1 6
$EndNodes
$Elements
3 8 1 8
1 1 1 2
1 10 20
2 20 30
1 2 1 2
3 30 40
4 40 50
2 1 2 4
5 10 20 60
6 20 50 60
7 20 30 50
8 30 40 50
$EndElements
"""

MSH_V2 = """$MeshFormat
2.2 0 8
$EndMeshFormat
$PhysicalNames
3
1 7 "Open sea"
1 8 "coast"
2 9 "water"
$EndPhysicalNames
$Nodes
6
10 0 0 5
20 1 0 7
30 2 0 9
40 2 1 11
50 1 1 8
60 0 1 6
$EndNodes
$Elements
8
1 1 2 7 1 10 20
2 1 2 7 1 20 30
3 1 2 8 2 30 40
4 1 2 8 2 40 50
5 2 2 9 1 10 20 60
6 2 2 9 1 20 50 60
7 2 2 9 1 20 30 50
8 2 2 9 1 30 40 50
$EndElements
"""


def test_gmsh_v4_and_v2_hand_written(tmp_path):
    (tmp_path / "a.msh").write_text(MSH_V4)
    (tmp_path / "b.msh").write_text(MSH_V2)
    a = read_mesh_verbose(tmp_path / "a.msh", crs="cartesian")
    b = read_mesh_verbose(tmp_path / "b.msh", crs="cartesian")
    assert a.format == "gmsh4.1" and b.format == "gmsh2.2"
    assert mesh_differences(a.mesh, b.mesh) == []
    m = a.mesh
    assert m.n_node == 6 and m.n_face == 4 and m.crs is None
    np.testing.assert_array_equal(m.depth, [5, 7, 9, 11, 8, 6])  # node z is depth
    assert [(s.name, s.role, s.node_ids.tolist()) for s in m.boundaries] == [
        ("Open sea", "open", [0, 1, 2]),  # along y = 0, the domain on the left
        ("coast", "land", [2, 3, 4]),
    ]
    # gmsh -> UGRID -> Mesh
    assert mesh_differences(m, read_mesh(write_mesh(m, tmp_path / "a.nc"))) == []


def test_gmsh_role_words():
    from solver.formats.gmsh import role_of_name

    assert [role_of_name(n) for n in ("Open sea", "ocean_boundary", "River Tagus", "seawall", "coast", "Tidal")] == [
        "open",
        "open",
        "open",
        "land",
        "land",
        "open",
    ]


FORT14 = """adcirc test
2 4
1 0.0 0.0 10.0
2 1.0 0.0 10.0
3 1.0 1.0 1.0D+01
4 0.0 1.0 10.0
1 3 1 2 3
2 3 1 3 4
1 = Number of open boundaries
2 = Total number of open boundary nodes
2 = Number of nodes for open boundary 1
1
2
3 = Number of land boundaries
5 = Total number of land boundary nodes
2 20 = Number of nodes for land boundary 1
2
3
2 22 = Number of nodes for land boundary 2
3
4
1 21 = Number of nodes for land boundary 3
4
"""


def test_adcirc_boundary_types_and_fortran_exponents(tmp_path):
    p = tmp_path / "fort.14"
    p.write_text(FORT14)
    r = read_mesh_verbose(p)
    assert r.format == "fort.14"
    assert r.mesh.depth.tolist() == [10.0] * 4
    assert [(s.name, s.role, s.node_ids.tolist()) for s in r.mesh.boundaries] == [
        ("open_1", "open", [0, 1]),
        ("land_1", "land", [1, 2]),
        ("land_2", "land", [2, 3]),
        ("island_1", "island", [3]),
    ]
    assert any("flux (river) boundary type 22" in n for n in r.notes)


def test_adcirc_generic_boundaries_do_not_crash(tmp_path):
    text = FORT14.split("1 = Number of open boundaries")[0] + (
        "0 = Number of open boundaries\n0 = Total number of open boundary nodes\n"
        "0 = Number of land boundaries\n0 = Total number of land boundary nodes\n"
        "1 = Number of generic boundaries\n5 = Total number of generic boundary nodes\n"
        "5 = Number of nodes for generic boundary 1\n1\n2\n3\n4\n1\n"
    )
    p = tmp_path / "apes.14"
    p.write_text(text)
    r = read_mesh_verbose(p)
    assert [(s.name, s.role, s.node_ids.tolist()) for s in r.mesh.boundaries] == [("island_1", "island", [0, 1, 2, 3])]


def test_quads_split_and_node_ids_mapped(tmp_path):
    p = tmp_path / "q.gr3"
    p.write_text("quad\n1 4\n11 0 0 1\n12 1 0 1\n13 1 1 1\n14 0 1 1\n1 4 11 12 13 14\n")
    r = read_mesh_verbose(p, crs="cartesian")
    assert r.mesh.n_face == 2 and r.mesh.face_area.sum() == pytest.approx(1.0)
    assert any("quadrilaterals" in n for n in r.notes) and any("node ids" in n for n in r.notes)


def test_crs_guessing(tmp_path):
    a = tiny_mesh("EPSG:32630", 4.0e5, 5.3e6, 1000.0)
    p = write_mesh(a, tmp_path / "utm.gr3")
    with pytest.raises(MeshFileError, match=r"utm.gr3: coordinates .* look like projected metres but no CRS is given"):
        read_mesh(p)
    with pytest.raises(MeshFileError, match=r"says lon/lat \(EPSG:4326\) but the coordinates"):
        read_mesh(p, crs="EPSG:4326")
    (tmp_path / "utm.gr3.crs").write_text("EPSG:32630\n")
    assert read_mesh(p).crs == "EPSG:32630"
    r = read_mesh_verbose(write_mesh(tiny_mesh(), tmp_path / "ll.gr3"))
    assert r.mesh.crs == "EPSG:4326" and "assumed EPSG:4326" in r.notes[0]
    r = read_mesh_verbose(tmp_path / "ll.gr3", crs="EPSG:32630")
    assert r.mesh.crs == "EPSG:32630" and any("look like lon/lat degrees" in n for n in r.notes)


def test_detect_format_by_content(tmp_path):
    (tmp_path / "mesh.txt").write_text(MSH_V2)
    assert detect_format(tmp_path / "mesh.txt") == "gmsh"
    (tmp_path / "grid").write_text(FORT14)
    assert detect_format(tmp_path / "grid") == "gr3"
    write_mesh(tiny_mesh(), tmp_path / "m.nc")
    (tmp_path / "m.nc").rename(tmp_path / "m.dat")
    assert detect_format(tmp_path / "m.dat") == "ugrid"
    with pytest.raises(ValueError, match="cannot write this format"):
        write_mesh(tiny_mesh(), tmp_path / "m.vtk")


def test_ugrid_file_passes_ugrid_checker_and_opens_in_xugrid(tmp_path):
    import shutil
    import subprocess

    xugrid = pytest.importorskip("xugrid")
    exe = shutil.which("ugrid-checker")
    paths = [
        write_mesh(tiny_mesh(crs, x0, y0, d), tmp_path / f"m{crs[-4:]}.nc")
        for crs, x0, y0, d in (("EPSG:4326", -4.0, 48.0, 0.01), ("EPSG:32630", 4.0e5, 5.3e6, 1000.0))
    ]
    for p in paths:
        if exe:
            out = subprocess.run([exe, str(p)], capture_output=True, text=True, timeout=120)
            # requirement failures make the file invalid; the projected mesh has 2 advisories (A203: face
            # centroids carry no standard_name, which CF 5.6 needs so that one variable per axis has it)
            assert "No problems found" in out.stdout or "0 Rxxx requirement failures" in out.stdout, out.stdout
        ds = xugrid.open_dataset(p)
        assert ds.ugrid.grid.n_face == 4
        np.testing.assert_array_equal(ds["depth"].values, np.arange(1.0, 7.0))
