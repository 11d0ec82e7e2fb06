"""Ahead-of-time compiled kernels: an extension module of every kernel's serial version, built
once per installation and machine (``coastcast compile``), imported without numba's compiler.

Why: numba's just-in-time path costs every fresh process about 0.35 s at its first kernel call,
even with all kernels in its on-disk cache (its typing and target registries load, and with them
``scipy.linalg``, which numba imports to look for BLAS; ``cffi``), against 0.05 s to import this
module (docs/performance.md, "Ahead-of-time kernels"). For a forecast that is noise; for the
short runs of the verification catalogue, a mesh pre-flight or the equal-error Thacker benchmark
it is most of the process.

How: :func:`solver.kernels.build.build` compiles each :class:`~solver.kernels.dispatch.Kernel`'s source with its
declared ``signature`` by numba's ahead-of-time compiler (``numba.pycc``), with the same
settings as the just-in-time kernels: numpy's error model (a float division by zero gives inf,
not an exception), no fastmath, code for this machine's CPU model *and* its feature list (a
virtual machine may hide instructions that its CPU model has). The module is named by a tag of
everything its code depends on — the kernel sources, numba's and Python's versions, the CPU
(:func:`version_tag`) — so a changed source, another numba or another machine finds no module
and the kernels run as numba's, as before; nothing stale is ever loaded. It lives in
:func:`kernel_dir` (``$COASTCAST_KERNEL_DIR``, else ``$XDG_CACHE_HOME/coastcast/kernels``, else
``~/.cache/coastcast/kernels``); ``COASTCAST_AOT=0`` turns it off.

An ahead-of-time function checks only the item size of its array arguments (numba's unboxing),
not their kind, rank or memory order. The solver always passes the declared types (the test
suite records every call's types and compares them with the declarations, ``tests/test_aot.py``);
``COASTCAST_KERNEL_CHECKS=1`` checks each call's arguments in Python (about 4 µs a call), as the
tests that run these functions do.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import sys
import sysconfig
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

KERNEL_MODULES = ("fluxes", "ghosts", "lts", "reconstruct", "update")
"""The modules of this package that define kernels (:func:`solver.kernels.dispatch.all_kernels`)."""

KERNEL_SOURCES = ("dispatch.py", "jit.py", "aot.py", "build.py") + tuple(f"{name}.py" for name in KERNEL_MODULES)
"""The files of this package whose text decides the compiled code (hashed into the module's name)."""

_HERE = Path(__file__).resolve().parent


def kernel_dir() -> Path:
    """Where this installation's ahead-of-time kernels live (module docstring)."""
    given = os.environ.get("COASTCAST_KERNEL_DIR")
    if given:
        return Path(given)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "coastcast" / "kernels"


def _cpu_identity() -> str:
    """The CPU as the operating system shows it to this process: on Linux the model name and
    the feature flags of the first processor in ``/proc/cpuinfo`` (a virtual machine's masked
    flags included); elsewhere the platform's processor string."""
    try:
        ident = []
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    break
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features", "CPU part", "vendor_id"):
                    ident.append(line.strip())
        if ident:
            return "\n".join(ident)
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def _numba_version() -> str:
    """numba's version, read from its package without importing it (0.17 s)."""
    import importlib.util

    spec = importlib.util.find_spec("numba")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "_version.py"
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("numba")
    except PackageNotFoundError:  # no numba: nothing can have been built, nothing will match
        return "no numba"


@functools.cache
def version_tag() -> str:
    """16 hex digits naming one build: the kernel sources, numba, Python, the CPU."""
    digest = hashlib.sha256()
    for name in KERNEL_SOURCES:
        digest.update((_HERE / name).read_bytes())
    digest.update(_numba_version().encode())
    for part in (np.__version__.split(".")[0], sys.version, _cpu_identity()):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def module_name() -> str:
    """The extension module's name for this build (:func:`version_tag`)."""
    return f"coastcast_kernels_{version_tag()}"


def module_path(directory: Path | str | None = None) -> Path:
    """The file of this build's extension module in ``directory`` (default :func:`kernel_dir`)."""
    return Path(directory or kernel_dir()) / (module_name() + sysconfig.get_config_var("EXT_SUFFIX"))


@functools.cache
def load():
    """This build's extension module, or ``None`` where it is not built (or ``COASTCAST_AOT=0``)."""
    if os.environ.get("COASTCAST_AOT", "1") == "0":
        return None
    path = module_path()
    if not path.is_file():
        return None
    from importlib.machinery import ExtensionFileLoader
    from importlib.util import module_from_spec, spec_from_file_location

    name = module_name()
    spec = spec_from_file_location(name, path, loader=ExtensionFileLoader(name, str(path)))
    try:
        module = module_from_spec(spec)
        spec.loader.exec_module(module)
    except ImportError as err:  # a damaged file: say so and run numba's kernels
        log.warning("ignoring the ahead-of-time kernels in %s (%s); numba's kernels run instead", path, err)
        return None
    return module


def bind(kernel) -> None:
    """Give ``kernel`` (a :class:`~solver.kernels.dispatch.Kernel`) its ahead-of-time function,
    if this build has one; with ``COASTCAST_KERNEL_CHECKS=1`` wrapped in :class:`CheckedCall`."""
    module = load()
    function = None if module is None else getattr(module, kernel.export_name, None)
    if function is not None and os.environ.get("COASTCAST_KERNEL_CHECKS", "0") == "1":
        function = CheckedCall(function, kernel.export_name, kernel.signature)
    kernel.use_compiled(function)


_ELEMENT_TYPES = {
    name: np.dtype(t) for name, t in (("i4", "int32"), ("i8", "int64"), ("f8", "float64"), ("u1", "uint8"), ("b1", "bool"))
}
"""numba's short names of the element types the kernels' signatures use -> numpy's dtypes."""


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:k].strip())
            start = k + 1
    last = text[start:].strip()
    return parts + ([last] if last else [])


def argument_types(signature: str) -> list[tuple[np.dtype, int] | None]:
    """(numpy dtype, rank) of each array argument of ``signature`` (``None`` for a
    scalar), read without numba; every array argument must be C-contiguous (``[::1]`` last, the
    other dimensions ``:``), which the build requires. ``tests/test_aot.py`` checks this reading
    against numba's own for every kernel."""
    if not signature.endswith(")"):
        raise ValueError(f"{signature}: not a signature ending with its arguments in parentheses")
    depth = 0
    for k in range(len(signature) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(signature[k], 0)
        if depth == 0:
            break
    out = []
    for arg in _split_top_level(signature[k + 1 : -1]):
        name, _, dims = arg.partition("[")
        name = name.strip()
        if name not in _ELEMENT_TYPES:
            raise ValueError(f"{signature}: unknown element type {name!r} (one of {', '.join(_ELEMENT_TYPES)})")
        if not dims:
            out.append(None)
            continue
        axes = [d.strip() for d in dims.rstrip("]").split(",")]
        if axes[-1] != "::1" or any(a != ":" for a in axes[:-1]):
            raise ValueError(f"{signature}: every array argument must be C-contiguous ([::1] last), not {arg}")
        out.append((_ELEMENT_TYPES[name], len(axes)))
    return out


class CheckedCall:
    """An ahead-of-time function that first checks each array argument's dtype, rank and
    C-contiguity against the kernel's signature, and counts its calls (:attr:`calls`)."""

    def __init__(self, function, name: str, signature: str):
        self.function = function
        self.name = name
        self.spec = argument_types(signature)
        self.calls = 0

    def __call__(self, *args):
        if len(args) != len(self.spec):
            raise TypeError(f"kernel {self.name}: {len(args)} arguments, its signature has {len(self.spec)}")
        for k, (a, want) in enumerate(zip(args, self.spec)):
            if want is None:
                continue
            if not isinstance(a, np.ndarray) or a.dtype != want[0] or a.ndim != want[1] or not a.flags.c_contiguous:
                got = (
                    f"{a.dtype}, {a.ndim}-d, {'C' if a.flags.c_contiguous else 'not C'}"
                    if isinstance(a, np.ndarray)
                    else type(a).__name__
                )
                raise TypeError(f"kernel {self.name}: argument {k} is {got}; its signature wants {want[0]}, {want[1]}-d, C")
        self.calls += 1
        return self.function(*args)
