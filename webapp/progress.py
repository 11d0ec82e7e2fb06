"""A cycle's progress as users read it: status, fraction of simulated time, stage and ETA.

The durable record only: the database row (status, progress, started) and, while the cycle runs,
the ``run.json`` its tasks write (:class:`workflows.pipeline.CycleProgress`: ``stage``,
``simulated_hours``, ``total_hours``, ``spinup_hours``, ``eta_seconds``, ``updated``). The cycle
page and the dashboard poll :func:`cycle_progress` through ``/cycles/<id>/progress.json``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workflows.db import CYCLE_ACTIVE, Cycle

STAGE_LABELS = {
    "queued": "queued",
    "preparing": "preparing the inputs",
    "spin-up": "spin-up",
    "forecast": "forecast",
    "publishing": "publishing",
}


def _run_record(run_dir) -> dict:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, TypeError, ValueError):
        return {}


def _duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"2 h 05 min"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60.0)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def cycle_progress(cycle: Cycle, now: datetime | None = None) -> dict:
    """The progress of ``cycle`` as JSON-ready data.

    Keys: ``status``; ``progress`` (0..1, the fraction of the simulated time done, spin-up
    included); ``stage`` (``queued``, ``preparing``, ``spin-up``, ``forecast``, ``publishing``,
    or the final status) and ``stage_label``; ``simulated_hours``, ``total_hours``,
    ``spinup_hours`` (None until the first segment reports); ``eta_seconds`` and ``eta`` (ISO 8601
    UTC, the expected end of the simulation; None when unknown); ``text``, one line for people.
    """
    now = now or datetime.now(timezone.utc)
    active = cycle.status in CYCLE_ACTIVE
    record = _run_record(cycle.run_dir) if cycle.run_dir else {}
    spinup = record.get("spinup_hours")
    if not active:  # the published record: only its spin-up is of interest here
        record = {}
    stage = record.get("stage") if active else cycle.status
    if cycle.status == "queued" and stage not in ("preparing", "spin-up", "forecast", "publishing"):
        stage = "queued"
    elif active and stage is None:
        stage = "preparing"
    progress = float(record.get("progress", cycle.progress or 0.0) or 0.0) if active else float(cycle.progress or 0.0)
    progress = min(max(progress, 0.0), 1.0)
    out = {
        "status": cycle.status,
        "progress": round(progress, 4),
        "stage": stage,
        "stage_label": STAGE_LABELS.get(stage, stage),
        "simulated_hours": record.get("simulated_hours"),
        "total_hours": record.get("total_hours"),
        "spinup_hours": spinup,
        "eta_seconds": None,
        "eta": None,
    }
    eta = record.get("eta_seconds")
    if eta is not None and stage in ("spin-up", "forecast"):
        try:
            written = datetime.fromisoformat(str(record.get("updated")))
        except ValueError:
            written = now
        left = max(float(eta) - max((now - written).total_seconds(), 0.0), 0.0)
        out["eta_seconds"] = round(left, 1)
        out["eta"] = (now + timedelta(seconds=left)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["text"] = _text(out)
    return out


def _text(p: dict) -> str:
    if p["stage"] in ("spin-up", "forecast") and p["total_hours"]:
        line = f"{p['stage_label']}: {p['simulated_hours']:.1f} of {p['total_hours']:.1f} h simulated"
        if p["spinup_hours"]:
            line += f" ({p['spinup_hours']:g} h spin-up, then the forecast)"
        if p["eta_seconds"] is not None:
            line += f" · about {_duration(p['eta_seconds'])} left (ends {p['eta'][11:16]} UTC)"
        return line
    return p["stage_label"]
