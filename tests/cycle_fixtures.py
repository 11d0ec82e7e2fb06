"""A small lon/lat estuary-like basin with a tidal open boundary, written as real input files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tomli_w

from solver.builders import rectangle
from solver.formats import write_mesh
from solver.mesh import BoundarySegment, Mesh

M2_AMPLITUDE = 1.0
M2_PHASE = 100.0


def basin_mesh(nx=12, ny=6, origin=(-5.2, 48.2), depth=(30.0, 2.0)) -> Mesh:
    """0.24° × 0.12° basin whose south-west corner is ``origin`` (default: west of Brest), open to
    the west, ``depth`` = (at the mouth, at the head) in m, linear in between."""
    r = rectangle(1.0, 1.0, nx, ny, pattern="diagonal")
    lon = origin[0] + 0.24 * r.node_x
    lat = origin[1] + 0.12 * r.node_y
    depth = depth[0] + (depth[1] - depth[0]) * r.node_x
    segs = [
        BoundarySegment("open_1", "open", r.boundary("west").node_ids),
        BoundarySegment(
            "land_1",
            "land",
            np.r_[r.boundary("south").node_ids, r.boundary("east").node_ids[1:], r.boundary("north").node_ids[1:]],
        ),
    ]
    return Mesh(lon, lat, r.face_node_connectivity, depth, segs, crs="EPSG:4326", name="basin")


def write_inputs(
    folder: Path,
    *,
    hours=2.0,
    spinup_hours=1.0,
    segment_hours=1.0,
    start="2026-01-10T00:00Z",
    resolution=(12, 6),
    origin=(-5.2, 48.2),
    depth=(30.0, 2.0),
    harmonics=None,
    **extra,
) -> Path:
    """Mesh (gr3), harmonics CSV and config TOML in ``folder``; returns the config path.
    ``resolution``: the basin's (nx, ny) cells (2 nx ny triangles); ``origin``, ``depth``: see
    :func:`basin_mesh`; ``harmonics``: {constituent: (amplitude m, Greenwich phase deg)} at the
    open boundary (default M2 1 m / 100°, S2 0.3 m / 140°)."""
    folder.mkdir(parents=True, exist_ok=True)
    mesh = basin_mesh(*resolution, origin=origin, depth=depth)
    write_mesh(mesh, folder / "hgrid.gr3")
    ids = mesh.boundary("open_1").node_ids
    harmonics = harmonics or {"M2": (M2_AMPLITUDE, M2_PHASE), "S2": (0.3, 140.0)}
    cols = "".join(f",{c}_amp_m,{c}_phase_deg" for c in harmonics)
    vals = "".join(f",{a},{p}" for a, p in harmonics.values())
    rows = [f"open_boundary,seq,node,lon,lat,depth_m{cols}"]
    for k, i in enumerate(ids, start=1):
        rows.append(f"1,{k},{i + 1},{mesh.node_x[i]:.5f},{mesh.node_y[i]:.5f},{mesh.depth[i]:.2f}{vals}")
    (folder / "tides.csv").write_text("\n".join(rows) + "\n")
    cfg = {
        "name": "basin",
        "mesh": "hgrid.gr3",
        "start": start,
        "hours": hours,
        "spinup_hours": spinup_hours,
        "segment_hours": segment_hours,
        "output_interval_minutes": 30.0,
        "station_interval_minutes": 10.0,
        "restart_hours": min(1.0, hours),
        "boundaries": {"open_1": "tide"},
        "tides": {"source": "harmonics", "file": "tides.csv"},
        "physics": {"manning": 0.025},
        "stations": [{"name": "mouth", "lon": -5.18, "lat": 48.26}, {"name": "head", "lon": -5.0, "lat": 48.25}],
    }
    cfg.update(extra)
    path = folder / "basin.toml"
    path.write_text(tomli_w.dumps(cfg))
    return path
