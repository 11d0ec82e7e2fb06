"""The shallow-water model: spatial discretisation and physics, without the time loop.

Equations (depth-averaged, nonlinear; e.g. Vreugdenhil 1994, *Numerical Methods for
Shallow-Water Flow*):

    ∂h/∂t + ∇·(h**u**) = 0
    ∂(h**u**)/∂t + ∇·(h**u**⊗**u** + ½ g h² I) = −g h ∇z_b + S

with depth h, velocity **u**, bed elevation z_b = −depth and S the physics terms (friction,
Coriolis, wind stress, pressure gradient).

Discretisation (cell-centred finite volumes on triangles):

* hydrostatic reconstruction (Audusse et al. 2004, SIAM J. Sci. Comput. 25; Audusse & Bristeau
  2005, J. Comput. Phys. 206): on each edge z* = max(z_L, z_R), h*_{L,R} = max(0, η_{L,R} − z*),
  fluxes from the states (h*, h* **u**); this keeps depths non-negative and a lake at rest at rest,
  with wet/dry fronts;
* the momentum flux in deviation form (see :mod:`solver.riemann`) with the centred bed-slope
  term of second-order hydrostatic reconstruction,
  S_c,i = −(1/A_i) Σ_e L_e n_e · ½ g (h_ie + h_i)(η_ie − η_i),
  which vanishes at rest and equals −g h ∇η + ∇(½ g h²) consistently elsewhere;
* MUSCL reconstruction of η, u, v with a limiter (:mod:`solver.reconstruction`); the edge depth
  is h_ie = η_ie − z_ie over the fixed piecewise-linear bed through the nodes (continuous across
  edges); first order in faces touching dry faces or whose surface would dip below the bed at an
  edge (Liang & Marche 2009, Adv. Water Resour. 32);
* velocities u = h(hu)√2 / √(h⁴ + max(h⁴, ε⁴)) (Kurganov & Petrova 2007, Commun. Math. Sci. 5),
  momentum zeroed where h < ``dry_depth``;
* boundary conditions per named segment (:mod:`solver.boundaries`).
"""

from __future__ import annotations

import numpy as np

from .backends import default_backend, make_backend
from .boundaries import Wall
from .mesh import Mesh
from .reconstruction import Reconstruction
from .riemann import RIEMANN_SOLVERS
from .state import State, StateCheck, Tendency


class ShallowWaterModel:
    """Spatial operator of the shallow-water equations on a :class:`~solver.mesh.Mesh`.

    Parameters
    ----------
    mesh : Mesh
    boundary_conditions : dict name -> BoundaryCondition
        For the named segments of the mesh. Land and island segments and unnamed boundary edges
        default to :class:`~solver.boundaries.Wall`; every open segment must be given one.
    friction, coriolis, wind_stress, atmospheric_pressure : term objects or None (absent)
    tidal_potential, self_attraction, internal_tide_drag : the astronomical forcing, its
        self-attraction and loading, and the internal-wave drag of a global tide model
        (:mod:`solver.terms.tidal`), or None (absent)
    riemann_solver : name in :data:`solver.riemann.RIEMANN_SOLVERS`
    limiter : name in :data:`solver.reconstruction.LIMITERS`, or None for first order
    gravity : m s⁻²
    dry_depth : m; faces shallower than this carry no momentum
    backend : name in :data:`solver.backends.BACKENDS`: ``"numba"`` (compiled kernels,
        :mod:`solver.kernels`; the default when numba imports) or ``"numpy"`` (the vectorised
        reference). Both compute the same tendency; the numba one returns a
        :class:`~solver.state.Tendency` of work arrays that its next call overwrites. The
        attribute ``backend`` is the backend object (its ``name`` the name); every operator
        method below is one call to it.
    deep_water_step : :class:`~solver.stability.DeepWaterStep` or None (the positivity bound
        in every face): a longer stable step in deep water.
    """

    def __init__(
        self,
        mesh: Mesh,
        *,
        boundary_conditions=None,
        friction=None,
        coriolis=None,
        wind_stress=None,
        atmospheric_pressure=None,
        tidal_potential=None,
        self_attraction=None,
        internal_tide_drag=None,
        riemann_solver: str = "hll",
        limiter: str | None = "barth-jespersen",
        gravity: float = 9.81,
        dry_depth: float = 1e-4,
        backend: str | None = None,
        deep_water_step=None,
    ):
        if riemann_solver not in RIEMANN_SOLVERS:
            raise ValueError(f"unknown riemann_solver {riemann_solver!r}; choose one of {', '.join(RIEMANN_SOLVERS)}")
        self.mesh = mesh
        self.gravity = float(gravity)
        self.dry_depth = float(dry_depth)
        self.riemann_solver = riemann_solver
        self.limiter = limiter
        self.friction = friction
        self.coriolis = coriolis
        self.wind_stress = wind_stress
        self.atmospheric_pressure = atmospheric_pressure
        self.deep_water_step = deep_water_step
        self.tidal_potential = tidal_potential
        self.self_attraction = self_attraction
        self.internal_tide_drag = internal_tide_drag
        self.explicit_terms = [
            t
            for t in (coriolis, wind_stress, atmospheric_pressure, tidal_potential, self_attraction, internal_tide_drag)
            if t is not None
        ]
        self.implicit_terms = [t for t in (friction,) if t is not None]
        self.bed = -np.ascontiguousarray(mesh.face_depth, dtype=np.float64)
        self._setup_geometry()
        self._setup_boundaries(boundary_conditions or {})
        self.reconstruction = (
            None
            if limiter is None
            else Reconstruction(
                mesh.face_neighbour_offset, mesh.face_edge_offset, limiter, np.sqrt(mesh.face_area), mesh.face_node_connectivity
            )
        )
        self.backend = make_backend(default_backend() if backend is None else backend, self)

    # -- set-up -------------------------------------------------------------------------------
    def _setup_geometry(self):
        m = self.mesh
        nf = m.n_face
        fe = m.face_edge_connectivity
        self.area = np.ascontiguousarray(m.face_area)
        self.length = np.ascontiguousarray(m.edge_length)
        self.normal = np.ascontiguousarray(m.edge_normal)
        # the normal in the right face's frame: the same array except on the sphere
        self.normal_right = self.normal if m.edge_normal_right is m.edge_normal else np.ascontiguousarray(m.edge_normal_right)
        rot = m.face_neighbour_rotation
        self.neighbour_rotation = None if rot is None else np.ascontiguousarray(rot)
        self.face_edge = fe
        self.face_is_left = m.face_edge_sign > 0
        # local index of each edge in its left and right faces
        local = np.tile(np.arange(3), (nf, 1))
        left_slot = np.empty(m.n_edge, dtype=np.int64)
        right_slot = np.full(m.n_edge, -1, dtype=np.int64)
        flat_face = np.repeat(np.arange(nf), 3)
        flat_edge = fe.ravel()
        flat_local = local.ravel()
        isleft = self.face_is_left.ravel()
        left_slot[flat_edge[isleft]] = flat_face[isleft] * 3 + flat_local[isleft]
        right_slot[flat_edge[~isleft]] = flat_face[~isleft] * 3 + flat_local[~isleft]
        be = m.boundary_edges
        self.n_boundary_edge = be.size
        right_slot[be] = 3 * nf + np.arange(be.size)
        self.left_slot = left_slot
        self.right_slot = right_slot
        self.boundary_edge_slot = left_slot[be]
        # neighbour face (or ghost slot n_face + j) across each local edge, for gradients
        ff = m.face_face_connectivity.copy()
        bpos = np.full(m.n_edge, -1, dtype=np.int64)
        bpos[be] = np.arange(be.size)
        ghost = bpos[fe]
        ff[ff < 0] = nf + ghost[ff < 0]
        self.neighbour_ext = ff
        # faces with two or three boundary edges (a coastal corner, a sliver in an inlet) stay
        # first order: their gradient rests on mirrored ghosts only, and a wall's mirrored
        # velocity, limited against itself, feeds back (a 0.6 km inlet face off Plymouth grew to
        # 88 m/s in 6 minutes with it, 2 m/s without; tests/test_reconstruction_corners.py)
        self.corner_faces = (ff >= nf).sum(axis=1) >= 2
        self.face_edge_length = self.length[fe]
        self.face_edge_normal_out = np.ascontiguousarray(m.face_edge_outward_normal)
        self.cfl_length = np.ascontiguousarray(m.face_cfl_length)
        # bed elevation at each face's edge midpoints, (n_face, 3) m: the mean of the edge's two
        # node values, i.e. the piecewise-linear bed through the nodes, continuous across edges
        en = m.edge_node_connectivity[fe]
        self.edge_bed = np.ascontiguousarray(-0.5 * (m.depth[en[..., 0]] + m.depth[en[..., 1]]))

    def _setup_boundaries(self, conditions):
        m = self.mesh
        names = [s.name for s in m.boundaries]
        unknown = sorted(set(conditions) - set(names))
        if unknown:
            raise KeyError(
                f"boundary condition for {', '.join(map(repr, unknown))}, but the mesh has only: {', '.join(names) or 'no named boundaries'}"
            )
        missing = [s.name for s in m.boundaries if s.role == "open" and s.name not in conditions]
        if missing:
            raise ValueError(
                f"open boundary {', '.join(map(repr, missing))} has no condition; give TidalElevation, RiverDischarge, FreeOutflow or Wall"
            )
        seg = m.boundary_edge_segment
        be = m.boundary_edges
        self.boundary_groups = []  # (condition, indices into boundary-edge arrays, segment index)
        wall_idx = [np.flatnonzero(seg < 0)]
        for k, s in enumerate(m.boundaries):
            idx = np.flatnonzero(seg == k)
            bc = conditions.get(s.name)
            if bc is None:
                wall_idx.append(idx)
                continue
            if idx.size == 0:
                raise ValueError(f"boundary {s.name!r} has a condition but none of its node pairs is a boundary edge of the mesh")
            bc.bind(m.boundary_edge_positions[idx], s.node_ids.size)
            self.boundary_groups.append((bc, idx, k))
        walls = np.concatenate(wall_idx)
        if walls.size:
            self.boundary_groups.append((Wall(), walls, -1))
        self.boundary_conditions = dict(conditions)
        self.boundary_normal = self.normal[be]
        self.boundary_length = self.length[be]
        self.boundary_segment = seg
        self.n_segments = len(m.boundaries)

    # -- diagnostics --------------------------------------------------------------------------
    def initial_state(self, eta=0.0, u=0.0, v=0.0) -> State:
        """State at rest (or with uniform velocity) with free surface ``eta`` (number or (n_face,)); dry where the bed is higher."""
        h = np.maximum(np.asarray(eta, dtype=float) - self.bed, 0.0) * np.ones(self.mesh.n_face)
        return State(h, h * u, h * v)

    def velocity(self, state: State):
        """Desingularised velocities (u, v), (n_face,) each, zero in dry faces."""
        h = state.h
        eps = self.dry_depth
        h4 = h**4
        inv = np.sqrt(2.0) * h / np.sqrt(h4 + np.maximum(h4, eps**4))
        wet = h > eps
        return np.where(wet, state.hu * inv, 0.0), np.where(wet, state.hv * inv, 0.0)

    def eta(self, state: State) -> np.ndarray:
        """Free-surface elevation h + z_b, (n_face,) m."""
        return state.h + self.bed

    def volume(self, state: State) -> float:
        """Total water volume, m³."""
        return float(np.dot(self.area, state.h))

    def wave_speed(self, state: State) -> np.ndarray:
        u, v = self.velocity(state)
        return np.hypot(u, v) + np.sqrt(self.gravity * state.h)

    def face_stable_times(self, state: State, out: np.ndarray | None = None) -> np.ndarray:
        """(n_face,) largest stable step of each face at Courant number 1, s (inf where dry):
        ``cfl_length`` / (|u| + √(g h)), lengthened in deep water by ``deep_water_step``."""
        if out is None:
            out = np.empty(self.mesh.n_face)
        self.backend.wave_times(self, state, out, self.deep_water_step)
        return out

    def stable_dt(self, state: State, cfl: float) -> float:
        """Largest time step allowed by ``cfl`` (≤ 1 keeps depths non-negative in the faces the
        positivity bound applies to); inf if all dry."""
        return self.backend.stable_dt(self, state, cfl)

    def speed_check(self, state: State) -> StateCheck:
        """Non-finite faces and the highest speed of ``state`` (for the Simulation's check)."""
        return StateCheck(*self.backend.speed_check(self, state))

    # -- the operator ---------------------------------------------------------------------------
    def tendency(self, state: State, t: float, half_step: float = 0.0) -> Tendency:
        """d(state)/dt at model time ``t`` (s since start); with ``half_step`` τ > 0 the
        MUSCL–Hancock tendency, from the edge values predicted to t + τ (second order only;
        :func:`solver.kernels.reconstruct.reconstruct`)."""
        return self.backend.tendency(self, state, t, half_step=half_step)

    def euler_stage(self, state: State, k: Tendency, dt: float, out: State) -> None:
        """``out`` = ``state`` + dt ``k`` (a :class:`~solver.state.Tendency`), then the implicit
        terms: one forward-Euler stage of the time steppers (fused in one pass by the numba backend)."""
        self.backend.euler_stage(self, state, k, dt, out)

    def apply_implicit(self, state: State, dt: float) -> None:
        """Implicit terms (friction) and the dry-face clean-up after an explicit stage."""
        self.backend.apply_implicit(self, state, dt)
