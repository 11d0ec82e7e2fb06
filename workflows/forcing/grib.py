"""Read 10 m wind and mean-sea-level pressure records from GRIB (1 or 2) files with ecCodes.

GFS-style messages are recognised by their ecCodes ``shortName``: ``10u``, ``10v`` and ``prmsl``
(NCEP, pressure reduced to MSL) or ``msl`` (ECMWF, ARPEGE). The files are scanned once for
the message metadata (validity time, grid, byte offset); a message's values are decoded only
when its record is needed. All messages must share one ``regular_ll`` grid.

ecCodes is used directly rather than through cfgrib: a GFS file mixes ``heightAboveGround`` and
``meanSea`` levels, which cfgrib cannot put into one dataset without one open per level type,
and reading by byte offset keeps the per-record loading lazy and cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .gridded import AtmosphereError, assemble_records, pressure_factor, wind_factor

log = logging.getLogger(__name__)

# shortName -> field; for pressure the first name present at a time wins (prmsl before msl)
_SHORT_NAMES = {"10u": "u10", "10v": "v10", "prmsl": "pressure", "msl": "pressure"}
_PRESSURE_PRIORITY = {"prmsl": 0, "msl": 1}
_GRID_KEYS = (
    "Ni",
    "Nj",
    "latitudeOfFirstGridPointInDegrees",
    "longitudeOfFirstGridPointInDegrees",
    "latitudeOfLastGridPointInDegrees",
    "longitudeOfLastGridPointInDegrees",
    "iScansNegatively",
    "jScansPositively",
    "jPointsAreConsecutive",
)


def _eccodes():
    # The eccodes wheel bundles its own PROJ/SQLite libraries; if it is loaded before pyproj has
    # opened its database, every later pyproj CRS fails ("no database context specified").
    # Opening one CRS first binds pyproj to its own database for the rest of the process.
    try:
        import pyproj

        pyproj.CRS.from_epsg(4326)
    except ImportError:
        pass
    try:
        import eccodes  # the PyPI wheel bundles the ecCodes library (package eccodeslib)
    except (ImportError, RuntimeError) as exc:
        raise AtmosphereError(f"reading GRIB needs the 'eccodes' package ({exc}); pip install eccodes") from None
    return eccodes


def _validity(ec, h) -> np.datetime64:
    date = int(ec.codes_get(h, "validityDate"))
    hhmm = int(ec.codes_get(h, "validityTime"))
    iso = f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}T{hhmm // 100:02d}:{hhmm % 100:02d}"
    return np.datetime64(iso, "ns")


class GribRecords:
    """Time records of (u10, v10, pressure) from GRIB file(s), decoded one message at a time.

    ``paths``: one path or a sequence (e.g. one GFS file per forecast hour). Attributes:
    ``name``, ``times`` (n_rec,) datetime64[ns] UTC ascending, ``lon`` (nx,) and ``lat`` (ny,)
    in the messages' scanning order.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path]):
        self._ec = _eccodes()
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise AtmosphereError("no GRIB atmosphere file given")
        self.name = str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} files)"
        self._grid = None
        self.lon = self.lat = None
        tables: dict[str, dict] = {"u10": {}, "v10": {}, "pressure": {}}
        for path in self.paths:
            self._scan(path, tables)
        for field, what in (("u10", "10u"), ("v10", "10v"), ("pressure", "prmsl or msl")):
            if not tables[field]:
                raise AtmosphereError(f"{self.name}: no GRIB message with shortName {what}")
        self.times, locs = assemble_records(tables, self.name)
        self._locators = [{f: loc[f][1:] for f in loc} for loc in locs]

    def _scan(self, path: Path, tables: dict) -> None:
        ec = self._ec
        if not path.is_file():
            raise AtmosphereError(f"{path}: GRIB file not found")
        n = 0
        with open(path, "rb") as fh:
            while True:
                try:
                    h = ec.codes_grib_new_from_file(fh)
                except ec.GribInternalError as exc:
                    raise AtmosphereError(f"{path}: corrupt or truncated GRIB after {n} good messages ({exc})") from None
                if h is None:
                    break
                n += 1
                try:
                    self._index(ec, h, path, n, tables)
                finally:
                    ec.codes_release(h)
        if n == 0:
            raise AtmosphereError(f"{path}: no GRIB messages (not a GRIB file?)")

    def _index(self, ec, h, path: Path, n: int, tables: dict) -> None:
        short = ec.codes_get(h, "shortName")
        field = _SHORT_NAMES.get(short)
        if field is None:
            return
        where = f"{path}: message {n} ({short})"
        grid_type = ec.codes_get(h, "gridType")
        if grid_type != "regular_ll":
            raise AtmosphereError(f"{where}: gridType {grid_type!r}; only regular_ll grids are supported")
        grid = tuple(ec.codes_get(h, k) for k in _GRID_KEYS)
        if self._grid is None:
            if grid[-1] != 0:
                raise AtmosphereError(f"{where}: jPointsAreConsecutive=1 is not supported")
            ni, nj = grid[0], grid[1]
            lats = ec.codes_get_array(h, "latitudes").reshape(nj, ni)
            lons = ec.codes_get_array(h, "longitudes").reshape(nj, ni)
            self.lat, self.lon = lats[:, 0].astype(np.float64), lons[0, :].astype(np.float64)
            self._grid = grid
        elif grid != self._grid:
            raise AtmosphereError(f"{where}: grid {grid[:6]} differs from the first message's {self._grid[:6]}")
        units = ec.codes_get(h, "units")
        factor = pressure_factor(units, where) if field == "pressure" else wind_factor(units, where)
        t = _validity(ec, h)
        offset = int(ec.codes_get(h, "offset"))
        prio = _PRESSURE_PRIORITY.get(short, 0)
        old = tables[field].get(t)
        if old is not None:
            if field == "pressure" and old[0] != prio:
                if prio < old[0]:
                    tables[field][t] = (prio, path, offset, factor)
                return
            raise AtmosphereError(
                f"{where}: a second {short} message valid at {np.datetime_as_string(t, unit='m')}Z (first in {old[1]})"
            )
        tables[field][t] = (prio, path, offset, factor)

    def _decode(self, path: Path, offset: int) -> np.ndarray:
        ec = self._ec
        with open(path, "rb") as fh:
            fh.seek(offset)
            try:
                h = ec.codes_grib_new_from_file(fh)
            except ec.GribInternalError as exc:
                raise AtmosphereError(f"{path}: corrupt GRIB message at byte {offset} ({exc})") from None
            if h is None:
                raise AtmosphereError(f"{path}: GRIB message at byte {offset} has gone (file changed?)")
            try:
                values = np.asarray(ec.codes_get_values(h), dtype=np.float64)
                if ec.codes_get(h, "bitmapPresent"):
                    values[values == ec.codes_get(h, "missingValue")] = np.nan
            finally:
                ec.codes_release(h)
        return values.reshape(self._grid[1], self._grid[0])

    def read(self, k: int, rows: slice, cols: slice):
        """Record ``k``: (u10 m/s, v10 m/s, pressure Pa), each (n_rows, n_cols) on the window."""
        out = []
        for _field, (path, offset, factor) in self._locators[k].items():
            out.append(self._decode(path, offset)[rows, cols] * factor)
        return tuple(out)

    def close(self) -> None:
        """Nothing stays open between reads."""
