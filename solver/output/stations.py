"""``stations.nc``: water level and depth-averaged velocity at named stations (CF discrete
sampling geometry, ``featureType = "timeSeries"``, orthogonal multidimensional representation)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..locate import locate_points
from ..schedules import TimeInterval
from .cf import (
    FILL_FLOAT,
    RecordWriter,
    global_attributes,
    seconds_since,
    time_attributes,
)
from .names import (
    DEPTH,
    FACE_INDEX,
    LAT,
    LON,
    STATION_DIM,
    STATION_NAME,
    STATION_NAME_DIM,
    TIME,
    ZETA,
    U,
    V,
    X,
    Y,
)
from .ugrid import east_north_basis, velocity_components

log = logging.getLogger(__name__)


class StationError(ValueError):
    """A station that cannot be sampled (outside the mesh, dry, malformed); one-line message."""


@dataclass(frozen=True)
class Station:
    """A named station at (x, y): lon/lat degrees, or metres on a Cartesian mesh."""

    name: str
    x: float
    y: float


def _parse_stations(stations) -> tuple[Station, ...]:
    out = []
    for k, s in enumerate(stations):
        if isinstance(s, Station):
            out.append(s)
            continue
        try:
            name, x, y = s
            st = Station(str(name), float(x), float(y))
        except (TypeError, ValueError):
            raise StationError(f"station {k}: expected (name, lon, lat), got {s!r}") from None
        if not (np.isfinite(st.x) and np.isfinite(st.y)):
            raise StationError(f"station {st.name!r}: position ({st.x}, {st.y}) is not finite")
        out.append(st)
    if not out:
        raise StationError("no stations given")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise StationError(f"station names must be unique; repeated: {', '.join(map(repr, dup))}")
    return tuple(out)


class StationWriter(RecordWriter):
    """Sample the model at stations every ``schedule`` and write ``stations.nc``.

    Parameters
    ----------
    path : final file name; records go to ``<path>.part``, renamed in ``close``
    schedule : default every 10 minutes of model time
    stations : sequence of (name, lon, lat) — (name, x, y) in metres for a Cartesian mesh
    mesh : locate the stations now (errors at construction); otherwise in ``open``
    allow_dry : accept stations whose face is dry at the start (intertidal gauges)
    start, datum, compression, title, institution, comment, publish_start : as for every writer
        (:class:`~solver.output.cf.OutputWriter`)

    Each station takes the values of the face that contains it (the model is cell-centred):
    ``zeta`` = h + z_b of that face (fill value while it is dry), ``u``, ``v`` its depth-averaged
    velocity (0 while dry). Variables are (station, time), float32.
    """

    TITLE = "coastcast station time series"

    def default_schedule(self):
        return TimeInterval(600.0)

    def __init__(self, path, schedule=None, stations=(), *, mesh=None, allow_dry: bool = False, **options):
        super().__init__(path, schedule, **options)
        self.stations = _parse_stations(stations)
        self.allow_dry = allow_dry
        self.faces = None
        """(n_station,) face index of each station, once located."""
        self._mesh = None
        if mesh is not None:
            self.locate(mesh)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stations]

    def _mesh_xy(self, mesh):
        x = np.array([s.x for s in self.stations])
        y = np.array([s.y for s in self.stations])
        if mesh.crs is None or mesh.is_geographic:
            return x, y
        from pyproj import Transformer

        t = Transformer.from_crs("EPSG:4326", mesh.crs, always_xy=True)
        return tuple(np.asarray(a) for a in t.transform(x, y))

    def locate(self, mesh) -> np.ndarray:
        """Find each station's face; a station outside the mesh raises :class:`StationError`."""
        x, y = self._mesh_xy(mesh)
        faces = locate_points(mesh, x, y)
        unit = "m" if mesh.crs is None else "°"
        for s, f in zip(self.stations, faces):
            if f < 0:
                raise StationError(
                    f"station {s.name!r} at ({s.x:.6g}{unit}, {s.y:.6g}{unit}) lies outside mesh {mesh.name or '(unnamed)'!r}"
                )
        self.faces = faces
        self._mesh = mesh
        return faces

    # -- writer protocol ----------------------------------------------------------------------
    def open(self, simulation) -> None:
        model = simulation.model
        mesh = model.mesh
        if self.faces is None or self._mesh is not mesh:
            self.locate(mesh)
        dry = simulation.state.h[self.faces] <= model.dry_depth
        if dry.any() and not self.allow_dry:
            i = int(np.flatnonzero(dry)[0])
            s = self.stations[i]
            f = int(self.faces[i])
            raise StationError(
                f"station {s.name!r} at ({s.x:.6g}, {s.y:.6g}) lies in face {f}, dry at the start "
                f"(bed {model.bed[f]:+.3f} m); move it into the water or pass allow_dry=True"
            )
        start = self.start or simulation.clock.start
        self._start = start
        geographic = mesh.crs is not None
        ds = self._file.create()
        ds.setncatts(
            global_attributes(
                title=self.title,
                institution=self.institution,
                comment=(
                    "Values of the model face (cell-centred finite volume) containing each station; "
                    "zeta is the fill value and u, v are 0 while that face is dry." + (" " + self.comment if self.comment else "")
                ),
                source_detail="solver.output.stations.StationWriter",
                extra={"featureType": "timeSeries", "Conventions": "CF-1.11"},
            )
        )
        n = len(self.stations)
        strlen = max(1, max(len(s.name.encode("utf-8")) for s in self.stations))
        ds.createDimension(STATION_DIM, n)
        ds.createDimension(STATION_NAME_DIM, strlen)
        ds.createDimension(TIME, None)
        v = ds.createVariable(STATION_NAME, "S1", (STATION_DIM, STATION_NAME_DIM))
        v.setncatts({"long_name": "station name", "cf_role": "timeseries_id"})
        import netCDF4

        v[:] = netCDF4.stringtochar(np.array([s.name.encode("utf-8") for s in self.stations], dtype=f"S{strlen}"))
        v.setncattr("_Encoding", "utf-8")
        if geographic:
            cx, cy = (LON, LAT)
            ax = {"standard_name": "longitude", "long_name": "station longitude", "units": "degrees_east"}
            ay = {"standard_name": "latitude", "long_name": "station latitude", "units": "degrees_north"}
        else:
            cx, cy = (X, Y)
            ax = {"standard_name": "projection_x_coordinate", "long_name": "station x (Cartesian)", "units": "m"}
            ay = {"standard_name": "projection_y_coordinate", "long_name": "station y (Cartesian)", "units": "m"}
        for name, attrs, vals in ((cx, ax, [s.x for s in self.stations]), (cy, ay, [s.y for s in self.stations])):
            c = ds.createVariable(name, "f8", (STATION_DIM,))
            c.setncatts(attrs)
            c[:] = vals
        fi = ds.createVariable(FACE_INDEX, "i4", (STATION_DIM,))
        fi.setncatts({"long_name": "0-based index of the mesh face sampled for each station"})
        fi[:] = self.faces.astype(np.int32)
        dp = ds.createVariable(DEPTH, "f4", (STATION_DIM,))
        dp.setncatts(
            {
                "standard_name": self.datum.depth_standard_name,
                "long_name": f"model still-water depth below {self.datum.name} at the station's face",
                "units": "m",
                "positive": "down",
                "coordinates": f"{cy} {cx} {STATION_NAME}",
            }
        )
        dp[:] = np.asarray(-model.bed[self.faces], dtype=np.float32)
        t = ds.createVariable(TIME, "f8", (TIME,))
        t.setncatts(time_attributes(start))
        self._basis = east_north_basis(mesh)
        if geographic:
            vel = (
                ("barotropic_eastward_sea_water_velocity", "eastward"),
                ("barotropic_northward_sea_water_velocity", "northward"),
            )
        else:
            vel = (("barotropic_sea_water_x_velocity", "x"), ("barotropic_sea_water_y_velocity", "y"))
        z = self.compression_options()
        coords = f"{TIME} {cy} {cx} {STATION_NAME}"
        for name, attrs in (
            (
                ZETA,
                {
                    "standard_name": self.datum.elevation_standard_name,
                    "long_name": f"water level above {self.datum.name}",
                    "units": "m",
                },
            ),
            (U, {"standard_name": vel[0][0], "long_name": f"depth-averaged {vel[0][1]} velocity", "units": "m s-1"}),
            (V, {"standard_name": vel[1][0], "long_name": f"depth-averaged {vel[1][1]} velocity", "units": "m s-1"}),
        ):
            var = ds.createVariable(name, "f4", (STATION_DIM, TIME), fill_value=FILL_FLOAT, chunksizes=(n, 256), **z)
            var.setncatts({**attrs, "coordinates": coords})
        self._ds = ds
        self._record = 0

    def sample(self, simulation):
        """(zeta, u, v) at the stations now, (n_station,) float64 each; zeta NaN where dry."""
        model = simulation.model
        state = simulation.state
        f = self.faces
        wet = state.h[f] > model.dry_depth
        u, v = velocity_components(model, state, self._basis)
        return np.where(wet, model.eta(state)[f], np.nan), u[f], v[f]

    def write(self, simulation) -> None:
        """Append one record (skipped before ``publish_start``)."""
        if self.before_publish_start(simulation.clock):
            return
        if self._ds is None:
            self.open(simulation)
        zeta, u, v = self.sample(simulation)
        ds = self._ds
        i = self._record
        ds[TIME][i] = seconds_since(simulation.clock, self._start)
        ds[ZETA][:, i] = np.where(np.isnan(zeta), FILL_FLOAT, zeta).astype(np.float32)
        ds[U][:, i] = u.astype(np.float32)
        ds[V][:, i] = v.astype(np.float32)
        self._record += 1
