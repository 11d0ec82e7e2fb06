"""solver.core_share: a run hands its extra threads back while other processes need its cores.

The rule on measured shares (tiny cases), the wall-clock schedule, and a real process on two
spinning threads beside two CPU-bound processes on the same two CPUs, which must drop to one
thread and get its threads back when it stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from solver.core_share import CoreShare, idle_core_seconds, next_threads
from solver.schedules import WallTimeInterval
from solver.state import Clock


@pytest.mark.parametrize(
    "current, allotted, share, idle, expected",
    [
        (2, 2, 0.97, 0.0, 2),  # owns its cores
        (2, 2, 0.66, 0.0, 1),  # one thread more than the cores: 2/3 each
        (2, 2, 0.50, 0.0, 1),  # two more
        (1, 2, 1.00, 0.95, 2),  # the other core idle again
        (1, 2, 1.00, 0.30, 1),  # the other core mostly busy
        (1, 2, 1.00, None, 1),  # idle time unknown: stay
        (1, 1, 1.00, 1.00, 1),  # one thread allotted: nothing to take back
        (4, 4, 0.79, 0.0, 1),
    ],
)
def test_the_rule_on_measured_shares(current, allotted, share, idle, expected):
    assert next_threads(current, allotted, share, idle, low_share=0.8, free_core=0.8) == expected


def test_wall_time_interval_is_due_after_its_interval_of_wall_time():
    s = WallTimeInterval(0.05)
    clock = Clock()
    assert s.next_time(123.0) == float("inf")  # never shortens a step
    assert not s.due(clock)  # the first check starts the interval
    assert not s.due(clock)
    time.sleep(0.06)
    assert s.due(clock)
    assert not s.due(clock)
    with pytest.raises(ValueError, match="positive interval"):
        WallTimeInterval(0)


def test_idle_time_of_this_process_cpus_grows_with_wall_time():
    cpus = os.sched_getaffinity(0)
    a = idle_core_seconds(cpus)
    if a is None:
        pytest.skip("/proc/stat is not readable here")
    time.sleep(0.2)
    b = idle_core_seconds(cpus)
    assert 0.0 <= b - a <= len(cpus) * 0.2 + 0.05
    assert idle_core_seconds([10**6]) is None  # no such CPU


def test_time_on_the_allotted_threads_adds_up_the_intervals_between_switches():
    share = CoreShare()
    share.allotted = 2
    share.switches = [(1.0, 2), (5.0, 1), (7.0, 2)]  # up at 1 s, down at 5 s, up again at 7 s
    assert share.time_on_allotted(10.0) == pytest.approx(4.0 + 3.0)
    share.switches = []
    assert share.time_on_allotted(10.0) == 0.0


def test_core_share_without_threads_does_nothing():
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        share = CoreShare(interval=0.01)
        share.start()
        assert share() == 1
        share.stop()
        assert numba.get_num_threads() == 1 and share.switches == []
    finally:
        numba.set_num_threads(before)


CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)
    import numpy as np, numba
    from numba import njit, prange
    from solver.core_share import CoreShare
    from solver.kernels import use_threads
    assert use_threads(2) == 2

    @njit(parallel=True)
    def work(a):
        for i in prange(a.size):
            a[i] = np.sqrt(a[i] + 1.0)

    def run(share, seconds, until=None):
        end = time.perf_counter() + seconds
        seen = set()
        while time.perf_counter() < end:
            work(a)
            if share.schedule.due(None):
                seen.add(share())
                if until is not None and until():
                    break
        return seen

    a = np.zeros(200_000)
    hog = "import os; os.sched_setaffinity(0, %r)\\nwhile True: pass" % (cpus,)
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in cpus]
    try:
        time.sleep(0.5)
        share = CoreShare(interval=0.25)
        share.start()
        started = numba.get_num_threads()
        kept = run(share, 2.5)  # ten checks beside the busy processes: no idle core to take
        numba.set_num_threads(2)  # as if it had taken its second thread before they came
        run(share, 10.0, until=lambda: numba.get_num_threads() == 1)
        dropped = numba.get_num_threads()
    finally:
        for h in hogs:
            h.kill()
    share.stop()
    print(started, sorted(kept), dropped, numba.get_num_threads(), share.switches[-1][1] if share.switches else -1)
    """
)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_run_beside_busy_processes_keeps_to_one_thread():
    """Two CPU-bound processes on the run's two CPUs: it starts on one thread and, with no idle
    core, never takes its second; put on two spinning threads its share falls to about 1/2,
    below 0.8, and the next check puts it back on one; stop() restores the two allotted."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert out.stdout.split() == ["1", "[1]", "1", "2", "1"], out.stdout + out.stderr


SIMULATION = textwrap.dedent(
    """
    import numba
    from solver import Callback, IterationInterval, ShallowWaterModel, Simulation
    from solver.builders import rectangle
    from solver.kernels import use_threads
    assert use_threads(2) == 2
    model = ShallowWaterModel(rectangle(100.0, 20.0, 10, 2, depth=5.0))
    seen = []
    sim = Simulation(model, model.initial_state(0.1), stop_time=5.0)
    sim.callbacks["threads"] = Callback(lambda s: seen.append(numba.get_num_threads()), IterationInterval(1))
    sim.run()
    print(seen[1], numba.get_num_threads(), sim.core_share.allotted)  # seen[0]: the initial call, before the run starts
    """
)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_simulation_on_two_threads_starts_on_one_and_ends_with_its_two():
    """A real Simulation allotted two threads runs its first step on one (the CoreShare starts
    low) and leaves the process on its two allotted threads when it ends."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", SIMULATION], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert out.stdout.split() == ["1", "2", "2"], out.stdout + out.stderr


def test_a_run_right_after_one_that_ended_on_its_threads_starts_on_them(monkeypatch):
    """The segments of a cycle follow each other in one process: the next starts on its allotted
    threads when the one before ended on them less than ``carry`` seconds ago, else on one."""
    import solver.core_share as cs

    threads = [2]  # the kernels' thread count, as numba would report it

    def use(n):
        threads[0] = n
        return n

    monkeypatch.setattr(cs.CoreShare, "_threads", staticmethod(lambda: threads[0]))
    monkeypatch.setattr(cs, "use_threads", use)
    monkeypatch.setattr(cs, "_ended_on_allotted", None)

    first = CoreShare(carry=5.0)
    first.start()
    assert threads == [1] and first.switches == []  # a fresh process starts low
    threads[0] = 2  # it took its second thread during the run ...
    first.stop()  # ... and ended on it
    second = CoreShare(carry=5.0)
    second.start()
    assert threads == [2] and second.switches == [(0.0, 2)]
    assert second.time_on_allotted(3.0) == 3.0
    use(1)  # other work came: it ended on one thread
    second.stop()
    assert threads == [2]  # stop gives the allotted threads back for the next sizing
    third = CoreShare(carry=5.0)
    third.start()
    assert threads == [1]  # the run before ended on one thread: start low
    threads[0] = 2
    third.stop()
    monkeypatch.setattr(cs, "_ended_on_allotted", time.perf_counter() - 6.0)  # ended 6 s ago
    fourth = CoreShare(carry=5.0)
    fourth.start()
    assert threads == [1]
