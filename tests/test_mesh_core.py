"""Tiny hand-built meshes: connectivity, metric geometry (plane and sphere), boundary bookkeeping."""

import numpy as np
import pytest

from solver import BoundarySegment, Mesh, MeshError
from solver.builders import rectangle
from solver.geometry import EARTH_RADIUS


def two_triangles(crs=None):
    # unit square split along the diagonal 0-2, second face given clockwise on purpose
    x = np.array([0.0, 1.0, 1.0, 0.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    f = np.array([[0, 1, 2], [0, 2, 3][::-1]])
    return Mesh(x, y, f, depth=[1, 2, 3, 4], crs=crs, boundaries=[BoundarySegment("open_1", "open", [0, 1, 2])])


def test_two_triangles_connectivity_and_geometry():
    m = two_triangles()
    assert m.n_reoriented == 1
    assert m.n_edge == 5
    np.testing.assert_allclose(m.face_area, [0.5, 0.5])
    # the only interior edge joins nodes 0 and 2, with length sqrt(2)
    interior = np.flatnonzero(m.edge_face_connectivity[:, 1] >= 0)
    assert interior.size == 1
    assert sorted(m.edge_node_connectivity[interior[0]]) == [0, 2]
    np.testing.assert_allclose(m.edge_length[interior], np.sqrt(2))
    assert sorted(m.face_face_connectivity[0]) == [-1, -1, 1]
    # outward normals times lengths close each face
    closure = (m.edge_length[m.face_edge_connectivity][..., None] * m.face_edge_outward_normal).sum(axis=1)
    np.testing.assert_allclose(closure, 0.0, atol=1e-15)
    # boundary edges 0-1 and 1-2 belong to open_1, the other two are unnamed walls
    assert sorted(m.boundary_edge_segment.tolist()) == [-1, -1, 0, 0]
    np.testing.assert_allclose(m.face_depth, [(1 + 2 + 3) / 3, (1 + 3 + 4) / 3])


def test_edges_are_numbered_in_order_of_their_first_face():
    """Edges follow the faces in memory: edge k's first face (face 0 of the edge) never decreases
    with k, so every face's edges lie near it and a face reordering reorders the edges with it;
    the connectivity stays consistent (each face's three edges join its own nodes)."""
    m = rectangle(6.0, 4.0, 12, 8, pattern="cross")
    rng = np.random.default_rng(3)
    for mesh in (m, m.reordered(rng.permutation(m.n_face), rng.permutation(m.n_node))):
        ef = mesh.edge_face_connectivity
        assert np.all(np.diff(ef[:, 0]) >= 0)
        assert ef[0, 0] == 0 and ef[-1, 0] <= mesh.n_face - 1
        fe = mesh.face_edge_connectivity
        en = np.sort(mesh.edge_node_connectivity[fe], axis=2)  # (n_face, 3, 2)
        f = mesh.face_node_connectivity
        own = np.sort(np.stack([f, np.roll(f, -1, axis=1)], axis=2), axis=2)
        np.testing.assert_array_equal(en, own)


def test_mesh_is_immutable():
    m = two_triangles()
    with pytest.raises(AttributeError):
        m.depth = np.zeros(4)
    with pytest.raises(ValueError):
        m.node_x[0] = 5.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(face=[[0, 1, 7]]), "outside 0..3"),
        (dict(face=[[0, 1, 1]]), "repeats a node"),
        (dict(x=[0, 1, 2, 0.0], y=[0, 0, 0, 1.0], face=[[0, 1, 2]]), "zero area"),
        (dict(depth=[1, np.nan, 1, 1]), "node 1"),
        (dict(face=[[0.0, 1.0, 2.0]]), "integer"),
    ],
)
def test_broken_meshes_give_one_line_errors(kwargs, message):
    x = kwargs.get("x", [0, 1, 1, 0.0])
    y = kwargs.get("y", [0, 0, 1, 1.0])
    with pytest.raises(MeshError) as err:
        Mesh(x, y, np.array(kwargs.get("face", [[0, 1, 2]])), depth=kwargs.get("depth"), crs=None)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def area_on_sphere(lon, lat, r=EARTH_RADIUS, n=200):
    """R² ∬ cos φ dλ dφ over the triangle that is straight in (λ, φ) (the edges the model uses),
    by the centroid rule on n² sub-triangles (independent of the solver's formula)."""
    lam, phi = np.radians(lon), np.radians(lat)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = i + j < n
    total = 0.0
    for up in (True, False):
        a, b = i[keep], j[keep]
        if not up:
            sel = a + b < n - 1
            a, b = a[sel] + 1.0 / 3 * 2, b[sel] + 1.0 / 3 * 2
        else:
            a, b = a + 1.0 / 3, b + 1.0 / 3
        s, t = a / n, b / n
        ph = phi[0] + s * (phi[1] - phi[0]) + t * (phi[2] - phi[0])
        total += np.cos(ph).sum()
    jac = abs((lam[1] - lam[0]) * (phi[2] - phi[0]) - (lam[2] - lam[0]) * (phi[1] - phi[0]))
    return r**2 * jac / 2 * total / n**2


@pytest.mark.parametrize("lat0", [0.0, 43.0, 53.0])
def test_spherical_metric_matches_exact_spherical_geometry(lat0):
    lon = np.array([-4.0, -3.9, -3.95])
    lat = np.array([lat0, lat0, lat0 + 0.08])
    m = Mesh(lon, lat, [[0, 1, 2]], crs="EPSG:4326")
    exact = area_on_sphere(lon, lat)
    assert abs(m.face_area[0] - exact) / exact < 1e-7
    # east-west edge length at lat0: R cos(lat0) dlon
    ew = np.flatnonzero(np.isclose(m.edge_y, lat0))[0]
    np.testing.assert_allclose(m.edge_length[ew], EARTH_RADIUS * np.cos(np.radians(lat0)) * np.radians(0.1), rtol=1e-12)


def test_face_gradient_operator_is_exact_for_linear_fields():
    m = rectangle(3.0, 2.0, 3, 2)
    field = 2.0 * m.node_x - 0.5 * m.node_y + 7.0
    grad = np.einsum("fij,fj->fi", m.face_gradient_operator, field[m.face_node_connectivity])
    np.testing.assert_allclose(grad, np.tile([2.0, -0.5], (m.n_face, 1)), atol=1e-12)


@pytest.mark.parametrize("pattern, faces_per_quad", [("cross", 4), ("diagonal", 2)])
def test_rectangle_builder(pattern, faces_per_quad):
    m = rectangle(10.0, 4.0, 5, 2, pattern=pattern)
    assert m.n_face == 5 * 2 * faces_per_quad
    assert m.face_area.sum() == pytest.approx(40.0)
    assert (m.boundary_edge_segment >= 0).all()
    assert np.bincount(m.boundary_edge_segment).tolist() == [5, 2, 5, 2]


def test_boundary_lookup_names_what_exists():
    m = rectangle(1.0, 1.0, 1, 1)
    with pytest.raises(KeyError, match="south, east, north, west"):
        m.boundary("ocean")
