"""Box mesh generation (workflows.meshgen) and `coastcast mesh generate`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.formats import read_mesh
from solver.quality import check_mesh
from workflows.cli import main
from workflows.meshgen import MeshgenError, generate_mesh, load_coastline, synthetic_depth

GIRONDE = (-1.30, 45.45, -0.90, 45.75)
TAGUS = (-9.45, 38.60, -9.00, 38.80)


@pytest.fixture(scope="module")
def gironde():
    return generate_mesh(GIRONDE)


def test_quality_and_extent(gironde):
    m = gironde.mesh
    rep = check_mesh(m)
    assert rep.ok, rep.problems
    assert rep.min_angle_deg >= 24.5  # Triangle's 25° bound, measured on the sphere after projecting back
    assert rep.n_parts == 1 and rep.n_unnamed_boundary_edges == 0
    floor = math.sqrt(3) / 4 * (gironde.min_size / 4) ** 2
    assert rep.area_m2["min"] >= floor
    W, S, E, N = GIRONDE
    assert m.node_x.min() >= W - 1e-9 and m.node_x.max() <= E + 1e-9
    assert m.node_y.min() >= S - 1e-9 and m.node_y.max() <= N + 1e-9
    assert 5000 < m.n_face < 40000


def test_open_boundaries_lie_on_the_box_edge_and_land_on_the_coast(gironde):
    import shapely
    from shapely.ops import unary_union

    m = gironde.mesh
    W, S, E, N = GIRONDE
    opens = [s for s in m.boundaries if s.role == "open"]
    assert opens, "the Gironde box has sea on its western edge"
    for s in opens:
        x, y = m.node_x[s.node_ids], m.node_y[s.node_ids]
        on_edge = np.minimum.reduce([abs(x - W), abs(x - E), abs(y - S), abs(y - N)])
        assert on_edge.max() == 0.0
    lines, polys = load_coastline(bbox=(W - 0.05, S - 0.05, E + 0.05, N + 0.05))
    coast = unary_union(lines + [p.boundary for p in polys])
    land = np.concatenate([s.node_ids for s in m.boundaries if s.role != "open"])
    pts = shapely.points(m.node_x[land], m.node_y[land])
    inside_box = (
        (m.node_x[land] > W + 1e-6) & (m.node_x[land] < E - 1e-6) & (m.node_y[land] > S + 1e-6) & (m.node_y[land] < N - 1e-6)
    )
    d_deg = shapely.distance(pts[inside_box], coast)
    d_m = d_deg * 111e3
    # simplification by min_size/4 and the opening can move the coast by about min_size/2
    assert np.percentile(d_m, 95) < gironde.min_size / 2
    assert d_m.max() < 3 * gironde.min_size


def test_depth_from_the_gallery(gironde):
    from workflows.gallery import load_region

    src = gironde.depth_sources
    assert src.get("gallery:gironde", 0) > 0.8 * gironde.mesh.n_node
    # nodes that coincide with nothing special: compare to the gallery's own linear interpolant
    import matplotlib.tri as mtri

    g = load_region("gironde").mesh()
    interp = mtri.LinearTriInterpolator(mtri.Triangulation(g.node_x, g.node_y, g.face_node_connectivity), g.depth)
    ref = np.ma.filled(interp(gironde.mesh.node_x, gironde.mesh.node_y).astype(float), np.nan)
    ok = np.isfinite(ref)
    np.testing.assert_allclose(gironde.mesh.depth[ok], ref[ok], atol=1e-9)


def test_tagus_takes_the_global_mesh_offshore_and_the_documented_fallback_inside():
    """No gallery mesh covers Lisbon: offshore nodes take the global tide model's mesh (coarse
    but real: equal to its own linear interpolant), the estuary the synthetic shelf."""
    import matplotlib.tri as mtri

    from solver.formats.gr3 import read_gr3
    from workflows.global_tides import GLOBAL_MESH_DIR

    g = generate_mesh(TAGUS)
    assert list(g.depth_sources) == ["global:OceanMesh2D (coarse)", "synthetic shelf (2 m + d/50, max 200 m)"]
    assert check_mesh(g.mesh).ok
    glob = read_gr3(GLOBAL_MESH_DIR / "fort.14.gz").mesh
    f = np.asarray(glob.face_node_connectivity)
    f = f[np.ptp(glob.node_x[f], axis=1) < 180.0]
    ref = np.ma.filled(
        mtri.LinearTriInterpolator(mtri.Triangulation(glob.node_x, glob.node_y, f), glob.depth)(
            g.mesh.node_x, g.mesh.node_y
        ).astype(float),
        np.nan,
    )
    covered = np.isfinite(ref)
    assert covered.sum() == g.depth_sources["global:OceanMesh2D (coarse)"]
    np.testing.assert_allclose(g.mesh.depth[covered], ref[covered], atol=1e-9)
    inside = g.mesh.depth[~covered]
    assert inside.min() >= 2.0 and inside.max() <= 200.0
    np.testing.assert_allclose(synthetic_depth([0.0, 4900.0, 1e6]), [2.0, 100.0, 200.0])


def test_bad_boxes():
    with pytest.raises(MeshgenError, match="leaves the shipped coastline data"):
        generate_mesh((-105.0, 38.0, -99.0, 39.0))  # the Rockies: west of 100° W
    with pytest.raises(MeshgenError, match="leaves the shipped coastline data"):
        generate_mesh((10.0, 79.5, 12.0, 80.5))  # north of 80° N
    with pytest.raises(MeshgenError, match="W < E and S < N"):
        generate_mesh((-9.0, 38.0, -9.5, 39.0))
    with pytest.raises(MeshgenError, match="holds no water|cannot tell water from land"):
        generate_mesh((-4.0, 40.0, -3.9, 40.1))  # Madrid


def test_cli_generate(tmp_path, capsys):
    out = tmp_path / "santander.gr3"
    assert main(["mesh", "generate", "--bbox", "-3.85", "43.40", "-3.70", "43.50", "--out", str(out), "--resolution", "400"]) == 0
    text = capsys.readouterr().out
    assert "min angle" in text and "depth from:" in text
    m = read_mesh(out)
    assert any(s.role == "open" for s in m.boundaries) and any(s.role == "island" for s in m.boundaries)
    with pytest.raises(SystemExit) as exc:  # argparse: one usage line, status 2
        main(["mesh", "generate", "--bbox", "-3.85", "43.40", "-3.70", "--out", str(out)])
    assert exc.value.code == 2
    assert (
        main(
            [
                "mesh",
                "generate",
                "--bbox",
                "-3.85",
                "43.40",
                "-3.70",
                "43.50",
                "--out",
                str(out),
                "--min-size",
                "900",
                "--resolution",
                "400",
            ]
        )
        == 2
    )
    assert "min-size 900 m is larger than the resolution 400 m" in capsys.readouterr().err


def test_a_mostly_synthetic_mesh_is_flagged_not_fit_for_use(tmp_path):
    """The depth sources travel beside a generated mesh; more than half synthetic gives the
    one-line warning that the cycle writes into run.json and the web pages show."""
    from workflows.meshgen import SYNTHETIC, read_depth_sources, synthetic_warning, write_depth_sources

    mesh = tmp_path / "hgrid.gr3"
    assert read_depth_sources(mesh) is None and synthetic_warning(None) is None
    write_depth_sources(mesh, {"global:OceanMesh2D (coarse)": 1236, SYNTHETIC: 5832})
    sources = read_depth_sources(mesh)
    assert sources == {"global:OceanMesh2D (coarse)": 1236, SYNTHETIC: 5832}
    warn = synthetic_warning(sources)
    assert warn.startswith("83 % of the mesh's depths are the synthetic shelf") and "NOT FIT FOR USE" in warn
    assert synthetic_warning({"gallery:gironde": 600, SYNTHETIC: 400}) is None


def test_a_box_edge_beside_the_coast_gives_valid_water_off_the_land():
    """North Brittany at 220 m: the padded box's south edge (48.496° N) passes within 100 m of the
    coast near 2.69° W. The land clipped to it was projected with 1°-long straight edges, chords
    up to ~100 m off the parallel that crossed the coast (GEOS TopologyException, so the 1 M-triangle
    Channel mesh of bench/scaling.py could not be made); it is segmentized first, like the box."""
    import shapely

    from workflows.meshgen import _coast, _projection, water_polygon

    bbox = (-3.5, 48.5, -2.0, 49.0)
    fwd, inv = _projection(bbox)
    water, box_p, _, _ = water_polygon(bbox, fwd, 220.0)
    assert water.is_valid and water.within(box_p.buffer(1.0))
    lon, lat = np.meshgrid(np.linspace(-3.499, -2.001, 150), np.linspace(48.501, 48.999, 50))
    lon, lat = lon.ravel(), lat.ravel()
    x, y = fwd.transform(lon, lat)
    in_water = shapely.contains_xy(water, x, y)
    land = _coast().is_land(lon, lat)  # the GSHHG polygons themselves
    assert in_water[~land].mean() > 0.95  # the water covers the sea (but for channels narrower than 150 m)
    # and never reaches onto land, but for the islets of (2 min_size)² or less that it leaves out
    # (the Minquiers, the Sept-Îles' rocks)
    pieces = shapely.get_parts(_coast().land(bbox))
    pieces_p = [
        shapely.transform(p.segmentize(0.001), lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))) for p in pieces
    ]
    big = shapely.union_all([p for p in pieces_p if p.area > (2 * 220.0) ** 2])
    on_big_land = shapely.contains_xy(big, x, y)
    assert on_big_land.sum() > 2000 and not (in_water & on_big_land).any()
    assert (in_water & land).sum() < 0.005 * land.sum()
