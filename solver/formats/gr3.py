"""SCHISM ``hgrid.gr3`` / ADCIRC ``fort.14`` meshes (plain or gzip-compressed): read and write.

Layout (SCHISM manual §"hgrid.gr3"; ADCIRC fort.14 documentation)::

    title
    NE NP
    id x y depth                       (NP lines; depth m, positive down)
    id nv n1 n2 n3                     (NE lines; 1-based node ids; nv = 3, 4 is split in two)
    NOPE = Number of open boundaries
    NETA = Total number of open boundary nodes
    NVDLL = Number of nodes for open boundary k      then NVDLL node ids
    NBOU = Number of land boundaries
    NVEL = Total number of land boundary nodes
    NVELL IBTYPE = Number of nodes for land boundary k   then NVELL node lines

Boundary segments: open boundary k -> ``open_k`` (role ``open``); land boundary k with SCHISM flag
1 or ADCIRC IBTYPE 1, 11, 21 (island / internal boundary) -> ``island_j`` (role ``island``), every
other land boundary -> ``land_i`` (role ``land``). ADCIRC types 0/10/20 are mainland; flux types
(2, 12, 22, 32, 52: specified normal flow, i.e. rivers) and barrier types (3, 13, 23, 4, 24, 5,
25; only the first node column is used) are kept as ``land`` walls with a note: the forecast
configuration can turn a wall into a river boundary. ADCIRC "generic boundaries" that some
tools append (e.g. the APES test mesh) become ``land_i`` / ``island_j`` (closed loop = island).

Names other than these positional defaults survive a write/read round trip through a
``(name: ...)`` annotation at the end of the segment's header line, which SCHISM and ADCIRC
(list-directed reads) ignore.
"""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import numpy as np

from ..mesh import BoundarySegment, Mesh
from ._common import (
    MeshFileError,
    ReadResult,
    build_mesh,
    check_faces,
    leading_int,
    numeric_block,
    read_text,
    resolve_crs,
    where,
)

log = logging.getLogger(__name__)

ADCIRC_ISLAND_TYPES = {1, 11, 21}
ADCIRC_MAINLAND_TYPES = {0, 10, 20}
ADCIRC_FLUX_TYPES = {2, 12, 22, 32, 52}
_NAME_RE = re.compile(r"\(name:\s*([^()]*?)\s*\)\s*$")


def _annotated_name(line: str):
    m = _NAME_RE.search(line)
    return m.group(1) if m else None


def read_gr3(path, crs=None) -> ReadResult:
    """Read a gr3/fort.14 file. ``crs``: see :func:`solver.formats.read_mesh`."""
    path = Path(path)
    lines = read_text(path).splitlines()
    notes: list[str] = []
    if len(lines) < 2:
        raise MeshFileError(f"{where(path, len(lines) + 1)}the file ends before the 'NE NP' line")
    title = lines[0].strip()
    head = lines[1].split()
    try:
        ne, npn = int(head[0]), int(head[1])
    except (ValueError, IndexError):
        raise MeshFileError(f"{where(path, 2)}expected 'n_element n_node', found {lines[1].strip()[:60]!r}") from None
    if ne <= 0 or npn <= 0:
        raise MeshFileError(f"{where(path, 2)}element and node counts must be positive, found {ne} {npn}")

    nodes = numeric_block(lines, 2, npn, 4, path, "node", header_line=2)
    ids = nodes[:, 0]
    x, y, depth = nodes[:, 1].copy(), nodes[:, 2].copy(), nodes[:, 3].copy()
    node_of_id = None
    if not np.array_equal(ids, np.arange(1, npn + 1)):
        if np.any(ids != np.round(ids)):
            k = int(np.flatnonzero(ids != np.round(ids))[0])
            raise MeshFileError(f"{where(path, 3 + k)}node id {ids[k]!r} is not an integer")
        iid = ids.astype(np.int64)
        uniq, first = np.unique(iid, return_index=True)
        if uniq.size != npn:
            dup = np.setdiff1d(np.arange(npn), first)[0]
            raise MeshFileError(f"{where(path, 3 + dup)}node id {iid[dup]} appears twice")
        node_of_id = (uniq, np.argsort(iid, kind="stable"))
        notes.append("node ids are not 1..NP in order; elements and boundaries were mapped through them")
    bad = np.flatnonzero(~np.isfinite(nodes[:, 1:]).all(axis=1))
    if bad.size:
        k = int(bad[0])
        what = "depth" if np.isfinite(nodes[k, 1:3]).all() else "coordinates"
        raise MeshFileError(
            f"{where(path, 3 + k)}node {int(ids[k])} has non-finite {what} ({nodes[k, 1]:.6g}, {nodes[k, 2]:.6g}, {nodes[k, 3]:.6g}); "
            f"{bad.size} such nodes"
        )

    def to_index(raw, line_of, what):
        """1-based node ids (array) -> 0-based indices; raises naming the first id out of range."""
        raw = np.asarray(raw, dtype=np.int64)
        if node_of_id is None:
            out = raw - 1
            badi = np.flatnonzero((out < 0) | (out >= npn))
        else:
            uniq, order = node_of_id
            pos = np.clip(np.searchsorted(uniq, raw), 0, npn - 1)
            badi = np.flatnonzero(uniq[pos] != raw)
            out = order[pos]
        if badi.size:
            k = int(badi[0])
            raise MeshFileError(
                f"{where(path, line_of(k))}{what(k)} refers to node {int(raw[k])}, outside the {npn} nodes of the file"
            )
        return out

    e0 = 2 + npn
    # fast path: every element is "id 3 n1 n2 n3"
    block = lines[e0 : e0 + ne]
    if len(block) < ne:
        raise MeshFileError(
            f"{where(path, len(lines) + 1)}the file ends after {len(block)} of {ne} element lines (the count {ne} is given in line 2)"
        )
    tokens = " ".join(block).split()
    elems = None
    if len(tokens) == 5 * ne:
        try:
            arr = np.array(tokens, dtype=np.int64).reshape(ne, 5)
            if np.all(arr[:, 1] == 3):
                elems = arr
        except ValueError:
            pass
    if elems is not None:
        eid = elems[:, 0]
        raw_faces = elems[:, 2:5]
        face_line = np.arange(e0 + 1, e0 + ne + 1)
    else:
        eid_l, face_l, line_l = [], [], []
        n_quad = 0
        for k, ln in enumerate(block):
            parts = ln.split()
            lineno = e0 + k + 1
            try:
                vals = [int(p) for p in parts]
            except ValueError:
                badp = next(p for p in parts if not p.lstrip("+-").isdigit())
                raise MeshFileError(
                    f"{where(path, lineno)}non-integer field {badp!r} in element line {k + 1} "
                    f"(is the count NP={npn} in line 2 right?)"
                ) from None
            if len(vals) < 2 or vals[1] not in (3, 4) or len(vals) < 2 + vals[1]:
                raise MeshFileError(
                    f"{where(path, lineno)}element line {k + 1} must be 'id 3 n1 n2 n3' (or 'id 4 n1 n2 n3 n4'), found {ln.strip()[:60]!r}"
                )
            if vals[1] == 3:
                eid_l.append(vals[0]), face_l.append(vals[2:5]), line_l.append(lineno)
            else:
                a, b, c, d = vals[2:6]
                n_quad += 1
                eid_l += [vals[0], vals[0]]
                face_l += [[a, b, c], [a, c, d]]
                line_l += [lineno, lineno]
        if n_quad:
            notes.append(f"{n_quad} quadrilaterals were split into two triangles each")
        eid = np.array(eid_l)
        raw_faces = np.array(face_l, dtype=np.int64)
        face_line = np.array(line_l)
    faces = to_index(raw_faces.ravel(), lambda k: int(face_line[k // 3]), lambda k: f"element {int(eid[k // 3])}").reshape(-1, 3)

    # -- boundary sections --------------------------------------------------------------------
    boundaries, pos = _read_boundaries(path, lines, e0 + ne, to_index, notes)
    rest = [i for i in range(pos, len(lines)) if lines[i].strip()]
    if rest:
        notes.append(f"ignored {len(rest)} lines after the boundary sections (from line {rest[0] + 1})")

    crs = resolve_crs(path, x, y, crs, notes=notes)
    n_cw, cw_note = check_faces(path, x, y, faces, face_line, eid)
    if cw_note:
        notes.append(cw_note)
    mesh = build_mesh(path, x, y, faces, depth, boundaries, crs, title or path.name, notes)
    for n in notes:
        log.debug("%s: %s", path.name, n)
    fmt = "fort.14" if "fort.14" in path.name else "gr3"
    return ReadResult(mesh, fmt, tuple(notes))


def _read_boundaries(path, lines, pos, to_index, notes):
    """Parse the open, land and (ADCIRC) generic boundary sections from line index ``pos``."""
    n_lines = len(lines)

    def skip_blank(p):
        while p < n_lines and not lines[p].strip():
            p += 1
        return p

    def node_list(p, count, header_lineno, what):
        block = numeric_block(lines, p, count, 1, path, f"{what} node", integer=False, header_line=header_lineno)
        raw = block[:, 0]
        if np.any(raw != np.round(raw)):
            k = int(np.flatnonzero(raw != np.round(raw))[0])
            raise MeshFileError(f"{where(path, p + k + 1)}{what} node id {raw[k]!r} is not an integer")
        ids = to_index(raw.astype(np.int64), lambda k: p + k + 1, lambda k: what)
        return ids, p + count

    segs = []
    pos = skip_blank(pos)
    if pos >= n_lines:
        notes.append("no boundary sections: every boundary edge is a wall")
        return segs, pos
    nope = leading_int(lines[pos], path, pos + 1, "the number of open boundaries")
    pos = skip_blank(pos + 1)
    if pos >= n_lines:
        raise MeshFileError(f"{where(path, pos + 1)}the file ends before the total number of open boundary nodes")
    neta = leading_int(lines[pos], path, pos + 1, "the total number of open boundary nodes")
    pos += 1
    total = 0
    for k in range(1, nope + 1):
        pos = skip_blank(pos)
        if pos >= n_lines:
            raise MeshFileError(f"{where(path, pos + 1)}the file ends before open boundary {k} of {nope}")
        hline = pos + 1
        n = leading_int(lines[pos], path, hline, f"the node count of open boundary {k}")
        name = _annotated_name(lines[pos]) or f"open_{k}"
        ids, pos = node_list(pos + 1, n, hline, f"open boundary {k}")
        total += n
        segs.append(BoundarySegment(name, "open", ids))
    if total != neta:
        notes.append(f"the open boundaries hold {total} nodes but the header says {neta}")
    pos = skip_blank(pos)
    if pos >= n_lines:
        if nope:
            notes.append("no land boundary section")
        return segs, pos
    nbou = leading_int(lines[pos], path, pos + 1, "the number of land boundaries")
    pos = skip_blank(pos + 1)
    if pos >= n_lines:
        raise MeshFileError(f"{where(path, pos + 1)}the file ends before the total number of land boundary nodes")
    nvel = leading_int(lines[pos], path, pos + 1, "the total number of land boundary nodes")
    pos += 1
    total = 0
    n_land = n_island = 0
    kept_types = {}
    for k in range(1, nbou + 1):
        pos = skip_blank(pos)
        if pos >= n_lines:
            raise MeshFileError(f"{where(path, pos + 1)}the file ends before land boundary {k} of {nbou}")
        hline = pos + 1
        parts = lines[pos].replace("=", " ").split()
        n = leading_int(lines[pos], path, hline, f"the node count of land boundary {k}")
        try:
            ibtype = int(parts[1])
        except (IndexError, ValueError):
            ibtype = 0
        ids, pos = node_list(pos + 1, n, hline, f"land boundary {k}")
        total += n
        if ibtype in ADCIRC_ISLAND_TYPES:
            n_island += 1
            role, default = "island", f"island_{n_island}"
        else:
            if ibtype not in ADCIRC_MAINLAND_TYPES:
                kept_types.setdefault(ibtype, []).append(k)
            n_land += 1
            role, default = "land", f"land_{n_land}"
        segs.append(BoundarySegment(_annotated_name(lines[hline - 1]) or default, role, ids))
    if total != nvel:
        notes.append(f"the land boundaries hold {total} nodes but the header says {nvel}")
    for t, ks in sorted(kept_types.items()):
        kind = "flux (river) " if t in ADCIRC_FLUX_TYPES else ""
        notes.append(f"ADCIRC {kind}boundary type {t} (land boundaries {ks}) kept as land walls")
    pos = skip_blank(pos)
    if pos < n_lines and "generic" in lines[pos].lower():
        ngen = leading_int(lines[pos], path, pos + 1, "the number of generic boundaries")
        pos = skip_blank(pos + 1)
        if pos < n_lines and "generic" in lines[pos].lower() and "total" in lines[pos].lower():
            pos += 1
        for k in range(1, ngen + 1):
            pos = skip_blank(pos)
            if pos >= n_lines:
                raise MeshFileError(f"{where(path, pos + 1)}the file ends before generic boundary {k} of {ngen}")
            hline = pos + 1
            n = leading_int(lines[pos], path, hline, f"the node count of generic boundary {k}")
            ids, pos = node_list(pos + 1, n, hline, f"generic boundary {k}")
            if ids.size > 2 and ids[0] == ids[-1]:
                n_island += 1
                segs.append(BoundarySegment(f"island_{n_island}", "island", ids[:-1]))
            else:
                n_land += 1
                segs.append(BoundarySegment(f"land_{n_land}", "land", ids))
        notes.append(f"{ngen} ADCIRC generic boundaries read as land/island walls")
    return segs, pos


def _fmt(values) -> list[str]:
    """Shortest round-trip text of each float (Python repr)."""
    return [repr(v) for v in np.asarray(values, dtype=np.float64).tolist()]


def write_gr3(mesh: Mesh, path, title: str | None = None) -> Path:
    """Write ``mesh`` as gr3 (gzip-compressed when ``path`` ends in ``.gz``); returns the path.

    Floats are written in their shortest exact form, so reading the file back gives identical
    arrays. Open segments go to the open section, ``land`` to land boundaries with flag 0 and
    ``island`` with flag 1, each group in the order of ``mesh.boundaries``.
    """
    path = Path(path)
    title = (title or mesh.name or "coastcast mesh").replace("\n", " ")
    out = [title, f"{mesh.n_face} {mesh.n_node}"]
    xs, ys, ds = _fmt(mesh.node_x), _fmt(mesh.node_y), _fmt(mesh.depth)
    out += [f"{i} {a} {b} {c}" for i, (a, b, c) in enumerate(zip(xs, ys, ds), start=1)]
    f = mesh.face_node_connectivity + 1
    out += [f"{i} 3 {a} {b} {c}" for i, (a, b, c) in enumerate(f.tolist(), start=1)]
    opens = [s for s in mesh.boundaries if s.role == "open"]
    lands = [s for s in mesh.boundaries if s.role != "open"]
    out.append(f"{len(opens)} = Number of open boundaries")
    out.append(f"{sum(s.node_ids.size for s in opens)} = Total number of open boundary nodes")
    for k, s in enumerate(opens, start=1):
        tag = "" if s.name == f"open_{k}" else f" (name: {s.name})"
        out.append(f"{s.node_ids.size} = Number of nodes for open boundary {k}{tag}")
        out += [str(i) for i in (s.node_ids + 1).tolist()]
    out.append(f"{len(lands)} = Number of land boundaries")
    out.append(f"{sum(s.node_ids.size for s in lands)} = Total number of land boundary nodes")
    n_land = n_island = 0
    for k, s in enumerate(lands, start=1):
        if s.role == "island":
            n_island += 1
            flag, default = 1, f"island_{n_island}"
        else:
            n_land += 1
            flag, default = 0, f"land_{n_land}"
        tag = "" if s.name == default else f" (name: {s.name})"
        out.append(f"{s.node_ids.size} {flag} = Number of nodes for land boundary {k}{tag}")
        out += [str(i) for i in (s.node_ids + 1).tolist()]
    text = "\n".join(out) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".gz":
        tmp.write_bytes(gzip.compress(text.encode(), compresslevel=6, mtime=0))
    else:
        tmp.write_text(text)
    tmp.replace(path)
    return path
