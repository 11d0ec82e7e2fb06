"""The UGRID-1.0 mesh topology shared by the output files (``fields.nc``, ``max.nc``).

Layout (verified with compliance-checker cf:1.11 and ugrid-checker)::

    dimensions: nMesh2_node, nMesh2_face, nMesh2_face_nodes = 3
    int mesh2d                       cf_role = "mesh_topology", topology_dimension = 2, ...
    int mesh2d_face_nodes(nMesh2_face, nMesh2_face_nodes)   anticlockwise, start_index = 0
    double mesh2d_node_x/_y(nMesh2_node), mesh2d_face_x/_y(nMesh2_face)
    float depth(nMesh2_node), depth_face(nMesh2_face)        positive down

Coordinates are longitude/latitude (degrees) for geographic meshes and for projected meshes
(converted with pyproj, the projected CRS is recorded in ``mesh2d:coastcast_crs``); a Cartesian
mesh (``crs=None``) gets x/y in metres with the standard names ``projection_x_coordinate`` /
``projection_y_coordinate``. Face coordinates are the centroids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .names import (
    DEPTH,
    FACE,
    FACE_DIM,
    FACE_NODES,
    FACE_NODES_DIM,
    FACE_X,
    FACE_Y,
    NODE_DIM,
    NODE_X,
    NODE_Y,
    TOPOLOGY,
)

NODE_COORDINATES = f"{NODE_X} {NODE_Y}"
FACE_COORDINATES = f"{FACE_X} {FACE_Y}"


@dataclass(frozen=True)
class Coordinates:
    """Node and face coordinates as written: (n_node,) and (n_face,) arrays, with their kind."""

    node_x: np.ndarray
    node_y: np.ndarray
    face_x: np.ndarray
    face_y: np.ndarray
    geographic: bool
    """True: longitude/latitude degrees; False: Cartesian x/y metres."""


def output_coordinates(mesh) -> Coordinates:
    """Longitude/latitude of nodes and face centroids, or x/y metres for a Cartesian mesh."""
    ll = mesh.node_lonlat
    if ll is None:
        return Coordinates(mesh.node_x, mesh.node_y, mesh.face_x, mesh.face_y, False)
    flon, flat = mesh.face_lonlat
    return Coordinates(np.asarray(ll[0]), np.asarray(ll[1]), np.asarray(flon), np.asarray(flat), True)


def _coord_attrs(geographic: bool, axis: str, where: str) -> dict:
    if geographic:
        if axis == "x":
            return {"standard_name": "longitude", "units": "degrees_east", "long_name": f"longitude of mesh {where}"}
        return {"standard_name": "latitude", "units": "degrees_north", "long_name": f"latitude of mesh {where}"}
    return {
        "standard_name": f"projection_{axis}_coordinate",
        "units": "m",
        "long_name": f"{axis} of mesh {where} (Cartesian metres)",
    }


def write_topology(ds, mesh, datum, *, compression: int = 4) -> Coordinates:
    """Create the dimensions, the ``mesh2d`` topology, coordinates and depth in a netCDF4.Dataset.

    ``datum``: a :class:`solver.output.cf.Datum` naming the depth variables. Returns the written
    :class:`Coordinates`.
    """
    c = output_coordinates(mesh)
    ds.createDimension(NODE_DIM, mesh.n_node)
    ds.createDimension(FACE_DIM, mesh.n_face)
    ds.createDimension(FACE_NODES_DIM, 3)
    zlib = {"zlib": compression > 0, "complevel": max(1, min(int(compression), 9)), "shuffle": True} if compression else {}

    topo = ds.createVariable(TOPOLOGY, "i4")
    topo.setncatts(
        {
            "cf_role": "mesh_topology",
            "long_name": "Topology data of 2D unstructured mesh",
            "topology_dimension": np.int32(2),
            "node_coordinates": NODE_COORDINATES,
            "face_node_connectivity": FACE_NODES,
            "face_dimension": FACE_DIM,
            "face_coordinates": FACE_COORDINATES,
            "coastcast_mesh_name": mesh.name or "",
            "coastcast_crs": "cartesian" if mesh.crs is None else str(mesh.crs),
        }
    )
    topo.assignValue(np.int32(0))

    fn = ds.createVariable(FACE_NODES, "i4", (FACE_DIM, FACE_NODES_DIM), **zlib)
    fn.setncatts(
        {
            "cf_role": "face_node_connectivity",
            "long_name": "Maps every triangular face to its three corner nodes (anticlockwise)",
            "start_index": np.int32(0),
        }
    )
    fn[:] = np.asarray(mesh.face_node_connectivity, dtype=np.int32)

    for name, dim, values, axis, where in (
        (NODE_X, NODE_DIM, c.node_x, "x", "nodes"),
        (NODE_Y, NODE_DIM, c.node_y, "y", "nodes"),
        (FACE_X, FACE_DIM, c.face_x, "x", "face centroids"),
        (FACE_Y, FACE_DIM, c.face_y, "y", "face centroids"),
    ):
        v = ds.createVariable(name, "f8", (dim,), **zlib)
        v.setncatts(_coord_attrs(c.geographic, axis, where))
        v[:] = values

    for name, dim, values, location, coords in (
        (DEPTH, NODE_DIM, mesh.depth, "node", NODE_COORDINATES),
        (DEPTH + FACE, FACE_DIM, mesh.face_depth, "face", FACE_COORDINATES),
    ):
        v = ds.createVariable(name, "f4", (dim,), **zlib)
        v.setncatts(
            {
                "standard_name": datum.depth_standard_name,
                "long_name": f"still-water depth below {datum.name} at mesh {location}s (negative on land)",
                "units": "m",
                "positive": "down",
                "mesh": TOPOLOGY,
                "location": location,
                "coordinates": coords,
            }
        )
        v[:] = np.asarray(values, dtype=np.float32)
    return c


def east_north_basis(mesh):
    """Unit vectors of local east and north at each face centroid, in the mesh's projected x/y.

    Returns ``(east, north)``, each (n_face, 2), for a projected mesh, ``None`` for geographic
    meshes (velocities are already eastward/northward) and Cartesian ones (no geography). Found by
    centred differences of the projection over ±1e-5° (a few metres); for a conformal projection
    (UTM, Lambert conformal, Mercator) they are orthonormal and rotate by the meridian convergence.
    """
    if mesh.crs is None or mesh.is_geographic:
        return None
    from pyproj import Transformer

    inv = Transformer.from_crs(mesh.crs, "EPSG:4326", always_xy=True)
    fwd = Transformer.from_crs("EPSG:4326", mesh.crs, always_xy=True)
    lon, lat = (np.asarray(a) for a in inv.transform(mesh.face_x, mesh.face_y))
    d = 1e-5

    def unit(dlon, dlat):
        x1, y1 = fwd.transform(lon + dlon, lat + dlat)
        x0, y0 = fwd.transform(lon - dlon, lat - dlat)
        v = np.column_stack([np.asarray(x1) - np.asarray(x0), np.asarray(y1) - np.asarray(y0)])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return unit(d, 0.0), unit(0.0, d)


def velocity_components(model, state, basis):
    """Face velocities (u, v), (n_face,) m s⁻¹: eastward/northward where ``basis`` (from
    :func:`east_north_basis`) is given, else the model's own x/y (or east/north) components."""
    u, v = model.velocity(state)
    if basis is None:
        return u, v
    east, north = basis
    return u * east[:, 0] + v * east[:, 1], u * north[:, 0] + v * north[:, 1]
