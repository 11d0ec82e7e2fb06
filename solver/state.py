"""The prognostic state, its tendency, the check of a state and the model clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import numpy as np


@dataclass
class State:
    """Conserved variables on faces: depth ``h`` (m), discharges ``hu``, ``hv`` (m² s⁻¹).

    Each array has shape (n_face,), float64, contiguous. ``hu``/``hv`` are the eastward/northward
    (or x/y) components.
    """

    h: np.ndarray
    hu: np.ndarray
    hv: np.ndarray

    def copy(self) -> "State":
        return State(self.h.copy(), self.hu.copy(), self.hv.copy())

    def assign(self, other: "State") -> None:
        """Copy ``other``'s values into this state's arrays (no allocation)."""
        np.copyto(self.h, other.h)
        np.copyto(self.hu, other.hu)
        np.copyto(self.hv, other.hv)

    @classmethod
    def zeros(cls, n_face: int) -> "State":
        return cls(np.zeros(n_face), np.zeros(n_face), np.zeros(n_face))

    def is_finite(self) -> np.ndarray:
        """(n_face,) True where all three variables are finite."""
        return np.isfinite(self.h) & np.isfinite(self.hu) & np.isfinite(self.hv)


class StateCheck(NamedTuple):
    """What :meth:`solver.model.ShallowWaterModel.speed_check` finds in a state."""

    n_nonfinite: int
    """Faces with a non-finite h, hu or hv."""
    first_nonfinite: int
    """The first of them, or -1."""
    fastest_face: int
    """The face of the highest speed among the finite ones."""
    max_speed: float
    """That speed, m s⁻¹."""


@dataclass
class Tendency:
    """Time derivatives of the state, (n_face,) each, and the outward volume flux (m³ s⁻¹) per boundary segment."""

    h: np.ndarray
    hu: np.ndarray
    hv: np.ndarray
    boundary_outflow: np.ndarray


def utc(value, what: str = "time", error: type[Exception] | None = None) -> datetime:
    """A timezone-aware UTC datetime from an aware datetime or an ISO 8601 string with a zone.

    The project's one rule for time zones: a naive datetime (or a string without a zone) is
    refused, since a forecast time without a zone is ambiguous. ``what`` names the value in the
    one-line message; ``error`` is the exception class raised (default: ValueError, and
    TypeError for a value that is neither a datetime nor a string).
    """
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise (error or ValueError)(f"{what} {text!r} is not an ISO 8601 time such as 2026-01-10T00:00Z") from None
    if not isinstance(value, datetime):
        raise (error or TypeError)(f"{what} must be a datetime or ISO 8601 string, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise (error or ValueError)(f"{what} {value.isoformat()} has no time zone; write it in UTC, e.g. {value.isoformat()}Z")
    return value.astimezone(timezone.utc)


@dataclass
class Clock:
    """Model time: ``time`` seconds since ``start`` (aware UTC) and the step count ``iteration``."""

    start: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=timezone.utc))
    time: float = 0.0
    iteration: int = 0

    def __post_init__(self):
        self.start = utc(self.start)

    @property
    def datetime(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return self.start + timedelta(seconds=self.time)
