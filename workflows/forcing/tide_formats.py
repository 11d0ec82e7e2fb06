"""Readers of open-boundary tidal harmonic tables.

Each returns :class:`~workflows.forcing.tides.HarmonicConstituents` (amplitudes in m, currents in
m/s, Greenwich phase lags in degrees, UTC). Bad input raises
:class:`~workflows.forcing.tides.TideInputError` with a one-line message ``name: line N: ...``.

- :func:`read_boundary_harmonics_csv`: the JMJ CSV layout (``open_boundary, seq, node, lon, lat,
  depth_m, <CON>_amp_m, <CON>_phase_deg``); node numbers 1-based in the file, 0-based in the result.
- :func:`read_bctides`: SCHISM ``bctides.in`` (tidal potential block, ``nbfr`` forcing
  frequencies, then per open segment ``neta iettype ifltype itetype isatype``; type 3 and 5
  elevation blocks hold ``amp phase`` per node, type 3 and 5 velocity blocks ``uamp uphase vamp
  vphase`` per node, for each forcing frequency in turn).
- :func:`read_fort15_boundary_harmonics`: ADCIRC ``fort.15`` periodic elevation boundary table
  (``NBFR``; per constituent its name and ``AMIG FF FACE``; then per constituent its name and NETA
  lines ``EMO EFA``). Only amplitudes and phases are used: nodal factors and equilibrium arguments
  are recomputed for the run's dates.
- :func:`read_telemac_harmonic_cli`: TELEMAC harmonic boundary file (``maree.cli``): number of
  waves, number of periods, the periods (s), then per node its global number (1-based) and one
  ``amplitude phase`` line per wave. Constituents are identified by period (within 0.02 %).

Amplitudes above 25 m (or currents above 10 m/s) are refused as wrong units (cm or mm).
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .harmonics import (
    HarmonicConstituents,
    TideInputError,
    canonical_constituent,
    constituent_frequency,
)

log = logging.getLogger(__name__)

MAX_AMPLITUDE_M = 25.0
"""Largest believable tidal elevation amplitude (Bay of Fundy M2 is about 6 m)."""
MAX_CURRENT_MS = 10.0

PERIOD_CANDIDATES = (
    "M2",
    "S2",
    "N2",
    "K2",
    "K1",
    "O1",
    "P1",
    "Q1",
    "M4",
    "MS4",
    "MN4",
    "M6",
    "2N2",
    "MU2",
    "NU2",
    "L2",
    "T2",
    "LAMBDA2",
    "EPS2",
    "R2",
    "M3",
    "MK3",
    "S4",
    "M8",
    "J1",
    "OO1",
    "2Q1",
    "RHO1",
    "M1",
    "S1",
    "MF",
    "MM",
    "MSF",
    "SSA",
    "SA",
)
PERIOD_TOLERANCE = 2e-4
"""Relative tolerance when a constituent is identified from its period."""


def _where(path, line=None) -> str:
    name = Path(path).name
    return f"{name}: line {line}: " if line is not None else f"{name}: "


def _read_lines(path) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return raw.decode("latin-1").splitlines()


def _float(tok: str, path, line, what: str) -> float:
    try:
        val = float(tok.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise TideInputError(f"{_where(path, line)}{what} {tok!r} is not a number") from None
    if not np.isfinite(val):
        raise TideInputError(f"{_where(path, line)}{what} is {tok!r} (not a finite number)")
    return val


def _check_amplitude(val: float, path, line, what: str, limit=MAX_AMPLITUDE_M, unit="m"):
    if val < 0:
        raise TideInputError(f"{_where(path, line)}{what} = {val:g} is negative")
    if val > limit:
        raise TideInputError(
            f"{_where(path, line)}{what} = {val:g} {unit} is not believable: amplitudes must be in {unit} (cm or mm given?)"
        )
    return val


def _check_phase(val: float, path, line, what: str):
    if not -360.0 <= val <= 720.0:
        raise TideInputError(f"{_where(path, line)}{what} = {val:g} is not a phase in degrees")
    return val


def _checked_name(name: str, path, line) -> str:
    con = canonical_constituent(name)
    if con != "Z0":
        try:
            constituent_frequency([con])
        except TideInputError as exc:
            raise TideInputError(f"{_where(path, line)}{exc}") from None
    return con


# --------------------------------------------------------------------------------------------
# CSV (JMJ layout)

_REQUIRED_CSV = ("open_boundary", "seq", "node", "lon", "lat")
_AMP_RE = re.compile(r"^([A-Za-z0-9]+)_amp(?:_([A-Za-z/0-9-]+))?$")
_PHASE_RE = re.compile(r"^([A-Za-z0-9]+)_phase(?:_([A-Za-z/0-9-]+))?$")


def read_boundary_harmonics_csv(path, open_boundary: int | None = None) -> HarmonicConstituents:
    """Open-boundary harmonics from a CSV table (JMJ layout), rows ordered by (open_boundary, seq).

    ``open_boundary``: keep only rows with this ``open_boundary`` value. Returns constants with
    ``node_ids`` (0-based), ``lon``, ``lat``.
    """
    path = Path(path)
    lines = _read_lines(path)
    rows = list(csv.reader(lines))
    if not rows or not any(c.strip() for c in rows[0]):
        raise TideInputError(f"{_where(path, 1)}empty file: expected a header line")
    header = [c.strip() for c in rows[0]]
    col = {name: i for i, name in enumerate(header)}
    missing = [c for c in _REQUIRED_CSV if c not in col]
    if missing:
        raise TideInputError(f"{_where(path, 1)}missing column(s) {', '.join(missing)}")
    amp_cols, phase_cols = {}, {}
    for i, name in enumerate(header):
        m = _AMP_RE.match(name)
        if m:
            if m.group(2) != "m":
                raise TideInputError(
                    f"{_where(path, 1)}column {name!r}: amplitudes must be in metres (name it "
                    f"{m.group(1)}_amp_m and convert the values)"
                )
            amp_cols[canonical_constituent(m.group(1))] = i
            continue
        m = _PHASE_RE.match(name)
        if m:
            if m.group(2) not in ("deg", "degree", "degrees"):
                raise TideInputError(
                    f"{_where(path, 1)}column {name!r}: phases must be in degrees (name it {m.group(1)}_phase_deg)"
                )
            phase_cols[canonical_constituent(m.group(1))] = i
    if not amp_cols:
        raise TideInputError(f"{_where(path, 1)}no <CON>_amp_m columns")
    for con in sorted(set(amp_cols) ^ set(phase_cols)):
        half = "phase" if con in amp_cols else "amplitude"
        raise TideInputError(f"{_where(path, 1)}constituent {con} has no {half} column")
    cons = [_checked_name(c, path, 1) for c in amp_cols]
    keys, nodes, lon, lat, amp, pha = [], [], [], [], [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise TideInputError(f"{_where(path, lineno)}{len(row)} fields, the header has {len(header)}")
        ob = _float(row[col["open_boundary"]], path, lineno, "open_boundary")
        if open_boundary is not None and int(ob) != open_boundary:
            continue
        seq = _float(row[col["seq"]], path, lineno, "seq")
        node = _float(row[col["node"]], path, lineno, "node")
        if node != int(node) or node < 1:
            raise TideInputError(f"{_where(path, lineno)}node {row[col['node']]!r} is not a 1-based node number")
        x = _float(row[col["lon"]], path, lineno, "lon")
        y = _float(row[col["lat"]], path, lineno, "lat")
        if not (-360 <= x <= 360 and -90 <= y <= 90):
            raise TideInputError(f"{_where(path, lineno)}({x}, {y}) is not a lon/lat position")
        a_row, p_row = [], []
        for c in cons:
            a_row.append(
                _check_amplitude(_float(row[amp_cols[c]], path, lineno, f"{c} amplitude"), path, lineno, f"{c} amplitude")
            )
            p_row.append(_check_phase(_float(row[phase_cols[c]], path, lineno, f"{c} phase"), path, lineno, f"{c} phase"))
        keys.append((int(ob), seq, lineno))
        nodes.append(int(node) - 1)
        lon.append(x)
        lat.append(y)
        amp.append(a_row)
        pha.append(p_row)
    if not nodes:
        which = f" for open_boundary {open_boundary}" if open_boundary is not None else ""
        raise TideInputError(f"{_where(path)}no data rows{which}")
    order = sorted(range(len(keys)), key=lambda i: keys[i][:2])
    for i, j in zip(order[:-1], order[1:]):
        if keys[i][:2] == keys[j][:2]:
            raise TideInputError(
                f"{_where(path, keys[j][2])}open_boundary {keys[j][0]} seq {keys[j][1]:g} repeats line {keys[i][2]}"
            )
    seen = {}
    for i in order:
        if nodes[i] in seen:
            raise TideInputError(f"{_where(path, keys[i][2])}node {nodes[i] + 1} repeats line {keys[seen[nodes[i]]][2]}")
        seen[nodes[i]] = i
    o = np.array(order)
    return HarmonicConstituents(
        tuple(cons),
        np.array(amp)[o].T,
        np.array(pha)[o].T,
        np.array(lon)[o],
        np.array(lat)[o],
        node_ids=np.array(nodes)[o],
        source=path.name,
    )


# --------------------------------------------------------------------------------------------
# line cursor for the Fortran-style text formats


class _Cursor:
    """Walks non-blank lines of a text file; tokens exclude ``!`` comments."""

    def __init__(self, path, lines):
        self.path = Path(path)
        self.lines = lines
        self.i = 0

    def next(self, what: str) -> tuple[int, list[str], str]:
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            self.i += 1
            text = raw.split("!", 1)[0].strip()
            if text:
                return self.i, text.split(), raw
        raise TideInputError(f"{_where(self.path, len(self.lines))}file ends early: expected {what}")

    def numbers(self, n: int, what: str) -> tuple[int, list[float]]:
        line, toks, _ = self.next(what)
        if len(toks) < n:
            raise TideInputError(f"{_where(self.path, line)}expected {what} ({n} numbers), found {' '.join(toks)!r}")
        return line, [_float(t, self.path, line, what) for t in toks[:n]]

    def integer(self, what: str) -> tuple[int, int]:
        line, toks, _ = self.next(what)
        try:
            return line, int(toks[0])
        except ValueError:
            raise TideInputError(f"{_where(self.path, line)}expected {what} (an integer), found {toks[0]!r}") from None

    def name(self, what: str) -> tuple[int, str]:
        line, toks, _ = self.next(what)
        return line, toks[0]


# --------------------------------------------------------------------------------------------
# SCHISM bctides.in


@dataclass(frozen=True, eq=False)
class BctidesSegment:
    """One open segment of ``bctides.in``: 1-based ``index``, ``n_node`` and its flags.
    ``constants`` holds the tidal elevation (and velocity when ifltype is 3 or 5) harmonics when
    iettype is 3 or 5, else None."""

    index: int
    n_node: int
    iettype: int
    ifltype: int
    constants: HarmonicConstituents | None


def read_bctides(path) -> list[BctidesSegment]:
    """The open segments of a SCHISM ``bctides.in``, in file order."""
    path = Path(path)
    cur = _Cursor(path, _read_lines(path))
    if not cur.lines:
        raise TideInputError(f"{_where(path, 1)}empty file")
    cur.i = 1  # the first line is a free comment (often the start date)
    line, (ntip, _) = cur.numbers(2, "ntip tip_dp")
    if ntip != int(ntip) or ntip < 0:
        raise TideInputError(f"{_where(path, line)}ntip {ntip:g} is not a count")
    for _ in range(int(ntip)):
        cur.name("tidal potential constituent name")
        cur.numbers(5, "jspc tamp tfreq tnf tear")
    line, nbfr = cur.integer("nbfr (number of boundary forcing frequencies)")
    if nbfr < 0:
        raise TideInputError(f"{_where(path, line)}nbfr {nbfr} is negative")
    names = []
    for _ in range(nbfr):
        ln, nm = cur.name("boundary forcing constituent name")
        names.append(_checked_name(nm, path, ln))
        ln, (freq, _, _) = cur.numbers(3, f"{nm} frequency, nodal factor, argument")
        if names[-1] != "Z0":
            expected = constituent_frequency([names[-1]])[0]
            if abs(freq - expected) > 1e-3 * expected:
                raise TideInputError(f"{_where(path, ln)}{nm} frequency {freq:g} rad/s differs from {expected:.7g} rad/s")
    if len(set(names)) != len(names):
        raise TideInputError(f"{_where(path, line)}a boundary forcing constituent is listed twice: {', '.join(names)}")
    line, nope = cur.integer("nope (number of open boundary segments)")
    segments = []
    for j in range(1, nope + 1):
        ln, toks, _ = cur.next(f"flags of open boundary {j} (neta iettype ifltype itetype isatype)")
        try:
            flags = [int(t) for t in toks]
        except ValueError:
            raise TideInputError(f"{_where(path, ln)}flags of open boundary {j} must be integers: {' '.join(toks)!r}") from None
        if len(flags) < 3:
            raise TideInputError(
                f"{_where(path, ln)}open boundary {j}: expected neta iettype ifltype ..., found {' '.join(toks)!r}"
            )
        neta, iettype, ifltype, tracers = flags[0], flags[1], flags[2], flags[3:]
        if neta <= 0:
            raise TideInputError(f"{_where(path, ln)}open boundary {j} has {neta} nodes")
        elev = vel = None
        if iettype in (3, 5):
            elev = _bctides_harmonics(cur, names, neta, 2, j, "elevation")
        elif iettype == 2:
            cur.numbers(1, f"constant elevation of open boundary {j}")
        elif iettype not in (0, 1, 4):
            raise TideInputError(f"{_where(path, ln)}open boundary {j}: iettype {iettype} is not one of 0..5")
        if ifltype in (3, 5):
            vel = _bctides_harmonics(cur, names, neta, 4, j, "velocity")
        elif ifltype == 2:
            cur.numbers(1, f"constant discharge of open boundary {j}")
        elif ifltype == -4:
            cur.numbers(2, f"relaxation constants of open boundary {j}")
        elif ifltype == -1:
            for what in ("eta_mean", "vn_mean"):
                cur.name(f"'{what}' of open boundary {j}")
                for _ in range(neta):
                    cur.numbers(1, f"{what} value of open boundary {j}")
        elif ifltype not in (0, 1, 4, -5):
            raise TideInputError(f"{_where(path, ln)}open boundary {j}: ifltype {ifltype} is not supported")
        for k, itr in enumerate(tracers):
            if itr in (1, 3, 4):
                cur.numbers(1, f"nudging factor of tracer {k + 1} of open boundary {j}")
            elif itr == 2:
                cur.numbers(1, f"constant value of tracer {k + 1} of open boundary {j}")
                cur.numbers(1, f"nudging factor of tracer {k + 1} of open boundary {j}")
            elif itr != 0:
                raise TideInputError(f"{_where(path, ln)}open boundary {j}: tracer flag {itr} is not one of 0..4")
        constants = None
        if elev is not None:
            kw = {}
            if vel is not None:
                kw = dict(u_amplitude=vel[0], u_phase=vel[1], v_amplitude=vel[2], v_phase=vel[3])
            constants = HarmonicConstituents(tuple(names), elev[0], elev[1], source=f"{path.name} open boundary {j}", **kw)
        segments.append(BctidesSegment(j, neta, iettype, ifltype, constants))
    if not segments:
        raise TideInputError(f"{_where(path, line)}no open boundary segments")
    return segments


def _bctides_harmonics(cur: _Cursor, names, neta, ncol, j, what):
    """nbfr blocks of (name, neta lines of ncol numbers) -> ncol arrays (n_con, neta)."""
    out = np.empty((ncol, len(names), neta))
    for k, expected in enumerate(names):
        ln, nm = cur.name(f"{what} constituent name of open boundary {j}")
        if canonical_constituent(nm) != expected:
            raise TideInputError(
                f"{_where(cur.path, ln)}open boundary {j} {what}: expected constituent {expected} "
                f"(the order of the frequency list), found {nm!r}"
            )
        labels = ("amplitude", "phase") if ncol == 2 else ("u amplitude", "u phase", "v amplitude", "v phase")
        for i in range(neta):
            ln, toks, _ = cur.next(f"{what} harmonics of {expected} at node {i + 1} of open boundary {j}")
            if len(toks) < ncol:
                raise TideInputError(
                    f"{_where(cur.path, ln)}expected {ncol} numbers ({' '.join(labels)}) of {expected} at node "
                    f"{i + 1} of open boundary {j}, found {' '.join(toks)!r}"
                )
            vals = []
            for c, label in enumerate(labels):
                name = f"{expected} {label} at node {i + 1} of open boundary {j}"
                val = _float(toks[c], cur.path, ln, name)
                if c % 2 == 0:
                    if ncol == 2:
                        _check_amplitude(val, cur.path, ln, name)
                    else:
                        _check_amplitude(val, cur.path, ln, name, MAX_CURRENT_MS, "m/s")
                else:
                    _check_phase(val, cur.path, ln, name)
                vals.append(val)
            out[:, k, i] = vals
    return out


# --------------------------------------------------------------------------------------------
# ADCIRC fort.15


def read_fort15_boundary_harmonics(path) -> HarmonicConstituents:
    """The periodic elevation boundary table of an ADCIRC ``fort.15`` (NETA points, no positions)."""
    path = Path(path)
    lines = _read_lines(path)
    start = _find_nbfr(path, lines)
    cur = _Cursor(path, lines)
    cur.i = start
    line, nbfr = cur.integer("NBFR")
    if nbfr <= 0:
        raise TideInputError(f"{_where(path, line)}NBFR = {nbfr}: no periodic elevation boundary forcing")
    names = []
    for _ in range(nbfr):
        ln, nm = cur.name("boundary constituent name (BOUNTAG)")
        names.append(_checked_name(nm, path, ln))
        ln, (amig, _, _) = cur.numbers(3, f"{nm} AMIG FF FACE")
        expected = constituent_frequency([names[-1]])[0] if names[-1] != "Z0" else 0.0
        if abs(amig - expected) > 1e-3 * max(expected, 1e-12):
            raise TideInputError(f"{_where(path, ln)}{nm} frequency {amig:g} rad/s differs from {expected:.7g} rad/s")
    if len(set(names)) != len(names):
        raise TideInputError(f"{_where(path, line)}a constituent is listed twice: {', '.join(names)}")
    amp, pha = [], []
    neta = None
    for k, expected in enumerate(names):
        ln, nm = cur.name(f"constituent name (EMOTAG) of amplitude block {k + 1}")
        if canonical_constituent(nm) != expected:
            raise TideInputError(f"{_where(path, ln)}amplitude block {k + 1} is {nm!r}, expected {expected} (the NBFR order)")
        a, p = [], []
        while True:
            save = cur.i
            try:
                ln2, toks, _ = cur.next("EMO EFA")
            except TideInputError:
                break
            if len(toks) < 2 or not _all_numeric(toks[:2]) or (neta is not None and len(a) == neta):
                cur.i = save
                break
            a.append(_check_amplitude(_float(toks[0], path, ln2, f"{expected} amplitude"), path, ln2, f"{expected} amplitude"))
            p.append(_check_phase(_float(toks[1], path, ln2, f"{expected} phase"), path, ln2, f"{expected} phase"))
        if neta is None:
            neta = len(a)
            if neta == 0:
                raise TideInputError(f"{_where(path, ln)}no EMO EFA lines after {nm!r}")
        elif len(a) != neta:
            raise TideInputError(f"{_where(path, ln)}{expected} has {len(a)} boundary nodes, {names[0]} has {neta} (NETA)")
        amp.append(a)
        pha.append(p)
    return HarmonicConstituents(tuple(names), np.array(amp), np.array(pha), source=path.name)


def _all_numeric(toks) -> bool:
    try:
        [float(t.replace("D", "E").replace("d", "e")) for t in toks]
        return True
    except ValueError:
        return False


def _find_nbfr(path, lines) -> int:
    """0-based index of the NBFR line: the one commented ``NBFR``, else the first integer line
    followed by that many (name, 3-number) pairs and a name repeated from them."""
    for i, raw in enumerate(lines):
        if "!" in raw and re.search(r"\bNBFR\b", raw.split("!", 1)[1], re.IGNORECASE):
            return i
    for i, raw in enumerate(lines):
        toks = raw.split("!", 1)[0].split()
        if len(toks) != 1 or not toks[0].isdigit() or not 0 < int(toks[0]) < 200:
            continue
        n = int(toks[0])
        block = [lines[j].split("!", 1)[0].split() for j in range(i + 1, min(i + 2 + 2 * n, len(lines)))]
        if len(block) < 2 * n + 1:
            continue
        ok = all(
            len(block[2 * k]) >= 1
            and not _all_numeric(block[2 * k][:1])
            and len(block[2 * k + 1]) == 3
            and _all_numeric(block[2 * k + 1])
            for k in range(n)
        )
        if ok and block[2 * n] and block[2 * n][0] in {block[2 * k][0] for k in range(n)}:
            return i
    raise TideInputError(f"{_where(path)}no periodic boundary table (NBFR) found")


# --------------------------------------------------------------------------------------------
# TELEMAC harmonic .cli


def identify_by_period(period_s: float, path=None, line=None) -> str:
    """The constituent whose period (:func:`constituent_frequency`) is within 0.02 % of ``period_s``."""
    periods = 2 * np.pi / constituent_frequency(PERIOD_CANDIDATES)
    rel = np.abs(periods - period_s) / periods
    hits = np.flatnonzero(rel <= PERIOD_TOLERANCE)
    if hits.size != 1:
        best = int(np.argmin(rel))
        why = (
            "matches several constituents"
            if hits.size > 1
            else f"matches no constituent (nearest {PERIOD_CANDIDATES[best]}, {periods[best]:.1f} s)"
        )
        raise TideInputError(f"{_where(path, line) if path else ''}period {period_s:g} s {why}")
    return PERIOD_CANDIDATES[int(hits[0])]


def read_telemac_harmonic_cli(path) -> HarmonicConstituents:
    """A TELEMAC harmonic boundary file; ``node_ids`` are 0-based (file numbers minus one)."""
    path = Path(path)
    cur = _Cursor(path, _read_lines(path))
    line, nwave = cur.integer("number of waves")
    if nwave <= 0:
        raise TideInputError(f"{_where(path, line)}number of waves is {nwave}")
    line, nper = cur.integer("number of periods")
    if nper != nwave:
        raise TideInputError(f"{_where(path, line)}{nper} periods for {nwave} waves")
    names = []
    for _ in range(nwave):
        ln, (period,) = cur.numbers(1, "wave period in seconds")
        names.append(identify_by_period(period, path, ln))
    if len(set(names)) != len(names):
        raise TideInputError(f"{_where(path, line)}two periods give the same constituent: {', '.join(names)}")
    nodes, amp, pha, lines_of = [], [], [], {}
    while True:
        try:
            ln, toks, _ = cur.next("node number")
        except TideInputError:
            break
        if len(toks) != 1 or not toks[0].lstrip("-").isdigit():
            raise TideInputError(f"{_where(path, ln)}expected a node number, found {' '.join(toks)!r}")
        node = int(toks[0])
        if node < 1:
            raise TideInputError(f"{_where(path, ln)}node number {node} is not 1-based")
        if node in lines_of:
            raise TideInputError(f"{_where(path, ln)}node {node} repeats line {lines_of[node]}")
        lines_of[node] = ln
        a, p = [], []
        for c in names:
            ln2, toks2, _ = cur.next(f"{c} amplitude and phase of node {node}")
            if len(toks2) != 2:
                raise TideInputError(
                    f"{_where(path, ln2)}expected '{c} amplitude phase' of node {node}, found {' '.join(toks2)!r}"
                )
            a.append(_check_amplitude(_float(toks2[0], path, ln2, f"{c} amplitude"), path, ln2, f"{c} amplitude"))
            p.append(_check_phase(_float(toks2[1], path, ln2, f"{c} phase"), path, ln2, f"{c} phase"))
        nodes.append(node - 1)
        amp.append(a)
        pha.append(p)
    if not nodes:
        raise TideInputError(f"{_where(path)}no node blocks after the periods")
    return HarmonicConstituents(tuple(names), np.array(amp).T, np.array(pha).T, node_ids=np.array(nodes), source=path.name)
