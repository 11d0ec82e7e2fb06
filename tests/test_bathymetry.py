"""Vertical datum of the depths: chart datum to mean sea level (workflows.bathymetry)."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from solver.formats import write_mesh
from workflows.bathymetry import DatumError, VerticalDatum, to_mean_sea_level
from workflows.config import ConfigError, ForecastConfig
from workflows.cycle import read_mesh_for
from workflows.gallery import RegionError, load_region
from workflows.validation import PLYMOUTH_GAUGE


def _lonlat_box():
    from solver.builders import rectangle
    from solver.mesh import Mesh

    rect = rectangle(1000.0, 500.0, 4, 2, depth=5.0)
    depth = np.linspace(0.0, 12.0, rect.n_node)
    return Mesh(-4 + rect.node_x * 1e-5, 48 + rect.node_y * 1e-5, rect.face_node_connectivity, depth, rect.boundaries)


def test_constant_offset_adds_to_every_node_and_msl_is_the_identity():
    m = _lonlat_box()
    out = to_mean_sea_level(m, VerticalDatum("chart", 3.25))
    np.testing.assert_array_equal(out.depth, m.depth + 3.25)
    assert to_mean_sea_level(m, VerticalDatum()) is m
    assert out.n_face == m.n_face and out.face_depth.min() == pytest.approx(m.face_depth.min() + 3.25)


def test_channel_biscay_depths_are_raised_by_the_sum_of_the_atlas_amplitudes():
    region = load_region("channel_biscay")
    cfg = ForecastConfig.from_mapping({"name": "d", "gallery": "channel_biscay", "start": "2022-01-01T00:00Z", "hours": 1})
    assert cfg.bathymetry.datum == "chart" and cfg.bathymetry.msl_above_datum == "atlas"
    mesh = read_mesh_for(cfg)
    with netCDF4.Dataset(region.tides.atlas_file) as ds:  # the atlas's own node values, read directly
        z0 = np.asarray(ds["elev_amp"][:], dtype=float).sum(axis=0)
    np.testing.assert_allclose(mesh.depth - region.mesh().depth, z0, atol=1e-5)
    assert region.msl_mesh().depth == pytest.approx(mesh.depth)
    # a configuration can say its depths are below MSL after all
    same = read_mesh_for(
        ForecastConfig.from_mapping(
            {"name": "d", "gallery": "channel_biscay", "start": "2022-01-01T00:00Z", "hours": 1, "bathymetry": {"datum": "msl"}}
        )
    )
    np.testing.assert_array_equal(same.depth, region.mesh().depth)


def test_msl_above_chart_datum_at_plymouth_against_the_gauge():
    """The Plymouth gauge measures against Admiralty Chart Datum: its January 2022 mean (3.41 m)
    is MSL above chart datum plus that month's surge. The sum of the four atlas amplitudes misses
    the diurnal and smaller constituents, so it must lie below, by less than 0.6 m."""
    with netCDF4.Dataset(PLYMOUTH_GAUGE) as ds:
        assert ds["SLEV"].sea_level_datum == "Admiralty Chart Datum"
        slev = np.asarray(ds["SLEV"][:], dtype=float).ravel()
        qc = np.asarray(ds["SLEV_QC"][:]).ravel()
    observed = float(np.mean(slev[qc == 1]))
    region = load_region("channel_biscay")
    ply = next(s for s in region.stations if s.name == "Plymouth")
    z0 = float(region.bathymetry.msl_above_datum_at([ply.lon], [ply.lat])[0])
    assert 3.3 < observed < 3.5
    assert observed - 0.6 < z0 < observed


@pytest.mark.parametrize(
    "table, message",
    [
        ({"datum": "lat"}, "datum 'lat' is not one of 'msl', 'chart'"),
        ({"datum": "chart", "msl_above_datum": "tides"}, 'must be a number of metres or "atlas"'),
        ({"datum": "chart", "msl_above_datum": "atlas"}, "needs atlas_model"),
        ({"datum": "chart", "msl_above_datum": -2.0}, "between 0 and 20 m"),
        ({"msl_above_datum": 2.0}, 'needs datum = "chart"'),
        ({"datum": "chart", "offset": 2.0}, "unknown key 'offset'"),
        ({"datum": "chart", "msl_above_datums": 2.0}, "did you mean 'msl_above_datum'"),
    ],
)
def test_bad_bathymetry_tables_are_refused_in_one_line(table, message):
    with pytest.raises(DatumError, match=message):
        VerticalDatum.from_mapping(table)
    with pytest.raises(ConfigError, match=r"config: \[bathymetry\].*" + message.replace("(", r"\(")) as exc:
        ForecastConfig.from_mapping(
            {"name": "d", "gallery": "gironde", "start": "2022-01-01T00:00Z", "hours": 1, "bathymetry": table}
        )
    assert "\n" not in str(exc.value)


def test_region_with_a_missing_datum_atlas_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "box"
    folder.mkdir()
    write_mesh(_lonlat_box(), folder / "hgrid.gr3")
    (folder / "region.toml").write_text(
        'name = "box"\ntitle = "a box"\nmesh = "hgrid.gr3"\n'
        '[bathymetry]\ndatum = "chart"\nmsl_above_datum = "atlas"\natlas_model = "jmj"\natlas_file = "nope.nc"\n'
    )
    monkeypatch.setenv("COASTCAST_GALLERY", str(tmp_path))
    with pytest.raises(RegionError, match=r"\[bathymetry\] atlas_file 'nope.nc' does not exist"):
        load_region("box")
    (folder / "region.toml").write_text(
        'name = "box"\ntitle = "a box"\nmesh = "hgrid.gr3"\n[bathymetry]\ndatum = "chart"\nmsl_above_datum = 1.5\n'
    )
    region = load_region("box")
    np.testing.assert_allclose(region.msl_mesh().depth, region.mesh().depth + 1.5)
