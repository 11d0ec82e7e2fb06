"""Local time stepping: each face advances with a step near its own stability limit.

On a coastal mesh the global explicit step is set by a few small faces in deep water; most
faces could take 2–8 times longer steps. Faces are grouped in levels 0..K: level j advances by
δ_j = 2^j δ with SSP-RK2 (Heun), so one call advances the whole mesh by Δ = 2^K δ. The levels
are advanced coarsest first and recursively, as the subcycling of Berger & Oliger (1984,
J. Comput. Phys. 53) and Berger & Colella (1989, J. Comput. Phys. 82):

    advance(j, t):  step level j from t to t + δ_j;
                    if j > 0: advance(j − 1, t); advance(j − 1, t + δ_{j−1});
                    reflux(j)

* A level-j stage at time τ sees its coarser neighbours interpolated linearly in time between
  the start and the end of their own (already taken) step. Its finer neighbours are exactly at
  τ when level j starts a step; for the second stage (at τ + δ_j) the ones next to level j are
  predicted by a forward-Euler step with their own tendency at τ, which the first stage also
  evaluates. (Holding them at τ lets energy grow across the interfaces of the ``steep-slope``
  verification case; with the prediction it decays as with global steps.)
* Across an edge between two levels the finer side's flux, integrated over its substeps
  (Σ ½ δ_fine (F¹ + F²)), replaces the flux integral the coarse face used in its own step
  ("refluxing"): the scheme conserves volume to round-off, and the coarse face ends with the
  time-accurate interface flux.
* Level of face i: the largest j with 2^j δ ≤ c Δt_i / margin, Δt_i = cfl_length / (|u| + √(gh))
  (:meth:`solver.model.ShallowWaterModel.face_stable_times`, the bound the global step takes the
  minimum of, lengthened in deep water by the model's ``deep_water_step``), capped at
  K and at one more than each edge neighbour's level (dry faces take their neighbours' level + 1,
  so a wetting front never outruns its step; a deep-water relaxation of the step counts for the
  assignment only in water twice its depth, so that the tide crossing that depth seldom forces
  a rebuild). Levels are rebuilt from the state at the first
  step of every ``regroup`` seconds of model time (aligned with the clock's start) and as soon
  as a face would no longer be stable; nothing else carries from one step to the next, so a
  run restarted at a multiple of ``regroup`` continues bit for bit.

Works with the numba backend (the kernels take index lists); the tendency of one level touches
only that level's faces, the edges around them and the halo the reconstruction needs
(:meth:`solver.backends.numba_backend.NumbaBackend.subset`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .kernels import lts
from .state import State
from .timestepping import register


class _Level:
    """Index sets of one level (see the module docstring): ``subset`` for its tendency,
    ``first`` for the first stage, which adds the finer faces next to the level (``ring``)."""

    def __init__(self, backend, model, faces, level, j, lo, hi):
        self.faces = faces
        self.subset = backend.subset(model, faces)
        self.edges = self.subset.edges
        ef = model.mesh.edge_face_connectivity[self.edges]
        nbr = np.concatenate([ef[:, 0], ef[:, 1][ef[:, 1] >= 0]])
        self.ring = np.unique(nbr[level[nbr] < j]).astype(faces.dtype)
        self.first = backend.subset(model, np.union1d(faces, self.ring).astype(faces.dtype)) if self.ring.size else self.subset
        # interface edges where this level is the coarse side, with that face and its side
        e = self.edges[(hi[self.edges] == j) & (lo[self.edges] < j)]
        ef = model.mesh.edge_face_connectivity[e]
        left_is_coarse = level[ef[:, 0]] == j
        self.if_edges = np.ascontiguousarray(e)
        self.if_faces = np.ascontiguousarray(np.where(left_is_coarse, ef[:, 0], ef[:, 1]).astype(faces.dtype))
        self.if_left = left_is_coarse.astype(np.uint8)


@register("lts-rk2")
class LocalSSPRK2:
    """SSP-RK2 with local time steps on up to ``n_levels`` levels (module docstring).

    The Simulation asks :meth:`max_step` for the step, Δ = 2^K × the smallest face step; ``cfl``
    is set by the Simulation. Needs the model's numba backend.
    """

    order = 2

    def __init__(self, n_face: int, n_levels: int = 4, margin: float = 1.1, regroup: float = 3600.0):
        if n_levels < 1:
            raise ValueError(f"n_levels must be ≥ 1, got {n_levels}")
        self.K = n_levels - 1
        self.margin = margin
        self.regroup = regroup
        self.cfl = 0.9
        self.view = State.zeros(n_face)
        self.old = State.zeros(n_face)
        self.t0 = np.zeros(n_face)
        self.wave_time = np.full(n_face, np.inf)
        self.level = None
        self.levels = []
        self._epoch = None
        self._model = None
        self._fresh = False  # wave_time matches the state

    # -- setup ----------------------------------------------------------------------------------
    def _bind(self, model):
        if self._model is model:
            return
        why = model.backend.local_steps_unsupported()
        if why is not None:
            raise ValueError(f"time_stepper 'lts-rk2' {why}")
        self._model = model
        self.backend = model.backend
        ne = model.mesh.n_edge
        self.flux1 = np.zeros((ne, 4))
        self.fine_int = np.zeros((ne, 4))
        self.own_int = np.zeros((ne, 4))
        self.level = None

    def _wave_times(self, model, state):
        model.face_stable_times(state, out=self.wave_time)

    def max_step(self, model, state, cfl: float) -> float:
        """Δ = 2^K · cfl · min_i Δt_i (s), inf if every face is dry."""
        self._bind(model)
        self.cfl = cfl
        self._wave_times(model, state)
        self._fresh = True
        return float(cfl * self.wave_time.min() * 2**self.K)

    def _assignment_times(self, model, state):
        """The wave times the levels are assigned from: :attr:`wave_time`, except that the model's
        deep-water relaxation counts only where the water is twice its ``depth`` deep. The tide
        rising and falling across the relaxation depth then seldom forces a rebuild (a face
        assigned a relaxed level must lose half its depth before the next regrouping); the
        stability check (``required``) uses the relaxed times themselves."""
        dws = model.deep_water_step
        if dws is None or dws.factor == 1.0:
            return self.wave_time
        out = np.empty_like(self.wave_time)
        self.backend.wave_times(model, state, out, replace(dws, depth=2.0 * dws.depth))
        return out

    def _assign(self, model, state, delta, t):
        """(Re)build the levels for base step ``delta`` at model time ``t`` when due (module docstring)."""
        with np.errstate(divide="ignore"):
            ratio = self.cfl * self.wave_time / delta
            required = np.floor(np.log2(ratio))
        required = np.minimum(required, self.K)  # inf (dry) -> K
        if required.min() < 0:
            raise ValueError(f"step {delta * 2**self.K:g} s exceeds the stable step of {int((required < 0).sum())} faces")
        epoch = int(np.floor(t / self.regroup + 1e-9))
        if self.level is not None and epoch == self._epoch and not (self.level > required).any():
            return
        self._epoch = epoch
        with np.errstate(divide="ignore"):
            lev = np.clip(np.floor(np.log2(self.cfl * self._assignment_times(model, state) / delta / self.margin)), 0, self.K)
        lev = np.minimum(lev, required).astype(np.int64)
        ff = model.mesh.face_face_connectivity
        has = ff >= 0
        for _ in range(self.K):
            nbr = np.where(has, lev[np.maximum(ff, 0)], self.K).min(axis=1)
            lev = np.minimum(lev, nbr + 1)
        if self.level is None or not np.array_equal(lev, self.level):
            self.level = lev
            self._build(model)

    def _build(self, model):
        lev = self.level
        ef = model.mesh.edge_face_connectivity
        right = np.where(ef[:, 1] >= 0, ef[:, 1], ef[:, 0])
        self.lo = np.minimum(lev[ef[:, 0]], lev[right])
        self.hi = np.maximum(lev[ef[:, 0]], lev[right])
        idx = self.backend.full.faces.dtype
        self.levels = []
        for j in range(self.K + 1):
            faces = np.flatnonzero(lev == j).astype(idx)
            self.levels.append(_Level(self.backend, model, faces, lev, j, self.lo, self.hi) if faces.size else None)
        self.fine_int[:] = 0.0

    @property
    def level_counts(self) -> np.ndarray:
        """(K + 1,) number of faces on each level (finest first)."""
        return np.bincount(self.level, minlength=self.K + 1) if self.level is not None else np.zeros(self.K + 1, int)

    # -- stepping -------------------------------------------------------------------------------
    def step(self, model, state: State, t: float, dt: float):
        """Advance every face by ``dt`` = 2^K δ; returns the volume out of each segment (m³)."""
        self._bind(model)
        if not self._fresh:
            self._wave_times(model, state)
        delta = dt / 2**self.K
        self._assign(model, state, delta, t)
        self.level_step = delta * 2.0 ** np.arange(self.K + 1)
        self.outflow = np.zeros(model.n_segments)
        self._advance(model, state, self.K, t)
        self._fresh = False
        return self.outflow

    def _advance(self, model, state, j, t):
        self._step_level(model, state, j, t)
        if j > 0:
            self._advance(model, state, j - 1, t)
            self._advance(model, state, j - 1, t + self.level_step[j - 1])
            lv = self.levels[j]
            if lv is not None and lv.if_edges.size:
                b = self.backend
                lts.reflux(lv.if_edges, lv.if_faces, lv.if_left, b.normal, b.normal_right, model.length, b.inv_area, self.fine_int, self.own_int,
                           state.h, state.hu, state.hv, model.dry_depth)

    def _step_level(self, model, state, j, t):
        lv = self.levels[j]
        if lv is None:
            return
        b = self.backend
        d = self.level_step[j]
        w, o = self.view, self.old
        lts.gather_view(lv.first.prim_faces, self.level, j, t, False, state.h, state.hu, state.hv, o.h, o.hu, o.hv, self.t0, self.level_step, w.h, w.hu, w.hv)
        k = b.tendency(model, w, t, lv.first, outflow=False)
        q1 = self._outflow(lv)
        lts.first_stage(lv.faces, t, d, state.h, state.hu, state.hv, k.h, k.hu, k.hv, o.h, o.hu, o.hv, self.t0, w.h, w.hu, w.hv)
        b.apply_implicit(model, w, d, lv.faces)
        lts.copy_rows(lv.edges, b.flux, self.flux1)
        lts.gather_view(lv.subset.prim_faces, self.level, j, t + d, True, state.h, state.hu, state.hv, o.h, o.hu, o.hv, self.t0, self.level_step, w.h, w.hu, w.hv)
        lts.predict(lv.ring, d, state.h, state.hu, state.hv, k.h, k.hu, k.hv, w.h, w.hu, w.hv)
        k = b.tendency(model, w, t + d, lv.subset, outflow=False)
        lts.second_stage(lv.faces, d, k.h, k.hu, k.hv, w.h, w.hu, w.hv)
        b.apply_implicit(model, w, d, lv.faces)
        lts.finish(lv.faces, o.h, o.hu, o.hv, w.h, w.hu, w.hv, state.h, state.hu, state.hv)
        lts.edge_integrals(lv.edges, j, self.lo, self.hi, self.flux1, b.flux, 0.5 * d, self.fine_int, self.own_int)
        self.outflow += 0.5 * d * (q1 + self._outflow(lv))

    def _outflow(self, lv):
        """Volume flux (m³ s⁻¹) out of each segment through the level's own boundary edges."""
        sub = lv.subset
        return np.bincount(sub.seg, weights=self.backend.flux[sub.seg_edges, 0] * sub.seg_length, minlength=self._model.n_segments)
