"""The one point locator (solver/locate.py) against brute-force references: exact rational
arithmetic over every face of a hand-built mesh, matplotlib's trapezoid-map finder and a
least-squares barycentric solve over every face of a real mesh (tests/data/meshes)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from solver.formats import read_mesh
from solver.locate import Locator, locate_points
from solver.mesh import Mesh

DATA = Path(__file__).parent / "data" / "meshes"


def grid_mesh() -> Mesh:
    """4 x 3 nodes at integer x, y (0..3, 0..2), each square split into two triangles."""
    x, y = np.meshgrid(np.arange(4.0), np.arange(3.0))
    faces = []
    for j in range(2):
        for i in range(3):
            a, b, c, d = j * 4 + i, j * 4 + i + 1, (j + 1) * 4 + i + 1, (j + 1) * 4 + i
            faces += [(a, b, c), (a, c, d)]
    return Mesh(x.ravel(), y.ravel(), np.array(faces), crs=None)


def exact_faces(mesh, px, py) -> list[int]:
    """Every face holding (px, py), by exact rational orientation tests over all faces."""
    fx = [Fraction(v) for v in mesh.node_x]
    fy = [Fraction(v) for v in mesh.node_y]
    p = (Fraction(px), Fraction(py))
    out = []
    for k, tri in enumerate(mesh.face_node_connectivity):
        ok = True
        for i, j in ((0, 1), (1, 2), (2, 0)):
            a, b = int(tri[i]), int(tri[j])
            if (fx[b] - fx[a]) * (p[1] - fy[a]) - (fy[b] - fy[a]) * (p[0] - fx[a]) < 0:
                ok = False
        if ok:
            out.append(k)
    return out


def test_hand_built_mesh_matches_exact_arithmetic_on_vertices_edges_inside_and_outside():
    mesh = grid_mesh()
    pts = [
        (0.25, 0.1),
        (2.7, 1.9),
        (1.6, 1.3),  # inside
        (1.0, 1.0),
        (0.0, 0.0),
        (3.0, 2.0),
        (2.0, 0.0),  # vertices (1.0, 1.0): six faces
        (0.5, 0.5),
        (1.5, 0.0),
        (3.0, 1.5),
        (2.0, 1.25),  # edges: diagonal, boundary, inner
        (-0.1, 1.0),
        (3.5, 0.5),
        (1.0, 2.0001),
        (4.0, 3.0),
    ]  # outside
    px, py = np.array(pts).T
    where = mesh.locator.locate(px, py)
    for k, (x, y) in enumerate(pts):
        ref = exact_faces(mesh, x, y)
        assert where.face[k] == (min(ref) if ref else -1), (x, y, ref)
    assert where.face.tolist()[:3] == [0, 11, 8]
    assert exact_faces(mesh, 1.0, 1.0) == [0, 1, 3, 6, 8, 9] and where.face[3] == 0
    # weights: exact at a vertex and on an edge; NaN and node -1 outside
    np.testing.assert_allclose(where.weights[3], [0.0, 0.0, 1.0], atol=1e-15)  # node 5 is face 0's third corner
    np.testing.assert_allclose(where.weights[7], [0.5, 0.0, 0.5], atol=1e-15)  # (0.5, 0.5) midway 0 -> 5
    assert np.isnan(where.weights[11:]).all() and (where.nodes[11:] == -1).all()
    assert not where.inside[11:].any() and where.inside[:11].all()


def test_weights_reproduce_a_linear_field_and_nan_outside():
    mesh = grid_mesh()
    rng = np.random.default_rng(3)
    px, py = rng.uniform(-0.5, 3.5, 400), rng.uniform(-0.5, 2.5, 400)
    where = mesh.locator.locate(px, py)
    field = 0.7 - 1.3 * mesh.node_x + 2.1 * mesh.node_y
    got = where.interpolate(field)
    inside = (px >= 0) & (px <= 3) & (py >= 0) & (py <= 2)
    np.testing.assert_array_equal(where.inside, inside)
    np.testing.assert_allclose(got[inside], (0.7 - 1.3 * px + 2.1 * py)[inside], rtol=0, atol=1e-12)
    assert np.isnan(got[~inside]).all()
    np.testing.assert_allclose(where.weights[inside].sum(axis=1), 1.0, atol=1e-14)
    assert (where.weights[inside] >= -1e-10).all()


def test_non_finite_points_are_outside_and_shapes_are_checked():
    mesh = grid_mesh()
    where = mesh.locator.locate([np.nan, 1.2, np.inf], [0.5, 0.4, 0.5])
    assert where.face.tolist() == [-1, exact_faces(mesh, 1.2, 0.4)[0], -1]
    assert locate_points(mesh, 1.2, 0.4).tolist() == [where.face[1]]
    with pytest.raises(ValueError, match="x has 2 values but y has 1"):
        mesh.locator.locate([0.1, 0.2], [0.1])
    assert mesh.locator is mesh.locator  # built once per mesh


def brute_force(mesh, px, py, tol=1e-9):
    """Every face holding each point: a 3x3 solve of the barycentric system for every face."""
    f = mesh.face_node_connectivity
    a = np.stack([mesh.node_x[f], mesh.node_y[f], np.ones(f.shape)], axis=1)  # (n_face, 3, 3)
    out = []
    for x, y in zip(px, py):
        lam = np.linalg.solve(a, np.broadcast_to([x, y, 1.0], (f.shape[0], 3))[..., None])[..., 0]
        out.append(np.flatnonzero((lam >= -tol).all(axis=1)))
    return out


@pytest.fixture(scope="module")
def plymouth():
    return read_mesh(DATA / "plymouth_sound.gr3")


def test_real_mesh_matches_brute_force_and_matplotlib(plymouth):
    from matplotlib.tri import Triangulation

    mesh = plymouth
    f = mesh.face_node_connectivity
    rng = np.random.default_rng(7)
    x0, x1, y0, y1 = mesh.node_x.min(), mesh.node_x.max(), mesh.node_y.min(), mesh.node_y.max()
    n = 150
    random = np.column_stack([rng.uniform(x0 - 0.01, x1 + 0.01, n), rng.uniform(y0 - 0.01, y1 + 0.01, n)])
    k = rng.integers(0, mesh.n_face, 60)
    vertices = np.column_stack([mesh.node_x[f[k, 0]], mesh.node_y[f[k, 0]]])
    mid = np.column_stack([(mesh.node_x[f[k, 1]] + mesh.node_x[f[k, 2]]) / 2, (mesh.node_y[f[k, 1]] + mesh.node_y[f[k, 2]]) / 2])
    pts = np.vstack([random, vertices, mid])
    got = mesh.locator.locate(pts[:, 0], pts[:, 1])
    ref = brute_force(mesh, pts[:, 0], pts[:, 1])
    expected = np.array([r.min() if r.size else -1 for r in ref])
    np.testing.assert_array_equal(got.face, expected)
    assert (expected[:n] == -1).sum() > 5 and (expected[:n] >= 0).sum() > 20
    assert all(r.size >= 1 for r in ref[n:])  # vertices and edge midpoints are in the mesh ...
    assert sum(r.size >= 2 for r in ref[n:]) > 80  # ... and most are shared by several faces
    # strictly inside points: the one face matplotlib's trapezoid map finds
    strict = np.array([r.size == 1 for r in ref])
    finder = Triangulation(mesh.node_x, mesh.node_y, f).get_trifinder()
    np.testing.assert_array_equal(got.face[strict], finder(pts[strict, 0], pts[strict, 1]))
    # weights: those of the reference solve in the face found
    inside = got.face >= 0
    a = np.stack([mesh.node_x[f[got.face[inside]]], mesh.node_y[f[got.face[inside]]], np.ones((inside.sum(), 3))], axis=1)
    lam = np.linalg.solve(a, np.column_stack([pts[inside], np.ones(inside.sum())])[..., None])[..., 0]
    np.testing.assert_allclose(got.weights[inside], lam, atol=1e-9)


def test_locator_matches_for_any_candidate_count(plymouth):
    """The exactness does not rest on the KD-tree's candidates: with one candidate, points inside
    and on vertices (the lowest-index face of those sharing it) get the same faces."""
    rng = np.random.default_rng(11)
    f = plymouth.face_node_connectivity
    k = rng.integers(0, plymouth.n_face, 40)
    x = np.concatenate([rng.uniform(plymouth.node_x.min(), plymouth.node_x.max(), 300), plymouth.node_x[f[k, 1]]])
    y = np.concatenate([rng.uniform(plymouth.node_y.min(), plymouth.node_y.max(), 300), plymouth.node_y[f[k, 1]]])
    one = Locator.for_mesh(plymouth, candidates=1).locate(x, y)
    np.testing.assert_array_equal(one.face, plymouth.locator.locate(x, y).face)
    np.testing.assert_array_equal(one.face[300:], [r.min() for r in brute_force(plymouth, x[300:], y[300:])])
    assert (one.face[:300] >= 0).sum() > 50


def write_fields(path, mesh, zeta_offset=0.0):
    """A minimal fields.nc (UGRID topology, node zeta on two times) of a geographic ``mesh``."""
    import netCDF4

    from solver.output import names as n

    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension(n.NODE_DIM, mesh.n_node)
        ds.createDimension(n.FACE_DIM, mesh.n_face)
        ds.createDimension(n.FACE_NODES_DIM, 3)
        ds.createDimension(n.TIME, 2)
        topo = ds.createVariable(n.TOPOLOGY, "i4")
        topo.setncatts(
            {"cf_role": "mesh_topology", "node_coordinates": f"{n.NODE_X} {n.NODE_Y}", "face_node_connectivity": n.FACE_NODES}
        )
        for name, values, std in ((n.NODE_X, mesh.node_x, "longitude"), (n.NODE_Y, mesh.node_y, "latitude")):
            v = ds.createVariable(name, "f8", (n.NODE_DIM,))
            v.standard_name = std
            v[:] = values
        ds.createVariable(n.FACE_NODES, "i4", (n.FACE_DIM, n.FACE_NODES_DIM))[:] = mesh.face_node_connectivity
        t = ds.createVariable(n.TIME, "f8", (n.TIME,))
        t.units = "seconds since 2026-01-10 00:00:00"
        t[:] = [0.0, 3600.0]
        z = ds.createVariable(n.ZETA, "f4", (n.TIME, n.NODE_DIM))
        z[:] = np.stack([mesh.node_x + zeta_offset, 2 * mesh.node_y + zeta_offset])


def test_web_viewer_locates_with_one_cached_locator_per_file_version(tmp_path, plymouth):
    """The point series of a request uses the locator built once per fields.nc version (no scan of
    every face per request) and interpolates linearly in the face found."""
    import os

    from webapp.outputs import fields_locator, point_series

    path = tmp_path / "fields.nc"
    write_fields(path, plymouth)
    f = plymouth.face_node_connectivity
    k = 123
    lon, lat = float(plymouth.node_x[f[k]].mean()), float(plymouth.node_y[f[k]].mean())
    first = fields_locator(path)
    assert fields_locator(path) is first
    got = point_series(path, lon, lat)
    assert got["method"] == "face" and got["face"] == k
    np.testing.assert_allclose(got["zeta"], [lon, 2 * lat], atol=2e-3)  # float32, rounded to 1 mm
    assert fields_locator(path) is first
    write_fields(path, plymouth, zeta_offset=1.0)  # republished: a new version
    os.utime(path, ns=(1, 1))
    assert fields_locator(path) is not first
    outside = point_series(path, float(plymouth.node_x.max()) + 1.0, lat)
    assert outside["method"] == "nearest_node" and "face" not in outside
