"""The pipeline's API and cluster files: run_on_cluster, `coastcast run --scheduler`, many systems
with distinct task keys, and strict cluster specifications."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cycle_fixtures import write_inputs
from workflows.cluster import ClusterError, ClusterSpec, load_cluster_spec, open_client
from workflows.pipeline import (
    CycleDriver,
    CycleRequest,
    read_events,
    run_on_cluster,
    stage_summary,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize(
    "name, kind",
    [
        ("cluster-local.toml", "local"),
        ("cluster-slurm.yaml", "slurm"),
        ("cluster-htcondor.yaml", "htcondor"),
        ("cluster-pbs.toml", "pbs"),
        ("cluster-gateway.yaml", "gateway"),
    ],
)
def test_example_cluster_files_parse(name, kind):
    spec = load_cluster_spec(EXAMPLES / name)
    assert spec.kind == kind and spec.allowed_failures == 3
    if kind == "slurm":
        assert spec.adapt == {"minimum_jobs": 1, "maximum_jobs": 8} and spec.options["processes"] == 8
    if kind == "pbs":
        assert spec.jobs == 2 and spec.options["resource_spec"] == "select=1:ncpus=24:mem=96GB"


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind: slurmm\n", "kind 'slurmm' is not one of local, scheduler, slurm, pbs, htcondor, sge, lsf, gateway"),
        ("kind: local\nworker: 2\n", "unknown key 'worker'; did you mean 'workers'?"),
        ("kind: local\nworkers: 0\n", "workers must be an integer >= 1, got 0"),
        ("kind: scheduler\n", "kind = 'scheduler' needs address = \"tcp://host:8786\""),
        (
            "kind: slurm\njobs: 2\nadapt: {maximum_jobs: 3}\n",
            "give either jobs (a fixed size) or adapt (adaptive scaling), not both",
        ),
        ("kind: slurm\noptions: [1, 2]\n", "options must be a table of keyword arguments, got [1, 2]"),
    ],
)
def test_bad_cluster_files_are_refused_in_one_line(tmp_path, text, message):
    f = tmp_path / "cluster.yaml"
    f.write_text(text)
    with pytest.raises(ClusterError) as err:
        load_cluster_spec(f)
    assert str(err.value) == f"{f}: {message}"


def test_cluster_file_errors_name_the_file(tmp_path):
    with pytest.raises(ClusterError, match="cluster file .*nope.yaml' does not exist"):
        load_cluster_spec(tmp_path / "nope.yaml")
    f = tmp_path / "c.yaml"
    f.write_text("kind: [local\n")
    with pytest.raises(ClusterError, match=r"c.yaml: line 2 not valid YAML"):
        load_cluster_spec(f)
    f = tmp_path / "c.ini"
    f.write_text("")
    with pytest.raises(ClusterError, match=r"write it as .yaml, .yml or .toml"):
        load_cluster_spec(f)


def test_jobqueue_is_optional_and_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_jobqueue(name, *args, **kwargs):
        if name == "dask_jobqueue":
            raise ImportError("no dask_jobqueue")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jobqueue)
    with pytest.raises(ClusterError, match=r"cluster kind 'slurm' needs dask-jobqueue: pip install dask-jobqueue"):
        with open_client(spec=ClusterSpec(kind="slurm", jobs=1)):
            pass


@pytest.mark.cluster
def test_run_on_cluster_from_a_cluster_file_and_task_keys_of_two_systems(tmp_path):
    spec_file = tmp_path / "local.toml"
    spec_file.write_text('kind = "local"\nworkers = 1\n')
    cfg = write_inputs(tmp_path / "in", hours=1.0)
    info = run_on_cluster(cfg, tmp_path / "run", scheduler=str(spec_file), figures=False)
    assert info["status"] == "succeeded" and info == json.loads((tmp_path / "run" / "run.json").read_text())
    assert set(info["pipeline"]["stages"]) == {"prepare", "segment-000", "segment-001", "publish"}
    keys = info["pipeline"]["keys"]
    assert keys[0].startswith("prepare-basin-20260110T00Z-") and keys[-1].startswith("publish-basin-20260110T00Z-")
    assert "INFO" in (tmp_path / "run" / "run.log").read_text()
    # two systems with the same cycle time: their keys differ by system
    with open_client(workers=1) as client:
        driver = CycleDriver(client, figures=False, poll_seconds=0.1)
        for name in ("north", "south"):
            driver.submit(CycleRequest(write_inputs(tmp_path / name, hours=1.0), tmp_path / name / "run", system=name))
        outcomes = driver.wait(timeout=120)
    assert sorted(o.status for o in outcomes) == ["succeeded", "succeeded"]
    prefixes = {o.request.system: o.info["pipeline"]["keys"][1] for o in outcomes}
    assert prefixes["north"].startswith("segment-000-north-20260110T00Z-") and prefixes["south"].startswith(
        "segment-000-south-20260110T00Z-"
    )
    assert stage_summary(read_events(tmp_path / "north" / "run"))["segment-000"]["attempts"] == 1


@pytest.mark.cluster
def test_coastcast_run_with_scheduler_address(tmp_path, test_cluster, capsys):
    from workflows.cli import main

    cfg = write_inputs(tmp_path / "in", hours=1.0)
    assert main(["run", str(cfg), "--out", str(tmp_path / "run"), "--scheduler", test_cluster.address, "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and (tmp_path / "run" / "fields.nc").is_file()
    hosts = json.loads((tmp_path / "run" / "run.json").read_text())["pipeline"]["stages"]["segment-000"]["hosts"]
    import os

    assert all(int(h.split(":")[1]) != os.getpid() for h in hosts)  # run by the cluster's workers, not here
