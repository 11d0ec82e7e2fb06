"""The web app behind a production WSGI server (waitress: pure Python, threads, no C build).

``serve(app, host, port, threads=8)`` listens until SIGTERM or SIGINT, then stops accepting,
lets the requests in progress finish (up to ``shutdown_timeout`` seconds) and returns, so that the
caller (``coastcast serve``) exits with status 0. Werkzeug's development server is never used.

Behind a reverse proxy (nginx, a TLS terminator) set ``COASTCAST_PROXIES`` so that the app trusts
its ``X-Forwarded-*`` headers (see webapp/__init__.py) and ``COASTCAST_SECURE_COOKIES`` when the
proxy serves HTTPS.
"""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def make_server(app, host: str = "127.0.0.1", port: int = 8000, *, threads: int = 8, **options):
    """A bound, not yet running waitress server for ``app`` (port 0: any free port; see
    :func:`server_urls`). ``options`` are waitress's own (e.g. ``connection_limit``)."""
    from waitress.server import create_server

    if int(threads) < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    options.setdefault("ident", "waitress")
    options.setdefault("channel_timeout", 120)
    return create_server(app, host=host, port=int(port), threads=int(threads), **options)


def server_urls(server) -> list[str]:
    """The addresses ``server`` listens on, e.g. ``["http://127.0.0.1:8000/"]``."""
    listen = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    return [f"http://{f'[{h}]' if ':' in str(h) else h}:{p}/" for h, p in listen]


def serve(app, host: str = "127.0.0.1", port: int = 8000, *, threads: int = 8, shutdown_timeout: float = 10.0, **options) -> None:
    """Serve ``app`` with waitress until SIGTERM/SIGINT (or KeyboardInterrupt); returns after a clean
    shutdown. Signal handlers are installed only when called from the main thread (and restored)."""
    server = make_server(app, host, port, threads=threads, **options)
    for url in server_urls(server):
        log.info("coastcast web app on %s (waitress, %d threads)", url, threads)

    def stop(signum, frame):
        log.info("%s received: stopping the web server", signal.Signals(signum).name)
        raise SystemExit(0)  # waitress's loop ends on SystemExit and shuts its task threads down

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, stop)
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _close(server, shutdown_timeout)
    log.info("web server stopped")


def _close(server, timeout: float) -> None:
    dispatcher = getattr(server, "task_dispatcher", None)
    if dispatcher is not None:
        dispatcher.shutdown(cancel_pending=False, timeout=timeout)
    server.close()
