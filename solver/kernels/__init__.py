"""Compiled (numba) kernels of the shallow-water operator, and the size of their thread pool.

The kernels are the passes of the numba backend (:mod:`solver.backends.numba_backend`): same
scheme and arithmetic as the numpy reference, fused loops, ``parallel=True``; threads from
``NUMBA_NUM_THREADS`` or :func:`use_threads` (:mod:`solver.kernels.threads`). ``NUMBA_AVAILABLE``
says whether numba is installed; importing this package does not import it
(:mod:`solver.kernels.jit`).
"""

from __future__ import annotations

import os

from .threads import NUMBA_AVAILABLE, kernel_threads, owned_cores, use_threads  # noqa: F401  (this package's API)

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

    from .dispatch import all_kernels

    threaded = kernel_threads() > 1
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    missing = []
    for kernel in all_kernels().values():
        # numba's versions this process would run: the serial one unless compiled ahead of time
        versions = (["parallel"] if threaded and kernel.threaded else []) + (["jit_serial"] if kernel.compiled is None else [])
        for version in versions:
            d = getattr(kernel, version)
            module = kernel.py_func.__module__
            index = f"{module.rsplit('.', 1)[-1]}.{d.py_func.__qualname__}-{d.py_func.__code__.co_firstlineno}.{tag}.nbi"
            if not os.path.exists(os.path.join(d.stats.cache_path, index)):
                missing.append(f"{module}.{kernel.py_func.__name__}")
                break
    return missing
