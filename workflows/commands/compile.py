"""``coastcast compile [--dir DIR] [--check]``: compile the solver kernels ahead of time for this machine.

Builds the extension module of every kernel's serial version (:mod:`solver.kernels.aot`, :mod:`solver.kernels.build`; about
10–60 s, needs a C compiler), so that a process on one thread starts its first step without
numba's just-in-time machinery (about 0.35 s less per process). Without it the kernels run as
numba's, compiled on a first run and cached, as before. ``--check`` only says whether this
installation has them.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "compile",
        help="compile the solver kernels ahead of time for this machine (faster start-up)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--dir", help="where to put them (default: $COASTCAST_KERNEL_DIR or ~/.cache/coastcast/kernels)")
    p.add_argument("--check", action="store_true", help="only say whether they are built for this version and machine")
    p.set_defaults(func=run)


def run(args) -> int:
    from solver.kernels import aot, build

    path = aot.module_path(args.dir)
    if args.check:
        print(f"{path}: {'built' if path.is_file() else 'not built'}")
        return 0 if path.is_file() else 1
    try:
        built = build.build(args.dir)
    except Exception as exc:  # no C compiler, no numba.pycc: the kernels stay numba's
        raise RuntimeError(
            f"could not compile the kernels ahead of time into {path.parent} ({exc}); numba's kernels will run"
        ) from exc
    print(built)
    return 0
