"""CF-1.11 pieces shared by the output writers: global attributes, UTC time axes, datum names and
the write-to-``.part``-then-rename discipline."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..state import utc

log = logging.getLogger(__name__)

CONVENTIONS = "CF-1.11 UGRID-1.0"
REFERENCES = (
    "CF conventions 1.11, https://cfconventions.org/; UGRID conventions 1.0, "
    "https://ugrid-conventions.github.io/ugrid-conventions/; numerics: Audusse et al. 2004, "
    "SIAM J. Sci. Comput. 25, 2050-2065 (hydrostatic reconstruction)"
)
FILL_FLOAT = np.float32(9.96921e36)
"""netCDF's default float fill value, written explicitly as ``_FillValue``."""


def coastcast_version() -> str:
    """The installed coastcast distribution's version ("unknown" when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coastcast")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


@dataclass(frozen=True)
class Datum:
    """The vertical datum of elevations (up) and depths (down): CF standard names for both."""

    name: str
    elevation_standard_name: str
    depth_standard_name: str


DATUMS = {
    "mean sea level": Datum("mean sea level", "sea_surface_height_above_mean_sea_level", "sea_floor_depth_below_mean_sea_level"),
    "geoid": Datum("geoid", "sea_surface_height_above_geoid", "sea_floor_depth_below_geoid"),
}


def datum(name: str) -> Datum:
    """The :class:`Datum` called ``name`` ("mean sea level" or "geoid"; "msl" is accepted)."""
    key = {"msl": "mean sea level", "mean_sea_level": "mean sea level"}.get(str(name).strip().lower(), str(name).strip().lower())
    if key not in DATUMS:
        raise ValueError(f"unknown datum {name!r}; write one of {', '.join(map(repr, DATUMS))}")
    return DATUMS[key]


def time_units(start: datetime) -> str:
    """CF units ``"seconds since YYYY-MM-DD hh:mm:ss"`` for an aware datetime (converted to UTC).

    CF reads a reference time without a zone as UTC. Sub-second parts are written when present.
    """
    s = utc(start)
    text = s.strftime("%Y-%m-%d %H:%M:%S")
    if s.microsecond:
        text += f".{s.microsecond:06d}"
    return f"seconds since {text}"


def time_attributes(start: datetime) -> dict:
    """Attributes of a CF time coordinate in seconds since ``start`` (UTC)."""
    return {
        "standard_name": "time",
        "long_name": "time (UTC)",
        "axis": "T",
        "units": time_units(start),
        "calendar": "proleptic_gregorian",
        "units_metadata": "leap_seconds: none",
    }


def seconds_since(clock, start: datetime) -> float:
    """Model time of ``clock`` in seconds since ``start`` (exact when ``start == clock.start``)."""
    offset = (clock.start - utc(start)).total_seconds()
    return clock.time + offset if offset else clock.time


def global_attributes(*, title: str, institution: str, comment: str, source_detail: str, extra=None) -> dict:
    """Global attributes: Conventions, title, institution, source (with the coastcast version),
    history, references, comment, date_created (UTC)."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    attrs = {
        "Conventions": CONVENTIONS,
        "title": title,
        "institution": institution,
        "source": f"coastcast {coastcast_version()} 2D shallow-water model ({source_detail})",
        "history": f"{now} created by coastcast {coastcast_version()} ({source_detail})",
        "references": REFERENCES,
        "comment": comment,
        "date_created": now,
    }
    attrs.update(extra or {})
    return attrs


class PartFile:
    """A NetCDF file written at ``<path>.part`` and renamed to ``path`` on :meth:`publish`.

    ``os.replace`` is atomic on one file system, so readers see either the previous complete file
    or the new complete file, never a partial one.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.dataset = None

    def create(self):
        """Open a new ``.part`` file (netCDF4/HDF5) for writing and return the netCDF4.Dataset."""
        import netCDF4

        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.part.exists():
            log.warning("removing a stale partial file %s", self.part)
            self.part.unlink()
        self.dataset = netCDF4.Dataset(self.part, "w", format="NETCDF4")
        return self.dataset

    def publish(self) -> Path:
        """Close the dataset and rename ``.part`` to the final path; returns the path."""
        if self.dataset is not None:
            self.dataset.close()
            self.dataset = None
        os.replace(self.part, self.path)
        log.info("wrote %s", self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file (the final path is left untouched)."""
        if self.dataset is not None:
            try:
                self.dataset.close()
            finally:
                self.dataset = None
        if self.part.exists():
            self.part.unlink()


class OutputWriter:
    """What the writers of the published files share: their options, the ``.part`` file and
    the spin-up window (``publish_start``).

    Parameters (keywords after ``path`` and ``schedule``)
    ------------------------------------------------------
    path : final file name; records go to ``<path>.part``, renamed in ``close``
    schedule : when to write or sample; default :meth:`default_schedule`
    start : aware datetime of the time axis origin ("seconds since start", UTC); default the
        simulation clock's start
    datum : "mean sea level" or "geoid" (standard names of the water level and depth)
    compression : zlib level 0-9 (0: none)
    publish_start : seconds since the clock's start before which nothing is written (spin-up)
    title, institution, comment : global attributes (``title`` defaults to the class's ``TITLE``)
    """

    TITLE = "coastcast output"
    _datum_named = staticmethod(datum)  # the module's function: the keyword ``datum`` hides it

    def default_schedule(self):
        """The schedule when none is given (each writer its own)."""
        raise NotImplementedError

    def __init__(
        self,
        path,
        schedule=None,
        *,
        start=None,
        datum: str = "mean sea level",
        compression: int = 4,
        publish_start: float = 0.0,
        title: str | None = None,
        institution: str = "coastcast",
        comment: str = "",
    ):
        if not 0 <= int(compression) <= 9:
            raise ValueError(f"compression must be a zlib level 0..9, got {compression}")
        self.path = Path(path)
        self.schedule = schedule or self.default_schedule()
        self.start = None if start is None else utc(start)
        self.datum = self._datum_named(datum)
        self.compression = int(compression)
        self.publish_start = float(publish_start)
        self.title = self.TITLE if title is None else title
        self.institution = institution
        self.comment = comment
        self._file = PartFile(self.path)

    @property
    def part_path(self) -> Path:
        """Where the file is written until ``close``."""
        return self._file.part

    def before_publish_start(self, clock) -> bool:
        """True while the clock is in the spin-up (before ``publish_start``): nothing is written."""
        return clock.time < self.publish_start - 1e-9 * max(1.0, abs(self.publish_start))

    def compression_options(self) -> dict:
        """netCDF4 ``createVariable`` keywords for the zlib level (none at 0)."""
        return {"zlib": True, "complevel": self.compression, "shuffle": True} if self.compression else {}

    def abort(self) -> None:
        """Drop the partial file (e.g. after a failed run); the published file is left as it was."""
        self._file.abort()


class RecordWriter(OutputWriter):
    """A writer that appends one record per scheduled time to its open ``.part`` file
    (``fields.nc``, ``stations.nc``): ``open(simulation)`` sets ``self._ds``, ``write`` counts
    ``self._record``."""

    def __init__(self, path, schedule=None, **options):
        super().__init__(path, schedule, **options)
        self._ds = None
        self._record = 0

    def open(self, simulation) -> None:
        raise NotImplementedError

    def close(self, simulation=None) -> Path:
        """Finish the file and publish it under its final name."""
        if self._ds is None:
            if simulation is None:
                raise RuntimeError(f"{self.path}: close() before any record was written")
            self.open(simulation)
        if self._record == 0:
            log.warning("%s has no records (publish_start %.0f s is after the end of the run?)", self.path, self.publish_start)
        self._ds = None
        return self._file.publish()

    def abort(self) -> None:
        self._ds = None
        super().abort()
