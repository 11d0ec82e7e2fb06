"""Angular speeds, astronomical arguments and nodal corrections of the tidal constituents.

What a forecast takes from astronomy to predict the tide, computed here with numpy alone, so that
a forecast process need not import pyTMD (2 s of xarray, pandas, pint, dask, pyproj, scipy on
every start). pyTMD (Sutterley et al., https://github.com/pyTMD/pyTMD, version 3.0) is the
reference implementation these formulas follow; ``tests/test_astronomy.py`` checks every
constituent of :data:`DOODSON` under every convention of :data:`CONVENTIONS` against
``pyTMD.constituents.frequency`` and ``pyTMD.constituents.arguments``, which stay a test and
atlas-building dependency.

The tide at a point is ``sum_k f_k A_k cos(V0_k(t) + u_k - G_k)`` (Schureman 1958, eq. 1;
Pugh & Woodworth 2014, eq. 4.14), with

* the **equilibrium argument** of constituent ``k`` (degrees; Doodson 1921)::

      V0_k = c_tau tau + c_s s + c_h h + c_p p + c_N N + c_ps p_s + 90 c_k

  ``tau = 15 hour - s + h`` the mean lunar time (hour: UTC hours of the day), ``s``, ``h``,
  ``p``, ``N``, ``p_s`` the mean longitudes of the Moon, the Sun, the lunar perigee, the
  ascending lunar node and the solar perigee (:func:`mean_longitudes`), and
  ``(c_tau, c_s, c_h, c_p, c_N, c_ps)`` the constituent's Doodson numbers in Cartwright's
  signed form (Doodson 1921; Cartwright & Tayler 1971), ``c_k`` the multiple of 90 deg that
  turns the sine and negative-cosine terms of the expansion of the potential into cosines
  (Pugh & Woodworth 2014, Table 4.2; Ray 2017, pyTMD's seventh column). Note ``N`` (not
  ``N' = -N``) carries the node's coefficient, as in pyTMD;
* the **angular speed** ``omega_k = dV0_k/dt`` (rad/s), the same combination of the rates of the
  six longitudes (:func:`angular_speed`);
* the **nodal corrections** ``f_k`` (amplitude factor) and ``u_k`` (phase, rad), functions of
  ``N`` and ``p`` (:func:`nodal_corrections`), following the convention of the tide model the
  constants come from (:data:`CONVENTIONS`).

Conventions (the ``corrections`` argument; the forecast's ``[tides] nodal_corrections``):

``FES``
    Schureman (1958) nodal formulas in terms of the inclination ``I`` of the lunar orbit to the
    equator and the angles ``xi``, ``nu``, ``nu'``, ``nu''``, ``R`` (:func:`schureman_angles`),
    longitudes from Meeus (1998) polynomials (ASTRO5) and Simon et al. (1994) for ``p_s``.
``GOT``
    Ray's expansions ``f e^{iu} = 1 + sum a_j e^{i(...)}`` (Ray 1999, NASA TM-1999-209478;
    Doodson & Warburg 1941 for the long-period tides), Meeus longitudes.
``perth3``
    As GOT, with the simpler f, u of Ray's PERTH3 program for Q1, O1, K1, M2, N2 and K2 and none
    for P1, S2.
``OTIS``
    The f, u of OTIS/TMD (Egbert & Erofeeva 2002; Foreman & Henry 1989), with Cartwright's
    linear longitudes for 1990-2010 and S1's argument one quarter-period apart.

Compound and overtide constituents (M4, MS4, MK3, ...) take the product of their parents'
``f`` and the sum of their ``u`` (Schureman 1958, Table 2; Foreman & Henry 1989), except where
the tide models treat them as their parent (MS4, SN4, 2SM6 as M2; SK3 as K1; SK4 as K2; SO3 as
O1), as pyTMD does.

References: A. T. Doodson (1921), The harmonic development of the tide-generating potential,
Proc. R. Soc. A 100, 305-329. P. Schureman (1958), Manual of harmonic analysis and prediction
of tides, US C&GS Special Publication 98. D. E. Cartwright & R. J. Tayler (1971), New
computations of the tide-generating potential, Geophys. J. R. astr. Soc. 23, 45-74. J. Meeus
(1998), Astronomical Algorithms, 2nd ed., chapters 22 and 47. J. L. Simon et al. (1994),
Astron. Astrophys. 282, 663-683. M. G. G. Foreman & R. F. Henry (1989), Adv. Water Resour. 12,
109-120. R. D. Ray (1999), NASA TM-1999-209478. G. D. Egbert & S. Y. Erofeeva (2002), J. Atmos.
Oceanic Technol. 19, 183-204. D. T. Pugh & P. L. Woodworth (2014), Sea-level science, CUP.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONVENTIONS = ("FES", "OTIS", "GOT", "perth3")
"""Nodal-correction conventions (the order of the per-convention tuples of :data:`_NODAL`)."""

MJD_J2000 = 51544.5
"""Modified Julian Day of the J2000 epoch, 2000-01-01T12:00 (TT taken as UTC)."""
JULIAN_CENTURY = 36525.0
"""Days in a Julian century."""

# --------------------------------------------------------------------------------------------
# Doodson numbers

DOODSON: dict[str, tuple[int, int, int, int, int, int, int]] = {
    # name: (tau, s, h, p, N, p_s, k); k: multiple of 90 deg added to the argument
    # long period
    "SA": (0, 0, 1, 0, 0, -1, 0),
    "SSA": (0, 0, 2, 0, 0, 0, 0),
    "MSM": (0, 1, -2, 1, 0, 0, 0),
    "MM": (0, 1, 0, -1, 0, 0, 0),
    "MSF": (0, 2, -2, 0, 0, 0, 0),
    "MF": (0, 2, 0, 0, 0, 0, 0),
    "MTM": (0, 3, 0, -1, 0, 0, 0),
    "MSQM": (0, 4, -2, 0, 0, 0, 0),
    # diurnal
    "2Q1": (1, -3, 0, 2, 0, 0, -1),
    "SIG1": (1, -3, 2, 0, 0, 0, -1),
    "Q1": (1, -2, 0, 1, 0, 0, -1),
    "RHO1": (1, -2, 2, -1, 0, 0, -1),
    "O1": (1, -1, 0, 0, 0, 0, -1),
    "TAU1": (1, -1, 2, 0, 0, 0, 1),
    "M1": (1, 0, 0, 0, 0, 0, 1),
    "CHI1": (1, 0, 2, -1, 0, 0, 1),
    "PI1": (1, 1, -3, 0, 0, 1, -1),
    "P1": (1, 1, -2, 0, 0, 0, -1),
    "S1": (1, 1, -1, 0, 0, 0, 2),
    "K1": (1, 1, 0, 0, 0, 0, 1),
    "PSI1": (1, 1, 1, 0, 0, -1, 1),
    "PHI1": (1, 1, 2, 0, 0, 0, 1),
    "THETA1": (1, 2, -2, 1, 0, 0, 1),
    "J1": (1, 2, 0, -1, 0, 0, 1),
    "SO1": (1, 3, -2, 0, 0, 0, 1),
    "OO1": (1, 3, 0, 0, 0, 0, 1),
    "UPS1": (1, 4, 0, -1, 0, 0, 1),
    # semidiurnal
    "EPS2": (2, -3, 2, 1, 0, 0, 0),
    "MNS2": (2, -3, 2, 1, 0, 0, 0),
    "2N2": (2, -2, 0, 2, 0, 0, 0),
    "MU2": (2, -2, 2, 0, 0, 0, 0),
    "N2": (2, -1, 0, 1, 0, 0, 0),
    "NU2": (2, -1, 2, -1, 0, 0, 0),
    "M2": (2, 0, 0, 0, 0, 0, 0),
    "MKS2": (2, 0, 2, 0, 0, 0, 0),
    "LAMBDA2": (2, 1, -2, 1, 0, 0, 2),
    "L2": (2, 1, 0, -1, 0, 0, 2),
    "T2": (2, 2, -3, 0, 0, 1, 0),
    "S2": (2, 2, -2, 0, 0, 0, 0),
    "R2": (2, 2, -1, 0, 0, -1, 2),
    "K2": (2, 2, 0, 0, 0, 0, 0),
    "MSN2": (2, 3, -2, -1, 0, 0, 0),
    "ETA2": (2, 3, 0, -1, 0, 0, 0),
    "2SM2": (2, 4, -4, 0, 0, 0, 0),
    # terdiurnal
    "MO3": (3, -1, 0, 0, 0, 0, -1),
    "2MK3": (3, -1, 0, 0, 0, 0, -1),
    "M3": (3, 0, 0, 0, 0, 0, 0),
    "SO3": (3, 1, -2, 0, 0, 0, -1),
    "MK3": (3, 1, 0, 0, 0, 0, 1),
    "SK3": (3, 3, -2, 0, 0, 0, 1),
    # quarter-diurnal
    "N4": (4, -2, 0, 2, 0, 0, 0),
    "MN4": (4, -1, 0, 1, 0, 0, 0),
    "M4": (4, 0, 0, 0, 0, 0, 0),
    "SN4": (4, 1, -2, 1, 0, 0, 0),
    "MS4": (4, 2, -2, 0, 0, 0, 0),
    "MK4": (4, 2, 0, 0, 0, 0, 0),
    "S4": (4, 4, -4, 0, 0, 0, 0),
    "SK4": (4, 4, -2, 0, 0, 0, 0),
    # sixth- and eighth-diurnal
    "2MN6": (6, -1, 0, 1, 0, 0, 0),
    "M6": (6, 0, 0, 0, 0, 0, 0),
    "MSN6": (6, 1, -2, 1, 0, 0, 0),
    "2MS6": (6, 2, -2, 0, 0, 0, 0),
    "2SM6": (6, 4, -4, 0, 0, 0, 0),
    "S6": (6, 6, -6, 0, 0, 0, 0),
    "M8": (8, 0, 0, 0, 0, 0, 0),
}
"""Doodson numbers ``(tau, s, h, p, N, p_s, k)`` of every constituent coastcast predicts,
keyed by its canonical upper-case name (:func:`workflows.forcing.harmonics.canonical_constituent`;
``SIG1`` is pyTMD's ``sigma1``). Signed integers (Cartwright & Tayler 1971), so that e.g. M2 is
Doodson's 255.555 and S6 (s = 6, h = -6) needs no letters; the values are those of Doodson
(1921) and Schureman (1958, Table 2) as pyTMD tabulates them (``pyTMD/data/doodson.json``).
The set: the constituents of every atlas coastcast reads (FES2014/2022, TPXO9/10, the coastcast
and JMJ atlases), the 37 of NOAA's harmonic tables, those the minor-tide inference adds and
those a TELEMAC file may name by period (:data:`workflows.forcing.tide_formats.PERIOD_CANDIDATES`)."""

_OTIS_S1 = (1, 1, -1, 0, 0, 0, 1)
"""S1's numbers under OTIS: its argument is a quarter period (90 deg) behind the other conventions'."""

PYTMD_NAMES = {name: ("sigma1" if name == "SIG1" else name.lower()) for name in DOODSON}
"""pyTMD's name of each constituent of :data:`DOODSON` (for the comparison tests)."""


class UnknownConstituent(ValueError):
    """A constituent that is not in :data:`DOODSON`; one-line message."""


def _check(names: Sequence[str], corrections: str) -> list[str]:
    if corrections not in CONVENTIONS:
        raise ValueError(f"nodal_corrections {corrections!r} is not one of {', '.join(CONVENTIONS)}")
    out = [str(n).upper() for n in names]
    for name in out:
        if name not in DOODSON:
            raise UnknownConstituent(
                f"tidal constituent {name!r} is not known to pyTMD (coastcast's copy of its tables, "
                f"workflows/forcing/astronomy.py, has {', '.join(DOODSON)})"
            )
    return out


def _numbers(names: Sequence[str], corrections: str) -> np.ndarray:
    """(7, n_con) Doodson numbers (float) of ``names`` under ``corrections``."""
    cols = [_OTIS_S1 if (n == "S1" and corrections == "OTIS") else DOODSON[n] for n in names]
    return np.array(cols, dtype=float).T.reshape(7, len(names))


# --------------------------------------------------------------------------------------------
# mean longitudes

# Meeus (1998): polynomials in Julian centuries T from J2000, degrees
_MOON = (218.3164477, 481267.88123421, -1.5786e-3, 1.855835e-6, -1.53388e-8)  # eq. 47.1, L'
_ELONGATION = (297.8501921, 445267.1114034, -1.8819e-3, 1.83195e-6, -8.8445e-9)  # eq. 47.2, D
_PERIGEE = (83.3532465, 4069.0137287, -1.032e-2, -1.249172e-5)  # p. 343, mean perigee
_NODE = (125.04452, -1934.136261, 2.0708e-3, 2.22222e-6)  # ch. 22, Omega
_SUN = tuple(a - b for a, b in zip(_MOON, _ELONGATION, strict=True))  # h = L' - D
_SOLAR_PERIGEE = (282.94, 1.7192)  # Simon et al. (1994)

# Cartwright's linear formulas for 1990-2010 (OTIS/TMD): degrees and degrees per day from
# MJD 51544.4993 (J2000 with TT - UT of 2000 removed); the solar perigee is held at 282.8
_CARTWRIGHT_EPOCH = 51544.4993
_CARTWRIGHT = ((218.3164, 13.17639648), (280.4661, 0.98564736), (83.3535, 0.11140353), (125.0445, -0.05295377), (282.8, 0.0))


def _polynomial(coef, t):
    return sum(c * t**i for i, c in enumerate(coef))


def mean_longitudes(mjd, corrections: str = "FES"):
    """Mean longitudes ``(s, h, p, N, p_s)`` in degrees, each in [0, 360) and shaped like ``mjd``.

    ``mjd``: Modified Julian Day(s), UTC taken as dynamical time (TT - UT, about 69 s, is
    neglected as the tide models do). ``s``: the Moon; ``h``: the Sun; ``p``: the lunar
    perigee; ``N``: the ascending lunar node (decreasing); ``p_s``: the solar perigee.

    FES, GOT, perth3 (ASTRO5): with ``T = (mjd - 51544.5) / 36525`` Julian centuries,
    ``s = L'(T)`` (Meeus 1998, eq. 47.1), ``h = L'(T) - D(T)`` (eq. 47.2: D the mean elongation),
    ``p`` the mean perigee (p. 343), ``N = Omega(T)`` (ch. 22), ``p_s = 282.94 + 1.7192 T``
    (Simon et al. 1994). OTIS: Cartwright's linear formulas, ``s = 218.3164 + 13.17639648 d``,
    ``h = 280.4661 + 0.98564736 d``, ``p = 83.3535 + 0.11140353 d``, ``N = 125.0445 -
    0.05295377 d``, ``p_s = 282.8``, with ``d = mjd - 51544.4993`` days (pyTMD's ``Cartwright``).
    """
    mjd = np.asarray(mjd, dtype=float)
    if corrections == "OTIS":
        d = mjd - _CARTWRIGHT_EPOCH
        out = [a + b * d for a, b in _CARTWRIGHT]
    else:
        t = (mjd - MJD_J2000) / JULIAN_CENTURY
        out = [_polynomial(c, t) for c in (_MOON, _SUN, _PERIGEE, _NODE, _SOLAR_PERIGEE)]
    return tuple(np.mod(x, 360.0) for x in out)


def _longitude_rates(corrections: str) -> np.ndarray:
    """(7,) rates in degrees per day of ``(tau, s, h, p, N, p_s, k)``: the linear terms of
    :func:`mean_longitudes` (the quadratic terms change them by < 1e-14 relative at J2000) and
    ``d tau/dt = 360 - ds/dt + dh/dt``."""
    if corrections == "OTIS":
        s, h, p, n, ps = (b for _, b in _CARTWRIGHT)
    else:
        s, h, p, n, ps = (c[1] / JULIAN_CENTURY for c in (_MOON, _SUN, _PERIGEE, _NODE, _SOLAR_PERIGEE))
    return np.array([360.0 - s + h, s, h, p, n, ps, 0.0])


def angular_speed(names: Sequence[str], corrections: str = "FES") -> np.ndarray:
    """(n_con,) angular speeds in rad/s: ``omega_k = |sum_j c_kj dL_j/dt|`` over the Doodson
    numbers ``c_k`` of :data:`DOODSON` and the rates of the mean longitudes at J2000
    (:func:`mean_longitudes`; Doodson 1921). ``Z0`` (the mean level) has speed 0."""
    names = [str(n).upper() for n in names]
    tidal = [n for n in names if n != "Z0"]
    out = np.zeros(len(names))
    if tidal:
        tidal = _check(tidal, corrections)
        deg_per_day = _longitude_rates(corrections) @ _numbers(tidal, corrections)
        out[[i for i, n in enumerate(names) if n != "Z0"]] = np.abs(np.radians(deg_per_day) / 86400.0)
    return out


def equilibrium_argument(mjd, names: Sequence[str], corrections: str = "FES") -> np.ndarray:
    """(n_t, n_con) equilibrium arguments ``V0`` in degrees (not reduced to [0, 360)) at the
    (n_t,) Modified Julian Days ``mjd`` (UTC): ``V0 = c . (tau, s, h, p, N, p_s, 90)`` with the
    longitudes of :func:`mean_longitudes` in [0, 360) and ``tau = 15 hour - s + h``,
    ``hour = 24 (mjd mod 1)`` (Doodson 1921; Schureman 1958, Table 2)."""
    names = _check(names, corrections)
    mjd = np.atleast_1d(np.asarray(mjd, dtype=float))
    s, h, p, n, ps = mean_longitudes(mjd, corrections)
    tau = 15.0 * (24.0 * np.mod(mjd, 1.0)) - s + h
    longitudes = np.stack([tau, s, h, p, n, ps, np.full_like(tau, 90.0)], axis=1)  # (n_t, 7)
    return longitudes @ _numbers(names, corrections)


# --------------------------------------------------------------------------------------------
# nodal corrections


def schureman_angles(p, n):
    """Schureman's (1958) auxiliary angles of the lunar orbit, in radians, from the mean
    longitudes of the lunar perigee ``p`` and node ``n`` (radians; arrays of one shape):
    ``(I, xi, nu, nu_p, nu_s, R_a, R)``.

    * ``cos I = 0.913694997 - 0.035692561 cos N`` (p. 156: ``cos w cos i - sin w sin i cos N``
      with the obliquity ``w`` and the inclination ``i`` of the lunar orbit);
    * ``xi`` and ``nu`` from Napier's analogies, ``tan((N - xi + nu)/2) = 1.01883 tan(N/2)`` and
      ``tan((N - xi - nu)/2) = 0.64412 tan(N/2)`` (p. 156);
    * ``tan nu' = sin 2I sin nu / (sin 2I cos nu + 0.3347)`` (eq. 224, K1);
    * ``tan 2nu'' = sin^2 I sin 2nu / (sin^2 I cos 2nu + 0.0727)`` (eq. 232, K2);
    * with ``P = p - xi``: ``1/R_a = (1 - 12 tan^2(I/2) cos 2P + 36 tan^4(I/2))^(1/2)``
      (eq. 213) and ``tan R = sin 2P / (cot^2(I/2)/6 - cos 2P)`` (eq. 214, L2).
    """
    cos_i = 0.913694997 - 0.035692561 * np.cos(n)
    inc = np.arccos(cos_i)
    a = np.arctan(1.01883 * np.tan(n / 2.0))  # (N - xi + nu)/2
    b = np.arctan(0.64412 * np.tan(n / 2.0))  # (N - xi - nu)/2
    xi = n - a - b
    xi = np.arctan2(np.sin(xi), np.cos(xi))
    nu = a - b
    s2i = np.sin(2.0 * inc)
    nu_p = np.arctan2(s2i * np.sin(nu), s2i * np.cos(nu) + 0.3347)
    si2 = np.sin(inc) ** 2
    nu_s = 0.5 * np.arctan2(si2 * np.sin(2.0 * nu), si2 * np.cos(2.0 * nu) + 0.0727)
    big_p = p - xi
    t2 = np.tan(inc / 2.0) ** 2
    r_a = (1.0 - 12.0 * t2 * np.cos(2.0 * big_p) + 36.0 * t2**2) ** -0.5
    r = np.arctan2(np.sin(2.0 * big_p), 1.0 / (6.0 * t2) - np.cos(2.0 * big_p))
    return inc, xi, nu, nu_p, nu_s, r_a, r


def _series(terms, n, p):
    """``f, u`` of ``f e^{iu} = 1 + sum a e^{i(j_N N + j_p p)}`` for ``terms`` a tuple of
    ``(a, j_N, j_p)`` (Ray 1999; Doodson & Warburg 1941): the amplitudes and arguments of the
    satellite lines relative to the main line."""
    re = 1.0 + sum(a * np.cos(jn * n + jp * p) for a, jn, jp in terms)
    im = sum(a * np.sin(jn * n + jp * p) for a, jn, jp in terms)
    return np.hypot(re, im), np.arctan2(im, re)


def _ray(*terms):
    return lambda n, p, sch: _series(terms, n, p)


def _terms(re_terms, im_terms):
    """``f e^{iu} = (1 + sum b cos(j_N N + j_p p)) + i sum c sin(...)``: the OTIS and GOT tables
    whose real and imaginary satellite amplitudes differ (Foreman & Henry 1989; Ray 1999)."""

    def fu(n, p, sch):
        re = 1.0 + sum(b * np.cos(jn * n + jp * p) for b, jn, jp in re_terms)
        im = sum(c * np.sin(jn * n + jp * p) for c, jn, jp in im_terms)
        return np.hypot(re, im), np.arctan2(im, re)

    return fu


def _polynomial_fu(f_cos, u_sin_deg):
    """``f = a0 + a1 cos N + a2 cos 2N``, ``u = b1 sin N + b2 sin 2N + b3 sin 3N`` (degrees):
    Doodson & Warburg (1941) as used by OTIS (Mf) and by Ray's PERTH3 (Q1, O1, K1, M2, K2)."""

    def fu(n, p, sch):
        f = f_cos[0] + sum(a * np.cos((j + 1) * n) for j, a in enumerate(f_cos[1:]))
        u = sum(b * np.sin((j + 1) * n) for j, b in enumerate(u_sin_deg))
        return f + 0.0 * n, np.radians(u + 0.0 * n)

    return fu


def _one(n, p, sch):
    return np.ones_like(n), np.zeros_like(n)


# Schureman (1958) in terms of I, xi, nu (Table 2 and the equations named)
def _sch_mm(n, p, sch):  # eq. 73
    inc = sch[0]
    return (2.0 / 3.0 - np.sin(inc) ** 2) / 0.5021, np.zeros_like(n)


def _sch_mf(n, p, sch):  # eq. 74
    inc, xi = sch[0], sch[1]
    return np.sin(inc) ** 2 / 0.1578, -2.0 * xi


def _sch_o1(n, p, sch):  # eq. 75
    inc, xi, nu = sch[:3]
    return np.sin(inc) * np.cos(inc / 2.0) ** 2 / 0.38, 2.0 * xi - nu


def _sch_j1(n, p, sch):  # eq. 76
    inc, nu = sch[0], sch[2]
    return np.sin(2.0 * inc) / 0.7214, -nu


def _sch_oo1(n, p, sch):  # eq. 77
    inc, xi, nu = sch[:3]
    return np.sin(inc) * np.sin(inc / 2.0) ** 2 / 0.01640, -2.0 * xi - nu


def _sch_m2(n, p, sch):  # eq. 78
    inc, xi, nu = sch[:3]
    return np.cos(inc / 2.0) ** 4 / 0.9154, 2.0 * xi - 2.0 * nu


def _sch_msf(n, p, sch):  # eq. 78, the argument of M2 reversed (MSF = S2 - M2)
    f, u = _sch_m2(n, p, sch)
    return f, -u


def _sch_eta2(n, p, sch):  # eq. 79
    inc, nu = sch[0], sch[2]
    return np.sin(inc) ** 2 / 0.1565, -2.0 * nu


def _sch_m3(n, p, sch):  # eq. 149
    inc, xi, nu = sch[:3]
    return np.cos(inc / 2.0) ** 6 / 0.8758, 3.0 * xi - 3.0 * nu


def _sch_l2(n, p, sch):  # eqs. 213-215
    f, u = _sch_m2(n, p, sch)
    r_a, r = sch[5], sch[6]
    return f / r_a, u - r


def _sch_k1(n, p, sch):  # eqs. 224, 227
    inc, nu, nu_p = sch[0], sch[2], sch[3]
    s2i = np.sin(2.0 * inc)
    return np.sqrt(0.8965 * s2i**2 + 0.6001 * s2i * np.cos(nu) + 0.1006), -nu_p


def _sch_k2(n, p, sch):  # eqs. 232, 235
    inc, nu, nu_s = sch[0], sch[2], sch[4]
    si = np.sin(inc)
    return np.sqrt(19.0444 * si**4 + 2.7702 * si**2 * np.cos(2.0 * nu) + 0.0981), -2.0 * nu_s


# the OTIS one whose u is an arctangent of a different ratio than its f (TMD's Q1)
def _otis_q1(n, p, sch):
    f = np.hypot(1.0 + 0.188 * np.cos(n), 0.188 * np.sin(n))
    return f, np.arctan(0.189 * np.sin(n) / (1.0 + 0.189 * np.cos(n)))


def _otis_o1(n, p, sch):
    f = np.hypot(1.0 + 0.189 * np.cos(n) - 0.0058 * np.cos(2.0 * n), 0.189 * np.sin(n) - 0.0058 * np.sin(2.0 * n))
    return f, np.radians(10.8 * np.sin(n) - 1.3 * np.sin(2.0 * n) + 0.2 * np.sin(3.0 * n))


# (a, j_N, j_p): satellite amplitude and its argument j_N N + j_p p
_FAMILIES = {
    "one": _one,
    # Schureman (1958), FES
    "sch_mm": _sch_mm,
    "sch_mf": _sch_mf,
    "sch_msf": _sch_msf,
    "sch_o1": _sch_o1,
    "sch_j1": _sch_j1,
    "sch_oo1": _sch_oo1,
    "sch_k1": _sch_k1,
    "sch_m2": _sch_m2,
    "sch_l2": _sch_l2,
    "sch_k2": _sch_k2,
    "sch_eta2": _sch_eta2,
    "sch_m3": _sch_m3,
    # Ray (1999) satellite expansions, GOT and perth3
    "ray_mm": _terms(((-0.1308, 1, 0), (-0.0534, 0, 2), (-0.0219, -1, 2)), ((-0.0534, 0, 2), (-0.0219, -1, 2))),
    "ray_mf": _ray((0.41465, -1, 0), (0.04324, 0, -2), (0.03873, -2, 0)),
    "ray_mt": _ray((0.4145, -1, 0), (0.018, 0, -2), (0.040, -2, 0)),
    "ray_msf": _terms((), ((0.137, 1, 0),)),
    "ray_o1": _ray((0.1886, 1, 0), (-0.0058, 2, 0), (-0.0065, 0, 2)),
    "ray_q1": _ray((0.1886, 1, 0)),
    "ray_tau1": _terms(((-0.219, 1, 0),), ((0.219, 1, 0),)),
    "ray_chi1": _terms(((0.193, 1, 0),), ((-0.250, 1, 0),)),
    "ray_p1": _ray((-0.0112, 1, 0)),
    "ray_k1": _terms(((0.1158, 1, 0), (-0.0028, 2, 0)), ((-0.1554, 1, 0), (0.0031, 2, 0))),
    "ray_j1": _terms(((0.169, 1, 0),), ((-0.227, 1, 0),)),
    "ray_oo1": _ray((0.640, -1, 0), (0.134, -2, 0), (0.150, 0, -2)),
    "ray_m2": _ray((-0.03731, 1, 0), (0.00052, 2, 0)),
    "ray_l2": _ray((-0.25, 0, 2), (-0.11, -1, 2), (-0.037, 1, 0)),
    "ray_k2": _terms(((0.2853, 1, 0), (0.0324, 2, 0)), ((-0.3108, 1, 0), (-0.0324, 2, 0))),
    "ray_eta2": _ray((0.436, -1, 0)),
    "ray_s2": _ray((0.00225, 1, 0)),
    "ray_m3": _ray((-0.05644, 1, 0)),
    # M1 of PERTH5 (Ray), pyTMD's default for every convention; its argument includes p
    "ray_m1": _terms(((0.1722, 1, 0), (0.3594, 0, 2), (0.0664, -1, 2)), ((-0.2294, 1, 0), (-0.3594, 0, 2), (-0.0664, -1, 2))),
    # OTIS/TMD (Egbert & Erofeeva 2002; Foreman & Henry 1989)
    "otis_mm": _terms(((-0.130, 1, 0),), ()),
    "otis_mf": _polynomial_fu((1.043, 0.414), (-23.7, 2.7, -0.4)),
    "otis_o1": _otis_o1,
    "otis_q1": _otis_q1,
    "otis_chi1": _ray((0.221, -1, 0)),
    "otis_k1": _terms(((0.1158, 1, 0), (-0.0029, 2, 0)), ((-0.1554, 1, 0), (0.0029, 2, 0))),
    "otis_oo1": _ray((0.640, -1, 0), (0.134, -2, 0)),
    "otis_l2": _ray((-0.25, 0, 2), (-0.11, -1, 2), (-0.04, 1, 0)),
    "otis_k2": _terms(((0.2852, 1, 0), (0.0324, 2, 0)), ((-0.3108, 1, 0), (-0.0324, 2, 0))),
    # PERTH3 (Ray)
    "perth3_q1o1": _polynomial_fu((1.009, 0.187, -0.015), (10.8, -1.3)),
    "perth3_k1": _polynomial_fu((1.006, 0.115, -0.009), (-8.9, 0.7)),
    "perth3_m2": _polynomial_fu((1.000, -0.037), (-2.1,)),
    "perth3_k2": _polynomial_fu((1.024, 0.286, 0.008), (-17.7, 0.7)),
}
"""Nodal formulas ``(n, p, schureman_angles) -> (f, u)`` (radians), by family."""

_NODAL: dict[str, tuple[str, str, str, str]] = {
    # name: family under (FES, OTIS, GOT, perth3)
    "SA": ("one",) * 4,
    "SSA": ("one",) * 4,
    "MSM": ("sch_mm", "otis_mm", "ray_mm", "ray_mm"),
    "MM": ("sch_mm", "otis_mm", "ray_mm", "ray_mm"),
    "MSF": ("sch_msf", "one", "ray_msf", "ray_msf"),
    "MF": ("sch_mf", "otis_mf", "ray_mf", "ray_mf"),
    "MTM": ("sch_mf", "otis_mf", "ray_mt", "ray_mt"),
    "MSQM": ("sch_mf", "otis_mf", "ray_mf", "ray_mf"),
    "2Q1": ("sch_o1", "otis_q1", "ray_q1", "ray_q1"),
    "SIG1": ("sch_o1", "otis_q1", "ray_q1", "ray_q1"),
    "Q1": ("sch_o1", "otis_q1", "ray_q1", "perth3_q1o1"),
    "RHO1": ("sch_o1", "otis_q1", "ray_q1", "ray_q1"),
    "O1": ("sch_o1", "otis_o1", "ray_o1", "perth3_q1o1"),
    "TAU1": ("ray_tau1", "one", "ray_tau1", "ray_tau1"),
    "M1": ("ray_m1",) * 4,
    "CHI1": ("sch_j1", "otis_chi1", "ray_chi1", "ray_chi1"),
    "PI1": ("one",) * 4,
    "P1": ("one", "one", "ray_p1", "one"),
    "S1": ("one",) * 4,
    "K1": ("sch_k1", "otis_k1", "ray_k1", "perth3_k1"),
    "PSI1": ("one",) * 4,
    "PHI1": ("one",) * 4,
    "THETA1": ("sch_j1", "one", "ray_j1", "ray_j1"),
    "J1": ("sch_j1", "ray_j1", "ray_j1", "ray_j1"),
    "OO1": ("sch_oo1", "otis_oo1", "ray_oo1", "ray_oo1"),
    "UPS1": ("sch_oo1", "otis_oo1", "ray_oo1", "ray_oo1"),
    "EPS2": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "2N2": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "MU2": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "N2": ("sch_m2", "ray_m2", "ray_m2", "perth3_m2"),
    "NU2": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "M2": ("sch_m2", "ray_m2", "ray_m2", "perth3_m2"),
    "LAMBDA2": ("sch_m2", "one", "ray_m2", "ray_m2"),
    "L2": ("sch_l2", "otis_l2", "ray_l2", "ray_l2"),
    "T2": ("one",) * 4,
    "S2": ("one", "one", "ray_s2", "one"),
    "R2": ("one",) * 4,
    "K2": ("sch_k2", "otis_k2", "ray_k2", "perth3_k2"),
    "ETA2": ("sch_eta2", "ray_eta2", "ray_eta2", "ray_eta2"),
    "SO3": ("sch_o1", "otis_o1", "ray_o1", "ray_o1"),
    "M3": ("sch_m3", "ray_m3", "ray_m3", "ray_m3"),
    "SK3": ("sch_k1", "otis_k1", "ray_k1", "ray_k1"),
    "SN4": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "MS4": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "S4": ("one",) * 4,
    "SK4": ("sch_k2", "otis_k2", "ray_k2", "ray_k2"),
    "2SM6": ("sch_m2", "ray_m2", "ray_m2", "ray_m2"),
    "S6": ("one",) * 4,
}
"""The nodal family of each linear constituent (and of the compound ones the tide models treat
as their parent) under each of :data:`CONVENTIONS`."""

_COMPOUND: dict[str, tuple[tuple[str, int, int], ...]] = {
    # name: (parent, power of its f, multiple of its u), ...
    "SO1": (("O1", 1, -1),),
    "MNS2": (("M2", 2, 2),),
    "MKS2": (("M2", 1, 1), ("K2", 1, 1)),
    "MSN2": (("M2", 2, 0),),
    "2SM2": (("M2", 1, -1),),
    "MO3": (("M2", 1, 1), ("O1", 1, 1)),
    "2MK3": (("M2", 2, 2), ("K1", 1, -1)),
    "MK3": (("M2", 1, 1), ("K1", 1, 1)),
    "N4": (("M2", 2, 2),),
    "MN4": (("M2", 2, 2),),
    "M4": (("M2", 2, 2),),
    "MK4": (("M2", 1, 1), ("K2", 1, 1)),
    "2MN6": (("M2", 3, 3),),
    "M6": (("M2", 3, 3),),
    "MSN6": (("M2", 2, 2),),
    "2MS6": (("M2", 2, 2),),
    "M8": (("M2", 4, 4),),
}
"""Compound tides: ``f = prod f_parent^a``, ``u = sum b u_parent`` (Schureman 1958, Table 2;
Foreman & Henry 1989), the parents' f, u in the same convention (N4, MN4: N2 taken as M2)."""


def nodal_corrections(mjd, names: Sequence[str], corrections: str = "FES"):
    """Nodal corrections ``(u, f)`` at the (n_t,) Modified Julian Days ``mjd``: ``u`` (n_t, n_con)
    in radians and ``f`` (n_t, n_con), functions of the node ``N`` and perigee ``p`` of
    :func:`mean_longitudes` through the formulas of ``corrections`` (the module docstring;
    :func:`schureman_angles` for FES)."""
    names = _check(names, corrections)
    mjd = np.atleast_1d(np.asarray(mjd, dtype=float))
    _, _, p, n, _ = mean_longitudes(mjd, corrections)
    p, n = np.radians(p), np.radians(n)
    sch = schureman_angles(p, n) if corrections == "FES" else None
    col = CONVENTIONS.index(corrections)

    def linear(name):
        return _FAMILIES[_NODAL[name][col]](n, p, sch)

    u = np.zeros((mjd.size, len(names)))
    f = np.ones((mjd.size, len(names)))
    for i, name in enumerate(names):
        if name in _NODAL:
            f[:, i], u[:, i] = linear(name)
        else:
            for parent, a, b in _COMPOUND[name]:
                fp, up = linear(parent)
                f[:, i] *= fp**a
                u[:, i] += b * up
    return u, f


def arguments(mjd, names: Sequence[str], corrections: str = "FES"):
    """``(u, f, V0)`` at the (n_t,) Modified Julian Days ``mjd`` (UTC) for the constituents
    ``names``: nodal phase ``u`` (n_t, n_con) rad, factor ``f`` (n_t, n_con), equilibrium
    argument ``V0`` (n_t, n_con) degrees; the counterpart of ``pyTMD.constituents.arguments``."""
    u, f = nodal_corrections(mjd, names, corrections)
    return u, f, equilibrium_argument(mjd, names, corrections)
