"""River discharge: hand-picked interpolation values of the Gironde ``qsl_ME.txt`` file, CSV
series (ISO and seconds), constant discharges, and a catalogue of bad inputs."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from workflows.forcing import ForcingError
from workflows.forcing.rivers import (
    ConstantDischarge,
    DischargeSeries,
    RiverInputError,
    discharge_from_config,
    read_discharge_csv,
    read_telemac_liquid_boundary,
)

REPO = Path(__file__).resolve().parents[1]
QSL = REPO / "meshes" / "gironde" / "qsl_ME.txt"
START = datetime(2026, 11, 25, tzinfo=timezone.utc)


# qsl_ME.txt: T = 0, 13200, 907200, 920400, 999999999 s; Q(2) = 60, 500, 500, 740, 740; Q(3) = 24, 200, 200, 360, 360
@pytest.mark.parametrize(
    "column, t, expected",
    [
        (2, 0.0, 60.0),
        (2, 6600.0, 280.0),  # half-way up the first ramp: (60 + 500) / 2
        (2, 3300.0, 170.0),  # a quarter: 60 + 440 / 4
        (2, 13200.0, 500.0),
        (2, 500000.0, 500.0),  # on the plateau
        (2, 913800.0, 620.0),  # half-way up the second ramp: (500 + 740) / 2
        (2, 920400.0 + 86400.0, 740.0),
        ("Q(3)", 6600.0, 112.0),  # (24 + 200) / 2
        ("Q(3)", 910500.0, 240.0),  # 200 + 160 * 3300 / 13200
        (3, 2.0e6, 360.0),
    ],
)
def test_telemac_qsl_interpolation(column, t, expected):
    q = read_telemac_liquid_boundary(QSL, column)
    assert q(t) == pytest.approx(expected, abs=1e-9)
    assert isinstance(q(t), float)


def test_series_held_outside_record_and_warns_once(caplog):
    q = read_telemac_liquid_boundary(QSL, "Q(2)")
    with caplog.at_level(logging.WARNING, logger="workflows.forcing.rivers"):
        assert q(-3600.0) == 60.0
        assert q(-7200.0) == 60.0
    before = [r for r in caplog.records if "before the record" in r.getMessage()]
    assert len(before) == 1 and "held at 60" in before[0].getMessage()
    s = DischargeSeries([0.0, 100.0], [5.0, 15.0], "test")
    with caplog.at_level(logging.WARNING, logger="workflows.forcing.rivers"):
        assert s(1000.0) == 15.0 and s(2000.0) == 15.0 and s(50.0) == 10.0
    assert sum("after the record" in r.getMessage() for r in caplog.records) == 1


def test_csv_iso_and_seconds(tmp_path):
    iso = tmp_path / "garonne.csv"
    iso.write_text(
        "time,discharge\n"
        "2026-11-24T00:00:00Z,300\n"
        "2026-11-25T00:00:00Z,500\n"
        "2026-11-25T12:00:00+00:00,700\n"
        "2026-11-26T01:00:00+01:00,900\n"
    )  # = 2026-11-26T00Z
    q = read_discharge_csv(iso, START)
    assert q(0.0) == 500.0
    assert q(6 * 3600.0) == pytest.approx(600.0)
    assert q(-12 * 3600.0) == pytest.approx(400.0)
    assert q(18 * 3600.0) == pytest.approx(800.0)
    assert q(24 * 3600.0) == pytest.approx(900.0)
    sec = tmp_path / "dordogne.csv"
    sec.write_text("# discharge of the Dordogne\nTime,Q_upstream,Q_downstream\n0,10,20\n3600,30,40\n")
    q2 = read_discharge_csv(sec, column="Q_downstream")
    assert q2(1800.0) == pytest.approx(30.0)
    naive = tmp_path / "naive.csv"
    naive.write_text("time,flow\n2026-11-25T00:00:00,1\n2026-11-25T01:00:00,3\n")  # no offset: UTC
    assert read_discharge_csv(naive, START)(1800.0) == pytest.approx(2.0)


def test_constant_and_config(tmp_path):
    assert ConstantDischarge(250.0)(1e9) == 250.0
    q = discharge_from_config({"boundary": "garonne", "discharge": 500}, START)
    assert q(123.0) == 500.0
    q = discharge_from_config({"file": "qsl_ME.txt", "column": 3}, START, base_dir=QSL.parent)
    assert q(6600.0) == pytest.approx(112.0)
    (tmp_path / "q.csv").write_text("time,discharge\n0,1\n10,2\n")
    assert discharge_from_config({"file": "q.csv"}, START, base_dir=tmp_path)(5.0) == pytest.approx(1.5)


CONFIG_ERRORS = [
    ({"discharge": 1.0, "colum": 2}, r"\[\[rivers\]\]: unknown key 'colum'; did you mean 'column'\?"),
    ({"name": "x"}, r"give exactly one of 'discharge' \(m3/s\) or 'file'"),
    ({"discharge": 1.0, "file": "a.csv"}, "give exactly one of"),
    ({"discharge": "lots"}, "discharge must be a number of m3/s, got 'lots'"),
    ({"discharge": -5.0}, "discharge -5 m3/s is negative"),
    ({"discharge": float("nan")}, "discharge nan is not a number"),
    ({"file": str(QSL)}, r"needs 'column' \(e.g. \"Q\(2\)\" or 2\)"),
    ({"file": str(QSL), "column": 2, "format": "xls"}, "format 'xls' is not 'csv' or 'telemac'"),
]


@pytest.mark.parametrize("mapping, message", CONFIG_ERRORS)
def test_config_errors(mapping, message):
    with pytest.raises(RiverInputError, match=message):
        discharge_from_config(mapping, START)


def _write(tmp_path, name, text) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


QSL_TEXT = QSL.read_text()
BAD_TELEMAC = [
    (
        "negative",
        "13200.       500.     200.",
        "13200.       -500.     200.",
        2,
        r"qsl_ME.txt: line 7: discharge -500 m3/s is negative",
    ),
    ("nan", "13200.       500.     200.", "13200.       nan     200.", 2, r"line 7: discharge nan is not a number"),
    ("text", "13200.       500.     200.", "13200.       5OO.     200.", 2, r"line 7: Q\(2\) '5OO.' is not a number"),
    ("unsorted", "907200.", "13000.", 2, r"line 8: time 13000. is not after the previous record \(13200\)"),
    ("missing column", None, None, 4, r"line 4: no column 'Q\(4\)' \(columns: Q\(2\), Q\(3\)\)"),
    ("short row", "920400.      740.     360.", "920400.      740.", 3, r"line 9: 2 values, the names line has 3"),
    ("units", "s           m3/s     m3/s", "s           l/s     m3/s", 2, r"line 5: Q\(2\) unit 'l/s', expected m3/s"),
    ("hours", "s           m3/s     m3/s", "h           m3/s     m3/s", 2, r"line 5: time unit 'h', expected s"),
]


@pytest.mark.parametrize("label, old, new, column, message", BAD_TELEMAC, ids=[c[0] for c in BAD_TELEMAC])
def test_telemac_reader_rejects(tmp_path, label, old, new, column, message):
    text = QSL_TEXT if old is None else QSL_TEXT.replace(old, new, 1)
    assert old is None or text != QSL_TEXT
    with pytest.raises(RiverInputError, match=message) as err:
        read_telemac_liquid_boundary(_write(tmp_path, "qsl_ME.txt", text), column)
    assert "\n" not in str(err.value)


BAD_CSV = [
    ("no time", "t,discharge\n0,1\n", {}, r"line 1: no 'time' column \(columns: t, discharge\)"),
    ("no discharge", "time,a,b\n0,1,2\n", {}, r"line 1: no 'discharge' column: name one with 'column'"),
    ("wrong column", "time,discharge\n0,1\n", {"column": "dischage"}, r"no column 'dischage' .* did you mean 'discharge'\?"),
    ("unsorted", "time,discharge\n0,1\n20,2\n10,3\n", {}, r"line 4: time 10 is not after the previous record"),
    ("repeated", "time,discharge\n0,1\n0,2\n", {}, r"line 3: time 0 is not after"),
    ("negative", "time,discharge\n0,1\n10,-2\n", {}, r"line 3: discharge -2 m3/s is negative"),
    ("nan", "time,discharge\n0,NaN\n", {}, r"line 2: discharge nan is not a number"),
    ("bad time", "time,discharge\nyesterday,1\n", {}, r"line 2: time 'yesterday' is neither ISO 8601 nor seconds"),
    ("short row", "time,discharge\n0\n", {}, r"line 2: 1 fields, the header has 2"),
    ("empty", "", {}, r"empty file"),
    ("header only", "time,discharge\n", {}, r"no data rows after the header"),
]


@pytest.mark.parametrize("label, text, kw, message", BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_csv_reader_rejects(tmp_path, label, text, kw, message):
    with pytest.raises(RiverInputError, match=message):
        read_discharge_csv(_write(tmp_path, "river.csv", text), START, **kw)


def test_series_checks_and_error_types():
    with pytest.raises(RiverInputError, match=r"times are not increasing: record 3 \(5 s\) after record 2 \(10 s\)"):
        DischargeSeries([0.0, 10.0, 5.0], [1.0, 1.0, 1.0], "s")
    with pytest.raises(RiverInputError, match="2 times for 3 discharges"):
        DischargeSeries([0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(RiverInputError, match="ISO time '2026-11-25T00:00:00Z' needs the run's start time"):
        from workflows.forcing.rivers import _parse_time

        _parse_time("2026-11-25T00:00:00Z", None, "")
    with pytest.raises(RiverInputError, match="has no time zone"):
        read_discharge_csv(QSL, datetime(2026, 1, 1))
    with pytest.raises(FileNotFoundError):
        read_telemac_liquid_boundary(QSL.parent / "missing.txt", 2)
    assert issubclass(RiverInputError, ForcingError)
    s = DischargeSeries(np.array([0.0, 3600.0]), np.array([100.0, 200.0]))
    assert s(float(timedelta(minutes=15).total_seconds())) == pytest.approx(125.0)
