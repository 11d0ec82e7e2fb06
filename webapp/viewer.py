"""The viewer: animated map of water level and currents, maxima, station time series (with the tide
gauges' harmonic prediction and datum levels), skill at the gauges and threshold alerts."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template

from .auth import login_required
from .outputs import cycle_summary, list_files
from .systems import owned_cycle

bp = Blueprint("viewer", __name__)


@bp.route("/cycles/<int:cycle_id>/view")
@login_required
def view(cycle_id: int):
    cycle = owned_cycle(cycle_id)
    run_dir = Path(cycle.run_dir) if cycle.run_dir else None
    has_fields = bool(run_dir and (run_dir / "fields.nc").is_file())
    has_stations = bool(run_dir and (run_dir / "stations.nc").is_file())
    return render_template(
        "viewer/view.html",
        cycle=cycle,
        system=cycle.system,
        has_fields=has_fields,
        has_stations=has_stations,
        files=list_files(run_dir) if run_dir else [],
        summary=cycle_summary(run_dir),
    )
