"""A stop asked of this process by a signal (SIGTERM from a batch system, systemd or ``kill``).

The handler raises :class:`Interrupted` in the main thread wherever it happens to be. Python
runs handlers between bytecodes, and an exception raised there while the interpreter is inside a
destructor (``__del__``, a weak-reference callback, a garbage collection) is printed as
"Exception ignored" and lost: the run would go on and publish as if nothing had been asked.
The handler therefore also records the request, and the cycle calls :func:`check` at its safe
points (every 20 steps of a segment, before each segment, before publishing), so a stop is
honoured within 20 steps and an interrupted run never publishes.
"""

from __future__ import annotations

import signal

_requested: str | None = None


class Interrupted(KeyboardInterrupt):
    """The cycle's process was asked to stop (SIGTERM, SIGINT); recorded as ``interrupted``."""


def request_stop(signum, frame=None) -> None:
    """Signal handler: record the request, then raise :class:`Interrupted`."""
    global _requested
    _requested = signal.Signals(signum).name
    raise Interrupted(f"stopped by signal {_requested}")


def install(signals=(signal.SIGTERM,)) -> None:
    """Make ``signals`` stop this process through :func:`request_stop` (main thread only)."""
    for sig in signals:
        signal.signal(sig, request_stop)


def check() -> None:
    """Raise :class:`Interrupted` if a stop was requested (its exception may have been lost)."""
    if _requested is not None:
        raise Interrupted(f"stopped by signal {_requested}")


def clear() -> None:
    """Forget a request (a process that goes on to other work, and tests)."""
    global _requested
    _requested = None
