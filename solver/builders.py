"""Hand-built meshes for verification cases and tests: Cartesian rectangles (metres,
``crs=None``) and the icosahedral sphere (lon/lat)."""

from __future__ import annotations

import numpy as np

from .mesh import BoundarySegment, Mesh


def _node_depth(depth, x, y) -> np.ndarray:
    """Node depths from ``depth``: None (0 m), a number, or a function of the node coordinates."""
    if depth is None:
        return np.zeros_like(x)
    if callable(depth):
        return np.asarray(depth(x, y), dtype=float) * np.ones_like(x)
    return np.full_like(x, float(depth))


def rectangle(
    lx: float, ly: float, nx: int, ny: int, *, x0: float = 0.0, y0: float = 0.0, depth=None, pattern: str = "cross"
) -> Mesh:
    """Triangulated rectangle [x0, x0+lx] × [y0, y0+ly] with boundaries ``west``, ``east``, ``south``, ``north``.

    ``pattern``: ``"cross"`` splits each of the nx × ny quads into 4 triangles around a centre
    node (isotropic, 4·nx·ny faces); ``"diagonal"`` into 2 along alternating diagonals
    (2·nx·ny faces). ``depth``: callable ``depth(x, y)`` (m, positive down) or a number.
    """
    xs = x0 + np.linspace(0.0, lx, nx + 1)
    ys = y0 + np.linspace(0.0, ly, ny + 1)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    node_x = [X.ravel()]
    node_y = [Y.ravel()]
    corner = lambda i, j: j * (nx + 1) + i  # noqa: E731
    col, row = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    col, row = col.ravel(), row.ravel()
    a, b, c, d = corner(col, row), corner(col + 1, row), corner(col + 1, row + 1), corner(col, row + 1)
    if pattern == "cross":
        n0 = (nx + 1) * (ny + 1)
        centre = n0 + np.arange(col.size)
        node_x.append(x0 + (col + 0.5) * lx / nx)
        node_y.append(y0 + (row + 0.5) * ly / ny)
        faces = np.concatenate(
            [np.stack([a, b, centre], 1), np.stack([b, c, centre], 1), np.stack([c, d, centre], 1), np.stack([d, a, centre], 1)]
        )
    elif pattern == "diagonal":
        alt = (col + row) % 2 == 0
        f1 = np.where(alt[:, None], np.stack([a, b, c], 1), np.stack([a, b, d], 1))
        f2 = np.where(alt[:, None], np.stack([a, c, d], 1), np.stack([b, c, d], 1))
        faces = np.concatenate([f1, f2])
    else:
        raise ValueError(f"pattern must be 'cross' or 'diagonal', got {pattern!r}")
    x = np.concatenate(node_x)
    y = np.concatenate(node_y)
    dep = _node_depth(depth, x, y)
    ii = np.arange(nx + 1)
    jj = np.arange(ny + 1)
    boundaries = (
        BoundarySegment("south", "land", corner(ii, 0)),
        BoundarySegment("east", "land", corner(nx, jj)),
        BoundarySegment("north", "land", corner(ii[::-1], ny)),
        BoundarySegment("west", "land", corner(0, jj[::-1])),
    )
    return Mesh(x, y, faces, dep, boundaries, crs=None, name=f"rectangle {nx}x{ny} {pattern}")


def icosphere(level: int, *, depth=None) -> Mesh:
    """The whole sphere as a lon/lat mesh: an icosahedron whose faces are split ``level`` times
    into four, new nodes pushed out to the sphere; 20·4^level faces, 10·4^level + 2 nodes, two of
    them at the poles, no boundary (so :attr:`Mesh.is_sphere`). ``depth``: callable
    ``depth(lon, lat)`` (m, positive down) or a number.
    """
    t = (1.0 + np.sqrt(5.0)) / 2.0
    p = np.array(
        [
            [-1, t, 0],
            [1, t, 0],
            [-1, -t, 0],
            [1, -t, 0],
            [0, -1, t],
            [0, 1, t],
            [0, -1, -t],
            [0, 1, -t],
            [t, 0, -1],
            [t, 0, 1],
            [-t, 0, -1],
            [-t, 0, 1],
        ],
        dtype=float,
    )
    # rotate vertex 5 (0, 1, t) onto the North Pole
    v = p[5] / np.linalg.norm(p[5])
    ang = np.arccos(v[2])
    c, s = np.cos(ang), np.sin(ang)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    p = (p / np.linalg.norm(p, axis=1, keepdims=True)) @ rot.T
    faces = np.array(
        [
            [0, 11, 5],
            [0, 5, 1],
            [0, 1, 7],
            [0, 7, 10],
            [0, 10, 11],
            [1, 5, 9],
            [5, 11, 4],
            [11, 10, 2],
            [10, 7, 6],
            [7, 1, 8],
            [3, 9, 4],
            [3, 4, 2],
            [3, 2, 6],
            [3, 6, 8],
            [3, 8, 9],
            [4, 9, 5],
            [2, 4, 11],
            [6, 2, 10],
            [8, 6, 7],
            [9, 8, 1],
        ]
    )
    pts = list(p)
    for _ in range(level):
        cache = {}

        def mid(a, b, cache=cache):
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = pts[a] + pts[b]
                pts.append(m / np.linalg.norm(m))
                cache[key] = len(pts) - 1
            return cache[key]

        new = []
        for a, b, c_ in faces:
            ab, bc, ca = mid(a, b), mid(b, c_), mid(c_, a)
            new += [[a, ab, ca], [b, bc, ab], [c_, ca, bc], [ab, bc, ca]]
        faces = np.array(new)
    p = np.array(pts)
    lon = np.rad2deg(np.arctan2(p[:, 1], p[:, 0]))
    lat = np.rad2deg(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
    dep = _node_depth(depth, lon, lat)
    return Mesh(lon, lat, faces, dep, crs="EPSG:4326", name=f"icosphere level {level}")
