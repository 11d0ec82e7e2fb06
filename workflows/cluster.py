"""Where the cycles' dask tasks run: a local cluster, an existing scheduler, a batch queue or a gateway.

Three ways to name a cluster, in this order of precedence:

* ``scheduler="tcp://host:8786"`` — connect to a running dask scheduler (``dask scheduler`` +
  ``dask worker`` started by hand, by a batch job or by a container platform);
* ``spec=ClusterSpec`` (read from a YAML or TOML file with :func:`load_cluster_spec`) —
  ``kind = "local" | "scheduler" | "slurm" | "pbs" | "htcondor" | "sge" | "lsf" | "gateway"``;
* nothing — a :class:`distributed.LocalCluster` of ``n_workers`` processes with one thread each
  (the solver is single-threaded numpy/numba, and HDF5 is not thread-safe, so one thread per
  process is the right shape).

The batch-queue kinds use `dask-jobqueue <https://jobqueue.dask.org>`_ and the gateway kind uses
`dask-gateway <https://gateway.dask.org>`_; both are imported only when asked for (``pip install
dask-jobqueue`` / ``pip install dask-gateway``), so neither is a dependency of coastcast.

A cluster file (YAML or TOML; the same keys)::

    kind: slurm               # local | scheduler | slurm | pbs | htcondor | sge | lsf | gateway
    jobs: 4                   # batch kinds: number of jobs to submit (each job runs `processes` workers)
    adapt: {minimum_jobs: 0, maximum_jobs: 20}   # or adaptive scaling instead of `jobs`
    allowed_failures: 3       # distributed.scheduler.allowed-failures (reruns of tasks on lost workers)
    options:                  # keyword arguments of the dask-jobqueue / LocalCluster / gateway class
      cores: 8
      processes: 8
      memory: 16GB
      walltime: "06:00:00"

See ``docs/operations.md`` and the examples in ``docs/examples/``.
"""

from __future__ import annotations

import contextlib
import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .keys import check_keys

log = logging.getLogger(__name__)

JOBQUEUE_CLASSES = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "htcondor": "HTCondorCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
}
KINDS = ("local", "scheduler") + tuple(JOBQUEUE_CLASSES) + ("gateway",)
SPEC_KEYS = ("kind", "address", "workers", "threads_per_worker", "jobs", "adapt", "allowed_failures", "options", "auth")
DEFAULT_ALLOWED_FAILURES = 3


class ClusterError(ValueError):
    """A cluster specification that cannot be used (one line: file, key, what to write)."""


@dataclass(frozen=True)
class ClusterSpec:
    """A frozen cluster description (see the module docstring for the file keys).

    ``workers``: LocalCluster worker processes (default 2) or gateway workers.
    ``jobs``: batch jobs to submit (jobqueue kinds). ``adapt``: keyword arguments of
    ``cluster.adapt`` instead of a fixed size. ``options``: keyword arguments of the cluster class.
    ``address``: scheduler address (kind scheduler) or gateway URL (kind gateway).
    """

    kind: str = "local"
    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1
    jobs: int | None = None
    adapt: Mapping[str, Any] | None = None
    allowed_failures: int = DEFAULT_ALLOWED_FAILURES
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    auth: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping, where: str = "cluster") -> ClusterSpec:
        if not isinstance(data, Mapping):
            raise ClusterError(f"{where}: expected a table of keys ({', '.join(SPEC_KEYS)}), got {type(data).__name__}")
        check_keys(data, SPEC_KEYS, where, ClusterError)
        kind = data.get("kind", "local")
        if kind not in KINDS:
            raise ClusterError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")

        def integer(key, default, minimum):
            v = data.get(key, default)
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise ClusterError(f"{where}: {key} must be an integer >= {minimum}, got {v!r}")
            return v

        address = data.get("address")
        if address is not None and not isinstance(address, str):
            raise ClusterError(f"{where}: address must be a string like tcp://host:8786, got {address!r}")
        if kind in ("scheduler", "gateway") and not address:
            raise ClusterError(
                f"{where}: kind = {kind!r} needs address = "
                + ('"tcp://host:8786"' if kind == "scheduler" else '"https://gateway.example.org"')
            )
        options = data.get("options", {})
        if not isinstance(options, Mapping):
            raise ClusterError(f"{where}: options must be a table of keyword arguments, got {options!r}")
        adapt = data.get("adapt")
        if adapt is not None and not isinstance(adapt, Mapping):
            raise ClusterError(f"{where}: adapt must be a table such as {{minimum_jobs = 0, maximum_jobs = 10}}, got {adapt!r}")
        jobs = integer("jobs", None, 0)
        if jobs is not None and adapt is not None:
            raise ClusterError(f"{where}: give either jobs (a fixed size) or adapt (adaptive scaling), not both")
        auth = data.get("auth")
        if auth is not None and not isinstance(auth, str):
            raise ClusterError(
                f'{where}: auth must be the name of a dask-gateway auth type (e.g. "kerberos", "jupyterhub"), got {auth!r}'
            )
        return cls(
            kind=kind,
            address=address,
            workers=integer("workers", None, 1),
            threads_per_worker=integer("threads_per_worker", 1, 1),
            jobs=jobs,
            adapt=MappingProxyType(dict(adapt)) if adapt is not None else None,
            allowed_failures=integer("allowed_failures", DEFAULT_ALLOWED_FAILURES, 0),
            options=MappingProxyType(dict(options)),
            auth=auth,
        )


def load_cluster_spec(path) -> ClusterSpec:
    """Read a cluster file: YAML (``.yaml``/``.yml``) or TOML (``.toml``). A ``[cluster]`` table
    (TOML) or ``cluster:`` mapping (YAML) may wrap the keys."""
    path = Path(path)
    if not path.is_file():
        raise ClusterError(f"cluster file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ClusterError(f"{path}: not valid TOML ({exc})") from None
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" line {line + 1}" if line is not None else ""
            raise ClusterError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    else:
        raise ClusterError(f"cluster file {path}: write it as .yaml, .yml or .toml")
    if isinstance(data, Mapping) and set(data) == {"cluster"}:
        data = data["cluster"]
    return ClusterSpec.from_mapping(data or {}, where=str(path))


def is_cluster_file(value: str | None) -> bool:
    """Whether a ``--scheduler`` value names a cluster file rather than an address."""
    return bool(value) and Path(value).suffix.lower() in (".yaml", ".yml", ".toml") and "://" not in value


def _import_jobqueue(kind: str):
    try:
        import dask_jobqueue
    except ImportError:
        raise ClusterError(f"cluster kind {kind!r} needs dask-jobqueue: pip install dask-jobqueue") from None
    return getattr(dask_jobqueue, JOBQUEUE_CLASSES[kind])


@contextlib.contextmanager
def open_client(
    *, scheduler: str | None = None, spec: ClusterSpec | None = None, workers: int | None = None, timeout: float = 60.0
) -> Iterator[distributed.Client]:  # noqa: F821
    """A :class:`distributed.Client` for the cluster named by ``scheduler``, ``spec`` or neither
    (a LocalCluster of ``workers`` processes, default 2); the cluster the call started is closed
    on exit, an existing one is left running."""
    import dask
    import distributed

    if scheduler and is_cluster_file(scheduler):
        spec, scheduler = load_cluster_spec(scheduler), None
    if scheduler:
        spec = ClusterSpec(kind="scheduler", address=scheduler)
    spec = spec or ClusterSpec(workers=workers)
    if spec.kind == "scheduler":
        log.info("connecting to the dask scheduler at %s", spec.address)
        try:
            client = distributed.Client(spec.address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the dask scheduler at {spec.address}: {exc}".splitlines()[0]) from None
        try:
            yield client
        finally:
            client.close()
        return
    # the scheduler we start ourselves reads allowed-failures when it is created; worker
    # processes get as many numba threads as dask threads (no oversubscription of the cores)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.setdefault("NUMBA_NUM_THREADS", spec.threads_per_worker)
    with dask.config.set(
        {"distributed.scheduler.allowed-failures": spec.allowed_failures, "distributed.nanny.pre-spawn-environ": environ}
    ):
        if spec.kind == "local":
            n = workers or spec.workers or 2
            opts = {
                "n_workers": n,
                "threads_per_worker": spec.threads_per_worker,
                "processes": True,
                "dashboard_address": ":0",
                **dict(spec.options),
            }
            log.info(
                "starting a local dask cluster: %d worker process(es), %d thread(s) each",
                opts["n_workers"],
                opts["threads_per_worker"],
            )
            cluster = distributed.LocalCluster(**opts)
        elif spec.kind in JOBQUEUE_CLASSES:
            cls = _import_jobqueue(spec.kind)
            cluster = cls(**dict(spec.options))
            log.info("%s job script:\n%s", spec.kind, cluster.job_script())
            if spec.adapt is not None:
                cluster.adapt(**dict(spec.adapt))
            else:
                cluster.scale(jobs=spec.jobs if spec.jobs is not None else 1)
        elif spec.kind == "gateway":
            try:
                import dask_gateway
            except ImportError:
                raise ClusterError("cluster kind 'gateway' needs dask-gateway: pip install dask-gateway") from None
            gateway = dask_gateway.Gateway(spec.address, auth=spec.auth)
            cluster = gateway.new_cluster(**dict(spec.options))
            if spec.adapt is not None:
                cluster.adapt(**dict(spec.adapt))
            else:
                cluster.scale(spec.workers or 2)
        else:  # pragma: no cover - from_mapping refuses other kinds
            raise ClusterError(f"unknown cluster kind {spec.kind!r}")
    try:
        client = distributed.Client(cluster, timeout=timeout) if spec.kind != "gateway" else cluster.get_client()
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
