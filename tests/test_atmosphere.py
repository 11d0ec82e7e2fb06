"""Atmospheric forcing: CF NetCDF and GRIB sources, GFS download/retry/cache, fallback chain.

Every file is written by the test itself under tmp_path. The reference is an analytic field that
is linear in lon, lat and time, which bilinear-in-space and linear-in-time interpolation must
reproduce to round-off; GRIB files are written with 64-bit IEEE packing so they round-trip
exactly. GFS downloads go to a local HTTP server on 127.0.0.1 that builds each GRIB answer from
the request's query (cycle, hour, box) with the same analytic fields.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import xarray as xr

from workflows.forcing import gfs
from workflows.forcing.atmosphere import (
    AtmosphereConfig,
    AtmosphereError,
    AtmosphereSample,
    AtmosphericForcing,
    CFNetCDFAtmosphere,
    ConstantAtmosphere,
    GribAtmosphere,
    build_atmosphere,
    open_atmosphere_file,
)
from workflows.forcing.gridded import bilinear_weights

try:
    import eccodes
except (ImportError, RuntimeError):  # the GRIB and GFS tests need the eccodes wheel
    eccodes = None
needs_eccodes = pytest.mark.skipif(eccodes is None, reason="eccodes is not installed")

START = datetime(2026, 11, 25, 0, tzinfo=timezone.utc)
START64 = np.datetime64("2026-11-25T00:00", "ns")


def signed(lon):
    return (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0


# Analytic fields; lon in -180..180 (continuous across Greenwich), t in hours since START.
def u_ref(lon, lat, t_h):
    return 3.0 + 0.5 * signed(lon) - 0.2 * lat + 0.05 * t_h


def v_ref(lon, lat, t_h):
    return -2.0 + 0.1 * signed(lon) + 0.3 * (lat - 45.0) - 0.04 * t_h


def p_ref(lon, lat, t_h):
    return 101325.0 + 150.0 * signed(lon) - 80.0 * (lat - 45.0) + 12.5 * t_h


def hours_of(times64):
    return (np.asarray(times64, dtype="datetime64[ns]") - START64).astype(float) / 3.6e12


def write_cf(
    path, lon, lat, times64, p_units="Pa", names=("u10", "v10", "msl"), std=True, wind_units="m s-1", drop=None, lat_first=True
):
    lo, la = np.meshgrid(lon, lat)  # (ny, nx)
    th = hours_of(times64)[:, None, None]
    scale = {"Pa": 1.0, "hPa": 0.01, "mbar": 0.01, "K": 1.0}[p_units]
    data = {names[0]: u_ref(lo, la, th), names[1]: v_ref(lo, la, th), names[2]: p_ref(lo, la, th) * scale}
    attrs = {
        names[0]: {"units": wind_units, **({"standard_name": "eastward_wind"} if std else {})},
        names[1]: {"units": wind_units, **({"standard_name": "northward_wind"} if std else {})},
        names[2]: {"units": p_units, **({"standard_name": "air_pressure_at_mean_sea_level"} if std else {})},
    }
    ds = xr.Dataset(
        {n: (("time", "latitude", "longitude"), a, attrs[n]) for n, a in data.items() if n != drop},
        coords={
            "time": ("time", np.asarray(times64, dtype="datetime64[ns]")),
            "latitude": ("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ("longitude", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
    )
    if not lat_first:
        ds = ds.transpose("time", "longitude", "latitude")
    ds.time.encoding.update(units="hours since 2026-11-24 00:00:00", calendar="standard")
    ds.to_netcdf(path)
    return path


def hourly(n, first="2026-11-25T00:00"):
    return np.datetime64(first, "ns") + np.arange(n) * np.timedelta64(1, "h")


def scattered_nodes(rng, n, lon_range, lat_range):
    return rng.uniform(*lon_range, n), rng.uniform(*lat_range, n)


# ------------------------------------------------------------------------------- CF NetCDF


@pytest.mark.parametrize("lon_kind", ["signed", "0-360", "descending-lat", "lon-first"])
def test_netcdf_linear_fields_interpolate_exactly(tmp_path, lon_kind):
    rng = np.random.default_rng(1)
    lon = np.arange(-8.0, 4.01, 0.5)
    lat = np.arange(42.0, 52.01, 0.5)
    if lon_kind == "0-360":
        lon = np.concatenate([np.arange(352.0, 359.76, 0.5), np.arange(0.0, 4.01, 0.5)])  # wraps through 0
    if lon_kind == "descending-lat":
        lat = lat[::-1]
    path = write_cf(tmp_path / "a.nc", lon, lat, hourly(13), lat_first=lon_kind != "lon-first")
    nlon, nlat = scattered_nodes(rng, 200, (-7.9, 3.9), (42.1, 51.9))
    nlon[:3] = [-8.0, 4.0, 0.0]  # grid edges and the seam
    nlat[:3] = [42.0, 52.0, 47.0]
    forcing = CFNetCDFAtmosphere(path, nlon, nlat, START, hours=12)
    assert isinstance(forcing, AtmosphericForcing)
    for t_h in [0.0, 0.25, 3.5, 7.999, 12.0]:
        s = forcing.sample(t_h * 3600.0)
        assert isinstance(s, AtmosphereSample) and s.u10.shape == (200,)
        np.testing.assert_allclose(s.u10, u_ref(nlon, nlat, t_h), rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.v10, v_ref(nlon, nlat, t_h), rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.pressure, p_ref(nlon, nlat, t_h), rtol=0, atol=1e-8)


def test_records_are_loaded_lazily_and_once(tmp_path):
    path = write_cf(tmp_path / "a.nc", np.arange(-6.0, 1.0), np.arange(44.0, 50.0), hourly(73))
    nlon, nlat = scattered_nodes(np.random.default_rng(2), 50, (-5.5, -0.5), (44.5, 48.5))
    forcing = CFNetCDFAtmosphere(path, nlon, nlat, START, hours=72)
    assert forcing.loads == 0
    forcing.sample(1800.0)
    assert forcing.loads == 2  # the two bracketing records only
    for t in np.arange(0.0, 10 * 3600.0 + 1, 60.0):  # a solver stepping forward minute by minute
        forcing.sample(t)
    assert forcing.loads == 11  # records 0..10, each read once


def test_global_periodic_grid_wraps_through_the_seam(tmp_path):
    lon = np.arange(0.0, 360.0, 1.0)
    lat = np.arange(-90.0, 90.1, 1.0)
    lo, la = np.meshgrid(lon, lat)
    f = lo + 0.0 * la  # f = lon in 0..359: jumps from 359 to 0 across the seam
    w = bilinear_weights(lon, lat, np.array([-0.5, 359.5, 10.25, -170.0]), np.array([10.0, 10.0, 0.5, -89.5]), "g")
    got = w.apply(f[w.rows, w.cols])
    # hand-computed: the seam cell averages columns 359 and 0 (= 0); elsewhere linear in lon
    np.testing.assert_allclose(got, [179.5, 179.5, 10.25, 190.0], atol=1e-12)


@pytest.mark.parametrize("units", ["hPa", "mbar"])
def test_hpa_pressure_is_converted_to_pa(tmp_path, units):
    path = write_cf(tmp_path / "h.nc", np.arange(-6.0, 1.0), np.arange(44.0, 50.0), hourly(4), p_units=units)
    nlon, nlat = np.array([-3.3, -1.1]), np.array([46.6, 48.2])
    s = CFNetCDFAtmosphere(path, nlon, nlat, START).sample(5400.0)
    np.testing.assert_allclose(s.pressure, p_ref(nlon, nlat, 1.5), atol=1e-8)


def test_names_without_standard_names_and_packed_values(tmp_path):
    lon, lat = np.arange(-6.0, 1.0), np.arange(44.0, 50.0)
    path = tmp_path / "u10m.nc"
    write_cf(path, lon, lat, hourly(3), names=("U10M", "V10M", "prmsl"), std=False)
    s = CFNetCDFAtmosphere(path, [-2.5], [47.5], START).sample(3600.0)
    np.testing.assert_allclose(s.u10, u_ref(-2.5, 47.5, 1.0), atol=1e-12)
    # ERA5-style packing: int16 with scale_factor/add_offset, decoded by xarray
    ds = xr.open_dataset(path).load()
    enc = {
        "U10M": {"dtype": "int16", "scale_factor": 0.001, "add_offset": 0.0, "_FillValue": -32767},
        "prmsl": {"dtype": "int16", "scale_factor": 0.5, "add_offset": 101000.0, "_FillValue": -32767},
    }
    ds.to_netcdf(tmp_path / "packed.nc", encoding=enc)
    s = CFNetCDFAtmosphere(tmp_path / "packed.nc", [-2.5], [47.5], START).sample(3600.0)
    np.testing.assert_allclose(s.u10, u_ref(-2.5, 47.5, 1.0), atol=0.001)
    np.testing.assert_allclose(s.pressure, p_ref(-2.5, 47.5, 1.0), atol=0.5)


def test_files_split_by_variable_and_time(tmp_path):
    lon, lat = np.arange(-6.0, 1.0), np.arange(44.0, 50.0)
    a = write_cf(tmp_path / "a.nc", lon, lat, hourly(3))
    b = write_cf(tmp_path / "b.nc", lon, lat, hourly(3, "2026-11-25T03:00"), drop="msl")
    c = write_cf(tmp_path / "c.nc", lon, lat, hourly(3, "2026-11-25T03:00"), drop="u10")
    xr.open_dataset(c).drop_vars("v10").to_netcdf(tmp_path / "c2.nc")
    s = CFNetCDFAtmosphere([a, b, tmp_path / "c2.nc"], [-2.5], [47.5], START, hours=5).sample(4.5 * 3600)
    np.testing.assert_allclose(s.pressure, p_ref(-2.5, 47.5, 4.5), atol=1e-8)


def one_line_error(fn, *match):
    with pytest.raises(AtmosphereError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for m in match:
        assert m in msg, msg
    return msg


def test_netcdf_errors_are_one_line_and_name_the_problem(tmp_path):
    lon, lat = np.arange(-6.0, 1.0), np.arange(44.0, 50.0)
    nl, na = [-3.0], [47.0]
    missing = write_cf(tmp_path / "nop.nc", lon, lat, hourly(3), drop="msl")
    one_line_error(
        lambda: CFNetCDFAtmosphere(missing, nl, na, START), "nop.nc", "mean-sea-level pressure", "variables are: u10, v10"
    )
    kelvin = write_cf(tmp_path / "k.nc", lon, lat, hourly(3), p_units="K")
    one_line_error(lambda: CFNetCDFAtmosphere(kelvin, nl, na, START), "k.nc", "msl", "'K'", "Pa")
    knots_as_kmh = write_cf(tmp_path / "kmh.nc", lon, lat, hourly(3), wind_units="km/h")
    one_line_error(lambda: CFNetCDFAtmosphere(knots_as_kmh, nl, na, START), "kmh.nc", "u10", "'km/h'")
    # a file that says Pa but holds hPa values is caught by the plausibility check
    liar = write_cf(tmp_path / "liar.nc", lon, lat, hourly(3), p_units="hPa")
    ds = xr.open_dataset(liar).load()
    ds.msl.attrs["units"] = "Pa"
    ds.to_netcdf(tmp_path / "liar2.nc")
    one_line_error(
        lambda: CFNetCDFAtmosphere(tmp_path / "liar2.nc", nl, na, START).sample(0.0),
        "liar2.nc",
        "record 2026-11-25T00:00Z",
        "not a plausible mean-sea-level pressure",
    )
    masked = xr.open_dataset(write_cf(tmp_path / "m.nc", lon, lat, hourly(3))).load()
    masked["v10"][1, 3, 3] = np.nan  # lat 47, lon -3: a land-masked point next to node 0
    masked.to_netcdf(tmp_path / "m2.nc")
    nan_src = CFNetCDFAtmosphere(tmp_path / "m2.nc", nl, [47.5], START)
    np.testing.assert_allclose(nan_src.sample(0.0).v10, v_ref(-3.0, 47.5, 0.0), atol=1e-12)  # record 0 is fine
    one_line_error(lambda: nan_src.sample(1800.0), "m2.nc", "record 2026-11-25T01:00Z", "v10 is missing", "node 0")
    ok = write_cf(tmp_path / "ok.nc", lon, lat, hourly(7))
    one_line_error(
        lambda: CFNetCDFAtmosphere(ok, [-3.0, -2.0, 1.5], [47.0, 45.0, 46.0], START),
        "ok.nc",
        "node 2 at lon 1.5000, lat 46.0000",
        "outside the grid",
        "1 of 3 nodes",
    )
    one_line_error(
        lambda: CFNetCDFAtmosphere(ok, nl, na, START, hours=12),
        "ok.nc",
        "records cover 2026-11-25T00:00Z..2026-11-25T06:00Z",
        "the run needs 2026-11-25T00:00Z..2026-11-25T12:00Z",
    )
    late = CFNetCDFAtmosphere(ok, nl, na, START - timedelta(hours=1))
    one_line_error(lambda: late.sample(0.0), "records cover", "needs 2026-11-24T23:00Z")
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file at all")
    one_line_error(lambda: CFNetCDFAtmosphere(tmp_path / "junk.nc", nl, na, START), "junk.nc", "cannot be read")
    one_line_error(lambda: open_atmosphere_file(tmp_path / "absent.nc", nl, na, START), "absent.nc", "not found")
    one_line_error(lambda: CFNetCDFAtmosphere(ok, nl, na, datetime(2026, 11, 25)), "no time zone")


def test_constant_atmosphere():
    c = ConstantAtmosphere(5.0, -2.0)
    s = c.sample(1234.0)
    assert isinstance(c, AtmosphericForcing)
    assert s.u10.shape == () and float(s.u10) == 5.0 and float(s.v10) == -2.0 and float(s.pressure) == 101325.0
    s = ConstantAtmosphere(1.0, 2.0, 100000.0, n_node=7).sample(0.0)
    assert s.pressure.shape == (7,) and np.all(s.pressure == 100000.0) and np.all(s.v10 == 2.0)


# ------------------------------------------------------------------------------- GRIB


def grib_messages(
    cycle: datetime,
    hour: int,
    lon0: float,
    lon1: float,
    lat_top: float,
    lat_bottom: float,
    res: float = 0.25,
    pressure_name: str = "prmsl",
) -> bytes:
    """One GFS-style GRIB2 file (10u, 10v, prmsl) for ``cycle`` + ``hour`` on a 0..360 grid, north first."""
    ni = int(round((lon1 - lon0) / res)) + 1
    nj = int(round((lat_top - lat_bottom) / res)) + 1
    lon = lon0 + res * np.arange(ni)
    lat = lat_top - res * np.arange(nj)
    lo, la = np.meshgrid(lon, lat)
    t_h = (cycle - START).total_seconds() / 3600.0 + hour
    out = b""
    for short, level_type, values in (
        ("10u", "heightAboveGround", u_ref(lo, la, t_h)),
        ("10v", "heightAboveGround", v_ref(lo, la, t_h)),
        (pressure_name, "meanSea", p_ref(lo, la, t_h)),
    ):
        h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
        try:
            eccodes.codes_set_key_vals(h, {"Ni": ni, "Nj": nj})
            eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", lat_top)
            eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", float(lat[-1]))
            eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", lon0 % 360.0)
            eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", float(lon[-1]) % 360.0)
            eccodes.codes_set(h, "iDirectionIncrementInDegrees", res)
            eccodes.codes_set(h, "jDirectionIncrementInDegrees", res)
            eccodes.codes_set(h, "dataDate", int(cycle.strftime("%Y%m%d")))
            eccodes.codes_set(h, "dataTime", cycle.hour * 100)
            eccodes.codes_set(h, "stepUnits", "h")
            eccodes.codes_set(h, "forecastTime", hour)
            eccodes.codes_set(h, "typeOfLevel", level_type)
            eccodes.codes_set(h, "shortName", short)
            eccodes.codes_set(h, "packingType", "grid_ieee")
            eccodes.codes_set(h, "precision", 2)  # 64-bit: exact round trip
            eccodes.codes_set_values(h, values.ravel())
            out += eccodes.codes_get_message(h)
        finally:
            eccodes.codes_release(h)
    return out


@needs_eccodes
def test_grib_round_trip_across_greenwich(tmp_path):
    cycle = START - timedelta(hours=6)
    paths = []
    for hour in range(6, 13, 3):  # 3-hourly records, grid 350..5 E wraps through 0
        p = tmp_path / f"gfs.t18z.f{hour:03d}.grib2"
        p.write_bytes(grib_messages(cycle, hour, 350.0, 365.0, 52.0, 43.0))
        paths.append(p)
    rng = np.random.default_rng(3)
    nlon, nlat = scattered_nodes(rng, 100, (-9.9, 4.9), (43.1, 51.9))
    forcing = open_atmosphere_file(paths, nlon, nlat, START, hours=6)
    assert isinstance(forcing, GribAtmosphere)
    assert forcing.describe()["records"] == 3
    for t_h in (0.0, 1.0, 4.75, 6.0):
        s = forcing.sample(t_h * 3600.0)
        np.testing.assert_allclose(s.u10, u_ref(nlon, nlat, t_h), atol=1e-11)
        np.testing.assert_allclose(s.v10, v_ref(nlon, nlat, t_h), atol=1e-11)
        np.testing.assert_allclose(s.pressure, p_ref(nlon, nlat, t_h), atol=1e-8)


@needs_eccodes
def test_grib_with_ecmwf_msl(tmp_path):
    p = tmp_path / "ec.grb"
    p.write_bytes(
        grib_messages(START, 0, 0.0, 4.0, 50.0, 46.0, res=0.5, pressure_name="msl")
        + grib_messages(START, 1, 0.0, 4.0, 50.0, 46.0, res=0.5, pressure_name="msl")
    )
    s = GribAtmosphere(p, [1.3], [47.7], START).sample(900.0)
    np.testing.assert_allclose(s.pressure, p_ref(1.3, 47.7, 0.25), atol=1e-8)


@needs_eccodes
def test_corrupt_grib_gives_one_line_error_naming_the_file(tmp_path):
    data = grib_messages(START, 0, 0.0, 4.0, 50.0, 46.0)
    (tmp_path / "cut.grib2").write_bytes(data[: len(data) - 40])
    one_line_error(
        lambda: GribAtmosphere(tmp_path / "cut.grib2", [1.0], [47.0], START),
        "cut.grib2",
        "corrupt or truncated GRIB after 2 good messages",
    )
    (tmp_path / "html.grib2").write_bytes(b"<html>data file is not present</html>")
    one_line_error(lambda: GribAtmosphere(tmp_path / "html.grib2", [1.0], [47.0], START), "html.grib2", "no GRIB messages")
    (tmp_path / "wind_only.grib2").write_bytes(data[: len(data) * 2 // 3])
    one_line_error(
        lambda: GribAtmosphere(tmp_path / "wind_only.grib2", [1.0], [47.0], START),
        "wind_only.grib2",
        "no GRIB message with shortName prmsl or msl",
    )


# ------------------------------------------------------------------------------- GFS download


def test_gfs_hours_box_and_url():
    c = datetime(2026, 11, 25, 0, tzinfo=timezone.utc)
    assert gfs.latest_cycle(datetime(2026, 11, 25, 17, 59, tzinfo=timezone.utc)) == c.replace(hour=12)
    assert gfs.gfs_forecast_hours(c, c + timedelta(hours=2.5), c + timedelta(hours=5.2)) == [2, 3, 4, 5, 6]
    hrs = gfs.gfs_forecast_hours(c, c + timedelta(hours=118), c + timedelta(hours=125))
    assert hrs == [118, 119, 120, 123, 126]
    assert len(gfs.gfs_forecast_hours(c, c, c + timedelta(hours=120))) == 121
    box = gfs.Box.around([-4.9, -1.2, 358.7], [47.3, 49.81, 48.0], margin_deg=1.0)
    assert box.as_list() == [-6.0, 46.25, 0.0, 51.0]
    url = gfs.filter_url("http://x/cgi-bin/filter_gfs_0p25.pl", c.replace(hour=6), 7, box)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query, keep_blank_values=True)
    assert q["dir"] == ["/gfs.20261125/06/atmos"] and q["file"] == ["gfs.t06z.pgrb2.0p25.f007"]
    assert q["var_UGRD"] == q["var_VGRD"] == q["var_PRMSL"] == ["on"]
    assert q["lev_10_m_above_ground"] == q["lev_mean_sea_level"] == ["on"] and q["subregion"] == [""]
    assert (q["leftlon"], q["rightlon"], q["toplat"], q["bottomlat"]) == (["-6"], ["0"], ["51"], ["46.25"])


class FakeNomads:
    """A GRIB filter on 127.0.0.1 that answers from the query; scripted failures per request number."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail = {}  # request index -> "500" | "slow"
        self.missing_cycles: set[str] = set()  # e.g. "20261125/00"
        self.always_500 = False
        self.slow_s = 1.5  # longer than the client timeout of the retry test
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                q = {
                    k: v[0]
                    for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query, keep_blank_values=True).items()
                }
                n = len(outer.requests)
                outer.requests.append(q)
                action = "500" if outer.always_500 else outer.fail.get(n)
                if action == "slow":
                    time.sleep(outer.slow_s)
                if action == "500":
                    self.send_error(500, "Internal Server Error")
                    return
                day, hh = q["dir"].split("/")[1][4:], q["dir"].split("/")[2]
                if f"{day}/{hh}" in outer.missing_cycles:
                    self.send_error(404, "Not Found")
                    return
                cycle = datetime.strptime(day + hh, "%Y%m%d%H").replace(tzinfo=timezone.utc)
                hour = int(q["file"].rsplit(".f", 1)[1])
                body = grib_messages(
                    cycle,
                    hour,
                    float(q["leftlon"]) % 360.0,
                    float(q["leftlon"]) % 360.0 + float(q["rightlon"]) - float(q["leftlon"]),
                    float(q["toplat"]),
                    float(q["bottomlat"]),
                )
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/filter_gfs_0p25.pl"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def nomads():
    server = FakeNomads()
    yield server
    server.close()


MESH_LON = np.array([-5.0, -1.3, -3.2, -4.4, -0.9])
MESH_LAT = np.array([47.2, 49.9, 48.4, 49.1, 47.8])


def gfs_config(url, **kw):
    return {
        "source": "gfs",
        "base_url": url,
        "retries": 3,
        "backoff_seconds": 0.0,
        "timeout_seconds": 10.0,
        "extra_hours": 0,
        **kw,
    }


@needs_eccodes
def test_gfs_download_retries_then_uses_the_cache(tmp_path, nomads):
    nomads.fail = {0: "500", 1: "slow"}  # first request: HTTP 500, second: times out; third succeeds
    forcing, record = build_atmosphere(
        gfs_config(nomads.url, timeout_seconds=1.0), MESH_LON, MESH_LAT, START, 3, tmp_path / "cache"
    )
    assert record["used"] == "gfs" and record["fallback"] is False
    assert record["attempts"] == [{"source": "gfs", "cycle": "2026-11-25T00Z", "ok": True}]
    src = record["source"]
    assert src["cycle"] == "2026-11-25T00Z" and src["forecast_hours"] == [0, 3] and src["files"] == 4
    assert src["box"] == [-6.0, 46.0, 0.25, 51.0] and src["requests"] == 6  # 4 files + 2 retries
    assert len(nomads.requests) == 6
    q = nomads.requests[-1]
    assert q["file"] == "gfs.t00z.pgrb2.0p25.f003" and q["dir"] == "/gfs.20261125/00/atmos"
    assert (q["leftlon"], q["rightlon"], q["toplat"], q["bottomlat"]) == ("-6", "0.25", "51", "46")
    for t_h in (0.0, 1.3, 3.0):
        s = forcing.sample(t_h * 3600.0)
        np.testing.assert_allclose(s.u10, u_ref(MESH_LON, MESH_LAT, t_h), atol=1e-11)
        np.testing.assert_allclose(s.pressure, p_ref(MESH_LON, MESH_LAT, t_h), atol=1e-8)
    cached = sorted(p.name for p in (tmp_path / "cache" / "gfs" / "2026112500").iterdir())
    assert cached == [f"gfs.t00z.pgrb2.0p25.f00{h}.W-6.00_S46.00_E0.25_N51.00.grib2" for h in range(4)]
    # second time: everything from the cache, no request at all
    forcing2, record2 = build_atmosphere(gfs_config(nomads.url), MESH_LON, MESH_LAT, START, 3, tmp_path / "cache")
    assert len(nomads.requests) == 6 and record2["source"]["requests"] == 0
    np.testing.assert_array_equal(forcing2.sample(4000.0).v10, forcing.sample(4000.0).v10)


@needs_eccodes
def test_gfs_fallback_to_previous_cycle_then_to_none(tmp_path, nomads):
    cache = tmp_path / "cache"
    # yesterday's 18Z run downloaded its hours 0..12 (6 h run + 6 extra hours)
    earlier = START - timedelta(hours=6)
    _, rec = build_atmosphere(gfs_config(nomads.url, extra_hours=6), MESH_LON, MESH_LAT, earlier, 6, cache)
    assert rec["used"] == "gfs" and rec["source"]["forecast_hours"] == [0, 12]
    # today's 00Z cycle is not published yet: 404, no retry
    nomads.missing_cycles = {"20261125/00"}
    n_before = len(nomads.requests)
    forcing, record = build_atmosphere(gfs_config(nomads.url), MESH_LON, MESH_LAT, START, 6, cache)
    assert len(nomads.requests) == n_before + 1
    assert record["used"] == "gfs-previous-cycle" and record["fallback"] is True
    assert record["source"]["cycle"] == "2026-11-24T18Z" and record["source"]["forecast_hours"] == [6, 12]
    assert [(a["source"], a["cycle"], a["ok"]) for a in record["attempts"]] == [
        ("gfs", "2026-11-25T00Z", False),
        ("gfs-previous-cycle", "2026-11-24T18Z", True),
    ]
    assert "HTTP 404" in record["attempts"][0]["reason"]
    assert "2026-11-24T18Z" in record["message"] and "failed" in record["message"]
    s = forcing.sample(2.5 * 3600)
    np.testing.assert_allclose(s.v10, v_ref(MESH_LON, MESH_LAT, 2.5), atol=1e-11)
    # a 12 h run is longer than what the 18Z cycle has cached: every fallback fails -> tides only
    forcing, record = build_atmosphere(gfs_config(nomads.url), MESH_LON, MESH_LAT, START, 12, cache)
    assert forcing is None and record["used"] == "none" and record["fallback"] is True
    reasons = {a["cycle"]: a["reason"] for a in record["attempts"]}
    assert list(reasons) == ["2026-11-25T00Z", "2026-11-24T18Z", "2026-11-24T12Z", "2026-11-24T00Z"]
    assert reasons["2026-11-24T18Z"] == "6 of 13 forecast hours not in the cache (first f013)"
    assert reasons["2026-11-24T00Z"] == "13 of 13 forecast hours not in the cache (first f024)"
    assert record["message"].endswith("running with tides only") and "HTTP 404" in record["message"]
    import json

    assert json.loads(json.dumps(record)) == record
    with pytest.raises(AtmosphereError, match="fallback = false"):
        build_atmosphere(gfs_config(nomads.url, fallback=False), MESH_LON, MESH_LAT, START, 12, cache)


@needs_eccodes
def test_gfs_server_down_is_retried_then_recorded(tmp_path, nomads):
    nomads.always_500 = True
    forcing, record = build_atmosphere(
        gfs_config(nomads.url, fallback_cycles_hours=[]), MESH_LON, MESH_LAT, START, 3, tmp_path / "cache"
    )
    assert forcing is None and len(nomads.requests) == 4  # 1 + 3 retries, then give up
    reason = record["attempts"][0]["reason"]
    assert reason.startswith("GFS 2026-11-25T00Z f000: HTTP 500") and "after 4 tries" in reason
    assert not list((tmp_path / "cache").rglob("*.grib2"))


def test_downloader_backoff_doubles(tmp_path, nomads):
    nomads.always_500 = True
    waits = []
    dl = gfs.GfsDownloader(tmp_path, nomads.url, timeout_s=2, retries=3, backoff_s=1.5, sleep=waits.append)
    with pytest.raises(gfs.GfsDownloadError):
        dl.fetch(START, 0, gfs.Box(-1.0, 45.0, 0.0, 46.0))
    assert waits == [1.5, 3.0, 6.0]


# ------------------------------------------------------------------------------- config and file source


def test_config_parsing_and_file_source_record(tmp_path):
    assert AtmosphereConfig.from_mapping("none").source == "none"
    assert AtmosphereConfig.from_mapping("gfs").source == "gfs"
    cfg = AtmosphereConfig.from_mapping({"path": "era5.nc"}, base_dir=tmp_path)
    assert cfg.source == "file" and cfg.path == (tmp_path / "era5.nc",)
    msg = one_line_error(
        lambda: AtmosphereConfig.from_mapping({"source": "gfs", "margin": 2}),
        "[atmosphere]",
        "unknown key 'margin'",
        "did you mean 'margin_degrees'?",
    )
    assert "\n" not in msg
    one_line_error(
        lambda: AtmosphereConfig.from_mapping({"source": "gfs", "cycle": "2026-11-25T03:00Z"}), "not a 00/06/12/18Z GFS cycle"
    )
    one_line_error(lambda: AtmosphereConfig.from_mapping({"source": "arpege"}), "'arpege'", "none, gfs, file")

    forcing, record = build_atmosphere(None, MESH_LON, MESH_LAT, START, 3, tmp_path)
    assert forcing is None and record["used"] == "none" and record["fallback"] is False

    nc = write_cf(tmp_path / "era5.nc", np.arange(-8.0, 2.0), np.arange(44.0, 53.0), hourly(4))
    forcing, record = build_atmosphere({"path": str(nc)}, MESH_LON, MESH_LAT, START, 3, tmp_path)
    assert record["used"] == "file" and record["source"]["records"] == 4
    np.testing.assert_allclose(forcing.sample(600.0).u10, u_ref(MESH_LON, MESH_LAT, 1 / 6), atol=1e-12)
    # a named file that does not cover the run is an error, never a silent fall back to tides only
    msg = one_line_error(
        lambda: build_atmosphere({"path": str(nc)}, MESH_LON, MESH_LAT, START, 5, tmp_path), "era5.nc", "records cover"
    )
    assert "\n" not in msg
