"""A real multi-process dask cluster for the pipeline tests: ``dask scheduler`` and ``dask worker``
subprocesses on 127.0.0.1, each in its own process group (killed as a whole), always cleaned up."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cycle_fixtures import write_inputs

ALLOWED_FAILURES = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_exe() -> list[str]:
    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    return [exe] if exe else [sys.executable, "-m", "dask"]


def _env() -> dict:
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = "1"
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(ALLOWED_FAILURES)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    return env


class LocalTestCluster:
    """Scheduler + workers as subprocesses; ``kill_worker_of(pid)`` SIGKILLs the worker (nanny
    and process) whose process group holds ``pid``."""

    def __init__(self, tmp: Path, n_workers: int = 2):
        self.tmp = tmp
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self.start_scheduler()
        for _ in range(n_workers):
            self.add_worker()

    def _spawn(self, args, name) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "w")
        p = subprocess.Popen(
            _dask_exe() + args, stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True, cwd=self.tmp
        )
        self.procs.append(p)
        return p

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--dashboard-address", ":0"], "scheduler"
        )

    def add_worker(self) -> subprocess.Popen:
        w = self._spawn(["worker", self.address, "--nthreads", "1", "--nworkers", "1", "--death-timeout", "60"], "worker")
        self.workers.append(w)
        return w

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as c:
            c.wait_for_workers(n, timeout=timeout)

    def worker_of(self, pid: int) -> subprocess.Popen | None:
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((w for w in self.workers if w.pid == group), None)

    @staticmethod
    def kill(p: subprocess.Popen) -> None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(p)
        for p in self.procs:  # nannies' children too
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def test_cluster(tmp_path, request):
    """A 2-worker cluster of real processes; finalised even when the test fails."""
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = LocalTestCluster(folder, n_workers=getattr(request, "param", 2))
    request.addfinalizer(cluster.close)
    cluster.wait_for_workers(len(cluster.workers))
    return cluster


# -- the reference cycle: long enough to kill a worker in the middle of a segment --------------------
REFERENCE = {"hours": 24.0, "spinup_hours": 1.0, "segment_hours": 12.0, "restart_hours": 24.0}


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """An undisturbed in-process run of the reference cycle (run dir)."""
    import numba

    from workflows.cycle import run_cycle

    folder = tmp_path_factory.mktemp("reference")
    cfg = write_inputs(folder / "inputs", **REFERENCE)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # like the workers; 144 triangles gain nothing from threads
    try:
        run_cycle(cfg, folder / "run", figures=False)
    finally:
        numba.set_num_threads(threads)
    return folder / "run"


def assert_same_outputs(run_a: Path, run_b: Path, names=("fields.nc", "stations.nc", "max.nc", "restart.nc")) -> None:
    """Every variable of the published files equal bit for bit (NaN where NaN)."""
    import netCDF4

    for name in names:
        with netCDF4.Dataset(run_a / name) as a, netCDF4.Dataset(run_b / name) as b:
            a.set_auto_mask(False)
            b.set_auto_mask(False)
            assert set(a.variables) == set(b.variables), name
            for v in a.variables:
                x, y = a[v][...], b[v][...]
                assert x.shape == y.shape, (name, v)
                if np.asarray(x).dtype.kind in "fc":
                    assert np.array_equal(x, y, equal_nan=True), (name, v)
                else:
                    assert np.array_equal(x, y), (name, v)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# -- a database with one user ----------------------------------------------------------------------
@pytest.fixture
def database(tmp_path):
    """(url, session_factory) of a fresh SQLite database with one approved user (id 1)."""
    from workflows.db import create_user, init_db, make_engine, make_session_factory

    url = f"sqlite:///{tmp_path / 'coastcast.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    sf = make_session_factory(engine)
    with sf() as s:
        create_user(s, "ops@example.org", "password123", is_approved=True)
        s.commit()
    yield url, sf
    engine.dispose()


def add_system(sf, folder: Path, name: str, *, run_hour: int = 0, status: str = "active", **inputs):
    """A ForecastSystem row whose config is the tiny basin (written in ``folder``); returns its id."""
    import tomllib

    from workflows.db import ForecastSystem

    cfg = write_inputs(folder, **inputs)
    data = tomllib.loads(cfg.read_text())
    data.pop("start", None)
    base = cfg.parent
    data["mesh"] = str(base / data["mesh"])
    data["tides"]["file"] = str(base / data["tides"]["file"])
    data["name"] = name
    import tomli_w

    with sf() as s:
        system = ForecastSystem(
            owner_id=1,
            name=name,
            status=status,
            run_hour_utc=run_hour,
            data_dir=str(folder / "data"),
            mesh_path=data["mesh"],
            config_toml=tomli_w.dumps(data),
            horizon_hours=int(data["hours"]),
        )
        s.add(system)
        s.commit()
        return system.id
