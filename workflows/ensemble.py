"""Ensemble forecasts: N perturbed members run in parallel as separate cycles, then station statistics.

The ``[ensemble]`` table of a forecast configuration::

    [ensemble]
    members = 3
    wind_factors = [0.8, 1.0, 1.2]      # member k's 10 m wind is multiplied by wind_factors[k]
                                        # (needs [atmosphere] source = "file": the files are scaled)
    threshold_m = 0.5                   # probability of zeta > threshold_m at each station and time
    [[ensemble.tides]]                  # or one [tides] table per member (other atlases, other tables)
    source = "harmonics"
    file = "tides_fes.csv"

Each member is an ordinary cycle in ``<run_dir>/members/mNN`` (its own config.toml, segments,
outputs and run.json) submitted together through :mod:`workflows.pipeline`, so members run in
parallel on the cluster. When all have succeeded, ``<run_dir>/ensemble_stations.nc`` (CF-1.11,
``featureType = "timeSeries"``) holds at each station and output time, over the N members:

* ``zeta_mean``  — the ensemble mean, :math:`\\bar\\zeta = \\frac1N \\sum_k \\zeta_k` (m);
* ``zeta_std``   — the spread, the population standard deviation
  :math:`\\sqrt{\\frac1N \\sum_k (\\zeta_k - \\bar\\zeta)^2}` (m);
* ``zeta_exceedance_probability`` — the fraction of members with :math:`\\zeta_k >` ``threshold_m``
  (a dry station, whose zeta is missing, does not exceed);

means and spreads skip dry members (missing where every member is dry) — Wilks (2011),
*Statistical Methods in the Atmospheric Sciences*, ch. 8, for these ensemble summaries.
``ensemble.json`` records the members, their perturbations and their outcomes.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, EnsembleSpec, dump_toml, load_config, with_overrides

log = logging.getLogger(__name__)

OUTPUT = "ensemble_stations.nc"

__all__ = ["EnsembleSpec", "ensemble_statistics", "load_ensemble", "member_configs", "run_ensemble", "scale_wind_file"]


def load_ensemble(config_path) -> EnsembleSpec | None:
    """The ``[ensemble]`` table of a configuration file (:class:`workflows.config.EnsembleSpec`,
    declared with the other keys), or None when it has none."""
    return load_config(config_path).ensemble


def scale_wind_file(source: Path, destination: Path, factor: float) -> Path:
    """A copy of a CF NetCDF atmosphere file with its 10 m wind components multiplied by ``factor``."""
    import xarray as xr

    from .forcing.cfnetcdf import _find_variable

    with xr.open_dataset(source, engine="netcdf4", decode_times=False) as ds:
        ds = ds.load()
    names = []
    for fld in ("u10", "v10"):
        name = _find_variable(ds, fld)
        if name is None or isinstance(name, tuple):
            raise ConfigError(f"[ensemble] wind_factors: {source} has no single 10 m wind variable {fld!r} to scale")
        names.append(name)
    for name in names:
        attrs = ds[name].attrs
        ds[name] = ds[name] * factor
        ds[name].attrs = {**attrs, "comment": f"scaled by {factor:g} for an ensemble member"}
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    ds.to_netcdf(part, engine="netcdf4")
    os.replace(part, destination)
    return destination


def member_configs(config_path, run_dir) -> list[tuple[str, Path, Path]]:
    """Write each member's config.toml into ``<run_dir>/members/mNN``; returns ``(name, config, run_dir)``.

    A member is the loaded configuration with its name, tides and atmosphere replaced
    (:func:`workflows.config.with_overrides`, checked like the file) and no ``[ensemble]``."""
    config_path = Path(config_path)
    cfg = load_config(config_path)
    spec = cfg.ensemble
    if spec is None:
        raise ConfigError(f"{config_path}: no [ensemble] table")
    atmosphere = cfg.atmosphere
    if spec.wind_factors is not None:
        source = (
            atmosphere.get("source", "file" if "path" in atmosphere else "none")
            if isinstance(atmosphere, Mapping)
            else ("file" if atmosphere not in ("none", "gfs") else atmosphere)
        )
        if source != "file":
            raise ConfigError(
                f'{config_path}: [ensemble] wind_factors needs [atmosphere] source = "file" (got {source!r}); '
                "scale GFS by downloading it to files first"
            )
    out = []
    for k in range(spec.members):
        name = f"m{k + 1:02d}"
        member_dir = Path(run_dir) / "members" / name
        member_dir.mkdir(parents=True, exist_ok=True)
        overrides: dict[str, Any] = {"name": f"{cfg.name}-{name}", "ensemble": None}
        if spec.tides is not None:
            overrides["tides"] = dict(spec.tides[k])
        if spec.wind_factors is not None:
            table = dict(atmosphere) if isinstance(atmosphere, Mapping) else {"source": "file", "path": atmosphere}
            paths = table["path"] if isinstance(table["path"], list) else [table["path"]]
            scaled = [str(scale_wind_file(Path(p), member_dir / "forcing" / Path(p).name, spec.wind_factors[k])) for p in paths]
            table["source"], table["path"] = "file", scaled
            overrides["atmosphere"] = table
        # a bad member is refused now, named
        member = with_overrides(cfg, overrides, where=f"{config_path} [ensemble] member {name}")
        path = member_dir / "member.toml"
        path.write_text(dump_toml(member), encoding="utf-8")
        out.append((name, path, member_dir))
    return out


def ensemble_statistics(member_station_files: Sequence, threshold_m: float, destination) -> Path:
    """Write ``ensemble_stations.nc`` from the members' ``stations.nc`` (see the module docstring)."""
    import xarray as xr

    files = [Path(f) for f in member_station_files]
    if len(files) < 2:
        raise ValueError(f"an ensemble needs at least 2 members' stations.nc, got {len(files)}")
    sets = [xr.open_dataset(f, engine="netcdf4", decode_times=False) for f in files]
    try:
        first = sets[0]
        for f, ds in zip(files[1:], sets[1:]):
            if ds.sizes != first.sizes or not np.array_equal(ds["time"].values, first["time"].values):
                raise ValueError(f"{f}: its stations or times differ from {files[0]}")
            if list(ds["station_name"].values) != list(first["station_name"].values):
                raise ValueError(f"{f}: its station names differ from {files[0]}")
        zeta = np.stack([ds["zeta"].values.astype(np.float64) for ds in sets])  # (member, station, time), NaN when dry
        n = zeta.shape[0]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all members dry: NaN, as intended
            mean = np.nanmean(zeta, axis=0)
            std = np.nanstd(zeta, axis=0)
        prob = np.sum(np.nan_to_num(zeta, nan=-np.inf) > threshold_m, axis=0) / n
        zattrs = {k: v for k, v in first["zeta"].attrs.items() if k in ("standard_name", "units", "coordinates")}
        out = xr.Dataset(
            coords={name: first[name] for name in ("time", "station_name", "lon", "lat") if name in first.variables},
            data_vars={
                "zeta_mean": (
                    first["zeta"].dims,
                    mean.astype(np.float32),
                    {**zattrs, "long_name": "ensemble mean water level", "cell_methods": "realization: mean"},
                ),
                "zeta_std": (
                    first["zeta"].dims,
                    std.astype(np.float32),
                    {
                        "units": "m",
                        "long_name": "ensemble spread (population standard deviation) of water level",
                        "cell_methods": "realization: standard_deviation",
                        "coordinates": zattrs.get("coordinates", ""),
                    },
                ),
                "zeta_exceedance_probability": (
                    first["zeta"].dims,
                    prob.astype(np.float32),
                    {
                        "units": "1",
                        "long_name": f"fraction of the {n} members with water level above {threshold_m:g} m",
                        "threshold_m": float(threshold_m),
                        "valid_min": np.float32(0),
                        "valid_max": np.float32(1),
                        "coordinates": zattrs.get("coordinates", ""),
                    },
                ),
            },
            attrs={
                **{k: v for k, v in first.attrs.items() if k in ("Conventions", "institution", "references")},
                "featureType": "timeSeries",
                "title": "coastcast ensemble station statistics",
                "source": "coastcast ensemble of " + ", ".join(str(f.parent.name) for f in files),
                "ensemble_members": np.int32(n),
                "threshold_m": float(threshold_m),
            },
        )
        for v in ("zeta_mean", "zeta_std", "zeta_exceedance_probability"):
            if not out[v].attrs.get("coordinates"):
                out[v].attrs.pop("coordinates", None)
    finally:
        for ds in sets:
            ds.close()
    destination = Path(destination)
    part = destination.with_name(destination.name + ".part")
    encoding = {
        v: {"zlib": True, "complevel": 4, "_FillValue": np.float32(np.nan)}
        for v in ("zeta_mean", "zeta_std", "zeta_exceedance_probability")
    }
    out.to_netcdf(part, engine="netcdf4", encoding=encoding)
    os.replace(part, destination)
    return destination


def run_ensemble(
    config_path,
    run_dir,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 2,
    figures: bool = False,
) -> dict:
    """Run every member as a cycle (in parallel), then write ``ensemble_stations.nc`` and
    ``ensemble.json`` in ``run_dir``. Returns the ``ensemble.json`` content; members that fail
    are reported there and the statistics use the members that succeeded (at least 2)."""
    from .pipeline import CycleRequest, _write_json, run_cycles

    spec = load_ensemble(config_path)
    if spec is None:
        raise ConfigError(f"{config_path}: no [ensemble] table")
    run_dir = Path(run_dir)
    members = member_configs(config_path, run_dir)
    requests = [CycleRequest(cfg, mdir, system=f"{load_config(config_path).name}-{name}") for name, cfg, mdir in members]
    outcomes = run_cycles(requests, client=client, scheduler=scheduler, workers=workers, retries=retries, figures=figures)
    ok = [(name, mdir) for (name, _, mdir), o in zip(members, outcomes) if o.status == "succeeded"]
    info = {
        "members": [
            {
                "name": name,
                "status": o.status,
                "error": o.error,
                "run_dir": str(mdir),
                "wind_factor": spec.wind_factors[k] if spec.wind_factors else None,
                "tides": dict(spec.tides[k]) if spec.tides else None,
            }
            for k, ((name, _, mdir), o) in enumerate(zip(members, outcomes))
        ],
        "threshold_m": spec.threshold_m,
        "status": "succeeded" if len(ok) == spec.members else ("partial" if len(ok) >= 2 else "failed"),
    }
    if len(ok) >= 2:
        ensemble_statistics([mdir / "stations.nc" for _, mdir in ok], spec.threshold_m, run_dir / OUTPUT)
        info["output"] = OUTPUT
        info["members_used"] = [name for name, _ in ok]
    _write_json(run_dir / "ensemble.json", info)
    return info
