"""Skill metrics against analytic references.

Synthetic sinusoids over whole periods give exact RMSE, bias and correlation (discrete
orthogonality), exact high-water lags and heights, and analytic threshold crossings; the gauge's
harmonic prediction gives a reference with a known offset or delay.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from workflows.gauges import load_catalogue
from workflows.skill import (
    HARMONIC_PREDICTION,
    HarmonicPrediction,
    ObservedSeries,
    Reference,
    SkillError,
    catalogue_skill,
    high_waters,
    pair_high_waters,
    station_skill,
    threshold_exceedances,
)

UTC = timezone.utc
T0 = np.datetime64("2022-01-01T00:00")
BREST = "ticon/brest-3-fra-refmar"
PERIOD_MIN = 750.0  # a 12.5 h "semidiurnal" period: 75 samples of 10 min
OMEGA = 2 * math.pi / PERIOD_MIN  # rad/min

log = logging.getLogger(__name__)


def _minutes(n_periods: int = 10, step: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    m = np.arange(0.0, n_periods * PERIOD_MIN, step)
    return T0 + (m * 60).astype(np.int64) * np.timedelta64(1, "s"), m


def test_sinusoid_with_lag_offset_and_gain():
    """model = 1.1 cos(wt - 10 deg) + 0.05 against reference cos(wt), 10 whole periods at 10 min:
    bias = 0.05; RMSE^2 = 0.05^2 + |1.1 e^{-i 10deg} - 1|^2 / 2; r = cos 10 deg (all exact over
    whole periods); each high water 10/360 x 750 = 20.833 min late and 1.1 + 0.05 - 1 = 0.15 m
    high. The reference maximum at t = 0 is the first sample (not a detectable maximum), so
    9 reference and 10 model high waters."""
    times, m = _minutes()
    phi = math.radians(10.0)
    ref = np.cos(OMEGA * m)
    model = 1.1 * np.cos(OMEGA * m - phi) + 0.05
    s = station_skill(times, model, ref)
    assert s.n == 750
    assert s.bias == pytest.approx(0.05, abs=1e-12)
    assert s.rmse == pytest.approx(math.sqrt(0.05**2 + (1.21 + 1.0 - 2.2 * math.cos(phi)) / 2), abs=1e-12)
    assert s.correlation == pytest.approx(math.cos(phi), abs=1e-12)
    hw = s.high_water
    assert (hw.n_reference, hw.n_model, hw.n_paired) == (9, 10, 9)
    lag = 10.0 / 360.0 * PERIOD_MIN
    assert hw.mean_time_error_min == pytest.approx(lag, abs=0.2)
    assert hw.median_time_error_min == pytest.approx(lag, abs=0.2)
    assert np.abs(hw.time_error_min - lag).max() < 0.2
    assert hw.mean_height_error_m == pytest.approx(0.15, abs=1e-4)
    assert hw.median_height_error_m == pytest.approx(0.15, abs=1e-4)
    assert hw.reference_times[0] == T0 + np.timedelta64(750, "m")
    # the model earlier: negative time errors
    early = station_skill(times, np.cos(OMEGA * m + phi), ref)
    assert early.high_water.mean_time_error_min == pytest.approx(-lag, abs=0.2)
    assert early.bias == pytest.approx(0.0, abs=1e-12)
    d = s.as_dict()
    assert d["bias_m"] == pytest.approx(0.05) and d["high_water"]["n_paired"] == 9
    assert "time_error_min" not in d["high_water"]  # arrays stay out of the JSON summary


def test_high_water_refinement_between_samples():
    """Hourly samples of cos(w (t - 17 min)): the parabola puts each high water within 1 min of
    17 + 750 k min (sampled maxima alone would be up to 30 min off) and at 1.0 m within 2 mm.
    The first maximum (17 min) has no sample before it and is not detected: k = 1..7."""
    m = np.arange(0.0, 8 * PERIOD_MIN, 60.0)
    times = T0 + (m * 60).astype(np.int64) * np.timedelta64(1, "s")
    hw = high_waters(times, np.cos(OMEGA * (m - 17.0)))
    got = (hw.times - T0) / np.timedelta64(1, "m")
    expected = 17.0 + PERIOD_MIN * np.arange(1, 8)
    assert len(hw) == 7
    np.testing.assert_allclose(got, expected, atol=1.0)
    np.testing.assert_allclose(hw.heights, 1.0, atol=2e-3)


def test_double_high_water_and_separation():
    """z = cos(wt) - 0.3 cos(2wt) (an M4-type stand) has two maxima per period at
    cos(wt) = 1/1.2, i.e. wt = +-33.56 deg (+-69.9 min), of height 5/6 - 0.3 (2 (5/6)^2 - 1) =
    0.71667 m, with a 0.7 m dip between. Over 6 periods (5-min samples) that is 12 maxima
    (+69.9 min and 4430.1 min are the first and last); min_separation 1 h keeps all of them,
    6 h one per pair: 7."""
    times, m = _minutes(n_periods=6, step=5.0)
    z = np.cos(OMEGA * m) - 0.3 * np.cos(2 * OMEGA * m)
    offset = math.degrees(math.acos(1 / 1.2)) / 360.0 * PERIOD_MIN
    height = 5 / 6 - 0.3 * (2 * (5 / 6) ** 2 - 1)
    both = high_waters(times, z, min_separation=timedelta(hours=1))
    got = (both.times - T0) / np.timedelta64(1, "m")
    expected = np.sort(np.concatenate([PERIOD_MIN * np.arange(1, 7) - offset, PERIOD_MIN * np.arange(6) + offset]))
    assert len(both) == 12
    np.testing.assert_allclose(got, expected, atol=0.5)
    np.testing.assert_allclose(both.heights, height, atol=1e-4)
    one = high_waters(times, z)  # 6 h
    assert len(one) == 7
    gaps = np.diff((one.times - T0) / np.timedelta64(1, "m"))
    assert (gaps >= 360).all()
    with pytest.raises(SkillError, match="strictly increasing"):
        high_waters(times[::-1], z)


def test_pairing_window_and_gaps():
    """A model 4 h late pairs with nothing within +-3 h and with everything within +-5 h
    (+240 min); a reference gap hides its high water and the samples there from the metrics."""
    times, m = _minutes()
    ref = np.cos(OMEGA * m)
    late = np.cos(OMEGA * (m - 240.0))
    s3 = station_skill(times, late, ref)
    assert s3.high_water.n_paired == 0 and math.isnan(s3.high_water.mean_time_error_min)
    assert s3.as_dict()["high_water"]["mean_time_error_min"] is None
    s5 = station_skill(times, late, ref, window=timedelta(hours=5))
    assert s5.high_water.n_paired == 9
    assert s5.high_water.mean_time_error_min == pytest.approx(240.0, abs=0.2)
    gappy = ref.copy()
    gappy[(m > 1400) & (m < 1600)] = np.nan  # around the high water at 1500 min
    g = station_skill(times, ref + 0.1, gappy)
    assert g.n == 750 - int(((m > 1400) & (m < 1600)).sum())
    assert g.high_water.n_reference == 8 and g.high_water.n_model == 8 and g.high_water.n_paired == 8
    assert g.rmse == pytest.approx(0.1, abs=1e-12) and g.bias == pytest.approx(0.1, abs=1e-12)
    # a series against itself: every high water paired once, errors exactly 0
    hw = high_waters(times, ref)
    pairs = pair_high_waters(hw, hw)
    assert pairs.n_paired == len(hw) == 9 and np.all(pairs.time_error_min == 0)
    with pytest.raises(SkillError, match="750 times, 750 model values and 749 reference values"):
        station_skill(times, ref, ref[:-1])


def test_harmonic_prediction_reference():
    """The gauge's prediction as the reference: a model 0.1 m high has bias = RMSE = 0.1, r = 1,
    high waters 0 min and 0.1 m off; a model delayed by 30 min has its high waters 30 min late."""
    cat = load_catalogue()
    ref = HarmonicPrediction(cat, BREST)
    assert isinstance(ref, Reference) and ref.kind == HARMONIC_PREDICTION and ref.label == f"{BREST} Brest"
    times = np.datetime64("2022-03-01T00:00") + np.arange(0, 3 * 24 * 60, 10) * np.timedelta64(1, "m")
    pred = ref.series(times)
    np.testing.assert_allclose(pred, cat.predict(times, BREST), atol=0)
    s = station_skill(times, pred + 0.1, ref)
    assert s.reference_kind == HARMONIC_PREDICTION
    assert s.bias == pytest.approx(0.1, abs=1e-12) and s.rmse == pytest.approx(0.1, abs=1e-12)
    assert s.correlation == pytest.approx(1.0, abs=1e-12)
    assert s.high_water.n_paired == s.high_water.n_reference >= 5
    assert abs(s.high_water.mean_time_error_min) < 1e-6 and s.high_water.mean_height_error_m == pytest.approx(0.1)
    delayed = ref.series(times - np.timedelta64(30, "m"))
    d = station_skill(times, delayed, ref)
    assert d.high_water.mean_time_error_min == pytest.approx(30.0, abs=1.0)
    assert abs(d.high_water.mean_height_error_m) < 0.01
    pair = cat.select([BREST, "noaa/2695535"])
    both = catalogue_skill(times, pair.predict(times) + [0.0, -0.2], pair)
    assert both[0].rmse == pytest.approx(0.0, abs=1e-12) and both[1].bias == pytest.approx(-0.2, abs=1e-12)
    assert both[1].reference_label.startswith("noaa/2695535 Ferry Reach")
    with pytest.raises(SkillError, match=r"expected \(n_t, 2\)"):
        catalogue_skill(times, pred[:, None], pair)


def test_observed_series_reference():
    """Linear interpolation between samples (hand values); NaN outside the record and inside
    gaps longer than max_gap."""
    obs_t = T0 + np.array([0, 60, 120, 300, 360], dtype=np.int64) * np.timedelta64(1, "m")
    obs = ObservedSeries(obs_t, [0.0, 1.0, np.nan, 2.0, 4.0], label="gauge X", max_gap=timedelta(hours=1))
    assert isinstance(obs, Reference) and obs.kind == "observations"
    q = T0 + np.array([-10, 0, 30, 60, 90, 200, 300, 330, 400], dtype=np.int64) * np.timedelta64(1, "m")
    # 90 and 200 min fall in the 60 -> 300 min gap (NaN at 120 does not count as a sample)
    np.testing.assert_allclose(obs.series(q), [np.nan, 0.0, 0.5, 1.0, np.nan, np.nan, 2.0, 3.0, np.nan])


def test_threshold_exceedances_analytic():
    """sin(wt) over 10 periods: the 0.8 m level is first reached at asin(0.8)/w = 110.69 min
    (linear interpolation between 10-min samples: within 0.5 min), peaks at 187.5 min (+ k periods) at 1.0 m
    (margin 0.2), 10 separate spells; 1.2 m is never reached; a NaN level is skipped; a level
    below the start is reached at the first time."""
    times, m = _minutes()
    z = np.sin(OMEGA * m)
    out = threshold_exceedances(times, z, {"watch": 0.8, "never": 1.2, "absent": math.nan, "low": -2.0})
    assert [e["threshold"] for e in out] == ["watch", "low"]
    w = out[0]
    start = datetime(2022, 1, 1, tzinfo=UTC)
    first = (w["first_time"] - start).total_seconds() / 60.0
    assert first == pytest.approx(math.asin(0.8) / OMEGA, abs=0.5)
    # all ten crests are equally high (to rounding): the peak is one of them, 187.5 min into a period
    assert ((w["peak_time"] - start).total_seconds() / 60.0) % PERIOD_MIN == pytest.approx(PERIOD_MIN / 4, abs=0.5)
    assert w["peak_height"] == pytest.approx(1.0, abs=1e-4) and w["margin"] == pytest.approx(0.2, abs=1e-4)
    assert w["level"] == 0.8 and w["n_events"] == 10
    assert out[1]["first_time"] == start and out[1]["n_events"] == 1
    assert threshold_exceedances(times, np.full(m.size, np.nan), {"x": 0.0}) == []


def test_threshold_exceedances_brest_spring_tide():
    """Brest's prediction through the spring tide of early March 2022 exceeds its MHWS (2.800 m
    above MSL, i.e. A(M2) + A(S2)) but stays below HAT (3.695 m), the highest level its tide can
    reach by definition."""
    cat = load_catalogue()
    times = np.datetime64("2022-02-27T00:00") + np.arange(0, 10 * 24 * 60, 10) * np.timedelta64(1, "m")
    zeta = cat.predict(times, BREST)
    levels = cat.thresholds(BREST)
    out = {e["threshold"]: e for e in threshold_exceedances(times, zeta, levels)}
    assert list(out) == ["MHWS"]
    e = out["MHWS"]
    assert e["level"] == pytest.approx(2.800, abs=1e-9)
    assert 0.0 < e["margin"] < levels["HAT"] - levels["MHWS"]
    assert e["peak_height"] == pytest.approx(zeta.max(), abs=5e-3)
    assert e["first_time"] < e["peak_time"]
    log.info("Brest March 2022: MHWS first reached %s, peak %.3f m at %s", e["first_time"], e["peak_height"], e["peak_time"])
