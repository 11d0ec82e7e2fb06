"""Ahead-of-time compiled kernels (solver.kernels.aot, ``coastcast compile``).

One real build per test session (numba's pycc and the C compiler, about 10–60 s) into a
temporary directory; the runs that use it are real processes (``python -c``) pointed at it with
``COASTCAST_KERNEL_DIR``, each with its own empty numba cache, so that neither the checkout's
caches nor the user's are used or touched. The test session's own kernels stay numba's
(``tests/conftest.py`` points ``COASTCAST_KERNEL_DIR`` at an empty directory). Start-up time
itself is measured by ``bench/startup.py`` and ``bench/thacker_accuracy.py``, never asserted.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_startup import RUN, _python

pytest.importorskip("numba")

# Every kernel at least once: global steps (MUSCL-Hancock, SSP-RK2, forward Euler with the fused
# friction), first order, the deep-water step, local steps on forced levels (both local
# steppers: views, predictors, flux integrals, refluxing), walls, a tide, a river, free outflow,
# Manning friction (fused with the stages) and quadratic friction (not), Coriolis, wind and pressure, and the state check.
RUNS = r"""
import hashlib, json, sys
import numpy as np
from solver.boundaries import FreeOutflow, RiverDischarge, TidalElevation
from solver.builders import rectangle
from solver.local_timestepping import LocalMusclHancock, LocalSSPRK2
from solver.model import ShallowWaterModel
from solver.simulation import Simulation
from solver.stability import DeepWaterStep
from solver.terms import AtmosphereSample, AtmosphericPressureGradient, Coriolis, ManningFriction, QuadraticFriction, WindStress

def bed(x, y):
    return 6.0 - 9.0 * x / x.max() + 1.5 * np.exp(-((x - 0.4 * x.max()) ** 2 + (y - 0.5 * y.max()) ** 2) / (0.02 * x.max() ** 2))

mesh = rectangle(2000.0, 1000.0, 14, 9, depth=bed, pattern="diagonal")

class Atmosphere:
    def sample(self, t):
        x = mesh.node_x / 2000.0
        return AtmosphereSample(8.0 + 1e-4 * t + 0 * x, -3.0 + 6.0 * x, 101325.0 - 800.0 * x)

def model(friction=None, **kw):
    bcs = {"west": TidalElevation(lambda t: 0.3 * np.cos(t / 3000.0)), "south": RiverDischarge(lambda t: 40.0 + t / 100.0), "north": FreeOutflow()}
    return ShallowWaterModel(mesh, boundary_conditions=bcs, riemann_solver="hllc", friction=friction or ManningFriction(np.linspace(0.015, 0.035, mesh.n_face)),
                             coriolis=Coriolis(f0=1.1e-4, beta=2e-11), wind_stress=WindStress(Atmosphere()),
                             atmospheric_pressure=AtmosphericPressureGradient(Atmosphere()), **kw)

out = {}
for name, stepper, kw in [
    ("muscl-hancock", "muscl-hancock", {}),
    ("ssp-rk2 first order quadratic friction", "ssp-rk2", {"limiter": None, "friction": QuadraticFriction(0.0025)}),
    ("euler deep-water step", "euler", {"deep_water_step": DeepWaterStep(depth=2.0, factor=2.0)}),
    ("lts-rk2 levels", LocalSSPRK2, {}),
    ("lts-muscl-hancock levels", LocalMusclHancock, {}),
]:
    m = model(**kw)
    sim = Simulation(m, m.initial_state(0.0), stop_time=1e9, time_stepper=stepper if isinstance(stepper, str) else "ssp-rk2")
    if not isinstance(stepper, str):
        sim.stepper = stepper(mesh.n_face, min_saving=0.0)
    for _ in range(40):
        sim.time_step(sim.next_dt())
    check = m.speed_check(sim.state)
    levels = int((sim.stepper.level_counts > 0).sum()) if hasattr(sim.stepper, "level_counts") else 1
    out[name] = {"time": sim.clock.time, "levels": levels, "check": [int(check[0]), float(check[3])], "wet": int((sim.state.h > 0).sum()),
                 "sha": hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in (sim.state.h, sim.state.hu, sim.state.hv))).hexdigest()}

from solver.kernels.dispatch import KERNELS
out["kernels"] = {k: (getattr(v.compiled, "calls", None) if v.compiled is not None else None) for k, v in KERNELS.items()}
out["jit loaded"] = "numba.np.arraymath" in sys.modules
out["numba imported"] = "numba" in sys.modules
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A directory with this build's module, made by ``coastcast compile --dir``."""
    where = tmp_path_factory.mktemp("aot-kernels")
    code = f"from workflows.cli import main; raise SystemExit(main(['compile', '--dir', {str(where)!r}]))"
    p = _python(code, where, NUMBA_CACHE_DIR=str(where / "numba-cache"))
    path = p.stdout.strip().splitlines()[-1]
    assert os.path.isfile(path) and os.path.dirname(path) == str(where), p.stdout + p.stderr
    assert "compiling 19 solver kernels ahead of time" in p.stderr
    return where


def test_every_kernel_runs_ahead_of_time_with_its_declared_types_and_numbas_numbers(built, tmp_path):
    """With the module built, a one-thread process runs every one of the 19 kernels ahead of
    time, each call checked against the kernel's declared signature (dtype, rank, C order;
    ``COASTCAST_KERNEL_CHECKS=1``), never imports numba (solver.kernels.jit), and ends five runs — every
    time stepper kind, first order, the deep-water step, forced local levels, every boundary
    condition and physics term — with the same states bit for bit as numba's kernels."""
    aot = json.loads(
        _python(
            RUNS, tmp_path, COASTCAST_KERNEL_DIR=str(built), COASTCAST_KERNEL_CHECKS="1", NUMBA_CACHE_DIR=str(tmp_path / "c1")
        ).stdout
    )
    jit = json.loads(_python(RUNS, tmp_path, COASTCAST_AOT="0", NUMBA_CACHE_DIR=str(tmp_path / "c2")).stdout)
    calls = aot.pop("kernels")
    assert len(calls) == 19 and all(n is not None and n > 0 for n in calls.values()), {k: n for k, n in calls.items() if not n}
    assert aot.pop("jit loaded") is False and aot.pop("numba imported") is False
    assert all(v is None for v in jit.pop("kernels").values()) and jit.pop("jit loaded") is True and jit.pop("numba imported")
    assert aot == jit
    assert aot["lts-rk2 levels"]["levels"] >= 2 and aot["lts-muscl-hancock levels"]["levels"] >= 2
    assert all(r["wet"] > 0 and r["check"][0] == 0 for r in aot.values())


def test_a_built_module_needs_no_compiling_and_writes_no_numba_cache(built, tmp_path):
    """A first process on one thread with an empty numba cache and the built module: no
    "compiling" line (solver.backends.numba_backend), nothing written to numba's cache, and the
    depths of the ahead-of-time run equal a numba run's."""
    cache = tmp_path / "numba-cache"
    p = _python(RUN, tmp_path, COASTCAST_KERNEL_DIR=str(built), NUMBA_CACHE_DIR=str(cache))
    assert "compiling" not in p.stderr, p.stderr[-2000:]
    assert not any(cache.rglob("*.nbi")) and not any(cache.rglob("*.nbc"))
    jit = _python(RUN, tmp_path, COASTCAST_AOT="0", NUMBA_CACHE_DIR=str(tmp_path / "other"))
    assert json.loads(p.stdout) == json.loads(jit.stdout)


def test_compile_check_says_whether_this_version_is_built(built, tmp_path):
    code = "from workflows.cli import main; raise SystemExit(main(['compile', '--check', '--dir', {!r}]))"
    p = subprocess.run([sys.executable, "-c", code.format(str(built))], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and p.stdout.strip().endswith(": built"), p.stdout + p.stderr
    p = subprocess.run([sys.executable, "-c", code.format(str(tmp_path))], capture_output=True, text=True, check=False)
    assert p.returncode == 1 and p.stdout.strip().endswith(": not built")


def test_a_damaged_module_is_ignored_with_a_warning(tmp_path):
    """A file of this build's name that is not an extension module (a truncated copy): one
    warning naming it, and the run goes on with numba's kernels to the same depths."""
    code = "from solver.kernels import aot; print(aot.module_path())"
    damaged = tmp_path / "kernels"
    damaged.mkdir()
    path = _python(code, tmp_path, COASTCAST_KERNEL_DIR=str(damaged)).stdout.strip()
    with open(path, "wb") as fh:
        fh.write(b"\x7fELF truncated")
    p = _python(RUN, tmp_path, COASTCAST_KERNEL_DIR=str(damaged))
    warned = [line for line in p.stderr.splitlines() if "ignoring the ahead-of-time kernels" in line]
    assert len(warned) == 1 and path in warned[0], p.stderr[-2000:]
    assert json.loads(p.stdout)["h"]


def test_the_build_is_named_by_its_sources(tmp_path, monkeypatch):
    """The module's name hashes the kernel sources (and numba, Python, the CPU): a changed
    source gives another name, so a stale module is never loaded."""
    import shutil

    from solver.kernels import aot

    for name in aot.KERNEL_SOURCES:
        shutil.copy(aot._HERE / name, tmp_path / name)
    monkeypatch.setattr(aot, "_HERE", tmp_path)
    aot.version_tag.cache_clear()
    try:
        before = aot.version_tag()
        with open(tmp_path / "fluxes.py", "a", encoding="utf-8") as fh:
            fh.write("\n# a change\n")
        aot.version_tag.cache_clear()
        assert aot.version_tag() != before and len(before) == 16
    finally:
        aot.version_tag.cache_clear()


def test_checked_calls_refuse_other_types_with_a_clear_message():
    """``COASTCAST_KERNEL_CHECKS=1``: an argument of another dtype, rank or memory order than the
    signature's is refused before the compiled code sees it, naming the kernel and the argument."""
    from solver.kernels.aot import CheckedCall, argument_types

    seen = []
    call = CheckedCall(lambda *a: seen.append(a), "update__demo", "void(i4[::1], f8[:, ::1], f8, b1)")
    good = (np.zeros(3, np.int32), np.zeros((3, 4)), 1.0, True)
    call(*good)
    assert call.calls == 1 and len(seen) == 1
    for k, bad in [(0, np.zeros(3, np.int64)), (1, np.zeros(12)), (1, np.zeros((4, 3)).T), (1, [[0.0]])]:
        args = list(good)
        args[k] = bad
        with pytest.raises(TypeError, match=rf"kernel update__demo: argument {k} is"):
            call(*args)
    with pytest.raises(TypeError, match="2 arguments, its signature has 4"):
        call(*good[:2])
    assert call.calls == 1
    with pytest.raises(ValueError, match="C-contiguous"):
        argument_types("void(f8[:])")


def test_the_signatures_read_without_numba_are_numbas():
    """The checked calls read each kernel's signature without numba (solver.kernels.aot); for
    every one of the 19 kernels the reading equals numba's own parse of it."""
    from numba.core import sigutils, types

    from solver.kernels.aot import argument_types
    from solver.kernels.dispatch import all_kernels

    kernels = all_kernels()
    assert len(kernels) == 19
    for name, kernel in kernels.items():
        args, _ = sigutils.normalize_signature(kernel.signature)
        want = [(np.dtype(str(t.dtype)), t.ndim) if isinstance(t, types.Array) else None for t in args]
        assert all(t.layout == "C" for t in args if isinstance(t, types.Array)), name
        assert argument_types(kernel.signature) == want, name
