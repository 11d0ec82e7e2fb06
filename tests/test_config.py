"""The forecast configuration: a catalogue of bad configs, each refused in one line naming the key."""

import dataclasses
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.cycle_fixtures import write_inputs
from workflows.cli import main
from workflows.config import ConfigError, load_config


@pytest.fixture
def good(tmp_path):
    return write_inputs(tmp_path / "in")


def edit(path, change):
    data = tomllib.loads(path.read_text())
    change(data)
    path.write_text(tomli_w.dumps(data))
    return path


def test_good_config_is_typed_and_frozen(good):
    cfg = load_config(good)
    assert cfg.start.tzinfo is not None and cfg.start.isoformat() == "2026-01-10T00:00:00+00:00"
    assert cfg.hours == 2.0 and cfg.physics.manning == 0.025 and cfg.physics.limiter == "barth-jespersen"
    assert [s.name for s in cfg.stations] == ["mouth", "head"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hours = 3


def test_gallery_config_takes_the_region_defaults():
    from workflows.config import ForecastConfig

    cfg = ForecastConfig.from_mapping({"name": "g", "gallery": "gironde", "start": "2026-01-01T00:00Z"})
    assert dict(cfg.boundaries) == {"open_1": "river", "open_2": "tide", "open_3": "river"}
    assert cfg.tides["kind"] == "telemac-cli"
    assert {r["boundary"] for r in cfg.rivers} == {"open_1", "open_3"}


CATALOGUE = [
    (lambda d: d.update(hourz=3), "unknown key 'hourz'; did you mean 'hours'?"),
    (lambda d: d["physics"].update(maning=0.02), "basin.toml: [physics]: unknown key 'maning'; did you mean 'manning'?"),
    (lambda d: d.update(hours="72"), "hours must be a number (h), got '72'"),
    (lambda d: d.update(hours=0), "hours must be positive"),
    (lambda d: d.update(start="2026-01-10T00:00"), "has no time zone"),
    (lambda d: d.update(mesh="missing.gr3"), "does not exist"),
    (lambda d: d["physics"].update(limiter="superbee"), "limiter 'superbee' is not one of"),
    (lambda d: d["physics"].update(time_stepper="rk4"), "time_stepper 'rk4' is not one of"),
    (lambda d: d["physics"].update(cfl=1.5), "[physics]: cfl must be positive and at most 1.0, got 1.5"),
    (lambda d: d["physics"].update(deep_water_step=3.0), "[physics]: deep_water_step must be between 1.0 and 2.0, got 3.0"),
    (lambda d: d["physics"].update(deep_water_step="2"), "[physics]: deep_water_step must be a number, got '2'"),
    (lambda d: d["physics"].update(deep_water_depth=0.0), "deep_water_depth must be positive"),
    (lambda d: d.update(boundaries={"open_1": "tidal"}), "write one of 'tide'"),
    (lambda d: d.update(initial={"kind": "restart"}), "needs file"),
    (lambda d: d.update(initial={"kind": "restart", "file": "nope.nc"}), "does not exist"),
    (lambda d: d.update(stations=[{"name": "a", "lon": 1.0}]), "missing key 'lat'"),
    (
        lambda d: d.update(stations=[{"name": "a", "lon": 1.0, "lat": 2.0}, {"name": "a", "lon": 1.0, "lat": 2.0}]),
        "more than once",
    ),
    (lambda d: d.update(restart_hours=5.0), "after the end of the forecast"),
    (lambda d: d.pop("name"), "missing key 'name'"),
]


@pytest.mark.parametrize("change, message", CATALOGUE)
def test_bad_configs_are_refused_in_one_line(good, change, message):
    edit(good, change)
    with pytest.raises(ConfigError) as err:
        load_config(good)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


MESH_CATALOGUE = [
    (lambda d: d.update(boundaries={"open_1": "tide", "open_9": "wall"}), "open_9: no such boundary"),
    (lambda d: d.update(boundaries={}), "open boundary open_1 needs a setting"),
    (lambda d: d.update(boundaries={"open_1": "river"}), "no [[rivers]] table has boundary"),
    (lambda d: d.update(rivers=[{"boundary": "open_7", "discharge": 10.0}]), "open_7"),
]


@pytest.mark.parametrize("change, message", MESH_CATALOGUE)
def test_configs_that_do_not_match_the_mesh(good, change, message):
    from workflows.cycle import read_mesh_for

    edit(good, change)
    with pytest.raises(ConfigError) as err:
        read_mesh_for(load_config(good))
    assert message in str(err.value)


def test_cli_reports_a_bad_config_in_one_line(good, capsys):
    edit(good, lambda d: d.update(hourz=3))
    assert main(["run", str(good), "--out", str(good.parent / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key 'hourz'" in err[0]


@pytest.mark.parametrize("factor, expected", [(None, 2.0), (1, None), (1.5, 1.5)])
def test_the_deep_water_step_reaches_the_model(good, factor, expected):
    """[physics] deep_water_step (default 2) and deep_water_depth build the model's
    DeepWaterStep; 1 means none (the positivity bound everywhere)."""
    from datetime import timedelta

    from workflows.cycle import build_model, read_mesh_for

    if factor is not None:
        edit(good, lambda d: d["physics"].update(deep_water_step=factor, deep_water_depth=7.0))
    cfg = load_config(good)
    model, _ = build_model(cfg, read_mesh_for(cfg), cfg.start, timedelta(hours=cfg.hours).total_seconds())
    if expected is None:
        assert model.deep_water_step is None
    else:
        assert model.deep_water_step.factor == expected
        assert model.deep_water_step.depth == (5.0 if factor is None else 7.0)


# -- the schema: one declaration per key ------------------------------------------------------------
def every_key_config(folder):
    """A configuration that sets every declared key to something other than its default, with
    every file path written relative to the configuration file."""
    path = write_inputs(folder)
    for name in ("era5.nc", "discharge.csv", "elev.ic", "catalogue.nc", "atlas_jmj.nc"):
        (folder / name).write_bytes(b"")
    (folder / "ports.csv").write_text("name,lon,lat\nquay,-5.1,48.25\n")
    data = tomllib.loads(path.read_text())
    data.update(
        crs="EPSG:4326",
        hours=3.0,
        spinup_hours=2.0,
        output_interval_minutes=20.0,
        station_interval_minutes=5.0,
        restart_hours=2.0,
        segment_hours=1.5,
        stations_file="ports.csv",
        atmosphere={"source": "file", "path": ["era5.nc"], "format": "netcdf", "margin_degrees": 2.0},
        rivers=[{"boundary": "open_1", "name": "Aulne", "file": "discharge.csv"}],
        bathymetry={"datum": "chart", "msl_above_datum": 3.5},
        physics={
            "manning": 0.03,
            "coriolis": False,
            "wetting_drying_threshold": 0.002,
            "cfl": 0.8,
            "riemann_solver": "hllc",
            "limiter": "none",
            "gravity": 9.8,
            "time_stepper": "ssp-rk2",
            "deep_water_step": 1.5,
            "deep_water_depth": 8.0,
        },
        initial={"kind": "elevation", "file": "elev.ic"},
        gauges={"catalogue": "catalogue.nc", "max_distance_km": 20.0, "min_depth_m": 3.0, "thresholds": ["hat"]},
        thresholds=[{"station": "mouth", "level_m": 1.2, "datum": "msl", "name": "quay"}],
        ensemble={
            "members": 2,
            "wind_factors": [0.8, 1.2],
            "threshold_m": 0.4,
            "tides": [{"source": "harmonics", "file": "tides.csv"}, {"source": "harmonics", "file": "tides.csv"}],
        },
    )
    data["tides"]["constituents"] = ["M2"]
    path.write_text(tomli_w.dumps(data))
    return path


def declared_names(schema, prefix=""):
    from workflows.config import declared

    out = []
    for name, (_, key) in declared(schema).items():
        out.append(prefix + name)
        if key.kind in ("table", "tables"):
            out.extend(declared_names(key.schema, f"{prefix}{name}."))
    return out


def test_every_declared_key_round_trips_through_toml(tmp_path, monkeypatch):
    from workflows.config import ForecastConfig, dump_toml

    path = every_key_config(tmp_path / "in")
    cfg = load_config(path)
    text = dump_toml(cfg)
    written = tomllib.loads(text)
    for dotted in declared_names(ForecastConfig):
        table = written
        *tables, key = dotted.split(".")
        for t in tables:
            table = table[t][0] if isinstance(table[t], list) else table[t]
        if dotted not in ("stations_file", "gallery"):  # stations written as [[stations]]; mesh, not gallery
            assert key in table, dotted
    # every value as given reached the object, and comes back from the written file
    assert cfg.physics.limiter is None and cfg.physics.riemann_solver == "hllc" and cfg.physics.deep_water_step == 1.5
    assert cfg.gauges.thresholds == ("HAT",) and cfg.thresholds[0].datum == "MSL" and cfg.ensemble.wind_factors == (0.8, 1.2)
    assert [s.name for s in cfg.stations] == ["mouth", "head", "quay"] and cfg.restart_hours == 2.0
    assert cfg.bathymetry.msl_above_datum == 3.5 and cfg.initial.kind == "elevation"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the written file holds absolute paths: it loads from anywhere
    (elsewhere / "copy.toml").write_text(text)
    again = load_config(elsewhere / "copy.toml")
    assert again == cfg
    assert dump_toml(again) == text


def test_a_gallery_config_round_trips(tmp_path):
    from workflows.config import ForecastConfig, dump_toml

    cfg = ForecastConfig.from_mapping({"name": "g", "gallery": "gironde", "start": "2026-01-01T00:00Z"})
    (tmp_path / "g.toml").write_text(dump_toml(cfg))
    again = load_config(tmp_path / "g.toml")
    assert again == cfg and again.gallery == "gironde" and "mesh" not in tomllib.loads(dump_toml(cfg))


def test_every_path_key_is_resolved_relative_to_the_file(tmp_path, monkeypatch):
    from workflows.config import dump_toml, named_files

    folder = tmp_path / "in"
    path = every_key_config(folder)
    monkeypatch.chdir(tmp_path)  # not the configuration's folder
    as_written = named_files(tomllib.loads(path.read_text()))
    keys = {k for k, _ in as_written}
    # the hand-made list of the file keys this configuration names: the schema must know each one
    assert keys == {
        "stations_file",
        "[tides] file",
        "[atmosphere] path",
        "[[rivers]] #1 file",
        "[initial] file",
        "[gauges] catalogue",
        "[ensemble] [[tides]] #1 file",
        "[ensemble] [[tides]] #2 file",
    }
    cfg = load_config(Path("in") / path.name)
    resolved = dict(named_files(tomllib.loads(dump_toml(cfg))))
    for key, value in as_written:
        if key == "stations_file":
            continue  # read into [[stations]]
        assert resolved[key] == str(folder.resolve() / value), key
    assert cfg.mesh_path == folder.resolve() / "hgrid.gr3"
    assert cfg.initial.file == folder.resolve() / "elev.ic" and cfg.gauges.catalogue == folder.resolve() / "catalogue.nc"
    assert cfg.tides["file"] == str(folder.resolve() / "tides.csv") and cfg.rivers[0]["file"] == str(
        folder.resolve() / "discharge.csv"
    )
    assert list(cfg.atmosphere["path"]) == [str(folder.resolve() / "era5.nc")]
    assert [t["file"] for t in cfg.ensemble.tides] == [str(folder.resolve() / "tides.csv")] * 2


def test_the_bathymetry_atlas_file_is_resolved_relative_to_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    path = write_inputs(
        folder, bathymetry={"datum": "chart", "msl_above_datum": "atlas", "atlas_model": "jmj", "atlas_file": "jmj.nc"}
    )
    (folder / "jmj.nc").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert load_config(Path("in") / path.name).bathymetry.atlas_file == folder.resolve() / "jmj.nc"
    (folder / "jmj.nc").unlink()
    with pytest.raises(ConfigError, match=r"\[bathymetry\] atlas_file 'jmj.nc' does not exist"):
        load_config(path)


BOUNDS = [
    (lambda d: d.update(spinup_hours=-1.0), "basin.toml: spinup_hours must be >= 0.0, got -1.0"),
    (lambda d: d.update(hours=9000.0), "basin.toml: hours must be positive and at most 8784, got 9000.0"),
    (lambda d: d["physics"].update(manning=-0.01), "basin.toml: [physics]: manning must be >= 0.0, got -0.01"),
    (
        lambda d: d["physics"].update(wetting_drying_threshold=2.0),
        "basin.toml: [physics]: wetting_drying_threshold must be positive and at most 1.0, got 2.0",
    ),
    (
        lambda d: d.update(gauges={"max_distance_km": 500.0}),
        "basin.toml: [gauges]: max_distance_km must be positive and at most 200.0, got 500.0",
    ),
    (lambda d: d["stations"][1].update(lat=95.0), "basin.toml: [[stations]] #2: lat must be between -90.0 and 90.0, got 95.0"),
    (
        lambda d: d.update(ensemble={"members": 1, "wind_factors": [1.0]}),
        "basin.toml: [ensemble]: members must be an integer >= 2, got 1",
    ),
    (
        lambda d: d.update(thresholds=[{"station": "mouth", "level_m": "high"}]),
        "basin.toml: [[thresholds]] #1: level_m must be a number (m), got 'high'",
    ),
    (lambda d: d["physics"].update(manning=float("nan")), "basin.toml: [physics]: manning must be a number (s m^-1/3), got nan"),
    (lambda d: d["tides"].update(modl="jmj"), "basin.toml: [tides]: unknown key 'modl'; did you mean 'model'?"),
    (lambda d: d.update(gauges={"catalog": "none"}), "basin.toml: [gauges]: unknown key 'catalog'; did you mean 'catalogue'?"),
]


@pytest.mark.parametrize("change, message", BOUNDS)
def test_bounds_and_types_are_refused_naming_file_table_key_and_bound(good, change, message):
    edit(good, change)
    with pytest.raises(ConfigError) as err:
        load_config(good)
    assert str(err.value).endswith(message) and str(err.value).startswith(str(good.parent))


def test_overrides_change_the_typed_object_through_the_same_checks(good):
    from workflows.config import with_overrides

    cfg = load_config(good)
    other = with_overrides(cfg, {"physics.manning": 0.03, "hours": 1.0, "restart_hours": None})
    assert other.physics.manning == 0.03 and cfg.physics.manning == 0.025
    assert other.hours == 1.0 and other.restart_hours == 1.0  # the default follows the new horizon
    assert other.physics.limiter == cfg.physics.limiter and other.tides == cfg.tides and other.stations == cfg.stations
    with pytest.raises(ConfigError, match=r"\[physics\]: unknown key 'maning'; did you mean 'manning'\?"):
        with_overrides(cfg, {"physics.maning": 0.03})
    with pytest.raises(ConfigError, match=r"\[physics\]: cfl must be positive and at most 1.0, got 3"):
        with_overrides(cfg, {"physics.cfl": 3})


def test_the_user_guide_key_table_is_the_schemas(pytestconfig):
    from workflows.config import key_table_markdown

    text = (pytestconfig.rootpath / "docs" / "user-guide.md").read_text(encoding="utf-8")
    begin, end = "<!-- key table: generated by workflows.config.key_table_markdown() -->", "<!-- end of key table -->"
    assert text.count(begin) == 1 and text.count(end) == 1
    table = text.split(begin)[1].split(end)[0].strip("\n") + "\n"
    assert table == key_table_markdown()
    assert "| `physics.manning` | number | 0.025 |" in table  # one row per key, the default as declared
