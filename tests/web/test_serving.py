"""``webapp.serving.serve``: the app behind waitress in a real process, on a free port; a request in
progress when SIGTERM (or SIGINT) comes is answered, then the process exits 0 within seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import logging, sys, time
    from webapp import create_app
    from webapp.serving import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    instance, port = sys.argv[1], int(sys.argv[2])
    app = create_app({"INSTANCE_PATH": instance, "COASTCAST_RUNNER": "none",
                      "COASTCAST_DATABASE_URL": f"sqlite:///{instance}/db.sqlite"})

    def slow():  # a request still running when the signal comes
        time.sleep(1.5)
        return "finished"

    app.add_url_rule("/slow", "slow", slow)
    serve(app, "127.0.0.1", port, threads=4)
    print("serve returned", flush=True)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            return urllib.request.urlopen(url, timeout=5)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"no answer from {url} in {timeout} s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_waitress_serves_and_stops_cleanly(tmp_path, sig):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COASTCAST_SECRET_KEY": "serving-test"}
    env.pop("COASTCAST_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "instance"), str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        r = wait_for(base + "/login", proc)
        assert r.status == 200 and b'name="password"' in r.read()
        assert r.headers["Server"] == "waitress"  # not Werkzeug/x.y Python/x.y
        assert r.headers["X-Frame-Options"] == "DENY"  # the app's own hooks run behind it
        answers = []

        def slow():
            with urllib.request.urlopen(base + "/slow", timeout=20) as resp:
                answers.append((resp.status, resp.read()))

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - t0
        t.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert took < 5, took
    assert answers == [(200, b"finished")]
    assert "serve returned" in out
    assert f"coastcast web app on http://127.0.0.1:{port}/ (waitress, 4 threads)" in err
    assert f"{signal.Signals(sig).name} received" in err and "Traceback" not in err
    with pytest.raises(OSError):  # nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_threads_must_be_positive():
    from webapp.serving import make_server

    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        make_server(lambda environ, start: [], "127.0.0.1", 0, threads=0)
