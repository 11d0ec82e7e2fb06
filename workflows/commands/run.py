"""``coastcast run CONFIG.toml [--out DIR] [--scheduler ADDR]``: one cycle or hindcast from a config."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from ..progress import ProgressBar, summary

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "run",
        help="run one forecast cycle (or hindcast) from a TOML config",
        description="Run one forecast cycle from a forecast-system TOML file and publish its outputs.",
    )
    p.add_argument("config", help="forecast-system TOML file")
    p.add_argument("--out", help="run directory (default: runs/<name>/<cycle>)")
    p.add_argument(
        "--scheduler",
        help="a dask scheduler address (tcp://host:8786) or a cluster file (.yaml/.toml: slurm, pbs, htcondor, gateway; see docs/operations.md)",
    )
    p.add_argument("--start", help="override the forecast start (ISO 8601 UTC, e.g. 2026-11-25T00:00Z)")
    p.add_argument("--hours", type=float, help="override the forecast horizon (hours)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a forecast of other inputs in the run directory (default: refuse; a run of the same inputs resumes)",
    )
    p.set_defaults(func=run)


def default_run_dir(cfg) -> Path:
    return Path("runs") / cfg.name.replace(" ", "_") / cfg.start.strftime("%Y%m%dT%HZ")


def run(args) -> int:
    from .. import stopping
    from ..config import dump_toml, load_config, with_overrides

    stopping.install()  # SIGTERM (a batch system, systemd, kill): record "interrupted", then exit

    cfg = load_config(args.config)
    overrides = {k: v for k, v in (("start", args.start), ("hours", args.hours)) if v is not None}
    if overrides:
        cfg = with_overrides(cfg, overrides, where="command line")
    out = Path(args.out) if args.out else default_run_dir(cfg)
    with tempfile.TemporaryDirectory(prefix="coastcast-run-") as tmp:
        config_path = Path(args.config)
        if overrides:  # written aside: the run directory is only written under its lock
            config_path = Path(tmp) / "config.requested.toml"
            config_path.write_text(dump_toml(cfg), encoding="utf-8")
        return _run(args, cfg, config_path, out)


def _run(args, cfg, config_path: Path, out: Path) -> int:
    if cfg.ensemble is not None:
        from ..ensemble import run_ensemble

        result = run_ensemble(config_path, out, scheduler=args.scheduler, figures=not args.no_figures)
        print(f"ensemble of {len(result.get('members', []))} members published in {out} (ensemble_stations.nc, ensemble.json)")
        return 0
    if args.scheduler:
        from ..pipeline import run_on_cluster

        info = run_on_cluster(config_path, out, scheduler=args.scheduler, figures=not args.no_figures, overwrite=args.overwrite)
    else:
        from ..cycle import run_cycle

        with ProgressBar(f"{cfg.name} {cfg.start:%Y-%m-%d %HZ}") as bar:
            info = run_cycle(config_path, out, progress=bar.update, figures=not args.no_figures, overwrite=args.overwrite)
    print(summary(info, out))
    return 0
