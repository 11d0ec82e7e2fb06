"""The dashboard: the user's systems and cycles (status, progress, logs); run now, pause, resume, delete."""

from __future__ import annotations

import logging
from datetime import timezone

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, url_for

from workflows.db import CYCLE_ACTIVE, Cycle, ForecastSystem, utcnow

from .auth import login_required
from .extensions import get_session
from .forms import ActionForm
from .outputs import cycle_summary
from .progress import cycle_progress
from .security import one_line, user_error, user_log
from .systems import cycle_dir, owned_cycle, owned_system, remove_dir, write_cycle_config

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__)


@bp.route("/dashboard")
@login_required
def index():
    systems = get_session().query(ForecastSystem).filter_by(owner_id=g.user.id).order_by(ForecastSystem.created.desc()).all()
    latest = [s.cycles[0] for s in systems if s.cycles]
    return render_template(
        "dashboard/index.html", systems=systems, form=ActionForm(), summaries=_summaries(latest), live=_live(latest)
    )


def _live(cycles) -> dict:
    """{cycle id: progress.cycle_progress} of the queued and running ones."""
    return {c.id: cycle_progress(c) for c in cycles if c.status in CYCLE_ACTIVE}


def _summaries(cycles) -> dict:
    """{cycle id: outputs.cycle_summary} of the succeeded ones (alerts, skill from run.json)."""
    return {c.id: cycle_summary(c.run_dir) for c in cycles if c.status == "succeeded"}


@bp.route("/systems/<int:system_id>")
@login_required
def system(system_id: int):
    s = owned_system(system_id)
    if s.status == "draft":
        return redirect(url_for("wizard.review", system_id=s.id))
    active = any(c.status in CYCLE_ACTIVE for c in s.cycles)
    return render_template(
        "dashboard/system.html", system=s, form=ActionForm(), active=active, summaries=_summaries(s.cycles), live=_live(s.cycles)
    )


def queue_cycle(system: ForecastSystem, cycle_time) -> Cycle | None:
    """Create (or re-queue) the cycle of ``system`` at ``cycle_time`` and hand it to the runner.

    Returns None when the system already has a queued or running cycle (one at a time).
    """
    db = get_session()
    if db.query(Cycle).filter(Cycle.system_id == system.id, Cycle.status.in_(CYCLE_ACTIVE)).first():
        return None
    cycle = db.query(Cycle).filter_by(system_id=system.id, cycle_time=cycle_time).first()
    if cycle is None:
        cycle = Cycle(system_id=system.id, cycle_time=cycle_time)
        db.add(cycle)
    cycle.status, cycle.progress, cycle.log, cycle.error = "queued", 0.0, "", None
    cycle.started = cycle.finished = None
    cycle.run_dir = str(cycle_dir(system, cycle_time))
    db.flush()
    try:
        write_cycle_config(system, cycle)
    except ValueError as exc:  # the configuration cannot run: the cycle fails with the reason, nothing runs
        cycle.status, cycle.error, cycle.finished = "failed", one_line(str(exc)), utcnow()
        db.commit()
        return cycle
    db.commit()
    current_app.extensions["coastcast_runner"].submit(cycle.id)
    return cycle


@bp.route("/systems/<int:system_id>/run", methods=["POST"])
@login_required
def run_now(system_id: int):
    s = owned_system(system_id, drafts=False)
    if ActionForm().validate_on_submit():
        now = utcnow().astimezone(timezone.utc)
        cycle_time = now.replace(minute=0, second=0, microsecond=0)
        cycle = queue_cycle(s, cycle_time)
        if cycle is None:
            flash("A cycle of this system is already queued or running.", "error")
        elif cycle.status == "failed":
            flash(f"Cycle {cycle.label} cannot run: {user_error(cycle.error)}", "error")
        else:
            flash(f"Cycle {cycle.label} queued.", "ok")
    return redirect(url_for("dashboard.system", system_id=s.id))


@bp.route("/systems/<int:system_id>/<any(pause, resume):action>", methods=["POST"])
@login_required
def set_status(system_id: int, action: str):
    s = owned_system(system_id, drafts=False)
    if ActionForm().validate_on_submit():
        s.status = "paused" if action == "pause" else "active"
        get_session().commit()
        flash(f"{s.name}: {'paused: no daily cycles until resumed' if action == 'pause' else 'active again'}.", "ok")
    return redirect(url_for("dashboard.system", system_id=s.id))


@bp.route("/systems/<int:system_id>/delete", methods=["GET", "POST"])
@login_required
def delete(system_id: int):
    s = owned_system(system_id)
    form = ActionForm()
    busy = any(c.status in CYCLE_ACTIVE for c in s.cycles)
    if form.validate_on_submit():
        if busy and any(c.status == "running" for c in s.cycles):
            flash("A cycle of this system is running; wait until it ends, then delete.", "error")
            return redirect(url_for("dashboard.system", system_id=s.id))
        name, folder = s.name, s.data_dir
        db = get_session()
        db.delete(s)
        db.commit()
        remove_dir(folder)
        flash(f"Deleted {name!r} and its files.", "ok")
        return redirect(url_for("dashboard.index"))
    return render_template("dashboard/delete.html", system=s, form=form, busy=busy)


@bp.route("/cycles/<int:cycle_id>")
@login_required
def cycle(cycle_id: int):
    c = owned_cycle(cycle_id)
    return render_template(
        "dashboard/cycle.html", cycle=c, system=c.system, summary=_summaries([c]).get(c.id), progress=cycle_progress(c)
    )


@bp.route("/cycles/<int:cycle_id>/progress.json")
@login_required
def progress(cycle_id: int):
    """The cycle's live progress (:func:`webapp.progress.cycle_progress`) and, with it, the tail
    of its log as users see it; polled by js/progress.js."""
    c = owned_cycle(cycle_id)
    return jsonify({**cycle_progress(c), "log": user_log(c.log or "")[-20000:]})
