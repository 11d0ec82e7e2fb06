"""Real-data validation: the harmonic analysis against an independent one, and the field cases.

The full runs (30 days of Channel/Biscay tides, 15 days of the Gironde) are ``slow``:
``python -m pytest -m slow tests/test_validation.py`` or ``coastcast validate jmj-tides``.
"""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from workflows.validation import PLYMOUTH_GAUGE, gironde, harmonic_fit, jmj_tides, read_gauge

JAN = datetime(2022, 1, 1, tzinfo=timezone.utc)


def test_harmonic_fit_reproduces_utide_on_the_plymouth_record():
    """SOURCES.md: UTide (OLS, nodal corrections, M2 S2 N2 K1 O1 M4) gives M2 1.682 m / 152.0° at Plymouth."""
    t, z = read_gauge(PLYMOUTH_GAUGE)
    s = (t - np.datetime64("2022-01-01T00:00:00")).astype("timedelta64[s]").astype(float)
    cons = ("M2", "S2", "N2", "K1", "O1", "M4")
    amp, pha, _ = harmonic_fit(s, z[:, None], cons, JAN, timedelta(days=31))
    assert amp[0, 0] == pytest.approx(1.682, abs=0.01)
    assert pha[0, 0] == pytest.approx(152.0, abs=0.5)


def test_harmonic_fit_recovers_known_constants_from_a_prediction():
    from workflows.forcing.tides import HarmonicConstituents, TidalElevation

    cons = ("M2", "S2", "N2", "M4")
    a0 = np.array([[1.5, 0.2], [0.5, 0.1], [0.3, 0.05], [0.12, 0.02]])
    g0 = np.array([[150.0, 10.0], [220.0, 300.0], [120.0, 45.0], [130.0, 200.0]])
    hc = HarmonicConstituents(cons, a0, g0)
    days = timedelta(days=30)
    pred = TidalElevation.build(hc, JAN, days)
    t = np.arange(0, 30 * 86400.0, 1800.0)
    amp, pha, mean = harmonic_fit(t, pred(t), cons, JAN, days)
    np.testing.assert_allclose(amp, a0, atol=1e-6)
    np.testing.assert_allclose((pha - g0 + 180) % 360 - 180, 0.0, atol=1e-4)


def test_gironde_short_run_keeps_depths_and_the_budget():
    res = gironde(days=0.02)
    print("\n" + res.format())
    assert res.passed, res.format()


def test_gironde_resumed_from_a_checkpoint_is_bit_for_bit(tmp_path):
    """A run done in two slices (stop, checkpoint, resume) ends in exactly the state of one run."""
    import netCDF4

    kw = dict(days=0.006, time_stepper="ssp-rk2", checkpoint_hours=0.072)  # checkpoint at 259.2 s = 0.003 days
    whole = gironde(checkpoint_dir=tmp_path / "whole", **kw)
    first = gironde(checkpoint_dir=tmp_path / "sliced", stop_days=0.003, **kw)
    assert first.info["completed_days"] == pytest.approx(0.003)
    assert not first.passed and first.metrics["fraction_of_days_run"].value == pytest.approx(0.5)
    second = gironde(checkpoint_dir=tmp_path / "sliced", **kw)
    assert second.info["completed_days"] == pytest.approx(0.006)
    # the reported wall time is the run's: both slices (the first slice's saved in the checkpoint)
    assert second.wall_seconds == pytest.approx(second.info["wall_seconds"], abs=0.06)
    assert second.wall_seconds > first.wall_seconds > 0.0
    assert second.info["time_steps"] == whole.info["time_steps"]
    for k in ("h", "hu", "hv", "boundary_outflow"):
        with netCDF4.Dataset(tmp_path / "whole" / "restart.nc") as a, netCDF4.Dataset(tmp_path / "sliced" / "restart.nc") as b:
            np.testing.assert_array_equal(a[k][:], b[k][:])
    for k in ("min_depth", "volume_budget_error_relative", "intertidal_faces"):
        assert second.metrics[k].value == whole.metrics[k].value
    assert second.passed, second.format()


def test_gironde_checkpoint_of_another_run_is_refused(tmp_path):
    from workflows.validation import ValidationError

    gironde(days=0.002, time_stepper="ssp-rk2", checkpoint_dir=tmp_path, checkpoint_hours=0.024)
    with pytest.raises(ValidationError, match=r"checkpoint is of a 0.002-day run .* 0.004 days were asked"):
        gironde(days=0.004, time_stepper="ssp-rk2", checkpoint_dir=tmp_path)
    with pytest.raises(ValidationError, match="stop_days needs a checkpoint_dir"):
        gironde(days=0.004, stop_days=0.001)


def test_jmj_tides_rejects_an_unknown_boundary_treatment():
    from workflows.validation import ValidationError

    with pytest.raises(ValidationError, match="boundary 'sponge' is not 'clamped' or 'flather'"):
        jmj_tides(days=0.1, boundary="sponge")


def test_validate_command_rejects_options_a_case_does_not_take(capsys):
    from workflows.cli import main

    assert main(["validate", "dam-break-wet", "--days", "1"]) == 2
    assert "case dam-break-wet takes no options" in capsys.readouterr().err
    assert main(["validate", "jmj-tides", "--stop-days", "1"]) == 2
    assert "case jmj-tides does not take --stop-days" in capsys.readouterr().err


@pytest.mark.slow
def test_gironde_15_days(tmp_path):
    res = gironde(days=15.0, figures_dir=tmp_path)
    print("\n" + res.format())
    assert res.passed


@pytest.mark.slow
def test_jmj_tides_january_2022(tmp_path):
    res = jmj_tides(days=30.0, spinup_days=2.0, figures_dir=tmp_path)
    print("\n" + res.format())
    assert res.passed
