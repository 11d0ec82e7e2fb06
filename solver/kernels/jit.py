"""numba's decorators, applied when a kernel first needs numba's compiler.

``import numba`` alone costs about 0.17 s, and a process whose kernels were compiled ahead of
time (:mod:`solver.kernels.aot`) and which runs on one thread never needs it. The kernel modules
therefore do not import numba: their inlined helpers are :func:`helper` objects and their
parallel loops use this module's :data:`prange`. When a kernel first needs a numba version
(:class:`solver.kernels.dispatch.Kernel`, or the ahead-of-time build), :func:`numba_ready`
imports numba and puts numba's objects in place in every kernel module — the helpers' numba
functions where the modules hold them, ``numba.prange`` for ``prange`` — before numba reads
those modules' globals to compile anything.
"""

from __future__ import annotations

import sys

prange = range
"""``numba.prange`` once :func:`numba_ready` ran; ``range`` before (a kernel's body runs only
compiled, so the placeholder is never iterated)."""

_MODULES: set[str] = set()
_numba = None


def register_module(name: str) -> None:
    """Name a module whose globals :func:`numba_ready` puts numba's objects into."""
    _MODULES.add(name)
    if _numba is not None:
        _install(sys.modules.get(name))


class Helper:
    """A function compiled into its callers (``inline="always"``) or called by them, with its
    numba options; :attr:`dispatcher` is numba's function, made at the first need. Calling it
    from Python runs that (as a numba function would be called)."""

    def __init__(self, fn, options: dict):
        self.py_func = fn
        self.options = options
        self._dispatcher = None
        register_module(fn.__module__)

    @property
    def dispatcher(self):
        if self._dispatcher is None:
            self._dispatcher = numba_ready().njit(**self.options)(self.py_func)
        return self._dispatcher

    def __call__(self, *args):
        return self.dispatcher(*args)


def helper(**options):
    """Decorator of a kernel helper: ``@helper(inline="always", error_model="numpy")``."""

    def wrap(fn):
        made = Helper(fn, options)
        return made.dispatcher if _numba is not None else made

    return wrap


def _install(module) -> None:
    if module is None:
        return
    for name, value in list(vars(module).items()):
        if isinstance(value, Helper):
            setattr(module, name, value.dispatcher)
        elif name == "prange" and value is range:
            setattr(module, name, _numba.prange)


def numba_ready():
    """Import numba and put its objects into the kernel modules (module docstring); returns numba."""
    global _numba, prange
    if _numba is None:
        import numba

        _numba = numba
        prange = numba.prange
        for name in sorted(_MODULES):
            _install(sys.modules.get(name))
    return _numba


def njit(fn, **options):
    """numba's ``njit(**options)(fn)``, with the kernel modules made ready for it."""
    return numba_ready().njit(**options)(fn)
