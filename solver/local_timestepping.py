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
  a rebuild). Faces within ``front_rings`` edge rings of the shoreline (water deeper than
  ``thin`` × the dry depth on one side of an edge, shallower on the other) are on level 0: thin
  films there change speed from step to step.
* Levels are assigned from the state at the first step of every ``regroup`` seconds of model
  time (aligned with the clock's start). Within that interval the step is the longest the
  current levels allow (δ = cfl · min_i Δt_i / 2^level_i); only when that is ``max_slowdown``
  times shorter than the best δ* = cfl · min_i Δt_i are they reassigned for δ*, and then a face
  only moves to a finer level. (Reassigning whenever a face's level exceeded its own stable
  level rebuilt the index sets at 183 of 186 steps on Thacker's bowl, each costing about 4
  global steps.) Where the levels would save less than ``min_saving`` of the work of global
  steps (counted in wet faces), the interval is stepped with global SSP-RK2 steps
  (:attr:`LocalSSPRK2.global_steps`). Nothing else carries from one interval to the next, so a
  run restarted at a multiple of ``regroup`` continues bit for bit.

:class:`LocalMusclHancock` (``lts-muscl-hancock``, the forecasts' default) keeps all of the above
and replaces the two Heun stages of a level step by one MUSCL–Hancock step
(:class:`solver.timestepping.MusclHancock`): its halo is seen at the start of the step and
predicted to the middle, so no finer face needs the forward-Euler prediction, and the flux
integral across an interface is δ_j F(Uⁿ⁺½).

Works with the numba backend (the kernels take index lists); the tendency of one level touches
only that level's faces, the edges around them and the halo the reconstruction needs
(:meth:`solver.backends.numba_backend.NumbaBackend.subset`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .kernels import lts
from .state import State
from .timestepping import SSPRK2, MusclHancock, register

DEFAULT_LEVELS = 4
"""Levels of :class:`LocalSSPRK2` by default: steps of 1, 2, 4 and 8 times the smallest."""


def capped_by_neighbours(level, face_face, k: int) -> np.ndarray:
    """``level`` (n_face,) lowered until no face is more than one level above an edge neighbour
    (``face_face`` (n_face, 3), −1 across a boundary; levels at most ``k``): a wave crossing an
    edge never meets a step more than twice as long (module docstring)."""
    has = face_face >= 0
    nb = np.maximum(face_face, 0)
    for _ in range(k):
        level = np.minimum(level, np.where(has, level[nb], k).min(axis=1) + 1)
    return level


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
        # edges across a level interface (either side): the only ones whose first-stage flux
        # is kept for the flux integrals (:func:`solver.kernels.lts.edge_integrals`)
        self.cross_edges = np.ascontiguousarray(self.edges[lo[self.edges] != hi[self.edges]])
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
    global_stepper = SSPRK2
    """The scheme of the global steps (:attr:`global_steps`) and of each level's step."""

    def __init__(
        self,
        n_face: int,
        n_levels: int = DEFAULT_LEVELS,
        margin: float = 1.1,
        regroup: float = 3600.0,
        front_rings: int = 2,
        max_slowdown: float = 1.25,
        thin: float = 10.0,
        min_saving: float = 0.2,
        step_overhead: int = 400,
    ):
        if n_levels < 1:
            raise ValueError(f"n_levels must be ≥ 1, got {n_levels}")
        self.K = n_levels - 1
        self.margin = margin
        self.regroup = regroup
        self.front_rings = front_rings
        self.max_slowdown = max_slowdown
        self.thin = thin
        self.min_saving = min_saving
        self.step_overhead = step_overhead
        self.global_steps = False
        """True while the levels would save less than ``min_saving`` of the work of global
        steps: the stepper then takes global SSP-RK2 steps (see :meth:`_worth_it`)."""
        self._global = self.global_stepper(n_face)
        self.cfl = 0.9
        self.view = State.zeros(n_face)
        self.old = State.zeros(n_face)
        self.t0 = np.zeros(n_face)
        self.wave_time = np.full(n_face, np.inf)
        self.level = None
        self._built = None  # the level array the index sets were built for
        self.levels = []
        self._epoch = None
        self._model = None
        self._fresh = False  # wave_time matches the state
        self._planned = False  # max_step chose the step and the levels for it
        self._planned_global = False  # ... and it is a global step
        self._t_next = None  # model time at the end of the last step
        self.rebuilds = 0
        self.level_steps = np.zeros(self.K + 1, dtype=np.int64)
        """Steps taken on each level (finest first), global steps counted on level 0."""
        self.face_updates = 0
        """Σ faces advanced per step (a global step advances every face)."""
        """Number of times the levels were reassigned (not necessarily changed)."""

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
        """The next step (s), inf if every face is dry. Within a regrouping interval it is
        Δ = 2^K δ with δ the largest step the current levels allow, cfl · min_i Δt_i / 2^level_i,
        while that is no more than ``max_slowdown`` times shorter than the best one,
        δ* = cfl · min_i Δt_i; otherwise (and at the first step of an interval) the levels are
        reassigned here for δ = δ*. While :attr:`global_steps`, the step is δ* itself."""
        self._bind(model)
        self.cfl = cfl
        self._wave_times(model, state)
        self._fresh = True
        best = float(self.wave_time.min())
        if not np.isfinite(best):
            return np.inf
        same = self.level is not None and self._t_next is not None and self._epoch_of(self._t_next) == self._epoch
        if same:
            if self.global_steps:
                self._planned = self._planned_global = True
                return float(cfl * best)
            held = float(np.min(self.wave_time * self._inv_pow))
            if held * self.max_slowdown >= best:
                self._planned = True
                return float(cfl * held * 2**self.K)
        self._regroup(model, state, cfl * best, same)
        self._planned = True
        self._planned_global = self.global_steps
        return float(cfl * best) if self.global_steps else float(cfl * best * 2**self.K)

    def _epoch_of(self, t):
        return int(np.floor(t / self.regroup + 1e-9))

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

    def _shoreline_band(self, model, state):
        """Faces within ``front_rings`` edge rings of the shoreline (an edge between a face with
        water deeper than ``thin`` × the model's dry depth and one with less), on both sides:
        where the shoreline moves and thin films reach speeds that no neighbour predicts. None
        without a shoreline."""
        deep = state.h > self.thin * model.dry_depth
        if deep.all() or not deep.any() or self.front_rings == 0:
            return None
        ff = model.mesh.face_face_connectivity
        has = ff >= 0
        nb = np.maximum(ff, 0)
        band = (has & (deep[nb] != deep[:, None])).any(axis=1)
        for _ in range(self.front_rings - 1):
            band = band | (has & band[nb]).any(axis=1)
        return band

    def _required(self, delta):
        """The coarsest stable level of each face for base step ``delta`` (K where dry)."""
        with np.errstate(divide="ignore"):
            required = np.floor(np.log2(self.cfl * self.wave_time / delta))
        required = np.minimum(required, self.K)  # inf (dry) -> K
        if required.min() < 0:
            raise ValueError(f"step {delta * 2**self.K:g} s exceeds the stable step of {int((required < 0).sum())} faces")
        return required

    def _regroup(self, model, state, delta, same_epoch):
        """Assign the levels for base step ``delta`` (module docstring); ``same_epoch``: within
        the regrouping interval of the current levels, where faces only move to finer levels."""
        self.rebuilds += 1
        required = self._required(delta)
        with np.errstate(divide="ignore"):
            lev = np.clip(np.floor(np.log2(self.cfl * self._assignment_times(model, state) / delta / self.margin)), 0, self.K)
        lev = np.minimum(lev, required).astype(np.int64)
        if same_epoch:
            lev = np.minimum(lev, self.level)
        band = self._shoreline_band(model, state)
        if band is not None:
            lev[band] = 0
        lev = capped_by_neighbours(lev, model.mesh.face_face_connectivity, self.K)
        if not same_epoch:
            self.global_steps = False
        changed = self.level is None or not np.array_equal(lev, self.level)
        if changed:
            self.level = lev
            self._inv_pow = 0.5**lev
        if (changed or not same_epoch) and not self.global_steps and not self._worth_it(state, model):
            self.global_steps = True  # for the rest of the interval: levels only get finer
        if not self.global_steps and self._built is not self.level:
            self._build(model)
            self._built = self.level

    def _worth_it(self, state, model) -> bool:
        """Whether the levels save at least ``min_saving`` of the work of global steps. Work per
        coarsest step, in wet-face updates: Σ_j 2^(K−j) (n_j + ``step_overhead``) over the
        populated levels (n_j: the wet faces of level j and the finer ring its first stage
        updates) against 2^K (n_wet + ``step_overhead``); dry faces cost little in either, and
        ``step_overhead`` is the fixed cost of one step's passes (Python calls, boundary
        conditions), as many face updates (400: between the 144 that the 1,280-triangle tidal
        flat of bench/lts_shoreline.py and the 677 that the 5,120-triangle one would need to
        break even, measured 14 % slower and 7 % faster with 4 levels). On Thacker's bowl nearly
        every wet face is within a factor 2 of the fastest wave (|u| dominates near the
        shoreline): its levels do not pay."""
        wet = state.h > model.dry_depth
        n_wet = int(wet.sum())
        if n_wet == 0 or self.K == 0 or self.min_saving <= 0.0:
            return True
        lev = self.level
        ff = model.mesh.face_face_connectivity
        nb_level = np.where(ff >= 0, lev[np.maximum(ff, 0)], -1)
        work = 0
        for j in range(self.K + 1):
            if not (lev == j).any():
                continue
            own = (lev == j) & wet
            ring = (lev < j) & wet & (nb_level == j).any(axis=1)
            work += 2 ** (self.K - j) * (int(own.sum() + ring.sum()) + self.step_overhead)
        return work <= (1.0 - self.min_saving) * 2**self.K * (n_wet + self.step_overhead)

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
        """(K + 1,) number of faces on each level (finest first); every face on level 0 while
        the stepper takes global steps (:attr:`global_steps`)."""
        if self.level is None:
            return np.zeros(self.K + 1, int)
        if self.global_steps:
            return np.bincount(np.zeros(self.level.size, np.int64), minlength=self.K + 1)
        return np.bincount(self.level, minlength=self.K + 1)

    # -- stepping -------------------------------------------------------------------------------
    def step(self, model, state: State, t: float, dt: float):
        """Advance every face by ``dt`` (2^K δ; δ while :attr:`global_steps`); returns the volume
        out of each segment (m³). Without :meth:`max_step` before it (a fixed step), the levels
        are assigned here: at the first step of each regrouping interval and whenever a face
        would be unstable on its level."""
        self._bind(model)
        if not self._fresh:
            self._wave_times(model, state)
        epoch = self._epoch_of(t)
        if not self._planned:
            if self.level is None or epoch != self._epoch:
                self._regroup(model, state, dt / 2**self.K, False)
            elif not self.global_steps and (self.level > self._required(dt / 2**self.K)).any():
                self._regroup(model, state, dt / 2**self.K, True)
        self._epoch = epoch
        if self.global_steps and self._planned_global:
            self.outflow = self._global.step(model, state, t, dt)
            self.level_steps[0] += 1
            self.face_updates += state.h.size
        else:
            delta = dt / 2**self.K
            if not self.global_steps and (self.level > self._required(delta)).any():  # dt longer than planned
                self._regroup(model, state, delta, True)
            self.outflow = np.zeros(model.n_segments)
            if self.global_steps:  # a step meant for the levels: 2^K global steps of δ
                for i in range(2**self.K):
                    self.outflow += self._global.step(model, state, t + i * delta, delta)
                self.level_steps[0] += 2**self.K
                self.face_updates += 2**self.K * state.h.size
            else:
                self.level_step = delta * 2.0 ** np.arange(self.K + 1)
                self._advance(model, state, self.K, t)
        self._fresh = False
        self._planned = self._planned_global = False
        self._t_next = t + dt
        return self.outflow

    def _advance(self, model, state, j, t):
        self._step_level(model, state, j, t)
        if j > 0:
            self._advance(model, state, j - 1, t)
            self._advance(model, state, j - 1, t + self.level_step[j - 1])
            lv = self.levels[j]
            if lv is not None and lv.if_edges.size:
                b = self.backend
                lts.reflux(
                    lv.if_edges,
                    lv.if_faces,
                    lv.if_left,
                    b.normal,
                    b.normal_right,
                    model.length,
                    b.inv_area,
                    self.fine_int,
                    self.own_int,
                    state.h,
                    state.hu,
                    state.hv,
                    model.dry_depth,
                )

    def _step_level(self, model, state, j, t):
        """Advance level j (if it has faces) by its step from t, counting the step."""
        lv = self.levels[j]
        if lv is None:
            return
        self.level_steps[j] += 1
        self.face_updates += lv.faces.size
        self._level_step(model, state, lv, j, t, self.level_step[j])

    def _level_step(self, model, state, lv, j, t, d):
        """The two Heun stages of level j's step of ``d`` seconds from t (module docstring)."""
        b = self.backend
        w, o = self.view, self.old
        self._gather_view(lv.first.prim_faces, j, t, False, state)
        k = b.tendency(model, w, t, lv.first, outflow=False)
        q1 = self._outflow(lv)
        friction = b.implicit_arguments(model, d)
        lts.first_stage(
            lv.faces, t, d, state.h, state.hu, state.hv, k.h, k.hu, k.hv, o.h, o.hu, o.hv, self.t0, w.h, w.hu, w.hv, *friction
        )
        lts.copy_rows(lv.cross_edges, b.flux, self.flux1)
        self._gather_view(lv.subset.prim_faces, j, t + d, True, state)
        lts.predict(lv.ring, d, state.h, state.hu, state.hv, k.h, k.hu, k.hv, w.h, w.hu, w.hv)
        k = b.tendency(model, w, t + d, lv.subset, outflow=False)
        lts.second_stage(lv.faces, d, k.h, k.hu, k.hv, w.h, w.hu, w.hv, o.h, o.hu, o.hv, state.h, state.hu, state.hv, *friction)
        lts.edge_integrals(lv.cross_edges, j, self.lo, self.hi, self.flux1, b.flux, 0.5 * d, self.fine_int, self.own_int)
        self.outflow += 0.5 * d * (q1 + self._outflow(lv))

    def _gather_view(self, faces, j, tau, skip_own, state):
        """The view of level ``j`` at time ``tau`` in the rows ``faces`` (:func:`solver.kernels.lts.gather_view`)."""
        o, w = self.old, self.view
        lts.gather_view(
            faces,
            self.level,
            j,
            tau,
            skip_own,
            state.h,
            state.hu,
            state.hv,
            o.h,
            o.hu,
            o.hv,
            self.t0,
            self.level_step,
            w.h,
            w.hu,
            w.hv,
        )

    def _outflow(self, lv):
        """Volume flux (m³ s⁻¹) out of each segment through the level's own boundary edges."""
        sub = lv.subset
        return np.bincount(
            sub.seg, weights=self.backend.flux[sub.seg_edges, 0] * sub.seg_length, minlength=self._model.n_segments
        )


@register("lts-muscl-hancock")
class LocalMusclHancock(LocalSSPRK2):
    """Local time steps (the levels, their assignment and the refluxing of :class:`LocalSSPRK2`)
    with one MUSCL–Hancock step per level step (:class:`solver.timestepping.MusclHancock`)
    instead of two Heun stages: half the reconstructions and flux evaluations.

    A level-j step from t to t + δ_j sees every face of its tendency's halo at t (coarser faces
    interpolated in time within their own step, finer ones at the start of theirs, as for the
    first Heun stage), and the predictor moves each of them, with its own limited gradients, to
    t + δ_j/2, where the fluxes are taken; the flux integral across a level interface is
    δ_j F(Uⁿ⁺½). No finer face needs predicting by a forward-Euler step, so the ring of
    :class:`LocalSSPRK2`'s first stage is not evaluated.
    """

    global_stepper = MusclHancock

    def _level_step(self, model, state, lv, j, t, d):
        """One MUSCL–Hancock step of level j, ``d`` seconds from t (class docstring)."""
        b = self.backend
        o, s = self.old, state
        self._gather_view(lv.subset.prim_faces, j, t, False, state)
        k = b.tendency(model, self.view, t, lv.subset, outflow=False, half_step=0.5 * d)
        # the first Heun stage's kernel with the state as its own view: Uⁿ⁺¹ = U + d K(Uⁿ⁺½) in place
        friction = b.implicit_arguments(model, d)
        lts.first_stage(lv.faces, t, d, s.h, s.hu, s.hv, k.h, k.hu, k.hv, o.h, o.hu, o.hv, self.t0, s.h, s.hu, s.hv, *friction)
        # ½ d (F + F) = d F exactly: the flux integral of the one step
        lts.edge_integrals(lv.cross_edges, j, self.lo, self.hi, b.flux, b.flux, 0.5 * d, self.fine_int, self.own_int)
        self.outflow += d * self._outflow(lv)
