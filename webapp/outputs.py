"""Reading a cycle's published files for the viewer and the API (no physics, only parsing).

The viewer reads only the run directory's ``fields.nc`` (UGRID-1.0 mesh2d topology, node lon/lat,
``zeta``/``u``/``v`` on nodes or faces, dims (time, node|face)), ``stations.nc`` (CF timeSeries:
``station_name``, ``lon``, ``lat``, ``zeta``/``u``/``v`` (station, time); at tide-gauge stations
also ``gauge_id``, ``gauge_chart_datum``, ``gauge_distance``, ``tide_prediction``, the datum
levels and ``zeta_above_chart_datum``/``zeta_above_lat``) and ``max.nc``; the dashboard and the
API read the skill and alerts the cycle recorded in ``run.json`` (``skill.csv`` when run.json
has no skill section). Nothing here computes: values are read, rounded and passed on.
Variables are read by the names the writers write (:mod:`solver.output.names`), not guessed. Parsed meshes are cached per
(path, modification time, size), so a republished file is read again.

All netCDF access holds :data:`NC_LOCK` (the HDF5 library is not thread-safe and the server
answers requests in threads; cycles run in other processes). Payloads are compact JSON: lon/lat rounded to 1e-5° (about 1 m), water level to 1 mm, velocity to
1 mm/s, missing (dry) values as null. Times are seconds since 1970-01-01 UTC; the time series
(stations, a point) also give them as ISO-8601 UTC strings (``times_iso``, ``...Z``) and add the
current's speed and direction (towards, degrees clockwise from north) to ``u`` and ``v``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import netCDF4
import numpy as np

from solver.locate import Locator
from solver.output.names import (
    FACE,
    GAUGE_CHART_DATUM,
    GAUGE_DISTANCE,
    GAUGE_ID,
    GAUGE_LEVELS,
    GAUGE_SERIES,
    LAT,
    LON,
    SPEED_MAX,
    STATION_NAME,
    UBAR,
    VBAR,
    ZETA,
    ZETA_MAX,
    U,
    V,
)

try:  # HDF5 is not thread-safe: share xarray's lock so in-process xarray I/O is serialised with ours
    from xarray.backends.locks import HDF5_LOCK as NC_LOCK
except ImportError:  # pragma: no cover
    import threading

    NC_LOCK = threading.Lock()


class OutputError(ValueError):
    """A published file the viewer cannot read; the message names the file and what is missing."""


def _key(path: Path):
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def _var_on(ds, name, dim=None):
    """``name`` where the file has it (on dimension ``dim`` when given), else None: the names
    are those the writers write (:mod:`solver.output.names`), never guessed."""
    v = ds.variables.get(name)
    return name if v is not None and (dim is None or dim in v.dimensions) else None


def _filled(a) -> np.ndarray:
    if np.ma.isMaskedArray(a):
        return np.ma.filled(a.astype(np.float64), np.nan)
    return np.asarray(a, dtype=np.float64)


def _epoch_seconds(var) -> np.ndarray:
    """CF time variable → (n,) int64 seconds since 1970-01-01 UTC."""
    values = np.asarray(_filled(var[:]))
    dates = netCDF4.num2date(
        values, var.units, getattr(var, "calendar", "standard"), only_use_cftime_datetimes=False, only_use_python_datetimes=True
    )
    return np.array([np.datetime64(d.replace(tzinfo=None), "s").astype(np.int64) for d in np.atleast_1d(dates)], dtype=np.int64)


@dataclass(frozen=True)
class FieldsInfo:
    """A fields.nc's mesh and variable names. Arrays: lon, lat (n_node,) °; faces (n_face, 3) 0-based."""

    path: str
    lon: np.ndarray
    lat: np.ndarray
    faces: np.ndarray
    times: np.ndarray  # (n_time,) int64 s since 1970 UTC
    time_dim: str
    zeta: str | None
    u: str | None
    v: str | None
    location: str  # "node" or "face"

    @property
    def n_time(self) -> int:
        return int(self.times.size)


@lru_cache(maxsize=16)
def _fields_cached(key) -> FieldsInfo:
    path = key[0]
    name = Path(path).name
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        topo = next((v for v in ds.variables.values() if getattr(v, "cf_role", None) == "mesh_topology"), None)
        if topo is None:
            raise OutputError(f"{name}: no variable with cf_role = 'mesh_topology' (not a UGRID file)")
        try:
            xname, yname = topo.node_coordinates.split()[:2]
            fname = topo.face_node_connectivity
        except AttributeError as exc:
            raise OutputError(f"{name}: mesh topology {topo.name!r} lacks {exc.name}") from None
        x, y = ds.variables[xname], ds.variables[yname]
        if getattr(x, "standard_name", "") == "latitude" or getattr(y, "standard_name", "") == "longitude":
            x, y = y, x
        lon, lat = _filled(x[:]), _filled(y[:])
        fv = ds.variables[fname]
        start = int(getattr(fv, "start_index", 0))
        faces = np.ma.filled(fv[:], -1).astype(np.int64)
        if faces.shape[0] == 3 and faces.shape[1] != 3:
            faces = faces.T
        faces = faces[:, :3]
        faces = faces[(faces >= start).all(axis=1)] - start
        face_dim = fv.dimensions[0] if fv.shape[0] == faces.shape[0] else fv.dimensions[-1]
        node_dim = x.dimensions[0]
        zeta = _var_on(ds, ZETA)
        if zeta is None:
            raise OutputError(f"{name}: no water-level variable {ZETA!r}")
        zv = ds.variables[zeta]
        location = "face" if face_dim in zv.dimensions else "node"
        if location == "node" and node_dim not in zv.dimensions:
            raise OutputError(f"{name}: {zeta} has dimensions {zv.dimensions}, none of them the mesh's nodes or faces")
        time_dim = next((d for d in zv.dimensions if d not in (node_dim, face_dim)), None)
        if time_dim is None or time_dim not in ds.variables:
            raise OutputError(f"{name}: {zeta} has no time dimension with a CF time coordinate")
        times = _epoch_seconds(ds.variables[time_dim])
        dim = face_dim if location == "face" else node_dim
        u, v = _var_on(ds, UBAR, dim), _var_on(ds, VBAR, dim)
    return FieldsInfo(path, lon, lat, faces, times, time_dim, zeta, u, v, location)


def fields_info(path: Path) -> FieldsInfo:
    return _fields_cached(_key(path))


def _read_frame(ds, name, info: FieldsInfo, index) -> np.ndarray | None:
    if name is None:
        return None
    var = ds.variables[name]
    sl = tuple(index if d == info.time_dim else slice(None) for d in var.dimensions)
    return _filled(var[sl])


def _rounded(a: np.ndarray | None, digits: int):
    if a is None:
        return None
    r = np.round(a, digits)
    out = r.tolist()
    bad = np.flatnonzero(~np.isfinite(r))
    for i in bad:
        out[i] = None
    return out


def iso_times(times) -> list[str]:
    """Seconds since 1970-01-01 UTC as ISO-8601 UTC strings with a ``Z``: ``2026-11-25T13:00:00Z``."""
    return [np.datetime_as_string(np.datetime64(int(t), "s"), unit="s") + "Z" for t in np.asarray(times, dtype=np.int64)]


def current_series(u, v) -> tuple[list | None, list | None]:
    """Current speed (m/s, 1 mm/s) and direction (degrees clockwise from north the water flows
    towards, 0.1°; None where the speed rounds to 0 or a component is missing) from ``u``
    (eastward) and ``v`` (northward) arrays of any shape; (None, None) without both."""
    if u is None or v is None:
        return None, None
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore"):
        direction = np.where(np.round(speed, 3) > 0, np.mod(np.degrees(np.arctan2(u, v)), 360.0), np.nan)
    direction = np.where(np.round(direction, 1) >= 360.0, 0.0, direction)
    if speed.ndim == 2:
        return [_rounded(r, 3) for r in speed], [_rounded(r, 1) for r in direction]
    return _rounded(speed, 3), _rounded(direction, 1)


@lru_cache(maxsize=16)
def _ranges_cached(key) -> dict:
    info = _fields_cached(key)
    with NC_LOCK, netCDF4.Dataset(key[0]) as ds:
        z = _filled(ds.variables[info.zeta][:])
        zmin, zmax = (float(np.nanmin(z)), float(np.nanmax(z))) if np.isfinite(z).any() else (0.0, 0.0)
        smax = 0.0
        if info.u and info.v:
            sp = np.hypot(_filled(ds.variables[info.u][:]), _filled(ds.variables[info.v][:]))
            smax = float(np.nanmax(sp)) if np.isfinite(sp).any() else 0.0
    return {"zeta_min": round(zmin, 3), "zeta_max": round(zmax, 3), "speed_max": round(smax, 3)}


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


@lru_cache(maxsize=8)
def _mesh_json_cached(key) -> bytes:
    info = _fields_cached(key)
    payload = {
        "n_node": int(info.lon.size),
        "n_face": int(info.faces.shape[0]),
        "location": info.location,
        "lon": _rounded(info.lon, 5),
        "lat": _rounded(info.lat, 5),
        "triangles": info.faces.astype(np.int64).ravel().tolist(),
        "times": info.times.tolist(),
        "bbox": [
            round(float(np.nanmin(info.lon)), 5),
            round(float(np.nanmin(info.lat)), 5),
            round(float(np.nanmax(info.lon)), 5),
            round(float(np.nanmax(info.lat)), 5),
        ],
        "has_velocity": bool(info.u and info.v),
        **_ranges_cached(key),
    }
    return _dumps(payload)


def mesh_json(path: Path) -> bytes:
    """JSON: node ``lon``/``lat`` (°), flat ``triangles`` (3 node ids per face), ``times`` (s), ranges."""
    return _mesh_json_cached(_key(path))


def frame_json(path: Path, index: int) -> bytes:
    """JSON of output time ``index``: ``zeta`` (m), ``u``, ``v`` (m/s) per node (or face), rounded."""
    info = fields_info(path)
    if not 0 <= index < info.n_time:
        raise IndexError(f"time index {index} is outside 0..{info.n_time - 1}")
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        z = _read_frame(ds, info.zeta, info, index)
        u = _read_frame(ds, info.u, info, index)
        v = _read_frame(ds, info.v, info, index)
    return _dumps(
        {
            "index": index,
            "time": int(info.times[index]),
            "location": info.location,
            "zeta": _rounded(z, 3),
            "u": _rounded(u, 3),
            "v": _rounded(v, 3),
        }
    )


def max_json(max_path: Path | None, fields_path: Path) -> bytes:
    """JSON: ``zeta_max`` (m) and ``speed_max`` (m/s) per node/face, from max.nc or else from fields.nc."""
    info = fields_info(fields_path)
    n = info.faces.shape[0] if info.location == "face" else info.lon.size
    zmax = smax = None
    source = "fields.nc"
    if max_path is not None and Path(max_path).exists():
        with NC_LOCK, netCDF4.Dataset(max_path) as ds:
            suffix = FACE if info.location == "face" else ""

            def pick(vname):
                v = ds.variables.get(vname + suffix)
                return _filled(v[:]) if v is not None and v.shape == (n,) else None

            zmax, smax = pick(ZETA_MAX), pick(SPEED_MAX)
            source = "max.nc"
    if zmax is None or smax is None:
        with NC_LOCK, netCDF4.Dataset(fields_path) as ds:
            if zmax is None:
                zmax = np.nanmax(_filled(ds.variables[info.zeta][:]), axis=0)
            if smax is None and info.u and info.v:
                smax = np.nanmax(np.hypot(_filled(ds.variables[info.u][:]), _filled(ds.variables[info.v][:])), axis=0)

    def rng(a):
        return [round(float(np.nanmin(a)), 3), round(float(np.nanmax(a)), 3)] if a is not None and np.isfinite(a).any() else None

    return _dumps(
        {
            "location": info.location,
            "source": source,
            "zeta_max": _rounded(zmax, 3),
            "speed_max": _rounded(smax, 3),
            "zeta_max_range": rng(zmax),
            "speed_max_range": rng(smax),
        }
    )


def _char_names(var) -> list[str]:
    data = var[:]
    if data.dtype.kind in ("S", "U") and data.ndim > 2:
        data = data.reshape(data.shape[0], -1)
    if data.dtype.kind in ("S", "U") and data.ndim == 2:
        return [
            b"".join(np.ma.filled(row, b"")).decode().strip() if data.dtype.kind == "S" else "".join(row).strip() for row in data
        ]
    return [str(s).strip() for s in np.atleast_1d(data)]


def stations_json(path: Path) -> bytes:
    """JSON: ``stations`` [{name, lon, lat, gauge_id, chart_datum, distance_km, datum levels}],
    ``times`` (s), ``zeta``/``u``/``v`` and the gauge series [station][time] (a station without
    a series has null)."""
    return _stations_cached(_key(path))


@lru_cache(maxsize=8)
def _stations_cached(key) -> bytes:
    path = key[0]
    name = Path(path).name
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        missing = [v for v in (STATION_NAME, LON, LAT) if v not in ds.variables]
        if missing:
            raise OutputError(f"{name}: no variable {', '.join(missing)} (station names and positions)")
        sn, lon, lat = ds.variables[STATION_NAME], ds.variables[LON], ds.variables[LAT]
        names = _char_names(sn)
        st_dim = sn.dimensions[0]
        zname = _var_on(ds, ZETA, st_dim)
        if zname is None:
            raise OutputError(f"{name}: no water-level variable {ZETA!r} on dimension {st_dim}")
        zv = ds.variables[zname]
        tdim = next(d for d in zv.dimensions if d != st_dim)
        times = _epoch_seconds(ds.variables[tdim])
        n = len(names)

        def array(vname):
            var = ds.variables[vname]
            a = _filled(var[:])
            if var.ndim == 2 and var.dimensions[0] != st_dim:
                a = a.T
            return a

        def series(vname, sparse=False):
            if vname is None or vname not in ds.variables:
                return None
            rows = array(vname)
            return [None if sparse and not np.isfinite(row).any() else _rounded(row, 3) for row in rows]

        def per_station(vname, digits=3):
            if vname not in ds.variables:
                return [None] * n
            return [round(float(x), digits) if math.isfinite(x) else None for x in array(vname)]

        def text(vname):
            if vname not in ds.variables:
                return [None] * n
            return [t or None for t in _char_names(ds.variables[vname])]

        gauge_id, datum = text(GAUGE_ID), text(GAUGE_CHART_DATUM)
        dist = per_station(GAUGE_DISTANCE, 0)
        levels = {k: per_station(k) for k in GAUGE_LEVELS}
        stations = []
        for i, (nm, x, y) in enumerate(zip(names, _filled(lon[:]), _filled(lat[:]))):
            st = {
                "name": nm,
                "lon": round(float(x), 5),
                "lat": round(float(y), 5),
                "gauge_id": gauge_id[i],
                "chart_datum": datum[i] if gauge_id[i] else None,
                "distance_km": round(dist[i] / 1000.0, 3) if dist[i] is not None else None,
            }
            st.update({k: levels[k][i] for k in GAUGE_LEVELS})
            stations.append(st)
        uname, vname = _var_on(ds, U, st_dim), _var_on(ds, V, st_dim)
        speed, direction = current_series(array(uname) if uname else None, array(vname) if vname else None)
        payload = {
            "stations": stations,
            "times": times.tolist(),
            "times_iso": iso_times(times),
            "zeta": series(zname),
            "u": series(uname),
            "v": series(vname),
            "speed": speed,
            "direction": direction,
        }
        payload.update({k: series(k, sparse=True) for k in GAUGE_SERIES})
    return _dumps(payload)


# ---------------------------------------------------------------- run.json: skill and alerts

SKILL_INTEGERS = ("n", "hw_pairs")
SKILL_TEXT = ("station", "gauge_id", "gauge_name", "reference")
PLACEMENT_KEYS = ("gauge_lon", "gauge_lat", "chart_datum", "face_depth_m")
"""Keys of run.json's ``gauges.stations`` added to each skill row (where the gauge is)."""
ALERT_KEYS = ("station", "threshold", "level", "first_time", "peak_time", "peak_height", "margin", "n_events")


def _finite(obj):
    """``obj`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


@lru_cache(maxsize=64)
def _record_cached(key) -> dict:
    try:
        with open(key[0], encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise OutputError(f"run.json: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise OutputError("run.json: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise OutputError(f"run.json: expected an object, found {type(data).__name__}")
    return _finite(data)


def run_record(run_dir: Path | str | None) -> dict | None:
    """The parsed ``run.json`` of a run directory (cached per file version: read it, do not change
    it), non-finite numbers as None; None if absent. Raises :class:`OutputError` (one line) if
    it is not a JSON object."""
    if not run_dir:
        return None
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return None
    return _record_cached(_key(path))


def _skill_value(column: str, text: str):
    if column in SKILL_TEXT:
        return text
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise OutputError(f"skill.csv: column {column} holds {text!r}, not a number") from None
    if not math.isfinite(value):
        return None
    return int(value) if column in SKILL_INTEGERS else value


@lru_cache(maxsize=16)
def _skill_csv_cached(key) -> tuple:
    rows = []
    with open(key[0], newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "station" not in reader.fieldnames:
            raise OutputError("skill.csv: line 1: no header with a 'station' column")
        for lineno, row in enumerate(reader, start=2):
            try:
                rows.append({k: _skill_value(k, v) for k, v in row.items() if k is not None})
            except OutputError as exc:
                raise OutputError(str(exc).replace("skill.csv:", f"skill.csv: line {lineno}:", 1)) from None
    return tuple(rows)


def read_skill_csv(path: Path) -> list[dict]:
    """Rows of a ``skill.csv`` typed: text columns as str, ``n``/``hw_pairs`` int, others float
    (an empty cell, e.g. no high waters paired, is None)."""
    return [dict(r) for r in _skill_csv_cached(_key(path))]


def cycle_skill(run_dir: Path | str | None) -> dict | None:
    """The skill of a cycle at its tide-gauge stations, or None where it published neither
    run.json nor skill.csv.

    ``{reference, n_gauges, rmse_median_m, rmse_p90_m, stations: [skill.csv row + where the
    gauge is (gauge_lon, gauge_lat, chart_datum, face_depth_m)], placement}`` from run.json's
    ``skill`` and ``gauges`` sections (rows from skill.csv when run.json has no skill section).
    A cycle without gauge stations has ``n_gauges`` 0 and no rows.
    """
    record = run_record(run_dir)
    csv_path = Path(run_dir) / "skill.csv" if run_dir else None
    has_csv = bool(csv_path and csv_path.is_file())
    if record is None and not has_csv:
        return None
    record = record or {}
    skill = record.get("skill") if isinstance(record.get("skill"), dict) else {}
    if "stations" in skill:
        rows = [dict(r) for r in skill.get("stations") or []]
    else:
        rows = read_skill_csv(csv_path) if has_csv else []
    gauges = record.get("gauges") if isinstance(record.get("gauges"), dict) else {}
    where = {g.get("station"): g for g in gauges.get("stations") or [] if isinstance(g, dict)}
    for r in rows:
        g = where.get(r.get("station"), {})
        for k in PLACEMENT_KEYS:
            r.setdefault(k, g.get(k))
    placement = gauges.get("placement")
    if isinstance(placement, dict):
        placement = {k: v for k, v in placement.items() if k != "catalogue"}  # a server path: not the user's
    return {
        "reference": skill.get("reference"),
        "n_gauges": int(skill.get("n_gauges", len(rows)) or 0),
        "rmse_median_m": skill.get("rmse_median_m"),
        "rmse_p90_m": skill.get("rmse_p90_m"),
        "stations": rows,
        "placement": placement if isinstance(placement, dict) else None,
    }


def cycle_alerts(run_dir: Path | str | None) -> list[dict] | None:
    """The threshold alerts run.json recorded (``{station, threshold, level, first_time,
    peak_time, peak_height, margin, n_events}``; heights in m above MSL, times ISO UTC), in its
    order; [] when none; None where the cycle has no run.json or it holds no alerts section
    (a run that did not check thresholds)."""
    record = run_record(run_dir)
    if record is None or not isinstance(record.get("alerts"), list):
        return None
    return [
        {k: a.get(k) for k in ALERT_KEYS} | {k: v for k, v in a.items() if k not in ALERT_KEYS}
        for a in record["alerts"]
        if isinstance(a, dict)
    ]


def cycle_summary(run_dir: Path | str | None) -> dict:
    """What the dashboard shows of a cycle: ``alerts`` (list or None), ``n_alerts``, ``skill``
    (see :func:`cycle_skill`) and ``error`` (one line, where run.json cannot be read)."""
    try:
        alerts, skill = cycle_alerts(run_dir), cycle_skill(run_dir)
    except (OutputError, OSError) as exc:
        return {"alerts": None, "n_alerts": 0, "skill": None, "error": str(exc).splitlines()[0]}
    return {"alerts": alerts, "n_alerts": len(alerts or []), "skill": skill, "error": None}


@lru_cache(maxsize=16)
def _locator_cached(key) -> Locator:
    info = _fields_cached(key)
    return Locator(info.lon, info.lat, info.faces)


def fields_locator(path: Path) -> Locator:
    """The point locator of a fields.nc's mesh, in lon/lat degrees (built once per file version:
    path, modification time and size)."""
    return _locator_cached(_key(path))


def locate(info: FieldsInfo, lon: float, lat: float):
    """Where (lon, lat) lies: ("face", node ids (3,), barycentric weights (3,), face id) or
    ("nearest_node", [node id], [1.0], None). Containment is tested in lon/lat degrees
    (:class:`solver.locate.Locator`: a point on an edge or vertex is inside)."""
    where = fields_locator(Path(info.path)).locate(lon, lat)
    if where.face[0] >= 0:
        return "face", where.nodes[0], where.weights[0], int(where.face[0])
    coslat = np.cos(np.radians(lat))
    d2 = ((info.lon - lon) * coslat) ** 2 + (info.lat - lat) ** 2
    n = int(np.nanargmin(d2))
    return "nearest_node", np.array([n]), np.array([1.0]), None


def point_series(path: Path, lon: float, lat: float) -> dict:
    """Time series at (lon, lat): barycentric interpolation of node values in the face that holds
    the point (the face's value for face-located data), else the nearest node's values."""
    info = fields_info(path)
    method, nodes, weights, face = locate(info, lon, lat)
    out = {"lon": lon, "lat": lat, "method": method, "times": info.times.tolist(), "times_iso": iso_times(info.times)}
    raw = {}
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        for key, vname in (("zeta", info.zeta), ("u", info.u), ("v", info.v)):
            if vname is None:
                out[key] = None
                continue
            var = ds.variables[vname]
            tpos = var.dimensions.index(info.time_dim)
            if info.location == "face":
                idx = [face if face is not None else int(fields_locator(path).nearest_face(lon, lat)[0])]
                w = np.array([1.0])
            else:
                idx, w = [int(i) for i in nodes], np.asarray(weights, dtype=np.float64)
            cols = np.stack([_filled(var[(slice(None), i) if tpos == 0 else (i, slice(None))]) for i in idx], axis=-1)
            raw[key] = cols @ w
            out[key] = _rounded(raw[key], 3)
    out["speed"], out["direction"] = current_series(raw.get("u"), raw.get("v"))
    if method == "nearest_node":
        n = int(nodes[0])
        out["node"] = n
        out["distance_km"] = round(float(np.hypot((info.lon[n] - lon) * np.cos(np.radians(lat)), info.lat[n] - lat) * 111.195), 3)
    else:
        out["face"] = int(face)
    return out


HIDDEN_SUFFIXES = (".tmp", ".part", ".lock", ".lease")
INTERNAL = ("work", "run.lock", "upload")
"""Top-level names of a run directory that are the cycle's working files, not its publication:
``work/`` (plan.json, segment folders and restarts, leases, events, progress) and the writer's
lock. They are neither listed nor served."""

FILE_DESCRIPTIONS = {
    "fields.nc": "water level and depth-averaged velocity on the mesh at every output time, CF/UGRID NetCDF",
    "stations.nc": "station time series of water level and depth-averaged velocity (at tide gauges also "
    "their harmonic tide and datum levels), CF timeSeries NetCDF",
    "max.nc": "maximum water level and current speed on the mesh over the forecast, with their times, NetCDF",
    "restart.nc": "the model state at the restart time, from which the next cycle continues (hot start), NetCDF",
    "run.json": "the run's record: status, timings, configuration, forcing sources, warnings, skill and alerts, JSON",
    "run.log": "the cycle's log, text",
    "config.toml": "the configuration this cycle ran with, TOML",
    "skill.csv": "skill at the tide gauges against their harmonic prediction, one row per gauge, CSV",
}
FIGURE_DESCRIPTIONS = {
    "water_level_high_water.png": "figure: map of the water level and currents at high water, PNG",
    "maxima.png": "figure: maps of the maximum water level and current speed, PNG",
}


def describe_file(name: str) -> str:
    """A one-line description of a published file (``name`` relative to the run directory)."""
    if name in FILE_DESCRIPTIONS:
        return FILE_DESCRIPTIONS[name]
    base = name.rsplit("/", 1)[-1]
    if name.startswith("figures/"):
        if base in FIGURE_DESCRIPTIONS:
            return FIGURE_DESCRIPTIONS[base]
        if base.startswith("station_") and base.endswith(".png"):
            return f"figure: water level and current speed at station {base[len('station_') : -len('.png')]}, PNG"
        return "figure, " + (base.rsplit(".", 1)[-1].upper() if "." in base else "file")
    return {
        ".nc": "NetCDF file",
        ".json": "JSON file",
        ".csv": "CSV table",
        ".png": "figure, PNG",
        ".txt": "text",
        ".toml": "TOML file",
    }.get(Path(base).suffix.lower(), "file")


def human_size(n: int) -> str:
    """A byte count as people read it: ``812 B``, ``14.2 kB``, ``3.4 MB``, ``1.20 GB`` (powers of 1000)."""
    n = int(n)
    if n < 1000:
        return f"{n} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        if n < scale * 1000 or unit == "TB":
            v = n / scale
            return f"{v:.{2 if unit in ('GB', 'TB') else 1}f} {unit}"
    return f"{n} B"  # pragma: no cover


def _published(rel: Path) -> bool:
    parts = rel.parts
    return not (
        not parts or parts[0] in INTERNAL or any(part.startswith(".") for part in parts) or rel.name.endswith(HIDDEN_SUFFIXES)
    )


def list_files(run_dir: Path) -> list[dict]:
    """The published files of a run directory: [{name (posix, relative), size (bytes), size_text,
    description (one line)}]: the outputs first in their usual order, then figures, then anything
    else, by name. Not listed: ``work/``, the lock, hidden files, links and half-written files."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if not p.is_file() or p.is_symlink() or not _published(rel):
            continue
        size = p.stat().st_size
        name = rel.as_posix()
        out.append({"name": name, "size": size, "size_text": human_size(size), "description": describe_file(name)})
    order = list(FILE_DESCRIPTIONS)

    def key(f):
        name = f["name"]
        if name in order:
            return (0, order.index(name), name)
        return (1 if name.startswith("figures/") else 2, 0, name)

    return sorted(out, key=key)


def safe_file(run_dir: Path, name: str) -> Path | None:
    """The file ``name`` inside ``run_dir`` — None for anything outside it, hidden, a link or absent."""
    if not name or "\\" in name or "\x00" in name:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or not _published(Path(*parts)):
        return None
    root = Path(run_dir).resolve()
    target = root.joinpath(*parts)
    if target.is_symlink() or not target.is_file():
        return None
    try:
        target.resolve().relative_to(root)
    except ValueError:
        return None
    return target
