"""Reading a cycle's published files for the viewer and the API (no physics, only parsing).

The viewer reads only the run directory's ``fields.nc`` (UGRID-1.0 mesh2d topology, node lon/lat,
``zeta``/``u``/``v`` on nodes or faces, dims (time, node|face)), ``stations.nc`` (CF timeSeries:
``station_name``, ``lon``, ``lat``, ``zeta``/``u``/``v`` (station, time)) and ``max.nc``.
Variables are found by CF standard name first, then by usual names. Parsed meshes are cached per
(path, modification time, size), so a republished file is read again.

All netCDF access holds :data:`NC_LOCK` (the HDF5 library is not thread-safe and the server
answers requests in threads; cycles run in other processes). Payloads are compact JSON: lon/lat rounded to 1e-5° (about 1 m), water level to 1 mm, velocity to
1 mm/s, missing (dry) values as null. Times are seconds since 1970-01-01 UTC.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import netCDF4
import numpy as np

try:  # HDF5 is not thread-safe: share xarray's lock so in-process xarray I/O is serialised with ours
    from xarray.backends.locks import HDF5_LOCK as NC_LOCK
except ImportError:  # pragma: no cover
    import threading

    NC_LOCK = threading.Lock()

ZETA_STANDARD = ("sea_surface_height_above_mean_sea_level", "sea_surface_height_above_geoid",
                 "sea_surface_height", "sea_surface_height_above_reference_datum",
                 "water_surface_height_above_reference_datum")
U_STANDARD = ("barotropic_eastward_sea_water_velocity", "eastward_sea_water_velocity",
              "depth_averaged_eastward_sea_water_velocity")
V_STANDARD = ("barotropic_northward_sea_water_velocity", "northward_sea_water_velocity",
              "depth_averaged_northward_sea_water_velocity")
ZETA_NAMES = ("zeta", "eta", "elev", "elevation", "ssh", "water_level")
U_NAMES = ("u", "ubar", "uvel", "u_velocity")
V_NAMES = ("v", "vbar", "vvel", "v_velocity")


class OutputError(ValueError):
    """A published file the viewer cannot read; the message names the file and what is missing."""


def _key(path: Path):
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def _find_var(ds, standard_names, names, dims_with=None):
    for v in ds.variables.values():
        if getattr(v, "standard_name", None) in standard_names and (dims_with is None or dims_with in v.dimensions):
            return v.name
    for n in names:
        if n in ds.variables and (dims_with is None or dims_with in ds.variables[n].dimensions):
            return n
    return None


def _filled(a) -> np.ndarray:
    if np.ma.isMaskedArray(a):
        return np.ma.filled(a.astype(np.float64), np.nan)
    return np.asarray(a, dtype=np.float64)


def _epoch_seconds(var) -> np.ndarray:
    """CF time variable → (n,) int64 seconds since 1970-01-01 UTC."""
    values = np.asarray(_filled(var[:]))
    dates = netCDF4.num2date(values, var.units, getattr(var, "calendar", "standard"),
                             only_use_cftime_datetimes=False, only_use_python_datetimes=True)
    return np.array([np.datetime64(d.replace(tzinfo=None), "s").astype(np.int64) for d in np.atleast_1d(dates)],
                    dtype=np.int64)


@dataclass(frozen=True)
class FieldsInfo:
    """A fields.nc's mesh and variable names. Arrays: lon, lat (n_node,) °; faces (n_face, 3) 0-based."""

    path: str
    lon: np.ndarray
    lat: np.ndarray
    faces: np.ndarray
    times: np.ndarray          # (n_time,) int64 s since 1970 UTC
    time_dim: str
    zeta: str | None
    u: str | None
    v: str | None
    location: str              # "node" or "face"

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
        zeta = _find_var(ds, ZETA_STANDARD, ZETA_NAMES)
        if zeta is None:
            raise OutputError(f"{name}: no water-level variable (standard_name {ZETA_STANDARD[0]} or name zeta)")
        zv = ds.variables[zeta]
        location = "face" if face_dim in zv.dimensions else "node"
        if location == "node" and node_dim not in zv.dimensions:
            raise OutputError(f"{name}: {zeta} has dimensions {zv.dimensions}, none of them the mesh's nodes or faces")
        time_dim = next((d for d in zv.dimensions if d not in (node_dim, face_dim)), None)
        if time_dim is None or time_dim not in ds.variables:
            raise OutputError(f"{name}: {zeta} has no time dimension with a CF time coordinate")
        times = _epoch_seconds(ds.variables[time_dim])
        dim = face_dim if location == "face" else node_dim
        u = _find_var(ds, U_STANDARD, U_NAMES, dim)
        v = _find_var(ds, V_STANDARD, V_NAMES, dim)
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
        "n_node": int(info.lon.size), "n_face": int(info.faces.shape[0]), "location": info.location,
        "lon": _rounded(info.lon, 5), "lat": _rounded(info.lat, 5),
        "triangles": info.faces.astype(np.int64).ravel().tolist(),
        "times": info.times.tolist(),
        "bbox": [round(float(np.nanmin(info.lon)), 5), round(float(np.nanmin(info.lat)), 5),
                 round(float(np.nanmax(info.lon)), 5), round(float(np.nanmax(info.lat)), 5)],
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
    return _dumps({"index": index, "time": int(info.times[index]), "location": info.location,
                   "zeta": _rounded(z, 3), "u": _rounded(u, 3), "v": _rounded(v, 3)})


def max_json(max_path: Path | None, fields_path: Path) -> bytes:
    """JSON: ``zeta_max`` (m) and ``speed_max`` (m/s) per node/face, from max.nc or else from fields.nc."""
    info = fields_info(fields_path)
    n = info.faces.shape[0] if info.location == "face" else info.lon.size
    zmax = smax = None
    source = "fields.nc"
    if max_path is not None and Path(max_path).exists():
        with NC_LOCK, netCDF4.Dataset(max_path) as ds:
            cands = [v for v in ds.variables.values() if v.ndim == 1 and v.shape[0] == n and v.dtype.kind == "f"]

            def pick(words, avoid=("time",)):
                for v in cands:
                    label = (v.name + " " + getattr(v, "long_name", "") + " " + getattr(v, "standard_name", "")).lower()
                    if any(w in label for w in words) and not any(a in v.name.lower() for a in avoid):
                        return _filled(v[:])
                return None

            zmax = pick(("zeta", "elev", "sea_surface_height", "water_level", "eta"))
            smax = pick(("speed", "velocity", "current"))
            source = "max.nc"
    if zmax is None or smax is None:
        with NC_LOCK, netCDF4.Dataset(fields_path) as ds:
            if zmax is None:
                zmax = np.nanmax(_filled(ds.variables[info.zeta][:]), axis=0)
            if smax is None and info.u and info.v:
                smax = np.nanmax(np.hypot(_filled(ds.variables[info.u][:]), _filled(ds.variables[info.v][:])), axis=0)

    def rng(a):
        return [round(float(np.nanmin(a)), 3), round(float(np.nanmax(a)), 3)] if a is not None and np.isfinite(a).any() else None

    return _dumps({"location": info.location, "source": source, "zeta_max": _rounded(zmax, 3),
                   "speed_max": _rounded(smax, 3), "zeta_max_range": rng(zmax), "speed_max_range": rng(smax)})


def _char_names(var) -> list[str]:
    data = var[:]
    if data.dtype.kind in ("S", "U") and data.ndim > 2:
        data = data.reshape(data.shape[0], -1)
    if data.dtype.kind in ("S", "U") and data.ndim == 2:
        return [b"".join(np.ma.filled(row, b"")).decode().strip() if data.dtype.kind == "S"
                else "".join(row).strip() for row in data]
    return [str(s).strip() for s in np.atleast_1d(data)]


def stations_json(path: Path) -> bytes:
    """JSON: ``stations`` [{name, lon, lat}], ``times`` (s), ``zeta``/``u``/``v`` [station][time]."""
    name = Path(path).name
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        sn = next((v for v in ds.variables.values() if getattr(v, "cf_role", None) == "timeseries_id"), None)
        if sn is None:
            sn = ds.variables.get("station_name")
        if sn is None:
            raise OutputError(f"{name}: no station names (cf_role = 'timeseries_id')")
        names = _char_names(sn)
        lon = next((v for v in ds.variables.values() if getattr(v, "standard_name", "") == "longitude"), None)
        lat = next((v for v in ds.variables.values() if getattr(v, "standard_name", "") == "latitude"), None)
        lon = lon if lon is not None else ds.variables["lon"]
        lat = lat if lat is not None else ds.variables["lat"]
        st_dim = sn.dimensions[0]
        zname = _find_var(ds, ZETA_STANDARD, ZETA_NAMES, st_dim)
        if zname is None:
            raise OutputError(f"{name}: no water-level variable on dimension {st_dim}")
        zv = ds.variables[zname]
        tdim = next(d for d in zv.dimensions if d != st_dim)
        times = _epoch_seconds(ds.variables[tdim])

        def series(vname):
            if vname is None:
                return None
            var = ds.variables[vname]
            a = _filled(var[:])
            if var.dimensions[0] != st_dim:
                a = a.T
            return [_rounded(row, 3) for row in a]

        payload = {
            "stations": [{"name": n, "lon": round(float(x), 5), "lat": round(float(y), 5)}
                         for n, x, y in zip(names, _filled(lon[:]), _filled(lat[:]))],
            "times": times.tolist(),
            "zeta": series(zname),
            "u": series(_find_var(ds, U_STANDARD, U_NAMES, st_dim)),
            "v": series(_find_var(ds, V_STANDARD, V_NAMES, st_dim)),
        }
    return _dumps(payload)


def locate(info: FieldsInfo, lon: float, lat: float):
    """Where (lon, lat) lies: ("face", node ids (3,), barycentric weights (3,), face id) or
    ("nearest_node", [node id], [1.0], None). Containment is tested in lon/lat degrees."""
    f = info.faces
    x, y = info.lon[f], info.lat[f]                      # (n_face, 3)
    x0, y0 = x[:, 0], y[:, 0]
    d1x, d1y, d2x, d2y = x[:, 1] - x0, y[:, 1] - y0, x[:, 2] - x0, y[:, 2] - y0
    det = d1x * d2y - d2x * d1y
    px, py = lon - x0, lat - y0
    with np.errstate(divide="ignore", invalid="ignore"):
        b1 = (px * d2y - d2x * py) / det
        b2 = (d1x * py - px * d1y) / det
    b0 = 1.0 - b1 - b2
    eps = -1e-12
    inside = np.flatnonzero((b0 >= eps) & (b1 >= eps) & (b2 >= eps) & np.isfinite(b1))
    if inside.size:
        k = int(inside[0])
        return "face", f[k], np.array([b0[k], b1[k], b2[k]]), k
    coslat = np.cos(np.radians(lat))
    d2 = ((info.lon - lon) * coslat) ** 2 + (info.lat - lat) ** 2
    n = int(np.nanargmin(d2))
    return "nearest_node", np.array([n]), np.array([1.0]), None


def point_series(path: Path, lon: float, lat: float) -> dict:
    """Time series at (lon, lat): barycentric interpolation of node values in the face that holds
    the point (the face's value for face-located data), else the nearest node's values."""
    info = fields_info(path)
    method, nodes, weights, face = locate(info, lon, lat)
    out = {"lon": lon, "lat": lat, "method": method, "times": info.times.tolist()}
    with NC_LOCK, netCDF4.Dataset(path) as ds:
        for key, vname in (("zeta", info.zeta), ("u", info.u), ("v", info.v)):
            if vname is None:
                out[key] = None
                continue
            var = ds.variables[vname]
            tpos = var.dimensions.index(info.time_dim)
            if info.location == "face":
                idx = [face if face is not None else _nearest_face(info, lon, lat)]
                w = np.array([1.0])
            else:
                idx, w = [int(i) for i in nodes], np.asarray(weights, dtype=np.float64)
            cols = np.stack([_filled(var[(slice(None), i) if tpos == 0 else (i, slice(None))]) for i in idx], axis=-1)
            out[key] = _rounded(cols @ w, 3)
    if method == "nearest_node":
        n = int(nodes[0])
        out["node"] = n
        out["distance_km"] = round(float(np.hypot((info.lon[n] - lon) * np.cos(np.radians(lat)),
                                                  info.lat[n] - lat) * 111.195), 3)
    else:
        out["face"] = int(face)
    return out


def _nearest_face(info: FieldsInfo, lon, lat) -> int:
    cx, cy = info.lon[info.faces].mean(axis=1), info.lat[info.faces].mean(axis=1)
    return int(np.nanargmin(((cx - lon) * np.cos(np.radians(lat))) ** 2 + (cy - lat) ** 2))


HIDDEN_SUFFIXES = (".tmp", ".part", ".lock")


def list_files(run_dir: Path) -> list[dict]:
    """The published files of a run directory: [{name (posix, relative), size (bytes)}], sorted."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or p.is_symlink() or any(part.startswith(".") for part in rel.parts) \
                or p.name.endswith(HIDDEN_SUFFIXES):
            continue
        out.append({"name": rel.as_posix(), "size": p.stat().st_size})
    return out


def safe_file(run_dir: Path, name: str) -> Path | None:
    """The file ``name`` inside ``run_dir`` — None for anything outside it, hidden, a link or absent."""
    if not name or "\\" in name or "\x00" in name:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
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
