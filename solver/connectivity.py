"""Pure connectivity functions for triangular meshes.

Every function takes integer arrays and returns new arrays; nothing here knows about coordinates
or caching. Names follow UGRID: ``face_node_connectivity`` (n_face, 3), ``edge_node_connectivity``
(n_edge, 2), ``edge_face_connectivity`` (n_edge, 2; -1 where an edge has a single face),
``face_edge_connectivity`` (n_face, 3), ``face_face_connectivity`` (n_face, 3; -1 on the boundary).

Local convention: edge ``k`` of a face joins its nodes ``k`` and ``(k + 1) % 3``.
"""

from __future__ import annotations

import numpy as np

FILL = -1


def face_edges_as_node_pairs(face_node_connectivity: np.ndarray) -> np.ndarray:
    """Node pairs of every face edge, shape (n_face, 3, 2), in the face's own order."""
    f = np.asarray(face_node_connectivity)
    return np.stack([f, np.roll(f, -1, axis=1)], axis=2)


def edge_connectivity(face_node_connectivity: np.ndarray):
    """Unique edges of a triangular mesh.

    Returns ``(edge_node_connectivity (n_edge, 2), edge_face_connectivity (n_edge, 2),
    face_edge_connectivity (n_face, 3))``. For each edge, face 0 is a face in which the edge runs
    from node 0 to node 1 (so, with counter-clockwise faces, the face lies to the left of the
    edge direction and the edge normal (dy, -dx) points out of face 0). Face 1 is -1 on the
    boundary. Edges are numbered in order of first appearance in the faces (face 0 of edge k
    never decreases with k), so they are as local in memory as the faces. Raises
    ``ValueError`` for non-manifold edges (shared by more than two faces).
    """
    f = np.asarray(face_node_connectivity, dtype=np.int64)
    n_face = f.shape[0]
    pairs = face_edges_as_node_pairs(f).reshape(-1, 2)
    lo = pairs.min(axis=1)
    hi = pairs.max(axis=1)
    key = lo * (int(f.max()) + 1 if f.size else 1) + hi
    order = np.argsort(key, kind="stable")
    skey = key[order]
    start = np.r_[True, skey[1:] != skey[:-1]]
    edge_of_sorted = np.cumsum(start) - 1
    n_edge = int(edge_of_sorted[-1]) + 1 if len(skey) else 0
    counts = np.bincount(edge_of_sorted, minlength=n_edge)
    if np.any(counts > 2):
        bad = np.flatnonzero(counts > 2)[0]
        first = order[np.flatnonzero(edge_of_sorted == bad)]
        raise ValueError(
            "non-manifold edge between nodes %d and %d is shared by faces %s"
            % (lo[first[0]], hi[first[0]], ", ".join(str(int(i // 3)) for i in first))
        )
    # number the edges in order of first appearance in the faces, so that edges are as local in
    # memory as the faces are (and a face reordering reorders the edges with it)
    first_pos = order[start]  # (n_edge,) slot of each edge's first occurrence, by sorted key
    by_appearance = np.argsort(first_pos, kind="stable")
    renumber = np.empty(n_edge, dtype=np.int64)
    renumber[by_appearance] = np.arange(n_edge)
    edge_of_sorted = renumber[edge_of_sorted]
    first_pos = first_pos[by_appearance]  # now by new edge id (increasing)
    face_edge = np.empty(3 * n_face, dtype=np.int64)
    face_edge[order] = edge_of_sorted
    face_edge = face_edge.reshape(n_face, 3)
    # first occurrence -> face 0, second -> face 1
    second_mask = ~start
    edge_face = np.full((n_edge, 2), FILL, dtype=np.int64)
    edge_face[:, 0] = first_pos // 3
    edge_nodes = pairs[first_pos].copy()
    edge_face[edge_of_sorted[second_mask], 1] = order[second_mask] // 3
    return edge_nodes, edge_face, face_edge


def face_face_connectivity(edge_face_connectivity: np.ndarray, face_edge_connectivity: np.ndarray) -> np.ndarray:
    """Neighbour across each local edge, shape (n_face, 3); -1 on the boundary."""
    ef = edge_face_connectivity[face_edge_connectivity]  # (n_face, 3, 2)
    me = np.arange(face_edge_connectivity.shape[0])[:, None]
    return np.where(ef[..., 0] == me, ef[..., 1], ef[..., 0])


def signed_double_area(x: np.ndarray, y: np.ndarray, face_node_connectivity: np.ndarray) -> np.ndarray:
    """Twice the signed area of each face, positive for counter-clockwise node order, shape (n_face,)."""
    f = face_node_connectivity
    x0, x1, x2 = x[f[:, 0]], x[f[:, 1]], x[f[:, 2]]
    y0, y1, y2 = y[f[:, 0]], y[f[:, 1]], y[f[:, 2]]
    return (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)


def zero_area_faces(double_area: np.ndarray, extent: float) -> np.ndarray:
    """Indices of the faces whose (doubled) area is zero to rounding: ``|2A| <= 1e-14 extent²``,
    ``extent`` the mesh's largest coordinate range in the units of the area."""
    scale = float(extent) ** 2 or 1.0
    return np.flatnonzero(np.abs(double_area) <= 1e-14 * scale)


def orient_counterclockwise(x: np.ndarray, y: np.ndarray, face_node_connectivity: np.ndarray) -> np.ndarray:
    """Copy of ``face_node_connectivity`` with clockwise faces reversed (zero-area faces untouched)."""
    f = np.array(face_node_connectivity, dtype=np.int64, copy=True)
    cw = signed_double_area(x, y, f) < 0
    f[cw] = f[cw][:, ::-1]
    return f


def connected_components(n_face: int, face_face: np.ndarray) -> np.ndarray:
    """Label of the edge-connected part each face belongs to, shape (n_face,)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as cc

    i = np.repeat(np.arange(n_face), 3)
    j = face_face.ravel()
    keep = j >= 0
    g = coo_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n_face, n_face))
    return cc(g, directed=False)[1]


def boundary_loops(edge_node_connectivity: np.ndarray, edge_face_connectivity: np.ndarray) -> list[np.ndarray]:
    """Closed loops of boundary nodes, each in the direction that keeps the domain on the left.

    Returns a list of node-id arrays (first node not repeated). Used to find land boundaries and
    islands of meshes that come without a boundary section.
    """
    b = edge_face_connectivity[:, 1] == FILL
    e = edge_node_connectivity[b]
    nxt = {int(a): int(c) for a, c in e}
    loops = []
    seen = set()
    for start in list(nxt):
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        node = nxt[start]
        while node != start and node in nxt and node not in seen:
            loop.append(node)
            seen.add(node)
            node = nxt[node]
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def hilbert_order(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Permutation (n,) that sorts points (x, y) along a Hilbert space-filling curve.

    The points are scaled to a 2^bits × 2^bits grid over their bounding box and sorted by the
    Hilbert index of their cell (the iterative rotate-and-reflect construction; Hilbert 1891,
    Math. Ann. 38; Warren, *Hacker's Delight*, §16). Applied to face centroids it numbers
    neighbouring faces close together, so that gathers from neighbours hit the cache.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = 1 << bits

    def grid(v):
        span = np.ptp(v) if v.size else 0.0
        return np.zeros(v.shape, dtype=np.int64) if span == 0 else np.minimum(((v - v.min()) / span * n).astype(np.int64), n - 1)

    xi, yi = grid(x), grid(y)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant so that the curve inside it has the standard orientation
        flip = ~ry
        swap_x = np.where(flip & rx, s - 1 - xi, xi)
        swap_y = np.where(flip & rx, s - 1 - yi, yi)
        xi = np.where(flip, swap_y, xi)
        yi = np.where(flip, swap_x, yi)
        s >>= 1
    return np.argsort(d, kind="stable")


def node_order_by_faces(face_node_connectivity: np.ndarray, n_node: int) -> np.ndarray:
    """Permutation (n_node,) of nodes in order of first appearance in ``face_node_connectivity`` (n_face, 3);
    nodes that no face uses go last, in their old order."""
    f = np.asarray(face_node_connectivity).ravel()
    first = np.full(n_node, f.size, dtype=np.int64)
    np.minimum.at(first, f, np.arange(f.size))
    return np.lexsort((np.arange(n_node), first))
