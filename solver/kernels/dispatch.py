"""One loop kernel, compiled up to three times, and the choice between the versions.

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

The serial version is, where this installation has built it (``coastcast compile``,
:mod:`solver.kernels.aot`), the kernel's **ahead-of-time compiled** function: a process on one
thread then never asks numba to load or compile anything (numba's first call alone, its
registries and the cache, costs about 0.35 s of every process). Each kernel declares its
argument types once, in ``signature`` (numba's notation: ``i4[::1]`` a contiguous int32 vector,
``f8[:, ::1]`` a C-ordered float64 matrix, ``b1`` a bool); the ahead-of-time build compiles that
signature, and the test suite checks that every call the solver makes has it
(``tests/test_aot.py``).
"""

from __future__ import annotations

import functools
import importlib
import types

from . import aot, jit
from .threads import kernel_threads

OPTIONS = {"cache": True, "error_model": "numpy"}
"""Compilation options of every kernel (both twins; the ahead-of-time build uses the same
error model, :func:`solver.kernels.build.build`)."""

KERNELS: dict[str, Kernel] = {}
"""Every kernel by its export name, ``<module>__<function>`` (``update__accumulate``)."""


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
    """A loop kernel with a threaded (:attr:`parallel`) and a serial (:attr:`serial`) version of
    one source (module docstring). Calling it runs the serial one when the calling thread's
    kernels have one thread (:func:`solver.kernels.threads.kernel_threads`) or
    ``len(args[0]) < serial_below``.

    ``serial_below``: the loop length below which two threads do not pay for starting the
    parallel region, about 20 µs / (cost of one iteration): a few hundred for the
    reconstruction and the fluxes (≈ 50–100 ns an item), thousands for a copy (≈ 5 ns);
    ``None`` for a kernel that is serial by nature (a scatter, a reduction), which has no
    threaded version.

    ``signature``: the argument (and result) types, numba's notation (module docstring).

    :attr:`serial` is the ahead-of-time compiled function when this installation has one for
    this version of the sources (:attr:`compiled`), else numba's serial twin (:attr:`jit_serial`).
    numba's versions are made when first needed (:mod:`solver.kernels.jit`): a one-thread
    process with the compiled functions never imports numba.
    """

    def __init__(self, fn, serial_below: int | None, signature: str):
        self.py_func = fn
        self.serial_below = serial_below
        self.threaded = serial_below is not None
        self.signature = signature
        self.export_name = f"{fn.__module__.rsplit('.', 1)[-1]}__{fn.__name__}"
        self._parallel = self._jit_serial = None
        self.compiled = None
        self.serial = self._first_serial_call
        functools.update_wrapper(self, fn)
        KERNELS[self.export_name] = self
        jit.register_module(fn.__module__)
        aot.bind(self)

    @property
    def parallel(self):
        """numba's threaded version (``None`` for a serial kernel)."""
        if self._parallel is None and self.threaded:
            self._parallel = jit.njit(self.py_func, parallel=True, **OPTIONS)
        return self._parallel

    @parallel.setter
    def parallel(self, value):
        self._parallel = value
        self.threaded = value is not None

    @property
    def jit_serial(self):
        """numba's serial version."""
        if self._jit_serial is None:
            self._jit_serial = jit.njit(_renamed(self.py_func, "_serial"), **OPTIONS)
        return self._jit_serial

    def _first_serial_call(self, *args):
        self.serial = self.jit_serial
        return self.serial(*args)

    def __call__(self, *args):
        if not self.threaded or args[0].shape[0] < self.serial_below or kernel_threads() == 1:
            return self.serial(*args)
        return self.parallel(*args)

    def use_compiled(self, function) -> None:
        """Run ``function`` (an ahead-of-time compiled version of this kernel, or ``None`` to go
        back to numba's) as the serial version."""
        self.compiled = function
        self.serial = self._first_serial_call if function is None else function

    @property
    def dispatchers(self):
        """numba's dispatchers of this kernel: (threaded, serial), or (serial,) for a serial kernel."""
        return (self.parallel, self.jit_serial) if self.threaded else (self.jit_serial,)


def kernel(serial_below: int | None, signature: str):
    """Decorator: ``@kernel(serial_below=n, signature="void(i4[::1], ...)")`` makes a
    :class:`Kernel` of the function."""

    def wrap(fn):
        return Kernel(fn, serial_below, signature)

    return wrap


def all_kernels() -> dict[str, Kernel]:
    """Every kernel of the package by its export name (the kernel modules,
    :data:`solver.kernels.aot.KERNEL_MODULES`, imported: each registers its own)."""
    for name in aot.KERNEL_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return KERNELS
