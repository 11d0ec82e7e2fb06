"""Pre-flight check (solver.quality), reader errors on broken files, and `coastcast mesh check`."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from solver.formats import MeshFileError, read_mesh, read_mesh_verbose, write_mesh
from solver.mesh import Mesh
from solver.quality import THROUGHPUT, check_mesh, face_angles_deg, local_step_updates
from workflows.cli import main

ROOT = Path(__file__).resolve().parents[1]

GOOD = """good mesh
2 4
1 -4.00 48.00 10.0
2 -3.99 48.00 10.0
3 -3.99 48.01 10.0
4 -4.00 48.01 10.0
1 3 1 2 3
2 3 1 3 4
1 = Number of open boundaries
2 = Total number of open boundary nodes
2 = Number of nodes for open boundary 1
1
2
1 = Number of land boundaries
3 = Total number of land boundary nodes
3 0 = Number of nodes for land boundary 1
2
3
4
"""


def edit(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


# (file name, content, expected message fragment): each fragment names the file and line
BROKEN = [
    (
        "truncated_nodes.gr3",
        "\n".join(GOOD.splitlines()[:4]) + "\n",
        "truncated_nodes.gr3: line 5: the file ends after 2 of 4 node lines",
    ),
    (
        "truncated_elems.gr3",
        "\n".join(GOOD.splitlines()[:7]) + "\n",
        "truncated_elems.gr3: line 8: the file ends after 1 of 2 element lines",
    ),
    ("bad_header.gr3", edit(GOOD, "2 4\n", "two four\n"), "bad_header.gr3: line 2: expected 'n_element n_node'"),
    (
        "wrong_count.gr3",
        edit(GOOD, "2 4\n", "2 3\n"),
        "wrong_count.gr3: line 6: non-integer field '-4.00' in element line 1 (is the count NP=3 in line 2 right?)",
    ),
    (
        "nan_depth.gr3",
        edit(GOOD, "3 -3.99 48.01 10.0", "3 -3.99 48.01 nan"),
        "nan_depth.gr3: line 5: node 3 has non-finite depth",
    ),
    (
        "text_field.gr3",
        edit(GOOD, "2 -3.99 48.00 10.0", "2 -3.99 abc 10.0"),
        "text_field.gr3: line 4: non-numeric field 'abc' in node line 2",
    ),
    (
        "short_line.gr3",
        edit(GOOD, "2 -3.99 48.00 10.0", "2 -3.99 48.00"),
        "short_line.gr3: line 4: expected 4 fields in node line 2, found 3",
    ),
    (
        "node_range.gr3",
        edit(GOOD, "2 3 1 3 4", "2 3 1 3 9"),
        "node_range.gr3: line 8: element 2 refers to node 9, outside the 4 nodes of the file",
    ),
    ("zero_area.gr3", edit(GOOD, "2 3 1 3 4", "2 3 1 2 1"), "zero_area.gr3: line 8: element 2 repeats a node ([1, 2, 1])"),
    (
        "collinear.gr3",
        edit(edit(GOOD, "4 -4.00 48.01 10.0", "4 -3.98 48.00 10.0"), "2 3 1 3 4", "2 3 1 2 4"),
        "collinear.gr3: line 8: element 2 has zero area (nodes [1, 2, 4] at (-3.990000, 48.000000)); 1 such elements",
    ),
    (
        "bnd_range.gr3",
        edit(GOOD, "3 0 = Number of nodes for land boundary 1\n2\n3\n4", "3 0 = Number of nodes for land boundary 1\n2\n3\n40"),
        "bnd_range.gr3: line 19: land boundary 1 refers to node 40, outside the 4 nodes of the file",
    ),
    (
        "bnd_truncated.gr3",
        GOOD.rsplit("3\n4\n", 1)[0],
        "bnd_truncated.gr3: line 18: the file ends after 1 of 3 land boundary 1 node lines (the count 3 is given in line 16)",
    ),
    (
        "bnd_count.gr3",
        edit(GOOD, "1 = Number of land boundaries", "x = Number of land boundaries"),
        "bnd_count.gr3: line 14: expected the number of land boundaries (an integer), found 'x'",
    ),
    (
        "no_end.msh",
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n1\n1 0 0 0\n",
        "no_end.msh: line 4: section $Nodes has no $EndNodes (truncated file?)",
    ),
    ("binary.msh", "$MeshFormat\n2.2 1 8\n$EndMeshFormat\n", "binary.msh: line 2: binary gmsh files are not supported"),
    (
        "v2_missing_node.msh",
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n3\n1 0 0 1\n2 1 0 1\n3 0 1 1\n$EndNodes\n$Elements\n1\n1 2 2 0 1 1 2 7\n$EndElements\n",
        "v2_missing_node.msh: line 12: element 1 refers to node 7, which is not in $Nodes",
    ),
    (
        "v2_count.msh",
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 1\n2 1 0 1\n3 0 1 1\n$EndNodes\n$Elements\n0\n$EndElements\n",
        "v2_count.msh: line 9: $Nodes announces 4 nodes but has 3",
    ),
    ("not_netcdf.nc", "hello", "not_netcdf.nc: cannot open as NetCDF"),
]


@pytest.mark.parametrize("name,content,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files_give_one_line_errors(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(MeshFileError) as err:
        read_mesh(p)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_truncated_gzip(tmp_path):
    raw = gzip.compress(GOOD.encode())
    p = tmp_path / "cut.gr3.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MeshFileError, match=r"cut.gr3.gz: the gzip stream is truncated or corrupt"):
        read_mesh(p)


def test_inverted_triangle_is_reoriented_with_a_warning(tmp_path):
    p = tmp_path / "cw.gr3"
    p.write_text(edit(GOOD, "2 3 1 3 4", "2 3 1 4 3"))
    r = read_mesh_verbose(p)
    assert r.mesh.n_reoriented == 1
    assert any("1 clockwise (inverted) elements were reoriented, the first: element 2" in n for n in r.notes)
    rep = check_mesh(r.mesh, notes=r.notes)
    assert rep.ok and rep.n_reoriented == 1
    assert any("1 clockwise (inverted) faces were reoriented" in w for w in rep.warnings)


def right_triangle(depth=10.0):
    """Legs 3 m and 4 m (Cartesian): area 6 m², longest side 5 m."""
    return Mesh([0.0, 3.0, 0.0], [0.0, 0.0, 4.0], [[0, 1, 2]], [depth] * 3, crs=None, name="rt")


def test_local_step_updates_by_hand():
    """A chain of four faces whose own steps are 1, 8, 8, 8 s: levels 0, 1, 2, 3 (one above each
    neighbour's), so 8 s take 8 + 4 + 2 + 1 face-updates; with two levels 8 + 4 + 4 + 4."""
    chain = np.array([[1, -1, -1], [0, 2, -1], [1, 3, -1], [2, -1, -1]])
    assert local_step_updates([1.0, 8.0, 8.0, 8.0], chain, 8.0) == 15.0
    assert local_step_updates([1.0, 8.0, 8.0, 8.0], chain, 8.0, n_levels=2) == 20.0
    assert local_step_updates([3.0, 3.0, 3.0, 3.0], chain, 9.0) == 12.0  # uniform: global steps


def test_time_step_and_run_time_by_hand():
    rep = check_mesh(right_triangle(10.0))
    cfl_len = 6.0 / (3 * 5.0)  # A / (3 L_max)
    dt = 0.9 * cfl_len / (math.sqrt(9.81 * 10.0) + 1.0)
    assert rep.dt_s == pytest.approx(dt, rel=1e-12)
    steps = math.ceil(72 * 3600 / dt)
    assert rep.n_steps == steps
    # 10 m deep: the forecast's deep-water step doubles it; one face, one level
    assert rep.n_updates == pytest.approx(72 * 3600 / (2 * dt), rel=1e-12)
    assert rep.wall_time_s == pytest.approx(rep.n_updates / THROUGHPUT, rel=1e-12)
    assert check_mesh(right_triangle(4.0)).n_updates == pytest.approx(
        72 * 3600 / (0.9 * cfl_len / (math.sqrt(9.81 * 4.0) + 1.0)), rel=1e-12
    )  # shallower than 5 m: the positivity bound
    assert rep.dt_limiting_face == 0 and rep.dt_limiting_xy == pytest.approx((1.0, 4.0 / 3.0))
    # a dry face uses the 0.1 m depth floor
    assert check_mesh(right_triangle(-2.0)).dt_s == pytest.approx(0.9 * cfl_len / (math.sqrt(0.981) + 1.0))
    # angles of the 3-4-5 triangle: 90°, atan(4/3), atan(3/4)
    np.testing.assert_allclose(
        np.sort(face_angles_deg(right_triangle())[0]), np.degrees([math.atan(0.75), math.atan(4 / 3), math.pi / 2])
    )
    assert rep.min_angle_deg == pytest.approx(math.degrees(math.atan(0.75)))


def test_angles_are_metric_on_lon_lat():
    # an equilateral triangle in metres, built in lon/lat at 60° N (1° lon = half of 1° lat there)
    dlat = 0.01
    lat0 = 60.0
    dlon = dlat / math.cos(math.radians(lat0 + dlat / 3))  # scale at the centroid latitude
    m = Mesh([0.0, dlon, dlon / 2], [lat0, lat0, lat0 + dlat * math.sqrt(3) / 2], [[0, 1, 2]], [5.0] * 3)
    np.testing.assert_allclose(face_angles_deg(m)[0], 60.0, atol=0.05)


def test_fatal_problems_name_ids_and_places():
    # two squares side by side sharing coordinates but not nodes (a seam): duplicate nodes
    x = [0, 1, 1, 0, 1, 2, 2, 1]
    y = [0, 0, 1, 1, 0, 0, 1, 1]
    f = [[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]]
    rep = check_mesh(Mesh(x, y, f, [5.0] * 8, crs=None))
    assert not rep.ok and rep.n_duplicate_nodes == 2
    assert "duplicate nodes" in rep.problems[0] and "nodes 1 and 4 at (x 1, y 0)" in rep.problems[0]
    assert rep.n_parts == 2 and any("2 disconnected parts" in w for w in rep.warnings)
    # an edge shared by three faces
    x = [0, 1, 0.5, 0.5, 0.5]
    y = [0, 0, 1, -1, 2]
    f = [[0, 1, 2], [1, 0, 3], [0, 1, 4]]
    rep = check_mesh(Mesh(x, y, f, [5.0] * 5, crs=None))
    assert rep.n_nonmanifold_edges == 1
    assert "non-manifold edge between nodes 0 and 1 at (x 0.5, y 0) is shared by faces 0, 1, 2" in rep.problems[0]
    # depth stored positive up
    rep = check_mesh(right_triangle(-3.0))
    assert any("no node has a positive depth" in p for p in rep.problems)


def test_skewed_and_tiny_faces_are_warnings():
    x = [0, 100, 50, 200, 200.0, 100.1]
    y = [0, 0, 80, 0, 80, 0.001]
    f = [[0, 1, 2], [1, 3, 4], [1, 4, 2], [0, 5, 1]]  # face 3 is flat and small
    m = Mesh(x, y, f, [5.0] * 6, crs=None)
    rep = check_mesh(m)
    assert rep.ok
    assert rep.n_skewed == 1 and any("worst face 3 at (x 66.7, y 0.000333333)" in w for w in rep.warnings)
    assert rep.n_tiny == 1 and any("smallest face 3" in w for w in rep.warnings)


def test_gallery_channel_biscay_report():
    m = read_mesh(ROOT / "meshes/channel_biscay/hgrid.gr3.gz")
    rep = check_mesh(m)
    assert rep.ok and rep.problems == ()
    assert (rep.n_node, rep.n_face, rep.n_parts, rep.n_unnamed_boundary_edges) == (15350, 29229, 1, 0)
    assert rep.depth_range_m == (0.0, 5032.207)
    # independent recomputation of the time step from Heron's formula on the metric side lengths
    f = m.face_node_connectivity
    R = 6371008.8
    lat = np.radians(m.node_y[f].mean(axis=1))
    X = np.radians(m.node_x[f]) * R * np.cos(lat)[:, None]
    Y = np.radians(m.node_y[f]) * R
    s = np.hypot(X - np.roll(X, -1, 1), Y - np.roll(Y, -1, 1))
    p = s.sum(1) / 2
    area = np.sqrt(p * (p - s[:, 0]) * (p - s[:, 1]) * (p - s[:, 2]))
    dt = 0.9 * area / (3 * s.max(1)) / (np.sqrt(9.81 * np.maximum(m.depth[f].mean(1), 0.1)) + 1.0)
    assert rep.dt_s == pytest.approx(dt.min(), rel=2e-3)
    assert rep.dt_limiting_face == int(np.argmin(dt))
    json.dumps(rep.to_dict())


# -- CLI -------------------------------------------------------------------------------------------
def test_cli_check_ok_and_json(tmp_path, capsys):
    assert main(["mesh", "check", str(ROOT / "meshes/mersey/hgrid.gr3.gz")]) == 0
    out = capsys.readouterr().out
    assert "nodes 2429, faces 4490" in out and "verdict: usable" in out
    assert main(["mesh", "check", str(ROOT / "meshes/mersey/hgrid.gr3.gz"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] is True and d["n_face"] == 4490 and d["format"] == "gr3"
    assert [b["name"] for b in d["boundaries"]] == ["open_1", "land_1"]


def test_cli_check_refuses_and_reports_bad_files(tmp_path, capsys):
    seam = Mesh(
        [0, 1, 1, 0, 1, 2, 2, 1], [0, 0, 1, 1, 0, 0, 1, 1], [[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]], [5.0] * 8, crs=None
    )
    p = write_mesh(seam, tmp_path / "seam.gr3")
    assert main(["mesh", "check", str(p), "--crs", "cartesian"]) == 1
    cap = capsys.readouterr()
    assert "verdict: REFUSED" in cap.out
    assert cap.err.strip().startswith("coastcast mesh check: refused: 2 duplicate nodes") and cap.err.count("\n") == 1
    bad = tmp_path / "bad.gr3"
    bad.write_text(edit(GOOD, "2 3 1 3 4", "2 3 1 3 9"))
    assert main(["mesh", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "coastcast mesh: error: bad.gr3: line 8: element 2 refers to node 9, outside the 4 nodes of the file"
    assert main(["mesh", "check", str(tmp_path / "missing.gr3")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_convert(tmp_path, capsys):
    src = ROOT / "tests/data/meshes/north_sea.msh"
    out = tmp_path / "ns.nc"
    assert main(["mesh", "convert", str(src), str(out)]) == 0
    assert "6396 nodes, 10583 faces, 38 boundary segments, crs EPSG:32630" in capsys.readouterr().out
    a = read_mesh(out)
    assert a.crs == "EPSG:32630" and a.n_face == 10583
    assert main(["mesh", "convert", str(out), str(tmp_path / "ns.vtk")]) == 2
    assert "cannot write this format" in capsys.readouterr().err
