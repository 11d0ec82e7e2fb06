"""How many threads the kernels may use, asked and set without importing numba where one
thread is all a process uses (its serial kernels may then be compiled ahead of time,
:mod:`solver.kernels.aot`, and numba never loads; :mod:`solver.kernels.jit`).

The count follows numba's rules: a pool of ``NUMBA_NUM_THREADS`` threads (default: the CPUs of
this process's affinity), and a count per calling thread (``numba.set_num_threads`` is
thread-local), and once numba is loaded its count is the one asked (so that
``numba.set_num_threads`` called directly, as benchmarks and tests do, still counts); before, a
count of one chosen by :func:`use_threads` is kept here and handed to numba when it is imported.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading

NUMBA_AVAILABLE = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (asked without importing it)."""


class _Chosen(threading.local):
    threads: int | None = None  # the count use_threads set in this thread


_local = _Chosen()


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
    return numba if numba is not None and hasattr(numba, "set_num_threads") else None


_pool = []


def pool_size() -> int:
    """numba's thread pool: ``NUMBA_NUM_THREADS``, else the CPUs of this process's affinity
    (numba's own rule, read once, without importing numba, as numba reads it once at its import)."""
    if not _pool:
        numba = _loaded_numba()
        given = os.environ.get("NUMBA_NUM_THREADS", "").strip()
        if numba is not None:
            _pool.append(numba.config.NUMBA_NUM_THREADS)
        elif given:
            _pool.append(max(1, int(given)))
        else:
            try:
                _pool.append(max(1, len(os.sched_getaffinity(0))))
            except AttributeError:  # pragma: no cover - not Linux
                _pool.append(max(1, os.cpu_count() or 1))
    return _pool[0]


def kernel_threads() -> int:
    """The threads the kernels called from this thread may use (1 without numba): numba's count
    for this thread once numba is loaded (whoever set it), else the count :func:`use_threads`
    chose here, else the whole pool (numba's default for a thread)."""
    chosen = _local.threads
    numba = _loaded_numba()
    if numba is None:
        if chosen is not None:
            return chosen
        return pool_size() if NUMBA_AVAILABLE else 1
    if chosen is not None:  # chosen before numba was imported: numba takes it now
        numba.set_num_threads(chosen)
        _local.threads = None
    return numba.get_num_threads()


def use_threads(n: int | None = None) -> int:
    """Size the kernels' thread pool for the calling thread: ``n`` threads (default
    :func:`owned_cores`), never more than the pool; returns the number set (1 without numba).
    One thread is remembered without importing numba when it is not loaded yet (and handed to
    it by :func:`kernel_threads` once it is)."""
    want = owned_cores() if n is None else max(1, int(n))
    if not NUMBA_AVAILABLE:
        return 1
    k = min(want, pool_size())
    numba = _loaded_numba()
    if numba is None and k == 1:  # kept here until numba is imported, if ever
        _local.threads = 1
        return 1
    if numba is None:
        import numba
    _local.threads = None
    numba.set_num_threads(k)
    return k
