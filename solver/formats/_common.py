"""Shared helpers of the mesh readers: file opening, numeric blocks with line numbers, CRS guessing.

Every reader error is a :class:`MeshFileError` whose message is one line that starts with the
file name and, where it makes sense, the 1-based line number: ``hgrid.gr3: line 17: ...``.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..connectivity import signed_double_area, zero_area_faces
from ..mesh import BoundarySegment, Mesh, MeshError

log = logging.getLogger(__name__)

GEOGRAPHIC = "EPSG:4326"
CARTESIAN_WORDS = {"cartesian", "none", "local", "metres", "meters"}
"""``crs=`` values that mean plain Cartesian metres (Mesh ``crs=None``)."""


class MeshFileError(MeshError):
    """A mesh file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class ReadResult:
    """What a reader found: the mesh, its format and notes for the user (inconsistencies fixed or guessed)."""

    mesh: Mesh
    format: str
    notes: tuple[str, ...] = field(default=())


def where(path, line=None) -> str:
    """``"name: line N: "`` prefix for messages (``line`` 1-based)."""
    name = Path(path).name
    return f"{name}: line {line}: " if line is not None else f"{name}: "


def read_text(path) -> str:
    """The text of ``path``, gunzipped when it is gzip-compressed (by magic number, not by name)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise MeshFileError(f"{where(p)}the gzip stream is truncated or corrupt ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _to_float(tokens):
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        # Fortran double-precision exponents (1.0D+00) as some ADCIRC tools write them
        return np.array([t.replace("D", "E").replace("d", "e") for t in tokens], dtype=np.float64)


def _is_float(tok: str) -> bool:
    try:
        float(tok.replace("D", "E").replace("d", "e"))
        return True
    except ValueError:
        return False


def numeric_block(lines, start: int, count: int, ncols: int, path, what: str, *, integer=False, header_line=None):
    """Parse ``count`` lines from ``lines[start]`` into a (count, ncols) array (vectorized).

    The first ``ncols`` whitespace-separated fields of every line are used; lines with fewer
    fields, non-numeric fields and a file that ends early raise :class:`MeshFileError` naming the
    1-based line. ``integer=True`` requires integer fields and returns int64.
    """
    block = lines[start : start + count]
    if len(block) < count:
        hint = f" (the count {count} is given in line {header_line})" if header_line else ""
        raise MeshFileError(f"{where(path, len(lines) + 1)}the file ends after {len(block)} of {count} {what} lines{hint}")
    tokens = " ".join(block).split()
    if len(tokens) != count * ncols:
        rows = [ln.split() for ln in block]
        for k, r in enumerate(rows):
            if len(r) < ncols:
                raise MeshFileError(
                    f"{where(path, start + k + 1)}expected {ncols} fields in {what} line {k + 1}, found {len(r)}: {block[k].strip()[:60]!r}"
                )
        tokens = [t for r in rows for t in r[:ncols]]
    try:
        if integer:
            arr = np.array(tokens, dtype=np.int64)
        else:
            arr = _to_float(tokens)
    except (ValueError, OverflowError):
        for k, ln in enumerate(block):
            for t in ln.split()[:ncols]:
                ok = t.lstrip("+-").isdigit() if integer else _is_float(t)
                if not ok:
                    kind = "integer" if integer else "numeric"
                    raise MeshFileError(f"{where(path, start + k + 1)}non-{kind} field {t!r} in {what} line {k + 1}") from None
        raise
    return arr.reshape(count, ncols)


def leading_int(line: str, path, lineno: int, what: str) -> int:
    """The first field of ``line`` as an integer (``"25 = Number of ..."`` -> 25)."""
    parts = line.replace("=", " ").split()
    if not parts:
        raise MeshFileError(f"{where(path, lineno)}expected {what}, found an empty line")
    try:
        return int(parts[0])
    except ValueError:
        raise MeshFileError(f"{where(path, lineno)}expected {what} (an integer), found {parts[0]!r}") from None


# -- coordinates and CRS ---------------------------------------------------------------------------
def normalize_crs(crs):
    """``"EPSG:nnnn"`` for anything pyproj understands, ``None`` for Cartesian words; raises ValueError."""
    if crs is None:
        return None
    text = str(crs).strip()
    if text.lower() in CARTESIAN_WORDS:
        return None
    if text.isdigit():
        text = f"EPSG:{text}"
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        c = CRS.from_user_input(text)
    except CRSError as exc:
        raise MeshError(f"unknown CRS {crs!r} ({exc})") from None
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_wkt()


def _is_geographic(crs) -> bool:
    if crs is None:
        return False
    if crs.upper() in ("EPSG:4326", "OGC:CRS84"):
        return True
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def looks_like_degrees(x, y) -> bool:
    """True when every x lies in [-360, 360] and every y in [-90, 90]."""
    return bool(x.size) and x.min() >= -360.0 and x.max() <= 360.0 and y.min() >= -90.0 and y.max() <= 90.0


def sidecar_crs(path):
    """CRS from ``FILE.crs`` / ``FILE.prj`` (also without ``.gz``) next to the mesh, or ``None``."""
    p = Path(path)
    bases = [p]
    if p.suffix == ".gz":
        bases.append(p.with_suffix(""))
    for b in bases:
        for cand in (b.with_name(b.name + ".crs"), b.with_name(b.name + ".prj"), b.with_suffix(".prj")):
            if cand.is_file() and cand != p:
                return cand.read_text().strip(), cand.name
    return None


def resolve_crs(path, x, y, crs=None, file_crs=None, notes=None):
    """Decide the mesh CRS from the argument, a sidecar file, the file itself, or a guess.

    Returns the normalized CRS (``"EPSG:n"``, WKT, or ``None`` for Cartesian). Appends what was
    guessed or found inconsistent to ``notes``; raises :class:`MeshFileError` when lon/lat is
    declared but the coordinates cannot be degrees, or when nothing is declared and the
    coordinates look like projected metres.
    """
    notes = notes if notes is not None else []
    source = "the crs argument"
    if crs is None:
        side = sidecar_crs(path)
        if side is not None:
            crs, source = side[0], side[1]
        elif file_crs is not None:
            crs, source = file_crs, "the file"
    xr = f"x {x.min():.6g}..{x.max():.6g}, y {y.min():.6g}..{y.max():.6g}"
    degrees = looks_like_degrees(x, y)
    if crs is None:
        if degrees:
            notes.append(f"no CRS given: coordinates ({xr}) look like lon/lat degrees, assumed EPSG:4326")
            return GEOGRAPHIC
        raise MeshFileError(
            f"{where(path)}coordinates ({xr}) look like projected metres but no CRS is given: "
            "pass crs='EPSG:nnnn' (CLI --crs), put the code in a sidecar file FILE.crs, or crs='cartesian'"
        )
    try:
        norm = normalize_crs(crs)
    except MeshError as exc:
        raise MeshFileError(f"{where(path)}{exc} (from {source})") from None
    if _is_geographic(norm):
        if not degrees:
            raise MeshFileError(
                f"{where(path)}{source} says lon/lat ({crs}) but the coordinates ({xr}) are not degrees; "
                "give the projected CRS (e.g. crs='EPSG:32630')"
            )
    elif degrees and max(np.ptp(x), np.ptp(y)) < 30.0:
        notes.append(
            f"{source} declares projected/Cartesian metres ({crs}) but the coordinates ({xr}) look like lon/lat degrees: "
            f"the mesh spans only {max(np.ptp(x), np.ptp(y)):.3g} m"
        )
    return norm


# -- faces -----------------------------------------------------------------------------------------
def check_faces(path, x, y, faces, face_line, face_id):
    """Raise for faces with repeated nodes or zero area; return the number of clockwise faces.

    ``faces`` (n_face, 3) 0-based; ``face_line`` (n_face,) 1-based line numbers (or None);
    ``face_id`` (n_face,) element ids as written in the file.
    """

    def loc(i):
        return f"({x[faces[i]].mean():.6f}, {y[faces[i]].mean():.6f})"

    def line(i):
        return None if face_line is None else int(face_line[i])

    rep = np.flatnonzero((faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2]))
    if rep.size:
        i = rep[0]
        raise MeshFileError(
            f"{where(path, line(i))}element {face_id[i]} repeats a node ({(faces[i] + 1).tolist()}) at {loc(i)}; {rep.size} such elements"
        )
    a2 = signed_double_area(x, y, faces)
    flat = zero_area_faces(a2, max(np.ptp(x), np.ptp(y)))
    if flat.size:
        i = flat[0]
        raise MeshFileError(
            f"{where(path, line(i))}element {face_id[i]} has zero area (nodes {(faces[i] + 1).tolist()} at {loc(i)}); "
            f"{flat.size} such elements"
        )
    n_cw = int((a2 < 0).sum())
    if n_cw:
        i = int(np.flatnonzero(a2 < 0)[0])
        notes_text = f"{n_cw} clockwise (inverted) elements were reoriented, the first: element {face_id[i]} at {loc(i)}"
        return n_cw, notes_text
    return 0, None


def build_mesh(path, x, y, faces, depth, boundaries, crs, name, notes):
    """Construct the :class:`Mesh`, turning its errors into one-line file errors."""
    try:
        return Mesh(x, y, faces, depth, boundaries, crs=crs, name=name)
    except MeshFileError:
        raise
    except MeshError as exc:
        raise MeshFileError(f"{where(path)}{exc}") from None


def orient_chain_domain_left(ids: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Reverse the open chain ``ids`` when its first edge runs clockwise around the domain.

    With counter-clockwise faces, a boundary edge a->b keeps the domain on its left when some face
    holds a followed by b.
    """
    if ids.size < 2:
        return ids
    a, b = int(ids[0]), int(ids[1])
    nxt = np.roll(faces, -1, axis=1)
    if np.any((faces == a) & (nxt == b)):
        return ids
    if np.any((faces == b) & (nxt == a)):
        return ids[::-1].copy()
    return ids


__all__ = [
    "BoundarySegment",
    "MeshFileError",
    "ReadResult",
    "build_mesh",
    "check_faces",
    "leading_int",
    "normalize_crs",
    "numeric_block",
    "read_text",
    "resolve_crs",
    "where",
]
