"""Test-session set-up shared by every test module."""

import os

# The solver runs on one thread in the tests: their meshes are small, so threads cost more than
# they save (the default run took 1,258 s with numba's 2 threads, 789 s with one on the same
# machine), and a test machine is shared. Set before numba is imported; subprocesses inherit it.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("COASTCAST_THREADS", "1")

# The kernels run as numba's in the test session, whatever this machine's user has compiled ahead
# of time (``coastcast compile`` puts them in ~/.cache/coastcast/kernels): an empty directory of
# their own. tests/test_aot.py builds them and runs them in processes pointed at that build.
import tempfile  # noqa: E402

os.environ["COASTCAST_KERNEL_DIR"] = tempfile.mkdtemp(prefix="coastcast-test-kernels-")

import pyproj  # noqa: E402

# The eccodes wheel (GRIB tests) bundles its own PROJ library. Whichever PROJ is loaded first
# serves the process: if eccodes comes first, every later pyproj CRS fails ("no database context
# specified") and the interpreter can crash at exit. Opening a CRS here, before any test module
# imports eccodes, binds pyproj's own PROJ (workflows.forcing.grib does the same at run time).
pyproj.CRS.from_epsg(4326)


# -- process exit ------------------------------------------------------------------------------
# A native library loaded by the suite (the segfault appears only after all tests have passed,
# while the interpreter tears down its extension modules) can crash the process at exit with
# SIGSEGV, which would turn a green run red. Once pytest has printed its summary we leave with
# pytest's own exit status, skipping the interpreter's module teardown. Set
# COASTCAST_HARD_EXIT=0 to see the teardown (and its crash) while investigating.
import sys  # noqa: E402

import pytest  # noqa: E402

_status = {}


def pytest_sessionfinish(session, exitstatus):
    _status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if "code" in _status and os.environ.get("COASTCAST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status["code"])
