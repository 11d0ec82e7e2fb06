"""The registry of backends, name -> class (:mod:`solver.backends`)."""

from __future__ import annotations

from ..kernels import NUMBA_AVAILABLE

BACKENDS = {}
"""Registry of backend classes by name, in the order registered ("numpy", then "numba")."""


def register(name: str):
    """Class decorator: ``BACKENDS[name] = cls`` and ``cls.name = name``."""

    def deco(cls):
        BACKENDS[name] = cls
        cls.name = name
        return cls

    return deco


def default_backend() -> str:
    """``"numba"`` when numba is importable, else ``"numpy"``."""
    return "numba" if NUMBA_AVAILABLE else "numpy"


def make_backend(name: str, model):
    """The backend ``name`` for ``model``; ValueError names the choices."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name](model)
