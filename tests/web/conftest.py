"""Fixtures for the web tests: apps on SQLite and PostgreSQL, users, tiny meshes and run outputs.

Run outputs are written here in the published format (DESIGN §5: fields.nc UGRID-1.0 + CF,
stations.nc CF timeSeries, max.nc, run.json) with analytic values, so the viewer's numbers can be
checked exactly: zeta(lon, lat, t) = A sin(ωt) + GX (lon - LON0) + GY (lat - LAT0) is linear in
space, so barycentric interpolation inside a triangle reproduces it to rounding.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

PG_URL = os.environ.get("COASTCAST_TEST_DATABASE_URL", "postgresql+psycopg://coastcast:coastcast@127.0.0.1:5432/coastcast_test")
A, OMEGA, GX, GY = 0.8, 2 * math.pi / (12.42 * 3600), 0.1, 0.05
U0, V0 = 0.3, -0.2
PASSWORD = "correct horse 42"


def analytic_zeta(lon, lat, t_seconds, lon0, lat0):
    """Water level (m) of the fixture at lon/lat (°) and t (s after the first output)."""
    return A * np.sin(OMEGA * t_seconds) + GX * (np.asarray(lon) - lon0) + GY * (np.asarray(lat) - lat0)


def grid_mesh(bbox, nx=12, ny=10):
    """A structured triangulation of bbox: lon, lat (n,), faces (m, 3) counter-clockwise, 0-based."""
    w, s, e, n = bbox
    xs, ys = np.linspace(w, e, nx), np.linspace(s, n, ny)
    lon, lat = [a.ravel() for a in np.meshgrid(xs, ys)]
    faces = []
    for j in range(ny - 1):
        for i in range(nx - 1):
            a, b, c, d = j * nx + i, j * nx + i + 1, (j + 1) * nx + i + 1, (j + 1) * nx + i
            faces += [(a, b, c), (a, c, d)]
    return lon, lat, np.array(faces, dtype=np.int64)


def write_gr3(path, lon, lat, faces, depth=10.0):
    """A minimal SCHISM hgrid.gr3 (1-based ids, depth positive down); no boundary section."""
    lines = ["coastcast test mesh", f"{len(faces)} {len(lon)}"]
    lines += [f"{i + 1} {x:.8f} {y:.8f} {depth:.3f}" for i, (x, y) in enumerate(zip(lon, lat))]
    lines += [f"{k + 1} 3 {a + 1} {b + 1} {c + 1}" for k, (a, b, c) in enumerate(faces)]
    Path(path).write_text("\n".join(lines) + "\n")


def read_gr3(path):
    """Read the files written by :func:`write_gr3` (test helper, not the project's reader)."""
    rows = Path(path).read_text().split("\n")
    ne, nn = (int(v) for v in rows[1].split()[:2])
    nodes = np.array([[float(v) for v in r.split()[1:4]] for r in rows[2 : 2 + nn]])
    faces = np.array([[int(v) - 1 for v in r.split()[2:5]] for r in rows[2 + nn : 2 + nn + ne]])
    return nodes[:, 0], nodes[:, 1], faces


def write_outputs(run_dir, lon, lat, faces, stations, start, hours=3, interval_minutes=60):
    """Write fields.nc, stations.nc, max.nc, restart.nc, run.json, figures/map.png into run_dir."""
    run_dir = Path(run_dir)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    nt = int(hours * 60 // interval_minutes) + 1
    t = np.arange(nt) * interval_minutes * 60.0
    lon0, lat0 = float(lon[0]), float(lat[0])
    zeta = analytic_zeta(lon[None, :], lat[None, :], t[:, None], lon0, lat0)
    u = np.full_like(zeta, U0) * np.cos(OMEGA * t)[:, None]
    v = np.full_like(zeta, V0) * np.cos(OMEGA * t)[:, None]
    units = f"seconds since {start.strftime('%Y-%m-%d %H:%M:%S')}"
    time = xr.Variable("time", t, {"standard_name": "time", "units": units, "calendar": "standard", "axis": "T"})
    fields = xr.Dataset(
        {
            "mesh2d": xr.Variable(
                (),
                np.int32(0),
                {
                    "cf_role": "mesh_topology",
                    "topology_dimension": 2,
                    "node_coordinates": "mesh2d_node_x mesh2d_node_y",
                    "face_node_connectivity": "mesh2d_face_nodes",
                    "face_dimension": "nMesh2d_face",
                },
            ),
            "mesh2d_node_x": xr.Variable("nMesh2d_node", lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "mesh2d_node_y": xr.Variable("nMesh2d_node", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "mesh2d_face_nodes": xr.Variable(
                ("nMesh2d_face", "Three"), faces.astype(np.int32), {"cf_role": "face_node_connectivity", "start_index": 0}
            ),
            "zeta": xr.Variable(
                ("time", "nMesh2d_node"),
                zeta,
                {"standard_name": "sea_surface_height_above_mean_sea_level", "units": "m", "mesh": "mesh2d", "location": "node"},
            ),
            "ubar": xr.Variable(
                ("time", "nMesh2d_node"),
                u,
                {
                    "standard_name": "barotropic_eastward_sea_water_velocity",
                    "units": "m s-1",
                    "mesh": "mesh2d",
                    "location": "node",
                },
            ),
            "vbar": xr.Variable(
                ("time", "nMesh2d_node"),
                v,
                {
                    "standard_name": "barotropic_northward_sea_water_velocity",
                    "units": "m s-1",
                    "mesh": "mesh2d",
                    "location": "node",
                },
            ),
            "time": time,
        },
        attrs={"Conventions": "CF-1.11 UGRID-1.0"},
    )
    fields.to_netcdf(run_dir / "fields.nc")
    names = [s[0] for s in stations]
    slon = np.array([s[1] for s in stations], float)
    slat = np.array([s[2] for s in stations], float)
    sz = analytic_zeta(slon[:, None], slat[:, None], t[None, :], lon0, lat0)
    st = xr.Dataset(
        {
            "station_name": xr.Variable("station", np.array(names, dtype="S"), {"cf_role": "timeseries_id"}),
            "lon": xr.Variable("station", slon, {"standard_name": "longitude", "units": "degrees_east"}),
            "lat": xr.Variable("station", slat, {"standard_name": "latitude", "units": "degrees_north"}),
            "zeta": xr.Variable(
                ("station", "time"),
                sz,
                {"standard_name": "sea_surface_height_above_mean_sea_level", "units": "m", "coordinates": "time lon lat"},
            ),
            "u": xr.Variable(
                ("station", "time"),
                np.full_like(sz, U0) * np.cos(OMEGA * t),
                {"standard_name": "barotropic_eastward_sea_water_velocity", "units": "m s-1"},
            ),
            "v": xr.Variable(
                ("station", "time"),
                np.full_like(sz, V0) * np.cos(OMEGA * t),
                {"standard_name": "barotropic_northward_sea_water_velocity", "units": "m s-1"},
            ),
            "time": time,
        },
        attrs={"Conventions": "CF-1.11", "featureType": "timeSeries"},
    )
    st.to_netcdf(run_dir / "stations.nc", encoding={"station_name": {"char_dim_name": "name_strlen"}})
    mx = xr.Dataset(
        {
            "zeta_max": xr.Variable("nMesh2d_node", zeta.max(axis=0), {"long_name": "maximum water level", "units": "m"}),
            "speed_max": xr.Variable(
                "nMesh2d_node", np.hypot(u, v).max(axis=0), {"long_name": "maximum current speed", "units": "m s-1"}
            ),
            "zeta_max_time": xr.Variable("nMesh2d_node", t[zeta.argmax(axis=0)], {"units": units}),
        }
    )
    mx.to_netcdf(run_dir / "max.nc")
    xr.Dataset({"h": xr.Variable("nMesh2d_node", 10 + zeta[-1])}).to_netcdf(run_dir / "restart.nc")
    (run_dir / "figures" / "map.png").write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6300010000050001"
            "0d0a2db40000000049454e44ae426082"
        )
    )
    (run_dir / "run.json").write_text(json.dumps({"status": "succeeded", "warnings": [], "hours": hours}))
    return {"t": t, "zeta": zeta, "lon0": lon0, "lat0": lat0}


def stub_generate_mesh(bbox, out_path, **kwargs):
    """Stands in for workflows.meshgen.generate_mesh: a structured mesh of the box."""
    lon, lat, faces = grid_mesh(bbox, 16, 12)
    write_gr3(out_path, lon, lat, faces)
    return out_path


class StubMesh:
    """Duck-typed stand-in for solver.mesh.Mesh as returned by the stubbed reader."""

    def __init__(self, lon, lat, faces):
        from types import SimpleNamespace

        self.node_x, self.node_y, self.face_node_connectivity = lon, lat, faces
        self.crs = "EPSG:4326"
        self.boundaries = (
            SimpleNamespace(name="ocean", role="open"),
            SimpleNamespace(name="river_1", role="open"),
            SimpleNamespace(name="coast", role="land"),
        )


def stub_read_mesh(path):
    try:
        return StubMesh(*read_gr3(path))
    except Exception as exc:
        raise ValueError(f"{Path(path).name}: not a mesh file ({type(exc).__name__})") from None


def stub_check_mesh(mesh):
    n = len(mesh.node_x)
    return {
        "ok": True,
        "n_node": n,
        "n_face": int(len(mesh.face_node_connectivity)),
        "min_angle_deg": 45.0,
        "warnings": [],
        "errors": [],
    }


@pytest.fixture
def stub_services(monkeypatch):
    """Mesh generation, reading and checking replaced by the stubs above (webapp.services)."""
    from webapp import services

    monkeypatch.setattr(services, "generate_mesh", lambda bbox, out, **sizes: stub_generate_mesh(bbox, out))
    monkeypatch.setattr(services, "read_mesh", stub_read_mesh)
    monkeypatch.setattr(services, "check_mesh", stub_check_mesh)
    monkeypatch.setattr(services, "gallery_regions", lambda: [])
    monkeypatch.setattr(services, "gauge_stations", lambda mesh_path, taken=(): [])
    monkeypatch.setattr(services, "place_stations", lambda mesh_path, stations: [])
    monkeypatch.setattr(services, "tide_choice", lambda mesh_path, gallery=None: None)
    return services


@pytest.fixture(autouse=True)
def fast_password_hash(monkeypatch):
    """Cheap hashing in tests (scrypt costs about 0.1 s a hash); production keeps scrypt."""
    from workflows import db as dbm

    monkeypatch.setattr(dbm, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


def _pg_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=2).close()
    except Exception as exc:
        return f"no PostgreSQL answers at {PG_URL.split('@')[-1]} ({str(exc).splitlines()[0]}); run .ci/services.sh"
    return None


_PG_REASON = ["unchecked"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    if _PG_REASON[0] == "unchecked":
        _PG_REASON[0] = _pg_available()
    if _PG_REASON[0]:
        pytest.skip(_PG_REASON[0])
    from workflows import db as dbm

    engine = dbm.make_engine(PG_URL)
    dbm.drop_db(engine)
    engine.dispose()
    return PG_URL


@pytest.fixture
def make_app(tmp_path, db_url):
    apps = []

    def make(**config):
        from webapp import create_app

        cfg = {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "COASTCAST_DATABASE_URL": db_url,
            "COASTCAST_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "TESTING": True,
            "COASTCAST_RUNNER": "inline",
            "COASTCAST_DAILY": False,
            "COASTCAST_FIGURES": False,
            "COASTCAST_POLL_SECONDS": 0.2,
        }
        cfg.update(config)
        app = create_app(cfg)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["coastcast_runner"].shutdown(wait=True)
        app.extensions["coastcast_engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


def add_user(app, email, admin=False, approved=True):
    from workflows.db import create_user

    with app.extensions["coastcast_sessions"]() as s:
        u = create_user(s, email, PASSWORD, is_admin=admin, is_approved=approved)
        s.commit()
        return u.id


def login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert m, "no csrf token in the page"
    return m.group(1)


@pytest.fixture
def system_with_cycle(app, tmp_path):
    """Owner alice with an active system (gr3 mesh, two stations) and one succeeded cycle with outputs."""
    from workflows.db import Cycle, ForecastSystem, Station

    uid = add_user(app, "alice@example.org")
    bbox = (-4.4, 50.1, -4.0, 50.4)
    folder = Path(app.config["COASTCAST_DATA_DIR"]) / "systems" / "alice1"
    folder.mkdir(parents=True)
    lon, lat, faces = grid_mesh(bbox)
    write_gr3(folder / "hgrid.gr3", lon, lat, faces)
    start = datetime(2026, 11, 25, 0, tzinfo=timezone.utc)
    run_dir = folder / "cycles" / "20261125T00Z"
    stations = [("Plymouth", -4.185, 50.366), ("Offshore", -4.3, 50.15)]
    truth = write_outputs(run_dir, lon, lat, faces, stations, start, hours=6, interval_minutes=60)
    with app.extensions["coastcast_sessions"]() as s:
        sysm = ForecastSystem(
            owner_id=uid,
            name="Plymouth Sound",
            region_kind="box",
            mesh_path=str(folder / "hgrid.gr3"),
            data_dir=str(folder),
            status="active",
            horizon_hours=6,
            run_hour_utc=0,
            settings={"tide_source": "jmj", "atmosphere": "none", "manning": 0.025, "output_interval_minutes": 60},
        )
        sysm.bbox = bbox
        sysm.stations = [Station(name=n, lon=x, lat=y) for n, x, y in stations]
        s.add(sysm)
        s.flush()
        cyc = Cycle(
            system_id=sysm.id,
            cycle_time=start,
            status="succeeded",
            progress=1.0,
            run_dir=str(run_dir),
            started=start,
            finished=start + timedelta(minutes=2),
            log="ok",
        )
        s.add(cyc)
        s.commit()
        ids = {"user": uid, "system": sysm.id, "cycle": cyc.id}
    return {
        **ids,
        "run_dir": run_dir,
        "folder": folder,
        "lon": lon,
        "lat": lat,
        "faces": faces,
        "stations": stations,
        "start": start,
        "truth": truth,
        "bbox": bbox,
    }


# ---------------------------------------------------------------- a REAL cycle with tide gauges

BREST_ID = "ticon/brest-3-fra-refmar"
CONQUET_ID = "ticon/le_conquet-152-fra-refmar"
REAL_THRESHOLDS = [
    {"station": BREST_ID, "level_m": 6.0, "datum": "chart", "name": "quay"},
    {"station": "basin head", "level_m": 1.5, "datum": "MSL", "name": "road"},
]
"""The user's thresholds of the real cycle, as the wizard writes them (a gauge by its id)."""


@pytest.fixture(scope="session")
def real_cycle(tmp_path_factory):
    """A real forecast cycle with tide gauges, run once for the web tests by
    ``workflows.cycle.run_cycle``: the 20 m Iroise basin beside Brest forced with Brest's tide,
    24 h from 2022-03-18 (tests/test_gauge_stations.py ``iroise_inputs``), the user's station
    "basin head" and :data:`REAL_THRESHOLDS`; the gauges Brest and Le Conquet become stations.
    Returns {"run_dir", "mesh", "config"} (paths). Nothing in it is written by hand."""
    from tests.test_gauge_stations import iroise_inputs
    from workflows.cycle import run_cycle

    root = tmp_path_factory.mktemp("real_cycle")
    config = iroise_inputs(root / "in", thresholds=REAL_THRESHOLDS)
    run_cycle(config, root / "run", figures=False)
    return {"run_dir": root / "run", "mesh": root / "in" / "hgrid.gr3", "config": config}


def add_real_system(app, real, email="gwen@example.org", status="active"):
    """``email``'s system on the real cycle's mesh (station "basin head") with that cycle as a
    succeeded Cycle row whose run directory is the real one. Returns {"user", "system", "cycle"}."""
    from workflows.db import Cycle, ForecastSystem, Station

    uid = add_user(app, email)
    folder = Path(app.config["COASTCAST_DATA_DIR"]) / "systems" / f"real-{uid}"
    folder.mkdir(parents=True)
    start = datetime(2022, 3, 18, 0, tzinfo=timezone.utc)
    with app.extensions["coastcast_sessions"]() as s:
        sysm = ForecastSystem(
            owner_id=uid,
            name="Iroise",
            region_kind="upload",
            mesh_path=str(real["mesh"]),
            data_dir=str(folder),
            status=status,
            horizon_hours=24,
            run_hour_utc=0,
            settings={"tide_source": "none", "atmosphere": "none", "manning": 0.025, "output_interval_minutes": 30},
        )
        sysm.bbox = (-4.75, 48.30, -4.51, 48.42)
        sysm.stations = [Station(name="basin head", lon=-4.52, lat=48.36)]
        s.add(sysm)
        s.flush()
        cyc = Cycle(
            system_id=sysm.id,
            cycle_time=start,
            status="succeeded",
            progress=1.0,
            run_dir=str(real["run_dir"]),
            started=start,
            finished=start + timedelta(seconds=9),
            log="real cycle",
        )
        s.add(cyc)
        s.commit()
        return {"user": uid, "system": sysm.id, "cycle": cyc.id}


# ---------------------------------------------------------------- browser tests' fixtures
# Playwright driving Debian's chromium against a real server thread (tests/web/test_browser.py,
# test_preflight.py, test_timeseries.py); screenshots go to $COASTCAST_ARTIFACTS or tmp_path.

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def have_module(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@pytest.fixture
def browser():
    if not have_module("playwright"):
        pytest.skip("playwright is not installed (pip install playwright; never 'playwright install')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium, or run .ci/services.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def artifacts(tmp_path):
    folder = Path(os.environ.get("COASTCAST_ARTIFACTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def live_server(make_app):
    from werkzeug.serving import make_server

    servers = []

    def start(**config):
        # the cycle service as `coastcast serve` runs it: an embedded LocalCluster (one worker process)
        cfg = {"WTF_CSRF_ENABLED": True, "TESTING": False, "COASTCAST_RUNNER": "dask", "COASTCAST_TICK_SECONDS": 5.0}
        cfg.update(config)
        app = make_app(**cfg)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread, app))
        return app, f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread, app in servers:
        server.shutdown()
        thread.join(5)
        app.extensions["coastcast_runner"].shutdown(wait=True)
