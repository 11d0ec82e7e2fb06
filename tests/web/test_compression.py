"""Compressed answers (#19 item 5): JSON, text and small NetCDF downloads gzipped when the client
accepts it (webapp.security.compress_response); the bytes decompress to the uncompressed answer,
conditional requests still answer 304, byte ranges stay uncompressed, the coastline is not gzipped
twice. Flask's test client on SQLite."""

from __future__ import annotations

import gzip
import json

import pytest

from .conftest import login

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def client(app, system_with_cycle):
    c = app.test_client()
    login(c, "alice@example.org")
    return c


@SQLITE_ONLY
def test_json_is_gzipped_when_accepted(client, system_with_cycle):
    url = f"/api/cycles/{system_with_cycle['cycle']}/mesh"
    plain = client.get(url)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(plain.data) > 2048 and "Accept-Encoding" in plain.headers["Vary"]
    zipped = client.get(url, headers=GZIP)
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 2
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    # the gzip answer's ETag is weak (another encoding of the same JSON); either ETag gives 304
    assert zipped.headers["ETag"] == "W/" + plain.headers["ETag"]
    for etag in (zipped.headers["ETag"], plain.headers["ETag"]):
        again = client.get(url, headers={**GZIP, "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""


@SQLITE_ONLY
def test_small_answers_and_other_types_are_left_alone(client, system_with_cycle):
    small = client.get("/api/systems", headers=GZIP)
    assert small.status_code == 200 and len(small.data) < 2048 and "Content-Encoding" not in small.headers
    json.loads(small.data)
    page = client.get(f"/cycles/{system_with_cycle['cycle']}", headers=GZIP)  # HTML: not this hook's
    assert "Content-Encoding" not in page.headers and b"<html" in page.data.lower()


@SQLITE_ONLY
def test_netcdf_download_gzipped_whole_and_plain_by_range(client, system_with_cycle, monkeypatch):
    url = f"/cycles/{system_with_cycle['cycle']}/files/stations.nc"
    on_disk = (system_with_cycle["run_dir"] / "stations.nc").read_bytes()
    plain = client.get(url)
    assert plain.status_code == 200 and plain.data == on_disk and plain.headers["Accept-Ranges"] == "bytes"
    zipped = client.get(url, headers=GZIP)
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == on_disk and len(zipped.data) < len(on_disk)
    assert "Accept-Ranges" not in zipped.headers and zipped.headers["ETag"].startswith("W/")
    part = client.get(url, headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == on_disk[:100] and "Content-Encoding" not in part.headers
    # a NetCDF file above the limit goes as it is (its variables are compressed inside)
    from webapp import security

    monkeypatch.setattr(security, "MAX_GZIP_NETCDF_BYTES", len(on_disk) - 1)
    big = client.get(url, headers=GZIP)
    assert big.status_code == 200 and big.data == on_disk and "Content-Encoding" not in big.headers


@SQLITE_ONLY
def test_coastline_is_gzipped_once(app):
    zipped = app.test_client().get("/api/coastline", query_string={"bbox": "-10,43,3,53"}, headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data))["type"] == "FeatureCollection"
