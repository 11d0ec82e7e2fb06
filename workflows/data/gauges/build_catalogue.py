"""Build ``tide_gauges_north_atlantic.nc`` (the shipped gauge catalogue) from the data kit's CSV.

Usage::

    python -m workflows.data.gauges.build_catalogue tide_stations_north_atlantic.csv [--out FILE]

The input is the project data kit's ``gauges/tide_stations_north_atlantic.csv`` (SOURCES.md §3b):
columns ``id, name, country, source, licence, lat, lon``, then ``<C>_amp_m`` and
``<C>_phase_deg`` for C in :data:`CONSTITUENTS`, ``chart_datum`` and ``datum_<D>_m`` for D in
:data:`DATUMS`; a blank cell means "absent". The output is a NetCDF-4 file with a ``station``
dimension (see README.md in this folder for every variable). Amplitudes, phases and datum heights
are stored as float32 (the source has 0.1 mm / 0.01 deg / 1 mm precision; float32 keeps 7
significant digits), with NaN for absent values; lat/lon as float64; text as zlib-compressed
UTF-8 character arrays. The file is written to a temporary name and renamed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CONSTITUENTS = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1", "M4", "MS4", "M6")
"""Constituent columns of the CSV, in file order."""
DATUMS = ("LAT", "MLLW", "MLWS", "MLW", "MSL", "MHW", "MHWS", "MHHW", "HAT")
"""Datum columns of the CSV, lowest to highest (nominally)."""
TEXT_COLUMNS = ("id", "name", "country", "source", "licence", "chart_datum")
DEFAULT_OUT = Path(__file__).resolve().parent / "tide_gauges_north_atlantic.nc"

GLOBAL_ATTRIBUTES = {
    "Conventions": "CF-1.11",
    "title": "Harmonic constants and tidal datums of 2,616 North Atlantic tide gauges",
    "summary": (
        "Tidal elevation harmonic constants (amplitude in m, Greenwich phase lag in degrees referred to "
        "UTC) of up to 11 constituents and tidal datum heights at tide gauges in lon -100..45, lat -5..82. "
        "Long-term constants, not observations: compare a model with the gauge's harmonic prediction."
    ),
    "source": (
        "Derived from the public repository github.com/openwatersio/tide-database (source of the npm package "
        "@neaps/tide-database, code MIT), snapshot commit f7465efa, files data/ticon/*.json and "
        "data/noaa/*.json, via the coastcast data kit file gauges/tide_stations_north_atlantic.csv "
        "(rows marked CC-BY-NC in the source left out; commas in names replaced by spaces)."
    ),
    "license": (
        "Per station (variable 'licence'). TICON-4 rows: CC-BY-4.0, cite \"TICON-4, SEANOE\" "
        "(https://www.seanoe.org/data/00980/109129/) and GESLA-4 (Global Extreme Sea Level Analysis, "
        "version 4), from whose sea-level records TICON-4 was derived. NOAA CO-OPS rows: US public domain "
        "(NOAA Center for Operational Oceanographic Products and Services harmonic constants and datums)."
    ),
    "acknowledgement": "TICON-4, SEANOE; GESLA-4; NOAA CO-OPS; openwatersio/tide-database (commit f7465efa).",
    "references": (
        "https://www.seanoe.org/data/00980/109129/ ; https://gesla787883612.wordpress.com ; "
        "https://tidesandcurrents.noaa.gov ; https://github.com/openwatersio/tide-database"
    ),
    "comment": (
        "Datum heights are in each gauge's own vertical frame: only differences between datums of one "
        "station are meaningful (e.g. MSL - LAT). TICON-4 datums are synthetic (the source computed them "
        "from 19-year harmonic predictions); NOAA datums are on the National Tidal Datum Epoch."
    ),
}


# Four Channel Coastal Observatory gauges whose names the source (tide-database f7465efa, from
# TICON-4) shifts by one row: each id and its position agree (Brighton at 50.81 N 0.10 W, Port
# Isaac at 50.59 N 4.83 W, the Severn Bridge at 51.57 N 2.70 W, West Bay at 50.71 N 2.76 W) but the
# name is another gauge's. The catalogue takes the name the id and the position give.
NAME_FIXES = {
    "ticon/brighton-btn-gbr-cco": "Brighton",
    "ticon/port_isaac-pti-gbr-cco": "Port Isaac",
    "ticon/severn_bridge-ssc-gbr-cco": "Severn Bridge",
    "ticon/west_bay_harbour-wbh-gbr-cco": "West Bay Harbour",
}


class BuildError(ValueError):
    """The input CSV cannot be converted; one-line message naming the file and line."""


def _float(text: str, path: Path, line: int, column: str) -> float:
    text = text.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise BuildError(f"{path}:{line}: column {column!r} is {text!r}, not a number") from None
    if not math.isfinite(value):
        raise BuildError(f"{path}:{line}: column {column!r} is {text!r}")
    return value


def read_csv(path) -> dict[str, np.ndarray]:
    """The CSV as arrays: text columns (n,) str; ``lat``, ``lon`` (n,) float64 degrees;
    ``amplitude``, ``phase`` (n, n_con) m and degrees; ``datum_height`` (n, n_datum) m; NaN = blank."""
    path = Path(path)
    amp_cols = [f"{c}_amp_m" for c in CONSTITUENTS]
    pha_cols = [f"{c}_phase_deg" for c in CONSTITUENTS]
    datum_cols = [f"datum_{d}_m" for d in DATUMS]
    required = [*TEXT_COLUMNS, "lat", "lon", *amp_cols, *pha_cols, *datum_cols]
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise BuildError(f"{path}: missing column(s) {', '.join(missing)}")
        text = {c: [] for c in TEXT_COLUMNS}
        lat, lon, amp, pha, dat = [], [], [], [], []
        for row in reader:
            line = reader.line_num
            for c in TEXT_COLUMNS:
                text[c].append(row[c].strip())
            if text["id"][-1] in NAME_FIXES:
                text["name"][-1] = NAME_FIXES[text["id"][-1]]
            la, lo = (_float(row[c], path, line, c) for c in ("lat", "lon"))
            if not (-90 <= la <= 90 and -180 <= lo <= 360):
                raise BuildError(f"{path}:{line}: position ({lo}, {la}) is not lon/lat in degrees")
            a = [_float(row[c], path, line, c) for c in amp_cols]
            p = [_float(row[c], path, line, c) for c in pha_cols]
            for c, x, y in zip(CONSTITUENTS, a, p):
                if math.isnan(x) != math.isnan(y):
                    raise BuildError(f"{path}:{line}: {c} has an amplitude or a phase but not both")
                if x < 0:
                    raise BuildError(f"{path}:{line}: {c} amplitude is negative ({x})")
            lat.append(la)
            lon.append(lo)
            amp.append(a)
            pha.append([x % 360.0 for x in p])
            dat.append([_float(row[c], path, line, c) for c in datum_cols])
    ids = text["id"]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise BuildError(f"{path}: station id(s) {', '.join(dup[:5])} appear more than once")
    n = len(ids)
    out = {c: np.array(v, dtype=str) for c, v in text.items()}
    out["lat"] = np.array(lat, dtype=np.float64)
    out["lon"] = np.array(lon, dtype=np.float64)
    out["amplitude"] = np.array(amp, dtype=np.float64).reshape(n, len(CONSTITUENTS))
    out["phase"] = np.array(pha, dtype=np.float64).reshape(n, len(CONSTITUENTS))
    out["datum_height"] = np.array(dat, dtype=np.float64).reshape(n, len(DATUMS))
    return out


def _char_variable(ds, name: str, values, dim: str, attrs: dict):
    """A UTF-8 character-array variable (dim, string_length) that netCDF4/xarray read back as str.

    All text variables share one ``string_length`` dimension (the zero padding compresses away,
    and every extra HDF5 dimension costs several kB)."""
    import netCDF4

    encoded = [str(v).encode("utf-8") for v in values]
    width = len(ds.dimensions["string_length"])
    if any(len(b) > width for b in encoded):
        raise BuildError(f"{name}: a value is longer than {width} bytes")
    var = ds.createVariable(name, "S1", (dim, "string_length"), zlib=True, complevel=9)
    var._Encoding = "utf-8"
    for key, value in attrs.items():
        var.setncattr(key, value)
    if encoded:
        var[:] = netCDF4.stringtochar(np.array(encoded, dtype=f"S{width}"))
    return var


def write_catalogue(table: dict[str, np.ndarray], out, source_description: str = "", source_sha256: str = "") -> Path:
    """Write ``table`` (as from :func:`read_csv`) to the NetCDF file ``out``; returns its path."""
    import netCDF4

    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    n = len(table["id"])
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
        ds.setncatts(GLOBAL_ATTRIBUTES)
        ds.setncattr("history", f"built by workflows/data/gauges/build_catalogue.py from {source_description}")
        if source_sha256:
            ds.setncattr("source_file_sha256", source_sha256)
        ds.createDimension("station", n)
        ds.createDimension("constituent", len(CONSTITUENTS))
        ds.createDimension("datum", len(DATUMS))
        texts = [*(table[c] for c in TEXT_COLUMNS), CONSTITUENTS, DATUMS]
        ds.createDimension("string_length", max([len(str(v).encode("utf-8")) for t in texts for v in t] + [1]))
        _char_variable(ds, "station_id", table["id"], "station", {"long_name": "station identifier (source/station id)"})
        _char_variable(ds, "name", table["name"], "station", {"long_name": "station name"})
        _char_variable(ds, "country", table["country"], "station", {"long_name": "country"})
        _char_variable(
            ds, "source", table["source"], "station", {"long_name": "origin of the station's constants (TICON-4 or NOAA CO-OPS)"}
        )
        _char_variable(ds, "licence", table["licence"], "station", {"long_name": "licence of the station's constants"})
        _char_variable(
            ds,
            "chart_datum",
            table["chart_datum"],
            "station",
            {"long_name": "name of the datum charts use at the station (may be one not in 'datum')"},
        )
        _char_variable(ds, "constituent", CONSTITUENTS, "constituent", {"long_name": "tidal constituent name"})
        _char_variable(ds, "datum", DATUMS, "datum", {"long_name": "tidal datum name"})
        for key, std, units in (("lat", "latitude", "degrees_north"), ("lon", "longitude", "degrees_east")):
            var = ds.createVariable(key, "f8", ("station",), zlib=True, complevel=9, shuffle=False)
            var.setncatts({"standard_name": std, "long_name": std, "units": units})
            var[:] = table[key]
        specs = (
            (
                "amplitude",
                ("station", "constituent"),
                {"long_name": "amplitude of the tidal elevation constituent", "units": "m"},
            ),
            (
                "phase",
                ("station", "constituent"),
                {
                    "long_name": "Greenwich phase lag of the tidal elevation constituent, referred to UTC",
                    "units": "degree",
                    "valid_min": np.float32(0.0),
                    "valid_max": np.float32(360.0),
                },
            ),
            (
                "datum_height",
                ("station", "datum"),
                {
                    "long_name": "height of the tidal datum in the station's own vertical frame "
                    "(only differences between datums of one station are meaningful)",
                    "units": "m",
                },
            ),
        )
        for key, dims, attrs in specs:
            var = ds.createVariable(key, "f4", dims, zlib=True, complevel=9, shuffle=False, fill_value=np.float32(np.nan))
            var.setncatts({**attrs, "coordinates": "lat lon"})
            var[:] = table[key].astype(np.float32)
    os.replace(tmp, out)
    return out


def build(csv_path, out=DEFAULT_OUT) -> Path:
    """Read ``csv_path`` and write the catalogue ``out``; returns ``out``."""
    csv_path = Path(csv_path)
    table = read_csv(csv_path)
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    path = write_catalogue(table, out, f"{csv_path.name} (sha256 {digest})", digest)
    log.info("wrote %s: %d stations, %d bytes", path, len(table["id"]), path.stat().st_size)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the shipped tide-gauge catalogue (NetCDF) from the data kit CSV.")
    parser.add_argument("csv", help="gauges/tide_stations_north_atlantic.csv of the data kit")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output NetCDF (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        build(args.csv, args.out)
    except BuildError as exc:
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
