"""Backends of :class:`solver.model.ShallowWaterModel`, in a registry (name -> class).

A backend computes the model's operator: ``tendency``, ``wave_times`` and ``stable_dt``,
``euler_stage`` and ``apply_implicit``, ``speed_check`` (the Simulation's check of the state)
and ``local_steps_unsupported`` (why local time stepping cannot use it, or None). Each is
constructed once per model, ``Backend(model)``, and is handed the model in every call; it reads
the model's public set-up (geometry, boundary groups, terms) and asks the boundary conditions
and terms for their own behaviour, never for their types.

* ``"numpy"``: :class:`~solver.backends.numpy_backend.NumpyBackend`, the vectorised reference;
* ``"numba"``: :class:`~solver.backends.numba_backend.NumbaBackend`, the same scheme with the
  same arithmetic in compiled, fused, parallel loops over preallocated arrays (:mod:`solver.kernels`).

:func:`default_backend` is ``"numba"`` when numba imports, else ``"numpy"``. Tests are
parametrized over :data:`BACKENDS`.
"""

from __future__ import annotations

from ..kernels import NUMBA_AVAILABLE
from . import numpy_backend  # noqa: F401  (registers "numpy")
from .registry import BACKENDS, default_backend, make_backend, register

if NUMBA_AVAILABLE:
    from . import numba_backend  # noqa: F401  (registers "numba")

__all__ = ["BACKENDS", "default_backend", "make_backend", "register"]
