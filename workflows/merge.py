"""Joining the per-segment output files of a cycle into the published ones.

Segments write ``fields.nc`` / ``stations.nc`` with an unlimited ``time`` dimension and the same
static variables; the published file is a copy of the first segment's file with the later
segments' records appended (netCDF4, record by record, no whole-file read), written under a
temporary name and renamed. ``max.nc`` files are folded: the larger maximum wins, with its time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from solver.output.names import FACE, SPEED_MAX, TIME, ZETA_MAX, time_of


def _copy_first(sources, destination, what: str) -> tuple[list[Path], Path, Path]:
    """The existing ``sources``, the destination and its ``.part`` file, a copy of the first source."""
    sources = [Path(s) for s in sources if Path(s).is_file()]
    if not sources:
        raise FileNotFoundError(f"no segment {what} to merge into {destination}")
    dst = Path(destination)
    part = dst.with_name(dst.name + ".part")
    shutil.copyfile(sources[0], part)
    return sources, dst, part


def merge_time_records(sources, destination) -> Path:
    """Concatenate the time records of ``sources`` (in order) into ``destination``."""
    import netCDF4

    sources, dst, part = _copy_first(sources, destination, "files")
    with netCDF4.Dataset(part, "a") as out:
        timed = [name for name, v in out.variables.items() if TIME in v.dimensions]
        last = float(out[TIME][-1]) if out.dimensions[TIME].size else -np.inf
        for src in sources[1:]:
            with netCDF4.Dataset(src, "r") as ds:
                ds.set_auto_mask(False)
                times = ds[TIME][:]
                keep = np.flatnonzero(times > last + 1e-6)
                for i in keep:
                    n = out.dimensions[TIME].size
                    for name in timed:
                        v = ds[name]
                        axis = v.dimensions.index(TIME)
                        index = [slice(None)] * v.ndim
                        index[axis] = i
                        dest = [slice(None)] * v.ndim
                        dest[axis] = n
                        out[name].set_auto_mask(False)
                        out[name][tuple(dest)] = v[tuple(index)]
                if keep.size:
                    last = float(times[keep[-1]])
    os.replace(part, dst)
    return dst


def merge_maxima(sources, destination) -> Path:
    """Fold ``max.nc`` files: per node and face the largest maximum and the time it occurred."""
    import netCDF4

    sources, dst, part = _copy_first(sources, destination, "maxima")
    pairs = [(name, time_of(name)) for name in (ZETA_MAX, SPEED_MAX, ZETA_MAX + FACE, SPEED_MAX + FACE)]
    with netCDF4.Dataset(part, "a") as out:
        out.set_auto_mask(False)
        for src in sources[1:]:
            with netCDF4.Dataset(src, "r") as ds:
                ds.set_auto_mask(False)
                for val, when in pairs:
                    if val not in ds.variables or when not in ds.variables:
                        continue
                    fill = getattr(ds[val], "_FillValue", None)
                    a, b = out[val][:], ds[val][:]
                    ta, tb = out[when][:], ds[when][:]
                    a_ok = np.isfinite(a) & (a != fill if fill is not None else True)
                    b_ok = np.isfinite(b) & (b != fill if fill is not None else True)
                    take = b_ok & (~a_ok | (b > a))
                    out[val][:] = np.where(take, b, a)
                    out[when][:] = np.where(take, tb, ta)
                if "time_coverage_end" in ds.ncattrs():
                    out.setncattr("time_coverage_end", ds.getncattr("time_coverage_end"))
                if TIME in ds.variables and TIME in out.variables:
                    out[TIME].assignValue(float(ds[TIME][...]))
    os.replace(part, dst)
    return dst
