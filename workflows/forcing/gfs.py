"""Download GFS 0.25 degree 10 m wind and MSLP through the NOMADS GRIB filter, with a disk cache.

NOMADS' ``filter_gfs_0p25.pl`` cuts one forecast file ``gfs.tHHz.pgrb2.0p25.fFFF`` of cycle
``/gfs.YYYYMMDD/HH/atmos`` down to the requested variables (``var_UGRD``, ``var_VGRD``,
``var_PRMSL``), levels (``lev_10_m_above_ground``, ``lev_mean_sea_level``) and sub-region
(``leftlon``, ``rightlon``, ``toplat``, ``bottomlat``) and returns GRIB2. GFS output is hourly
to 120 h, then 3-hourly to 384 h.

Each file is cached at ``cache_dir/gfs/YYYYMMDDHH/gfs.tHHz.pgrb2.0p25.fFFF.<box>.grib2``; the
cache key is cycle + hour + box, so a cached file is reused without any request. Downloads go to
a temporary name and are renamed, so the cache never holds half a file. Timeouts, connection
errors, HTTP 429 and 5xx are retried with exponential backoff; 404 (cycle not yet published) is
not. Only the standard library is used (urllib).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from solver.state import utc

log = logging.getLogger(__name__)

NOMADS_GFS_0P25 = "https://nomads.ncep.noaa.gov/cgi-bin/filter_gfs_0p25.pl"
GFS_RESOLUTION_DEG = 0.25
GFS_HOURLY_UNTIL = 120
GFS_LAST_HOUR = 384
USER_AGENT = "coastcast (coastal forecast; GFS 10 m wind and MSLP subset)"


class GfsDownloadError(RuntimeError):
    """A GFS file could not be had; the one-line message names the cycle, hour and reason."""


class GfsNotAvailable(GfsDownloadError):
    """The server does not have the file (yet): HTTP 404 or its 'data file is not present' page."""


def cycle_label(cycle: datetime) -> str:
    """``2026-11-25T00Z`` style label for messages and records."""
    return utc(cycle).strftime("%Y-%m-%dT%HZ")


def latest_cycle(t: datetime) -> datetime:
    """The GFS cycle (00, 06, 12, 18 UTC) at or before ``t``."""
    t = utc(t)
    return t.replace(hour=t.hour - t.hour % 6, minute=0, second=0, microsecond=0)


def gfs_forecast_hours(cycle: datetime, start: datetime, end: datetime) -> list[int]:
    """Forecast hours of ``cycle`` whose records bracket ``[start, end]`` (hourly to 120 h, then 3-hourly).

    Raises :class:`GfsDownloadError` when ``start`` precedes the cycle or ``end`` lies beyond 384 h.
    """
    cycle, start, end = utc(cycle), utc(start), utc(end)
    lead0 = (start - cycle).total_seconds() / 3600.0
    lead1 = (end - cycle).total_seconds() / 3600.0
    if lead0 < 0 or lead1 < lead0:
        raise GfsDownloadError(f"GFS {cycle_label(cycle)}: run {start.isoformat()}..{end.isoformat()} starts before the cycle")
    if lead1 > GFS_LAST_HOUR:
        raise GfsDownloadError(
            f"GFS {cycle_label(cycle)}: the run needs forecast hour {lead1:g}, beyond the last ({GFS_LAST_HOUR})"
        )
    available = list(range(0, GFS_HOURLY_UNTIL + 1)) + list(range(GFS_HOURLY_UNTIL + 3, GFS_LAST_HOUR + 1, 3))
    lo = max(h for h in available if h <= lead0 + 1e-9)
    hi = min(h for h in available if h >= lead1 - 1e-9)
    return [h for h in available if lo <= h <= hi]


@dataclass(frozen=True)
class Box:
    """A lon/lat box in degrees: west < east (may be negative), south < north."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def around(cls, node_lon, node_lat, margin_deg: float = 1.0, resolution: float = GFS_RESOLUTION_DEG) -> Box:
        """Bounding box of the nodes (lon in -180..180) plus ``margin_deg``, snapped outward to the grid."""
        lon = (np.asarray(node_lon, dtype=np.float64) + 180.0) % 360.0 - 180.0
        lat = np.asarray(node_lat, dtype=np.float64)
        if lon.size == 0:
            raise ValueError("no nodes to build a GFS box around")
        w, e = lon.min() - margin_deg, lon.max() + margin_deg
        s, n = max(lat.min() - margin_deg, -90.0), min(lat.max() + margin_deg, 90.0)
        snap_lo = lambda x: math.floor(x / resolution + 1e-9) * resolution  # noqa: E731
        snap_hi = lambda x: math.ceil(x / resolution - 1e-9) * resolution  # noqa: E731
        return cls(snap_lo(w), snap_lo(s), snap_hi(e), snap_hi(n))

    @property
    def tag(self) -> str:
        """Cache-key fragment, e.g. ``W-10.00_S43.00_E5.00_N53.00``."""
        return f"W{self.west:.2f}_S{self.south:.2f}_E{self.east:.2f}_N{self.north:.2f}"

    def as_list(self) -> list[float]:
        return [self.west, self.south, self.east, self.north]


def filter_url(base_url: str, cycle: datetime, hour: int, box: Box) -> str:
    """The NOMADS GRIB-filter request for one forecast hour of a cycle, cropped to ``box``."""
    c = utc(cycle)
    query = [
        ("dir", f"/gfs.{c:%Y%m%d}/{c:%H}/atmos"),
        ("file", f"gfs.t{c:%H}z.pgrb2.0p25.f{hour:03d}"),
        ("var_UGRD", "on"),
        ("var_VGRD", "on"),
        ("var_PRMSL", "on"),
        ("lev_10_m_above_ground", "on"),
        ("lev_mean_sea_level", "on"),
        ("subregion", ""),
        ("leftlon", f"{box.west:g}"),
        ("rightlon", f"{box.east:g}"),
        ("toplat", f"{box.north:g}"),
        ("bottomlat", f"{box.south:g}"),
    ]
    return f"{base_url}?{urllib.parse.urlencode(query)}"


def _looks_like_grib(data: bytes) -> bool:
    return data[:4] == b"GRIB" and data.rstrip(b"\n")[-4:] == b"7777"


class GfsDownloader:
    """Fetch GFS forecast hours into a disk cache.

    ``cache_dir``: root of the cache. ``base_url``: the GRIB filter script (a mirror or a test
    server). ``timeout_s``: per request. ``retries``: extra attempts after the first on timeouts,
    connection errors, 429 and 5xx, waiting ``backoff_s * 2**attempt`` seconds in between.
    ``sleep``: the waiting function (tests pass a no-op).
    """

    def __init__(
        self,
        cache_dir: str | Path,
        base_url: str = NOMADS_GFS_0P25,
        timeout_s: float = 60.0,
        retries: int = 4,
        backoff_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.cache_dir = Path(cache_dir)
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.sleep = sleep
        self.requests = 0  # HTTP requests made, for the run record and for tests

    def cache_path(self, cycle: datetime, hour: int, box: Box) -> Path:
        c = utc(cycle)
        return self.cache_dir / "gfs" / f"{c:%Y%m%d%H}" / f"gfs.t{c:%H}z.pgrb2.0p25.f{hour:03d}.{box.tag}.grib2"

    def cached(self, cycle: datetime, hours: Iterable[int], box: Box) -> list[Path] | None:
        """The cached files of all ``hours``, or None when any is missing."""
        paths = [self.cache_path(cycle, h, box) for h in hours]
        return paths if all(p.is_file() for p in paths) else None

    def missing(self, cycle: datetime, hours: Iterable[int], box: Box) -> list[int]:
        return [h for h in hours if not self.cache_path(cycle, h, box).is_file()]

    def fetch(self, cycle: datetime, hour: int, box: Box) -> Path:
        """The cached file of one forecast hour, downloading it first when not cached."""
        path = self.cache_path(cycle, hour, box)
        if path.is_file():
            return path
        label = f"GFS {cycle_label(cycle)} f{hour:03d}"
        url = filter_url(self.base_url, cycle, hour, box)
        data = self._get(url, label)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        log.info("%s: %d bytes cached at %s", label, len(data), path)
        return path

    def fetch_run(self, cycle: datetime, hours: Sequence[int], box: Box) -> list[Path]:
        """All ``hours`` of ``cycle`` (cached ones are not requested again)."""
        todo = self.missing(cycle, hours, box)
        if todo:
            log.info(
                "GFS %s: downloading %d of %d forecast hours for box %s from %s",
                cycle_label(cycle),
                len(todo),
                len(hours),
                box.tag,
                self.base_url,
            )
        return [self.fetch(cycle, h, box) for h in hours]

    def _get(self, url: str, label: str) -> bytes:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                wait = self.backoff_s * 2 ** (attempt - 1)
                log.warning("%s: %s; retry %d/%d in %.1f s", label, last, attempt, self.retries, wait)
                self.sleep(wait)
            self.requests += 1
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    data = resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    raise GfsNotAvailable(f"{label}: not on the server (HTTP 404) at {url}") from None
                if exc.code == 429 or exc.code >= 500:
                    last = f"HTTP {exc.code} {exc.reason}"
                    continue
                raise GfsDownloadError(f"{label}: HTTP {exc.code} {exc.reason} from {url}") from None
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
                continue
            if _looks_like_grib(data):
                return data
            text = data[:300].decode("latin-1", "replace")
            if "not present" in text.lower() or "no such file" in text.lower():
                raise GfsNotAvailable(f"{label}: not on the server (the filter says the data file is not present)")
            raise GfsDownloadError(
                f"{label}: the server answered {len(data)} bytes that are not GRIB (starting {text[:60]!r}) from {url}"
            )
        raise GfsDownloadError(f"{label}: {last} after {self.retries + 1} tries at {url}")


def previous_cycles(cycle: datetime, lags_hours: Sequence[int]) -> list[datetime]:
    """The cycles ``lags_hours`` before ``cycle`` (e.g. 6, 12, 24 h)."""
    return [utc(cycle) - timedelta(hours=int(h)) for h in lags_hours]
