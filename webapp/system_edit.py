"""Changing a forecast system after creation: each change that alters its configuration is a new
version of it (``workflows.db.SystemConfigVersion``); cycles already run keep theirs.

``/systems/<id>/edit`` shows the wizard's parameters and forcings fields (the same form classes
and checks, :class:`webapp.forms.EditSystemForm`), the open boundaries' rivers (as in the
forcings step), the stations (as in the stations step) and a note. The region (its mesh) is
fixed: another region is another system. A change is checked as a cycle will read it
(``workflows.config``) before anything is stored: a refused change says why in one line next to
its field, and the stored configuration and settings stay as they were.

Each cycle's run directory holds its own ``config.toml``, written when it is queued from the
then current version (and which version it was); ``/systems/<id>/versions`` lists the versions.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for

from workflows.db import CYCLE_ACTIVE, Station

from . import services
from .auth import login_required
from .extensions import get_session
from .forms import EditSystemForm
from .security import one_line
from .systems import (
    StationError,
    add_config_version,
    check_config_text,
    config_toml,
    config_versions,
    cycle_config_version,
    owned_system,
    parse_river_rows,
    parse_stations,
    river_rows,
    stale_thresholds,
)

log = logging.getLogger(__name__)

bp = Blueprint("system_edit", __name__, url_prefix="/systems")


@bp.app_template_global()
def config_version_of(cycle):
    """For the cycle pages: the configuration version a cycle ran with (systems.cycle_config_version)."""
    try:
        return cycle_config_version(cycle)
    except Exception as exc:  # noqa: BLE001 - the page shows without it
        log.info("configuration version of cycle %s: %s", getattr(cycle, "id", "?"), exc)
        return None


def _bbox(system):
    if system.bbox:
        return system.bbox
    b = ((system.settings or {}).get("mesh") or {}).get("bbox")
    return tuple(b) if b else None


def _region_rivers(system) -> dict:
    settings = system.settings or {}
    if system.region_kind == "gallery" and settings.get("gallery"):
        try:
            return services.region_defaults(settings["gallery"]).rivers
        except Exception as exc:  # noqa: BLE001 - the page works without the region's defaults
            log.warning("region defaults of %s: %s", settings.get("gallery"), exc)
    return {}


def _changes(system, new) -> list[str]:
    """Short phrases for what an edit changes (the version's note when the user gives none)."""
    out = []
    old_s, new_s = system.settings or {}, new.settings
    if system.name != new.name:
        out.append(f"name {system.name!r} → {new.name!r}")
    if system.horizon_hours != new.horizon_hours:
        out.append(f"horizon {system.horizon_hours} → {new.horizon_hours} h")
    if system.run_hour_utc != new.run_hour_utc:
        out.append(f"run hour {system.run_hour_utc:02d} → {new.run_hour_utc:02d} UTC")
    for key, label in (
        ("tide_source", "tide"),
        ("atmosphere", "atmosphere"),
        ("manning", "Manning's n"),
        ("output_interval_minutes", "output interval (min)"),
        ("spinup_hours", "spin-up (h)"),
        ("rivers", "rivers"),
    ):
        if old_s.get(key) != new_s.get(key) and not (key == "rivers" and not old_s.get(key) and not new_s.get(key)):
            out.append(f"{label} changed" if key == "rivers" else f"{label} {old_s.get(key, '–')} → {new_s.get(key)}")
    old_st = [(st.name, round(st.lon, 6), round(st.lat, 6)) for st in system.stations]
    new_st = [(st.name, round(st.lon, 6), round(st.lat, 6)) for st in new.stations]
    if old_st != new_st:
        out.append(f"stations: {len(old_st)} → {len(new_st)}" if len(old_st) != len(new_st) else "stations changed")
    return out


@bp.route("/<int:system_id>/edit", methods=["GET", "POST"])
@login_required
def edit(system_id: int):
    system = owned_system(system_id, drafts=False)
    settings = dict(system.settings or {})
    boundaries = (settings.get("mesh") or {}).get("open_boundaries") or []
    region_rivers = _region_rivers(system)
    rivers_now = (
        {r["boundary"]: r.get("discharge") for r in settings["rivers"]} if "rivers" in settings else dict.fromkeys(region_rivers)
    )
    data = {
        "name": system.name,
        "horizon_hours": system.horizon_hours,
        "run_hour_utc": system.run_hour_utc,
        "manning": settings.get("manning", 0.025),
        "output_interval_minutes": settings.get("output_interval_minutes", 60),
        "spinup_hours": settings.get("spinup_hours", 24.0),
        "tide_source": settings.get("tide_source", "auto"),
        "atmosphere": settings.get("atmosphere", "none"),
        "stations": "\n".join(f"{s.name}, {s.lon:.5f}, {s.lat:.5f}" for s in system.stations),
    }
    form = EditSystemForm(data=data)
    rows = river_rows(boundaries, rivers_now, region_rivers, request.form if request.method == "POST" else None)
    river_errors: dict[int, str] = {}
    problem = None
    if form.validate_on_submit():
        rivers, river_errors = parse_river_rows(rows)
        parsed = None
        try:
            parsed = parse_stations(form.stations.data or "", _bbox(system), "stations")
            placed = services.place_stations(system.mesh_path, parsed) if (parsed and system.mesh_path) else []
        except StationError as exc:
            form.stations.errors.append(str(exc))
        except ValueError as exc:  # a station too far from the mesh's water
            form.stations.errors.append(one_line(str(exc)))
        if parsed is not None and not form.stations.errors and not river_errors:
            new_settings = dict(
                settings,
                tide_source=form.tide_source.data,
                atmosphere=form.atmosphere.data,
                rivers=rivers,
                manning=float(form.manning.data),
                output_interval_minutes=form.output_interval_minutes.data,
            )
            if "spinup_hours" in form and form.spinup_hours.data is not None:
                spinup = float(form.spinup_hours.data)
                # a system that never set it keeps the configuration's default unless the value changes
                if "spinup_hours" in settings or spinup != float(form.spinup_hours.default):
                    new_settings["spinup_hours"] = spinup
            new = SimpleNamespace(
                id=system.id,
                name=form.name.data,
                region_kind=system.region_kind,
                mesh_path=system.mesh_path,
                data_dir=system.data_dir,
                bbox=system.bbox,
                horizon_hours=form.horizon_hours.data,
                run_hour_utc=form.run_hour_utc.data,
                settings=new_settings,
                stations=[SimpleNamespace(name=n, lon=x, lat=y) for n, x, y in parsed],
            )
            try:
                stale = stale_thresholds(new)
                if stale:
                    raise ValueError(f"{stale[0]}: remove that threshold in a new system or keep the station")
                text = config_toml(new)
                check_config_text(text, system)
            except Exception as exc:  # noqa: BLE001 - any refusal is one line for the user, nothing stored
                problem = one_line(str(exc)) or type(exc).__name__
                log.info("edit of system %s refused: %s", system.id, exc)
            else:
                changes = _changes(system, new)
                for p in placed:
                    if p.moved_km > 0:
                        flash(
                            f"Station {p.name!r} lies on land or outside the mesh: each forecast samples it "
                            f"{p.moved_km:.1f} km away, at the nearest wet face ({p.lon:.4f}, {p.lat:.4f}).",
                            "info",
                        )
                db = get_session()
                system.name, system.horizon_hours, system.run_hour_utc = new.name, new.horizon_hours, new.run_hour_utc
                system.settings = new_settings
                if [(s.name, s.lon, s.lat) for s in system.stations] != list(parsed):
                    system.stations.clear()
                    db.flush()
                    for n, x, y in parsed:
                        system.stations.append(Station(name=n, lon=x, lat=y))
                if text != (system.config_toml or ""):
                    note = " ".join((form.note.data or "").split()) or "; ".join(changes) or "edited"
                    before = config_versions(system)[-1]["version"]
                    busy = [c.label for c in system.cycles if c.status in CYCLE_ACTIVE]
                    row = add_config_version(db, system, text, note)
                    db.commit()
                    flash(
                        f"Saved as configuration version {row.version}: the next cycle uses it; cycles already "
                        "run keep theirs"
                        + (f", and cycle {busy[0]}, already queued, runs with version {before}." if busy else "."),
                        "ok",
                    )
                else:
                    db.commit()
                    flash(
                        "Saved. The forecast configuration is unchanged "
                        f"(still version {config_versions(system)[-1]['version']})"
                        + (f": {'; '.join(changes)}." if changes else "."),
                        "ok",
                    )
                return redirect(url_for("dashboard.system", system_id=system.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "systems/edit.html",
        form=form,
        system=system,
        rows=rows,
        river_errors=river_errors,
        problem=problem,
        version=config_versions(system)[-1],
    ), status


@bp.route("/<int:system_id>/versions")
@login_required
def versions(system_id: int):
    system = owned_system(system_id, drafts=False)
    rows = list(reversed(config_versions(system)))
    used: dict[int, list] = {}
    for c in system.cycles:
        v = config_version_of(c)
        if v is not None:
            used.setdefault(v["version"], []).append(c)
    return render_template("systems/versions.html", system=system, versions=rows, used=used)
