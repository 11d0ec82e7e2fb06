"""``coastcast demo`` on a short horizon: the real Channel/Biscay forecast, checked by real clients."""

import json
import subprocess

import pytest

from workflows.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    rc = main(
        [
            "demo",
            "--out",
            str(out),
            "--hours",
            "0.5",
            "--spinup-hours",
            "0.25",
            "--atmosphere",
            "none",
            "--start",
            "2026-01-15T00:00Z",
        ]
    )
    assert rc == 0
    return out


def test_demo_publishes_a_valid_forecast(demo):
    rec = json.loads((demo / "run.json").read_text())
    assert rec["status"] == "succeeded"
    assert rec["n_triangles"] == 29229
    assert rec["forcing"]["atmosphere"]["used"] == "none"
    assert all(t["flather"] for t in rec["forcing"]["tides"])  # atlas currents: Flather radiation
    assert {"fields.nc", "stations.nc", "max.nc", "restart.nc"} <= set(rec["outputs_bytes"])
    assert any(f.endswith("water_level_high_water.png") for f in rec["figures"])


def test_demo_fields_pass_both_checkers_and_open_in_xugrid(demo):
    import xugrid

    cc = subprocess.run(
        [
            "compliance-checker",
            "-t",
            "cf:1.11",
            "-s",
            "check_cf_role",
            "-s",
            "check_single_cf_role",
            "-s",
            "check_dimension_order",
            str(demo / "fields.nc"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cc.returncode == 0, cc.stdout[-2000:]
    ug = subprocess.run(["ugrid-checker", str(demo / "fields.nc")], capture_output=True, text=True, timeout=600)
    assert ug.returncode == 0 and "No problems found" in ug.stdout
    ds = xugrid.open_dataset(demo / "fields.nc", engine="netcdf4")
    assert ds.ugrid.grid.n_face == 29229
    zeta = ds["zeta"].isel(time=-1).values
    finite = zeta[~(zeta != zeta)]
    assert finite.size > 10000 and abs(finite).max() < 10.0
