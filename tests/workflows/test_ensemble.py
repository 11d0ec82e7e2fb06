"""Ensembles: strict [ensemble] parsing, members run in parallel, and station statistics checked
against numpy on the members' own files."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
import tomli_w

from tests.cycle_fixtures import write_inputs
from workflows.config import ConfigError
from workflows.ensemble import EnsembleSpec, ensemble_statistics, run_ensemble


@pytest.mark.parametrize(
    "table, message",
    [
        ({"members": 2, "wind_factor": [1, 2]}, "[ensemble]: unknown key 'wind_factor'; did you mean 'wind_factors'?"),
        ({"members": 1, "wind_factors": [1.0]}, "[ensemble]: members must be an integer >= 2, got 1"),
        ({"members": 3, "wind_factors": [0.9, 1.1]}, "[ensemble]: wind_factors has 2 values but members = 3"),
        ({"members": 2}, "[ensemble]: members = 2 but no perturbation; give wind_factors = [...] or [[ensemble.tides]] tables"),
        (
            {"members": 2, "tides": [{"source": "harmonics", "file": "a.csv"}]},
            "[ensemble]: 1 [[ensemble.tides]] tables but members = 2",
        ),
        ({"members": 2, "wind_factors": [1, -1]}, "[ensemble]: wind_factors must be a list of numbers >= 0, got [1, -1]"),
        (
            {"members": 2, "wind_factors": [1, 2], "threshold_m": "high"},
            "[ensemble]: threshold_m must be a number (metres), got 'high'",
        ),
    ],
)
def test_bad_ensemble_tables_are_refused_in_one_line(table, message):
    with pytest.raises(ConfigError) as err:
        EnsembleSpec.from_mapping(table)
    assert str(err.value) == message


def test_wind_factors_need_an_atmosphere_file(tmp_path):
    from workflows.ensemble import member_configs

    cfg = write_inputs(tmp_path, ensemble={"members": 2, "wind_factors": [0.5, 1.5]})
    with pytest.raises(ConfigError, match=r'wind_factors needs \[atmosphere\] source = "file" \(got \'none\'\)'):
        member_configs(cfg, tmp_path / "run")


def test_statistics_of_hand_made_members(tmp_path, reference_run):
    """Three members' stations.nc with known values: mean, population std and exceedance by hand."""
    import shutil

    import netCDF4

    files = []
    offsets = [0.0, 0.3, 0.9]
    for k, off in enumerate(offsets):
        f = tmp_path / f"m{k}" / "stations.nc"
        f.parent.mkdir()
        shutil.copyfile(reference_run / "stations.nc", f)
        with netCDF4.Dataset(f, "a") as ds:
            z = ds["zeta"][:]
            ds["zeta"][:] = np.full_like(z, 0.2) + off
        files.append(f)
    out = ensemble_statistics(files, 0.4, tmp_path / "ens.nc")
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert np.allclose(ds["zeta_mean"], 0.2 + 0.4, atol=1e-6)
        assert np.allclose(ds["zeta_std"], np.sqrt(((0.0 - 0.4) ** 2 + (0.3 - 0.4) ** 2 + (0.9 - 0.4) ** 2) / 3), atol=1e-6)
        assert np.allclose(ds["zeta_exceedance_probability"], 2 / 3)  # 0.5 and 1.1 exceed 0.4, 0.2 does not
        assert ds.attrs["featureType"] == "timeSeries" and ds["station_name"].attrs.get("cf_role") == "timeseries_id"
        assert list(ds["station_name"].values) == ["mouth", "head"]


@pytest.mark.cluster
def test_tidal_source_ensemble_runs_members_in_parallel(tmp_path):
    from workflows.cluster import open_client

    folder = tmp_path / "in"
    cfg = write_inputs(folder, hours=2.0)
    amplitudes = [1.0, 0.75, 0.5]
    text = (folder / "tides.csv").read_text()
    tables = []
    for a in amplitudes:
        name = f"tides_{a:g}.csv"
        (folder / name).write_text(text.replace(",1.0,100.0,", f",{a},100.0,"))
        tables.append({"source": "harmonics", "file": name})
    data = tomllib.loads(cfg.read_text())
    data["ensemble"] = {"members": 3, "threshold_m": -0.6, "tides": tables}
    cfg.write_text(tomli_w.dumps(data))
    with open_client(workers=2) as client:
        info = run_ensemble(cfg, tmp_path / "run", client=client)
    assert info["status"] == "succeeded" and [m["status"] for m in info["members"]] == ["succeeded"] * 3
    assert json.loads((tmp_path / "run" / "ensemble.json").read_text())["members_used"] == ["m01", "m02", "m03"]
    import xarray as xr

    zs = []
    for m in ("m01", "m02", "m03"):
        member_cfg = tomllib.loads((tmp_path / "run" / "members" / m / "config.toml").read_text())
        assert member_cfg["tides"]["file"].endswith(f"tides_{amplitudes[int(m[1:]) - 1]:g}.csv")
        with xr.open_dataset(tmp_path / "run" / "members" / m / "stations.nc") as ds:
            zs.append(ds["zeta"].values.astype(np.float64))
    zs = np.stack(zs)
    # the members differ (the tide amplitude reached the model) ...
    assert np.nanmax(np.abs(zs[0] - zs[2])) > 0.1
    with xr.open_dataset(tmp_path / "run" / "ensemble_stations.nc") as ds:
        assert np.allclose(ds["zeta_mean"].values, zs.mean(axis=0), atol=1e-6)
        assert np.allclose(ds["zeta_std"].values, zs.std(axis=0), atol=1e-6)
        assert np.array_equal(ds["zeta_exceedance_probability"].values, ((zs > -0.6).sum(axis=0) / 3).astype(np.float32))
        p = ds["zeta_exceedance_probability"].values
        assert 0 < p.mean() < 1  # some times exceed, some do not
