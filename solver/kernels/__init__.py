"""Compiled (numba) kernels of the shallow-water operator, and the size of their thread pool.

The kernels are the passes of the numba backend (:mod:`solver.backends.numba_backend`): same
scheme and arithmetic as the numpy reference, fused loops, ``parallel=True``; threads from
``NUMBA_NUM_THREADS`` or :func:`use_threads`. ``NUMBA_AVAILABLE`` says whether numba imports.
"""

from __future__ import annotations

import os

# A thread waiting at the end of a parallel loop spins for a bounded time, then sleeps
# (libgomp: GOMP_SPINCOUNT iterations, about 0.25 s on this project's machine, when no
# OMP_WAIT_POLICY is set). Spinning made a 2-thread Channel/Biscay forecast 1.8x faster than
# OMP_WAIT_POLICY=PASSIVE (the sleeping thread's wake-up costs more than the loops between), but
# a spinning thread steals its core from other processes: solver.core_share.CoreShare drops a
# run to one thread (no OpenMP loops; the pool stops spinning within the bound) while other work
# needs its cores (docs/performance.md). A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
# Must be set before the OpenMP runtime starts (numba loads it at the first parallel loop).
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "10000000"

try:  # numba is a project dependency; the numpy reference works without it
    import numba  # noqa: F401

    NUMBA_AVAILABLE = True
except ImportError:  # pragma: no cover
    NUMBA_AVAILABLE = False


def owned_cores() -> int:
    """The cores this process may use: its CPU affinity, bounded by a cgroup (v2) CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(float(quota) / float(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def use_threads(n: int | None = None) -> int:
    """Size the kernels' thread pool: ``n`` threads (default :func:`owned_cores`), never more
    than the pool numba started with; returns the number set (1 without numba)."""
    want = owned_cores() if n is None else max(1, int(n))
    if not NUMBA_AVAILABLE:
        return 1
    import numba

    k = min(want, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(k)
    return k


def uncached_kernels() -> list[str]:
    """The cached kernels (``cache=True``) that numba's on-disk cache has no index for: all of
    them on a fresh install or after ``NUMBA_CACHE_DIR`` moved, none once a run has compiled
    them. numba writes the cache next to the sources (``solver/kernels/__pycache__``) or, where
    that is read-only, under the user's cache directory, or under ``NUMBA_CACHE_DIR`` if set;
    ``Dispatcher.stats.cache_path`` says which. A kernel whose source changed since its index
    was written recompiles without being listed. A kernel compiled twice
    (:class:`solver.kernels.dispatch.Kernel`) is listed when the twin this process would run
    is missing: the serial one on one thread, either of them with more; the serial one is never
    missing where this installation has the kernels compiled ahead of time
    (:mod:`solver.kernels.aot`)."""
    if not NUMBA_AVAILABLE:
        return []
    import sys

    import numba
    from numba.core.registry import CPUDispatcher

    from . import fluxes, ghosts, lts, reconstruct, update
    from .dispatch import Kernel

    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    missing = []
    for mod in (fluxes, ghosts, lts, reconstruct, update):
        for name, fn in vars(mod).items():
            if isinstance(fn, Kernel):  # the serial version always runs; the threaded one only with threads
                serial = () if fn.compiled is not None else (fn.jit_serial,)  # ahead of time: nothing to load
                threaded = (fn.parallel,) if fn.parallel is not None and numba.get_num_threads() > 1 else ()
                dispatchers = threaded + serial
            elif isinstance(fn, CPUDispatcher):
                dispatchers = (fn,)
            else:
                continue
            if fn.py_func.__module__ != mod.__name__:
                continue
            for d in dispatchers:
                where = d.stats.cache_path
                if where is None:  # not cached (inlined helpers)
                    continue
                index = (
                    f"{mod.__name__.rsplit('.', 1)[-1]}.{d.py_func.__qualname__}-{d.py_func.__code__.co_firstlineno}.{tag}.nbi"
                )
                if not os.path.exists(os.path.join(where, index)):
                    missing.append(f"{mod.__name__}.{name}")
                    break
    return missing
