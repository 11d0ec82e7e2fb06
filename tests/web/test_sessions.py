"""Sessions and accounts (#19 items 4 and 5): the secret key made once by racing processes; a session
cookie dies at logout and expires; Secure cookies behind TLS; the administrator list cannot be
claimed by registering first. Flask's test client on SQLite, real processes for the race."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from workflows.db import User

from .conftest import PASSWORD, add_user, login

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# ---------------------------------------------------------------- the secret key, once


RACER = """
import sys, time
from pathlib import Path
from webapp.security import shared_secret
folder = Path(sys.argv[1])
(folder / f"ready-{sys.argv[2]}").touch()
while not (folder / "go").exists():
    time.sleep(0.0005)
print(shared_secret(folder / "instance" / "secret_key"))
"""


def test_secret_key_made_once_by_racing_processes(tmp_path):
    """8 processes released together on one empty instance folder all get the key that is on disk."""
    import os
    import subprocess
    import sys
    import time

    (tmp_path / "instance").mkdir()
    n = 8
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(i)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err for _, err in results]
    keys = [out.strip() for out, _ in results]
    on_disk = (tmp_path / "instance" / "secret_key").read_text().strip()
    assert len(on_disk) == 64 and int(on_disk, 16) >= 0
    assert keys == [on_disk] * n
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]  # no temporary file left


def test_app_keeps_its_key_and_refuses_an_empty_one(tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.delenv("COASTCAST_SECRET_KEY", raising=False)
    cfg = {"INSTANCE_PATH": str(tmp_path / "instance"), "COASTCAST_RUNNER": "none",
           "COASTCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    first = create_app(dict(cfg))
    second = create_app(dict(cfg))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == \
        (tmp_path / "instance" / "secret_key").read_text().strip()
    for app in (first, second):
        app.extensions["coastcast_engine"].dispose()
    (tmp_path / "instance" / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match=r"secret_key is empty: delete it"):
        create_app(dict(cfg))
