"""The wizard that creates a forecast system: region → forcings → parameters → stations → review.

The wizard's state is a draft :class:`~workflows.db.ForecastSystem` row (``status="draft"``,
answers in ``settings``), created only when the region step succeeds. Each step validates its
form and shows messages next to the fields; a step that fails stores nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections import OrderedDict
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.utils import secure_filename

from workflows.db import ForecastSystem, Station

from . import services
from .auth import login_required
from .extensions import get_session
from .forms import AcceptMeshForm, ForcingsForm, ParametersForm, RegionForm, ReviewForm, StationsForm, ThresholdsForm
from .security import one_line
from .systems import (
    MAX_THRESHOLDS,
    THRESHOLD_DATUMS,
    StationError,
    config_toml,
    new_system_dir,
    owned_system,
    parse_river_rows,
    parse_stations,
    parse_thresholds,
    remove_dir,
    river_rows,
    stale_thresholds,
)
from .uploads import UploadError, check_unpacked_size

log = logging.getLogger(__name__)

bp = Blueprint("wizard", __name__, url_prefix="/systems")

STEPS = [
    ("region", "Region"),
    ("forcings", "Forcings"),
    ("parameters", "Parameters"),
    ("stations", "Stations"),
    ("thresholds", "Thresholds"),
    ("review", "Review"),
]
MAX_BOX_DEGREES = 6.0
MIN_BOX_DEGREES = 0.01


def _page(step: str, system, **context):
    """The page of wizard step ``step`` (``wizard/<step>.html``) with the steps bar."""
    return render_template(f"wizard/{step}.html", system=system, steps=STEPS, step=step, **context)


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
    pre = None
    if pending and system is not None:
        pre = preflight(
            pending.get("report"),
            pending.get("summary"),
            pending.get("path"),
            system.horizon_hours,
            url_for("wizard.mesh_preview", system_id=system.id, mesh="pending"),
            f"Pre-flight report: {pending.get('filename')}",
        )
    elif system is not None:
        pre = system_preflight(system, "The region's mesh")
    return _page(
        "region",
        system,
        form=form,
        regions=regions,
        gallery_error=gallery_error,
        pending=pending,
        pre=pre,
        accept_form=AcceptMeshForm(),
    )


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
            detail = form.detail.data if form.detail.data in services.MESH_DETAIL_FACTORS else "standard"
            services.generate_mesh(bbox, out, **services.mesh_sizes(bbox, detail))
            settings["mesh_detail"] = detail
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
            settings["pending_upload"] = {
                "path": str(target),
                "filename": name,
                "summary": summary,
                "report": report,
                "usable": _usable(report),
            }
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


def after_region(view):
    """A wizard step after the region: ``view(system)`` gets the user's own (draft) system, and a
    system without a region yet is sent back to the region step."""

    @functools.wraps(view)
    def step(system_id: int):
        system = owned_system(system_id, drafts=True)
        if not system.region_kind:
            flash("Choose the region first.", "error")
            return redirect(url_for("wizard.region", system_id=system.id))
        return view(system)

    return step


@bp.route("/<int:system_id>/wizard/forcings", methods=["GET", "POST"])
@login_required
@after_region
def forcings(system):
    settings = dict(system.settings or {})
    boundaries = (settings.get("mesh") or {}).get("open_boundaries") or []
    form = ForcingsForm(
        data={"tide_source": settings.get("tide_source", "auto"), "atmosphere": settings.get("atmosphere", "none")}
    )
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
    rows = river_rows(boundaries, rivers_now, region_rivers, request.form if request.method == "POST" else None)
    river_errors = {}
    if form.validate_on_submit():
        rivers, river_errors = parse_river_rows(rows)
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
    return _page(
        "forcings",
        system,
        form=form,
        rows=rows,
        river_errors=river_errors,
        tide_choice=choice,
    )


@bp.route("/<int:system_id>/wizard/parameters", methods=["GET", "POST"])
@login_required
@after_region
def parameters(system):
    settings = dict(system.settings or {})
    form = ParametersForm(
        data={
            "horizon_hours": system.horizon_hours,
            "run_hour_utc": system.run_hour_utc,
            "manning": settings.get("manning", 0.025),
            "output_interval_minutes": settings.get("output_interval_minutes", 60),
            "spinup_hours": settings.get("spinup_hours", 24.0),
        }
    )
    if form.validate_on_submit():
        if form.output_interval_minutes.data > form.horizon_hours.data * 60:
            form.output_interval_minutes.errors.append("The output interval is longer than the forecast.")
        else:
            system.horizon_hours, system.run_hour_utc = form.horizon_hours.data, form.run_hour_utc.data
            settings.update(manning=float(form.manning.data), output_interval_minutes=form.output_interval_minutes.data)
            if form.spinup_hours.data is not None:  # left empty: kept as it was
                settings["spinup_hours"] = float(form.spinup_hours.data)
            system.settings = settings
            get_session().commit()
            return redirect(url_for("wizard.stations", system_id=system.id))
    return _page("parameters", system, form=form, pre=system_preflight(system))


def _region_bbox(system):
    if system.bbox:
        return system.bbox
    b = (system.settings or {}).get("mesh", {}).get("bbox")
    return tuple(b) if b else None


@bp.route("/<int:system_id>/wizard/stations", methods=["GET", "POST"])
@login_required
@after_region
def stations(system):
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
                        flash(
                            f"Station {p.name!r} lies on land or outside the mesh: each forecast samples it "
                            f"{p.moved_km:.1f} km away, at the nearest wet face ({p.lon:.4f}, {p.lat:.4f}).",
                            "info",
                        )
                db = get_session()
                system.stations.clear()
                db.flush()
                for name, lon, lat in parsed:
                    system.stations.append(Station(name=name, lon=lon, lat=lat))
                db.commit()
                return redirect(url_for("wizard.thresholds", system_id=system.id))
    return _page("stations", system, form=form, bbox=_region_bbox(system))


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
@after_region
def thresholds(system):
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
        rows = [
            {"station": t["station"], "name": t["name"], "level": f"{t['level_m']:g}", "datum": t.get("datum", "MSL")}
            for t in (system.settings or {}).get("thresholds", [])
        ]
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
    return _page(
        "thresholds",
        system,
        form=form,
        rows=rows,
        errors=errors,
        gauges=gauges,
        gauge_error=gauge_error,
        datums=THRESHOLD_DATUMS,
    )


@bp.route("/<int:system_id>/wizard/review", methods=["GET", "POST"])
@login_required
@after_region
def review(system):
    form = ReviewForm()
    settings = system.settings or {}
    missing = [label for key, label in (("tide_source", "forcings"), ("manning", "parameters")) if key not in settings]
    gauges = None
    if any(t.get("kind") == "gauge" for t in settings.get("thresholds", [])):
        gauges, gauge_error = _gauge_choices(system)
        gauges = None if gauge_error else gauges  # not listable here: the cycle checks them
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
            flash(
                f"Forecast system {system.name!r} created. Its first cycle runs at {system.run_hour_utc:02d}:00 UTC; "
                "or run one now.",
                "ok",
            )
            return redirect(url_for("dashboard.system", system_id=system.id))
    return _page(
        "review",
        system,
        form=form,
        toml_text=toml_text,
        missing=missing,
        stale=stale,
        bbox=_region_bbox(system),
        pre=system_preflight(system, "Pre-flight report of the mesh"),
    )


# ---------------------------------------------------------------- pre-flight: the report as a page, the map preview
# The report (solver.quality.check_mesh(...).to_dict(), or any dict with some of its keys) becomes
# labelled rows with rounded numbers and units; generated meshes add their depth sources; the map
# preview is the JSON of mesh_preview (webapp/static/js/mesh_preview.js draws it).

SKEW_ANGLE_DEG = 5.0  # solver.quality.SKEW_ANGLE_DEG
DEFAULT_THROUGHPUT = 3.35e6  # face-updates per second on one core, solver.quality.THROUGHPUT
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _cached(kind: str, path, make):
    """``make()``, kept for the few latest (kind, file, modification time) keys."""
    st = Path(path).stat()
    key = (kind, str(path), st.st_mtime_ns, st.st_size, id(services.read_mesh), id(services.check_mesh))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = make()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def _f(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _length(m: float) -> str:
    if m >= 10_000:
        return f"{m / 1000:,.1f} km"
    return f"{m:,.0f} m" if m >= 10 else f"{m:.1f} m"


def _area(m2: float) -> str:
    return f"{m2:,.0f} m²" if m2 < 10_000 else f"{m2 / 1e6:,.3g} km²"


def _duration(s: float) -> str:
    if s < 1:
        return "under 1 s"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _lonlat(lon: float, lat: float) -> str:
    return f"{abs(lon):.4f}° {'W' if lon < 0 else 'E'}, {abs(lat):.4f}° {'S' if lat < 0 else 'N'}"


def run_time_estimate(report: dict, hours: float) -> dict | None:
    """A rough wall-clock time of a ``hours`` forecast on one core from the report (the model of
    :mod:`solver.quality`: face-updates with local time steps and the deep-water step, for the
    report's hours, scaled to ``hours``, over its throughput in face-updates per second). A
    report without ``n_updates`` (an older one) is counted with global steps of ``dt_s``.
    None without a time step."""
    dt, n_face = _f(report.get("dt_s")), _f(report.get("n_face"))
    if not dt or not n_face or dt <= 0 or not hours:
        return None
    thr = _f(report.get("throughput")) or DEFAULT_THROUGHPUT
    updates, report_hours = _f(report.get("n_updates")), _f(report.get("hours"))
    if updates and report_hours:
        updates *= hours / report_hours
        how = "with local time steps"
    else:
        updates = n_face * math.ceil(hours * 3600 / dt)
        how = f"in global steps of {dt:.2g} s"
    wall = updates / thr
    return {
        "hours": hours,
        "updates": updates,
        "wall_s": wall,
        "text": f"about {_duration(wall)} for a {hours:g}-hour forecast on one core",
        "detail": (
            f"{int(n_face):,} triangles, {updates / 1e6:,.3g} million face-updates {how} at {thr / 1e6:g} million per second"
        ),
    }


def _report_rows(r: dict) -> list[dict]:
    rows = []

    def add(key, label, value, cls=""):
        rows.append({"key": key, "label": label, "value": value, "cls": cls})

    ok = r.get("ok", r.get("usable", r.get("passed")))
    if ok is not None:
        add("verdict", "Verdict", "usable" if ok else "refused: see the problems below", "" if ok else "bad")
    if (v := _f(r.get("min_angle_deg"))) is not None:
        pct = r.get("angle_percentiles_deg") or {}
        more = [f"median {m:.1f}°" for m in [_f(pct.get("50"))] if m is not None]
        more += [f"1 % of the triangles below {m:.1f}°" for m in [_f(pct.get("1"))] if m is not None]
        add(
            "min_angle",
            "Minimum angle",
            f"{v:.1f}°" + (f" ({', '.join(more)})" if more else ""),
            "warn" if v < SKEW_ANGLE_DEG else "",
        )
    if r.get("n_skewed") is not None or r.get("n_tiny") is not None:
        n_s, n_t = int(r.get("n_skewed") or 0), int(r.get("n_tiny") or 0)
        add(
            "skewed",
            "Skewed and tiny triangles",
            f"{n_s:,} skewed (an angle below {SKEW_ANGLE_DEG:g}°), {n_t:,} tiny (under 1/1000 of the median area)",
            "warn" if n_s or n_t else "",
        )
    edge = r.get("edge_length_m") or {}
    if all(_f(edge.get(k)) is not None for k in ("min", "median", "max")):
        add(
            "edge",
            "Element size (side)",
            f"smallest {_length(edge['min'])}, median {_length(edge['median'])}, largest {_length(edge['max'])}",
        )
    area = r.get("area_m2") or {}
    if all(_f(area.get(k)) is not None for k in ("min", "median", "max")):
        add("area", "Element area", f"{_area(area['min'])} to {_area(area['max'])} (median {_area(area['median'])})")
    depth = r.get("depth_range_m") or ()
    if len(depth) == 2 and all(_f(d) is not None for d in depth):
        dry = int(r.get("n_dry_nodes") or 0)
        add(
            "depth",
            "Depth range",
            f"{depth[0]:.1f}–{depth[1]:.1f} m (positive down)"
            + (f"; {dry:,} nodes above the datum (dry at rest)" if dry else ""),
        )
    if r.get("n_parts") is not None:
        n = int(r["n_parts"])
        add("parts", "Connected parts", f"{n}" + (" (separate pieces of water)" if n > 1 else ""), "warn" if n > 1 else "")
    bounds = [b for b in r.get("boundaries") or () if isinstance(b, dict)]
    if bounds:
        shown = "; ".join(f"{b.get('name')} ({b.get('role')}, {int(b.get('n_node') or 0):,} nodes)" for b in bounds[:20])
        more = f"; and {len(bounds) - 20} more" if len(bounds) > 20 else ""
        walls = int(r.get("n_unnamed_boundary_edges") or 0)
        add("boundaries", "Boundary segments", shown + more + (f"; {walls:,} edges in none (walls)" if walls else ""))
    defects = [
        (key, label)
        for key, label in (
            ("n_reoriented", "faces reoriented"),
            ("n_duplicate_nodes", "duplicate nodes"),
            ("n_unused_nodes", "unused nodes"),
            ("n_nonmanifold_edges", "non-manifold edges"),
        )
        if key in r
    ]
    if defects:
        found = [f"{int(r[k]):,} {label}" for k, label in defects if r[k]]
        add("repairs", "Repairs and defects", "; ".join(found) or "none", "warn" if found else "")
    if (dt := _f(r.get("dt_s"))) is not None:
        where = r.get("dt_limiting_lonlat")
        at = f" at {_lonlat(*where)}" if where and len(where) == 2 and None not in where else ""
        d = _f(r.get("dt_limiting_depth_m"))
        by = f", limited by a {d:.1f} m deep triangle{at}" if d is not None else ""
        cfl = _f(r.get("cfl"))
        add("dt", "Stable time step", f"{dt:.2g} s" + (f" (CFL {cfl:g})" if cfl else "") + by)
    if "crs" in r:
        crs = r.get("crs")
        add("crs", "Coordinates", "longitude/latitude (EPSG:4326)" if crs == "EPSG:4326" else (crs or "Cartesian metres"))
    return rows


def _depth_sources(mesh_path) -> dict | None:
    """{source: node count} recorded beside a generated mesh, or None."""
    if not mesh_path:
        return None
    try:
        return services.depth_sources(mesh_path)
    except Exception as exc:  # noqa: BLE001 - the report still shows without them
        log.info("depth sources of %s: %s", mesh_path, exc)
        return None


def preflight(
    report: dict | None, summary: dict | None, mesh_path, hours, preview_url=None, title="Pre-flight report", error=None
) -> dict:
    """What the ``preflight`` macro shows: labelled rows, problems, warnings, notes, depth sources,
    the run-time estimate and the preview's URL."""
    r = report or {}
    summary = summary or {}
    sources = _depth_sources(mesh_path) or {}
    total = sum(sources.values())
    n_node, n_face = r.get("n_node", summary.get("n_node")), r.get("n_face", summary.get("n_face"))
    opens = summary.get("open_boundaries")
    if opens is None:
        opens = [b.get("name") for b in r.get("boundaries") or () if isinstance(b, dict) and b.get("role") == "open"]
    return {
        "title": title,
        "error": error,
        "n_node": n_node,
        "n_face": n_face,
        "open_boundaries": opens,
        "rows": _report_rows(r),
        "problems": [str(m) for m in list(r.get("problems") or []) + list(r.get("errors") or [])],
        "warnings": [str(m) for m in r.get("warnings") or []],
        "notes": [str(m) for m in r.get("notes") or []],
        "sources": [
            {"name": k, "nodes": v, "pct": 100.0 * v / total if total else 0.0}
            for k, v in sorted(sources.items(), key=lambda kv: -kv[1])
        ],
        "estimate": run_time_estimate(r, hours or _f(r.get("hours")) or 72),
        "preview_url": preview_url,
    }


def _mesh_report(system) -> tuple[dict | None, str | None]:
    """The pre-flight report of the system's mesh (kept from an upload, else computed), or (None, why)."""
    settings = system.settings or {}
    if settings.get("mesh_report"):
        return settings["mesh_report"], None
    if not system.mesh_path or not Path(system.mesh_path).is_file():
        return None, None
    try:
        return _cached("report", system.mesh_path, lambda: services.check_mesh(services.read_mesh(Path(system.mesh_path)))), None
    except Exception as exc:  # noqa: BLE001 - the page works without it
        log.info("pre-flight report of system %s: %s", system.id, exc)
        return None, f"The pre-flight report is not available: {_one_line(exc)}"


def system_preflight(system, title="Pre-flight report") -> dict | None:
    """The pre-flight of the system's chosen mesh (None before the region step)."""
    if not system.mesh_path:
        return None
    report, error = _mesh_report(system)
    return preflight(
        report,
        (system.settings or {}).get("mesh"),
        system.mesh_path,
        system.horizon_hours,
        url_for("wizard.mesh_preview", system_id=system.id),
        title,
        error,
    )


def _node_sources(lon, lat, counts: dict):
    """(source names, per-node index) of a generated mesh, re-derived from the sources that
    ``workflows.meshgen`` uses in the order it uses them; None where they do not give the
    recorded counts (a bathymetry file given at generation, a gallery changed since)."""
    import numpy as np

    sources, synthetic = services.bathymetry_sources((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())))
    idx = np.full(lon.size, -1, dtype=np.int64)
    names: list[str] = []
    for src in sources:
        todo = np.flatnonzero(idx < 0)
        if todo.size == 0:
            break
        ok = np.isfinite(np.asarray(src(lon[todo], lat[todo]), dtype=float))
        if ok.any():
            names.append(src.name)
            idx[todo[ok]] = len(names) - 1
    if (idx < 0).any():
        names.append(synthetic)
        idx[idx < 0] = len(names) - 1
    got = {n: int((idx == k).sum()) for k, n in enumerate(names)}
    if got != counts:
        log.info("per-node depth sources not re-derived: %s against the recorded %s", got, counts)
        return None, None
    return names, idx


def mesh_preview_json(path) -> bytes:
    """The map preview of the mesh at ``path``: node ``lon``/``lat`` (°) and ``depth`` (m, positive
    down), flat ``triangles`` (3 node ids a face), ``open_boundaries`` (GeoJSON lines with their
    ``name``), ``depth_sources`` ({source: nodes} of a generated mesh) and, where they can be
    re-derived, ``source_names`` and ``node_source`` (an index into them per node)."""
    import numpy as np

    mesh = services.read_mesh(Path(path))
    lon, lat = np.asarray(mesh.node_x, dtype=float), np.asarray(mesh.node_y, dtype=float)
    crs = getattr(mesh, "crs", "EPSG:4326")
    if crs != "EPSG:4326" and not getattr(mesh, "is_geographic", False):
        if crs is None:
            raise ValueError("a mesh in Cartesian metres (no coordinate system) has no map preview")
        from pyproj import Transformer

        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(lon, lat)
        lon, lat = np.asarray(lon), np.asarray(lat)
    faces = np.asarray(mesh.face_node_connectivity, dtype=np.int64)
    depth = getattr(mesh, "depth", None)
    lines = []
    for b in getattr(mesh, "boundaries", ()):
        ids = getattr(b, "node_ids", None)
        if b.role != "open" or ids is None or len(ids) < 2:
            continue
        ids = np.asarray(ids, dtype=np.int64)
        lines.append(
            {
                "type": "Feature",
                "properties": {"name": b.name},
                "geometry": {"type": "LineString", "coordinates": np.round(np.column_stack([lon[ids], lat[ids]]), 6).tolist()},
            }
        )
    counts = _depth_sources(path)
    names = node_source = None
    if counts:
        try:
            names, node_source = _node_sources(lon, lat, counts)
        except Exception as exc:  # noqa: BLE001 - the preview colours by depth only
            log.info("per-node depth sources of %s: %s", path, exc)
    data = {
        "n_node": int(lon.size),
        "n_face": int(faces.shape[0]),
        "bbox": [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())],
        "lon": np.round(lon, 6).tolist(),
        "lat": np.round(lat, 6).tolist(),
        "depth": None if depth is None else np.round(np.asarray(depth, dtype=float), 2).tolist(),
        "triangles": faces.ravel().tolist(),
        "open_boundaries": {"type": "FeatureCollection", "features": lines},
        "depth_sources": counts,
        "source_names": names,
        "node_source": None if node_source is None else node_source.tolist(),
    }
    return json.dumps(data, separators=(",", ":")).encode()


def _preview_path(system, which: str) -> str | None:
    if which == "pending":
        path = ((system.settings or {}).get("pending_upload") or {}).get("path")
    else:
        path = system.mesh_path
    return path if path and Path(path).is_file() else None


@bp.route("/<int:system_id>/wizard/mesh.json")
@login_required
def mesh_preview(system_id: int):
    """The map preview's JSON of the system's mesh (``?mesh=pending``: the upload under review)."""
    system = owned_system(system_id)
    path = _preview_path(system, request.args.get("mesh", "system"))
    if path is None:
        abort(404, description="this system has no such mesh")
    try:
        data = _cached("preview", path, lambda: mesh_preview_json(path))
    except Exception as exc:  # noqa: BLE001 - one line for the page; the log keeps the detail
        log.info("mesh preview of system %s: %s", system.id, exc)
        return Response(json.dumps({"error": _one_line(exc)}), status=422, mimetype="application/json")
    resp = Response(data, mimetype="application/json")
    resp.cache_control.private = True
    resp.cache_control.no_cache = True
    resp.add_etag()
    return resp.make_conditional(request)
