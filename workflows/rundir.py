"""A run directory holds one forecast: its fingerprint, its one writer, and its record.

Three rules keep a published forecast honest (docs/user-guide.md "Outputs", docs/operations.md
"Run directories"):

* **Fingerprint.** :func:`fingerprint` hashes what decides the numbers: the resolved
  configuration (paths made absolute, start filled in), the solver's mesh (nodes, triangles, depths
  after any datum shift, boundary segments), the forcing inputs the configuration names (the
  content of each tide, atmosphere, river, initial-state and stations file; for GFS, the requested
  cycle) and the code (coastcast's version and a hash of the ``solver`` and ``workflows`` sources).
  ``prepare`` writes it into ``work/plan.json``; a run into a directory that already holds a
  forecast resumes only when the fingerprints match, and otherwise refuses in one line naming what
  differs (:class:`RunDirMismatch`), unless ``overwrite`` asks for a clean start.
* **One writer.** :class:`RunLock` is an exclusive POSIX ``flock`` on ``run.lock``, which also
  holds the owner's JSON (owner, host, pid, token, started, heartbeat; the heartbeat is refreshed
  by a thread). The kernel drops the lock with its process (``kill -9``, the out-of-memory killer,
  a crash), so the rule for a dead owner's lock is simply that the next writer gets it; a live
  owner's lock is never taken, and a second writer is refused with a one-line message naming the
  owner (:class:`RunLocked`). Tasks that run on other processes for the owner (dask workers) carry
  the owner's token and stop when the lock file names another owner (:func:`check_owner`), so
  the orphaned tasks of a dead driver never write into a directory that has a new owner.
* **Record.** ``run.json`` exists from the first moment with ``status = "running"``, pid and host;
  it ends ``succeeded`` (only after :func:`workflows.cycle.verify_publication`), ``failed`` or
  ``interrupted``. A ``running`` record whose lock nobody holds belongs to a dead writer:
  :func:`run_status` reports it ``interrupted``.

The lock needs a file system with working POSIX locks (local disks, NFSv4, Lustre mounted with
``flock``), as every dask deployment with a shared run directory has.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
DEFAULT_HEARTBEAT_SECONDS = 10.0
# what a clean start (overwrite) removes: everything a cycle writes, never the lock itself
CYCLE_OUTPUTS = (
    "work",
    "figures",
    "fields.nc",
    "stations.nc",
    "max.nc",
    "restart.nc",
    "run.json",
    "run.log",
    "skill.csv",
    "config.toml",
)


class RunDirError(RuntimeError):
    """A run directory that cannot be written now; the message is one line for the user."""


class RunLocked(RunDirError):
    """Another live writer owns the run directory."""


class RunDirMismatch(RunDirError):
    """The directory holds a forecast of other inputs (configuration, mesh, forcing or code)."""


class OwnerLost(RunDirError):
    """The run directory's lock now names another owner: this task's driver is gone."""


# -- fingerprint ----------------------------------------------------------------------------------
def _sha256_file(path: Path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"coastcast": version, "source_sha256": hash}`` of this installation's ``solver`` and
    ``workflows`` Python sources and the data shipped with them (the gauge catalogue, the
    coastline): what computes a forecast (the web app does not)."""
    import importlib.metadata as md

    import solver
    import workflows

    h = hashlib.sha256()
    for pkg in (solver, workflows):
        root = Path(pkg.__file__).parent
        for f in sorted(q for q in root.rglob("*") if q.suffix in (".py", ".nc", ".gz", ".csv", ".toml") and q.is_file()):
            h.update(str(f.relative_to(root.parent)).encode())
            _sha256_file(f, h)
    try:
        version = md.version("coastcast")
    except md.PackageNotFoundError:
        version = "unknown"
    return {"coastcast": version, "source_sha256": h.hexdigest()}


def mesh_digest(mesh) -> str:
    """SHA-256 of a solver mesh as the model sees it: nodes, triangles, depths, boundary segments."""
    import numpy as np

    h = hashlib.sha256()
    for a, dt in ((mesh.node_x, "<f8"), (mesh.node_y, "<f8"), (mesh.face_node_connectivity, "<i8"), (mesh.depth, "<f8")):
        h.update(np.ascontiguousarray(a, dtype=dt).tobytes())
    for seg in mesh.boundaries:
        h.update(f"{seg.name}:{seg.role}".encode())
        h.update(np.ascontiguousarray(seg.node_ids, dtype="<i8").tobytes())
    return h.hexdigest()


def _files_digest(paths) -> dict:
    out = {}
    for p in paths:
        path = Path(p)
        if path.is_file():
            out[str(path)] = _sha256_file(path).hexdigest()
        elif path.is_dir():
            h = hashlib.sha256()
            for f in sorted(q for q in path.rglob("*") if q.is_file()):
                h.update(str(f.relative_to(path)).encode())
                _sha256_file(f, h)
            out[str(path)] = h.hexdigest()
        else:
            out[str(path)] = "missing"
    return out


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint(config: Mapping, mesh) -> dict:
    """The fingerprint of a cycle: ``{"sha256": total, "parts": {"config", "mesh", "forcing", "code"}}``.

    ``config``: the resolved configuration mapping (the run directory's ``config.toml``: paths
    absolute, ``start`` given); ``mesh``: the solver's mesh. Each part is a SHA-256 hex digest, so
    a refusal can say which part differs.
    """
    from .config import named_files

    files = _files_digest(sorted({path for _, path in named_files(config)}))
    atm = config.get("atmosphere", "none")
    gfs = None
    if atm == "gfs" or (isinstance(atm, Mapping) and atm.get("source") == "gfs"):
        gfs = {"cycle": atm.get("cycle", "latest before start") if isinstance(atm, Mapping) else "latest before start"}
    parts = {
        "config": _digest(config),
        "mesh": mesh_digest(mesh),
        "forcing": _digest({"files": files, "gfs": gfs}),
        "code": _digest(code_version()),
    }
    return {"sha256": _digest(parts), "parts": parts, "files": files, "code": code_version()}


def _flatten(d, prefix="") -> dict:
    out = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def describe_difference(old: dict, new: dict, old_config: Mapping | None = None, new_config: Mapping | None = None) -> str:
    """One phrase saying what differs between two fingerprints (config keys by name, with values)."""
    what = []
    po, pn = old.get("parts", {}), new.get("parts", {})
    if po.get("config") != pn.get("config"):
        if old_config is not None and new_config is not None:
            fo, fn = _flatten(old_config), _flatten(new_config)
            keys = sorted(k for k in set(fo) | set(fn) if fo.get(k) != fn.get(k))
            shown = ", ".join(f"{k} {fo.get(k, '(unset)')!r} -> {fn.get(k, '(unset)')!r}" for k in keys[:3])
            what.append(f"configuration ({shown}{', …' if len(keys) > 3 else ''})")
        else:
            what.append("configuration")
    if po.get("mesh") != pn.get("mesh"):
        what.append("mesh")
    if po.get("forcing") != pn.get("forcing"):
        changed = sorted(
            k
            for k in set(old.get("files", {})) | set(new.get("files", {}))
            if old.get("files", {}).get(k) != new.get("files", {}).get(k)
        )
        what.append("forcing files" + (f" ({', '.join(Path(c).name for c in changed[:3])})" if changed else ""))
    if po.get("code") != pn.get("code"):
        oc, nc = old.get("code", {}), new.get("code", {})
        what.append(
            f"code (coastcast {oc.get('coastcast')} {str(oc.get('source_sha256', ''))[:8]} -> "
            f"{nc.get('coastcast')} {str(nc.get('source_sha256', ''))[:8]})"
        )
    return "; ".join(what) or "unknown parts"


def holds_forecast(run_dir: Path) -> bool:
    """Whether a directory holds (part of) a forecast: a plan, segments or published files."""
    run_dir = Path(run_dir)
    return (
        (run_dir / "work" / "plan.json").is_file()
        or any((run_dir / "work").glob("seg_*"))
        or any((run_dir / n).exists() for n in ("fields.nc", "stations.nc", "max.nc", "restart.nc"))
    )


def clean(run_dir: Path) -> list[str]:
    """Remove a cycle's files from ``run_dir`` (an explicit ``--overwrite``); the lock stays. Returns what went."""
    gone = []
    for name in CYCLE_OUTPUTS:
        p = Path(run_dir) / name
        if p.is_dir():
            shutil.rmtree(p)
            gone.append(name)
        elif p.exists():
            p.unlink()
            gone.append(name)
    return gone


# -- lock -----------------------------------------------------------------------------------------
def _read_owner(path: Path) -> dict | None:
    for _ in range(5):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:  # caught mid-write: read again
            time.sleep(0.01)
    return None


def lock_owner(run_dir) -> dict | None:
    """The owner record of ``run_dir``'s lock file (whether or not its owner still lives), or None."""
    return _read_owner(Path(run_dir) / LOCK_FILE)


def _owner_phrase(owner: dict | None) -> str:
    if not owner:
        return "another process"
    age = time.time() - float(owner.get("heartbeat", time.time()))
    return (
        f"{owner.get('owner', 'a writer')} (pid {owner.get('pid')} on {owner.get('host')}, since "
        f"{owner.get('started', '?')}, heartbeat {age:.0f} s ago)"
    )


class RunLock:
    """The exclusive claim of one writer on a run directory (see the module docstring).

    ``owner`` says who writes (``"coastcast run"``, ``"dask driver"``, ``"web app"``).
    Use as a context manager or with :meth:`acquire` / :meth:`release`. :attr:`token` identifies
    this claim; :attr:`previous` is the record the lock file held before (a dead writer's, if any).
    """

    def __init__(self, run_dir, owner: str, heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.owner = owner
        self.heartbeat_seconds = float(heartbeat_seconds)
        self.token = uuid.uuid4().hex
        self.previous: dict | None = None
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.record = {
            "owner": owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "token": self.token,
            "started": datetime.now(UTC).isoformat(),
        }

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunLocked(
                    f"run directory {self.run_dir} is being written by {_owner_phrase(_read_owner(self.path))}; "
                    f"wait for it to finish or choose another directory"
                ) from None
            raise
        self._fd = fd
        self.previous = _read_owner(self.path)
        if self.previous:
            log.info("run directory %s: taking the lock of %s, whose process is gone", self.run_dir, _owner_phrase(self.previous))
        self._write()
        self._thread = threading.Thread(target=self._beat, name=f"runlock-{self.run_dir.name}", daemon=True)
        self._thread.start()
        return self

    def _write(self) -> None:
        data = (json.dumps({**self.record, "heartbeat": time.time()}) + "\n").encode()
        os.pwrite(self._fd, data, 0)  # overwrite, then cut: a reader never sees an empty file
        os.ftruncate(self._fd, len(data))

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                if self._fd is not None:
                    self._write()
            except OSError:
                pass

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # nobody owns it now
            except OSError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def is_locked(run_dir) -> bool:
    """Whether a live process holds ``run_dir``'s lock now (tried without taking it)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def check_owner(run_dir, token: str | None) -> None:
    """Raise :class:`OwnerLost` when ``run_dir``'s lock names an owner other than ``token``.

    Called by tasks that work for an owner elsewhere (dask workers): a task orphaned by a dead
    driver stops once a new writer has taken the directory. ``token`` None checks nothing.
    """
    if token is None:
        return
    owner = lock_owner(run_dir)
    if owner is None or owner.get("token") != token:
        raise OwnerLost(f"run directory {run_dir} now belongs to {_owner_phrase(owner)}; this task's driver is gone, so it stops")


# -- record ---------------------------------------------------------------------------------------
def run_status(run_dir) -> dict:
    """``run.json`` of ``run_dir`` with a ``running`` record of a dead writer reported as
    ``interrupted`` (its lock is free); ``{"status": "absent"}`` when there is none."""
    path = Path(run_dir) / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"status": "absent"}
    except json.JSONDecodeError:
        return {"status": "unreadable"}
    return as_interrupted(data) if not is_locked(run_dir) else data


def as_interrupted(record: dict) -> dict:
    """A ``running``/``queued`` run record of a writer known to be gone, as ``interrupted``
    (others unchanged)."""
    if record.get("status") not in ("running", "queued"):
        return record
    return {
        **record,
        "status": "interrupted",
        "error": record.get("error") or f"its writer (pid {record.get('pid')} on {record.get('host')}) stopped without finishing",
    }
