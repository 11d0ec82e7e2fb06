"""The wizard that creates a forecast system: region → forcings → parameters → stations → review.

The wizard's state is a draft :class:`~workflows.db.ForecastSystem` row (``status="draft"``,
answers in ``settings``), created only when the region step succeeds. Each step validates its
form and shows messages next to the fields; a step that fails stores nothing.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.utils import secure_filename

from workflows.db import ForecastSystem, Station

from . import get_session, services
from .auth import login_required
from .forms import AcceptMeshForm, ForcingsForm, ParametersForm, RegionForm, ReviewForm, StationsForm, ThresholdsForm
from .systems import (MAX_THRESHOLDS, THRESHOLD_DATUMS, StationError, config_toml, new_system_dir, owned_system,
                      parse_stations, parse_thresholds, remove_dir, stale_thresholds)
from .security import one_line
from .uploads import UploadError, check_unpacked_size

log = logging.getLogger(__name__)

bp = Blueprint("wizard", __name__, url_prefix="/systems")

STEPS = [("region", "Region"), ("forcings", "Forcings"), ("parameters", "Parameters"),
         ("stations", "Stations"), ("thresholds", "Thresholds"), ("review", "Review")]
MAX_BOX_DEGREES = 6.0
MIN_BOX_DEGREES = 0.01


def _one_line(exc: Exception) -> str:
    return one_line(str(exc).strip()) or type(exc).__name__


def _save_upload(upload, folder: Path) -> Path:
    """The uploaded mesh saved as ``folder/upload/<safe name>``, refused (and removed) when it
    unpacks to more than ``COASTCAST_MAX_UNPACKED_MB`` (:class:`webapp.uploads.UploadError`)."""
    name = secure_filename(upload.filename) or "mesh"
    updir = folder / "upload"
    if updir.exists():
        remove_dir(updir)
    updir.mkdir(parents=True)
    target = updir / name
    upload.save(target)
    try:
        check_unpacked_size(target, int(float(current_app.config["COASTCAST_MAX_UNPACKED_MB"]) * (1 << 20)))
    except UploadError:
        target.unlink(missing_ok=True)
        raise
    return target


def _gallery_choices():
    try:
        regions = services.gallery_regions()
    except Exception as exc:  # the gallery module may be absent or broken: say so, keep going
        return [], _one_line(exc)
    return regions, None


def _check_bbox(form: RegionForm):
    fields = [form.west, form.south, form.east, form.north]
    missing = [f for f in fields if f.data is None]
    for f in missing:
        if not f.errors:
            f.errors.append("Draw a box on the map or type this coordinate.")
    if missing:
        return None
    w, s, e, n = (float(f.data) for f in fields)
    bad = False
    for f, v, lim in ((form.west, w, 180), (form.east, e, 180), (form.south, s, 90), (form.north, n, 90)):
        if not math.isfinite(v) or abs(v) > lim:
            f.errors.append(f"{v} is outside ±{lim}°.")
            bad = True
    if bad:
        return None
    if e <= w:
        form.east.errors.append(f"East ({e}) must be greater than west ({w}).")
        return None
    if n <= s:
        form.north.errors.append(f"North ({n}) must be greater than south ({s}).")
        return None
    if max(e - w, n - s) > MAX_BOX_DEGREES:
        form.east.errors.append(f"The box is {e - w:.2f}° × {n - s:.2f}°; draw one at most {MAX_BOX_DEGREES:g}° on a side.")
        return None
    if min(e - w, n - s) < MIN_BOX_DEGREES:
        form.east.errors.append(f"The box is {e - w:.4f}° × {n - s:.4f}°; draw one at least {MIN_BOX_DEGREES:g}° on a side.")
        return None
    return (w, s, e, n)


def _read_and_summarise(path: Path, max_nodes: int) -> tuple[object, dict]:
    mesh = services.read_mesh(path)
    summary = services.mesh_summary(mesh)
    if summary["n_node"] > max_nodes:
        raise ValueError(f"{path.name}: {summary['n_node']} nodes; this server accepts meshes of at most {max_nodes} nodes")
    return mesh, summary


def _render_region(form, system, regions, gallery_error, pending=None):
    return render_template("wizard/region.html", form=form, system=system, steps=STEPS, step="region",
                           regions=regions, gallery_error=gallery_error, pending=pending,
                           accept_form=AcceptMeshForm())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _region(None)


@bp.route("/<int:system_id>/wizard/region", methods=["GET", "POST"])
@login_required
def region(system_id: int):
    return _region(owned_system(system_id, drafts=True))


def _region(system: ForecastSystem | None):
    regions, gallery_error = _gallery_choices()
    form = RegionForm(obj=None)
    form.gallery.choices = [(r.name, r.title) for r in regions]
    pending = (system.settings or {}).get("pending_upload") if system else None
    if request.method == "GET" and system is not None:
        form.name.data = system.name
        form.kind.data = system.region_kind or "box"
        if system.bbox:
            form.west.data, form.south.data, form.east.data, form.north.data = system.bbox
        form.gallery.data = (system.settings or {}).get("gallery")
    if not form.validate_on_submit():
        return _render_region(form, system, regions, gallery_error, pending)

    kind = form.kind.data
    max_nodes = int(current_app.config["COASTCAST_MAX_MESH_NODES"])
    bbox = None
    if kind == "box":
        bbox = _check_bbox(form)
        if bbox is None:
            return _render_region(form, system, regions, gallery_error, pending)
    elif kind == "upload":
        upload = form.mesh_file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.mesh_file.errors.append("Choose a mesh file to upload.")
            return _render_region(form, system, regions, gallery_error, pending)
    elif kind == "gallery":
        chosen = {r.name: r for r in regions}.get(form.gallery.data or "")
        if chosen is None:
            form.gallery.errors.append(gallery_error or "Pick one of the gallery meshes.")
            return _render_region(form, system, regions, gallery_error, pending)

    created_dir = None
    folder = Path(system.data_dir) if system is not None else None
    if folder is None:
        folder = created_dir = new_system_dir()
    settings = dict(system.settings or {}) if system is not None else {}
    try:
        if kind == "box":
            out = folder / "hgrid.gr3"
            services.generate_mesh(bbox, out)
            try:
                _, summary = _read_and_summarise(out, max_nodes)
            except services.ServiceUnavailable:
                summary = {"bbox": list(bbox), "open_boundaries": []}
            mesh_path, region_kind = str(out), "box"
            summary["depth_warning"] = services.depth_warning(out)
            settings.pop("pending_upload", None)
        elif kind == "gallery":
            mesh_path, region_kind = chosen.mesh_path, "gallery"
            try:
                _, summary = _read_and_summarise(Path(mesh_path), max_nodes)
            except services.ServiceUnavailable:
                summary = {"bbox": list(chosen.bbox) if chosen.bbox else None, "open_boundaries": []}
            bbox = tuple(summary["bbox"]) if summary.get("bbox") else None
            settings["gallery"] = chosen.name
            settings.pop("pending_upload", None)
        else:
            target = _save_upload(upload, folder)
            name = target.name
            mesh, summary = _read_and_summarise(target, max_nodes)
            report = services.check_mesh(mesh)
            settings["pending_upload"] = {"path": str(target), "filename": name, "summary": summary,
                                          "report": report, "usable": _usable(report)}
            mesh_path, region_kind = None, None
    except Exception as exc:
        message = _one_line(exc)
        log.info("wizard region step refused: %s", exc)
        {"box": form.east, "upload": form.mesh_file, "gallery": form.gallery}[kind].errors.append(message)
        if created_dir is not None:
            remove_dir(created_dir)
        return _render_region(form, system, regions, gallery_error, pending)

    db = get_session()
    if system is None:
        system = ForecastSystem(owner_id=g.user.id, status="draft", data_dir=str(folder), settings={})
        db.add(system)
    system.name = form.name.data.strip()
    if kind != "upload":
        system.region_kind, system.mesh_path = region_kind, mesh_path
        system.bbox = bbox
        settings["mesh"] = summary
    system.settings = settings
    db.commit()
    if kind == "upload":
        return redirect(url_for("wizard.region", system_id=system.id))
    return redirect(url_for("wizard.forcings", system_id=system.id))


def _usable(report: dict) -> bool:
    for key in ("ok", "usable", "passed"):
        if key in report:
            return bool(report[key])
    return not report.get("errors")


@bp.route("/<int:system_id>/wizard/accept-mesh", methods=["POST"])
@login_required
def accept_mesh(system_id: int):
    system = owned_system(system_id, drafts=True)
    form = AcceptMeshForm()
    pending = (system.settings or {}).get("pending_upload")
    if not form.validate_on_submit() or not pending:
        flash("Upload a mesh first.", "error")
        return redirect(url_for("wizard.region", system_id=system.id))
    if not pending.get("usable"):
        flash("This mesh cannot be used: see the report.", "error")
        return redirect(url_for("wizard.region", system_id=system.id))
    settings = dict(system.settings)
    settings.pop("pending_upload")
    settings["mesh"] = pending["summary"]
    settings["mesh_report"] = pending["report"]
    system.settings = settings
    system.region_kind, system.mesh_path = "upload", pending["path"]
    system.bbox = pending["summary"].get("bbox")
    get_session().commit()
    return redirect(url_for("wizard.forcings", system_id=system.id))


def _require_region(system):
    if not system.region_kind:
        flash("Choose the region first.", "error")
        return redirect(url_for("wizard.region", system_id=system.id))
    return None


@bp.route("/<int:system_id>/wizard/forcings", methods=["GET", "POST"])
@login_required
def forcings(system_id: int):
    system = owned_system(system_id, drafts=True)
    if (r := _require_region(system)) is not None:
        return r
    settings = dict(system.settings or {})
    boundaries = (settings.get("mesh") or {}).get("open_boundaries") or []
    form = ForcingsForm(data={"tide_source": settings.get("tide_source", "auto"),
                              "atmosphere": settings.get("atmosphere", "none")})
    # a gallery region's own rivers are the defaults (its series where it has one)
    region_rivers = {}
    if system.region_kind == "gallery" and settings.get("gallery"):
        try:
            region_rivers = services.region_defaults(settings["gallery"]).rivers
        except Exception as exc:  # noqa: BLE001 - the page still works without the region's defaults
            log.warning("region defaults of %s: %s", settings.get("gallery"), exc)
    if "rivers" in settings:
        rivers_now = {r["boundary"]: r.get("discharge") for r in settings["rivers"]}
    else:
        rivers_now = dict.fromkeys(region_rivers)
    rows, river_errors = [], {}
    for i, b in enumerate(boundaries):
        if request.method == "POST":
            role = request.form.get(f"boundary-{i}-role", "tide")
            q = request.form.get(f"boundary-{i}-discharge", "").strip()
        else:
            role = "river" if b in rivers_now else "tide"
            q = "" if rivers_now.get(b) is None else f"{rivers_now[b]:g}"
        rows.append({"index": i, "name": b, "role": role, "discharge": q, "region": region_rivers.get(b)})
    if form.validate_on_submit():
        rivers = []
        for row in rows:
            if row["role"] not in ("tide", "river"):
                river_errors[row["index"]] = "Choose tide or river."
            elif row["role"] == "river" and not row["discharge"] and row["region"]:
                rivers.append({"boundary": row["name"], "series": "region"})  # the region's own discharge
            elif row["role"] == "river":
                try:
                    q = float(row["discharge"])
                    if not math.isfinite(q) or q < 0 or q > 300_000:
                        raise ValueError
                except ValueError:
                    river_errors[row["index"]] = (f"Boundary {row['name']!r}: give the river discharge in m³/s "
                                                  "(a number from 0 to 300000).")
                    continue
                rivers.append({"boundary": row["name"], "discharge": q})
        if not river_errors:
            settings.update(tide_source=form.tide_source.data, atmosphere=form.atmosphere.data, rivers=rivers)
            system.settings = settings
            get_session().commit()
            return redirect(url_for("wizard.parameters", system_id=system.id))
    try:
        choice = services.tide_choice(system.mesh_path, settings.get("gallery")) if system.mesh_path else None
    except Exception as exc:  # noqa: BLE001 - the page still works; the config check will say what is wrong
        log.warning("tide choice for system %s: %s", system.id, exc)
        choice = None
    return render_template("wizard/forcings.html", form=form, system=system, steps=STEPS, step="forcings",
                           rows=rows, river_errors=river_errors, tide_choice=choice)


@bp.route("/<int:system_id>/wizard/parameters", methods=["GET", "POST"])
@login_required
def parameters(system_id: int):
    system = owned_system(system_id, drafts=True)
    if (r := _require_region(system)) is not None:
        return r
    settings = dict(system.settings or {})
    form = ParametersForm(data={"horizon_hours": system.horizon_hours, "run_hour_utc": system.run_hour_utc,
                                "manning": settings.get("manning", 0.025),
                                "output_interval_minutes": settings.get("output_interval_minutes", 60)})
    if form.validate_on_submit():
        if form.output_interval_minutes.data > form.horizon_hours.data * 60:
            form.output_interval_minutes.errors.append("The output interval is longer than the forecast.")
        else:
            system.horizon_hours, system.run_hour_utc = form.horizon_hours.data, form.run_hour_utc.data
            settings.update(manning=float(form.manning.data), output_interval_minutes=form.output_interval_minutes.data)
            system.settings = settings
            get_session().commit()
            return redirect(url_for("wizard.stations", system_id=system.id))
    return render_template("wizard/parameters.html", form=form, system=system, steps=STEPS, step="parameters")


def _region_bbox(system):
    if system.bbox:
        return system.bbox
    b = (system.settings or {}).get("mesh", {}).get("bbox")
    return tuple(b) if b else None


@bp.route("/<int:system_id>/wizard/stations", methods=["GET", "POST"])
@login_required
def stations(system_id: int):
    system = owned_system(system_id, drafts=True)
    if (r := _require_region(system)) is not None:
        return r
    form = StationsForm()
    if request.method == "GET":
        form.stations.data = "\n".join(f"{s.name}, {s.lon:.5f}, {s.lat:.5f}" for s in system.stations)
    if form.validate_on_submit():
        text, source, field = form.stations.data or "", "stations", form.stations
        upload = form.csv_file.data
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(2_000_001)
            source, field = secure_filename(upload.filename) or "stations.csv", form.csv_file
            try:
                if len(raw) > 2_000_000:
                    raise StationError(f"{source}: larger than 2 MB")
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                field.errors.append(f"{source}: not a UTF-8 text file")
                text = None
            except StationError as exc:
                field.errors.append(str(exc))
                text = None
        if text is not None:
            try:
                parsed = parse_stations(text, _region_bbox(system), source)
                placed = services.place_stations(system.mesh_path, parsed) if (parsed and system.mesh_path) else []
            except StationError as exc:
                field.errors.append(str(exc))
            except ValueError as exc:  # a station too far from the mesh's water
                field.errors.append(_one_line(exc))
            else:
                for p in placed:
                    if p.moved_km > 0:
                        flash(f"Station {p.name!r} lies on land or outside the mesh: each forecast samples it "
                              f"{p.moved_km:.1f} km away, at the nearest wet face ({p.lon:.4f}, {p.lat:.4f}).", "info")
                db = get_session()
                system.stations.clear()
                db.flush()
                for name, lon, lat in parsed:
                    system.stations.append(Station(name=name, lon=lon, lat=lat))
                db.commit()
                return redirect(url_for("wizard.thresholds", system_id=system.id))
    return render_template("wizard/stations.html", form=form, system=system, steps=STEPS, step="stations",
                           bbox=_region_bbox(system))


def _gauge_choices(system):
    """The tide gauges each cycle will place on the system's mesh, or ([], one-line reason)."""
    if not system.mesh_path:
        return [], None
    try:
        return services.gauge_stations(system.mesh_path, [st.name for st in system.stations]), None
    except Exception as exc:  # no catalogue, a mesh the solver cannot read: say so, keep the user's stations
        log.info("wizard: tide gauges of system %s not listed: %s", system.id, _one_line(exc))
        return [], _one_line(exc)


@bp.route("/<int:system_id>/wizard/thresholds", methods=["GET", "POST"])
@login_required
def thresholds(system_id: int):
    system = owned_system(system_id, drafts=True)
    if (r := _require_region(system)) is not None:
        return r
    form = ThresholdsForm()
    gauges, gauge_error = _gauge_choices(system)
    errors: dict[int, str] = {}
    if request.method == "POST":
        rows = []
        for i in range(MAX_THRESHOLDS + 50):
            if f"threshold-{i}-station" not in request.form and f"threshold-{i}-level" not in request.form:
                break
            rows.append({k: request.form.get(f"threshold-{i}-{k}", "")[:200] for k in ("station", "name", "level", "datum")})
    else:
        rows = [{"station": t["station"], "name": t["name"], "level": f"{t['level_m']:g}", "datum": t.get("datum", "MSL")}
                for t in (system.settings or {}).get("thresholds", [])]
    if form.validate_on_submit():
        parsed, errors = parse_thresholds(rows, [st.name for st in system.stations], gauges)
        if not errors:
            settings = dict(system.settings or {})
            settings["thresholds"] = parsed
            system.settings = settings
            get_session().commit()
            return redirect(url_for("wizard.review", system_id=system.id))
    while len(rows) < 3 or not all(rows[-1].get(k) in ("", None) for k in ("station", "level", "name")):
        rows.append({"station": "", "name": "", "level": "", "datum": "MSL"})
    return render_template("wizard/thresholds.html", form=form, system=system, steps=STEPS, step="thresholds",
                           rows=rows, errors=errors, gauges=gauges, gauge_error=gauge_error, datums=THRESHOLD_DATUMS)


@bp.route("/<int:system_id>/wizard/review", methods=["GET", "POST"])
@login_required
def review(system_id: int):
    system = owned_system(system_id, drafts=True)
    if (r := _require_region(system)) is not None:
        return r
    form = ReviewForm()
    settings = system.settings or {}
    missing = [label for key, label in (("tide_source", "forcings"), ("manning", "parameters")) if key not in settings]
    gauges = None
    if any(t.get("kind") == "gauge" for t in settings.get("thresholds", [])):
        gauges, gauge_error = _gauge_choices(system)
        gauges = None if gauge_error else gauges   # not listable here: the cycle checks them
    stale = stale_thresholds(system, gauges)
    toml_text = config_toml(system)
    if form.validate_on_submit():
        if missing:
            flash(f"Complete the {', '.join(missing)} step first.", "error")
        elif stale:
            flash(f"Fix the thresholds step: {'; '.join(stale)}.", "error")
        elif not form.confirm.data:
            form.confirm.errors.append("Tick the box to confirm the settings.")
        else:
            folder = Path(system.data_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.toml").write_text(toml_text)
            system.config_toml = toml_text
            system.status = "active"
            get_session().commit()
            flash(f"Forecast system {system.name!r} created. Its first cycle runs at {system.run_hour_utc:02d}:00 UTC; "
                  "or run one now.", "ok")
            return redirect(url_for("dashboard.system", system_id=system.id))
    return render_template("wizard/review.html", form=form, system=system, steps=STEPS, step="review",
                           toml_text=toml_text, missing=missing, stale=stale, bbox=_region_bbox(system))
