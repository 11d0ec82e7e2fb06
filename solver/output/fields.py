"""``fields.nc``: water level and depth-averaged velocity maps on the mesh (UGRID-1.0 + CF-1.11)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..schedules import TimeInterval
from ..state import utc
from .cf import FILL_FLOAT, PartFile, global_attributes, seconds_since, time_attributes
from .cf import datum as _datum
from .nodal import NodeAverager
from .ugrid import (
    FACE_COORDINATES,
    FACE_DIM,
    NODE_COORDINATES,
    NODE_DIM,
    TOPOLOGY,
    east_north_basis,
    velocity_components,
    write_topology,
)

log = logging.getLogger(__name__)

NODE_COMMENT = (
    "The model is cell-centred (finite volumes on faces). Node values are area-weighted averages "
    "of the wet faces around each node, q_n = sum(A_f w_f q_f) / sum(A_f w_f) with w_f = 1 where "
    "the water depth exceeds the model's dry depth; a node with no wet face around it is dry: "
    "zeta there is the fill value and the velocities are 0. The *_face variables hold the "
    "model's own face values."
)


def _velocity_names(coords):
    if coords.geographic:
        return (
            ("barotropic_eastward_sea_water_velocity", "eastward"),
            ("barotropic_northward_sea_water_velocity", "northward"),
        )
    return (("barotropic_sea_water_x_velocity", "x"), ("barotropic_sea_water_y_velocity", "y"))


class UGRIDFieldWriter:
    """Write water level and velocities on nodes and faces every ``schedule`` to ``path``.

    Parameters
    ----------
    path : final file name (``fields.nc``); records go to ``<path>.part`` (renamed in ``close``)
    schedule : :class:`~solver.schedules.TimeInterval` (default hourly) or ``IterationInterval``
    start : aware datetime of the time axis origin ("seconds since start", UTC); default the
        simulation clock's start
    datum : "mean sea level" or "geoid" (standard names of zeta and depth)
    compression : zlib level 0-9 (0: none); every variable is chunked one record per chunk
    publish_start : seconds since the clock's start before which records are not written (spin-up)
    title, institution, comment : global attributes

    Variables (float32): ``zeta``, ``ubar``, ``vbar`` (time, nMesh2_node); ``zeta_face``,
    ``ubar_face``, ``vbar_face`` (time, nMesh2_face); ``wet`` / ``wet_face`` (int8 flags);
    ``depth`` / ``depth_face`` (static). Velocities are eastward/northward on geographic and
    projected meshes (grid components rotated to east/north per face), x/y on Cartesian ones.
    """

    def __init__(
        self,
        path,
        schedule=None,
        *,
        start=None,
        datum: str = "mean sea level",
        compression: int = 4,
        publish_start: float = 0.0,
        title: str = "coastcast water level and depth-averaged velocity",
        institution: str = "coastcast",
        comment: str = "",
    ):
        if not 0 <= int(compression) <= 9:
            raise ValueError(f"compression must be a zlib level 0..9, got {compression}")
        self.path = Path(path)
        self.schedule = schedule or TimeInterval(3600.0)
        self.start = None if start is None else utc(start)
        self.datum = _datum(datum)
        self.compression = int(compression)
        self.publish_start = float(publish_start)
        self.title = title
        self.institution = institution
        self.comment = comment
        self._file = PartFile(self.path)
        self._ds = None
        self._record = 0
        self._averager = None

    @property
    def part_path(self) -> Path:
        """Where records are written until ``close``."""
        return self._file.part

    # -- writer protocol ----------------------------------------------------------------------
    def open(self, simulation) -> None:
        model = simulation.model
        mesh = model.mesh
        start = self.start or simulation.clock.start
        self._start = start
        self._averager = NodeAverager(mesh)
        self._basis = east_north_basis(mesh)
        ds = self._file.create()
        comment = NODE_COMMENT + (" " + self.comment if self.comment else "")
        ds.setncatts(
            global_attributes(
                title=self.title,
                institution=self.institution,
                comment=comment,
                source_detail="solver.output.fields.UGRIDFieldWriter",
                extra={"coastcast_dry_depth_m": float(model.dry_depth), "coastcast_mesh": mesh.name or ""},
            )
        )
        coords = write_topology(ds, mesh, self.datum, compression=self.compression)
        ds.createDimension("time", None)
        t = ds.createVariable("time", "f8", ("time",))
        t.setncatts(time_attributes(start))
        nn, nf = mesh.n_node, mesh.n_face
        z = {"zlib": True, "complevel": self.compression, "shuffle": True} if self.compression else {}

        def var(name, dtype, dim, n, attrs, fill=None):
            v = ds.createVariable(name, dtype, ("time", dim), chunksizes=(1, n), fill_value=fill, **z)
            loc, coord = ("node", NODE_COORDINATES) if dim == NODE_DIM else ("face", FACE_COORDINATES)
            v.setncatts({**attrs, "mesh": TOPOLOGY, "location": loc, "coordinates": coord})
            return v

        (su, lu), (sv, lv) = _velocity_names(coords)
        for suffix, dim, n, where in (("", NODE_DIM, nn, "nodes"), ("_face", FACE_DIM, nf, "faces")):
            var(
                "zeta" + suffix, "f4", dim, n,
                {
                    "standard_name": self.datum.elevation_standard_name,
                    "long_name": f"water level above {self.datum.name} at mesh {where}",
                    "units": "m",
                },
                FILL_FLOAT,
            )
            var("ubar" + suffix, "f4", dim, n, {"standard_name": su, "long_name": f"depth-averaged {lu} velocity at mesh {where}", "units": "m s-1"}, FILL_FLOAT)
            var("vbar" + suffix, "f4", dim, n, {"standard_name": sv, "long_name": f"depth-averaged {lv} velocity at mesh {where}", "units": "m s-1"}, FILL_FLOAT)
            var(
                "wet" + suffix, "i1", dim, n,
                {
                    "long_name": f"wet/dry flag at mesh {where}",
                    "flag_values": np.array([0, 1], dtype=np.int8),
                    "flag_meanings": "dry wet",
                    "comment": "a face is wet where its water depth exceeds coastcast_dry_depth_m; a node where any face around it is wet",
                },
            )
        self._ds = ds
        self._record = 0
        log.info("writing fields to %s", self.part_path)

    def write(self, simulation) -> None:
        """Append one record (skipped before ``publish_start``)."""
        if simulation.clock.time < self.publish_start - 1e-9 * max(1.0, abs(self.publish_start)):
            return
        if self._ds is None:
            self.open(simulation)
        model = simulation.model
        state = simulation.state
        wet = state.h > model.dry_depth
        eta = model.eta(state)
        u, v = velocity_components(model, state, self._basis)
        node_wet, (zn, un, vn) = self._averager(wet, eta, u, v)
        ds = self._ds
        i = self._record
        ds["time"][i] = seconds_since(simulation.clock, self._start)
        ds["zeta"][i, :] = np.where(node_wet, zn, FILL_FLOAT).astype(np.float32)
        ds["ubar"][i, :] = np.where(node_wet, un, 0.0).astype(np.float32)
        ds["vbar"][i, :] = np.where(node_wet, vn, 0.0).astype(np.float32)
        ds["wet"][i, :] = node_wet.astype(np.int8)
        ds["zeta_face"][i, :] = np.where(wet, eta, FILL_FLOAT).astype(np.float32)
        ds["ubar_face"][i, :] = u.astype(np.float32)
        ds["vbar_face"][i, :] = v.astype(np.float32)
        ds["wet_face"][i, :] = wet.astype(np.int8)
        ds.sync()
        self._record += 1

    def close(self, simulation=None) -> Path:
        """Finish the file and publish it under its final name."""
        if self._ds is None:
            if simulation is None:
                raise RuntimeError(f"{self.path}: close() before any record was written")
            self.open(simulation)
        if self._record == 0:
            log.warning("%s has no records (publish_start %.0f s is after the end of the run?)", self.path, self.publish_start)
        self._ds = None
        return self._file.publish()

    def abort(self) -> None:
        """Drop the partial file (e.g. after a failed run)."""
        self._ds = None
        self._file.abort()
