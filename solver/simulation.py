"""The time loop: a :class:`Simulation` owns the model, the state, the clock, the stop time,
output writers and callbacks on schedules, and checks for NaN."""

from __future__ import annotations

import logging
import math
import time as wallclock

import numpy as np

from . import local_timestepping  # noqa: F401  (registers "lts-rk2" and "lts-muscl-hancock")
from .core_share import CoreShare
from .schedules import IterationInterval
from .state import Clock, State
from .timestepping import TIME_STEPPERS

log = logging.getLogger(__name__)

DEFAULT_NAN_CHECK = IterationInterval(10)
"""The NaN (and speed) check's default schedule: every 10 steps (a schedule holds no state)."""


class NumericalInstability(RuntimeError):
    """The solution became non-finite or implausibly fast; the message names the time, the face and its position."""


class Simulation:
    """Run a :class:`~solver.model.ShallowWaterModel` from ``state`` to ``stop_time``.

    Parameters
    ----------
    model, state
    stop_time : seconds since ``clock.start``
    clock : Clock (start datetime, time, iteration); a new one at t = 0 by default
    cfl : Courant number for the adaptive step (≤ 1 keeps depths non-negative)
    dt : fixed step (s) instead of the adaptive one
    max_dt : upper bound for the adaptive step (s)
    time_stepper : name in :data:`solver.timestepping.TIME_STEPPERS` ("lts-rk2",
        "lts-muscl-hancock": local time steps, :mod:`solver.local_timestepping`; then ``dt`` and
        ``max_dt`` bound its coarsest step)
    output_writers, callbacks : dict name -> object with ``schedule`` and ``write(sim)`` / ``__call__(sim)``;
        writers may also have ``open(sim)`` and ``close(sim)``
    nan_check : schedule for the NaN check (None disables it; default every 10 steps)
    max_speed : on the same schedule, a depth-averaged speed above this (m/s) stops the run as
        unstable (default 50: coastal tides and surges stay under 10 m/s, and an unstable face
        can grow for hours without reaching NaN; None disables it)
    core_share : wall seconds between checks that the run gets the cores it has threads for:
        it starts on one thread, takes its others when their cores are idle and hands them back
        while other work needs them (:class:`solver.core_share.CoreShare`; acts only when more
        than one thread is set; default 1 s; None disables it)
    """

    def __init__(
        self,
        model,
        state: State,
        *,
        stop_time: float,
        clock: Clock | None = None,
        cfl: float = 0.9,
        dt: float | None = None,
        max_dt: float = math.inf,
        time_stepper: str = "ssp-rk2",
        output_writers=None,
        callbacks=None,
        nan_check=DEFAULT_NAN_CHECK,
        max_speed: float | None = 50.0,
        core_share: float | None = 1.0,
    ):
        if time_stepper not in TIME_STEPPERS:
            raise ValueError(f"unknown time_stepper {time_stepper!r}; choose one of {', '.join(TIME_STEPPERS)}")
        self.model = model
        self.state = state
        self.clock = clock or Clock()
        self.stop_time = float(stop_time)
        self.cfl = cfl
        self.fixed_dt = dt
        self.max_dt = max_dt
        self.stepper = TIME_STEPPERS[time_stepper](model.mesh.n_face)
        if hasattr(self.stepper, "cfl"):
            self.stepper.cfl = cfl
        self.output_writers = dict(output_writers or {})
        self.callbacks = dict(callbacks or {})
        self.nan_check = nan_check
        self.max_speed = max_speed
        self.core_share = None if core_share is None else CoreShare(core_share)
        self.boundary_outflow = np.zeros(model.n_segments)
        """Volume (m³) that has left through each boundary segment since the start."""
        self.wall_time = 0.0
        self.last_dt = 0.0

    # -- helpers ------------------------------------------------------------------------------
    def _scheduled(self):
        return list(self.output_writers.values()) + list(self.callbacks.values())

    def next_dt(self) -> float:
        if self.fixed_dt is not None:
            dt = self.fixed_dt
        elif hasattr(self.stepper, "max_step"):  # local time stepping: the step of its coarsest level
            dt = min(self.stepper.max_step(self.model, self.state, self.cfl), self.max_dt)
        else:
            dt = min(self.model.stable_dt(self.state, self.cfl), self.max_dt)
        t = self.clock.time
        target = self.stop_time
        for obj in self._scheduled():
            target = min(target, obj.schedule.next_time(t))
        if not math.isfinite(dt):
            dt = target - t
        if t + dt > target - 1e-9 * max(1.0, abs(target)):
            dt = target - t
        elif t + 2 * dt > target:  # avoid a sliver step before a scheduled time
            dt = 0.5 * (target - t)
        return dt

    def check_finite(self):
        """Raise :class:`NumericalInstability` if the state has a non-finite value or, with
        ``max_speed``, a faster face; one pass of the model's backend over the faces, without
        face-sized arrays (they are made only for the message)."""
        check = self.model.speed_check(self.state)
        m = self.model.mesh
        if check.n_nonfinite:
            i = check.first_nonfinite
            raise NumericalInstability(
                f"non-finite state at t = {self.clock.time:.1f} s ({self.clock.datetime.isoformat()}), "
                f"iteration {self.clock.iteration}, face {i} at ({m.face_x[i]:.6g}, {m.face_y[i]:.6g}); "
                f"{check.n_nonfinite} faces affected"
            )
        if self.max_speed is not None and check.max_speed > self.max_speed:
            i = check.fastest_face
            over = int((np.hypot(*self.model.velocity(self.state)) > self.max_speed).sum())
            raise NumericalInstability(
                f"speed {check.max_speed:.1f} m/s above max_speed {self.max_speed:g} m/s at t = {self.clock.time:.1f} s "
                f"({self.clock.datetime.isoformat()}), iteration {self.clock.iteration}, face {i} at "
                f"({m.face_x[i]:.6g}, {m.face_y[i]:.6g}), depth {self.state.h[i]:.3g} m; {over} faces affected"
            )

    def _act(self, initial=False):
        for w in self.output_writers.values():
            if initial or w.schedule.due(self.clock):
                w.write(self)
        for c in self.callbacks.values():
            if initial or c.schedule.due(self.clock):
                c(self)

    # -- the loop -----------------------------------------------------------------------------
    def time_step(self, dt: float) -> None:
        """Advance one step of ``dt`` seconds."""
        self.boundary_outflow += self.stepper.step(self.model, self.state, self.clock.time, dt)
        self.clock.time += dt
        self.clock.iteration += 1
        self.last_dt = dt
        if self.nan_check is not None and self.nan_check.due(self.clock):
            self.check_finite()

    def run(self) -> "Simulation":
        """Run to ``stop_time``; writers are opened first and closed (finalised) at the end."""
        t0 = wallclock.perf_counter()
        for w in self.output_writers.values():
            if hasattr(w, "open"):
                w.open(self)
        if self.clock.iteration == 0:
            self._act(initial=True)
        share = self.core_share
        if share is not None:
            share.start()
        try:
            while self.clock.time < self.stop_time - 1e-9 * max(1.0, self.stop_time):
                dt = self.next_dt()
                if dt <= 0:
                    raise NumericalInstability(f"time step collapsed to {dt:g} s at t = {self.clock.time:.3f} s")
                self.time_step(dt)
                self._act()
                if share is not None and share.schedule.due(self.clock):
                    share(self)
            if self.nan_check is not None:
                self.check_finite()
        finally:
            if share is not None:
                share.stop()
            self.wall_time += wallclock.perf_counter() - t0
        for w in self.output_writers.values():
            if hasattr(w, "close"):
                w.close(self)
        return self
