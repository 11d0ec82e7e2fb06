"""``fields.nc``: water level and depth-averaged velocity maps on the mesh (UGRID-1.0 + CF-1.11)."""

from __future__ import annotations

import logging

import numpy as np

from ..schedules import TimeInterval
from .cf import (
    FILL_FLOAT,
    RecordWriter,
    global_attributes,
    seconds_since,
    time_attributes,
)
from .names import FACE, TIME, UBAR, VBAR, WET, ZETA
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


class UGRIDFieldWriter(RecordWriter):
    """Write water level and velocities on nodes and faces every ``schedule`` to ``path``.

    Parameters
    ----------
    path : final file name (``fields.nc``); records go to ``<path>.part`` (renamed in ``close``)
    schedule : :class:`~solver.schedules.TimeInterval` (default hourly) or ``IterationInterval``
    start, datum, compression, publish_start, title, institution, comment : as for every
        writer (:class:`~solver.output.cf.OutputWriter`); every variable is chunked one record per chunk

    Variables (float32): ``zeta``, ``ubar``, ``vbar`` (time, nMesh2_node); ``zeta_face``,
    ``ubar_face``, ``vbar_face`` (time, nMesh2_face); ``wet`` / ``wet_face`` (int8 flags);
    ``depth`` / ``depth_face`` (static). Velocities are eastward/northward on geographic and
    projected meshes (grid components rotated to east/north per face), x/y on Cartesian ones.
    """

    TITLE = "coastcast water level and depth-averaged velocity"

    def default_schedule(self):
        return TimeInterval(3600.0)

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
        ds.createDimension(TIME, None)
        t = ds.createVariable(TIME, "f8", (TIME,))
        t.setncatts(time_attributes(start))
        nn, nf = mesh.n_node, mesh.n_face
        z = self.compression_options()

        def var(name, dtype, dim, n, attrs, fill=None):
            v = ds.createVariable(name, dtype, (TIME, dim), chunksizes=(1, n), fill_value=fill, **z)
            loc, coord = ("node", NODE_COORDINATES) if dim == NODE_DIM else ("face", FACE_COORDINATES)
            v.setncatts({**attrs, "mesh": TOPOLOGY, "location": loc, "coordinates": coord})
            return v

        (su, lu), (sv, lv) = _velocity_names(coords)
        for suffix, dim, n, where in (("", NODE_DIM, nn, "nodes"), (FACE, FACE_DIM, nf, "faces")):
            var(
                ZETA + suffix,
                "f4",
                dim,
                n,
                {
                    "standard_name": self.datum.elevation_standard_name,
                    "long_name": f"water level above {self.datum.name} at mesh {where}",
                    "units": "m",
                },
                FILL_FLOAT,
            )
            var(
                UBAR + suffix,
                "f4",
                dim,
                n,
                {"standard_name": su, "long_name": f"depth-averaged {lu} velocity at mesh {where}", "units": "m s-1"},
                FILL_FLOAT,
            )
            var(
                VBAR + suffix,
                "f4",
                dim,
                n,
                {"standard_name": sv, "long_name": f"depth-averaged {lv} velocity at mesh {where}", "units": "m s-1"},
                FILL_FLOAT,
            )
            var(
                WET + suffix,
                "i1",
                dim,
                n,
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
        if self.before_publish_start(simulation.clock):
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
        ds[TIME][i] = seconds_since(simulation.clock, self._start)
        ds[ZETA][i, :] = np.where(node_wet, zn, FILL_FLOAT).astype(np.float32)
        ds[UBAR][i, :] = np.where(node_wet, un, 0.0).astype(np.float32)
        ds[VBAR][i, :] = np.where(node_wet, vn, 0.0).astype(np.float32)
        ds[WET][i, :] = node_wet.astype(np.int8)
        ds[ZETA + FACE][i, :] = np.where(wet, eta, FILL_FLOAT).astype(np.float32)
        ds[UBAR + FACE][i, :] = u.astype(np.float32)
        ds[VBAR + FACE][i, :] = v.astype(np.float32)
        ds[WET + FACE][i, :] = wet.astype(np.int8)
        ds.sync()
        self._record += 1
