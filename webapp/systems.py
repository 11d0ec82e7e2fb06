"""Forecast systems on disk and in the database: ownership, folders, the TOML config, stations.

A system's folder (``ForecastSystem.data_dir``) lies under ``<COASTCAST_DATA_DIR>/systems/`` and
holds its mesh, ``config.toml`` and ``cycles/<YYYYmmddTHHZ>/`` run directories. Every lookup
here is scoped to the logged-in owner: another user's system is simply "not found" (404).
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import tomli_w
from flask import abort, current_app, g

from workflows.db import Cycle, ForecastSystem, SystemConfigVersion

from .extensions import get_session


def data_root() -> Path:
    return Path(current_app.config["COASTCAST_DATA_DIR"]).resolve()


def new_system_dir() -> Path:
    """A fresh, empty folder for a system (named by a random token, not by the row id)."""
    path = data_root() / "systems" / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def inside(path: Path, root: Path) -> bool:
    """True when ``path`` (resolved) lies inside ``root`` (resolved)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def remove_dir(path: str | Path | None) -> None:
    """Delete a system's or cycle's folder, but only inside the data root."""
    if path and inside(Path(path), data_root()) and Path(path).resolve() != data_root():
        shutil.rmtree(path, ignore_errors=True)


def owned_system(system_id: int, *, drafts: bool | None = None) -> ForecastSystem:
    """The current user's system ``system_id`` or 404 (``drafts``: True only drafts, False no drafts)."""
    system = get_session().get(ForecastSystem, system_id)
    if system is None or g.user is None or system.owner_id != g.user.id:
        abort(404)
    if drafts is True and system.status != "draft":
        abort(404)
    if drafts is False and system.status == "draft":
        abort(404)
    return system


def owned_cycle(cycle_id: int) -> Cycle:
    """The current user's cycle ``cycle_id`` or 404."""
    cycle = get_session().get(Cycle, cycle_id)
    if cycle is None or g.user is None or cycle.system.owner_id != g.user.id:
        abort(404)
    return cycle


class StationError(ValueError):
    """A stations list that cannot be used; the message names the line."""


def parse_stations(text: str, bbox=None, source: str = "stations") -> list[tuple[str, float, float]]:
    """Parse ``name, lon, lat`` lines (CSV; a header line ``name,lon,lat`` is skipped).

    ``bbox`` (west, south, east, north): stations outside it are refused. Returns
    [(name, lon °E, lat °N)]. Raises :class:`StationError` naming the line.
    """
    out: list[tuple[str, float, float]] = []
    names = set()
    for lineno, row in enumerate(csv.reader(io.StringIO(text or "")), start=1):
        cells = [c.strip() for c in row]
        if not cells or all(c == "" for c in cells) or cells[0].startswith("#"):
            continue
        if lineno == 1 and [c.lower() for c in cells[:3]] == ["name", "lon", "lat"]:
            continue
        if len(cells) != 3:
            raise StationError(f"{source} line {lineno}: expected 'name, lon, lat', got {len(cells)} values")
        name = cells[0]
        if not name or len(name) > 80:
            raise StationError(f"{source} line {lineno}: the name must be 1 to 80 characters")
        try:
            lon, lat = float(cells[1]), float(cells[2])
        except ValueError:
            raise StationError(f"{source} line {lineno}: lon/lat {cells[1]!r}, {cells[2]!r} are not numbers") from None
        if not (-180 <= lon <= 360 and -90 <= lat <= 90):
            raise StationError(f"{source} line {lineno}: ({lon}, {lat}) is not a lon/lat position")
        if bbox is not None:
            w, s, e, n = bbox
            if not (w <= lon <= e and s <= lat <= n):
                raise StationError(
                    f"{source} line {lineno}: station {name!r} at ({lon:.4f}, {lat:.4f}) is outside the region "
                    f"({w:.4f}, {s:.4f}, {e:.4f}, {n:.4f})"
                )
        if name in names:
            raise StationError(f"{source} line {lineno}: station name {name!r} is used twice")
        names.add(name)
        out.append((name, lon, lat))
    if len(out) > 500:
        raise StationError(f"{source}: {len(out)} stations; at most 500 are allowed")
    return out


THRESHOLD_DATUMS = (("MSL", "mean sea level"), ("chart", "chart datum"), ("LAT", "lowest astronomical tide"))
"""Datums a user's threshold may be given above (chart and LAT only at tide-gauge stations)."""
MAX_THRESHOLDS = 200
MAX_LEVEL_M = 100.0


def _row_blank(row: dict) -> bool:
    return not any(str(row.get(k) or "").strip() for k in ("station", "name", "level"))


def parse_thresholds(rows: list[dict], stations: list[str], gauges=()) -> tuple[list[dict], dict[int, str]]:
    """Check the wizard's threshold rows; returns (thresholds, {row index: one-line error}) (index -1:
    the list as a whole).

    ``rows``: [{station, name, level, datum}] as typed (strings); blank rows are skipped.
    ``stations``: the user's station names; ``gauges``: :class:`webapp.services.GaugeChoice` of
    the gauges a cycle places on the mesh (a threshold names them by gauge id). Each threshold is
    ``{station, name, level_m, datum, kind ("station"/"gauge"), label}``; the config gets
    ``station``, ``level_m``, ``datum``, ``name`` as a ``[[thresholds]]`` table.
    """
    from workflows.config import ConfigError, ThresholdSpec
    from workflows.gauges import DATUMS

    by_id = {g.gauge_id: g for g in gauges}
    names = set(stations)
    datums = {d for d, _ in THRESHOLD_DATUMS}
    out, errors, seen = [], {}, set()
    for i, row in enumerate(rows):
        if _row_blank(row):
            continue
        n = i + 1
        station = str(row.get("station") or "").strip()
        name = " ".join(str(row.get("name") or "").split())
        level_text = str(row.get("level") or "").strip()
        datum = str(row.get("datum") or "MSL").strip()
        if not station:
            errors[i] = f"Row {n}: choose the station."
            continue
        if station in names:
            kind, gauge, label = "station", None, station
        elif station in by_id:
            kind, gauge = "gauge", by_id[station]
            label = f"{gauge.station} ({gauge.gauge_id})"
        else:
            errors[i] = f"Row {n}: {station!r} is neither one of your stations nor a tide gauge on this mesh."
            continue
        try:
            level = float(level_text.replace(",", "."))
            if not math.isfinite(level) or abs(level) > MAX_LEVEL_M:
                raise ValueError
        except ValueError:
            errors[i] = (
                f"Row {n}: the level must be a number of metres from -{MAX_LEVEL_M:g} to {MAX_LEVEL_M:g}, "
                f"e.g. 5.5 (got {level_text[:40]!r})."
            )
            continue
        if datum not in datums:
            errors[i] = f"Row {n}: the datum must be MSL, chart or LAT (got {datum[:40]!r})."
            continue
        if datum != "MSL" and gauge is None:
            errors[i] = f"Row {n}: {station!r} is not a tide gauge, so it has no {datum} datum: give the level above MSL."
            continue
        if gauge is not None and datum != "MSL" and datum not in gauge.datums:
            errors[i] = f"Row {n}: the gauge {gauge.station!r} has no {datum} datum in the catalogue: give the level above MSL."
            continue
        if len(name) > 60:
            errors[i] = f"Row {n}: the name is {len(name)} characters long; use at most 60."
            continue
        name = name or f"{level:g} m above {datum}"
        if kind == "gauge" and name.upper() in DATUMS:
            errors[i] = f"Row {n}: {name!r} names a tidal datum that every gauge station is checked against; choose another name."
            continue
        if (station, name.lower()) in seen:
            errors[i] = f"Row {n}: {label} already has a threshold named {name!r}."
            continue
        try:  # the forecast's own check, so that what the wizard accepts the cycle accepts
            ThresholdSpec.from_mapping({"station": station, "level_m": level, "datum": datum, "name": name}, f"Row {n}")
        except ConfigError as exc:
            errors[i] = str(exc).splitlines()[0]
            continue
        seen.add((station, name.lower()))
        out.append({"station": station, "name": name, "level_m": level, "datum": datum, "kind": kind, "label": label})
    if len(out) > MAX_THRESHOLDS:
        errors[-1] = f"{len(out)} thresholds; at most {MAX_THRESHOLDS} are allowed."
    return out, errors


def stale_thresholds(system: ForecastSystem, gauges=None) -> list[str]:
    """One line for each threshold of ``system`` whose station is gone: one of its own stations
    removed in the stations step, or (when ``gauges``, the gauges now on its mesh, are given) a
    gauge no longer on the mesh after the region changed."""
    names = {st.name for st in system.stations}
    placed = None if gauges is None else {g.gauge_id for g in gauges}
    out = []
    for t in (system.settings or {}).get("thresholds", []):
        if t.get("kind") == "station" and t["station"] not in names:
            out.append(f"threshold {t['name']!r}: station {t['station']!r} is no longer one of the stations")
        elif t.get("kind") == "gauge" and placed is not None and t["station"] not in placed:
            out.append(f"threshold {t['name']!r}: the tide gauge {t['station']!r} is not on the mesh any more")
    return out


def _tides_table(source: str, system: ForecastSystem) -> dict | None:
    """The [tides] table for a wizard tide choice (see workflows.forcing.tides); ``auto``: the
    best source for the system's mesh (:func:`workflows.tide_choice.choose_tides`)."""
    import os

    if source == "none":
        return None
    if source == "auto":
        from . import services

        if not system.mesh_path:
            return None
        return services.tide_choice(system.mesh_path, (system.settings or {}).get("gallery")).table
    if source == "coastcast":
        return {"kind": "atlas", "model": "coastcast"}
    if source == "jmj":
        from workflows.gallery import load_region

        atlas = load_region("channel_biscay").tides.atlas_file
        return {"kind": "atlas", "model": "jmj", "path": str(atlas)}
    data_dir = Path(os.environ.get("COASTCAST_TIDE_DIR", Path.home() / ".local" / "share" / "coastcast" / "tides"))
    model = {"fes2022": "fes", "tpxo9": "tpxo"}[source]
    return {"kind": "atlas", "model": model, "path": str(data_dir / source)}


def _river_table(r: dict, gallery: str | None) -> dict:
    """A [[rivers]] table: a constant discharge, or the gallery region's own river table."""
    if r.get("series") == "region" and gallery:
        from workflows.config import region_river
        from workflows.gallery import load_region

        for own in load_region(gallery).rivers:
            if own.boundary == r["boundary"]:
                return region_river(own)
        raise ValueError(f"the {gallery} region has no river on boundary {r['boundary']!r}")
    return {"boundary": r["boundary"], "discharge": float(r["discharge"])}


def _open_boundaries(mesh_path: str) -> list[str]:
    try:
        from solver.formats import read_mesh

        return [b.name for b in read_mesh(mesh_path).boundaries if b.role == "open"]
    except Exception:  # the config check will say what is wrong with the mesh
        return []


def config_dict(system: ForecastSystem, start: datetime | None = None) -> dict:
    """The forecast configuration (DESIGN §8, workflows.config) of a system as a dict ready for TOML."""
    s = system.settings or {}
    gallery = s.get("gallery") if system.region_kind == "gallery" else None
    # a gallery system names its region, so the region's datum, roles, rivers and stations apply
    cfg: dict = (
        {"name": system.name, "gallery": gallery} if gallery else {"name": system.name, "mesh": str(system.mesh_path or "")}
    )
    if start is not None:
        cfg["start"] = start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg["hours"] = int(system.horizon_hours)
    cfg["output_interval_minutes"] = int(s.get("output_interval_minutes", 60))
    if "spinup_hours" in s:
        cfg["spinup_hours"] = float(s["spinup_hours"])
    source = s.get("tide_source", "auto")
    region_tide = False
    if gallery and source == "auto":
        from . import services

        region_tide = services.region_defaults(gallery).has_tides
    tides = None if region_tide else _tides_table(source, system)  # the region's own tide: written by the region
    if tides:
        cfg["tides"] = tides
    cfg["atmosphere"] = {"source": s.get("atmosphere", "none")}
    rivers = [_river_table(r, gallery) for r in s.get("rivers", [])]
    river_names = {r["boundary"] for r in rivers}
    opens = _open_boundaries(str(system.mesh_path or ""))
    if opens:
        cfg["boundaries"] = {
            b: ("river" if b in river_names else ("tide" if (tides or region_tide) else "outflow")) for b in opens
        }
    if rivers:
        cfg["rivers"] = [r for r in rivers if not opens or r["boundary"] in opens]
    cfg["physics"] = {"manning": float(s.get("manning", 0.025))}
    stations = [{"name": st.name, "lon": st.lon, "lat": st.lat} for st in system.stations]
    if stations:
        cfg["stations"] = stations
    thresholds = [
        {"station": t["station"], "level_m": float(t["level_m"]), "datum": t.get("datum", "MSL"), "name": t["name"]}
        for t in s.get("thresholds", [])
    ]
    if thresholds:
        cfg["thresholds"] = thresholds
    return cfg


def config_toml(system: ForecastSystem, start: datetime | None = None) -> str:
    """:func:`config_dict` as TOML text."""
    return tomli_w.dumps(config_dict(system, start))


def river_rows(boundaries, rivers_now: dict, region_rivers: dict, form=None) -> list[dict]:
    """The open boundaries as the forcings form shows them: ``{index, name, role ("tide"/"river"),
    discharge (text), region (the region's own discharge text, or None)}``; from the posted
    ``boundary-<i>-role``/``-discharge`` fields when ``form`` (request.form) is given, else from
    the current rivers ``{boundary: discharge or None}``."""
    rows = []
    for i, b in enumerate(boundaries):
        if form is not None:
            role = form.get(f"boundary-{i}-role", "tide")
            q = form.get(f"boundary-{i}-discharge", "").strip()
        else:
            role = "river" if b in rivers_now else "tide"
            q = "" if rivers_now.get(b) is None else f"{rivers_now[b]:g}"
        rows.append({"index": i, "name": b, "role": role, "discharge": q, "region": region_rivers.get(b)})
    return rows


MAX_DISCHARGE = 300_000.0


def parse_river_rows(rows: list[dict]) -> tuple[list[dict], dict[int, str]]:
    """The rivers of the forcings form's rows (:func:`river_rows`): ``[{boundary, discharge}]`` or,
    for an empty discharge where the region has its own river, ``[{boundary, series: "region"}]``;
    and {row index: one-line error}."""
    rivers, errors = [], {}
    for row in rows:
        if row["role"] not in ("tide", "river"):
            errors[row["index"]] = "Choose tide or river."
        elif row["role"] == "river" and not row["discharge"] and row["region"]:
            rivers.append({"boundary": row["name"], "series": "region"})  # the region's own discharge
        elif row["role"] == "river":
            try:
                q = float(row["discharge"])
                if not math.isfinite(q) or q < 0 or q > MAX_DISCHARGE:
                    raise ValueError
            except ValueError:
                errors[row["index"]] = (
                    f"Boundary {row['name']!r}: give the river discharge in m³/s (a number from 0 to {MAX_DISCHARGE:.0f})."
                )
                continue
            rivers.append({"boundary": row["name"], "discharge": q})
    return rivers, errors


# ---------------------------------------------------------------- configuration versions

CONFIG_VERSION_FILE = ".config_version.json"
"""Beside a cycle's config.toml: which version of its system's configuration it was queued with
(hidden: neither listed nor served with the cycle's files)."""


def check_config_text(text: str, system: ForecastSystem) -> None:
    """Check a system's configuration TOML as a cycle will read it (``workflows.config``, with a
    start filled in); raises ``ConfigError``/``ValueError`` with a one-line message."""
    import tomllib

    from workflows.config import ForecastConfig

    data = tomllib.loads(text)
    data.setdefault("start", datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))
    ForecastConfig.from_mapping(data, base_dir=system.data_dir or ".", where="the new configuration")


def config_versions(system: ForecastSystem) -> list[dict]:
    """The system's configuration versions, oldest first: ``{version, created, note, config_toml,
    current}``. A system never edited has one, version 1 (its wizard's configuration), whether or
    not its row exists yet."""
    rows = [
        {"version": v.version, "created": v.created, "note": v.note, "config_toml": v.config_toml} for v in system.config_versions
    ]
    if not rows:
        rows = [
            {"version": 1, "created": system.created, "note": "created with the wizard", "config_toml": system.config_toml or ""}
        ]
    for r in rows:
        r["current"] = r is rows[-1]
    return rows


def add_config_version(session, system: ForecastSystem, text: str, note: str) -> SystemConfigVersion:
    """Make ``text`` the system's configuration as its next version (recording version 1 first
    where the system has no rows yet); updates ``config_toml`` and the system folder's
    config.toml. Not committed."""
    if not system.config_versions:
        system.config_versions.append(
            SystemConfigVersion(
                version=1, config_toml=system.config_toml or "", created=system.created, note="created with the wizard"
            )
        )
    row = SystemConfigVersion(version=system.config_versions[-1].version + 1, config_toml=text, note=note[:500])
    system.config_versions.append(row)
    system.config_toml = text
    if system.data_dir:
        folder = Path(system.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "config.toml.part"
        tmp.write_text(text)
        tmp.replace(folder / "config.toml")
    session.flush()
    return row


def cycle_config_version(cycle: Cycle) -> dict | None:
    """The version of its system's configuration a cycle ran with: ``{version, created, note,
    how}``, ``how`` "recorded" (written beside the cycle's config.toml when it was queued) or
    "by date" (the version in force when the cycle was created); None before the system has any."""
    system = cycle.system
    versions = config_versions(system)
    if not versions:
        return None
    by_number = {v["version"]: v for v in versions}
    if cycle.run_dir:
        try:
            import json

            rec = json.loads((Path(cycle.run_dir) / CONFIG_VERSION_FILE).read_text())
            v = by_number.get(int(rec.get("version"))) if rec.get("system_id") == system.id else None
            if v is not None:
                return {"version": v["version"], "created": v["created"], "note": v["note"], "how": "recorded"}
        except (OSError, ValueError, TypeError, AttributeError):
            pass
    when = cycle.created or cycle.cycle_time
    chosen = versions[0]
    for v in versions:
        if v["created"] is not None and when is not None and v["created"] <= when:
            chosen = v
    return {"version": chosen["version"], "created": chosen["created"], "note": chosen["note"], "how": "by date"}


def cycle_dir(system: ForecastSystem, cycle_time: datetime) -> Path:
    return Path(system.data_dir) / "cycles" / cycle_time.astimezone(timezone.utc).strftime("%Y%m%dT%HZ")


def cycle_config_text(system: ForecastSystem, start: datetime) -> str:
    """A cycle's configuration: the system's current version (``config_toml``; built from its
    settings where it has none stored) with ``start``, checked and written by the same code as the
    daily cycles' (:func:`workflows.scheduling.cycle_config_text`). ValueError: why it cannot run."""
    from workflows.scheduling import cycle_config_text as scheduled_config_text

    text = system.config_toml if (system.config_toml or "").strip() else config_toml(system, start)
    return scheduled_config_text(system, start, None, config_toml=text)


def write_cycle_config(system: ForecastSystem, cycle: Cycle) -> Path:
    """Write the cycle's own ``config.toml`` (the system's current configuration version, start =
    cycle time) into its run directory, and which version it is (:data:`CONFIG_VERSION_FILE`)."""
    import json

    run_dir = Path(cycle.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.toml"
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(cycle_config_text(system, cycle.cycle_time))
    tmp.replace(path)
    stamp = run_dir / (CONFIG_VERSION_FILE + ".tmp")
    stamp.write_text(
        json.dumps(
            {
                "system_id": system.id,
                "version": config_versions(system)[-1]["version"],
                "written": datetime.now(timezone.utc).isoformat(),
            }
        )
    )
    stamp.replace(run_dir / CONFIG_VERSION_FILE)
    return path
