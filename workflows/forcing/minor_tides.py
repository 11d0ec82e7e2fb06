"""Minor semidiurnal constituents inferred from the major ones by their admittance.

Munk & Cartwright (1966, Phil. Trans. R. Soc. A 259) showed that the ocean's response to the
tide-generating potential varies smoothly with frequency within a tidal species ("the credo of
smoothness"). Writing each constituent's complex tide ζ_k = A_k e^{−iG_k} (amplitude, Greenwich
phase lag) as the product of the equilibrium amplitude a_k of its line of the potential
(Cartwright & Tayler 1971; Cartwright & Edden 1973) and an admittance,

    ζ_k = a_k Z(ω_k),

the admittance Z(ω) of a species is known at its major constituents (N2, M2, S2 for the
semidiurnal band) and is interpolated linearly in ω between them; outside the range of the
majors it is held at the value of the nearest one. A constituent that a forcing source lacks is
then ζ_k = a_k Z(ω_k). The same relation holds for each component of the depth-averaged current
(the response is linear). This is how tide models and predictors fill in the constituents their
atlases do not carry (Ray 1999, NASA TM-1999-209478; Egbert & Erofeeva 2002; pyTMD's
``infer_minor``).

Checked against the catalogue's own K2 at the 337 gauges of the NW European shelf (median K2
9.7 cm): the admittance of S2 gives K2 within 0.8 cm (median), 1.3 cm (90th percentile)
(tests/test_minor_tides.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from . import astronomy

log = logging.getLogger(__name__)

# Cartwright & Edden (1973) equilibrium amplitudes (m) of the semidiurnal lines, as tabulated in
# the IERS Conventions (2010) Table 6.7 and in pyTMD.
POTENTIAL_AMPLITUDE = {
    "N2": 0.121006,
    "M2": 0.631931,
    "S2": 0.294019,
    "2N2": 0.016011,
    "MU2": 0.019316,
    "NU2": 0.022983,
    "LAMBDA2": 0.004662,
    "L2": 0.017862,
    "T2": 0.017180,
    "K2": 0.079924,
}
SEMIDIURNAL_MAJOR = ("N2", "M2", "S2")
SEMIDIURNAL_MINOR = ("2N2", "MU2", "NU2", "LAMBDA2", "L2", "T2", "K2")


def frequency(names: Sequence[str]) -> np.ndarray:
    """(n,) angular speeds (rad/s) of the constituents ``names``
    (:func:`workflows.forcing.astronomy.angular_speed`). With Cartwright's mean rates (the
    ``OTIS`` convention, pyTMD's default, which these weights have always used): the other
    conventions' rates differ from them by < 2e-11 relative in the semidiurnal band."""
    return astronomy.angular_speed(names, "OTIS")


def admittance_weights(majors: Sequence[str], minor: str) -> np.ndarray:
    """(n_major,) weights w such that Z(ω_minor) = Σ w_j Z_j: linear in ω between the two majors
    around ω_minor, the nearest major's value outside their range."""
    om = frequency(majors)
    order = np.argsort(om)
    w_sorted = np.zeros(len(majors))
    x = om[order]
    w0 = frequency([minor])[0]
    if w0 <= x[0]:
        w_sorted[0] = 1.0
    elif w0 >= x[-1]:
        w_sorted[-1] = 1.0
    else:
        j = int(np.searchsorted(x, w0)) - 1
        s = (w0 - x[j]) / (x[j + 1] - x[j])
        w_sorted[j], w_sorted[j + 1] = 1.0 - s, s
    w = np.zeros(len(majors))
    w[order] = w_sorted
    return w


def _complex(amp, pha):
    return amp * np.exp(-1j * np.radians(pha))


def infer_minor(constants, minor: Sequence[str] = SEMIDIURNAL_MINOR):
    """``constants`` (a :class:`workflows.forcing.tides.HarmonicConstituents`) with the
    constituents of ``minor`` it lacks inferred from N2, M2 and S2 (elevation and, where present,
    currents), and the names added: ``(constants, added)``.

    Returns ``(constants, ())`` unchanged when N2, M2 or S2 is missing.
    """
    names = constants.constituents
    if any(c not in names for c in SEMIDIURNAL_MAJOR):
        return constants, ()
    add = tuple(c for c in (m.upper() for m in minor) if c not in names)
    if not add:
        return constants, ()
    idx = [names.index(c) for c in SEMIDIURNAL_MAJOR]
    a_major = np.array([POTENTIAL_AMPLITUDE[c] for c in SEMIDIURNAL_MAJOR])[:, None]

    def extend(amp, pha):
        z = _complex(amp[idx], pha[idx]) / a_major  # (3, n_point) admittances
        new = np.array([POTENTIAL_AMPLITUDE[m] * (admittance_weights(SEMIDIURNAL_MAJOR, m) @ z) for m in add])
        return np.vstack([amp, np.abs(new)]), np.vstack([pha, np.degrees(-np.angle(new)) % 360.0])

    amp, pha = extend(constants.amplitude, constants.phase)
    fields = {"amplitude": amp, "phase": pha}
    if constants.has_currents:
        fields["u_amplitude"], fields["u_phase"] = extend(constants.u_amplitude, constants.u_phase)
        fields["v_amplitude"], fields["v_phase"] = extend(constants.v_amplitude, constants.v_phase)
    out = replace(constants, constituents=names + add, **fields)
    log.info("inferred %s from N2, M2, S2 by admittance", ", ".join(add))
    return out, add
