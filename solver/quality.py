"""Mesh pre-flight check: is this mesh usable for a forecast, and how long will a run take?

:func:`check_mesh` measures a :class:`~solver.mesh.Mesh` and returns a :class:`MeshReport` with
``problems`` (fatal: the service refuses the mesh) and ``warnings`` (usable, but look). Every
problem names element or node ids and coordinates.

Time step: the explicit finite-volume scheme is stable for (Courant-Friedrichs-Lewy condition,
with the positivity bound of Audusse et al. 2004 for hydrostatic reconstruction)

    dt_f = cfl · A_f / (3 L_max,f) / (sqrt(g · max(h_f, 0.1 m)) + 1 m/s)

on every face f (A: area, L_max: longest side, h: mean still-water depth; 1 m/s allows for the
current speed), and dt = min_f dt_f. The run-time estimate is for a forecast's time stepping
(local time steps, :mod:`solver.local_timestepping`, with the deep-water step of
:class:`solver.stability.DeepWaterStep`): face f's step is ``factor`` × dt_f where it is at
least ``depth`` deep, and it advances on level j_f, steps of 2^j_f δ with δ the smallest of those
steps, j_f = min(K, ⌊log2(dt_f / δ)⌋, 1 + each edge neighbour's level) — the stepper's rule
without its 10 % margin and shoreline band. Face-updates for ``hours``: Σ_f hours · 3600 /
(2^j_f δ); wall time = face-updates / ``throughput``, measured: 3.35e6 face-updates per second
on one core (the Channel/Biscay 72-hour forecast, 275 M face-updates by this count, 81.9 s on one
thread with the forecasts' MUSCL–Hancock steps on the levels, 2026-12-07, docs/performance.md;
two cores take about two thirds of that; a busy shared machine up to half as fast again).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import connectivity as conn
from .geometry import local_offsets
from .local_timestepping import DEFAULT_LEVELS, capped_by_neighbours
from .mesh import Mesh, MeshError
from .stability import DeepWaterStep

SKEW_ANGLE_DEG = 5.0
"""Elements with a smallest angle below this are reported as skewed."""
TINY_AREA_FRACTION = 1e-3
"""Elements smaller than this fraction of the median area are reported as tiny."""
MIN_WAVE_DEPTH = 0.1
"""Depth floor (m) in the wave speed of the time-step estimate (dry and shallow faces)."""
CURRENT_ALLOWANCE = 1.0
"""Current speed (m/s) added to the wave speed in the time-step estimate."""
THROUGHPUT = 3.35e6
"""Face-updates per second on one core under local time steps, as counted by :func:`local_step_updates` (module docstring)."""
MAX_LISTED = 5


@dataclass(frozen=True)
class MeshReport:
    """Result of :func:`check_mesh`. Lengths in m, areas in m², angles in degrees, times in s."""

    name: str
    crs: str | None
    n_node: int
    n_face: int
    n_edge: int
    n_boundary_edge: int
    n_reoriented: int
    n_duplicate_nodes: int
    n_unused_nodes: int
    n_nonmanifold_edges: int
    n_parts: int
    min_angle_deg: float
    angle_percentiles_deg: dict
    n_skewed: int
    n_tiny: int
    area_m2: dict
    edge_length_m: dict
    depth_range_m: tuple
    n_dry_nodes: int
    boundaries: tuple
    n_unnamed_boundary_edges: int
    dt_s: float
    dt_limiting_face: int
    dt_limiting_lonlat: tuple | None
    dt_limiting_xy: tuple
    dt_limiting_depth_m: float
    cfl: float
    hours: float
    n_steps: int
    n_updates: float
    throughput: float
    wall_time_s: float
    problems: tuple = field(default=())
    warnings: tuple = field(default=())
    notes: tuple = field(default=())

    @property
    def ok(self) -> bool:
        """True when there is no fatal problem."""
        return not self.problems

    def to_dict(self) -> dict:
        """JSON-able dictionary (plain Python numbers, lists and strings)."""

        def clean(v):
            if isinstance(v, dict):
                return {str(k): clean(u) for k, u in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(u) for u in v]
            if isinstance(v, np.generic):
                return v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        d = clean(asdict(self))
        d["ok"] = self.ok
        return d

    def format(self) -> str:
        """Human-readable multi-line report."""
        p = self.angle_percentiles_deg
        lines = [
            f"mesh {self.name!r} (crs {self.crs})",
            f"  nodes {self.n_node}, faces {self.n_face}, edges {self.n_edge}, boundary edges {self.n_boundary_edge}, parts {self.n_parts}",
            f"  reoriented faces {self.n_reoriented}, duplicate nodes {self.n_duplicate_nodes}, unused nodes {self.n_unused_nodes}, "
            f"non-manifold edges {self.n_nonmanifold_edges}",
            f"  angles: min {self.min_angle_deg:.2f}°, 1% {p['1']:.1f}°, 5% {p['5']:.1f}°, median {p['50']:.1f}°; "
            f"skewed (<{SKEW_ANGLE_DEG:g}°) {self.n_skewed}, tiny (<{TINY_AREA_FRACTION:g}·median area) {self.n_tiny}",
            f"  edge length: min {self.edge_length_m['min']:.4g} m, median {self.edge_length_m['median']:.4g} m, max {self.edge_length_m['max']:.4g} m",
            f"  area: min {self.area_m2['min']:.4g} m², median {self.area_m2['median']:.4g} m², max {self.area_m2['max']:.4g} m²",
            f"  depth: {self.depth_range_m[0]:.4g} .. {self.depth_range_m[1]:.4g} m (positive down), {self.n_dry_nodes} nodes above the datum",
            f"  boundary segments ({len(self.boundaries)}), {self.n_unnamed_boundary_edges} boundary edges in none (walls):",
        ]
        for b in self.boundaries[:20]:
            lines.append(f"    {b['name']:<14} {b['role']:<7} {b['n_node']:>6} nodes")
        if len(self.boundaries) > 20:
            lines.append(f"    ... and {len(self.boundaries) - 20} more")
        where = (
            f"lon {self.dt_limiting_lonlat[0]:.5f} lat {self.dt_limiting_lonlat[1]:.5f}"
            if self.dt_limiting_lonlat
            else f"x {self.dt_limiting_xy[0]:.6g} y {self.dt_limiting_xy[1]:.6g}"
        )
        lines += [
            f"  stable time step (cfl {self.cfl:g}): {self.dt_s:.4g} s, limited by face {self.dt_limiting_face} at {where} "
            f"(depth {self.dt_limiting_depth_m:.4g} m)",
            f"  {self.hours:g}-h run: {self.n_updates:.4g} face-updates with local time steps ({self.n_steps} global steps), "
            f"about {_duration(self.wall_time_s)} on one core at {self.throughput:.3g} face-updates/s",
        ]
        for title, items in (("notes", self.notes), ("warnings", self.warnings), ("PROBLEMS", self.problems)):
            if items:
                lines.append(f"  {title}:")
                lines += [f"    - {m}" for m in items]
        lines.append("  verdict: " + ("usable" if self.ok else "REFUSED"))
        return "\n".join(lines)


def local_step_updates(dt_face, face_face, seconds: float, n_levels: int = DEFAULT_LEVELS) -> float:
    """Face-updates of ``seconds`` of simulated time with local time steps (module docstring).

    dt_face : (n_face,) each face's stable step, s (positive); face_face : (n_face, 3) edge
    neighbours, −1 across a boundary. Level j_f = min(K, ⌊log2(dt_f / δ)⌋, 1 + neighbours'
    levels), K = ``n_levels`` − 1, δ = min dt_f; returns Σ_f seconds / (2^j_f δ).
    """
    dt_face = np.asarray(dt_face, dtype=float)
    delta = float(dt_face.min())
    k = n_levels - 1
    level = np.clip(np.floor(np.log2(dt_face / delta)), 0, k).astype(np.int64)
    level = capped_by_neighbours(level, np.asarray(face_face), k)
    return float(np.sum(seconds / (delta * 2.0**level)))


def _duration(s: float) -> str:
    if not math.isfinite(s):
        return "unknown"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def face_side_vectors(mesh: Mesh) -> np.ndarray:
    """(n_face, 3, 2) metric side vectors in m: side k runs from local node k to node k+1."""
    f = mesh.face_node_connectivity
    xc, yc = mesh.face_x[:, None], mesh.face_y[:, None]
    p = local_offsets(xc, yc, mesh.node_x[f], mesh.node_y[f], mesh.metric)  # (n_face, 3, 2)
    return np.roll(p, -1, axis=1) - p


def face_angles_deg(mesh: Mesh) -> np.ndarray:
    """(n_face, 3) interior angles in degrees at each local node (measured in metres)."""
    s = face_side_vectors(mesh)
    a = -np.roll(s, 1, axis=1)  # from node k back to node k-1
    b = s  # from node k to node k+1
    cross = np.abs(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
    dot = np.sum(a * b, axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def _loc(mesh: Mesh, x, y) -> str:
    if mesh.crs is not None and mesh.is_geographic:
        return f"(lon {x:.5f}, lat {y:.5f})"
    return f"(x {x:.6g}, y {y:.6g})"


def _ids(ids) -> str:
    ids = [int(i) for i in ids]
    more = f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else ""
    return ", ".join(map(str, ids[:MAX_LISTED])) + more


def _nonmanifold_edges(f: np.ndarray):
    """(pairs (k, 2), faces of each pair) of edges shared by more than two faces."""
    pairs = np.sort(conn.face_edges_as_node_pairs(f).reshape(-1, 2), axis=1)
    uniq, inv, cnt = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
    bad = np.flatnonzero(cnt > 2)
    faces = [np.flatnonzero(inv.ravel() == b) // 3 for b in bad]
    return uniq[bad], faces


def check_mesh(
    mesh: Mesh, *, gravity: float = 9.81, cfl: float = 0.9, throughput: float = THROUGHPUT, hours: float = 72, notes=()
) -> MeshReport:
    """Pre-flight check of ``mesh`` (see the module docstring for the time-step formula).

    ``throughput``: face-updates per second of the solver on one core under local time steps; ``hours``: simulated time of the
    run-time estimate; ``notes``: reader notes to carry into the report.
    """
    problems: list[str] = []
    warnings: list[str] = []
    f = mesh.face_node_connectivity
    x, y = mesh.node_x, mesh.node_y
    fx, fy = mesh.face_x, mesh.face_y

    if mesh.n_reoriented:
        warnings.append(f"{mesh.n_reoriented} clockwise (inverted) faces were reoriented counter-clockwise")

    # duplicate and unused nodes
    xy = np.stack([x, y], axis=1)
    _, first, inv, cnt = np.unique(xy, axis=0, return_index=True, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    dup_nodes = np.flatnonzero(cnt[inv] > 1)
    n_dup = int(dup_nodes.size - np.count_nonzero(cnt > 1))
    used = np.zeros(mesh.n_node, dtype=bool)
    used[f.ravel()] = True
    n_unused = int((~used).sum())
    if n_dup:
        twins = [i for i in dup_nodes if first[inv[i]] != i]
        i = twins[0]
        j = first[inv[i]]
        msg = (
            f"{n_dup} duplicate nodes (same coordinates as another node), e.g. nodes {j} and {i} at {_loc(mesh, x[i], y[i])}; "
            f"duplicates: {_ids(twins)}"
        )
        if used[twins].any() and used[[first[inv[t]] for t in twins]].any():
            problems.append(msg + " (both used by faces: the mesh has a seam)")
        else:
            warnings.append(msg)
    if n_unused:
        warnings.append(f"{n_unused} nodes belong to no face: {_ids(np.flatnonzero(~used))}")

    # non-manifold edges: without them, the edge structure of the Mesh exists
    nm_pairs, nm_faces = _nonmanifold_edges(f)
    for (a, b), fs in list(zip(nm_pairs.tolist(), nm_faces))[:MAX_LISTED]:
        problems.append(
            f"non-manifold edge between nodes {a} and {b} at {_loc(mesh, 0.5 * (x[a] + x[b]), 0.5 * (y[a] + y[b]))} "
            f"is shared by faces {_ids(fs)}"
        )
    if nm_pairs.shape[0] > MAX_LISTED:
        problems.append(f"... {nm_pairs.shape[0]} non-manifold edges in all")
    manifold = nm_pairs.shape[0] == 0

    # angles, areas, lengths (metric)
    ang = face_angles_deg(mesh)
    amin = ang.min(axis=1)
    pct = {str(q): float(np.percentile(amin, q)) for q in (1, 5, 50)}
    skewed = np.flatnonzero(amin < SKEW_ANGLE_DEG)
    if skewed.size:
        k = skewed[np.argmin(amin[skewed])]
        warnings.append(
            f"{skewed.size} skewed faces (smallest angle < {SKEW_ANGLE_DEG:g}°), worst face {k} at {_loc(mesh, fx[k], fy[k])} "
            f"with {amin[k]:.2f}°; faces {_ids(skewed[np.argsort(amin[skewed])])}"
        )
    area = np.asarray(mesh.face_area)
    med = float(np.median(area))
    tiny = np.flatnonzero(area < TINY_AREA_FRACTION * med)
    if tiny.size:
        k = tiny[np.argmin(area[tiny])]
        warnings.append(
            f"{tiny.size} tiny faces (area < {TINY_AREA_FRACTION:g} × median {med:.4g} m²), smallest face {k} at "
            f"{_loc(mesh, fx[k], fy[k])} with {area[k]:.4g} m²"
        )
    sides = np.linalg.norm(face_side_vectors(mesh), axis=-1)
    stats = lambda v: {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}  # noqa: E731

    # connectivity-based checks
    n_parts = 1
    n_edge = n_bedge = n_unnamed = 0
    if manifold:
        n_edge, n_bedge = mesh.n_edge, int(mesh.boundary_edges.size)
        labels = conn.connected_components(mesh.n_face, mesh.face_face_connectivity)
        sizes = np.bincount(labels)
        n_parts = int(sizes.size)
        if n_parts > 1:
            main = int(np.argmax(sizes))
            small = [int(p) for p in np.argsort(sizes)[::-1] if p != main]
            desc = "; ".join(
                f"{sizes[p]} faces around {_loc(mesh, fx[labels == p][0], fy[labels == p][0])} (face {int(np.flatnonzero(labels == p)[0])})"
                for p in small[:MAX_LISTED]
            )
            warnings.append(f"the mesh has {n_parts} disconnected parts; besides the main part of {sizes[main]} faces: {desc}")
        cfl_len = np.asarray(mesh.face_cfl_length)
        seg_of_edge = mesh.boundary_edge_segment
        n_unnamed = int((seg_of_edge < 0).sum())
    else:
        cfl_len = area / (3.0 * sides.max(axis=1))

    # boundaries
    bnodes = set()
    if manifold:
        bnodes = set(np.unique(mesh.edge_node_connectivity[mesh.boundary_edges]).tolist())
    seg_info = []
    for s in mesh.boundaries:
        seg_info.append({"name": s.name, "role": s.role, "n_node": int(s.node_ids.size)})
        if manifold and s.node_ids.size:
            inner = [int(i) for i in s.node_ids if int(i) not in bnodes]
            if inner:
                i = inner[0]
                warnings.append(
                    f"boundary {s.name!r} lists {len(inner)} nodes that are not on the mesh boundary, e.g. node {i} at {_loc(mesh, x[i], y[i])}"
                )
    if not any(s.role == "open" for s in mesh.boundaries):
        warnings.append("no open boundary: a closed basin, forced by wind and pressure only")

    # depth
    d = mesh.depth
    n_dry = int((d <= 0).sum())
    if not np.any(d > 0):
        problems.append(f"no node has a positive depth (range {d.min():.4g}..{d.max():.4g} m): is depth stored positive up?")
    elif n_dry > 0.5 * mesh.n_node:
        warnings.append(f"{n_dry} of {mesh.n_node} nodes lie above the datum (depth ≤ 0): is depth positive down?")

    # time step and run time
    hf = np.maximum(mesh.face_depth, MIN_WAVE_DEPTH)
    dt_face = cfl * cfl_len / (np.sqrt(gravity * hf) + CURRENT_ALLOWANCE)
    k = int(np.argmin(dt_face))
    dt = float(dt_face[k])
    ll = mesh.face_lonlat if mesh.crs is not None else None
    lim_ll = (float(ll[0][k]), float(ll[1][k])) if ll is not None else None
    if not (dt > 0 and math.isfinite(dt)):
        problems.append(f"face {k} at {_loc(mesh, fx[k], fy[k])} allows no positive time step ({dt})")
        n_steps, n_updates, wall = 0, float("inf"), float("inf")
    else:
        n_steps = int(math.ceil(hours * 3600.0 / dt))
        deep = DeepWaterStep()
        # a non-manifold mesh (refused above) has no edge neighbours to bound the levels
        ff = mesh.face_face_connectivity if manifold else np.full((mesh.n_face, 3), -1)
        n_updates = local_step_updates(
            np.where(mesh.face_depth >= deep.depth, deep.factor * dt_face, dt_face), ff, hours * 3600.0
        )
        wall = n_updates / throughput
        if dt < 0.5:
            warnings.append(
                f"the stable time step is only {dt:.3g} s (face {k} at {_loc(mesh, fx[k], fy[k])}): a 72-h run takes {n_steps} steps"
            )

    return MeshReport(
        name=mesh.name,
        crs=mesh.crs,
        n_node=mesh.n_node,
        n_face=mesh.n_face,
        n_edge=int(n_edge),
        n_boundary_edge=int(n_bedge),
        n_reoriented=int(mesh.n_reoriented),
        n_duplicate_nodes=n_dup,
        n_unused_nodes=n_unused,
        n_nonmanifold_edges=int(nm_pairs.shape[0]),
        n_parts=n_parts,
        min_angle_deg=float(amin.min()),
        angle_percentiles_deg=pct,
        n_skewed=int(skewed.size),
        n_tiny=int(tiny.size),
        area_m2=stats(area),
        edge_length_m=stats(sides.ravel()),
        depth_range_m=(float(d.min()), float(d.max())),
        n_dry_nodes=n_dry,
        boundaries=tuple(seg_info),
        n_unnamed_boundary_edges=n_unnamed,
        dt_s=dt,
        dt_limiting_face=k,
        dt_limiting_lonlat=lim_ll,
        dt_limiting_xy=(float(fx[k]), float(fy[k])),
        dt_limiting_depth_m=float(mesh.face_depth[k]),
        cfl=float(cfl),
        hours=float(hours),
        n_steps=n_steps,
        n_updates=float(n_updates),
        throughput=float(throughput),
        wall_time_s=float(wall),
        problems=tuple(problems),
        warnings=tuple(warnings),
        notes=tuple(notes),
    )


__all__ = ["MeshReport", "check_mesh", "face_angles_deg", "face_side_vectors", "MeshError"]
