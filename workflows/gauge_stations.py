"""Tide gauges as stations of a forecast: where they sit on the mesh, their own tide, datums,
skill and alerts.

Every forecast system gets the catalogue's gauges (:mod:`workflows.gauges`) near its mesh as
stations, besides the user's own (``[gauges]`` in the configuration):

* :func:`place_gauges` puts each gauge on the nearest face whose bed is at least
  ``min_depth_m`` below MSL, when that face's centroid is within ``max_distance_km`` (great-circle
  distance on the sphere of radius 6,371 km); the distance is recorded. A coarse mesh puts
  harbour gauges on land: the nearest face deep enough to stay wet through the tide stands for
  them, and the distance says how far. Co-located copies of one gauge (the same name within
  1 km, e.g. one record from two data centres) are placed once.
* :func:`add_gauge_variables` writes into the published ``stations.nc``, for the gauge stations:
  the gauge id and distance, the astronomical tide predicted from the gauge's own harmonic
  constants (nodal corrections, :meth:`~workflows.gauges.GaugeCatalogue.predict`), the height of
  MSL above chart datum and LAT, MHWS and HAT above MSL, and the water level above chart datum
  and above LAT.
* :func:`cycle_skill` compares the model with each gauge's reference (the harmonic prediction;
  an observation feed can replace it through :class:`workflows.skill.Reference`) and flags every
  station whose forecast exceeds a datum threshold (MHWS, HAT) or a user's ``[[thresholds]]``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from solver.output.names import (
    GAUGE_CHART_DATUM,
    GAUGE_DISTANCE,
    GAUGE_ID,
    HAT_ABOVE_MSL,
    MHWS_ABOVE_MSL,
    MSL_ABOVE_CHART_DATUM,
    MSL_ABOVE_LAT,
    STATION_DIM,
    STATION_NAME,
    TIDE_PREDICTION,
    TIME,
    ZETA,
    ZETA_ABOVE_CHART_DATUM,
    ZETA_ABOVE_LAT,
)

from .gauges import CHART, GaugeCatalogue, load_catalogue

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0
DUPLICATE_KM = 1.0
SKILL_CSV = "skill.csv"
SKILL_COLUMNS = (
    "station",
    "gauge_id",
    "gauge_name",
    "distance_km",
    "reference",
    "n",
    "rmse_m",
    "bias_m",
    "correlation",
    "hw_pairs",
    "hw_time_error_mean_min",
    "hw_height_error_mean_m",
)


class GaugeStationError(ValueError):
    """Gauge stations that cannot be set up (one-line message)."""


@dataclass(frozen=True)
class GaugeStation:
    """A catalogue gauge placed on the mesh.

    ``station``: its name in ``stations.nc``; ``gauge_id``, ``gauge_name``: from the catalogue;
    ``gauge_lon``, ``gauge_lat``: the gauge (degrees); ``lon``, ``lat``: where the model samples
    it (the centroid of the face it was placed on, degrees); ``distance_km``: between the two;
    ``face_depth_m``: that face's mean bed depth below MSL; ``chart_datum``: the gauge's chart datum.
    """

    station: str
    gauge_id: str
    gauge_name: str
    gauge_lon: float
    gauge_lat: float
    lon: float
    lat: float
    distance_km: float
    face_depth_m: float
    chart_datum: str

    def as_dict(self) -> dict:
        return asdict(self)


def _unit_vectors(lon, lat) -> np.ndarray:
    """(n, 3) points on the unit sphere for lon, lat in degrees."""
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def great_circle_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance (km) on a sphere of radius 6,371 km (haversine formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.asarray(lon2) - np.asarray(lon1)) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def face_lonlat(mesh) -> tuple[np.ndarray, np.ndarray]:
    """(n_face,) longitude and latitude (degrees) of the face centroids of a geographic or projected mesh."""
    if mesh.is_geographic:
        return np.asarray(mesh.face_x), np.asarray(mesh.face_y)
    from pyproj import Transformer

    tr = Transformer.from_crs(mesh.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(mesh.face_x), np.asarray(mesh.face_y))
    return np.asarray(lon), np.asarray(lat)


STATION_MAX_KM = 5.0
"""How far a user's station may be moved to the nearest wet face (km)."""
STATION_MIN_DEPTH_M = 0.5
"""A face at least this deep below MSL counts as wet for a user's station (m)."""


@dataclass(frozen=True)
class PlacedStation:
    """A user's station on the mesh: ``station_lon``, ``station_lat`` as given; ``lon``, ``lat``
    where the model samples it (the same point when it lies in a wet face, else the centroid of
    the nearest wet face); ``moved_km`` between the two (0 when not moved)."""

    name: str
    station_lon: float
    station_lat: float
    lon: float
    lat: float
    moved_km: float

    def as_dict(self) -> dict:
        return asdict(self)


def place_stations(
    stations, mesh, *, max_distance_km: float = STATION_MAX_KM, min_depth_m: float = STATION_MIN_DEPTH_M
) -> list[PlacedStation]:
    """The user's stations (objects with ``name``, ``lon``, ``lat``) checked against ``mesh``:
    a station inside a face at least ``min_depth_m`` deep stays where it is; one on land, in a
    shallow face or outside the mesh moves to the centroid of the nearest such face within
    ``max_distance_km``; farther, it is refused with a one-line :class:`GaugeStationError`.
    A Cartesian mesh (no geographic position) keeps the stations as given."""
    from scipy.spatial import cKDTree

    from solver.locate import locate_points

    stations = list(stations)
    if not stations:
        return []
    if mesh.crs is None:
        return [PlacedStation(s.name, s.lon, s.lat, s.lon, s.lat, 0.0) for s in stations]
    lon = np.array([s.lon for s in stations], dtype=float)
    lat = np.array([s.lat for s in stations], dtype=float)
    if mesh.is_geographic:
        x, y = lon, lat
    else:
        from pyproj import Transformer

        x, y = Transformer.from_crs("EPSG:4326", mesh.crs, always_xy=True).transform(lon, lat)
    face = locate_points(mesh, x, y)
    depth = np.asarray(mesh.depth)[mesh.face_node_connectivity].mean(axis=1)
    flon, flat = face_lonlat(mesh)
    wet = np.flatnonzero(depth >= min_depth_m)
    if wet.size == 0:
        raise GaugeStationError(f"no face of the mesh is {min_depth_m:g} m deep: nowhere to place the stations")
    _, j = cKDTree(_unit_vectors(flon[wet], flat[wet])).query(_unit_vectors(lon, lat))
    out = []
    for k, s in enumerate(stations):
        if face[k] >= 0 and depth[face[k]] >= min_depth_m:
            out.append(PlacedStation(s.name, float(lon[k]), float(lat[k]), float(lon[k]), float(lat[k]), 0.0))
            continue
        f = int(wet[j[k]])
        d = float(great_circle_km(lon[k], lat[k], flon[f], flat[f]))
        where = "outside the mesh" if face[k] < 0 else f"in a face {depth[face[k]]:.1f} m deep (on land or too shallow)"
        if d > max_distance_km:
            raise GaugeStationError(
                f"station {s.name!r} at ({lon[k]:.4f}, {lat[k]:.4f}) lies {where} and the nearest wet face is "
                f"{d:.1f} km away (limit {max_distance_km:g} km): move it into the water of the mesh"
            )
        log.info("station %r at (%.4f, %.4f) lies %s: moved %.2f km to the nearest wet face", s.name, lon[k], lat[k], where, d)
        out.append(PlacedStation(s.name, float(lon[k]), float(lat[k]), float(flon[f]), float(flat[f]), d))
    return out


def place_gauges(
    catalogue: GaugeCatalogue,
    mesh,
    *,
    max_distance_km: float = 10.0,
    min_depth_m: float = 2.0,
    taken: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[GaugeStation], dict]:
    """The catalogue's gauges near ``mesh`` as stations, and a summary of the placement.

    ``mesh``: a geographic or projected :class:`solver.mesh.Mesh` (a Cartesian one has no
    gauges). ``taken``: station names already in use (the user's), which gauge stations avoid.
    Returns ``(stations, summary)``; ``summary`` has ``considered`` (gauges in the mesh's box
    widened by ``max_distance_km``), ``placed``, ``too_far`` (ids with their distance, km) and
    ``duplicates`` (ids placed as an earlier copy).
    """
    from scipy.spatial import cKDTree

    summary = {
        "considered": 0,
        "placed": 0,
        "max_distance_km": max_distance_km,
        "min_depth_m": min_depth_m,
        "too_far": [],
        "duplicates": [],
        "catalogue": str(catalogue.path) if catalogue.path else None,
    }
    if mesh.crs is None or catalogue.n_station == 0:
        return [], summary
    flon, flat = face_lonlat(mesh)
    depth = np.asarray(mesh.depth)[mesh.face_node_connectivity].mean(axis=1)
    deep = np.flatnonzero(depth >= min_depth_m)
    if deep.size == 0:
        return [], summary
    pad_lat = max_distance_km / 111.0
    pad_lon = pad_lat / max(math.cos(math.radians(min(89.0, float(np.abs(flat).max())))), 0.05)
    box = (float(flon.min()) - pad_lon, float(flat.min()) - pad_lat, float(flon.max()) + pad_lon, float(flat.max()) + pad_lat)
    near = catalogue.within(box)
    summary["considered"] = near.n_station
    if near.n_station == 0:
        return [], summary
    tree = cKDTree(_unit_vectors(flon[deep], flat[deep]))
    chord, j = tree.query(_unit_vectors(near.lon, near.lat))
    faces = deep[j]
    dist = great_circle_km(near.lon, near.lat, flon[faces], flat[faces])
    out: list[GaugeStation] = []
    names = set(taken)
    for k in range(near.n_station):
        gid, gname = str(near.station_id[k]), str(near.name[k])
        if dist[k] > max_distance_km:
            summary["too_far"].append({"gauge_id": gid, "distance_km": round(float(dist[k]), 2)})
            continue
        twin = next(
            (
                s
                for s in out
                if s.gauge_name == gname and great_circle_km(s.gauge_lon, s.gauge_lat, near.lon[k], near.lat[k]) < DUPLICATE_KM
            ),
            None,
        )
        if twin is not None:
            summary["duplicates"].append({"gauge_id": gid, "placed_as": twin.gauge_id})
            continue
        station = gname if gname not in names else f"{gname} ({gid})"
        names.add(station)
        f = int(faces[k])
        out.append(
            GaugeStation(
                station,
                gid,
                gname,
                float(near.lon[k]),
                float(near.lat[k]),
                float(flon[f]),
                float(flat[f]),
                float(dist[k]),
                float(depth[f]),
                str(near.chart_datum[k]),
            )
        )
    summary["placed"] = len(out)
    return out, summary


def _catalogue_of(stations: list[GaugeStation], path) -> GaugeCatalogue:
    return load_catalogue(path).select([s.gauge_id for s in stations])


def read_station_series(path: Path, variable: str = ZETA):
    """``(names, times, values)`` of a ``stations.nc``: station names (n_station,) str, UTC times
    (n_time,) ``datetime64[ns]``, and ``variable`` (n_station, n_time) float64 with NaN where
    missing."""
    import netCDF4

    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        raw = ds[STATION_NAME][:]
        names = [str(n) for n in (netCDF4.chartostring(raw) if raw.dtype.kind == "S" and raw.ndim == 2 else raw)]
        t = ds[TIME]
        times = netCDF4.num2date(
            t[:],
            t.units,
            calendar=getattr(t, "calendar", "standard"),
            only_use_cftime_datetimes=False,
            only_use_python_datetimes=True,
        )
        values = np.asarray(ds[variable][:], dtype=np.float64)
        fill = getattr(ds[variable], "_FillValue", None)
    if fill is not None and np.isfinite(fill):
        values[values == fill] = np.nan
    times64 = np.array([np.datetime64(x.replace(tzinfo=None), "ns") for x in times])
    return names, times64, values


def add_gauge_variables(stations_nc: Path, stations: list[GaugeStation], catalogue_path) -> None:
    """Write the gauge variables (see the module docstring) into ``stations_nc``, atomically
    (a copy is amended and renamed over the original)."""
    import netCDF4

    if not stations:
        return
    names, times, zeta = read_station_series(stations_nc)
    cat = _catalogue_of(stations, catalogue_path)
    rows = {s.station: k for k, s in enumerate(stations)}
    missing = [s.station for s in stations if s.station not in names]
    if missing:
        raise GaugeStationError(f"{stations_nc}: no series for gauge station(s) {', '.join(missing)}")
    n_station, n_time = zeta.shape
    prediction = np.full((n_station, n_time), np.nan)
    predicted = cat.predict(times, list(range(cat.n_station))) if n_time else np.zeros((0, cat.n_station))
    per = {}
    for name, i in ((n, i) for i, n in enumerate(names) if n in rows):
        k = rows[name]
        prediction[i] = predicted[:, k]
        per[i] = k

    def column(values_by_gauge):
        out = np.full(n_station, np.nan)
        for i, k in per.items():
            out[i] = values_by_gauge[k]
        return out

    idx = list(range(cat.n_station))
    msl_cd = -np.asarray(cat.datum_level(CHART, idx))
    msl_lat = -np.asarray(cat.datum_level("LAT", idx))
    mhws = np.asarray(cat.datum_level("MHWS", idx))
    hat = np.asarray(cat.datum_level("HAT", idx))
    gauge_ids = [""] * n_station
    dist = np.full(n_station, np.nan)
    chart_names = [""] * n_station
    for i, k in per.items():
        gauge_ids[i] = stations[k].gauge_id
        dist[i] = stations[k].distance_km * 1000.0
        chart_names[i] = stations[k].chart_datum
    part = stations_nc.with_name(stations_nc.name + ".gauges.part")
    shutil.copyfile(stations_nc, part)
    try:
        with netCDF4.Dataset(part, "a") as ds:
            encoded = {name: [x.encode("utf-8") for x in values] for name, values in (("id", gauge_ids), ("datum", chart_names))}
            width = max(1, max(len(b) for values in encoded.values() for b in values))
            ds.createDimension("gauge_strlen", width)
            coords = ds[ZETA].getncattr("coordinates") if "coordinates" in ds[ZETA].ncattrs() else None

            def text(name, values, long_name):
                v = ds.createVariable(name, "S1", (STATION_DIM, "gauge_strlen"))
                v.long_name = long_name
                v[:] = netCDF4.stringtochar(np.array([x.encode("utf-8") for x in values], dtype=f"S{width}"))

            text(GAUGE_ID, gauge_ids, "tide-gauge catalogue id of the station (empty for the user's stations)")
            text(GAUGE_CHART_DATUM, chart_names, "name of the chart datum at the gauge")

            def scalar(name, values, long_name, units="m", comment=None):
                v = ds.createVariable(name, "f4", (STATION_DIM,), fill_value=np.float32(np.nan))
                v.long_name, v.units = long_name, units
                if comment:
                    v.comment = comment
                v[:] = values
                return v

            scalar(
                GAUGE_DISTANCE,
                dist,
                "distance from the tide gauge to the model face that stands for it",
                comment="great-circle distance between the gauge and the centroid of the nearest face deep enough to stay wet",
            )
            scalar(MSL_ABOVE_CHART_DATUM, column(msl_cd), "height of mean sea level above the gauge's chart datum")
            scalar(MSL_ABOVE_LAT, column(msl_lat), "height of mean sea level above lowest astronomical tide (LAT)")
            scalar(MHWS_ABOVE_MSL, column(mhws), "height of mean high water springs (MHWS) above mean sea level")
            scalar(HAT_ABOVE_MSL, column(hat), "height of highest astronomical tide (HAT) above mean sea level")

            def series(name, values, long_name, comment):
                v = ds.createVariable(name, "f4", (STATION_DIM, TIME), fill_value=np.float32(np.nan), zlib=True, complevel=4)
                v.long_name, v.units, v.comment = long_name, "m", comment
                if coords:
                    v.coordinates = coords
                v[:] = values
                return v

            series(
                TIDE_PREDICTION,
                prediction,
                "astronomical tide at the gauge predicted from its harmonic constants, above mean sea level",
                "the gauge's own harmonic constants (catalogue), nodal corrections for the forecast dates; "
                "a model of the tide, not an observation",
            )
            series(
                ZETA_ABOVE_CHART_DATUM,
                zeta + column(msl_cd)[:, None],
                "model water level above the gauge's chart datum",
                "zeta + msl_above_chart_datum",
            )
            series(
                ZETA_ABOVE_LAT,
                zeta + column(msl_lat)[:, None],
                "model water level above lowest astronomical tide (LAT)",
                "zeta + msl_above_lat",
            )
        os.replace(part, stations_nc)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _threshold_levels(cfg, stations: list[GaugeStation], cat: GaugeCatalogue, names: list[str]) -> dict[str, dict[str, float]]:
    """``{station: {threshold name: level above MSL (m)}}`` from the datum thresholds of gauge
    stations and the user's ``[[thresholds]]``."""
    levels: dict[str, dict[str, float]] = {n: {} for n in names}
    by_station = {s.station: k for k, s in enumerate(stations)}
    by_id = {s.gauge_id: s.station for s in stations}
    for s, k in by_station.items():
        for d in cfg.gauges.thresholds:
            level = cat.datum_level(d, k)
            if math.isfinite(level):
                levels[s][d] = level
    for t in cfg.thresholds:
        station = by_id.get(t.station, t.station)
        if station not in levels:
            raise GaugeStationError(
                f"[[thresholds]] station {t.station!r} is neither a station of this system nor a gauge placed on its mesh; "
                f"stations: {', '.join(names) or 'none'}"
            )
        if t.datum == "MSL":
            shift = 0.0
        elif station in by_station:
            shift = cat.datum_level(t.datum, by_station[station])
            if not math.isfinite(shift):
                raise GaugeStationError(
                    f'[[thresholds]] {t.name!r} at {station!r}: the gauge has no {t.datum} datum; give datum = "MSL"'
                )
        else:
            raise GaugeStationError(
                f'[[thresholds]] {t.name!r} at {station!r}: datum {t.datum!r} is known only at gauge stations; give datum = "MSL"'
            )
        levels[station][t.name] = t.level_m + shift
    return levels


def cycle_skill(run_dir: Path, cfg, stations: list[GaugeStation], catalogue_path) -> dict:
    """Skill at the gauge stations and threshold alerts of a published cycle.

    Writes ``skill.csv`` (one row per gauge station, columns :data:`SKILL_COLUMNS`) and returns
    the run.json section ``{"skill": {...}, "alerts": [...]}``.
    """
    from .skill import HarmonicPrediction, station_skill, threshold_exceedances

    path = run_dir / "stations.nc"
    result = {"skill": None, "alerts": []}
    if not path.is_file():
        return result
    names, times, zeta = read_station_series(path)
    cat = _catalogue_of(stations, catalogue_path) if stations else None
    levels = _threshold_levels(cfg, stations, cat, names) if (stations or cfg.thresholds) else {}
    rows = []
    for k, s in enumerate(stations):
        i = names.index(s.station)
        sk = station_skill(times, zeta[i], HarmonicPrediction(cat, k))
        d = sk.as_dict()
        hw = d["high_water"]
        rows.append(
            {
                "station": s.station,
                "gauge_id": s.gauge_id,
                "gauge_name": s.gauge_name,
                "distance_km": round(s.distance_km, 3),
                "reference": sk.reference_kind,
                "n": d["n"],
                "rmse_m": d["rmse_m"],
                "bias_m": d["bias_m"],
                "correlation": d["correlation"],
                "hw_pairs": hw["n_paired"],
                "hw_time_error_mean_min": hw["mean_time_error_min"],
                "hw_height_error_mean_m": hw["mean_height_error_m"],
            }
        )
    for name, lv in levels.items():
        if not lv:
            continue
        i = names.index(name)
        for e in threshold_exceedances(times, zeta[i], lv):
            result["alerts"].append(
                {"station": name, **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.items()}}
            )
    if stations:
        rmse = np.array([r["rmse_m"] for r in rows if r["rmse_m"] is not None], dtype=float)
        result["skill"] = {
            "reference": "harmonic prediction from each gauge's constants (TICON-4, NOAA CO-OPS)",
            "n_gauges": len(rows),
            "rmse_median_m": float(np.median(rmse)) if rmse.size else None,
            "rmse_p90_m": float(np.percentile(rmse, 90)) if rmse.size else None,
            "stations": rows,
        }
        part = run_dir / (SKILL_CSV + ".part")
        with open(part, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=SKILL_COLUMNS)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r[k] is None else r[k]) for k in SKILL_COLUMNS})
        os.replace(part, run_dir / SKILL_CSV)
    return result
