"""``restart.nc``: the exact model state for a hot start (the next cycle, or a resumed segment).

The file holds the conserved variables h, hu, hv (float64, bit-exact) on faces, the clock
(start as ISO 8601 UTC, time in s since start, iteration), the accumulated boundary outflow, a
fingerprint of the mesh (n_face, n_node and a SHA-256 of the connectivity and node coordinates)
and, since format 2, the faces by their three nodes (``face_node_connectivity``) with a SHA-256
of the node coordinates alone. :func:`load_restart` refuses a file written for another mesh; a
file of the same mesh whose faces are numbered in another order (the solver's memory order is
its own choice, :func:`solver.connectivity.hilbert_order`) is matched face by face through
their nodes.

A hot start reproduces an uninterrupted run bit for bit when the restarted
:class:`~solver.simulation.Simulation` has the same settings and schedules (they decide where
steps are shortened to land on output times).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

import numpy as np

from ..schedules import TimeInterval
from ..state import Clock, State
from .cf import PartFile, coastcast_version, global_attributes, time_attributes

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""1: faces by position only; 2: also ``face_node_connectivity`` and ``mesh_node_fingerprint``."""


class RestartError(ValueError):
    """A restart file that cannot be used with this model; one-line message."""


def mesh_fingerprint(mesh) -> str:
    """SHA-256 (hex) of the mesh's face_node_connectivity (int64) and node_x, node_y (float64)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(mesh.face_node_connectivity, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(mesh.node_x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(mesh.node_y, dtype="<f8").tobytes())
    return h.hexdigest()


def node_fingerprint(mesh) -> str:
    """SHA-256 (hex) of the mesh's node_x, node_y (float64): the nodes, whatever the face order."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(mesh.node_x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(mesh.node_y, dtype="<f8").tobytes())
    return h.hexdigest()


def _face_keys(face_node_connectivity) -> np.ndarray:
    """(n_face, 3) each face's node ids in increasing order: the face, whatever its numbering and
    the order of its corners."""
    return np.sort(np.asarray(face_node_connectivity, dtype=np.int64), axis=1)


def face_permutation(stored_faces, mesh) -> np.ndarray | None:
    """``p`` (n_face,) with face ``i`` of ``mesh`` the stored face ``p[i]`` (faces named by their
    nodes: ``stored_faces`` (n_face, 3) node ids), or None when the two are not the same faces."""
    a = _face_keys(stored_faces)
    b = _face_keys(mesh.face_node_connectivity)
    if a.shape != b.shape:
        return None
    order_a = np.lexsort(a.T[::-1])
    order_b = np.lexsort(b.T[::-1])
    if not np.array_equal(a[order_a], b[order_b]):
        return None
    p = np.empty(b.shape[0], dtype=np.int64)
    p[order_b] = order_a
    return p


def _depth_hash(mesh) -> str:
    return hashlib.sha256(np.ascontiguousarray(mesh.depth, dtype="<f8").tobytes()).hexdigest()


def write_restart(path, simulation, attributes: dict | None = None) -> Path:
    """Write ``simulation``'s state and clock to ``path`` (via ``<path>.part`` and a rename).

    ``attributes``: extra global attributes (str or numbers), e.g. the fingerprint of the run
    that wrote the state, so that a reader can tell whose state it is.
    """
    mesh = simulation.model.mesh
    clock = simulation.clock
    state = simulation.state
    f = PartFile(path)
    ds = f.create()
    try:
        ds.setncatts(
            global_attributes(
                title="coastcast restart (hot start) state",
                institution="coastcast",
                comment="exact float64 conserved variables on mesh faces; read with solver.output.load_restart",
                source_detail="solver.output.checkpoint.Checkpointer",
                extra={
                    "Conventions": "CF-1.11",
                    "coastcast_restart_format": np.int32(FORMAT_VERSION),
                    "coastcast_version": coastcast_version(),
                    "clock_start": clock.start.isoformat(),
                    "clock_iteration": np.int64(clock.iteration),
                    "mesh_name": mesh.name or "",
                    "mesh_n_face": np.int64(mesh.n_face),
                    "mesh_n_node": np.int64(mesh.n_node),
                    "mesh_fingerprint": mesh_fingerprint(mesh),
                    "mesh_node_fingerprint": node_fingerprint(mesh),
                    "mesh_depth_sha256": _depth_hash(mesh),
                    **(attributes or {}),
                },
            )
        )
        ds.createDimension("nMesh2_face", mesh.n_face)
        ds.createDimension("three", 3)
        c = ds.createVariable("face_node_connectivity", "i4", ("nMesh2_face", "three"), zlib=True, complevel=1)
        c.setncatts(
            {
                "long_name": "the three nodes (0-based) of each face: names the face of each row of h, hu, hv",
                "start_index": np.int32(0),
            }
        )
        c[:] = np.asarray(mesh.face_node_connectivity, dtype=np.int32)
        t = ds.createVariable("time", "f8")
        t.setncatts(time_attributes(clock.start))
        t.assignValue(clock.time)
        for name, arr, attrs in (
            (
                "h",
                state.h,
                {"standard_name": "sea_floor_depth_below_sea_surface", "long_name": "water depth on faces", "units": "m"},
            ),
            ("hu", state.hu, {"long_name": "depth-integrated x (eastward) discharge on faces", "units": "m2 s-1"}),
            ("hv", state.hv, {"long_name": "depth-integrated y (northward) discharge on faces", "units": "m2 s-1"}),
        ):
            v = ds.createVariable(name, "f8", ("nMesh2_face",), zlib=True, complevel=1, shuffle=True)
            v.setncatts(attrs)
            v[:] = arr
        nseg = np.asarray(getattr(simulation, "boundary_outflow", np.zeros(0)), dtype=np.float64)
        ds.createDimension("boundary_segment", nseg.size)
        b = ds.createVariable("boundary_outflow", "f8", ("boundary_segment",))
        b.setncatts({"long_name": "volume that has left through each named boundary segment since the start", "units": "m3"})
        b[:] = nseg
    except BaseException:
        f.abort()
        raise
    return f.publish()


class Checkpointer:
    """Output writer that overwrites ``restart.nc`` with the current state every ``schedule``.

    The default schedule is every 6 hours of model time. The file is replaced atomically, so a
    crash during a write leaves the previous checkpoint intact. Use ``write_initial=False`` (default)
    to skip the checkpoint at t = 0 of a cold start.
    """

    def __init__(self, path, schedule=None, *, write_initial: bool = False, write_final: bool = True):
        self.path = Path(path)
        self.schedule = schedule or TimeInterval(6 * 3600.0)
        self.write_initial = write_initial
        self.write_final = write_final
        self.n_written = 0

    def write(self, simulation) -> None:
        if simulation.clock.iteration == 0 and not self.write_initial:
            return
        write_restart(self.path, simulation)
        self.n_written += 1
        log.info("checkpoint at t = %.1f s (iteration %d) -> %s", simulation.clock.time, simulation.clock.iteration, self.path)

    def close(self, simulation) -> None:
        """Write the final state too (unless the last scheduled write was at this very step)."""
        if self.write_final and not (self.schedule.due(simulation.clock) and self.n_written):
            self.write(simulation)


def load_restart(path, model) -> tuple[State, Clock]:
    """Read ``restart.nc`` for ``model``: returns (State, Clock) exactly as they were written.

    Raises :class:`RestartError` (one line) when the file is missing, malformed or was written
    for another mesh.
    """
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise RestartError(f"restart file {path} does not exist")
    mesh = model.mesh
    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError as exc:
        raise RestartError(f"restart file {path} is not a readable NetCDF file ({exc})") from None
    with ds:
        missing = [
            k
            for k in ("clock_start", "clock_iteration", "mesh_n_face", "mesh_n_node", "mesh_fingerprint")
            if k not in ds.ncattrs()
        ]
        missing += [k for k in ("time", "h", "hu", "hv") if k not in ds.variables]
        if missing:
            raise RestartError(f"restart file {path} lacks {', '.join(missing)}: not a coastcast restart file")
        nf, nn, fp = int(ds.mesh_n_face), int(ds.mesh_n_node), str(ds.mesh_fingerprint)
        here = mesh_fingerprint(mesh)
        order = None  # the file's faces in the model's order, where they are numbered otherwise
        same = (nf, nn, fp) == (mesh.n_face, mesh.n_node, here)
        if not same and _same_nodes(ds, mesh):
            stored = ds["face_node_connectivity"]
            stored.set_auto_mask(False)
            order = face_permutation(stored[:], mesh)
            if order is not None:
                log.info("restart file %s numbers the mesh's faces in another order: matched by their nodes", path)
        if not same and order is None:
            raise RestartError(
                f"restart file {path} was written for mesh {ds.mesh_name!r} (n_face={nf}, n_node={nn}, "
                f"fingerprint {fp[:12]}) but the model's mesh {mesh.name!r} has n_face={mesh.n_face}, "
                f"n_node={mesh.n_node}, fingerprint {here[:12]}; a hot start needs the same mesh"
            )
        if "mesh_depth_sha256" in ds.ncattrs() and str(ds.mesh_depth_sha256) != _depth_hash(mesh):
            log.warning("restart file %s was written with another bathymetry on the same mesh", path)
        arrays = {}
        for k in ("h", "hu", "hv"):
            v = ds[k]
            v.set_auto_mask(False)
            values = np.asarray(v[:], dtype=np.float64)
            arrays[k] = np.ascontiguousarray(values if order is None else values[order])
        tv = ds["time"]
        tv.set_auto_mask(False)
        time = float(tv[...])
        clock = Clock(start=datetime.fromisoformat(str(ds.clock_start)), time=time, iteration=int(ds.clock_iteration))
    return State(arrays["h"], arrays["hu"], arrays["hv"]), clock


def _same_nodes(ds, mesh) -> bool:
    """Whether restart file ``ds`` (format 2) was written for ``mesh``'s nodes and face count."""
    return (
        "face_node_connectivity" in ds.variables
        and "mesh_node_fingerprint" in ds.ncattrs()
        and int(ds.mesh_n_face) == mesh.n_face
        and int(ds.mesh_n_node) == mesh.n_node
        and str(ds.mesh_node_fingerprint) == node_fingerprint(mesh)
    )


def load_boundary_outflow(path) -> np.ndarray:
    """(n_segment,) accumulated boundary outflow (m³) stored in a restart file."""
    import netCDF4

    with netCDF4.Dataset(path, "r") as ds:
        return np.asarray(ds["boundary_outflow"][:], dtype=np.float64)
