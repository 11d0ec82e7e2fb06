"""``coastcast tides build-atlas``: run coastcast's global tide model and write its atlas.

Exit status 0 when the atlas is written; 2 for bad input (one line on stderr, printed by
``workflows.cli``).
"""

from __future__ import annotations

import json
import logging
import sys

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("tides", help="coastcast's own global tide model and atlas", description=__doc__)
    sub = p.add_subparsers(dest="tides_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    from workflows.global_tides import GlobalTideSetup

    d = GlobalTideSetup()
    b = sub.add_parser("build-atlas", help="run the global tide model (about 25 min on one core) and write the atlas NetCDF")
    b.add_argument(
        "--out", help="atlas file to write (default: the package's own, workflows/data/tides/coastcast_tides_north_atlantic.nc)"
    )
    b.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        default=None,
        help="keep this lon/lat box only (default: the whole globe but the faces across the antimeridian)",
    )
    b.add_argument("--days", type=float, default=d.days, help=f"simulated days (default {d.days:g})")
    b.add_argument(
        "--spinup-days", type=float, default=d.spinup_days, help=f"days before the harmonic analysis (default {d.spinup_days:g})"
    )
    b.add_argument("--start", default=d.start.strftime("%Y-%m-%dT%H:%MZ"), help="UTC start, ISO 8601 (default %(default)s)")
    b.add_argument(
        "--sal-beta", type=float, default=d.sal_beta, help=f"scalar self-attraction and loading factor (default {d.sal_beta})"
    )
    b.add_argument(
        "--drag-coefficient",
        type=float,
        default=d.drag_coefficient,
        help=f"quadratic bottom friction C_d (default {d.drag_coefficient})",
    )
    b.add_argument(
        "--internal-tide-scale",
        type=float,
        default=d.internal_tide_scale,
        help=f"factor on the mesh's internal-tide drag tensor (default {d.internal_tide_scale:g}; 0 switches it off)",
    )
    b.add_argument("--json", action="store_true", help="print the run's figures as JSON")
    b.set_defaults(func=_build)


def _build(args) -> int:
    from datetime import datetime, timezone

    from workflows.forcing.tides import COASTCAST_ATLAS
    from workflows.global_tides import GlobalTideSetup, run_global_tides, write_atlas

    try:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--start {args.start!r} is not an ISO 8601 time such as 2022-01-01T00:00Z") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    setup = GlobalTideSetup(
        start=start,
        days=args.days,
        spinup_days=args.spinup_days,
        sal_beta=args.sal_beta,
        drag_coefficient=args.drag_coefficient,
        internal_tide_scale=args.internal_tide_scale,
    )

    def progress(day, days, wall):
        log.info("global tides: day %.1f of %g, %.0f s", day, days, wall)

    result = run_global_tides(setup, progress=progress)
    path = write_atlas(result, args.out or COASTCAST_ATLAS, bbox=args.bbox)
    figures = {
        "atlas": str(path),
        "size_mb": round(path.stat().st_size / 2**20, 2),
        "wall_seconds": round(result.wall_seconds, 1),
        "steps": result.steps,
        "peak_rss_mb": round(result.peak_rss_mb, 1),
        "days": setup.days,
        "record_days": setup.record_days,
    }
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
    else:
        print(
            f"wrote {path} ({figures['size_mb']} MB): {setup.days:g} days in {figures['wall_seconds']:.0f} s, "
            f"{result.steps} steps, peak memory {figures['peak_rss_mb']:.0f} MB"
        )
    return 0
