"""Compiled (numba) kernels of the shallow-water operator, and the backend registry.

``BACKENDS`` lists the backends of :class:`solver.model.ShallowWaterModel`: ``"numpy"`` (the
vectorised reference) and ``"numba"`` (these kernels: same scheme, same arithmetic, fused loops,
``parallel=True``; threads from ``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads`).
:func:`default_backend` is ``"numba"`` when numba imports, else ``"numpy"``.
"""
from __future__ import annotations

try:  # numba is a project dependency; the numpy reference works without it
    import numba  # noqa: F401

    NUMBA_AVAILABLE = True
except ImportError:  # pragma: no cover
    NUMBA_AVAILABLE = False

BACKENDS = ("numpy", "numba")


def default_backend() -> str:
    """``"numba"`` when numba is importable, else ``"numpy"``."""
    return "numba" if NUMBA_AVAILABLE else "numpy"


def make_backend(model, name: str):
    """The backend object for ``model`` (None for the numpy reference); ValueError names the choices."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "numpy":
        return None
    if not NUMBA_AVAILABLE:
        raise ValueError("backend 'numba' needs the numba package (pip install numba); or use backend='numpy'")
    from .backend import NumbaBackend

    return NumbaBackend(model)
