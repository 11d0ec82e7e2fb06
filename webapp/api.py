"""The JSON API (documented in docs/api.md and, with examples, on the page /account/api).

Read-only; owner-scoped (another user's system or cycle is 404). A request is authenticated by
the web session cookie or by a personal token, ``Authorization: Bearer <token>``
(:mod:`webapp.tokens`): a token request acts as the token's owner, needs no CSRF token and
never touches the session; a wrong or revoked token is 401 even beside a valid cookie. Requests
by cookie that change something (none today) must carry the CSRF token (``X-CSRFToken``).
"""

from __future__ import annotations

import math
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, jsonify, request, url_for

from workflows.db import ForecastSystem

from .auth import login_required
from .coastline import BBoxError, coastline_gzip, coastline_json, parse_bbox
from .downloads import send_cycle_file
from .extensions import csrf, get_session
from .outputs import (
    OutputError,
    cycle_alerts,
    cycle_skill,
    fields_info,
    frame_json,
    list_files,
    max_json,
    mesh_json,
    point_series,
    stations_json,
)
from .progress import cycle_progress
from .security import user_error, user_log
from .systems import config_versions, cycle_config_version, owned_cycle, owned_system
from .tokens import TokenError, parse_authorization, user_for_token

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # token requests need none; cookie requests that change something are checked below


@bp.before_request
def authenticate():
    """``Authorization: Bearer <token>``: the token's owner becomes the request's user (a bad
    token is 401). Without it the session's user stays, and an unsafe method needs the CSRF token."""
    g.api_token = None
    try:
        token = parse_authorization(request.headers.get("Authorization"))
        if token is None:
            if g.get("user") is not None and current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()  # GET/HEAD/OPTIONS pass; anything else needs X-CSRFToken
            return None
        db = get_session()
        g.user, g.api_token = user_for_token(db, token)
        db.commit()  # last_used
    except TokenError as exc:
        g.user = None
        resp = jsonify(error=str(exc), status=401)
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="coastcast"'
        return resp
    return None


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def system_dict(s: ForecastSystem, full: bool = False) -> dict:
    d = {
        "id": s.id,
        "name": s.name,
        "status": s.status,
        "region_kind": s.region_kind,
        "bbox": s.bbox,
        "run_hour_utc": s.run_hour_utc,
        "horizon_hours": s.horizon_hours,
        "created": _iso(s.created),
        "url": url_for("api.system", system_id=s.id),
    }
    if full:
        d["stations"] = [{"name": st.name, "lon": st.lon, "lat": st.lat} for st in s.stations]
        d["config_toml"] = s.config_toml
        versions = config_versions(s)
        d["config_version"] = versions[-1]["version"]
        d["config_versions"] = [{"version": v["version"], "created": _iso(v["created"]), "note": v["note"]} for v in versions]
        d["cycles"] = [cycle_dict(c) for c in s.cycles]
    return d


def cycle_dict(c, full: bool = False) -> dict:
    d = {
        "id": c.id,
        "system_id": c.system_id,
        "cycle": c.label,
        "cycle_time": _iso(c.cycle_time),
        "status": c.status,
        "progress": round(float(c.progress or 0.0), 4),
        "started": _iso(c.started),
        "finished": _iso(c.finished),
        "error": user_error(c.error),
        "url": url_for("api.cycle", cycle_id=c.id),
    }
    if full:
        live = cycle_progress(c)  # the same progress the pages show (fraction of simulated time)
        d.update(
            progress=live["progress"],
            stage=live["stage"],
            simulated_hours=live["simulated_hours"],
            total_hours=live["total_hours"],
            spinup_hours=live["spinup_hours"],
            eta=live["eta"],
        )
        d["log"] = user_log(c.log)
        d["files"] = _files(c)
        v = cycle_config_version(c)
        d["config_version"] = v["version"] if v else None
    return d


def _files(c) -> list[dict]:
    if not c.run_dir:
        return []
    return [
        {
            "name": f["name"],
            "size": f["size"],
            "description": f["description"],
            "url": url_for("downloads.file", cycle_id=c.id, name=f["name"]),
            "download_url": url_for("api.file", cycle_id=c.id, name=f["name"]),
        }
        for f in list_files(Path(c.run_dir))
    ]


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
    rows = get_session().query(ForecastSystem).filter_by(owner_id=g.user.id).order_by(ForecastSystem.created.desc()).all()
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


@bp.route("/cycles/<int:cycle_id>/files/<path:name>")
@login_required
def file(cycle_id: int, name: str):
    return send_cycle_file(owned_cycle(cycle_id), name)


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


# ---------------------------------------------------------------- documentation (the page /account/api)

DOCS = {
    "api.systems": (
        "Your forecast systems, newest first.",
        "/api/systems",
        '{"systems": [{"id": 3, "name": "Plymouth Sound", "status": "active", "region_kind": "box",\n'
        '  "bbox": [-4.4, 50.1, -4.0, 50.4], "run_hour_utc": 0, "horizon_hours": 48,\n'
        '  "created": "2026-11-24T09:12:40Z", "url": "/api/systems/3"}]}',
    ),
    "api.system": (
        "One system with its stations, current configuration (TOML) and its versions, and its cycles.",
        "/api/systems/3",
        '{"id": 3, "name": "Plymouth Sound", ..., "stations": [{"name": "Plymouth", "lon": -4.185, "lat": 50.366}],\n'
        ' "config_toml": "name = \\"Plymouth Sound\\"\\nhours = 48\\n...", "config_version": 2,\n'
        ' "config_versions": [{"version": 1, "created": "2026-11-24T09:12:40Z", "note": "created with the wizard"},\n'
        '   {"version": 2, "created": "2026-11-26T08:00:12Z", "note": "horizon 24 → 48 h"}], "cycles": [cycle, ...]}',
    ),
    "api.system_cycles": ("A system's cycles, newest first.", "/api/systems/3/cycles", '{"cycles": [cycle, ...]}'),
    "api.cycle": (
        "One cycle: status, progress, times, a one-line error, its log and its files.",
        "/api/cycles/7",
        '{"id": 7, "system_id": 3, "cycle": "2026-11-25T00Z", "cycle_time": "2026-11-25T00:00:00Z",\n'
        ' "status": "succeeded", "progress": 1.0, "started": "2026-11-25T00:00:05Z",\n'
        ' "finished": "2026-11-25T00:03:41Z", "error": null, "log": "...", "files": [file, ...],\n'
        ' "config_version": 1}',
    ),
    "api.files": (
        "The files a cycle published, with one-line descriptions (not its work/ internals).",
        "/api/cycles/7/files",
        '{"files": [{"name": "fields.nc", "size": 5242880, "description": "water level and depth-averaged\n'
        '  velocity on the mesh at every output time, CF/UGRID NetCDF", "url": "/cycles/7/files/fields.nc",\n'
        '  "download_url": "/api/cycles/7/files/fields.nc"}, ...]}',
    ),
    "api.file": (
        "Download one published file (streamed; Range requests resume).",
        "/api/cycles/7/files/fields.nc",
        "the file's bytes (application/x-netcdf for .nc)",
    ),
    "api.mesh": (
        "The mesh of fields.nc: node lon/lat, triangles, output times (s since 1970 UTC), ranges.",
        "/api/cycles/7/mesh",
        '{"n_node": 120, "n_face": 198, "location": "node", "lon": [...], "lat": [...], "triangles": [0, 1, 13, ...],\n'
        ' "times": [1795564800, ...], "bbox": [...], "has_velocity": true, "zeta_min": -0.8, "zeta_max": 0.9,\n'
        ' "speed_max": 0.36}',
    ),
    "api.frame": (
        "Water level (m) and velocity (m/s) on the mesh at output time i.",
        "/api/cycles/7/fields/3",
        '{"index": 3, "time": 1795575600, "location": "node", "zeta": [0.412, ...], "u": [0.21, ...], "v": [...]}',
    ),
    "api.maxima": (
        "Maximum water level and current speed over the forecast.",
        "/api/cycles/7/max",
        '{"location": "node", "source": "max.nc", "zeta_max": [...], "speed_max": [...],\n'
        ' "zeta_max_range": [0.2, 0.95], "speed_max_range": [0.0, 0.36]}',
    ),
    "api.stations": (
        "Time series at the stations (and tide gauges): water level, u, v, current speed and "
        "direction; times as seconds and ISO-8601 UTC.",
        "/api/cycles/7/stations",
        '{"stations": [{"name": "Plymouth", "lon": -4.185, "lat": 50.366, "gauge_id": null, ...}],\n'
        ' "times": [1795564800, ...], "times_iso": ["2026-11-25T00:00:00Z", ...],\n'
        ' "zeta": [[0.0, 0.41, ...]], "u": [[0.3, ...]], "v": [[-0.2, ...]],\n'
        ' "speed": [[0.361, ...]], "direction": [[123.7, ...]], "tide_prediction": [null], ...}',
    ),
    "api.skill": (
        "Skill at the tide gauges against their harmonic prediction.",
        "/api/cycles/7/skill",
        '{"cycle": "2022-03-18T00Z", "reference": "...", "n_gauges": 2, "rmse_median_m": 0.061, ...,\n'
        ' "stations": [{"station": "Brest", "rmse_m": 0.058, "bias_m": -0.01, ...}]}',
    ),
    "api.alerts": (
        "Threshold alerts (MHWS, HAT, your own thresholds).",
        "/api/cycles/7/alerts",
        '{"cycle": "2022-03-18T00Z", "checked": true, "n_alerts": 1, "alerts": [{"station": "Brest",\n'
        '  "threshold": "MHWS", "level": 2.8, "peak_time": "2022-03-18T03:46:26+00:00", "peak_height": 2.946, ...}]}',
    ),
    "api.series": (
        "Time series at any point (lon, lat in degrees): water level, u, v, speed and direction.",
        "/api/cycles/7/series?lon=-4.2&lat=50.3",
        '{"lon": -4.2, "lat": 50.3, "method": "face", "face": 57, "times": [...],\n'
        ' "times_iso": ["2026-11-25T00:00:00Z", ...], "zeta": [...], "u": [...], "v": [...],\n'
        ' "speed": [...], "direction": [...]}',
    ),
    "api.coastline": (
        "The coastline and land in a box (GeoJSON; no login needed).",
        "/api/coastline?bbox=-5,50,-4,51",
        '{"type": "FeatureCollection", "bbox": [-5, 50, -4, 51], "tolerance": 0.001, "land": true,\n'
        ' "source": "GSHHG ...", "features": [...]}',
    ),
}
"""Per endpoint of this blueprint: (what it answers, an example request path, an example answer)."""


def endpoint_docs(app) -> list[dict]:
    """Every route of this blueprint, in :data:`DOCS`'s order (then any undocumented one):
    ``{endpoint, methods, rule, summary, example_path, example}``."""
    order = list(DOCS)
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(bp.name + "."):
            continue
        summary, path, example = DOCS.get(rule.endpoint, ("", "", ""))
        out.append(
            {
                "endpoint": rule.endpoint,
                "methods": sorted(rule.methods - {"HEAD", "OPTIONS"}),
                "rule": rule.rule,
                "summary": summary,
                "example_path": path,
                "example": example,
            }
        )
    return sorted(out, key=lambda d: (order.index(d["endpoint"]) if d["endpoint"] in order else len(order), d["rule"]))
