"""The JSON API (documented in docs/api.md). Read-only; login by session cookie; owner-scoped (404)."""
from __future__ import annotations

import math
from pathlib import Path

from flask import Blueprint, Response, abort, g, jsonify, request, url_for

from workflows.db import ForecastSystem

from . import get_session
from .auth import login_required
from .coastline import BBoxError, coastline_gzip, coastline_json, parse_bbox
from .outputs import (OutputError, cycle_alerts, cycle_skill, fields_info, frame_json, list_files, max_json, mesh_json,
                      point_series, stations_json)
from .security import user_error, user_log
from .systems import owned_cycle, owned_system

bp = Blueprint("api", __name__, url_prefix="/api")


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def system_dict(s: ForecastSystem, full: bool = False) -> dict:
    d = {"id": s.id, "name": s.name, "status": s.status, "region_kind": s.region_kind, "bbox": s.bbox,
         "run_hour_utc": s.run_hour_utc, "horizon_hours": s.horizon_hours, "created": _iso(s.created),
         "url": url_for("api.system", system_id=s.id)}
    if full:
        d["stations"] = [{"name": st.name, "lon": st.lon, "lat": st.lat} for st in s.stations]
        d["config_toml"] = s.config_toml
        d["cycles"] = [cycle_dict(c) for c in s.cycles]
    return d


def cycle_dict(c, full: bool = False) -> dict:
    d = {"id": c.id, "system_id": c.system_id, "cycle": c.label, "cycle_time": _iso(c.cycle_time),
         "status": c.status, "progress": round(float(c.progress or 0.0), 4), "started": _iso(c.started),
         "finished": _iso(c.finished), "error": user_error(c.error), "url": url_for("api.cycle", cycle_id=c.id)}
    if full:
        d["log"] = user_log(c.log)
        d["files"] = _files(c)
    return d


def _files(c) -> list[dict]:
    if not c.run_dir:
        return []
    return [{**f, "url": url_for("downloads.file", cycle_id=c.id, name=f["name"])} for f in list_files(Path(c.run_dir))]


def _json_bytes(data: bytes, max_age: int = 3600) -> Response:
    resp = Response(data, mimetype="application/json")
    resp.cache_control.private = True
    resp.cache_control.max_age = max_age
    resp.add_etag()
    return resp.make_conditional(request)


def _output(c, name: str) -> Path:
    if not c.run_dir or not (Path(c.run_dir) / name).is_file():
        abort(404, description=f"cycle {c.label} has no {name}")
    return Path(c.run_dir) / name


@bp.route("/systems")
@login_required
def systems():
    rows = (get_session().query(ForecastSystem).filter_by(owner_id=g.user.id)
            .order_by(ForecastSystem.created.desc()).all())
    return jsonify(systems=[system_dict(s) for s in rows])


@bp.route("/systems/<int:system_id>")
@login_required
def system(system_id: int):
    return jsonify(system_dict(owned_system(system_id), full=True))


@bp.route("/systems/<int:system_id>/cycles")
@login_required
def system_cycles(system_id: int):
    return jsonify(cycles=[cycle_dict(c) for c in owned_system(system_id).cycles])


@bp.route("/cycles/<int:cycle_id>")
@login_required
def cycle(cycle_id: int):
    return jsonify(cycle_dict(owned_cycle(cycle_id), full=True))


@bp.route("/cycles/<int:cycle_id>/files")
@login_required
def files(cycle_id: int):
    return jsonify(files=_files(owned_cycle(cycle_id)))


def _guard(fn):
    try:
        return fn()
    except OutputError as exc:
        abort(422, description=str(exc))


@bp.route("/cycles/<int:cycle_id>/mesh")
@login_required
def mesh(cycle_id: int):
    path = _output(owned_cycle(cycle_id), "fields.nc")
    return _json_bytes(_guard(lambda: mesh_json(path)))


@bp.route("/cycles/<int:cycle_id>/fields/<int:index>")
@login_required
def frame(cycle_id: int, index: int):
    path = _output(owned_cycle(cycle_id), "fields.nc")
    n = _guard(lambda: fields_info(path)).n_time
    if not 0 <= index < n:
        abort(404, description=f"time index {index} is outside 0..{n - 1}")
    return _json_bytes(_guard(lambda: frame_json(path, index)))


@bp.route("/cycles/<int:cycle_id>/max")
@login_required
def maxima(cycle_id: int):
    c = owned_cycle(cycle_id)
    path = _output(c, "fields.nc")
    mx = Path(c.run_dir) / "max.nc"
    return _json_bytes(_guard(lambda: max_json(mx if mx.is_file() else None, path)))


@bp.route("/cycles/<int:cycle_id>/stations")
@login_required
def stations(cycle_id: int):
    path = _output(owned_cycle(cycle_id), "stations.nc")
    return _json_bytes(_guard(lambda: stations_json(path)))


@bp.route("/cycles/<int:cycle_id>/skill")
@login_required
def skill(cycle_id: int):
    c = owned_cycle(cycle_id)
    data = _guard(lambda: cycle_skill(c.run_dir))
    if data is None:
        abort(404, description=f"cycle {c.label} has no run.json or skill.csv")
    return jsonify({"cycle": c.label, **data})


@bp.route("/cycles/<int:cycle_id>/alerts")
@login_required
def alerts(cycle_id: int):
    c = owned_cycle(cycle_id)
    _output(c, "run.json")
    data = _guard(lambda: cycle_alerts(c.run_dir))
    return jsonify(cycle=c.label, checked=data is not None, n_alerts=len(data or []), alerts=data or [])


@bp.route("/cycles/<int:cycle_id>/series")
@login_required
def series(cycle_id: int):
    path = _output(owned_cycle(cycle_id), "fields.nc")
    try:
        lon, lat = float(request.args["lon"]), float(request.args["lat"])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 360 and -90 <= lat <= 90):
            raise ValueError
    except (KeyError, ValueError):
        abort(400, description="give lon and lat in degrees, e.g. ?lon=-4.14&lat=50.37")
    return jsonify(_guard(lambda: point_series(path, lon, lat)))


@bp.route("/coastline")
def coastline():
    bbox = None
    if "bbox" in request.args:
        try:
            bbox = parse_bbox(request.args["bbox"])
        except BBoxError as exc:
            abort(400, description=str(exc))
    gzipped = request.accept_encodings["gzip"] > 0
    resp = Response(coastline_gzip(bbox) if gzipped else coastline_json(bbox), mimetype="application/geo+json")
    if gzipped:
        resp.content_encoding = "gzip"
    resp.vary.add("Accept-Encoding")
    resp.cache_control.public = True
    resp.cache_control.max_age = 86400
    resp.add_etag()
    return resp.make_conditional(request)
