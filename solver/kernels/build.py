"""The ahead-of-time build of the solver kernels (``coastcast compile``; what it is for, where it
goes and how it is found: :mod:`solver.kernels.aot`)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from . import aot

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _settings_of_the_jit_kernels():
    """numba's ahead-of-time compiler with the just-in-time kernels' settings, for one build:
    its compilation flags take numpy's error model (``solver.kernels.dispatch.OPTIONS``; pycc's
    own default is Python's, which adds a zero test to every division and raises), and its code
    generator the host's CPU features as well as its model (pycc's ``target_cpu`` gives only the
    model, whose default features a virtual machine may not have)."""
    from unittest import mock

    import numba.pycc.compiler as pycc_compiler
    from numba.core.codegen import AOTCPUCodegen
    from numba.core.compiler import Flags

    from .dispatch import OPTIONS

    class JitFlags(Flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.error_model = OPTIONS["error_model"]

    with (
        mock.patch.object(pycc_compiler, "Flags", JitFlags),
        mock.patch.object(AOTCPUCodegen, "_customize_tm_features", lambda self: self._get_host_cpu_features()),
    ):
        yield


def build(directory: Path | str | None = None) -> Path:
    """Compile every kernel's serial version ahead of time into ``directory`` (default
    :func:`solver.kernels.aot.kernel_dir`) and return the module's path; the file appears at once, complete
    (written aside, then renamed), so processes starting meanwhile run numba's kernels. Needs
    numba's ``pycc`` and a C compiler (it compiles numba's helper C sources into the module).
    The running process binds the new functions too."""
    import tempfile
    import warnings

    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():  # pycc is pending deprecation in numba; this build pins what it needs
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC

    from .dispatch import all_kernels
    from .jit import numba_ready

    kernels = all_kernels()
    numba_ready()  # the kernel modules' helpers and prange as numba's, for its compiler

    target = Path(directory or aot.kernel_dir())
    target.mkdir(parents=True, exist_ok=True)
    final = aot.module_path(target)
    t0 = time.perf_counter()
    log.info("compiling %d solver kernels ahead of time into %s (10–60 s)", len(kernels), target)
    with tempfile.TemporaryDirectory(dir=target, prefix=".build-") as tmp:
        cc = CC(aot.module_name())
        cc.output_dir = tmp
        cc.target_cpu = "host"
        for export, kernel in sorted(kernels.items()):
            aot.argument_types(kernel.signature)  # every array C-contiguous
            cc.export(export, kernel.signature)(kernel.py_func)
        with warnings.catch_warnings(), _settings_of_the_jit_kernels():
            warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
            cc.compile()
        os.replace(Path(tmp) / final.name, final)
    log.info("built %s in %.1f s", final, time.perf_counter() - t0)
    if directory is None or Path(directory) == aot.kernel_dir():
        aot.load.cache_clear()
        for kernel in kernels.values():
            aot.bind(kernel)
    return final
