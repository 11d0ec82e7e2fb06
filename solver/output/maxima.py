"""``max.nc``: maximum water level and current speed over a run, and when they occurred."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..schedules import IterationInterval
from .cf import (
    FILL_FLOAT,
    OutputWriter,
    global_attributes,
    seconds_since,
    time_attributes,
)
from .names import FACE, SPEED_MAX, TIME, ZETA_MAX, time_of
from .nodal import NodeAverager
from .ugrid import (
    FACE_COORDINATES,
    FACE_DIM,
    NODE_COORDINATES,
    NODE_DIM,
    TOPOLOGY,
    write_topology,
)

log = logging.getLogger(__name__)


class _Running:
    """Running maximum of a (n,) quantity and the model time (s since the file's start) it occurred."""

    def __init__(self, n):
        self.value = np.full(n, -np.inf)
        self.time = np.full(n, np.nan)

    def update(self, values, valid, t):
        new = valid & (values > self.value)
        self.value[new] = values[new]
        self.time[new] = t


class MaximaWriter(OutputWriter):
    """Track per node and per face the maximum water level and current speed and write ``max.nc``.

    Parameters
    ----------
    path : final file name (``max.nc``), written (via ``<path>.part``) in ``close``
    schedule : when to sample; default every time step (``IterationInterval(1)``) so the maxima
        are not those of the output times only
    start, datum, compression, title, institution, comment : as for every writer (:class:`~solver.output.cf.OutputWriter`)
    publish_start : seconds since the clock start before which nothing is sampled (spin-up)

    Face values are the model's; node values are the area-weighted averages over wet faces used
    in ``fields.nc`` (see :class:`~solver.output.NodeAverager`), and the node speed is
    |(ubar, vbar)| of the averaged velocity. Only wet times count; a node or face never wet has the
    fill value. Variables: ``zeta_max``, ``zeta_max_time``, ``speed_max``,
    ``speed_max_time`` (nMesh2_node) and the same with ``_face`` (nMesh2_face).
    """

    TITLE = "coastcast maximum water level and current speed"

    def default_schedule(self):
        return IterationInterval(1)

    def __init__(self, path, schedule=None, **options):
        super().__init__(path, schedule, **options)
        self._opened = False

    def open(self, simulation) -> None:
        mesh = simulation.model.mesh
        self._start = self.start or simulation.clock.start
        self._mesh = mesh
        self._averager = NodeAverager(mesh)
        self.zeta = _Running(mesh.n_node)
        self.speed = _Running(mesh.n_node)
        self.zeta_face = _Running(mesh.n_face)
        self.speed_face = _Running(mesh.n_face)
        self.first_time = None
        self.last_time = None
        self.n_samples = 0
        self._opened = True

    def write(self, simulation) -> None:
        """Fold the current state into the running maxima."""
        if self.before_publish_start(simulation.clock):
            return
        if not self._opened:
            self.open(simulation)
        model = simulation.model
        state = simulation.state
        t = seconds_since(simulation.clock, self._start)
        wet = state.h > model.dry_depth
        eta = model.eta(state)
        u, v = model.velocity(state)
        node_wet, (zn, un, vn) = self._averager(wet, eta, u, v)
        self.zeta.update(zn, node_wet, t)
        self.speed.update(np.where(node_wet, np.hypot(un, vn), 0.0), node_wet, t)
        self.zeta_face.update(eta, wet, t)
        self.speed_face.update(np.hypot(u, v), wet, t)
        if self.first_time is None:
            self.first_time = t
        self.last_time = t
        self.n_samples += 1

    def close(self, simulation=None) -> Path:
        """Write ``max.nc`` (temporary name, then renamed)."""
        if not self._opened:
            if simulation is None:
                raise RuntimeError(f"{self.path}: close() before any sample")
            self.open(simulation)
            self.write(simulation)
        if simulation is not None and self.n_samples == 0:
            self.write(simulation)
        ds = self._file.create()
        try:
            self._write_file(ds)
        except BaseException:
            self._file.abort()
            raise
        return self._file.publish()

    def _write_file(self, ds):
        ds.setncatts(
            global_attributes(
                title=self.title,
                institution=self.institution,
                comment=(
                    f"Maxima over {self.n_samples} samples from time_coverage_start to time_coverage_end. Node values are "
                    "area-weighted averages over the wet faces around each node; never-wet nodes and faces "
                    "hold the fill value." + (" " + self.comment if self.comment else "")
                ),
                source_detail="solver.output.maxima.MaximaWriter",
                extra={
                    "time_coverage_start": self._iso(self.first_time),
                    "time_coverage_end": self._iso(self.last_time),
                },
            )
        )
        write_topology(ds, self._mesh, self.datum, compression=self.compression)
        tattrs = time_attributes(self._start)
        t = ds.createVariable(TIME, "f8")
        t.setncatts(
            {
                **tattrs,
                "long_name": "end of the period of the maxima (UTC); the period is time_coverage_start to time_coverage_end",
            }
        )
        t.assignValue(self.last_time if self.last_time is not None else 0.0)
        z = self.compression_options()
        units = tattrs["units"]
        for suffix, dim, coords, where, zr, sr in (
            ("", NODE_DIM, NODE_COORDINATES, "nodes", self.zeta, self.speed),
            (FACE, FACE_DIM, FACE_COORDINATES, "faces", self.zeta_face, self.speed_face),
        ):
            loc = {"mesh": TOPOLOGY, "location": "node" if dim == NODE_DIM else "face"}
            for name, run, attrs in (
                (
                    ZETA_MAX,
                    zr,
                    {
                        "standard_name": self.datum.elevation_standard_name,
                        "long_name": f"maximum water level above {self.datum.name} at mesh {where}",
                        "units": "m",
                    },
                ),
                (
                    SPEED_MAX,
                    sr,
                    {
                        "standard_name": "sea_water_speed",
                        "long_name": f"maximum depth-averaged current speed at mesh {where}",
                        "units": "m s-1",
                    },
                ),
            ):
                ok = np.isfinite(run.value)
                v = ds.createVariable(name + suffix, "f4", (dim,), fill_value=FILL_FLOAT, **z)
                v.setncatts({**attrs, **loc, "coordinates": f"{coords} {TIME}", "cell_methods": "time: maximum"})
                v[:] = np.where(ok, run.value, FILL_FLOAT).astype(np.float32)
                vt = ds.createVariable(time_of(name + suffix), "f8", (dim,), fill_value=np.nan, **z)
                vt.setncatts(
                    {
                        "long_name": f"time (UTC) of the {attrs['long_name']}",
                        "units": units,
                        "calendar": tattrs["calendar"],
                        **loc,
                        "coordinates": coords,
                    }
                )
                vt[:] = np.where(ok, run.time, np.nan)

    def _iso(self, t):
        from datetime import timedelta

        if t is None:
            return ""
        return (self._start + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")
