"""Read 10 m wind and mean-sea-level pressure records from CF NetCDF files (lazily, per record).

A file (or a set of files split by time or by variable) qualifies when it holds, on a regular
lon/lat grid with a CF time axis:

* 10 m eastward/northward wind: ``standard_name`` ``eastward_wind``/``northward_wind``, or a
  name such as ``u10``/``v10``, ``U10M``/``V10M``, ``uas``/``vas``; units m/s (or knots);
* mean-sea-level pressure: ``standard_name`` ``air_pressure_at_mean_sea_level``, or a name such
  as ``msl``, ``prmsl``, ``mslp``, ``psl``, ``slp``; units Pa, hPa/mbar or kPa (converted to Pa).

Extra dimensions of size one (``height = 10``) are dropped. Packing (``scale_factor``,
``add_offset``) and ``_FillValue`` are decoded by xarray; only the grid window the mesh needs is
read for each record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .gridded import AtmosphereError, assemble_records, pressure_factor, wind_factor

log = logging.getLogger(__name__)

_STANDARD_NAMES = {
    "u10": ("eastward_wind",),
    "v10": ("northward_wind",),
    "pressure": ("air_pressure_at_mean_sea_level", "air_pressure_at_sea_level"),
}
_NAMES = {
    "u10": ("u10", "u10m", "10u", "uas", "ugrd10m", "ugrd_10maboveground", "u_10m", "wind_u", "u_wind"),
    "v10": ("v10", "v10m", "10v", "vas", "vgrd10m", "vgrd_10maboveground", "v_10m", "wind_v", "v_wind"),
    "pressure": ("msl", "prmsl", "mslp", "psl", "slp", "pmsl", "prmslmsl", "prmsl_meansealevel", "mean_sea_level_pressure"),
}
_DESCRIPTION = {
    "u10": "10 m eastward wind (standard_name 'eastward_wind' or a name like u10, U10M)",
    "v10": "10 m northward wind (standard_name 'northward_wind' or a name like v10, V10M)",
    "pressure": "mean-sea-level pressure (standard_name 'air_pressure_at_mean_sea_level' or a name like msl, prmsl)",
}
_LON_UNITS = {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"}
_LAT_UNITS = {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"}


def _find_variable(ds: xr.Dataset, field: str):
    """The data variable holding ``field`` in ``ds``, or None."""
    by_std = [n for n, v in ds.data_vars.items() if v.attrs.get("standard_name") in _STANDARD_NAMES[field]]
    by_name = [n for n in ds.data_vars if str(n).lower() in _NAMES[field]]
    if len(by_std) == 1:
        return by_std[0]
    if len(by_std) > 1:
        # e.g. winds at several heights: the conventional 10 m name decides
        pick = [n for n in by_std if n in by_name]
        if len(pick) == 1:
            return pick[0]
        return ("ambiguous", by_std)
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        return ("ambiguous", by_name)
    return None


def _axis_kind(ds: xr.Dataset, dim: str) -> str | None:
    if dim not in ds.variables:
        return None
    c = ds[dim]
    if np.issubdtype(c.dtype, np.datetime64):
        return "time"
    if c.dtype == object:
        return "cftime"
    std = c.attrs.get("standard_name", "")
    units = str(c.attrs.get("units", "")).strip().lower()
    axis = c.attrs.get("axis", "")
    name = dim.lower()
    if std == "longitude" or units in _LON_UNITS or name in ("lon", "longitude", "nav_lon"):
        return "lon"
    if std == "latitude" or units in _LAT_UNITS or name in ("lat", "latitude", "nav_lat"):
        return "lat"
    if axis == "T" or std == "time":
        return "undecoded-time"
    return None


class CFNetCDFRecords:
    """Time records of (u10, v10, pressure) from CF NetCDF file(s), read one window at a time.

    ``paths``: one path or a sequence of paths (split by time and/or by variable, same grid).
    Attributes: ``name`` (for messages), ``times`` (n_rec,) datetime64[ns] UTC ascending,
    ``lon`` (nx,) and ``lat`` (ny,) in the files' own order.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path]):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise AtmosphereError("no NetCDF atmosphere file given")
        self.name = str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} files)"
        self._datasets: list[xr.Dataset] = []
        self._vars: list[dict] = []  # per dataset: field -> (varname, dims info, factor)
        self.lon = self.lat = None
        tables: dict[str, dict] = {f: {} for f in _NAMES}
        try:
            for di, path in enumerate(self.paths):
                self._open(di, path, tables)
        except Exception:
            self.close()
            raise
        for f in _NAMES:
            if not tables[f]:
                self.close()
                raise AtmosphereError(f"{self.name}: no {_DESCRIPTION[f]} in any file")
        self.times, self._locators = assemble_records(tables, self.name)
        log.info(
            "%s: %d records %s .. %s",
            self.name,
            self.times.size,
            np.datetime_as_string(self.times[0], unit="m"),
            np.datetime_as_string(self.times[-1], unit="m"),
        )

    def _open(self, di: int, path: Path, tables: dict) -> None:
        if not path.is_file():
            raise AtmosphereError(f"{path}: atmosphere file not found")
        try:
            ds = xr.open_dataset(path, decode_timedelta=False, cache=False)
        except Exception as exc:  # netCDF4/h5netcdf raise many types for a broken file
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise AtmosphereError(f"{path}: cannot be read as NetCDF ({msg})") from None
        self._datasets.append(ds)
        found = {}
        for f in _NAMES:
            hit = _find_variable(ds, f)
            if isinstance(hit, tuple):
                raise AtmosphereError(f"{path}: several candidates for {_DESCRIPTION[f]}: {', '.join(hit[1])}")
            if hit is not None:
                found[f] = hit
        if not found or (len(self.paths) == 1 and len(found) < 3):
            missing = [f for f in _NAMES if f not in found] or list(_NAMES)
            raise AtmosphereError(
                f"{path}: no {_DESCRIPTION[missing[0]]}; variables are: {', '.join(map(str, ds.data_vars)) or 'none'}"
            )
        info = {}
        for f, var in found.items():
            info[f] = self._describe(ds, path, f, var)
            tdim, tvals = info[f]["time"]
            for k, t in enumerate(tvals):
                if t in tables[f]:
                    raise AtmosphereError(
                        f"{path}: {var} at {np.datetime_as_string(t, unit='m')}Z is also in {self.paths[tables[f][t][0]]}"
                    )
                tables[f][t] = (di, k)
        self._vars.append(info)

    def _describe(self, ds: xr.Dataset, path: Path, field: str, var: str) -> dict:
        da = ds[var]
        where = f"{path}: variable {var}"
        kinds = {d: _axis_kind(ds, d) for d in da.dims}
        if "cftime" in kinds.values():
            cal = ds[[d for d, k in kinds.items() if k == "cftime"][0]].encoding.get("calendar", "?")
            raise AtmosphereError(f"{where}: time calendar {cal!r} is not supported; use standard/gregorian")
        if "undecoded-time" in kinds.values():
            raise AtmosphereError(f"{where}: time axis has no CF units ('hours since YYYY-MM-DD ...')")
        tdims = [d for d, k in kinds.items() if k == "time"]
        londims = [d for d, k in kinds.items() if k == "lon"]
        latdims = [d for d, k in kinds.items() if k == "lat"]
        if len(tdims) != 1:
            raise AtmosphereError(f"{where}: needs one CF time dimension, has dims {da.dims}")
        if len(londims) != 1 or len(latdims) != 1:
            raise AtmosphereError(
                f"{where}: dims {da.dims} are not (time, lat, lon) of a regular lon/lat grid "
                "(1-D longitude and latitude coordinates)"
            )
        extra = {d: 0 for d, k in kinds.items() if k is None}
        big = [d for d in extra if da.sizes[d] != 1]
        if big:
            raise AtmosphereError(
                f"{where}: extra dimension {big[0]} of size {da.sizes[big[0]]}; "
                "only time, latitude and longitude may have more than one point"
            )
        lon = np.asarray(ds[londims[0]].values, dtype=np.float64)
        lat = np.asarray(ds[latdims[0]].values, dtype=np.float64)
        if self.lon is None:
            self.lon, self.lat = lon, lat
        elif (
            lon.shape != self.lon.shape
            or lat.shape != self.lat.shape
            or not (np.allclose(lon, self.lon) and np.allclose(lat, self.lat))
        ):
            raise AtmosphereError(f"{where}: grid differs from that of {self.paths[0]}")
        units = da.attrs.get("units")
        factor = pressure_factor(units, where) if field == "pressure" else wind_factor(units, where)
        times = np.asarray(ds[tdims[0]].values).astype("datetime64[ns]")
        if times.size and np.unique(times).size != times.size:
            raise AtmosphereError(f"{where}: time axis has repeated values")
        return {"var": var, "time": (tdims[0], times), "lon": londims[0], "lat": latdims[0], "extra": extra, "factor": factor}

    def read(self, k: int, rows: slice, cols: slice):
        """Record ``k``: (u10 m/s, v10 m/s, pressure Pa), each (n_rows, n_cols) on the window."""
        out = []
        for f, (di, kt) in self._locators[k].items():
            info = self._vars[di][f]
            da = self._datasets[di][info["var"]]
            sel = {info["time"][0]: kt, info["lat"]: rows, info["lon"]: cols, **info["extra"]}
            a = da.isel(sel).transpose(info["lat"], info["lon"]).values.astype(np.float64)
            out.append(a * info["factor"])
        return tuple(out)

    def close(self) -> None:
        for ds in self._datasets:
            ds.close()
        self._datasets = []
