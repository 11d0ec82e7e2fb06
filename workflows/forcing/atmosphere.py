"""Atmospheric forcing: 10 m wind and mean-sea-level pressure at the mesh nodes, in time.

The solver's wind-stress and pressure-gradient terms take any :class:`AtmosphericForcing`: an
object whose ``sample(t)`` returns an :class:`AtmosphereSample` ``(u10, v10, pressure)`` of
(n_node,) arrays (m/s eastward, m/s northward, Pa) at ``t`` seconds after the run's start.

Sources:

* :class:`ConstantAtmosphere` -- uniform, steady fields for analytic tests;
* :class:`CFNetCDFAtmosphere` -- any CF NetCDF on a regular lon/lat grid;
* :class:`GribAtmosphere` -- GRIB1/2 files (GFS, ECMWF, ARPEGE) read with ecCodes;
* GFS 0.25 degree from the NOMADS GRIB filter (:mod:`workflows.forcing.gfs`), via
  :func:`build_atmosphere`, which applies the fallback order of the design (the requested
  source, then the previous GFS cycles already in the cache, then none: tides only) and returns
  a JSON-able record of what was used and what failed and why.

Gridded sources interpolate bilinearly in space (weights computed once per source grid,
:func:`workflows.forcing.gridded.bilinear_weights`) and linearly in time between the two records
that bracket ``t``: ``f(t) = f_k + (t - t_k)/(t_{k+1} - t_k) (f_{k+1} - f_k)``. A record is read
and interpolated to the nodes the first time it is needed and kept in a small LRU cache, so a
``sample`` costs three vector updates of length n_node.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from solver.state import utc

from ..keys import unknown_key_message
from .cfnetcdf import CFNetCDFRecords
from .gfs import (
    NOMADS_GFS_0P25,
    Box,
    GfsDownloader,
    GfsDownloadError,
    cycle_label,
    gfs_forecast_hours,
    latest_cycle,
    previous_cycles,
)
from .grib import GribRecords
from .gridded import AtmosphereError, bilinear_weights, check_plausible

__all__ = [
    "AtmosphereConfig",
    "AtmosphereError",
    "AtmosphereSample",
    "AtmosphericForcing",
    "CFNetCDFAtmosphere",
    "ConstantAtmosphere",
    "GriddedAtmosphere",
    "GribAtmosphere",
    "build_atmosphere",
    "open_atmosphere_file",
]

log = logging.getLogger(__name__)

STANDARD_PRESSURE_PA = 101325.0


class AtmosphereSample(NamedTuple):
    """Atmospheric state at the mesh nodes at one time.

    ``u10``, ``v10``: (n_node,) 10 m eastward and northward wind, m/s.
    ``pressure``: (n_node,) mean-sea-level air pressure, Pa.
    (:class:`ConstantAtmosphere` without ``n_node`` returns 0-d arrays that broadcast.)
    """

    u10: np.ndarray
    v10: np.ndarray
    pressure: np.ndarray


@runtime_checkable
class AtmosphericForcing(Protocol):
    """What the solver needs: ``sample(t)`` with ``t`` in seconds since the run's start (float)."""

    def sample(self, t: float) -> AtmosphereSample: ...


def _iso(t: np.datetime64 | datetime) -> str:
    if isinstance(t, datetime):
        return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    return f"{np.datetime_as_string(t, unit='m')}Z"


@dataclass(frozen=True)
class ConstantAtmosphere:
    """Uniform and steady wind (m/s) and pressure (Pa), for analytic tests.

    With ``n_node`` the sample holds (n_node,) arrays; without it 0-d arrays that broadcast
    against any node array.
    """

    u10: float
    v10: float
    pressure: float = STANDARD_PRESSURE_PA
    n_node: int | None = None

    def sample(self, t: float) -> AtmosphereSample:
        shape = () if self.n_node is None else (int(self.n_node),)
        return AtmosphereSample(
            np.full(shape, float(self.u10)), np.full(shape, float(self.v10)), np.full(shape, float(self.pressure))
        )

    def describe(self) -> dict:
        return {"kind": "constant", "u10": self.u10, "v10": self.v10, "pressure": self.pressure}


class GriddedAtmosphere:
    """Gridded records interpolated to nodes: bilinear in space, linear in time.

    ``records``: a record reader (:class:`~workflows.forcing.cfnetcdf.CFNetCDFRecords`,
    :class:`~workflows.forcing.grib.GribRecords`) with ``times`` (n_rec,) datetime64[ns] UTC,
    ``lon`` (nx,), ``lat`` (ny,) and ``read(k, rows, cols) -> (u10, v10, pressure)`` in SI units.
    ``node_lon``/``node_lat``: (n_node,) degrees. ``start``: aware datetime, ``t = 0``.
    ``hours``: when given, the records must cover ``[start, start + hours]``.
    ``cache_records``: how many interpolated records to keep (LRU).
    """

    def __init__(self, records, node_lon, node_lat, start: datetime, hours: float | None = None, cache_records: int = 4):
        self.records = records
        self.name = records.name
        self.start = utc(start, "start", AtmosphereError)
        self.n_node = int(np.asarray(node_lon).size)
        try:
            self.weights = bilinear_weights(records.lon, records.lat, node_lon, node_lat, where=self.name)
            times = np.asarray(records.times, dtype="datetime64[ns]")
            start64 = np.datetime64(self.start.replace(tzinfo=None), "ns")
            self.record_times = times
            self.times_s = (times - start64).astype(np.float64) / 1e9  # (n_rec,) seconds since start
            if np.any(np.diff(self.times_s) <= 0):
                raise AtmosphereError(f"{self.name}: record times are not strictly increasing")
            if hours is not None:
                self.check_covers(0.0, float(hours) * 3600.0)
        except Exception:
            records.close()
            raise
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_size = max(2, int(cache_records))
        self.loads = 0  # records read from disk (for tests and logs)

    def check_covers(self, t0: float, t1: float) -> None:
        """Raise unless the records cover ``[t0, t1]`` seconds since start."""
        ts = self.times_s
        if t0 < ts[0] - 1e-6 or t1 > ts[-1] + 1e-6:
            need0 = self.start + timedelta(seconds=t0)
            need1 = self.start + timedelta(seconds=t1)
            raise AtmosphereError(
                f"{self.name}: records cover {_iso(self.record_times[0])}..{_iso(self.record_times[-1])} "
                f"but the run needs {_iso(need0)}..{_iso(need1)}"
            )

    def _record(self, k: int):
        hit = self._cache.get(k)
        if hit is not None:
            self._cache.move_to_end(k)
            return hit
        w = self.weights
        fields_ = self.records.read(k, w.rows, w.cols)
        u, v, p = (w.apply(a) for a in fields_)
        check_plausible(u, v, p, f"{self.name}: record {_iso(self.record_times[k])}")
        for a in (u, v, p):
            a.flags.writeable = False
        self._cache[k] = (u, v, p)
        self.loads += 1
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return u, v, p

    def sample(self, t: float) -> AtmosphereSample:
        """Fields at the nodes at ``t`` seconds after start: three (n_node,) arrays."""
        t = float(t)
        ts = self.times_s
        self.check_covers(t, t)
        if ts.size == 1:
            u, v, p = self._record(0)
            return AtmosphereSample(u.copy(), v.copy(), p.copy())
        k = int(np.clip(np.searchsorted(ts, t, side="right") - 1, 0, ts.size - 2))
        w = (t - ts[k]) / (ts[k + 1] - ts[k])
        if w == 0.0 or w == 1.0:  # on a record: the neighbour is not needed (nor read)
            u, v, p = self._record(k + int(w))
            return AtmosphereSample(u.copy(), v.copy(), p.copy())
        a, b = self._record(k), self._record(k + 1)
        return AtmosphereSample(*(x + w * (y - x) for x, y in zip(a, b, strict=True)))

    def describe(self) -> dict:
        return {
            "path": self.name,
            "records": int(self.times_s.size),
            "first": _iso(self.record_times[0]),
            "last": _iso(self.record_times[-1]),
        }

    def close(self) -> None:
        self.records.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CFNetCDFAtmosphere(GriddedAtmosphere):
    """10 m wind and MSLP from CF NetCDF file(s) on a regular lon/lat grid.

    ``path``: one file or a sequence of files (split by time or by variable).
    ``node_lon``/``node_lat``: (n_node,) degrees. ``start``: aware UTC datetime (``t = 0``).
    ``hours``: when given, the records must cover the run.
    """

    def __init__(self, path, node_lon, node_lat, start: datetime, hours: float | None = None, cache_records: int = 4):
        super().__init__(CFNetCDFRecords(path), node_lon, node_lat, start, hours, cache_records)


class GribAtmosphere(GriddedAtmosphere):
    """10 m wind and MSLP (``10u``, ``10v``, ``prmsl``/``msl``) from GRIB file(s), e.g. GFS hours."""

    def __init__(self, path, node_lon, node_lat, start: datetime, hours: float | None = None, cache_records: int = 4):
        super().__init__(GribRecords(path), node_lon, node_lat, start, hours, cache_records)


_GRIB_SUFFIXES = {".grib", ".grib2", ".grb", ".grb2", ".grib1", ".grb1"}


def _is_grib(path: Path) -> bool:
    if path.suffix.lower() in _GRIB_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"GRIB"
    except OSError:
        return False


def open_atmosphere_file(
    path, node_lon, node_lat, start: datetime, hours: float | None = None, fmt: str = "auto"
) -> GriddedAtmosphere:
    """A gridded source from a NetCDF or GRIB file (or files); ``fmt``: auto, netcdf or grib."""
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    if not paths:
        raise AtmosphereError("no atmosphere file given")
    for p in paths:
        if not p.is_file():
            raise AtmosphereError(f"{p}: atmosphere file not found")
    if fmt == "auto":
        fmt = "grib" if _is_grib(paths[0]) else "netcdf"
    if fmt == "grib":
        return GribAtmosphere(paths, node_lon, node_lat, start, hours)
    if fmt == "netcdf":
        return CFNetCDFAtmosphere(paths, node_lon, node_lat, start, hours)
    raise AtmosphereError(f"atmosphere format {fmt!r} is not one of auto, netcdf, grib")


# --------------------------------------------------------------------------------------------
# configuration and the fallback chain

SOURCES = ("none", "gfs", "file")
FORMATS = ("auto", "netcdf", "grib")


@dataclass(frozen=True)
class AtmosphereConfig:
    """The ``[atmosphere]`` table of a forecast configuration.

    ``source``: ``none`` (tides only), ``gfs`` (NOMADS GFS 0.25 degree) or ``file``.
    ``path``: file(s) for ``source = "file"``; ``format``: auto, netcdf or grib.
    GFS: ``base_url`` (the GRIB filter script), ``cycle`` (default: latest 00/06/12/18Z at or
    before the run start), ``margin_degrees`` around the mesh, ``extra_hours`` downloaded past
    the run's end (so that a later run can fall back on this cycle), ``timeout_seconds``,
    ``retries``, ``backoff_seconds``, ``fallback_cycles_hours`` (older cycles tried from the cache).
    ``fallback``: when false a failed source is an error instead of a fallback.
    """

    source: str = "none"
    path: tuple[Path, ...] = ()
    format: str = "auto"
    base_url: str = NOMADS_GFS_0P25
    cycle: datetime | None = None
    margin_degrees: float = 1.0
    extra_hours: int = 24
    timeout_seconds: float = 60.0
    retries: int = 4
    backoff_seconds: float = 5.0
    fallback_cycles_hours: tuple[int, ...] = (6, 12, 24)
    fallback: bool = True

    def __post_init__(self):
        if self.source not in SOURCES:
            raise AtmosphereError(f"[atmosphere] source {self.source!r} is not one of {', '.join(SOURCES)}")
        if self.format not in FORMATS:
            raise AtmosphereError(f"[atmosphere] format {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.source == "file" and not self.path:
            raise AtmosphereError('[atmosphere] source = "file" needs path = "FILE" (or a list of files)')
        if self.margin_degrees < 0 or self.retries < 0 or self.timeout_seconds <= 0 or self.extra_hours < 0:
            raise AtmosphereError("[atmosphere] margin_degrees, retries, extra_hours must be >= 0 and timeout_seconds > 0")
        if self.cycle is not None:
            c = utc(self.cycle, "[atmosphere] cycle", AtmosphereError)
            if c.hour % 6 or c.minute or c.second:
                raise AtmosphereError(f"[atmosphere] cycle {c.isoformat()} is not a 00/06/12/18Z GFS cycle")
            object.__setattr__(self, "cycle", c)

    @classmethod
    def from_mapping(cls, value, where: str = "[atmosphere]", base_dir: str | Path | None = None) -> AtmosphereConfig:
        """From a TOML value: ``"none"``, ``"gfs"``, a file path, or a table of the fields above.

        Relative paths are taken relative to ``base_dir`` (the configuration file's folder).
        """
        if value is None:
            return cls()
        if isinstance(value, str):
            value = {"source": value} if value in SOURCES else {"source": "file", "path": value}
        if not isinstance(value, Mapping):
            raise AtmosphereError(f"{where} must be a table or one of none, gfs, a file path; got {value!r}")
        known = {f.name for f in fields(cls)}
        kw = {}
        for key, v in value.items():
            if key not in known:
                raise AtmosphereError(unknown_key_message(key, sorted(known), where))
            kw[key] = v
        if "source" not in kw and "path" in kw:
            kw["source"] = "file"
        if "path" in kw:
            paths = [kw["path"]] if isinstance(kw["path"], (str, Path)) else list(kw["path"])
            base = Path(base_dir) if base_dir is not None else None
            kw["path"] = tuple(base / p if base is not None and not Path(p).is_absolute() else Path(p) for p in paths)
        if "cycle" in kw and isinstance(kw["cycle"], str):
            try:
                c = datetime.fromisoformat(kw["cycle"].replace("Z", "+00:00"))
            except ValueError:
                raise AtmosphereError(f"{where}: cycle {kw['cycle']!r} is not an ISO time like 2026-11-25T00:00Z") from None
            kw["cycle"] = c if c.tzinfo else c.replace(tzinfo=timezone.utc)
        if "fallback_cycles_hours" in kw:
            kw["fallback_cycles_hours"] = tuple(int(h) for h in kw["fallback_cycles_hours"])
        for key, typ in (
            ("margin_degrees", float),
            ("timeout_seconds", float),
            ("backoff_seconds", float),
            ("retries", int),
            ("extra_hours", int),
        ):
            if key in kw:
                try:
                    kw[key] = typ(kw[key])
                except (TypeError, ValueError):
                    raise AtmosphereError(f"{where}: {key} = {kw[key]!r} is not a number") from None
        return cls(**kw)


def _as_config(config) -> AtmosphereConfig:
    if isinstance(config, AtmosphereConfig):
        return config
    return AtmosphereConfig.from_mapping(config)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def build_atmosphere(
    config, node_lon, node_lat, start: datetime, hours: float, cache_dir: str | Path, *, downloader: GfsDownloader | None = None
):
    """The atmospheric forcing of a run, following the fallback order, and the record of it.

    ``config``: :class:`AtmosphereConfig`, a ``[atmosphere]`` mapping, ``"none"``/``"gfs"``/a
    path, or None (none). ``node_lon``/``node_lat``: (n_node,) degrees. ``start``: aware UTC
    datetime of ``t = 0``; ``hours``: run length. ``cache_dir``: download cache root.
    ``downloader``: overrides the one built from the configuration.

    Order: the requested source -> (GFS only) the previous cycles of ``fallback_cycles_hours``
    whose files are already in the cache -> none (tides only). A file source that cannot be
    used (unreadable, or not covering the run) raises :class:`AtmosphereError`: a file the user
    named never falls back silently. Returns ``(forcing or None,
    record)``, ``record`` a JSON-able dict with ``requested``, ``used``, ``fallback`` (bool),
    ``source`` (details of what was used), ``attempts`` (each source tried, ``ok`` or the one-line
    reason it failed) and ``message`` (a sentence for users). With ``fallback = false`` a failure
    raises :class:`AtmosphereError` instead.
    """
    cfg = _as_config(config)
    start = utc(start, "start", AtmosphereError)
    end = start + timedelta(hours=float(hours))
    attempts: list[dict] = []
    record = {"requested": cfg.source, "used": "none", "fallback": False, "source": None, "attempts": attempts, "message": ""}

    if cfg.source == "none":
        record["message"] = "no atmospheric forcing requested (tides only)"
        return None, record

    if cfg.source == "file":
        try:
            forcing = open_atmosphere_file(
                cfg.path if len(cfg.path) > 1 else cfg.path[0], node_lon, node_lat, start, hours, cfg.format
            )
        except AtmosphereError as exc:
            # a file the user named is used or the run stops: only downloads fall back
            raise AtmosphereError(f"[atmosphere] {', '.join(p.name for p in cfg.path)}: {_one_line(exc)}") from None
        else:
            attempts.append({"source": "file", "path": [str(p) for p in cfg.path], "ok": True})
            record.update(used="file", source={"kind": "file", **forcing.describe()}, message=f"atmosphere from {forcing.name}")
            return forcing, record

    # GFS
    box = Box.around(node_lon, node_lat, cfg.margin_degrees)
    dl = downloader or GfsDownloader(cache_dir, cfg.base_url, cfg.timeout_seconds, cfg.retries, cfg.backoff_seconds)
    cycle = cfg.cycle or latest_cycle(start)
    try:
        leads = gfs_forecast_hours(cycle, start, end + timedelta(hours=cfg.extra_hours))
        requests_before = dl.requests
        paths = dl.fetch_run(cycle, leads, box)
        forcing = GribAtmosphere(paths, node_lon, node_lat, start, hours)
    except (GfsDownloadError, AtmosphereError) as exc:
        attempts.append({"source": "gfs", "cycle": cycle_label(cycle), "ok": False, "reason": _one_line(exc)})
    else:
        attempts.append({"source": "gfs", "cycle": cycle_label(cycle), "ok": True})
        record.update(
            used="gfs",
            source=_gfs_source(dl, cycle, leads, box, forcing, dl.requests - requests_before),
            message=f"atmosphere from GFS 0.25 degree cycle {cycle_label(cycle)}",
        )
        return forcing, record

    for older in previous_cycles(cycle, cfg.fallback_cycles_hours):
        label = cycle_label(older)
        try:
            leads = gfs_forecast_hours(older, start, end)
        except GfsDownloadError as exc:
            attempts.append({"source": "gfs-previous-cycle", "cycle": label, "ok": False, "reason": _one_line(exc)})
            continue
        missing = dl.missing(older, leads, box)
        if missing:
            attempts.append(
                {
                    "source": "gfs-previous-cycle",
                    "cycle": label,
                    "ok": False,
                    "reason": f"{len(missing)} of {len(leads)} forecast hours not in the cache (first f{missing[0]:03d})",
                }
            )
            continue
        try:
            forcing = GribAtmosphere(dl.cached(older, leads, box), node_lon, node_lat, start, hours)
        except AtmosphereError as exc:
            attempts.append({"source": "gfs-previous-cycle", "cycle": label, "ok": False, "reason": _one_line(exc)})
            continue
        attempts.append({"source": "gfs-previous-cycle", "cycle": label, "ok": True})
        record.update(
            used="gfs-previous-cycle",
            fallback=True,
            source=_gfs_source(dl, older, leads, box, forcing, 0),
            message=f"GFS cycle {cycle_label(cycle)} failed ({attempts[0]['reason']}); "
            f"used the older cycle {label} from the cache",
        )
        log.warning("atmosphere: %s", record["message"])
        return forcing, record
    return _give_up(cfg, record)


def _gfs_source(dl: GfsDownloader, cycle, leads, box: Box, forcing: GriddedAtmosphere, requests: int) -> dict:
    return {
        "kind": "gfs",
        "cycle": cycle_label(cycle),
        "forecast_hours": [int(leads[0]), int(leads[-1])],
        "files": len(leads),
        "box": box.as_list(),
        "base_url": dl.base_url,
        "requests": int(requests),
        "cache": str(dl.cache_path(cycle, leads[0], box).parent),
        "paths": [str(dl.cache_path(cycle, h, box)) for h in leads],
        **forcing.describe(),
    }


def _give_up(cfg: AtmosphereConfig, record: dict):
    first = record["attempts"][0]
    what = f"{first['source']}" + (f" cycle {first['cycle']}" if "cycle" in first else "")
    message = f"atmospheric forcing unavailable ({what}: {first['reason']}); running with tides only"
    if not cfg.fallback:
        raise AtmosphereError(f"atmospheric forcing unavailable ({what}: {first['reason']}) and fallback = false")
    record.update(used="none", fallback=True, source=None, message=message)
    log.warning("atmosphere: %s", message)
    return None, record
