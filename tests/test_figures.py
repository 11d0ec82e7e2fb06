"""PNG maps and station plots (workflows.figures) from the files of a small real run."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from solver import (
    Callback,
    Clock,
    ManningFriction,
    Mesh,
    ShallowWaterModel,
    Simulation,
    TidalElevation,
    TimeInterval,
)
from solver.builders import rectangle
from solver.output import MaximaWriter, StationWriter, UGRIDFieldWriter
from workflows.figures import (
    FigureError,
    boundary_segments,
    high_water_index,
    plot_maxima_map,
    plot_stations,
    plot_water_level_map,
)

START = datetime(2026, 1, 1, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    m = rectangle(2000.0, 1000.0, 8, 4, depth=lambda x, y: 3.0 - 3.5 * x / 2000.0)
    lon = -4.0 + m.node_x / (111_195.0 * np.cos(np.radians(50.0)))
    lat = 50.0 + m.node_y / 111_195.0
    mesh = Mesh(lon, lat, m.face_node_connectivity, m.depth, m.boundaries, crs="EPSG:4326", name="lon/lat rectangle")
    model = ShallowWaterModel(
        mesh,
        boundary_conditions={"west": TidalElevation(lambda t: 0.1 * np.sin(2 * np.pi * t / 600.0))},
        friction=ManningFriction(0.025),
    )
    recorded = []

    def record(sim):
        wet = sim.state.h > model.dry_depth
        eta = model.eta(sim.state)[wet].astype(np.float32)  # as stored in fields.nc
        recorded.append((eta.max(), eta.mean(dtype=np.float64)))

    stations = [("Quay", -4.0 + 310 / (111_195.0 * np.cos(np.radians(50.0))), 50.0 + 520 / 111_195.0)]
    Simulation(
        model,
        model.initial_state(0.0),
        stop_time=600.0,
        clock=Clock(start=START),
        output_writers={
            "f": UGRIDFieldWriter(out / "fields.nc", TimeInterval(60.0)),
            "s": StationWriter(out / "stations.nc", TimeInterval(30.0), stations),
            "m": MaximaWriter(out / "max.nc"),
        },
        callbacks={"r": Callback(record, TimeInterval(60.0))},
    ).run()
    return out, np.array(recorded)


def colours(png):
    img = imread(png)[..., :3]
    red = ((img[..., 0] > 0.6) & (img[..., 2] < 0.4)).sum()
    blue = ((img[..., 2] > 0.6) & (img[..., 0] < 0.4)).sum()
    return img.shape, red, blue


def test_high_water_index_is_the_time_of_the_highest_water(run_dir):
    out, recorded = run_dir
    assert high_water_index(out / "fields.nc") == int(np.argmax(recorded[:, 0]))
    assert high_water_index(out / "fields.nc", "mean") == int(np.argmax(recorded[:, 1]))
    assert np.argmax(recorded[:, 0]) != np.argmax(recorded[:, 1])
    with pytest.raises(ValueError, match="statistic must be"):
        high_water_index(out / "fields.nc", "median")


def test_water_level_map_uses_a_diverging_colour_map(run_dir, tmp_path):
    out, _ = run_dir
    # at 10 minutes the tide is high in the east and low in the west: both signs present
    png = plot_water_level_map(out / "fields.nc", 10, tmp_path / "map.png", show_velocity=True)
    shape, red, blue = colours(png)
    assert shape == (600, 800, 3)
    assert red > 1000 and blue > 1000
    with pytest.raises(FigureError, match=r"time index 11 outside 0\.\.10"):
        plot_water_level_map(out / "fields.nc", 11, tmp_path / "bad.png")
    with pytest.raises(FigureError, match="does not exist"):
        plot_water_level_map(tmp_path / "missing.nc", 0, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_maxima_map(run_dir, tmp_path):
    out, _ = run_dir
    png = plot_maxima_map(out / "max.nc", tmp_path / "max.png")
    shape, red, _ = colours(png)
    assert shape == (600, 1400, 3) and red > 1000  # maximum water level is positive everywhere wet
    with pytest.raises(FigureError, match="has no variable zeta_max_face"):
        plot_maxima_map(out / "fields.nc", tmp_path / "x.png")


def test_station_plots_with_observations(run_dir, tmp_path):
    out, _ = run_dir
    obs = pd.Series([0.0, 0.05, 0.1], index=pd.date_range("2026-01-01T06:00", periods=3, freq="5min", tz="UTC"))
    paths = plot_stations(out / "stations.nc", tmp_path / "st", observations={"Quay": obs})
    assert [p.name for p in paths] == ["station_Quay.png"]
    assert imread(paths[0]).shape[:2] == (600, 900)
    with pytest.raises(FigureError, match="observations for unknown station 'Nowhere'"):
        plot_stations(out / "stations.nc", tmp_path / "st", observations={"Nowhere": obs})


def test_boundary_segments_of_a_rectangle():
    m = rectangle(2000.0, 1000.0, 8, 4)
    seg = boundary_segments(m.face_node_connectivity)
    assert len(seg) == 2 * (8 + 4)
    x, y = m.node_x[seg], m.node_y[seg]
    on_edge = (np.isclose(x, 0) | np.isclose(x, 2000)).all(axis=1) | (np.isclose(y, 0) | np.isclose(y, 1000)).all(axis=1)
    assert on_edge.all()
    # total length equals the perimeter
    assert np.isclose(np.hypot(np.diff(x, axis=1), np.diff(y, axis=1)).sum(), 6000.0)
