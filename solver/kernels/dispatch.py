"""One loop kernel, compiled twice: a threaded version and a serial one, and the choice between them.

A numba ``parallel=True`` loop costs 5–15 µs to start, even on one thread (the OpenMP region,
the scheduling of the chunks; measured on the Channel/Biscay mesh: the reconstruction over an
empty index list took 15 µs threaded, 7.5 µs serial, the edge fluxes 6.2 against 0.8 µs).
Under local time stepping a level's tendency runs a dozen kernels over a few hundred to a few
thousand faces, 30 such tendencies per coarsest step: the start-up of the parallel regions
alone was about 15 s of a 72-hour forecast. :class:`Kernel` therefore runs the serial twin
when one thread is set or when the loop is shorter than the kernel's ``serial_below`` (its
first argument is the index list or array it loops over), and the threaded one otherwise.
Both are compiled from the same source with the same options (``error_model="numpy"``, no
fastmath), so they compute the same numbers bit for bit.
"""

from __future__ import annotations

import functools
import types

import numba
from numba import njit

OPTIONS = {"cache": True, "error_model": "numpy"}
"""Compilation options of every kernel (both twins)."""


def _renamed(fn, suffix: str):
    """A copy of function ``fn`` with ``suffix`` appended to its name: numba's on-disk cache
    names a function's entries by its qualified name and first line, not by ``parallel``, so the
    two twins need two names or they would load each other's machine code."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + suffix
    twin.__module__ = fn.__module__
    twin.__doc__ = fn.__doc__
    return twin


class Kernel:
    """A loop kernel with a threaded (:attr:`parallel`) and a serial (:attr:`serial`) compiled
    version of one source (module docstring). Calling it runs the serial one when
    ``numba.get_num_threads() == 1`` or ``len(args[0]) < serial_below``.

    ``serial_below``: the loop length below which two threads do not pay for starting the
    parallel region, about 20 µs / (cost of one iteration): a few hundred for the
    reconstruction and the fluxes (≈ 50–100 ns an item), thousands for a copy (≈ 5 ns).
    """

    def __init__(self, fn, serial_below: int):
        self.py_func = fn
        self.serial_below = serial_below
        self.parallel = njit(parallel=True, **OPTIONS)(fn)
        self.serial = njit(**OPTIONS)(_renamed(fn, "_serial"))
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        if args[0].shape[0] < self.serial_below or numba.get_num_threads() == 1:
            return self.serial(*args)
        return self.parallel(*args)

    @property
    def dispatchers(self):
        """(threaded, serial) numba dispatchers."""
        return self.parallel, self.serial


def kernel(serial_below: int):
    """Decorator: ``@kernel(serial_below=n)`` makes a :class:`Kernel` of the function."""

    def wrap(fn):
        return Kernel(fn, serial_below)

    return wrap
