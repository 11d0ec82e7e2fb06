"""When output writers and callbacks act: schedules shared by both (as in Oceananigans)."""

from __future__ import annotations

import math
import time as wallclock


class TimeInterval:
    """Every ``interval`` seconds of model time (the simulation shortens steps to land on them)."""

    def __init__(self, interval: float, offset: float = 0.0):
        if interval <= 0:
            raise ValueError(f"TimeInterval needs a positive interval, got {interval}")
        self.interval = float(interval)
        self.offset = float(offset)

    def next_time(self, time: float) -> float:
        """The first scheduled time strictly after ``time``."""
        k = math.floor((time - self.offset) / self.interval + 1e-9) + 1
        return self.offset + k * self.interval

    def due(self, clock) -> bool:
        r = (clock.time - self.offset) / self.interval
        return clock.time >= self.offset - 1e-9 and abs(r - round(r)) < 1e-9 * max(1.0, abs(r))


class IterationInterval:
    """Every ``n`` time steps."""

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"IterationInterval needs n >= 1, got {n}")
        self.n = int(n)

    def next_time(self, time: float) -> float:
        return math.inf

    def due(self, clock) -> bool:
        return clock.iteration % self.n == 0


class WallTimeInterval:
    """Every ``interval`` seconds of wall-clock time, checked after each step (no step is
    shortened for it; the first is due ``interval`` seconds after the first check). Unlike the
    model-time schedules it holds state (the wall time it was last due): one per callback."""

    def __init__(self, interval: float):
        if interval <= 0:
            raise ValueError(f"WallTimeInterval needs a positive interval, got {interval}")
        self.interval = float(interval)
        self.last = None

    def next_time(self, time: float) -> float:
        return math.inf

    def due(self, clock) -> bool:
        now = wallclock.perf_counter()
        if self.last is None:
            self.last = now
            return False
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False


class Callback:
    """``func(simulation)`` called on ``schedule``."""

    def __init__(self, func, schedule):
        self.func = func
        self.schedule = schedule

    def __call__(self, simulation):
        return self.func(simulation)
