"""UGRID-1.0 / CF-1.11 NetCDF meshes: read and write (lossless round trip).

The layout follows the project's UGRID output notes (``mesh2d`` container, ``nMesh2_*``
dimensions, anticlockwise 0-based ``mesh2d_face_nodes``) and adds what a forecast needs:

``depth(nMesh2_node)``  float64, m, ``positive = "down"``, standard name ``sea_floor_depth_below_geoid``.

``crs``  grid mapping of a projected mesh (CF attributes from pyproj plus ``crs_wkt`` and
``epsg_code``); a lon/lat mesh is declared by the ``longitude``/``latitude`` standard names (WGS84);
a Cartesian mesh (no geographic position) has ``mesh2d:coastcast_crs = "cartesian"``.

``mesh2d_boundary_nodes(nMesh2_boundary, Two)``  the UGRID ``boundary_node_connectivity``:
every boundary edge, the domain on its left; ``mesh2d_boundary_segment(nMesh2_boundary)``: the
index of the named segment holding that edge, -1 for an unnamed wall.

Named boundary segments (listed in ``mesh2d:coastcast_boundary_segments``), ragged contiguous
arrays:

* ``mesh2d_segment_node(nMesh2_segment_node)``: the ordered 0-based node ids of all segments, one
  after the other;
* ``mesh2d_segment_start(nMesh2_segment)`` / ``mesh2d_segment_count(nMesh2_segment)``: where each
  segment starts in that list and how many nodes it has;
* ``mesh2d_segment_role(nMesh2_segment)``: byte flags 0 = open, 1 = land, 2 = island
  (``flag_values``/``flag_meanings``);
* ``mesh2d_segment_name(nMesh2_segment, nMesh2_name_strlen)``: the names, as characters.

Any UGRID file with a 2D ``mesh_topology`` can be read; triangles and quadrilaterals (split in
two) are accepted, depth is found by standard name (``sea_floor_depth*``, or ``altitude`` /
``positive = "up"`` bed elevation, negated) or by the names ``depth``/``mesh2d_node_z``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..mesh import ROLES, BoundarySegment, Mesh
from ._common import MeshFileError, ReadResult, build_mesh, check_faces, resolve_crs, where

log = logging.getLogger(__name__)

TOPOLOGY = "mesh2d"


def _crs_attrs(crs):
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    attrs = {k: v for k, v in c.to_cf().items() if v is not None}
    attrs["crs_wkt"] = c.to_wkt()
    epsg = c.to_epsg()
    if epsg:
        attrs["epsg_code"] = f"EPSG:{epsg}"
    attrs.setdefault("long_name", "coordinate reference system")
    return attrs


def write_ugrid(mesh: Mesh, path, *, title: str | None = None) -> Path:
    """Write ``mesh`` as a UGRID NetCDF4 file (to a temporary name, then renamed); returns the path."""
    import netCDF4

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    geographic = mesh.is_geographic
    cartesian = mesh.crs is None
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.11 UGRID-1.0"
        ds.title = title or mesh.name or "coastcast mesh"
        ds.institution = "coastcast"
        ds.source = "coastcast mesh (solver.formats.ugrid)"
        ds.history = "written by coastcast"
        ds.references = "UGRID-1.0 conventions, https://ugrid-conventions.github.io/ugrid-conventions/"
        ds.comment = "depth is positive down; boundary segments: see mesh2d:coastcast_boundary_segments"
        ds.createDimension("nMesh2_node", mesh.n_node)
        ds.createDimension("nMesh2_face", mesh.n_face)
        ds.createDimension("nMesh2_face_nodes", 3)
        be = mesh.boundary_edges
        ds.createDimension("nMesh2_boundary", be.size)
        ds.createDimension("Two", 2)

        topo = ds.createVariable(TOPOLOGY, "i4")
        topo.cf_role = "mesh_topology"
        topo.long_name = "Topology data of 2D unstructured mesh"
        topo.topology_dimension = np.int32(2)
        topo.node_coordinates = "mesh2d_node_x mesh2d_node_y"
        topo.face_node_connectivity = "mesh2d_face_nodes"
        topo.face_dimension = "nMesh2_face"
        topo.face_coordinates = "mesh2d_face_x mesh2d_face_y"
        topo.boundary_node_connectivity = "mesh2d_boundary_nodes"
        if cartesian:
            topo.coastcast_crs = "cartesian"

        fn = ds.createVariable("mesh2d_face_nodes", "i4", ("nMesh2_face", "nMesh2_face_nodes"))
        fn.cf_role = "face_node_connectivity"
        fn.long_name = "Maps every triangular face to its three corner nodes (anticlockwise)"
        fn.start_index = np.int32(0)
        fn[:] = mesh.face_node_connectivity.astype(np.int32)

        bn = ds.createVariable("mesh2d_boundary_nodes", "i4", ("nMesh2_boundary", "Two"))
        bn.cf_role = "boundary_node_connectivity"
        bn.long_name = "Maps every boundary edge to its two nodes (domain on the left)"
        bn.start_index = np.int32(0)
        bn[:] = mesh.edge_node_connectivity[be].astype(np.int32)
        bs = ds.createVariable("mesh2d_boundary_segment", "i4", ("nMesh2_boundary",))
        bs.long_name = "index of the named boundary segment holding each boundary edge (-1: unnamed wall)"
        bs[:] = mesh.boundary_edge_segment.astype(np.int32)

        if geographic:
            names = {"x": ("longitude", "degrees_east"), "y": ("latitude", "degrees_north")}
        elif cartesian:
            names = {"x": (None, "m"), "y": (None, "m")}
        else:
            names = {"x": ("projection_x_coordinate", "m"), "y": ("projection_y_coordinate", "m")}
        for loc, dim, data in (
            ("node", "nMesh2_node", (mesh.node_x, mesh.node_y)),
            ("face", "nMesh2_face", (mesh.face_x, mesh.face_y)),
        ):
            for axis, values in zip("xy", data):
                v = ds.createVariable(f"mesh2d_{loc}_{axis}", "f8", (dim,))
                std, units = names[axis]
                if std and (geographic or loc == "node"):
                    # CF 5.6: a projected grid mapping wants exactly one projection_x/y_coordinate variable
                    v.standard_name = std
                v.units = units
                what = {"node": "nodes", "face": "face centroids"}[loc]
                v.long_name = f"{std or axis + ' coordinate'} of the mesh {what}".replace("_", " ")
                v[:] = values
        if not (cartesian or geographic):
            gm = ds.createVariable("crs", "i4")
            for k, val in _crs_attrs(mesh.crs).items():
                gm.setncattr(k, val)
        d = ds.createVariable("depth", "f8", ("nMesh2_node",))
        d.standard_name = "sea_floor_depth_below_geoid"
        d.long_name = "still-water depth at the nodes"
        d.units = "m"
        d.positive = "down"
        d.mesh = TOPOLOGY
        d.location = "node"
        d.coordinates = "mesh2d_node_x mesh2d_node_y"
        if not (cartesian or geographic):
            d.grid_mapping = "crs"
        d[:] = mesh.depth

        segs = mesh.boundaries
        if segs:
            counts = np.array([s.node_ids.size for s in segs], dtype=np.int32)
            allnodes = np.concatenate([s.node_ids for s in segs]).astype(np.int32) if counts.sum() else np.zeros(0, np.int32)
            strlen = max(1, max(len(s.name.encode()) for s in segs))
            ds.createDimension("nMesh2_segment", len(segs))
            ds.createDimension("nMesh2_segment_node", max(1, allnodes.size))
            ds.createDimension("nMesh2_name_strlen", strlen)
            topo.coastcast_boundary_segments = (
                "mesh2d_segment_node mesh2d_segment_start mesh2d_segment_count mesh2d_segment_role mesh2d_segment_name"
            )
            v = ds.createVariable("mesh2d_segment_node", "i4", ("nMesh2_segment_node",))
            v.long_name = "ordered node ids of the named boundary segments, one segment after the other"
            v.start_index = np.int32(0)
            v[:] = allnodes if allnodes.size else np.zeros(1, np.int32)
            v = ds.createVariable("mesh2d_segment_start", "i4", ("nMesh2_segment",))
            v.long_name = "position of each segment's first node in mesh2d_segment_node"
            v[:] = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int32)
            v = ds.createVariable("mesh2d_segment_count", "i4", ("nMesh2_segment",))
            v.long_name = "number of nodes of each boundary segment"
            v[:] = counts
            v = ds.createVariable("mesh2d_segment_role", "i1", ("nMesh2_segment",))
            v.long_name = "role of each boundary segment"
            v.flag_values = np.arange(len(ROLES), dtype=np.int8)
            v.flag_meanings = " ".join(ROLES)
            v[:] = np.array([ROLES.index(s.role) for s in segs], dtype=np.int8)
            v = ds.createVariable("mesh2d_segment_name", "S1", ("nMesh2_segment", "nMesh2_name_strlen"))
            v.long_name = "name of each boundary segment"
            v[:] = netCDF4.stringtochar(np.array([s.name.encode() for s in segs], dtype=f"S{strlen}"))
    tmp.replace(path)
    return path


def _split(attr):
    return str(attr).split() if attr is not None else []


def read_ugrid(path, crs=None) -> ReadResult:
    """Read the first 2D mesh topology of a UGRID NetCDF file. ``crs``: see :func:`solver.formats.read_mesh`."""
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        ds = netCDF4.Dataset(path)
    except OSError as exc:
        raise MeshFileError(f"{where(path)}cannot open as NetCDF ({exc}); truncated or not a NetCDF file") from None
    notes: list[str] = []
    try:
        ds.set_auto_mask(False)
        topo = next(
            (
                v
                for v in ds.variables.values()
                if getattr(v, "cf_role", None) == "mesh_topology" and int(getattr(v, "topology_dimension", 0)) == 2
            ),
            None,
        )
        if topo is None:
            raise MeshFileError(f"{where(path)}no variable with cf_role = 'mesh_topology' and topology_dimension = 2")

        def var(name, what):
            if name not in ds.variables:
                raise MeshFileError(f"{where(path)}{topo.name}:{what} names {name!r}, which is not in the file")
            return ds.variables[name]

        coords = _split(getattr(topo, "node_coordinates", None))
        if len(coords) != 2:
            raise MeshFileError(f"{where(path)}{topo.name}:node_coordinates must name two variables, found {coords}")
        xv, yv = var(coords[0], "node_coordinates"), var(coords[1], "node_coordinates")
        x = np.asarray(xv[:], dtype=np.float64)
        y = np.asarray(yv[:], dtype=np.float64)
        if getattr(xv, "standard_name", "") == "latitude":
            x, y, xv, yv = y, x, yv, xv
        fname = getattr(topo, "face_node_connectivity", None)
        if fname is None:
            raise MeshFileError(f"{where(path)}{topo.name} has no face_node_connectivity attribute")
        fv = var(fname, "face_node_connectivity")
        raw = np.asarray(fv[:])
        start = int(getattr(fv, "start_index", 0))
        fill = getattr(fv, "_FillValue", None)
        if raw.ndim != 2:
            raise MeshFileError(f"{where(path)}{fname} must be 2D (face, node), found shape {raw.shape}")
        if fv.dimensions[0] != getattr(topo, "face_dimension", fv.dimensions[0]):
            raw = raw.T
        valid = np.ones(raw.shape, dtype=bool) if fill is None else raw != fill
        nv = valid.sum(axis=1)
        raw = raw.astype(np.int64) - start
        if np.all(nv == 3):
            faces = raw[:, :3] if raw.shape[1] == 3 else np.array([r[v] for r, v in zip(raw, valid)])
            face_id = np.arange(faces.shape[0])
        else:
            bad = np.flatnonzero((nv < 3) | (nv > 4))
            if bad.size:
                raise MeshFileError(
                    f"{where(path)}face {int(bad[0])} of {fname} has {int(nv[bad[0]])} nodes; triangles and quadrilaterals only"
                )
            tri = [r[v] for r, v in zip(raw, valid) if v.sum() == 3]
            quads = [r[v] for r, v in zip(raw, valid) if v.sum() == 4]
            faces = np.array(tri + [q[[0, 1, 2]] for q in quads] + [q[[0, 2, 3]] for q in quads], dtype=np.int64)
            face_id = np.r_[np.flatnonzero(nv == 3), np.flatnonzero(nv == 4), np.flatnonzero(nv == 4)]
            notes.append(f"{len(quads)} quadrilaterals were split into two triangles each")
        n = x.size
        bad = np.flatnonzero(((faces < 0) | (faces >= n)).any(axis=1))
        if bad.size:
            raise MeshFileError(
                f"{where(path)}face {int(face_id[bad[0]])} of {fname} refers to node {(faces[bad[0]] + start).tolist()} outside "
                f"{start}..{n - 1 + start} (start_index {start})"
            )
        depth = _find_depth(ds, topo, n, notes)
        file_crs = _file_crs(ds, topo, xv)
        boundaries = _read_segments(ds, topo, path, n)
        title = getattr(ds, "title", path.stem)
    except MeshFileError:
        raise
    except (KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:
        raise MeshFileError(f"{where(path)}malformed UGRID file ({exc})") from None
    finally:
        ds.close()
    bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
    if bad.size:
        raise MeshFileError(f"{where(path)}node {int(bad[0])} has non-finite coordinates; {bad.size} such nodes")
    crs = resolve_crs(path, x, y, crs, file_crs=file_crs, notes=notes)
    n_cw, cw_note = check_faces(path, x, y, faces, None, face_id)
    if cw_note:
        notes.append(cw_note)
    mesh = build_mesh(path, x, y, faces, depth, boundaries, crs, title, notes)
    for msg in notes:
        log.debug("%s: %s", path.name, msg)
    return ReadResult(mesh, "ugrid", tuple(notes))


def _find_depth(ds, topo, n, notes):
    cands = []
    for v in ds.variables.values():
        if v.ndim != 1 or v.shape[0] != n or v.name in _split(getattr(topo, "node_coordinates", "")):
            continue
        std = getattr(v, "standard_name", "")
        positive = str(getattr(v, "positive", "")).lower()
        if std.startswith("sea_floor_depth") or v.name in ("depth", "mesh2d_node_z", "Mesh2_depth", "mesh2d_depth"):
            cands.append((0, v, -1.0 if positive == "up" else 1.0))
        elif std in ("altitude", "height_above_mean_sea_level", "bedrock_altitude", "surface_altitude") or positive == "up":
            cands.append((1, v, -1.0))
    if not cands:
        notes.append("no depth variable found: depth set to 0 m")
        return None
    cands.sort(key=lambda c: c[0])
    _, v, sign = cands[0]
    d = sign * np.asarray(v[:], dtype=np.float64)
    fill = getattr(v, "_FillValue", None)
    if fill is not None:
        d = np.where(np.asarray(v[:]) == fill, np.nan, d)
    if sign < 0:
        notes.append(f"depth taken as minus the bed elevation {v.name!r}")
    return d


def _file_crs(ds, topo, xv):
    if getattr(topo, "coastcast_crs", "") == "cartesian":
        return "cartesian"
    gm_name = getattr(xv, "grid_mapping", None)
    cands = [ds.variables[gm_name]] if gm_name in ds.variables else []
    cands += [v for v in ds.variables.values() if hasattr(v, "crs_wkt") or hasattr(v, "grid_mapping_name")]
    for gm in cands:
        if hasattr(gm, "epsg_code"):
            return str(gm.epsg_code)
        if hasattr(gm, "crs_wkt"):
            return str(gm.crs_wkt)
        try:
            from pyproj import CRS

            return CRS.from_cf({k: gm.getncattr(k) for k in gm.ncattrs()}).to_wkt()
        except Exception:  # noqa: BLE001 - an unreadable grid mapping falls back to the coordinate names
            pass
    if getattr(xv, "standard_name", "") == "longitude" or str(getattr(xv, "units", "")).startswith("degree"):
        return "EPSG:4326"
    return None


def _read_segments(ds, topo, path, n):
    names = _split(getattr(topo, "coastcast_boundary_segments", None))
    if not names:
        return ()
    try:
        node_v, start_v, count_v, role_v, name_v = (ds.variables[k] for k in names)
    except (KeyError, ValueError):
        raise MeshFileError(
            f"{where(path)}{topo.name}:coastcast_boundary_segments must name 5 variables in the file, found {names}"
        ) from None
    import netCDF4

    nodes = np.asarray(node_v[:], dtype=np.int64) - int(getattr(node_v, "start_index", 0))
    starts = np.asarray(start_v[:], dtype=np.int64)
    counts = np.asarray(count_v[:], dtype=np.int64)
    roles = np.asarray(role_v[:], dtype=np.int64)
    meanings = str(getattr(role_v, "flag_meanings", " ".join(ROLES))).split()
    flag_values = np.asarray(getattr(role_v, "flag_values", np.arange(len(meanings)))).tolist()
    seg_names = [s.decode() if isinstance(s, bytes) else str(s) for s in netCDF4.chartostring(np.asarray(name_v[:])).tolist()]
    segs = []
    for k, (s, c, r, nm) in enumerate(zip(starts, counts, roles, seg_names)):
        if s < 0 or s + c > nodes.size:
            raise MeshFileError(f"{where(path)}boundary segment {k} ({nm!r}) runs outside {names[0]} ({s}+{c} > {nodes.size})")
        ids = nodes[s : s + c]
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise MeshFileError(
                f"{where(path)}boundary segment {k} ({nm!r}) refers to node {int(ids.max() if ids.max() >= n else ids.min())}, outside 0..{n - 1}"
            )
        try:
            role = meanings[flag_values.index(int(r))]
        except (ValueError, IndexError):
            raise MeshFileError(
                f"{where(path)}boundary segment {k} ({nm!r}) has role flag {int(r)}, not one of {flag_values}"
            ) from None
        segs.append(BoundarySegment(nm, role, ids))
    return tuple(segs)
