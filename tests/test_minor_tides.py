"""Minor semidiurnal constituents inferred by admittance (Munk & Cartwright 1966).

References: an admittance that is exactly linear in frequency is reproduced exactly; the K2 that
the catalogue's gauges measured (TICON-4) is recovered from their own N2, M2, S2.
"""

from __future__ import annotations

import numpy as np
import pytest

from workflows.forcing.minor_tides import POTENTIAL_AMPLITUDE, SEMIDIURNAL_MINOR, admittance_weights, frequency, infer_minor
from workflows.forcing.tides import HarmonicConstituents


def test_weights_interpolate_between_and_hold_outside_the_majors():
    majors = ("N2", "M2", "S2")
    np.testing.assert_allclose(admittance_weights(majors, "K2"), [0, 0, 1])  # above S2: S2's admittance
    np.testing.assert_allclose(admittance_weights(majors, "2N2"), [1, 0, 0])  # below N2: N2's
    w_n2, w_m2, w_s2, w_l2 = frequency(["N2", "M2", "S2", "L2"])
    s = (w_l2 - w_m2) / (w_s2 - w_m2)
    np.testing.assert_allclose(admittance_weights(majors, "L2"), [0, 1 - s, s], atol=1e-12)
    assert 0.5 < s < 0.6  # L2 (29.53 deg/h) lies a little past the middle of M2 (28.98) and S2 (30.00)


def test_an_admittance_linear_infrequency_is_reproduced_exactly():
    """Z(ω) = z0 + z1 (ω − ω_M2) at two points; every minor inside N2..S2 gets a_k Z(ω_k) exactly,
    elevation and currents alike."""
    w = dict(zip(("N2", "M2", "S2"), frequency(["N2", "M2", "S2"])))
    z0 = np.array([1.2 * np.exp(-1j * 0.7), 0.4 * np.exp(-1j * 2.0)])
    z1 = np.array([3.0e3 * np.exp(-1j * 0.2), -1.0e3])

    def tide(c):
        return POTENTIAL_AMPLITUDE[c] * (z0 + z1 * (w[c] - w["M2"]))

    comp = np.array([tide(c) for c in ("N2", "M2", "S2")])
    amp, pha = np.abs(comp), np.degrees(-np.angle(comp)) % 360
    hc = HarmonicConstituents(
        ("N2", "M2", "S2"), amp, pha, u_amplitude=2 * amp, u_phase=pha, v_amplitude=amp, v_phase=(pha + 90) % 360
    )
    out, added = infer_minor(hc)
    assert added == tuple(SEMIDIURNAL_MINOR)
    for c in ("NU2", "LAMBDA2", "L2", "T2"):  # inside the majors' range
        (wc,) = frequency([c])
        want = POTENTIAL_AMPLITUDE[c] * (z0 + z1 * (wc - w["M2"]))
        k = out.constituents.index(c)
        got = out.amplitude[k] * np.exp(-1j * np.radians(out.phase[k]))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(out.u_amplitude[k], 2 * np.abs(want), rtol=1e-10)
    # the given constituents are untouched
    np.testing.assert_array_equal(out.amplitude[:3], hc.amplitude)


def test_k2_of_the_european_shelf_gauges_is_recovered():
    """337 gauges of the catalogue on the NW European shelf (43–56° N, 15° W–10° E): K2 inferred
    from their N2, M2, S2 against the K2 they measured. Measured: median error 0.8 cm, 90th
    percentile 1.3 cm, on a median K2 of 9.7 cm (leaving K2 out is an error of its whole amplitude)."""
    from workflows.gauges import load_catalogue

    cat = load_catalogue()
    box = (cat.lon > -15) & (cat.lon < 10) & (cat.lat > 43) & (cat.lat < 56)
    ks = [list(cat.constituents).index(c) for c in ("N2", "M2", "S2", "K2")]
    ok = box & np.all(np.isfinite(cat.amplitude[:, ks]), axis=1)
    hc = HarmonicConstituents(("N2", "M2", "S2"), cat.amplitude[ok][:, ks[:3]].T, cat.phase[ok][:, ks[:3]].T)
    out, _ = infer_minor(hc, minor=("K2",))
    k = out.constituents.index("K2")
    inferred = out.amplitude[k] * np.exp(-1j * np.radians(out.phase[k]))
    measured = cat.amplitude[ok, ks[3]] * np.exp(-1j * np.radians(cat.phase[ok, ks[3]]))
    err = np.abs(inferred - measured)
    assert ok.sum() > 300
    assert np.median(np.abs(measured)) > 0.08
    assert np.median(err) < 0.011 and np.percentile(err, 90) < 0.02


def test_boundary_forcing_records_what_it_inferred(tmp_path):
    from datetime import datetime, timezone

    from workflows.forcing.tides import tidal_forcing_for_boundary

    rows = [
        "open_boundary,seq,node,lon,lat,depth_m,N2_amp_m,N2_phase_deg,M2_amp_m,M2_phase_deg,S2_amp_m,S2_phase_deg",
        "1,1,1,-5.0,48.0,50,0.4,90,2.0,110,0.75,148",
        "1,2,2,-5.0,48.1,50,0.4,91,2.0,111,0.75,149",
    ]
    f = tmp_path / "t.csv"
    f.write_text("\n".join(rows) + "\n")
    start = datetime(2022, 3, 1, tzinfo=timezone.utc)
    lon, lat, ids = np.array([-5.0, -5.0]), np.array([48.0, 48.1]), np.array([0, 1])
    forcing = tidal_forcing_for_boundary({"kind": "harmonics", "path": str(f)}, lon, lat, ids, start)
    assert "N2, M2, S2 + 2N2, MU2, NU2, LAMBDA2, L2, T2, K2 inferred by admittance" in forcing.description
    k = forcing.constants.constituents.index("K2")
    assert forcing.constants.amplitude[k, 0] == pytest.approx(0.75 * POTENTIAL_AMPLITUDE["K2"] / POTENTIAL_AMPLITUDE["S2"])
    assert forcing.constants.phase[k, 0] == pytest.approx(148.0)
    plain = tidal_forcing_for_boundary({"kind": "harmonics", "path": str(f), "infer_minor": False}, lon, lat, ids, start)
    assert plain.constants.constituents == ("N2", "M2", "S2") and "inferred" not in plain.description
