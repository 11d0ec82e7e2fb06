"""Hand a run's extra threads back while other work needs the cores, and take them again when
the cores are free.

The kernels' OpenMP threads wait for the next parallel loop by spinning for a bounded time
(``GOMP_SPINCOUNT``, :mod:`solver.kernels`): on this project's 2-core machine a 72-hour
forecast on two threads ran 1.8× faster spinning than sleeping between loops (the sleeping
thread's wake-up costs more than the loops between). But a spinning thread takes its core
from any other process that wants it: a 3-hour forecast on two spinning threads beside two
one-thread forecasts on the same two cores took 65.6 s, against 8.6 s with sleeping threads
(docs/performance.md). A :class:`CoreShare` watches, every wall second, whether the run gets
the cores it has threads for, and switches the kernels to one thread (their serial twins, no OpenMP loop at all; the idle
pool stops spinning within its bound) when it does not; back to its allotted threads when the
other cores have been idle.

Two measurements over each interval Δt, both from the kernel (Linux):

* the run's share of its cores, s = ΔCPU(process) / (k Δt) with k its current threads: a run on
  k spinning threads that owns its cores uses close to k cores; one thread more than the cores
  (another process's) gives s ≈ k / (k + 1), two more s ≈ 1/2;
* the idle cores of the run's CPU set, ``/proc/stat`` idle + iowait time of each CPU in the
  process's affinity over Δt.

A run starts on one thread and takes its allotted K threads after an interval in which the
other cores were idle: idle ≥ ``free_core`` × (K − 1); on k > 1 threads it goes back to one when
its share falls below ``low_share``. A run that follows, in the same process and within
``carry`` wall seconds, a run that ended on its allotted threads (the next segment of a cycle,
whose set-up between the two takes a second or two) starts on them: the cores were its own a
moment ago, and the first check hands them back if that changed. Starting low costs a lone run
one interval on one thread; starting high beside other runs would spin against them until the
first check (measured, 2 runs of 2 threads each on 2 cores: 1.25× the wall of sleeping threads
when both started on two). One interval decides a switch either way: a wrong drop costs a lone run one interval on
one thread, a late one spins against the others. On a machine where ``/proc/stat`` cannot be
read the run stays on one thread (it cannot tell whether the cores are free), the safe side.
With ``OMP_WAIT_POLICY=PASSIVE`` (the user's choice) the threads sleep instead of spinning,
take no core from anyone while they wait and would read as a low share: the callback then does
nothing.
"""

from __future__ import annotations

import logging
import os
import time

from .kernels import kernel_threads, use_threads
from .schedules import WallTimeInterval

log = logging.getLogger(__name__)

_ended_on_allotted: float | None = None
"""``time.perf_counter()`` when the last :class:`CoreShare` of this process stopped while on its
allotted threads (more than one), else None."""


def idle_core_seconds(cpus) -> float | None:
    """Idle + iowait seconds since boot summed over the CPUs ``cpus`` (ids), from ``/proc/stat``;
    None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    want = {f"cpu{c}" for c in cpus}
    ticks = 0
    seen = 0
    for line in lines:
        fields = line.split()
        if fields and fields[0] in want:
            ticks += int(fields[4]) + int(fields[5])  # idle, iowait
            seen += 1
    if not seen:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def next_threads(current: int, allotted: int, share: float, idle_cores: float | None, low_share: float, free_core: float) -> int:
    """The threads the run should use next from one interval's measurements (module docstring):
    1 when on several threads it got less than ``low_share`` of them, ``allotted`` when on one
    thread the other cores were idle (``idle_cores`` ≥ ``free_core`` × (allotted − 1)), else
    ``current``."""
    if current > 1 and share < low_share:
        return 1
    if current == 1 and allotted > 1 and idle_cores is not None and idle_cores >= free_core * (allotted - 1):
        return allotted
    return current


class CoreShare:
    """Simulation callback that sizes the kernels' threads to the cores the run actually gets.

    interval : wall seconds between checks (the :class:`~solver.schedules.WallTimeInterval`
        ``schedule``); low_share, free_core, carry: the rules of the module docstring.
    ``allotted`` is the thread count when :meth:`start` is called (the run's own sizing,
    :func:`solver.kernels.use_threads`); :meth:`start` sets one thread, :meth:`stop` restores
    the allotted count. ``switches`` lists
    (wall time since start, threads) of every change.
    """

    def __init__(self, interval: float = 1.0, low_share: float = 0.8, free_core: float = 0.8, carry: float = 5.0):
        self.schedule = WallTimeInterval(interval)
        self.carry = float(carry)
        self.low_share = float(low_share)
        self.free_core = float(free_core)
        self.allotted = 1
        self.switches: list[tuple[float, int]] = []
        self._t0 = 0.0
        self._last = None

    @staticmethod
    def _threads() -> int:
        return kernel_threads()

    @staticmethod
    def _cpus():
        try:
            return os.sched_getaffinity(0)
        except AttributeError:  # pragma: no cover - not Linux (and then no /proc/stat either)
            return range(os.cpu_count() or 1)

    def _sample(self):
        return time.perf_counter(), time.process_time(), idle_core_seconds(self._cpus())

    def start(self) -> None:
        """Begin watching: remember the allotted threads and the first sample. Start on one
        thread, or on the allotted ones right after a run of this process that ended on them
        (within ``carry`` seconds; module docstring)."""
        passive = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"
        self.allotted = 1 if passive else self._threads()
        self.schedule.last = None
        self._t0 = time.perf_counter()
        self._last = None
        self.switches = []
        if self.allotted > 1:
            after = _ended_on_allotted
            if after is not None and self._t0 - after <= self.carry:
                self.switches.append((0.0, self.allotted))
            else:
                use_threads(1)
            self._last = self._sample()

    def stop(self) -> None:
        """Give the run its allotted threads back (the next run starts from its own sizing) and
        log how the wall time went: on how many threads, with how many switches."""
        global _ended_on_allotted
        if self.allotted <= 1:
            return
        if self._threads() != self.allotted:
            _ended_on_allotted = None
            use_threads(self.allotted)
        else:
            _ended_on_allotted = time.perf_counter()
        wall = time.perf_counter() - self._t0
        if wall > 0:
            on_all = self.time_on_allotted(wall)
            log.info(
                "solver threads: %d for %.0f %% of the run's %.0f s of wall, one for the rest (%s, and %d times for other work)",
                self.allotted,
                100 * on_all / wall,
                wall,
                "from the start on %d" % self.allotted if self.switches[:1] == [(0.0, self.allotted)] else "the first second",
                sum(1 for _, n in self.switches if n == 1),
            )

    def time_on_allotted(self, wall: float) -> float:
        """Wall seconds (of the first ``wall`` since :meth:`start`) spent on the allotted threads."""
        total = 0.0
        since = None
        for t, n in self.switches:
            if n == self.allotted and since is None:
                since = t
            elif n != self.allotted and since is not None:
                total += t - since
                since = None
        if since is not None:
            total += wall - since
        return total

    def __call__(self, simulation=None) -> int:
        """One check; returns the threads in use after it."""
        current = self._threads()
        if self.allotted <= 1 or self._last is None:
            return current
        now = self._sample()
        wall = now[0] - self._last[0]
        if wall <= 0.0:
            return current
        share = (now[1] - self._last[1]) / (current * wall)
        idle = None if now[2] is None or self._last[2] is None else (now[2] - self._last[2]) / wall
        self._last = now
        want = next_threads(current, self.allotted, share, idle, self.low_share, self.free_core)
        if want == current:
            return current
        use_threads(want)
        self.switches.append((now[0] - self._t0, want))
        if want < current:
            log.debug("other work is on this run's cores (it got %.0f %% of %d); continuing on one thread", 100 * share, current)
        else:
            log.debug("%.1f cores idle: continuing on %d threads", idle, want)
        return want
