"""The ``coastcast`` command line: ``coastcast demo | run | mesh | validate | serve | scheduler | compile``.

Every command has ``--help``; bad input ends with a one-line reason on stderr and a non-zero exit
status, never a traceback (set ``COASTCAST_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys

from .commands import COMMAND_MODULES, ENTRY_POINT_GROUP

log = logging.getLogger("coastcast")


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``command`` (a built-in one, or an entry point's name),
    the commands that another package adds are loaded only when ``command`` is theirs: loading
    ``serve`` imports the web application (flask, the database models; 0.7 s of every
    forecast process's start-up, docs/performance.md)."""
    parser = argparse.ArgumentParser(prog="coastcast", description="On-demand coastal forecasts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"workflows.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"workflows.commands.{name}":
                continue
            raise
        module.register(sub)
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if command is None or command not in COMMAND_MODULES or command == ep.name:
            ep.load()(sub)  # e.g. serve = "webapp.commands:register"
    return parser


def _command_of(argv) -> str | None:
    """The command word of ``argv`` (the first argument not starting with "-"), or None."""
    for a in argv:
        if not a.startswith("-"):
            return a
    return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("coastcast: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user, the traceback on request
        if os.environ.get("COASTCAST_DEBUG"):
            raise
        kind = "error" if not isinstance(exc, UsageError) else "usage error"
        print(f"coastcast {args.command}: {kind}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (UsageError, ValueError, FileNotFoundError, KeyError)) else 1


def console_main() -> int:
    """The ``coastcast`` command: :func:`main`, then the garbage collector frozen for the exit.

    A process that has loaded numba's compiled kernels spends about 0.2 s at exit in the
    interpreter's last cyclic collections, over numba's typing and target objects (measured:
    0.23 s after a first compiled call, 0.02 s with the objects frozen). The work is done and
    written by then (files are closed by their writers; logging flushes in its ``atexit``
    handler, which still runs), so the objects that exist are moved out of the collector's
    reach (``gc.freeze``): memory is returned to the system with the process. Only the command
    line does this; :func:`main` (which the tests call in-process) does not.
    """
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
