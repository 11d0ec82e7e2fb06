"""Start-up of a forecast process: light imports, and one log line when the kernels compile.

Real processes (``python -c``) with their own numba cache directory (``NUMBA_CACHE_DIR`` under
``tmp_path``), so that the checkout's cache is neither used nor touched. Speed itself is
measured by ``bench/startup.py``, never asserted here."""

import json
import os
import subprocess
import sys

HEAVY = (
    "scipy.sparse",
    "scipy.spatial",
    "scipy.interpolate",
    "xarray",
    "pandas",
    "matplotlib",
    "pyproj",
    "pyTMD",
    "dask",
    "distributed",
    "netCDF4",
)

RUN = """
import json, logging, sys
import numpy as np
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
from solver import ShallowWaterModel, Simulation, Wall
from solver.builders import rectangle
mesh = rectangle(1000.0, 500.0, 6, 3, depth=lambda x, y: 5.0 + 0.0 * x)
model = ShallowWaterModel(mesh, boundary_conditions={"west": Wall(), "east": Wall(), "north": Wall(), "south": Wall()})
state = model.initial_state(eta=0.1 * np.exp(-((mesh.face_x - 300.0) / 150.0) ** 2))
Simulation(model, state, stop_time=20.0).run()
print(json.dumps({"h": state.h.tolist()}))
"""


def _python(code, tmp_path, **env):
    e = dict(os.environ, NUMBA_NUM_THREADS="1", COASTCAST_THREADS="1", OMP_NUM_THREADS="1", **env)
    p = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=e, cwd=str(tmp_path), timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def test_a_fresh_cache_is_announced_once_and_then_reused(tmp_path):
    """First process with an empty numba cache: one INFO line that it is compiling, naming the
    cache directory; the second process with the same cache loads the kernels silently and
    computes the same depths bit for bit."""
    cache = tmp_path / "numba-cache"
    first = _python(RUN, tmp_path, NUMBA_CACHE_DIR=str(cache))
    said = [line for line in first.stderr.splitlines() if "compiling" in line]
    assert len(said) == 1, first.stderr[-2000:]
    assert said[0].startswith("INFO solver.backends.numba_backend: compiling the solver kernels") and str(cache) in said[0]
    assert any(cache.rglob("*.nbi"))
    second = _python(RUN, tmp_path, NUMBA_CACHE_DIR=str(cache))
    assert "compiling" not in second.stderr, second.stderr[-2000:]
    assert json.loads(second.stdout) == json.loads(first.stdout)


def test_uncached_kernels_lists_every_kernel_of_an_empty_cache(tmp_path):
    """With an empty cache every ``cache=True`` kernel of solver.kernels is listed (19 today),
    none of the inlined helpers; the answer needs no compilation."""
    code = "import json; from solver.kernels import uncached_kernels; print(json.dumps(uncached_kernels()))"
    names = json.loads(_python(code, tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "empty")).stdout)
    assert len(names) == len(set(names)) >= 19
    assert "solver.kernels.reconstruct.reconstruct" in names and "solver.kernels.lts.reflux" in names
    assert "solver.kernels.update.wave_time" not in names  # inlined helper, not cached


def test_imports_leave_the_heavy_libraries_out(tmp_path):
    """``import solver`` and ``import workflows.cli`` (what every ``coastcast`` command starts
    with) load none of the libraries that cost 0.1–2 s each to import; the commands import what
    they use when they run."""
    code = "import json, sys\nimport solver\nafter_solver = sorted(m for m in sys.modules)\nprint(json.dumps(after_solver))"
    loaded = json.loads(_python(code, tmp_path).stdout)
    assert not [m for m in loaded if m in HEAVY or m.split(".")[0] in HEAVY[3:]], [
        m for m in loaded if m in HEAVY or m.split(".")[0] in HEAVY[3:]
    ]
    code = "import json, sys\nimport workflows.cli\nprint(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(_python(code, tmp_path).stdout)
    top = {m.split(".")[0] for m in loaded}
    assert not top & {"numba", "solver", "scipy", "flask", "sqlalchemy", *HEAVY[3:]}, sorted(
        top & {"numba", "solver", "scipy", "flask", "sqlalchemy", *HEAVY[3:]}
    )


def test_a_builtin_command_does_not_load_the_web_application(tmp_path):
    """``coastcast run ...`` builds a parser without the entry points of other packages (``serve``
    imports flask and the database models); with no command, or ``serve``, they are there."""
    code = (
        "import json, sys\nfrom workflows.cli import build_parser\n"
        "p = build_parser('run')\nrun_only = 'flask' in sys.modules\n"
        "names = set(build_parser(None)._subparsers._group_actions[0].choices)\n"
        "print(json.dumps([run_only, 'flask' in sys.modules, sorted(names)]))"
    )
    run_only, after_all, names = json.loads(_python(code, tmp_path).stdout)
    assert run_only is False and after_all is True
    assert {"run", "serve", "demo", "validate"} <= set(names)
