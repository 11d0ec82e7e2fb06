"""How many threads the kernels may use, asked and set without importing numba where one
thread is all a process uses (its serial kernels may then be compiled ahead of time,
:mod:`solver.kernels.aot`, and numba never loads; :mod:`solver.kernels.jit`).

The count follows numba's rules: a pool of ``NUMBA_NUM_THREADS`` threads (default: the CPUs of
this process's affinity), and a count per calling thread (``numba.set_num_threads`` is
thread-local). A count of one chosen before numba is imported is remembered for the calling
thread and handed to numba if it is imported later.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading

NUMBA_AVAILABLE = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (asked without importing it)."""

_local = threading.local()


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


def _loaded_numba():
    numba = sys.modules.get("numba")
    return numba if numba is not None and hasattr(numba, "get_num_threads") else None


def pool_size() -> int:
    """numba's thread pool: ``NUMBA_NUM_THREADS``, else the CPUs of this process's affinity."""
    numba = _loaded_numba()
    if numba is not None:
        return numba.config.NUMBA_NUM_THREADS
    given = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if given:
        return max(1, int(given))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def kernel_threads() -> int:
    """The threads the kernels called from this thread may use (1 without numba)."""
    if not NUMBA_AVAILABLE:
        return 1
    chosen = getattr(_local, "threads", None)
    numba = _loaded_numba()
    if numba is None:
        return chosen if chosen is not None else pool_size()
    if chosen is not None:  # chosen before numba was imported: numba takes it now
        numba.set_num_threads(chosen)
        _local.threads = None
    return numba.get_num_threads()


def use_threads(n: int | None = None) -> int:
    """Size the kernels' thread pool for the calling thread: ``n`` threads (default
    :func:`owned_cores`), never more than the pool; returns the number set (1 without numba).
    One thread is remembered without importing numba when it is not loaded yet."""
    want = owned_cores() if n is None else max(1, int(n))
    if not NUMBA_AVAILABLE:
        return 1
    k = min(want, pool_size())
    if k == 1 and _loaded_numba() is None:
        _local.threads = 1
        return 1
    from .jit import numba_ready

    _local.threads = None
    numba_ready().set_num_threads(k)
    return k
