"""Regular lon/lat grids: bilinear weights to mesh nodes, record assembly and unit handling.

This module holds what every gridded atmospheric source shares, whatever its file format:

* :func:`bilinear_weights` computes, once per source grid, the four corner indices and weights
  that carry a field on a regular (or rectilinear) lon/lat grid to scattered mesh nodes.
  Longitudes may be 0..360 or -180..180, may wrap through the grid's seam (a NOMADS sub-region
  350..5 E) and may cover the globe (periodic); latitudes may ascend or descend. Only the
  window of rows and columns the nodes need is ever read.
* :func:`assemble_records` merges per-variable ``{time: locator}`` tables from one or more files
  into one time axis with the three fields (u10, v10, pressure) at every record.
* :func:`wind_factor` and :func:`pressure_factor` turn a ``units`` string into the factor to SI.

Bilinear interpolation on cell ``[x0, x1] x [y0, y1]`` with ``fx = (x - x0)/(x1 - x0)`` and
``fy = (y - y0)/(y1 - y0)``:
``f = (1-fx)(1-fy) f00 + fx(1-fy) f10 + (1-fx) fy f01 + fx fy f11``
(Press et al., Numerical Recipes, 3rd ed., 2007, section 3.6). It reproduces any field linear
in lon and lat exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

FIELDS = ("u10", "v10", "pressure")

# Plausibility bounds (SI) checked on every record: the lowest observed MSLP is 870 hPa
# (Typhoon Tip, 1979), the highest 1084 hPa; 10 m winds above 150 m/s do not occur.
PRESSURE_RANGE_PA = (80_000.0, 110_000.0)
WIND_MAX_MS = 150.0


class AtmosphereError(ValueError):
    """An atmospheric forcing that cannot be used; the one-line message says what and where."""


_WIND_UNITS = {
    1.0: {
        "m s-1",
        "m/s",
        "m s**-1",
        "m.s-1",
        "ms-1",
        "m s^-1",
        "m sec-1",
        "meter second-1",
        "meters second-1",
        "metre second-1",
        "metres second-1",
        "meter/second",
        "meters/second",
        "metre/second",
        "metres/second",
        "m*s-1",
        "m s^(-1)",
        "m.s**-1",
    },
    0.514444: {"knots", "knot", "kt", "kts"},
}
_PRESSURE_UNITS = {
    1.0: {"pa", "pascal", "pascals"},
    100.0: {"hpa", "mbar", "mb", "millibar", "millibars", "hectopascal", "hectopascals"},
    1000.0: {"kpa", "kilopascal", "kilopascals"},
}


def _norm_units(units: str) -> str:
    return " ".join(str(units).strip().split())


def wind_factor(units: str | None, where: str) -> float:
    """Factor that turns a wind speed in ``units`` into m/s; raises :class:`AtmosphereError`."""
    if units is None or not str(units).strip():
        raise AtmosphereError(f"{where}: no units attribute; expected 'm s-1' (or knots)")
    u = _norm_units(units)
    for factor, names in _WIND_UNITS.items():
        if u in names or u.lower() in names:
            return factor
    raise AtmosphereError(f"{where}: units {units!r} are not a wind speed; expected 'm s-1' or knots")


def pressure_factor(units: str | None, where: str) -> float:
    """Factor that turns a pressure in ``units`` into Pa (hPa/mbar x 100, kPa x 1000)."""
    if units is None or not str(units).strip():
        raise AtmosphereError(f"{where}: no units attribute; expected 'Pa' or 'hPa'")
    u = _norm_units(units).lower()
    for factor, names in _PRESSURE_UNITS.items():
        if u in names:
            return factor
    raise AtmosphereError(f"{where}: units {units!r} are not a pressure; expected 'Pa' or 'hPa'")


@dataclass(frozen=True)
class BilinearWeights:
    """Interpolation from a window of a lon/lat grid to ``n`` mesh nodes.

    ``rows``/``cols``: the window (slices in the source array's own row/column order, rows = the
    latitude axis, columns = the longitude axis). ``index``: (n, 4) flat indices into the window
    array of shape ``window_shape`` = (n_rows, n_cols). ``weight``: (n, 4) bilinear weights, each
    row summing to 1.
    """

    rows: slice
    cols: slice
    window_shape: tuple[int, int]
    index: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)

    def apply(self, window: np.ndarray) -> np.ndarray:
        """Field on the window, shape ``window_shape`` -> values at the nodes, shape (n,)."""
        window = np.asarray(window, dtype=np.float64)
        if window.shape != self.window_shape:
            raise AtmosphereError(f"field window has shape {window.shape}, expected {self.window_shape}")
        return np.einsum("nk,nk->n", window.reshape(-1)[self.index], self.weight)


def _ascending_axis(coord: np.ndarray, name: str, where: str, wrap: bool):
    """Return (ascending coordinate values, native index of each) for a 1-D grid axis."""
    c = np.asarray(coord, dtype=np.float64)
    if c.ndim != 1 or c.size < 2:
        raise AtmosphereError(f"{where}: {name} must be a 1-D axis with at least 2 points, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise AtmosphereError(f"{where}: {name} coordinate has non-finite values")
    if wrap:
        c = c[0] + np.unwrap(c - c[0], period=360.0)
    d = np.diff(c)
    native = np.arange(c.size)
    if np.all(d > 0):
        return c, native
    if np.all(d < 0):
        return c[::-1].copy(), native[::-1].copy()
    raise AtmosphereError(f"{where}: {name} coordinate is not strictly monotonic; not a regular lon/lat grid")


def _cell(axis: np.ndarray, x: np.ndarray):
    i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
    f = (x - axis[i]) / (axis[i + 1] - axis[i])
    return i, np.clip(f, 0.0, 1.0)


def bilinear_weights(grid_lon, grid_lat, node_lon, node_lat, where: str, tol: float = 1e-6) -> BilinearWeights:
    """Bilinear weights from a lon/lat grid to nodes.

    ``grid_lon``: (nx,) degrees east, any convention, ascending or descending, may wrap through
    the 0/360 or -180/180 seam. ``grid_lat``: (ny,) degrees north, ascending or descending.
    ``node_lon``/``node_lat``: (n,) degrees. A grid spanning 360 degrees is periodic in longitude.
    Raises :class:`AtmosphereError` naming the first node outside the grid.
    """
    node_lon = np.asarray(node_lon, dtype=np.float64).ravel()
    node_lat = np.asarray(node_lat, dtype=np.float64).ravel()
    if node_lon.shape != node_lat.shape:
        raise AtmosphereError(f"node_lon {node_lon.shape} and node_lat {node_lat.shape} differ in shape")
    lon, lon_native = _ascending_axis(grid_lon, "longitude", where, wrap=True)
    lat, lat_native = _ascending_axis(grid_lat, "latitude", where, wrap=False)
    nx = lon.size
    step = float(np.median(np.diff(lon)))
    if abs(lon[-1] - lon[0] + step - 360.0) < 1e-3 * step:
        # Periodic: the cell between the last column and the first one, 360 degrees on.
        lon = np.append(lon, lon[0] + 360.0)
        lon_native = np.append(lon_native, lon_native[0])
    if lon[-1] - lon[0] > 360.0 + tol:
        raise AtmosphereError(f"{where}: longitude spans {lon[-1] - lon[0]:.3f} degrees, more than 360")
    # Bring node longitudes into [lon0, lon0 + 360), allowing a round-off undershoot at lon0.
    x = lon[0] + np.mod(node_lon - lon[0] + tol, 360.0) - tol
    y = node_lat
    outside = (x > lon[-1] + tol) | (y < lat[0] - tol) | (y > lat[-1] + tol) | ~np.isfinite(y)
    if np.any(outside):
        bad = np.flatnonzero(outside)
        k = int(bad[0])
        raise AtmosphereError(
            f"{where}: node {k} at lon {node_lon[k]:.4f}, lat {node_lat[k]:.4f} lies outside the grid "
            f"(lon {lon[0]:.4f}..{lon[-1]:.4f}, lat {lat[0]:.4f}..{lat[-1]:.4f}); "
            f"{bad.size} of {node_lon.size} nodes outside"
        )
    i, fx = _cell(lon, x)
    j, fy = _cell(lat, y)
    ci = np.stack([lon_native[i], lon_native[i + 1]], axis=1)  # (n, 2) native columns
    rj = np.stack([lat_native[j], lat_native[j + 1]], axis=1)  # (n, 2) native rows
    r0, r1 = int(rj.min()), int(rj.max()) + 1
    c0, c1 = int(ci.min()), int(ci.max()) + 1
    ncol = c1 - c0
    rows = rj - r0
    cols = ci - c0
    index = np.stack(
        [
            rows[:, 0] * ncol + cols[:, 0],
            rows[:, 0] * ncol + cols[:, 1],
            rows[:, 1] * ncol + cols[:, 0],
            rows[:, 1] * ncol + cols[:, 1],
        ],
        axis=1,
    )
    weight = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    log.debug(
        "%s: bilinear weights for %d nodes, window rows %d:%d cols %d:%d (grid %d x %d)",
        where,
        node_lon.size,
        r0,
        r1,
        c0,
        c1,
        lat.size,
        nx,
    )
    return BilinearWeights(slice(r0, r1), slice(c0, c1), (r1 - r0, ncol), index, weight)


def assemble_records(tables: Mapping[str, Mapping[np.datetime64, object]], where: str):
    """Merge per-field ``{time: locator}`` tables into one time axis.

    ``tables``: for each name in :data:`FIELDS`, a mapping from ``datetime64[ns]`` to whatever the
    reader needs to load that field at that time. Returns ``(times, locators)`` with ``times``
    (n_rec,) ``datetime64[ns]`` ascending and ``locators`` a list of ``{field: locator}``.
    Every record must hold all three fields.
    """
    for name in FIELDS:
        if not tables.get(name):
            raise AtmosphereError(f"{where}: no {name} records found")
    all_times = sorted(set().union(*(set(tables[n]) for n in FIELDS)))
    times, locators = [], []
    for t in all_times:
        missing = [n for n in FIELDS if t not in tables[n]]
        if missing:
            raise AtmosphereError(f"{where}: record {np.datetime_as_string(t, unit='m')}Z lacks {', '.join(missing)}")
        times.append(t)
        locators.append({n: tables[n][t] for n in FIELDS})
    return np.array(times, dtype="datetime64[ns]"), locators


def check_plausible(u: np.ndarray, v: np.ndarray, p: np.ndarray, where: str) -> None:
    """Refuse node values that are missing or physically implausible (wrong units attribute)."""
    for name, a in (("u10", u), ("v10", v), ("pressure", p)):
        if not np.all(np.isfinite(a)):
            k = int(np.flatnonzero(~np.isfinite(a))[0])
            raise AtmosphereError(f"{where}: {name} is missing (NaN/fill value) at node {k}")
    for name, a in (("u10", u), ("v10", v)):
        if np.abs(a).max(initial=0.0) > WIND_MAX_MS:
            raise AtmosphereError(f"{where}: {name} reaches {np.abs(a).max():.1f} m/s, not plausible; check its units attribute")
    lo, hi = PRESSURE_RANGE_PA
    if p.size and (p.min() < lo or p.max() > hi):
        raise AtmosphereError(
            f"{where}: pressure {p.min():.1f}..{p.max():.1f} Pa is not a plausible "
            "mean-sea-level pressure; check its units attribute (Pa or hPa)"
        )
