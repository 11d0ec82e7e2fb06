"""gmsh ``.msh`` meshes, ASCII format versions 2.2 and 4.1: read.

Triangles (element type 2) make the faces; nodes used by no triangle are dropped. Node z is
read as depth (m, positive down). Line elements (type 1) that carry a physical tag become
boundary segments: the line edges of each physical group are chained into ordered node paths
(the domain on the left), one segment per connected chain, named after ``$PhysicalNames``
(``name``, or ``name_1``, ``name_2``, ... when a group has several chains). Roles: a name with a
word ``open``, ``ocean``, ``sea``, ``river``, ``tide``/``tidal``, ``offshore``, ``inflow`` or
``outflow`` is ``open``; any other name is ``land``. Unnamed groups follow the qmesh/Thetis
convention (tag 100 = open ocean, every other tag = coast) and are named by role: ``open_k``,
``land_k``; a closed land chain that is not the outer boundary is ``island_k``.

Format references: gmsh reference manual, "MSH file format" (version 4.1) and "Legacy formats"
(version 2).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..connectivity import orient_counterclockwise
from ..mesh import BoundarySegment
from ._common import (
    MeshFileError,
    ReadResult,
    build_mesh,
    check_faces,
    numeric_block,
    orient_chain_domain_left,
    read_text,
    resolve_crs,
    where,
)

log = logging.getLogger(__name__)

OPEN_WORDS = {"open", "ocean", "sea", "river", "tide", "tidal", "offshore", "inflow", "outflow"}
QMESH_OPEN_TAG = 100
TRIANGLE, LINE = 2, 1
NODES_PER_TYPE = {1: 2, 2: 3, 3: 4, 4: 4, 5: 8, 6: 6, 7: 5, 8: 3, 9: 6, 10: 9, 11: 10, 15: 1, 16: 8, 20: 9, 21: 10}


def role_of_name(name: str) -> str:
    """``open`` when a word of ``name`` (split at non-letters) is one of :data:`OPEN_WORDS`, else ``land``."""
    words = {w for w in re.split(r"[^a-z]+", name.lower()) if w}
    return "open" if words & OPEN_WORDS else "land"


def _sections(lines, path):
    """{name: (first content line index, end-marker line index)} of the ``$Name`` ... ``$EndName`` blocks."""
    out = {}
    i, n = 0, len(lines)
    while i < n:
        s = lines[i].strip()
        if s.startswith("$") and not s.startswith("$End"):
            name = s[1:]
            end = "$End" + name
            j = i + 1
            while j < n and lines[j].strip() != end:
                j += 1
            if j >= n:
                raise MeshFileError(f"{where(path, i + 1)}section ${name} has no {end} (truncated file?)")
            out.setdefault(name, (i + 1, j))
            i = j + 1
        else:
            i += 1
    return out


def read_gmsh(path, crs=None) -> ReadResult:
    """Read an ASCII gmsh file (v2.2 or v4.1). ``crs``: see :func:`solver.formats.read_mesh`."""
    path = Path(path)
    lines = read_text(path).splitlines()
    sec = _sections(lines, path)
    if "MeshFormat" not in sec:
        raise MeshFileError(f"{where(path)}no $MeshFormat section: not a gmsh file")
    a, _ = sec["MeshFormat"]
    parts = lines[a].split()
    try:
        version, ftype = float(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise MeshFileError(f"{where(path, a + 1)}cannot read the format line {lines[a].strip()!r}") from None
    if ftype != 0:
        raise MeshFileError(
            f"{where(path, a + 1)}binary gmsh files are not supported: save as ASCII (gmsh -save -format msh2 or msh4)"
        )
    for need in ("Nodes", "Elements"):
        if need not in sec:
            raise MeshFileError(f"{where(path)}no ${need} section")
    names = _physical_names(lines, sec, path)
    notes: list[str] = []
    if 2.0 <= version < 3.0:
        node_tag, xyz, elements = _read_v2(lines, sec, path)
    elif 4.1 <= version < 5.0:
        node_tag, xyz, elements = _read_v4(lines, sec, path)
    else:
        raise MeshFileError(f"{where(path, a + 1)}gmsh format version {version} is not supported (2.2 and 4.1 are)")

    # node tags -> 0-based indices
    order = np.argsort(node_tag, kind="stable")
    stag = node_tag[order]
    if np.any(stag[1:] == stag[:-1]):
        dup = int(stag[1:][stag[1:] == stag[:-1]][0])
        raise MeshFileError(f"{where(path)}node tag {dup} is defined twice")

    def index_of(tags, line_of, what):
        p = np.clip(np.searchsorted(stag, tags), 0, stag.size - 1)
        bad = np.flatnonzero(stag[p] != tags)
        if bad.size:
            k = int(bad[0])
            raise MeshFileError(f"{where(path, line_of(k))}{what(k)} refers to node {int(tags[k])}, which is not in $Nodes")
        return order[p]

    tri = elements.get(TRIANGLE)
    if tri is None:
        raise MeshFileError(f"{where(path)}no triangles (element type 2) in $Elements")
    tri_tags, tri_nodes, tri_line, _ = tri
    faces_all = index_of(
        tri_nodes.ravel(), lambda k: int(tri_line[k // 3]), lambda k: f"element {int(tri_tags[k // 3])}"
    ).reshape(-1, 3)
    other = sorted(t for t in elements if t not in (TRIANGLE, LINE, 15))
    if other:
        notes.append(f"ignored elements of gmsh types {other} (only triangles and boundary lines are used)")
    used = np.unique(faces_all)
    if used.size < node_tag.size:
        notes.append(f"dropped {node_tag.size - used.size} nodes that belong to no triangle")
    new_index = np.full(node_tag.size, -1, dtype=np.int64)
    new_index[used] = np.arange(used.size)
    faces = new_index[faces_all]
    x, y, depth = xyz[used, 0], xyz[used, 1], xyz[used, 2]
    if not np.isfinite(xyz[used]).all():
        k = int(used[np.flatnonzero(~np.isfinite(xyz[used]).all(axis=1))[0]])
        raise MeshFileError(f"{where(path)}node {int(node_tag[k])} has non-finite coordinates or z {xyz[k].tolist()}")

    boundaries = []
    if LINE in elements:
        l_tags, l_nodes, l_line, l_phys = elements[LINE]
        l_idx = index_of(l_nodes.ravel(), lambda k: int(l_line[k // 2]), lambda k: f"line element {int(l_tags[k // 2])}")
        l_idx = new_index[l_idx].reshape(-1, 2)
        if np.any(l_idx < 0):
            k = int(np.flatnonzero((l_idx < 0).any(axis=1))[0])
            raise MeshFileError(f"{where(path, int(l_line[k]))}line element {int(l_tags[k])} uses a node of no triangle")
        ccw = orient_counterclockwise(x, y, faces)
        boundaries = _segments(l_idx, l_phys, names, ccw, x, y, notes)

    crs = resolve_crs(path, x, y, crs, notes=notes)
    n_cw, cw_note = check_faces(path, x, y, faces, tri_line, tri_tags)
    if cw_note:
        notes.append(cw_note)
    mesh = build_mesh(path, x, y, faces, depth, boundaries, crs, path.stem, notes)
    for n in notes:
        log.debug("%s: %s", path.name, n)
    return ReadResult(mesh, f"gmsh{version:g}", tuple(notes))


def _physical_names(lines, sec, path):
    out = {}
    if "PhysicalNames" not in sec:
        return out
    a, b = sec["PhysicalNames"]
    for i in range(a + 1, b):
        m = re.match(r"\s*(\d+)\s+(-?\d+)\s+\"(.*)\"\s*$", lines[i])
        if not m:
            raise MeshFileError(f'{where(path, i + 1)}cannot read physical name {lines[i].strip()!r} (want: dim tag "name")')
        out[(int(m.group(1)), int(m.group(2)))] = m.group(3)
    return out


def _count(lines, i, path, what):
    try:
        return [int(v) for v in lines[i].split()]
    except ValueError:
        raise MeshFileError(f"{where(path, i + 1)}expected the {what}, found {lines[i].strip()[:60]!r}") from None


def _read_v2(lines, sec, path):
    a, b = sec["Nodes"]
    n = _count(lines, a, path, "number of nodes")[0]
    if a + 1 + n > b:
        raise MeshFileError(f"{where(path, b + 1)}$Nodes announces {n} nodes but has {b - a - 1}")
    arr = numeric_block(lines, a + 1, n, 4, path, "node")
    node_tag = arr[:, 0].astype(np.int64)
    xyz = arr[:, 1:4]
    a, b = sec["Elements"]
    ne = _count(lines, a, path, "number of elements")[0]
    if a + 1 + ne > b:
        raise MeshFileError(f"{where(path, b + 1)}$Elements announces {ne} elements but has {b - a - 1}")
    groups = defaultdict(lambda: ([], [], [], []))
    for k in range(a + 1, a + 1 + ne):
        try:
            v = [int(t) for t in lines[k].split()]
            etype, ntags = v[1], v[2]
            nn = NODES_PER_TYPE[etype]
        except (ValueError, IndexError):
            raise MeshFileError(f"{where(path, k + 1)}cannot read element line {lines[k].strip()[:60]!r}") from None
        except KeyError:
            raise MeshFileError(f"{where(path, k + 1)}unknown gmsh element type {etype}") from None
        if len(v) != 3 + ntags + nn:
            raise MeshFileError(
                f"{where(path, k + 1)}element {v[0]} of type {etype} needs {3 + ntags + nn} fields, found {len(v)}"
            )
        g = groups[etype]
        g[0].append(v[0])
        g[1].append(v[3 + ntags :])
        g[2].append(k + 1)
        g[3].append(v[3] if ntags else 0)
    elements = {t: (np.array(g[0]), np.array(g[1], dtype=np.int64), np.array(g[2]), np.array(g[3])) for t, g in groups.items()}
    return node_tag, xyz, elements


def _read_v4(lines, sec, path):
    entity_phys = {}
    if "Entities" in sec:
        a, b = sec["Entities"]
        counts = _count(lines, a, path, "entity counts")
        i = a + 1
        for dim, n in enumerate(counts[:4]):
            for _ in range(n):
                v = lines[i].split()
                try:
                    tag = int(v[0])
                    k = 4 if dim == 0 else 7
                    nphys = int(v[k])
                    entity_phys[(dim, tag)] = [int(t) for t in v[k + 1 : k + 1 + nphys]]
                except (ValueError, IndexError):
                    raise MeshFileError(f"{where(path, i + 1)}cannot read entity line {lines[i].strip()[:60]!r}") from None
                i += 1
    a, b = sec["Nodes"]
    nblocks, nnodes = _count(lines, a, path, "node header")[:2]
    tags, coords = [], []
    i = a + 1
    for _ in range(nblocks):
        if i >= b:
            raise MeshFileError(f"{where(path, b + 1)}$Nodes ends before all {nblocks} entity blocks")
        hdr = _count(lines, i, path, "node block header (dim tag parametric n)")
        if len(hdr) < 4:
            raise MeshFileError(f"{where(path, i + 1)}node block header needs 4 fields")
        parametric, n = hdr[2], hdr[3]
        if parametric:
            raise MeshFileError(f"{where(path, i + 1)}parametric node coordinates are not supported")
        if i + 1 + 2 * n > b:
            raise MeshFileError(f"{where(path, b + 1)}$Nodes ends inside a block of {n} nodes")
        tags.append(numeric_block(lines, i + 1, n, 1, path, "node tag", integer=True)[:, 0])
        coords.append(numeric_block(lines, i + 1 + n, n, 3, path, "node"))
        i += 1 + 2 * n
    node_tag = np.concatenate(tags) if tags else np.zeros(0, dtype=np.int64)
    xyz = np.concatenate(coords) if coords else np.zeros((0, 3))
    if node_tag.size != nnodes:
        raise MeshFileError(f"{where(path, a + 1)}$Nodes announces {nnodes} nodes but its blocks hold {node_tag.size}")
    a, b = sec["Elements"]
    nblocks = _count(lines, a, path, "element header")[0]
    groups = defaultdict(lambda: ([], [], [], []))
    i = a + 1
    for _ in range(nblocks):
        if i >= b:
            raise MeshFileError(f"{where(path, b + 1)}$Elements ends before all {nblocks} entity blocks")
        hdr = _count(lines, i, path, "element block header (dim tag type n)")
        dim, etag, etype, n = hdr[:4]
        if etype not in NODES_PER_TYPE:
            raise MeshFileError(f"{where(path, i + 1)}unknown gmsh element type {etype}")
        nn = NODES_PER_TYPE[etype]
        if i + 1 + n > b:
            raise MeshFileError(f"{where(path, b + 1)}$Elements ends inside a block of {n} elements")
        arr = numeric_block(lines, i + 1, n, 1 + nn, path, f"type-{etype} element", integer=True)
        phys = entity_phys.get((dim, etag), [])
        g = groups[etype]
        g[0].append(arr[:, 0])
        g[1].append(arr[:, 1:])
        g[2].append(np.arange(i + 2, i + 2 + n))
        g[3].append(np.full(n, phys[0] if phys else 0))
        i += 1 + n
    elements = {t: tuple(np.concatenate(c) for c in g) for t, g in groups.items()}
    return node_tag, xyz, elements


def _chains(edges: np.ndarray) -> list[np.ndarray]:
    """Connected paths ``(node ids, closed)`` through the undirected ``edges`` (m, 2); loops repeat no node."""
    adj = defaultdict(list)
    for e, (p, q) in enumerate(edges.tolist()):
        adj[p].append((q, e))
        adj[q].append((p, e))
    used = np.zeros(len(edges), dtype=bool)
    out = []
    starts = [n for n, nb in adj.items() if len(nb) % 2 == 1] + list(adj)
    for s in starts:
        if all(used[e] for _, e in adj[s]):
            continue
        path = [s]
        cur = s
        closed = False
        while True:
            nxt = next(((q, e) for q, e in adj[cur] if not used[e]), None)
            if nxt is None:
                break
            used[nxt[1]] = True
            cur = nxt[0]
            if cur == s:
                closed = True
                break
            path.append(cur)
        out.append((np.array(path, dtype=np.int64), closed))
    return out


def _segments(line_nodes, line_phys, names, faces, x, y, notes):
    segs = []
    by_tag = defaultdict(list)
    for k, t in enumerate(line_phys.tolist()):
        by_tag[int(t)].append(k)
    if 0 in by_tag:
        notes.append(f"{len(by_tag.pop(0))} boundary line elements without a physical tag were ignored (walls)")
    pieces = []  # (tag, chain)
    for tag in sorted(by_tag):
        for ch, closed in _chains(line_nodes[by_tag[tag]]):
            pieces.append((tag, ch, closed))
    if not pieces:
        return segs
    extent = [np.ptp(x[c]) + np.ptp(y[c]) for _, c, _ in pieces]
    outer = int(np.argmax(extent))
    counters = defaultdict(int)
    per_tag = defaultdict(int)
    for tag, _, _ in pieces:
        per_tag[tag] += 1
    unnamed = [t for t in per_tag if (1, t) not in names]
    if unnamed:
        notes.append(
            f"physical line tags {sorted(unnamed)} have no $PhysicalNames: tag {QMESH_OPEN_TAG} read as open ocean, others as coast (qmesh convention)"
        )
    seen_tag = defaultdict(int)
    for j, (tag, ch, closed) in enumerate(pieces):
        name = names.get((1, tag))
        if name is not None:
            role = role_of_name(name)
            seen_tag[tag] += 1
            seg_name = name if per_tag[tag] == 1 else f"{name}_{seen_tag[tag]}"
        else:
            role = "open" if tag == QMESH_OPEN_TAG else "land"
            seg_name = None
        if role == "land" and closed and j != outer:
            role = "island"
        if seg_name is None:
            counters[role] += 1
            seg_name = f"{role}_{counters[role]}"
        ch = orient_chain_domain_left(ch, faces)
        segs.append(BoundarySegment(seg_name, role, ch))
    return segs
