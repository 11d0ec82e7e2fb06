"""``coastcast demo [--out DIR] [--hours 72]``: the embedded default forecast.

A real forecast of the gallery's Channel/Biscay region (JMJ mesh, 29k triangles) from today 00Z:
tides from the region's JMJ atlas (elevation and currents at the open boundaries, Flather
radiation), wind and pressure from GFS 0.25° when it can be downloaded, tides only otherwise (the
summary and run.json say which), stations at the region's ports, on the local machine.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from ..progress import ProgressBar, summary

log = logging.getLogger(__name__)


def register(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="a real 72-hour forecast of the Channel/Biscay gallery region",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("--out", help="run directory (default: coastcast-demo/<YYYYMMDD>)")
    p.add_argument("--hours", type=float, default=72.0, help="forecast horizon in hours (default 72)")
    p.add_argument("--spinup-hours", type=float, default=12.0, help="cold-start spin-up before the forecast (default 12)")
    p.add_argument("--start", help="forecast start, ISO 8601 UTC (default: today 00Z)")
    p.add_argument(
        "--atmosphere",
        choices=("gfs", "none"),
        default="gfs",
        help="wind and pressure source (default gfs, tides only if it fails)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--overwrite", action="store_true", help="replace a forecast of other inputs in the output directory")
    p.set_defaults(func=run)


def demo_config(hours: float, spinup_hours: float, start: str | None, atmosphere: str) -> dict:
    from ..config import today_00z

    start = start or today_00z().isoformat().replace("+00:00", "Z")
    return {
        "name": "channel-biscay-demo",
        "gallery": "channel_biscay",
        "start": start,
        "hours": float(hours),
        "spinup_hours": float(spinup_hours),
        "output_interval_minutes": 60.0,
        "station_interval_minutes": 10.0,
        "restart_hours": min(24.0, float(hours)),
        "segment_hours": 12.0,
        "atmosphere": {"source": atmosphere, "timeout_seconds": 20, "retries": 1} if atmosphere == "gfs" else "none",
        "physics": {"manning": 0.025, "coriolis": True},
    }


def run(args) -> int:
    import tomli_w

    from ..config import ForecastConfig
    from ..cycle import run_cycle

    data = demo_config(args.hours, args.spinup_hours, args.start, args.atmosphere)
    cfg = ForecastConfig.from_mapping(data, base_dir=".")
    out = Path(args.out) if args.out else Path("coastcast-demo") / cfg.start.strftime("%Y%m%d")
    print(
        f"coastcast demo: {cfg.hours:g}-hour forecast of {cfg.gallery} from {cfg.start:%Y-%m-%d %H:%MZ} "
        f"(spin-up {cfg.spinup_hours:g} h) into {out}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="coastcast-demo-") as tmp:  # the run directory is written under its lock only
        config_path = Path(tmp) / "demo.toml"
        config_path.write_text(tomli_w.dumps(data), encoding="utf-8")
        with ProgressBar("channel_biscay") as bar:
            info = run_cycle(config_path, out, progress=bar.update, figures=not args.no_figures, overwrite=args.overwrite)
    print(summary(info, out))
    return 0
