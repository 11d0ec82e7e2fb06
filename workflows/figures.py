"""PNG figures of a run's outputs: water-level and maxima maps on the mesh, station time series.

Maps draw the model's own face values (``*_face`` variables; the model is cell-centred) with
``tripcolor``, a diverging colour map centred on 0 for water levels, the mesh boundary as the
coastline, a colour bar with units and the UTC time in the title. Matplotlib runs headless (Agg).

Files are opened with ``engine="netcdf4"``: when xarray guesses the engine it asks cfgrib, which
loads ecCodes; the ecCodes wheels (eccodeslib 2.50) bring their own PROJ/SQLite, and a later
``pyproj.CRS("EPSG:...")`` then fails with "no database context specified" (or the process aborts).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.tri import Triangulation

from solver.output.names import (
    FACE,
    FACE_NODES,
    FACE_X,
    FACE_Y,
    NODE_X,
    NODE_Y,
    SPEED_MAX,
    STATION_NAME,
    TIDE_PREDICTION,
    TIME,
    UBAR,
    VBAR,
    ZETA,
    ZETA_MAX,
    U,
    V,
)

log = logging.getLogger(__name__)

DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"


class FigureError(ValueError):
    """An output file that cannot be plotted; one-line message naming the file and what is missing."""


def _open(path, needed):
    path = Path(path)
    if not path.is_file():
        raise FigureError(f"{path} does not exist")
    # engine given explicitly: letting xarray guess would import cfgrib/eccodes, whose bundled
    # PROJ breaks pyproj for the rest of the process (see the module docstring)
    ds = xr.open_dataset(path, engine="netcdf4")
    missing = [v for v in needed if v not in ds.variables]
    if missing:
        ds.close()
        raise FigureError(f"{path} has no variable {', '.join(missing)}")
    return ds


def _triangulation(ds):
    x = ds[NODE_X].values
    y = ds[NODE_Y].values
    faces = ds[FACE_NODES].values.astype(np.int64)
    start = int(ds[FACE_NODES].attrs.get("start_index", 0))
    geographic = ds[NODE_X].attrs.get("units", "") == "degrees_east"
    return Triangulation(x, y, faces - start), geographic


def boundary_segments(faces: np.ndarray) -> np.ndarray:
    """(n_boundary_edge, 2) node pairs of the edges that belong to one face only (the coastline
    and open boundaries). ``faces``: (n_face, 3) 0-based."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, axis=1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[counts[inv.ravel()] == 1]


def _decorate(ax, tri, geographic):
    seg = boundary_segments(tri.triangles)
    xs = np.column_stack([tri.x[seg[:, 0]], tri.x[seg[:, 1]], np.full(len(seg), np.nan)]).ravel()
    ys = np.column_stack([tri.y[seg[:, 0]], tri.y[seg[:, 1]], np.full(len(seg), np.nan)]).ravel()
    ax.plot(xs, ys, color="k", lw=0.8)
    ax.ticklabel_format(useOffset=False)
    if geographic:
        ax.set_aspect(1.0 / np.cos(np.radians(np.mean(tri.y))))
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
    else:
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")


def _utc(t) -> str:
    ts = pd.Timestamp(t)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _face_map(ax, tri, values, *, diverging, label):
    v = np.ma.masked_invalid(np.asarray(values, dtype=float))
    tri.set_mask(np.ma.getmaskarray(v))
    if diverging:
        lim = float(np.nanmax(np.abs(v.compressed()))) if v.count() else 1.0
        lim = lim or 1.0
        pc = ax.tripcolor(tri, facecolors=v.filled(0.0), cmap=DIVERGING, vmin=-lim, vmax=lim)
    else:
        pc = ax.tripcolor(tri, facecolors=v.filled(0.0), cmap=SEQUENTIAL, vmin=0.0)
    tri.set_mask(None)
    plt.colorbar(pc, ax=ax, label=label, shrink=0.85)
    return pc


def _label(da):
    return f"{da.attrs.get('long_name', da.name)} ({da.attrs.get('units', '')})"


def high_water_index(fields_path, statistic: str = "max") -> int:
    """Index of the output time with the highest water level in ``fields.nc``.

    ``statistic``: ``"max"`` (the domain maximum of wet-face zeta) or ``"mean"`` (the mean over
    wet faces). Dry faces (fill values) are ignored.
    """
    if statistic not in ("max", "mean"):
        raise ValueError(f"statistic must be 'max' or 'mean', got {statistic!r}")
    with _open(fields_path, [ZETA + FACE, TIME]) as ds:
        z = ds[ZETA + FACE].values
    if z.shape[0] == 0:
        raise FigureError(f"{fields_path} has no output times")
    s = np.nanmax(z, axis=1) if statistic == "max" else np.nanmean(z, axis=1)
    return int(np.nanargmax(s))


def plot_water_level_map(fields_path, time_index: int, out_png, *, show_velocity: bool = False) -> Path:
    """Map of the water level (face values) at output ``time_index`` of ``fields.nc``; returns the PNG path."""
    out_png = Path(out_png)
    with _open(fields_path, [ZETA + FACE, TIME, FACE_NODES]) as ds:
        nt = ds.sizes[TIME]
        if not -nt <= time_index < nt:
            raise FigureError(f"{fields_path}: time index {time_index} outside 0..{nt - 1}")
        tri, geographic = _triangulation(ds)
        z = ds[ZETA + FACE].isel({TIME: time_index})
        when = ds[TIME].values[time_index]
        fig, ax = plt.subplots(figsize=(8, 6), dpi=100, layout="constrained")
        _face_map(ax, tri, z.values, diverging=True, label=_label(ds[ZETA + FACE]).replace(" at mesh faces", ""))
        if show_velocity and UBAR + FACE in ds:
            fx, fy = ds[FACE_X].values, ds[FACE_Y].values
            ax.quiver(fx, fy, ds[UBAR + FACE].values[time_index], ds[VBAR + FACE].values[time_index], width=0.002)
        _decorate(ax, tri, geographic)
        ax.set_title(f"Water level, {_utc(when)}")
    return _save(fig, out_png)


def plot_maxima_map(max_path, out_png) -> Path:
    """Two maps from ``max.nc``: maximum water level and maximum current speed; returns the PNG path."""
    out_png = Path(out_png)
    with _open(max_path, [ZETA_MAX + FACE, SPEED_MAX + FACE, FACE_NODES]) as ds:
        tri, geographic = _triangulation(ds)
        t0, t1 = ds.attrs.get("time_coverage_start"), ds.attrs.get("time_coverage_end")
        period = f"{_utc(t0)} – {_utc(t1)}" if t0 and t1 else ""
        fig, axes = plt.subplots(1, 2, figsize=(14, 6), dpi=100, layout="constrained")
        _face_map(axes[0], tri, ds[ZETA_MAX + FACE].values, diverging=True, label="maximum water level (m)")
        _face_map(axes[1], tri, ds[SPEED_MAX + FACE].values, diverging=False, label="maximum current speed (m s-1)")
        for ax, what in zip(axes, ("Maximum water level", "Maximum depth-averaged speed")):
            _decorate(ax, tri, geographic)
            ax.set_title(f"{what}\n{period}")
    return _save(fig, out_png)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "station"


def _observation_series(obs):
    """(times datetime64[ns], values) from a pandas Series (DatetimeIndex) or a (times, values) pair."""
    if isinstance(obs, pd.Series):
        idx = obs.index
        if getattr(idx, "tz", None) is not None:
            idx = idx.tz_convert("UTC").tz_localize(None)
        return np.asarray(idx, dtype="datetime64[ns]"), obs.to_numpy(dtype=float)
    times, values = obs
    t = pd.to_datetime(times, utc=True).tz_localize(None)
    return np.asarray(t, dtype="datetime64[ns]"), np.asarray(values, dtype=float)


def plot_stations(stations_path, out_dir, observations=None) -> list[Path]:
    """One PNG per station from ``stations.nc``: water level (with observations when given; at
    gauge stations with the gauge's harmonic prediction and the MHWS and HAT levels) and current
    speed against UTC time. Returns the PNG paths (``<out_dir>/station_<name>.png``).

    ``observations``: mapping station name -> pandas Series with a DatetimeIndex (UTC) or a
    (times, values) pair, water level in m on the same datum.
    """
    out_dir = Path(out_dir)
    observations = dict(observations or {})
    paths = []
    with _open(stations_path, [STATION_NAME, ZETA, U, V, TIME]) as ds:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in ds[STATION_NAME].values]
        unknown = sorted(set(observations) - set(names))
        if unknown:
            raise FigureError(
                f"observations for unknown station {', '.join(map(repr, unknown))}; {stations_path} has {', '.join(names)}"
            )
        t = ds[TIME].values
        zlabel = _label(ds[ZETA])
        for i, name in enumerate(names):
            z = ds[ZETA].values[i]
            speed = np.hypot(ds[U].values[i], ds[V].values[i])
            fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6), dpi=100, sharex=True, height_ratios=[2, 1], layout="constrained")
            a1.plot(t, z, color="C0", label="model")
            if TIDE_PREDICTION in ds.variables and np.isfinite(ds[TIDE_PREDICTION].values[i]).any():
                a1.plot(t, ds[TIDE_PREDICTION].values[i], color="k", lw=0.9, ls="--", label="gauge tide (harmonic prediction)")
            for level, colour, label in (("mhws_above_msl", "C2", "MHWS"), ("hat_above_msl", "C3", "HAT")):
                if level in ds.variables and np.isfinite(ds[level].values[i]):
                    a1.axhline(float(ds[level].values[i]), color=colour, lw=0.8, ls=":", label=label)
            if name in observations:
                ot, ov = _observation_series(observations[name])
                a1.plot(ot, ov, ".", color="k", ms=3, label="observed")
            a1.axhline(0.0, color="0.6", lw=0.5)
            a1.set_ylabel(zlabel)
            a1.legend(loc="upper right")
            a1.set_title(f"{name}: {_utc(t[0])} – {_utc(t[-1])}" if len(t) else name)
            a2.plot(t, speed, color="C1")
            a2.set_ylabel("current speed (m s-1)")
            a2.set_xlabel("time (UTC)")
            loc = mdates.AutoDateLocator()
            a2.xaxis.set_major_locator(loc)
            a2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
            for a in (a1, a2):
                a.grid(True, lw=0.3)
            paths.append(_save(fig, out_dir / f"station_{_safe_name(name)}.png"))
    return paths


def _save(fig, out_png: Path) -> Path:
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(out_png.name + ".part.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out_png)
    log.info("wrote %s", out_png)
    return out_png
