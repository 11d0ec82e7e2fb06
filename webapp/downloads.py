"""Downloads of a cycle's published files (listed with one-line descriptions), streamed with HTTP range
support; never outside the run directory, never its work/ internals."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, send_file

from .auth import login_required
from .outputs import list_files, safe_file
from .security import is_admin, user_log
from .systems import owned_cycle

bp = Blueprint("downloads", __name__)

INLINE = {".png", ".json", ".log", ".toml", ".txt"}


@bp.route("/cycles/<int:cycle_id>/files")
@login_required
def index(cycle_id: int):
    cycle = owned_cycle(cycle_id)
    files = list_files(Path(cycle.run_dir)) if cycle.run_dir else []
    return render_template("downloads/index.html", cycle=cycle, system=cycle.system, files=files)


@bp.route("/cycles/<int:cycle_id>/files/<path:name>")
@login_required
def file(cycle_id: int, name: str):
    return send_cycle_file(owned_cycle(cycle_id), name)


def send_cycle_file(cycle, name: str):
    """Stream the published file ``name`` of ``cycle`` (404 for anything else: outside the run
    directory, hidden, a link, the work/ internals)."""
    if not cycle.run_dir:
        abort(404)
    path = safe_file(Path(cycle.run_dir), name)
    if path is None:
        abort(404)
    if path.name == "run.log" and not is_admin():
        # the owner's copy of the log: no tracebacks, server paths cut to file names (security.user_log)
        return Response(user_log(path.read_text(encoding="utf-8", errors="replace")), mimetype="text/plain")
    mimetype = (
        "application/x-netcdf"
        if path.suffix == ".nc"
        else (
            "text/plain" if path.suffix in (".log", ".toml") else mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
    )
    # send_file streams the file in blocks and, with conditional=True, answers Range and If-* requests.
    return send_file(
        path,
        mimetype=mimetype,
        as_attachment=path.suffix not in INLINE,
        download_name=path.name,
        conditional=True,
        etag=True,
        max_age=0,
    )
