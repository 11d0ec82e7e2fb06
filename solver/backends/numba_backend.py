"""The numba backend of :class:`solver.model.ShallowWaterModel`: work arrays and the pass sequence.

One tendency evaluation is four parallel kernel passes over preallocated arrays (no per-step
allocation of mesh-sized arrays):

1. faces: primitives (η, h, u, v) and wet flags (:func:`~solver.kernels.reconstruct.face_primitives`);
   first-order ghost states from the boundary conditions (for the gradients);
2. nodes and faces: vertex-stencil extrema and the limited reconstruction to the edge midpoints,
   with the bed-slope term (:func:`~solver.kernels.reconstruct.reconstruct`);
   ghost states from the reconstructed boundary-edge values (for the fluxes);
3. edges: hydrostatic reconstruction and HLL/HLLC fluxes (:func:`~solver.kernels.fluxes.edge_fluxes`),
   one flux per edge in an (n_edge, 4) array, so there is no race in the accumulation;
   the boundary conditions' own fluxes (river discharge) overwrite their edges;
4. faces: accumulation of the three edge fluxes of each face (:func:`~solver.kernels.update.accumulate`),
   with the explicit terms that offer a compiled source (:mod:`solver.terms.base`, e.g. Coriolis);
   Python: the other explicit terms (wind, pressure, tides) and the boundary outflow per segment.

Boundary conditions and physics terms are the same objects as for the numpy backend, asked for
their own behaviour: a condition's ghost runs as the compiled kernel it names
(``ghost_kernel``, :data:`solver.kernels.ghosts.GHOST_KERNELS`; walls) or as its Python
``ghost`` on its own few edges (tides, free outflow), and every condition may replace the
Riemann flux on its edges (``flux``); a term's ``kernel_source`` is computed inside the face
passes, the others' ``momentum_tendency`` in Python. All states are rows (η, h, u, v).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..boundaries import EdgeStates
from ..kernels import fluxes, ghosts, lts, reconstruct, uncached_kernels, update
from ..state import Tendency
from ..terms.base import MANNING, ROTATION
from .registry import register

ACCUMULATED = (ROTATION,)
"""The explicit kernel sources (:data:`solver.terms.base.KERNEL_SOURCES`) that the accumulation pass computes."""


@dataclass(frozen=True)
class Subset:
    """The mesh entities one tendency evaluation touches (all of them, or one level's halo under
    local time stepping, :mod:`solver.local_timestepping`). Index arrays, each sorted:

    prim_faces : faces whose primitives are needed (the vertex stencils of ``nodes``);
    nodes : nodes whose extrema are needed (the vertices of ``recon_faces``);
    recon_faces : faces reconstructed to their edges (both sides of ``edges``);
    edges : edges whose fluxes are needed (the edges of ``faces``);
    faces : faces whose tendency is wanted;
    seg, seg_edges, seg_length : segment id, edge id and length (m) of the boundary edges in
        ``edges`` that belong to a segment (for the boundary outflow);
    kernel_ghosts : (kernel, boundary-edge indices into the model's boundary-edge arrays) for
        each compiled ghost kernel, the edges on ``prim_faces`` whose condition names it;
    groups : the model's boundary groups whose ghost is Python (tides, free outflow) with an
        edge on ``prim_faces`` (the others' ghost states are not needed);
    flux_groups : every boundary group (condition, boundary-edge indices, edge ids) with an
        edge in ``edges``, asked for its own fluxes.
    """

    prim_faces: np.ndarray
    nodes: np.ndarray
    recon_faces: np.ndarray
    edges: np.ndarray
    faces: np.ndarray
    seg: np.ndarray
    seg_edges: np.ndarray
    seg_length: np.ndarray
    kernel_ghosts: list
    groups: list
    flux_groups: list


log = logging.getLogger(__name__)
_checked_cache = False


# the kernels every run calls at its first step (the others compile when a run first needs them)
FIRST_STEP_KERNELS = ("face_primitives", "node_extrema", "reconstruct", "edge_fluxes", "accumulate", "wave_times")


def _say_if_compiling():
    """Log once per process when numba's cache lacks the kernels of a first step, which will
    then compile them (a fresh install: about 10 s on one core; once cached they load in a
    fraction of a second)."""
    global _checked_cache
    if _checked_cache:
        return
    _checked_cache = True
    missing = [k for k in uncached_kernels() if k.rsplit(".", 1)[-1] in FIRST_STEP_KERNELS]
    if missing:
        where = reconstruct.reconstruct.parallel.stats.cache_path
        log.info(
            "compiling the solver kernels for this machine (first run of this installation, about 10 s; cached in %s for the next runs)",
            where,
        )


@register("numba")
class NumbaBackend:
    """Preallocated work arrays and kernel calls for one model (see the module docstring).

    The :class:`~solver.state.Tendency` returned by :meth:`tendency` holds views of work arrays
    that the next call overwrites.
    """

    def __init__(self, model):
        _say_if_compiling()
        m = model.mesh
        nf = m.n_face
        nb = model.n_boundary_edge
        self.n_face = nf
        self.second_order = model.reconstruction is not None
        if self.second_order and model.limiter != "barth-jespersen":
            raise ValueError(
                f"the numba backend implements the 'barth-jespersen' limiter, not {model.limiter!r}; use backend='numpy'"
            )
        self.solver_code = fluxes.SOLVER_CODES[model.riemann_solver]
        idx = np.int32 if max(3 * nf + nb, m.n_edge, m.n_node) < 2**31 - 1 else np.int64
        self.left_slot = np.ascontiguousarray(model.left_slot, dtype=idx)
        self.right_slot = np.ascontiguousarray(model.right_slot, dtype=idx)
        self.normal = np.ascontiguousarray(model.normal, dtype=np.float64)
        self.normal_right = (
            self.normal if model.normal_right is model.normal else np.ascontiguousarray(model.normal_right, dtype=np.float64)
        )
        rot = model.neighbour_rotation
        self.neighbour_rotation = np.zeros((0, 3, 2)) if rot is None else np.ascontiguousarray(rot, dtype=np.float64)
        self.face_edge = np.ascontiguousarray(model.face_edge, dtype=idx)
        self.face_is_left = np.ascontiguousarray(model.face_is_left, dtype=np.uint8)
        self.face_edge_length = np.ascontiguousarray(model.face_edge_length, dtype=np.float64)
        self.inv_area = np.ascontiguousarray(1.0 / model.area)
        self.cfl_length = np.ascontiguousarray(model.cfl_length, dtype=np.float64)
        self.face_face = np.ascontiguousarray(m.face_face_connectivity, dtype=idx)
        self.wave_time = np.empty(m.n_face)  # scratch of stable_dt
        self.bed = model.bed
        self.bface = np.ascontiguousarray(model.boundary_edge_slot // 3)
        self.bslot = np.ascontiguousarray(model.boundary_edge_slot)
        self.bed_b = self.bed[self.bface]
        if self.second_order:
            rec = model.reconstruction
            self.neighbour_ext = np.ascontiguousarray(model.neighbour_ext, dtype=idx)
            self.corner_faces = np.ascontiguousarray(model.corner_faces, dtype=np.uint8)
            self.face_nodes = np.ascontiguousarray(m.face_node_connectivity, dtype=idx)
            self.edge_operator = reconstruct.edge_operator(rec.operator, rec.edge_offset)
            self.outward_normal = np.ascontiguousarray(model.face_edge_normal_out)
            self.edge_bed = model.edge_bed
            counts = np.bincount(m.face_node_connectivity.ravel(), minlength=m.n_node)
            self.node_start = np.r_[0, np.cumsum(counts)].astype(idx)
            self.node_faces = np.ascontiguousarray(rec.faces_by_node, dtype=idx)
            self.extrema = np.zeros((m.n_node, 6))
            self.bed_slope = np.zeros((nf, 2))
        else:
            self.bed_slope = np.zeros((1, 2))
        # work arrays
        self.prim = np.zeros((nf + nb, 4))
        self.centre = np.zeros((nf, 4))  # MUSCL–Hancock: the face values predicted to the half step
        self.wet = np.zeros(nf + nb, dtype=np.uint8)
        self.edge_values = np.zeros((3 * nf + nb, 4))
        self.flux = np.zeros((m.n_edge, 4))
        self.dh = np.zeros(nf)
        self.dhu = np.zeros(nf)
        self.dhv = np.zeros(nf)
        self.wet_view = self.wet[:nf].view(np.bool_)
        self.result = Tendency(self.dh, self.dhu, self.dhv, np.zeros(model.n_segments))
        self.flux_groups = [(bc, gidx, m.boundary_edges[gidx]) for bc, gidx, _ in model.boundary_groups]
        seg = model.boundary_segment
        on_segment = seg >= 0
        self.seg = seg[on_segment]
        self.seg_edges = m.boundary_edges[on_segment]
        self.seg_length = model.boundary_length[on_segment]
        self.normal_b = np.ascontiguousarray(model.boundary_normal, dtype=np.float64)
        self.no_wet = np.zeros(0, dtype=np.uint8)
        # each condition's ghost: a compiled kernel it names, or its Python ghost on its own edges
        self.kernel_edge_mask = {}  # kernel -> (n_boundary_edge,) bool
        self.ghost_groups = []
        for group in model.boundary_groups:
            kernel = ghosts.GHOST_KERNELS.get(group[0].ghost_kernel)
            if kernel is None:
                self.ghost_groups.append(group)
            else:
                self.kernel_edge_mask.setdefault(kernel, np.zeros(nb, dtype=bool))[group[1]] = True
        faces = np.arange(nf, dtype=idx)
        self.full = Subset(
            faces,
            np.arange(m.n_node, dtype=idx),
            faces,
            np.arange(m.n_edge, dtype=idx),
            faces,
            self.seg,
            self.seg_edges,
            self.seg_length,
            [(k, np.flatnonzero(mask).astype(idx)) for k, mask in self.kernel_edge_mask.items()],
            self.ghost_groups,
            self.flux_groups,
        )
        # explicit terms with a compiled source join the accumulation pass; the others run in Python
        fused = {}
        self.python_terms = []
        for term in model.explicit_terms:
            src = term.kernel_source(model)
            if src is not None and src.code in ACCUMULATED and src.code not in fused:
                fused[src.code] = src.data
            else:
                self.python_terms.append(term)
        self.rotation_rate = np.ascontiguousarray(fused[ROTATION], dtype=np.float64) if ROTATION in fused else np.zeros(0)
        # implicit terms: one with a compiled Manning source is fused with the Euler stage
        sources = [t.kernel_source(model) for t in model.implicit_terms]
        self.fused_friction = not sources or (len(sources) == 1 and sources[0] is not None and sources[0].code == MANNING)
        self.manning_n2 = sources[0].data if sources and self.fused_friction else np.zeros(1)

    def local_steps_unsupported(self) -> str | None:
        """Why local time stepping cannot use this backend, or None."""
        if not self.fused_friction:
            return "takes at most one ManningFriction as implicit term; use 'ssp-rk2'"
        return None

    # -- the operator -------------------------------------------------------------------------
    def set_ghosts(self, model, t, src, src_row, dst, dst_start, sub, wet, bed=None):
        """Ghost rows ``dst[dst_start + b]`` (η, h, u, v) of the subset's boundary edges b from
        the interior rows ``src[src_row[b]]``; bed elevations ``bed`` (n_boundary_edge,), or
        η − h of the interior rows when None. ``wet`` (the primitives' flags, or an empty
        array) gets h_g > dry depth."""
        eps = model.dry_depth
        for kernel, edges in sub.kernel_ghosts:
            kernel(edges, src, src_row, dst, dst_start, self.normal_b, wet, eps)
        for bc, gidx, _ in sub.groups:
            es = EdgeStates.gather(src, src_row[gidx], None if bed is None else bed[gidx])
            etag, hg, ug, vg = bc.ghost(t, es, self.normal_b[gidx], model.gravity)
            out = dst_start + gidx
            dst[out, 0] = etag
            dst[out, 1] = hg
            dst[out, 2] = ug
            dst[out, 3] = vg
            if wet.size:
                wet[out] = hg > eps

    def subset(self, model, faces):
        """The :class:`Subset` that the tendency of ``faces`` (sorted face ids) needs."""
        m = model.mesh
        nf = self.n_face
        idx = self.full.faces.dtype
        on = np.zeros(nf, dtype=bool)
        on[faces] = True
        ef = m.edge_face_connectivity
        right = ef[:, 1]
        edge_on = on[ef[:, 0]] | ((right >= 0) & on[np.maximum(right, 0)])
        edges = np.flatnonzero(edge_on).astype(idx)
        rec = np.zeros(nf, dtype=bool)
        rec[ef[edges, 0]] = True
        r = right[edges]
        rec[r[r >= 0]] = True
        node_on = np.zeros(m.n_node, dtype=bool)
        node_on[m.face_node_connectivity[rec].ravel()] = True
        prim = node_on[m.face_node_connectivity].any(axis=1) | rec
        seg_on = edge_on[self.seg_edges]
        groups = []
        for group in self.ghost_groups:  # whole groups: a condition's forcing is per group edge
            if prim[self.bface[group[1]]].any():
                groups.append(group)
        kernel_ghosts = [(k, np.flatnonzero(mask & prim[self.bface]).astype(idx)) for k, mask in self.kernel_edge_mask.items()]
        return Subset(
            np.flatnonzero(prim).astype(idx),
            np.flatnonzero(node_on).astype(idx),
            np.flatnonzero(rec).astype(idx),
            edges,
            np.asarray(faces, dtype=idx),
            self.seg[seg_on],
            self.seg_edges[seg_on],
            self.seg_length[seg_on],
            kernel_ghosts,
            groups,
            [g for g in self.flux_groups if edge_on[g[2]].any()],
        )

    def tendency(self, model, state, t, subset=None, outflow=True, half_step=0.0):
        """d(state)/dt at ``t`` on ``subset.faces`` (all faces by default); the other rows of
        the returned arrays are stale. ``boundary_outflow`` covers the subset's boundary edges
        (left as it was without ``outflow``). With ``half_step`` τ > 0 (second order only), the
        MUSCL–Hancock tendency: the edge values predicted to t + τ
        (:func:`solver.kernels.reconstruct.reconstruct`), and the boundary states, fluxes and
        source terms taken at t + τ from them."""
        sub = self.full if subset is None else subset
        nf = self.n_face
        g = model.gravity
        eps = model.dry_depth
        prim = self.prim
        reconstruct.face_primitives(sub.prim_faces, state.h, state.hu, state.hv, self.bed, eps, eps**4, prim, self.wet)
        ev = self.edge_values
        tau = float(half_step) if self.second_order else 0.0
        centre = self.centre if tau > 0.0 else prim
        if self.second_order:
            self.set_ghosts(model, t, prim, self.bface, prim, nf, sub, self.wet, self.bed_b)
            reconstruct.node_extrema(sub.nodes, self.node_start, self.node_faces, prim, self.extrema)
            reconstruct.reconstruct(
                sub.recon_faces,
                prim,
                self.wet,
                self.corner_faces,
                self.extrema,
                self.neighbour_ext,
                self.neighbour_rotation,
                self.face_nodes,
                self.edge_operator,
                self.edge_bed,
                self.face_edge_length,
                self.outward_normal,
                self.inv_area,
                0.5 * g,
                ev,
                self.bed_slope,
                tau,
                self.rotation_rate,
                self.centre,
            )
            t = t + tau
            self.set_ghosts(model, t, ev, self.bslot, ev, 3 * nf, sub, self.no_wet)
        else:
            reconstruct.first_order(sub.recon_faces, prim, ev)
            self.set_ghosts(model, t, prim, self.bface, ev, 3 * nf, sub, self.no_wet, self.bed_b)
        F = self.flux
        fluxes.edge_fluxes(sub.edges, ev, self.left_slot, self.right_slot, self.normal, self.normal_right, g, self.solver_code, F)
        for bc, gidx, edges in sub.flux_groups:
            imposed = bc.flux(t, EdgeStates.gather(ev, self.bslot[gidx]), model.boundary_length[gidx], g)
            if imposed is not None:
                F[edges, 0], F[edges, 1], F[edges, 2] = imposed
        update.accumulate(
            sub.faces,
            F,
            self.normal,
            self.normal_right,
            self.face_edge,
            self.face_is_left,
            self.face_edge_length,
            self.inv_area,
            self.second_order,
            self.bed_slope,
            self.rotation_rate,
            centre,
            self.dh,
            self.dhu,
            self.dhv,
        )
        if self.python_terms:
            h = centre[:nf, 1]
            u = centre[:nf, 2]
            v = centre[:nf, 3]
            for term in self.python_terms:
                if sub is self.full:
                    sx, sy = term.momentum_tendency(model, h, u, v, self.wet_view, t)
                    self.dhu += sx
                    self.dhv += sy
                else:  # only the subset's faces
                    sx, sy = term.momentum_tendency(model, h, u, v, self.wet_view, t, faces=sub.faces)
                    self.dhu[sub.faces] += sx
                    self.dhv[sub.faces] += sy
        if outflow:
            out = self.result.boundary_outflow
            out[:] = np.bincount(sub.seg, weights=F[sub.seg_edges, 0] * sub.seg_length, minlength=out.size)
        return self.result

    def wave_times(self, model, state, out, deep_water_step=None):
        """``out`` (n_face,) = each face's stable step at Courant number 1, s (inf where dry),
        lengthened in deep water by ``deep_water_step`` (a DeepWaterStep or None)."""
        lts.wave_times(state.h, state.hu, state.hv, self.cfl_length, model.dry_depth, model.dry_depth**4, model.gravity, out)
        if deep_water_step is not None and deep_water_step.factor != 1.0:
            update.relax_deep(state.h, self.face_face, float(deep_water_step.depth), float(deep_water_step.factor), out)

    def stable_dt(self, model, state, cfl):
        # per-face times into a scratch array, then numpy's min: 150 µs on 40 k faces, where a
        # prange min-reduction took 320 µs
        self.wave_times(model, state, self.wave_time, model.deep_water_step)
        m = self.wave_time.min()
        return float(cfl * m) if np.isfinite(m) else np.inf

    def speed_check(self, model, state):
        """(number of faces with a non-finite variable, the first of them or -1, the face of the
        highest speed among the finite ones, that speed in m s⁻¹), in one pass without arrays."""
        eps = model.dry_depth
        return update.speed_check(state.h, state.hu, state.hv, eps, eps**4)

    def euler_stage(self, model, state, k, dt, out):
        """``out`` = ``state`` + dt ``k``, then the implicit terms: with the fused Manning friction
        and the dry clean-up in one pass, else the axpy and :meth:`apply_implicit`."""
        if self.fused_friction:
            update.euler_implicit(
                state.h,
                state.hu,
                state.hv,
                k.h,
                k.hu,
                k.hv,
                dt,
                out.h,
                out.hu,
                out.hv,
                model.dry_depth,
                self.manning_n2,
                dt * model.gravity,
                bool(model.implicit_terms),
            )
            return
        np.add(state.h, dt * k.h, out=out.h)
        np.add(state.hu, dt * k.hu, out=out.hu)
        np.add(state.hv, dt * k.hv, out=out.hv)
        self.apply_implicit(model, out, dt)

    def implicit_arguments(self, model, dt):
        """(dry_depth, manning_n2, k = dt g, apply_friction): the trailing arguments of the
        kernels that end with the fused implicit Manning update and dry clean-up
        (:func:`solver.kernels.update.implicit_update`; the local time stepper's stages)."""
        return model.dry_depth, self.manning_n2, dt * model.gravity, bool(model.implicit_terms)

    def apply_implicit(self, model, state, dt, faces=None):
        """Implicit terms and the dry clean-up on ``faces`` (all by default; a subset only with the
        fused Manning friction, which local time stepping checks when it binds)."""
        faces = self.full.faces if faces is None else faces
        if self.fused_friction:
            update.implicit_update(faces, state.h, state.hu, state.hv, *self.implicit_arguments(model, dt))
            return
        update.implicit_update(faces, state.h, state.hu, state.hv, -np.inf, self.manning_n2, 0.0, False)  # clip only
        for term in model.implicit_terms:
            term.implicit_update(model, state, dt)
        dry = state.h <= model.dry_depth
        state.hu[dry] = 0.0
        state.hv[dry] = 0.0
