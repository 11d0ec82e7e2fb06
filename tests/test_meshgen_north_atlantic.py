"""Mesh generation on both sides of the North Atlantic, checked against the coastline itself and
against places and an island area known independently of GSHHG.

Three boxes run by default (Bergen's fjords and skerries, Reykjavík, Halifax); the full
seven-box check (with Lisbon, Galway, Boston and Charleston) is marked ``slow``."""

from __future__ import annotations

import numpy as np
import pytest

from solver.quality import check_mesh
from workflows.meshgen import coastline_tiles, generate_mesh

BOXES = {
    "lisbon": (-9.50, 38.55, -9.00, 38.85),
    "galway": (-9.40, 53.05, -8.90, 53.30),
    "bergen": (4.85, 60.25, 5.45, 60.60),
    "reykjavik": (-22.20, 64.05, -21.75, 64.25),
    "halifax": (-63.70, 44.45, -63.40, 44.72),
    "boston": (-71.10, 42.20, -70.80, 42.45),
    "charleston": (-80.05, 32.60, -79.75, 32.85),
}
DEFAULT = ("bergen", "reykjavik", "halifax")
# (lon, lat) of well-known places, from maps, a few hundred metres or more from the shore
WATER = {
    "lisbon": [(-9.15, 38.69)],  # Tagus off Lisbon
    "galway": [(-9.20, 53.20)],  # Galway Bay
    "bergen": [(5.27, 60.41), (5.303, 60.3915)],  # Byfjorden; Puddefjorden, Bergen's harbour by Nordnes
    "reykjavik": [(-22.10, 64.15)],  # Faxaflói
    "halifax": [(-63.565, 44.640), (-63.645, 44.700)],  # Halifax Harbour; Bedford Basin
    "boston": [(-70.97, 42.33)],  # Boston Harbor
    "charleston": [(-79.90, 32.76)],  # Charleston Harbor
}
LAND = {
    "lisbon": [(-9.1335, 38.7139)],  # Castelo de São Jorge
    "galway": [(-9.0493, 53.2743)],  # Eyre Square
    "bergen": [(5.385, 60.378), (5.20, 60.45)],  # Ulriken; Askøy
    "reykjavik": [(-21.9266, 64.1417)],  # Hallgrímskirkja
    "halifax": [(-63.5806, 44.6476)],  # Halifax Citadel
    "boston": [(-71.0656, 42.3550)],  # Boston Common
    "charleston": [(-79.9311, 32.7765)],  # City Hall
}
ASKOY_KM2 = 100.0  # the island of Askøy, Bergen (Wikipedia)

_CACHE = {}


def _mesh(name):
    if name not in _CACHE:
        _CACHE[name] = generate_mesh(BOXES[name])
    return _CACHE[name]


def _geodesic_km2(poly):
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(poly)[0]) / 1e6


def check_box(name):
    import matplotlib.tri as mtri
    import shapely

    g = _mesh(name)
    m = g.mesh
    W, S, E, N = BOXES[name]
    rep = check_mesh(m)
    assert rep.ok, rep.problems
    assert rep.min_angle_deg >= 24.5  # Triangle's 25°, measured on the sphere
    assert rep.n_unnamed_boundary_edges == 0
    assert 3000 < m.n_face < 60000
    assert m.node_x.min() >= W and m.node_x.max() <= E and m.node_y.min() >= S and m.node_y.max() <= N
    roles = {s.role for s in m.boundaries}
    assert {"open", "land"} <= roles
    for s in m.boundaries:
        if s.role == "open":
            x, y = m.node_x[s.node_ids], m.node_y[s.node_ids]
            assert np.minimum.reduce([abs(x - W), abs(x - E), abs(y - S), abs(y - N)]).max() == 0.0

    # against the coastline itself: land pieces in the box, islands = pieces off the box edge
    store = coastline_tiles()
    parts = shapely.get_parts(store.land(BOXES[name]))
    b = shapely.bounds(parts)
    eps = 1e-9
    island = (b[:, 0] > W + eps) & (b[:, 2] < E - eps) & (b[:, 1] > S + eps) & (b[:, 3] < N - eps)
    km2 = np.array([_geodesic_km2(p) for p in parts])
    keep_km2 = (2 * g.min_size) ** 2 / 1e6  # islands above this are kept as holes (workflows.meshgen.water_polygon)
    small = parts[island & (km2 <= keep_km2)]
    big = parts[island & (km2 > keep_km2)]
    f = m.face_node_connectivity
    cx, cy = m.node_x[f].mean(axis=1), m.node_y[f].mean(axis=1)
    on_land = store.is_land(cx, cy)
    if on_land.any():  # only on the small islands the element size cannot resolve
        inside_small = shapely.contains_xy(shapely.union_all(small), cx[on_land], cy[on_land]) if len(small) else False
        assert np.all(inside_small), f"{int((~np.asarray(inside_small)).sum())} centroids on land that is not a small island"
    finder = mtri.Triangulation(m.node_x, m.node_y, f).get_trifinder()
    if len(big):
        rp = shapely.get_coordinates(shapely.point_on_surface(big))
        assert np.all(finder(rp[:, 0], rp[:, 1]) == -1), "an island above the kept size is meshed over"
        assert "island" in roles or "land" in roles

    # against places
    w = np.array(WATER[name])
    assert np.all(finder(w[:, 0], w[:, 1]) >= 0), "a known water point is not in the mesh"
    ld = np.array(LAND[name])
    assert np.all(finder(ld[:, 0], ld[:, 1]) == -1), "a known land point is in the mesh"


@pytest.mark.parametrize("name", DEFAULT)
def test_north_atlantic_boxes(name):
    check_box(name)


def test_bergen_keeps_askoy_as_an_island():
    """Askøy (100 km², Wikipedia) is one island hole; the hole holds the whole GSHHG island and the
    islets the clean-up joins to it (channels under 0.69 min_size close), and gives up on average
    less than half an element of water along its coast."""
    import shapely
    from pyproj import Geod

    g = _mesh("bergen")
    m = g.mesh
    at = shapely.Point(5.20, 60.45)
    rings = [
        shapely.Polygon(np.column_stack([m.node_x[s.node_ids], m.node_y[s.node_ids]])) for s in m.boundaries if s.role == "island"
    ]
    (hole,) = [r for r in rings if r.contains(at)]
    land = coastline_tiles().land(BOXES["bergen"])
    (askoy,) = [p for p in shapely.get_parts(land) if p.contains(at)]
    assert _geodesic_km2(askoy) == pytest.approx(ASKOY_KM2, rel=0.03)
    assert hole.contains(askoy.buffer(-1e-6))
    hole_m2, perimeter_m = Geod(ellps="WGS84").geometry_area_perimeter(hole)
    land_m2 = _geodesic_km2(land.intersection(hole)) * 1e6
    assert abs(hole_m2) >= land_m2 >= _geodesic_km2(askoy) * 1e6 * 0.999
    assert (abs(hole_m2) - land_m2) / perimeter_m < 0.5 * g.min_size


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOXES))
def test_seven_north_atlantic_boxes(name):
    check_box(name)
