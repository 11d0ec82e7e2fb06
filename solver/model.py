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

from dataclasses import dataclass

import numpy as np

from .boundaries import EdgeStates, Wall
from .kernels import default_backend, make_backend
from .mesh import Mesh
from .reconstruction import Reconstruction
from .riemann import RIEMANN_SOLVERS
from .state import State


@dataclass
class Tendency:
    """Time derivatives of the state, (n_face,) each, and the outward volume flux (m³ s⁻¹) per boundary segment."""

    h: np.ndarray
    hu: np.ndarray
    hv: np.ndarray
    boundary_outflow: np.ndarray


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
    backend : ``"numba"`` (compiled kernels, :mod:`solver.kernels`; the default when numba
        imports) or ``"numpy"`` (the vectorised reference). Both compute the same tendency; the
        numba one returns a :class:`Tendency` of work arrays that its next call overwrites.
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
        self._flux = RIEMANN_SOLVERS[riemann_solver]
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
            t for t in (coriolis, wind_stress, atmospheric_pressure, tidal_potential, self_attraction, internal_tide_drag) if t is not None
        ]
        self.implicit_terms = [t for t in (friction,) if t is not None]
        self.bed = -np.ascontiguousarray(mesh.face_depth, dtype=np.float64)
        self._setup_geometry()
        self._setup_boundaries(boundary_conditions or {})
        self.reconstruction = (
            None
            if limiter is None
            else Reconstruction(mesh.face_neighbour_offset, mesh.face_edge_offset, limiter, np.sqrt(mesh.face_area), mesh.face_node_connectivity)
        )
        self.backend = default_backend() if backend is None else backend
        self._kernels = make_backend(self, self.backend)

    # -- set-up -------------------------------------------------------------------------------
    def _setup_geometry(self):
        m = self.mesh
        nf = m.n_face
        ef = m.edge_face_connectivity
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
        if self._kernels is not None:
            self._kernels.wave_times(self, state, out, self.deep_water_step)
            return out
        s = self.wave_speed(state)
        wet = state.h > self.dry_depth
        out[:] = np.inf
        out[wet] = self.cfl_length[wet] / s[wet]
        if self.deep_water_step is not None:
            self.deep_water_step.relax(state.h, self.mesh.face_face_connectivity, out)
        return out

    def stable_dt(self, state: State, cfl: float) -> float:
        """Largest time step allowed by ``cfl`` (≤ 1 keeps depths non-negative in the faces the
        positivity bound applies to); inf if all dry."""
        if self._kernels is not None:
            return self._kernels.stable_dt(self, state, cfl)
        m = float(np.min(self.face_stable_times(state)))
        return cfl * m if np.isfinite(m) else np.inf

    # -- the operator ---------------------------------------------------------------------------
    def tendency(self, state: State, t: float) -> Tendency:
        """d(state)/dt at model time ``t`` (s since start)."""
        if self._kernels is not None:
            return self._kernels.tendency(self, state, t)
        g = self.gravity
        nf = self.mesh.n_face
        h = state.h
        z = self.bed
        u, v = self.velocity(state)
        eta = h + z
        wet = h > self.dry_depth
        nb = self.n_boundary_edge

        # interior values at the boundary edges (first order), then the ghosts
        bface = self.boundary_edge_slot // 3
        if self.reconstruction is not None:
            # second order: boundary-edge values come from the reconstruction below; ghosts need
            # neighbour values first, so build them from first-order values for the gradient and
            # again from the reconstructed edge values for the fluxes.
            gh = self._ghosts(t, eta[bface], h[bface], z[bface], u[bface], v[bface])
            ext = lambda q, qg: np.concatenate([q, qg])  # noqa: E731
            nbr = self.neighbour_ext
            dry_near = ~wet | ~ext(wet, gh[0] > self.dry_depth)[nbr].all(axis=1) | self.corner_faces
            rec = self.reconstruction
            eta_e = rec.edge_values(eta, ext(eta, gh[1])[nbr], dry_near)
            # depth from the limited surface over the fixed piecewise-linear bed; a face whose
            # reconstructed surface dips below the bed at an edge falls back to first order
            h_e = eta_e - self.edge_bed
            first = dry_near | (h_e < 0.0).any(axis=1)
            eta_e[first] = eta[first, None]
            h_e[first] = h[first, None]
            u_nb, v_nb = ext(u, gh[2])[nbr], ext(v, gh[3])[nbr]
            if self.neighbour_rotation is not None:  # neighbours' velocities into each face's frame
                c, s_ = self.neighbour_rotation[..., 0], self.neighbour_rotation[..., 1]
                u_nb, v_nb = c * u_nb - s_ * v_nb, s_ * u_nb + c * v_nb
            u_e = rec.edge_values(u, u_nb, first)
            v_e = rec.edge_values(v, v_nb, first)
            eta_e = eta_e.ravel()
            h_e = h_e.ravel()
            u_e = u_e.ravel()
            v_e = v_e.ravel()
            s = self.boundary_edge_slot
            z_b = eta_e[s] - h_e[s]
            gh = self._ghosts(t, eta_e[s], h_e[s], z_b, u_e[s], v_e[s])
        else:
            eta_e = np.repeat(eta, 3)
            h_e = np.repeat(h, 3)
            u_e = np.repeat(u, 3)
            v_e = np.repeat(v, 3)
            gh = self._ghosts(t, eta[bface], h[bface], z[bface], u[bface], v[bface])
        hg, etag, ug, vg = gh
        eta_x = np.concatenate([eta_e, etag])
        h_x = np.concatenate([h_e, hg])
        u_x = np.concatenate([u_e, ug])
        v_x = np.concatenate([v_e, vg])

        L, R = self.left_slot, self.right_slot
        etaL, etaR = eta_x[L], eta_x[R]
        hL, hR = h_x[L], h_x[R]
        zL, zR = etaL - hL, etaR - hR
        zs = np.maximum(zL, zR)
        hLs = np.maximum(etaL - zs, 0.0)
        hRs = np.maximum(etaR - zs, 0.0)
        nx, ny = self.normal[:, 0], self.normal[:, 1]
        rx, ry = self.normal_right[:, 0], self.normal_right[:, 1]  # each side in its own frame
        uL, vL, uR, vR = u_x[L], v_x[L], u_x[R], v_x[R]
        unL = uL * nx + vL * ny
        utL = -uL * ny + vL * nx
        unR = uR * rx + vR * ry
        utR = -uR * ry + vR * rx
        fm, fn, ft = self._flux(hLs, hRs, unL, unR, utL, utR, g)

        # flux boundary conditions replace the Riemann flux on their edges
        be = self.mesh.boundary_edges
        for bc, idx, _ in self.boundary_groups:
            if bc.kind != "flux":
                continue
            slots = self.boundary_edge_slot[idx]
            es = EdgeStates(h_e[slots], eta_e[slots], eta_e[slots] - h_e[slots], u_e[slots], v_e[slots])
            m_out, mom, tang = bc.flux(t, es, self.boundary_length[idx], g)
            e = be[idx]
            fm[e], fn[e], ft[e] = m_out, mom, tang

        dp = 0.5 * g * (hRs * hRs - hLs * hLs)
        fxL = fn * nx - ft * ny
        fyL = fn * ny + ft * nx
        fxR = fn * rx - ft * ry
        fyR = fn * ry + ft * rx
        fe = self.face_edge
        left = self.face_is_left
        Lfe = self.face_edge_length
        out_mass = np.where(left, fm[fe], -fm[fe])
        out_x = np.where(left, fxL[fe], -(fxR[fe] - dp[fe] * rx[fe]))
        out_y = np.where(left, fyL[fe], -(fyR[fe] - dp[fe] * ry[fe]))
        inv_a = 1.0 / self.area
        dh = -(Lfe * out_mass).sum(axis=1) * inv_a
        dhu = -(Lfe * out_x).sum(axis=1) * inv_a
        dhv = -(Lfe * out_y).sum(axis=1) * inv_a
        if self.reconstruction is not None:
            # centred bed-slope term of second-order hydrostatic reconstruction
            w = 0.5 * g * (h_e.reshape(nf, 3) + h[:, None]) * (eta_e.reshape(nf, 3) - eta[:, None]) * Lfe
            dhu -= (w * self.face_edge_normal_out[..., 0]).sum(axis=1) * inv_a
            dhv -= (w * self.face_edge_normal_out[..., 1]).sum(axis=1) * inv_a
        for term in self.explicit_terms:
            sx, sy = term.momentum_tendency(self, h, u, v, wet, t)
            dhu += sx
            dhv += sy
        outflow = np.bincount(
            self.boundary_segment[self.boundary_segment >= 0],
            weights=(fm[be] * self.boundary_length)[self.boundary_segment >= 0],
            minlength=self.n_segments,
        )
        return Tendency(dh, dhu, dhv, outflow)

    def _ghosts(self, t, eta_b, h_b, z_b, u_b, v_b):
        """Ghost states (h, η, u, v), (n_boundary_edge,) each, from the interior values at the
        boundary edges (the numba backend has its own, :mod:`solver.kernels.ghosts`)."""
        nb = self.n_boundary_edge
        hg = np.zeros(nb)
        etag = np.zeros(nb)
        ug = np.zeros(nb)
        vg = np.zeros(nb)
        for bc, idx, _ in self.boundary_groups:
            es = EdgeStates(h_b[idx], eta_b[idx], z_b[idx], u_b[idx], v_b[idx])
            if bc.kind == "flux":
                res = Wall().ghost(t, es, self.boundary_normal[idx], self.gravity)
            else:
                res = bc.ghost(t, es, self.boundary_normal[idx], self.gravity)
            hg[idx], etag[idx], ug[idx], vg[idx] = res
        return hg, etag, ug, vg

    def euler_stage(self, state: State, k, dt: float, out: State) -> None:
        """``out`` = ``state`` + dt ``k`` (a :class:`Tendency`), then the implicit terms: one
        forward-Euler stage of the time steppers (fused in one pass by the numba backend)."""
        if self._kernels is not None and self._kernels.fused_friction:
            self._kernels.euler_stage(self, state, k, dt, out)
            return
        np.add(state.h, dt * k.h, out=out.h)
        np.add(state.hu, dt * k.hu, out=out.hu)
        np.add(state.hv, dt * k.hv, out=out.hv)
        self.apply_implicit(out, dt)

    def apply_implicit(self, state: State, dt: float) -> None:
        """Implicit terms (friction) and the dry-face clean-up after an explicit stage."""
        if self._kernels is not None:
            self._kernels.apply_implicit(self, state, dt)
            return
        np.maximum(state.h, 0.0, out=state.h)
        for term in self.implicit_terms:
            term.implicit_update(self, state, dt)
        dry = state.h <= self.dry_depth
        state.hu[dry] = 0.0
        state.hv[dry] = 0.0
