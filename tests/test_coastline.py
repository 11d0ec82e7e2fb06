"""The shipped North Atlantic coastline (workflows.meshgen.CoastlineTiles, load_coastline) and the
map coastline (webapp.coastline.coastline_json), against places and island areas known
independently of GSHHG."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from workflows.meshgen import COAST_EXTENT, CoastlineTiles, MeshgenError, coastline_tiles, load_coastline

# (lon, lat) of well-known places, from maps; each at least a few hundred metres from the shore
WATER = {
    "Bergen harbour, Puddefjorden by Nordnes": (5.303, 60.3915),
    "Byfjorden off Bergen": (5.27, 60.41),
    "Faxaflói off Reykjavík": (-22.10, 64.15),
    "Halifax Harbour off Dartmouth": (-63.565, 44.640),
    "Bedford Basin": (-63.645, 44.700),
    "Boston Harbor": (-70.97, 42.33),
    "Charleston Harbor": (-79.90, 32.76),
    "Galway Bay": (-9.20, 53.20),
    "Tagus estuary at Lisbon": (-9.15, 38.69),
    "Mersey estuary": (-3.00, 53.43),
    "Gotland basin, Baltic Sea": (19.0, 57.0),
    "North Sea, Dogger Bank": (2.5, 54.8),
    "Mid-Atlantic": (-40.0, 30.0),
    "Hudson Bay": (-85.0, 60.0),
    "Gulf of Mexico": (-90.0, 25.0),
    "Caribbean Sea": (-75.0, 15.0),
}
LAND = {
    "Ulriken, Bergen": (5.385, 60.378),
    "Hofsjökull, Iceland": (-18.8, 64.8),
    "Hallgrímskirkja, Reykjavík": (-21.9266, 64.1417),
    "Halifax Citadel": (-63.5806, 44.6476),
    "Boston Common": (-71.0656, 42.3550),
    "Eyre Square, Galway": (-9.0493, 53.2743),
    "Castelo de São Jorge, Lisbon": (-9.1335, 38.7139),
    "Madrid": (-3.70, 40.40),
    "Greenland ice sheet": (-40.0, 72.0),
    "Sahara": (10.0, 25.0),
}
LAKES = {  # GSHHG level 2: lakes are land, never sea
    "Tjörnin, Reykjavík": (-21.9415, 64.1445),
    "Lough Neagh": (-6.45, 54.60),
    "Lake Ontario": (-77.80, 43.60),
    "Vänern": (13.50, 59.00),
    "Lake Ladoga": (31.50, 61.00),
}
# island areas in km² (Wikipedia, "List of islands by area" and the islands' articles)
ISLANDS = {
    "Iceland": ((-18.8, 64.8), (-25.0, 63.0, -13.0, 67.0), 101826.0),
    "Ireland": ((-8.0, 53.0), (-11.0, 51.0, -5.0, 56.0), 84421.0),
    "Newfoundland": ((-56.0, 49.0), (-60.0, 46.5, -52.0, 52.0), 108860.0),
    "Mallorca": ((2.95, 39.6), (2.2, 39.2, 3.6, 40.0), 3640.0),
    "Isle of Man": ((-4.5, 54.23), (-5.0, 53.9, -4.1, 54.5), 572.0),
    "Bornholm": ((14.9, 55.1), (14.6, 54.9, 15.3, 55.4), 588.4),
    "Askøy": ((5.2, 60.45), (4.9, 60.3, 5.45, 60.6), 100.0),
}


@pytest.fixture(scope="module")
def store():
    return coastline_tiles()


def test_known_water_land_and_lakes(store):
    names = list(WATER) + list(LAND) + list(LAKES)
    pts = np.array(list(WATER.values()) + list(LAND.values()) + list(LAKES.values()))
    land = store.is_land(pts[:, 0], pts[:, 1])
    expected = np.r_[np.zeros(len(WATER), bool), np.ones(len(LAND) + len(LAKES), bool)]
    wrong = [n for n, a, b in zip(names, land, expected) if a != b]
    assert not wrong, wrong
    with pytest.raises(MeshgenError, match=r"lon -120, lat 40\) lies outside the shipped coastline data"):
        store.is_land([-120.0], [40.0])


@pytest.mark.parametrize("name", list(ISLANDS))
def test_island_areas(store, name):
    import shapely
    from pyproj import Geod

    point, bbox, km2 = ISLANDS[name]
    land = store.land(bbox)
    (island,) = [p for p in shapely.get_parts(land) if p.contains(shapely.Point(point))]
    W, S, E, N = bbox
    assert shapely.within(island, shapely.box(W, S, E, N).buffer(-1e-6)), "the box holds the whole island"
    area = abs(Geod(ellps="WGS84").geometry_area_perimeter(island)[0]) / 1e6
    assert area == pytest.approx(km2, rel=0.03), (name, area)


def test_tiles_join_without_seams(store):
    """A box over many tiles: one polygon per land mass, no coast along the 1° tile sides."""
    import shapely

    bbox = (-11.0, 51.0, -5.0, 56.0)  # Ireland and the edge of Great Britain: 30 tiles
    ireland = [p for p in shapely.get_parts(store.land(bbox)) if p.contains(shapely.Point(-8.0, 53.0))]
    assert len(ireland) == 1 and len(ireland[0].interiors) == 0
    lines = store.coast_lines(bbox)
    xy = [np.asarray(ln.coords) for ln in lines]
    seg_a = np.concatenate([c[:-1] for c in xy])
    seg_b = np.concatenate([c[1:] for c in xy])
    on_meridian = (seg_a[:, 0] == seg_b[:, 0]) & (seg_a[:, 0] == np.round(seg_a[:, 0]))
    on_parallel = (seg_a[:, 1] == seg_b[:, 1]) & (seg_a[:, 1] == np.round(seg_a[:, 1]))
    assert not (on_meridian | on_parallel).any()
    # the lines are the outline of the land: every line point lies on the land's boundary
    pts = shapely.points(np.concatenate(xy)[::50])
    assert shapely.distance(pts, store.land(bbox).boundary).max() < 1e-9


def test_load_coastline_has_land_on_the_right(store):
    bbox = (-9.6, 38.5, -8.9, 39.0)  # Lisbon: the mainland cut at the box edge, the Tagus inside
    lines, polys = load_coastline(bbox=bbox)
    assert lines and all(p.exterior.is_ccw is False for p in polys)
    a = np.concatenate([np.asarray(ln.coords)[:-1] for ln in lines])
    b = np.concatenate([np.asarray(ln.coords)[1:] for ln in lines])
    d = b - a
    L = np.hypot(*d.T)
    ok = L > 2e-4  # sides long enough to probe 1e-5° either side of their middle
    mid, nrm = 0.5 * (a + b)[ok], (np.column_stack([d[:, 1], -d[:, 0]]) / L[:, None])[ok]  # normal to the right
    right = store.is_land(*(mid + 1e-5 * nrm).T)
    left = store.is_land(*(mid - 1e-5 * nrm).T)
    assert right.mean() > 0.99 and left.mean() < 0.01
    W, S, E, N = bbox
    for ln in lines:  # pieces start and end on the box edge
        for x, y in (ln.coords[0], ln.coords[-1]):
            assert min(abs(x - W), abs(x - E), abs(y - S), abs(y - N)) < 1e-9


def test_small_box_reads_only_its_tiles():
    fresh = CoastlineTiles()
    fresh.land((-9.5, 38.6, -9.0, 38.9))
    assert list(fresh._cache) == [(38, 90)]  # one 1° tile decoded, not the North Atlantic
    fresh.coast_lines((4.8, 60.0, 5.8, 61.0))
    assert sorted(fresh._cache) == [(38, 90), (60, 104), (60, 105)]
    assert fresh.extent == COAST_EXTENT


def test_bad_files(tmp_path):
    from workflows.data.build_coastline import gzip_member

    with pytest.raises(FileNotFoundError, match="no such coastline file"):
        CoastlineTiles(tmp_path / "none.gz")
    (tmp_path / "junk.gz").write_bytes(b"not gzip at all")
    with pytest.raises(MeshgenError, match="junk.gz: not a coastline tile file"):
        CoastlineTiles(tmp_path / "junk.gz")
    (tmp_path / "other.gz").write_bytes(gzip_member(json.dumps({"format": "geojson"}).encode()))
    with pytest.raises(MeshgenError, match="expected 'coastcast-coastline-tiles/1'"):
        CoastlineTiles(tmp_path / "other.gz")
    whole = coastline_tiles().path.read_bytes()
    (tmp_path / "cut.gz").write_bytes(whole[:2000])
    with pytest.raises(MeshgenError, match="truncated coastline file") as exc:
        CoastlineTiles(tmp_path / "cut.gz")
    assert "\n" not in str(exc.value)


def test_build_round_trip(tmp_path):
    """The build script's writer and the loader agree, on hand-made land: a square island inside
    one tile, and a 'continent' over four tiles with a bay."""
    import shapely

    from workflows.data import build_coastline as bc

    extent = (0, 0, 3, 3)
    island = shapely.box(0.2, 0.2, 0.4, 0.3)
    continent = shapely.Polygon([(1.5, 0.5), (2.8, 0.5), (2.8, 2.8), (1.5, 2.8), (1.5, 1.9), (2.2, 1.9), (2.2, 1.2), (1.5, 1.2)])
    cls, tiles = bc.encode_tiles(bc.tile_pieces([island, continent], extent=extent), extent=extent)
    assert cls.tolist() == [[2, 2, 2], [0, 2, 2], [0, 2, 2]]
    overview = bc.overview_lines([island, continent], extent=extent, tolerance=1e-6, min_area=0.0)
    header = {"format": bc.FORMAT, "extent": list(extent), "tile_deg": 1, "quantum_deg": bc.QUANTUM, "resolution": "test"}
    bc.write(tmp_path / "t.gz", cls, tiles, overview, header)
    st = CoastlineTiles(tmp_path / "t.gz")
    land = st.land(extent)
    assert land.area == pytest.approx(island.area + continent.area, abs=1e-9)
    assert land.symmetric_difference(shapely.union(island, continent)).area < 1e-9
    assert shapely.get_num_geometries(land) == 2  # the continent's four tile pieces join again
    assert st.is_land([0.3, 0.5, 2.0, 2.5, 1.7], [0.25, 0.5, 1.5, 2.5, 1.5]).tolist() == [True, False, False, True, False]
    assert sum(ln.length for ln in st.coast_lines(extent)) == pytest.approx(island.length + continent.length, abs=1e-9)
    assert sum(ln.length for ln in st.overview_lines(extent)) == pytest.approx(island.length + continent.length, abs=1e-9)
    # the file is one ordinary gzip stream: the header first, then the members
    raw = zlib.decompress((tmp_path / "t.gz").read_bytes(), wbits=31)
    assert raw.startswith(b'{"format":"coastcast-coastline-tiles/1"')


def test_map_coastline_for_a_box(store):
    import shapely

    from webapp.coastline import coastline_json

    def kind(fc, name):
        return next(f for f in fc["features"] if f["properties"]["kind"] == name)["geometry"]["coordinates"]

    bbox = (5.0, 60.2, 5.6, 60.6)  # Bergen
    fc = json.loads(coastline_json(bbox))
    w, s, e, n = fc["bbox"]  # the box widened outward to the cache grid
    assert w <= 5.0 and s <= 60.2 and e >= 5.6 and n >= 60.6 and (e - w) < 2 * 0.6
    tol = fc["tolerance"]
    lines = kind(fc, "coast")
    pts = np.array([p for ln in lines for p in ln])
    assert len(pts) > 500
    assert pts[:, 0].min() >= w - 1e-9 and pts[:, 0].max() <= e + 1e-9
    assert pts[:, 1].min() >= s - 1e-9 and pts[:, 1].max() <= n + 1e-9
    # points lie on the full-resolution coast (to the rounding grid), and the coast lies within
    # the tolerance of the simplified lines wherever a line was kept
    coast = shapely.union_all(store.coast_lines((w - 0.1, s - 0.1, e + 0.1, n + 0.1)))
    assert shapely.distance(shapely.points(pts[::7]), coast).max() < tol
    byfjorden = store.coast_lines((5.25, 60.40, 5.30, 60.43))
    probe = shapely.points(np.concatenate([np.asarray(ln.coords) for ln in byfjorden]))
    assert shapely.distance(probe, shapely.MultiLineString(lines)).max() < 2 * tol
    # land is filled: Bergen's peninsula (5.33 E, 60.39 N) is land, the fjord west of Askøy is not
    land = shapely.MultiPolygon([shapely.Polygon(r[0], r[1:]) for r in kind(fc, "land")])
    assert land.contains(shapely.Point(5.33, 60.39)) and not land.contains(shapely.Point(5.05, 60.45))
    # the North Atlantic overview (the wizard's first view) stays small; a box outside has no coast
    whole = kind(json.loads(coastline_json(None)), "coast")
    overview = shapely.MultiLineString(whole)
    assert 5_000 < shapely.get_num_coordinates(overview) < 100_000
    for name in ("Iceland", "Newfoundland", "Mallorca"):  # islands are drawn, to within the overview's tolerance
        point, bbox, _ = ISLANDS[name]
        assert overview.intersects(shapely.box(*bbox)) and shapely.distance(shapely.Point(point), overview) < 4.0
    assert kind(json.loads(coastline_json((-170.0, -60.0, -160.0, -50.0))), "coast") == []
