"""The numpy backend of :class:`solver.model.ShallowWaterModel`: the vectorised reference.

Whole-mesh array expressions in the order of the scheme (the model's module docstring): ghost
states from first-order values, the limited reconstruction, ghost states from the reconstructed
boundary-edge values, hydrostatic reconstruction and the Riemann fluxes, the boundary
conditions' own fluxes, accumulation with the centred bed-slope term, and the explicit terms'
``momentum_tendency``. Slower than the numba backend and allocating, but short enough to read
against the equations; :mod:`tests.test_kernels` compares the two to round-off.
"""

from __future__ import annotations

import numpy as np

from ..boundaries import EdgeStates
from ..riemann import RIEMANN_SOLVERS
from ..state import State, Tendency
from ..terms.base import ROTATION
from .registry import register


@register("numpy")
class NumpyBackend:
    """The reference backend; holds no work arrays (every call allocates its results)."""

    def __init__(self, model):
        self.riemann_flux = RIEMANN_SOLVERS[model.riemann_solver]
        self.bface = model.boundary_edge_slot // 3

    def local_steps_unsupported(self) -> str | None:
        """Why local time stepping cannot run on this backend (it needs index-subset kernels)."""
        return "needs the numba backend (ShallowWaterModel(..., backend='numba'))"

    # -- time-step bounds ---------------------------------------------------------------------
    def wave_times(self, model, state: State, out: np.ndarray, deep_water_step=None) -> None:
        """``out`` (n_face,) = ``cfl_length`` / (|u| + √(g h)) (inf where dry), lengthened in deep
        water by ``deep_water_step`` (a DeepWaterStep or None)."""
        s = model.wave_speed(state)
        wet = state.h > model.dry_depth
        out[:] = np.inf
        out[wet] = model.cfl_length[wet] / s[wet]
        if deep_water_step is not None:
            deep_water_step.relax(state.h, model.mesh.face_face_connectivity, out)

    def stable_dt(self, model, state: State, cfl: float) -> float:
        m = float(np.min(model.face_stable_times(state)))
        return cfl * m if np.isfinite(m) else np.inf

    def speed_check(self, model, state: State):
        """(number of faces with a non-finite variable, the first of them or -1, the face of the
        highest speed among the finite ones, that speed in m s⁻¹)."""
        ok = state.is_finite()
        bad = np.flatnonzero(~ok)
        u, v = model.velocity(state)
        speed = np.where(ok, np.hypot(u, v), -np.inf)
        i = int(np.argmax(speed)) if speed.size else -1
        return int(bad.size), int(bad[0]) if bad.size else -1, i, float(speed[i]) if speed.size else 0.0

    # -- the operator ---------------------------------------------------------------------------
    def ghosts(self, model, t, eta_b, h_b, u_b, v_b, z_b):
        """Ghost states (η, h, u, v), (n_boundary_edge,) each, from the interior values at the
        boundary edges: each boundary condition's ``ghost`` on its own edges."""
        nb = model.n_boundary_edge
        etag = np.zeros(nb)
        hg = np.zeros(nb)
        ug = np.zeros(nb)
        vg = np.zeros(nb)
        for bc, idx, _ in model.boundary_groups:
            es = EdgeStates(eta_b[idx], h_b[idx], u_b[idx], v_b[idx], z_b[idx])
            etag[idx], hg[idx], ug[idx], vg[idx] = bc.ghost(t, es, model.boundary_normal[idx], model.gravity)
        return etag, hg, ug, vg

    def tendency(self, model, state: State, t: float, half_step: float = 0.0) -> Tendency:
        """d(state)/dt at model time ``t`` (s since start); with ``half_step`` τ > 0 and a
        reconstruction, the MUSCL–Hancock tendency (:meth:`hancock`)."""
        g = model.gravity
        nf = model.mesh.n_face
        h = state.h
        z = model.bed
        u, v = model.velocity(state)
        eta = h + z
        wet = h > model.dry_depth

        # interior values at the boundary edges (first order), then the ghosts
        bface = self.bface
        if model.reconstruction is not None:
            # second order: boundary-edge values come from the reconstruction below; ghosts need
            # neighbour values first, so build them from first-order values for the gradient and
            # again from the reconstructed edge values for the fluxes.
            gh = self.ghosts(model, t, eta[bface], h[bface], u[bface], v[bface], z[bface])
            ext = lambda q, qg: np.concatenate([q, qg])  # noqa: E731
            nbr = model.neighbour_ext
            dry_near = ~wet | ~ext(wet, gh[1] > model.dry_depth)[nbr].all(axis=1) | model.corner_faces
            rec = model.reconstruction
            eta_e = rec.edge_values(eta, ext(eta, gh[0])[nbr], dry_near)
            # depth from the limited surface over the fixed piecewise-linear bed; a face whose
            # reconstructed surface dips below the bed at an edge falls back to first order
            h_e = eta_e - model.edge_bed
            first = dry_near | (h_e < 0.0).any(axis=1)
            eta_e[first] = eta[first, None]
            h_e[first] = h[first, None]
            u_nb, v_nb = ext(u, gh[2])[nbr], ext(v, gh[3])[nbr]
            if model.neighbour_rotation is not None:  # neighbours' velocities into each face's frame
                c, s_ = model.neighbour_rotation[..., 0], model.neighbour_rotation[..., 1]
                u_nb, v_nb = c * u_nb - s_ * v_nb, s_ * u_nb + c * v_nb
            u_e = rec.edge_values(u, u_nb, first)
            v_e = rec.edge_values(v, v_nb, first)
            h_c = h
            if half_step > 0.0:
                eta_e, h_e, u_e, v_e, eta, h_c, u, v = self.hancock(model, half_step, first, eta_e, h_e, u_e, v_e, eta, h, u, v)
                t = t + half_step
            eta_e = eta_e.ravel()
            h_e = h_e.ravel()
            u_e = u_e.ravel()
            v_e = v_e.ravel()
            s = model.boundary_edge_slot
            gh = self.ghosts(model, t, eta_e[s], h_e[s], u_e[s], v_e[s], eta_e[s] - h_e[s])
        else:
            eta_e = np.repeat(eta, 3)
            h_e = np.repeat(h, 3)
            u_e = np.repeat(u, 3)
            v_e = np.repeat(v, 3)
            gh = self.ghosts(model, t, eta[bface], h[bface], u[bface], v[bface], z[bface])
        etag, hg, ug, vg = gh
        eta_x = np.concatenate([eta_e, etag])
        h_x = np.concatenate([h_e, hg])
        u_x = np.concatenate([u_e, ug])
        v_x = np.concatenate([v_e, vg])

        L, R = model.left_slot, model.right_slot
        etaL, etaR = eta_x[L], eta_x[R]
        hL, hR = h_x[L], h_x[R]
        zL, zR = etaL - hL, etaR - hR
        zs = np.maximum(zL, zR)
        hLs = np.maximum(etaL - zs, 0.0)
        hRs = np.maximum(etaR - zs, 0.0)
        nx, ny = model.normal[:, 0], model.normal[:, 1]
        rx, ry = model.normal_right[:, 0], model.normal_right[:, 1]  # each side in its own frame
        uL, vL, uR, vR = u_x[L], v_x[L], u_x[R], v_x[R]
        unL = uL * nx + vL * ny
        utL = -uL * ny + vL * nx
        unR = uR * rx + vR * ry
        utR = -uR * ry + vR * rx
        fm, fn, ft = self.riemann_flux(hLs, hRs, unL, unR, utL, utR, g)

        # a boundary condition's own fluxes replace the Riemann flux on its edges
        be = model.mesh.boundary_edges
        for bc, idx, _ in model.boundary_groups:
            slots = model.boundary_edge_slot[idx]
            es = EdgeStates(eta_e[slots], h_e[slots], u_e[slots], v_e[slots], eta_e[slots] - h_e[slots])
            imposed = bc.flux(t, es, model.boundary_length[idx], g)
            if imposed is not None:
                e = be[idx]
                fm[e], fn[e], ft[e] = imposed

        dp = 0.5 * g * (hRs * hRs - hLs * hLs)
        fxL = fn * nx - ft * ny
        fyL = fn * ny + ft * nx
        fxR = fn * rx - ft * ry
        fyR = fn * ry + ft * rx
        fe = model.face_edge
        left = model.face_is_left
        Lfe = model.face_edge_length
        out_mass = np.where(left, fm[fe], -fm[fe])
        out_x = np.where(left, fxL[fe], -(fxR[fe] - dp[fe] * rx[fe]))
        out_y = np.where(left, fyL[fe], -(fyR[fe] - dp[fe] * ry[fe]))
        inv_a = 1.0 / model.area
        dh = -(Lfe * out_mass).sum(axis=1) * inv_a
        dhu = -(Lfe * out_x).sum(axis=1) * inv_a
        dhv = -(Lfe * out_y).sum(axis=1) * inv_a
        if model.reconstruction is not None:
            # centred bed-slope term of second-order hydrostatic reconstruction
            w = 0.5 * g * (h_e.reshape(nf, 3) + h_c[:, None]) * (eta_e.reshape(nf, 3) - eta[:, None]) * Lfe
            dhu -= (w * model.face_edge_normal_out[..., 0]).sum(axis=1) * inv_a
            dhv -= (w * model.face_edge_normal_out[..., 1]).sum(axis=1) * inv_a
        h_t = h_c if model.reconstruction is not None else h
        for term in model.explicit_terms:
            sx, sy = term.momentum_tendency(model, h_t, u, v, wet, t)
            dhu += sx
            dhv += sy
        on_segment = model.boundary_segment >= 0
        outflow = np.bincount(
            model.boundary_segment[on_segment], weights=(fm[be] * model.boundary_length)[on_segment], minlength=model.n_segments
        )
        return Tendency(dh, dhu, dhv, outflow)

    @staticmethod
    def hancock(model, tau, first, eta_e, h_e, u_e, v_e, eta, h, u, v):
        """The MUSCL–Hancock predictor (:func:`solver.kernels.reconstruct.reconstruct`, whose
        docstring gives the equations): edge values (n_face, 3) and face values (n_face,) moved
        to t + ``tau`` where the face is second order (not ``first``) and the predicted edge
        depths stay non-negative; the other faces take their face values at every edge.
        Returns (η_e, h_e, u_e, v_e, η, h, u, v)."""
        L = model.face_edge_length / model.area[:, None]
        nx = model.face_edge_normal_out[..., 0]
        ny = model.face_edge_normal_out[..., 1]
        div = (L * h_e * (u_e * nx + v_e * ny)).sum(axis=1)
        ex, ey = (L * eta_e * nx).sum(axis=1), (L * eta_e * ny).sum(axis=1)
        ux, uy = (L * u_e * nx).sum(axis=1), (L * u_e * ny).sum(axis=1)
        vx, vy = (L * v_e * nx).sum(axis=1), (L * v_e * ny).sum(axis=1)
        du = -(u * ux + v * uy) - model.gravity * ex
        dv = -(u * vx + v * vy) - model.gravity * ey
        for term in model.explicit_terms:
            src = term.kernel_source(model)
            if src is not None and src.code == ROTATION:
                du = du + src.data * v
                dv = dv - src.data * u
        de = -tau * div
        du = tau * du
        dv = tau * dv
        keep = first | ((h_e + de[:, None]) < 0.0).any(axis=1)
        de[keep] = du[keep] = dv[keep] = 0.0
        eta_e = np.where(keep[:, None], eta[:, None], eta_e + de[:, None])
        h_e = np.where(keep[:, None], h[:, None], h_e + de[:, None])
        u_e = np.where(keep[:, None], u[:, None], u_e + du[:, None])
        v_e = np.where(keep[:, None], v[:, None], v_e + dv[:, None])
        return eta_e, h_e, u_e, v_e, eta + de, h + de, u + du, v + dv

    # -- stages -------------------------------------------------------------------------------
    def euler_stage(self, model, state: State, k: Tendency, dt: float, out: State) -> None:
        """``out`` = ``state`` + dt ``k``, then the implicit terms."""
        np.add(state.h, dt * k.h, out=out.h)
        np.add(state.hu, dt * k.hu, out=out.hu)
        np.add(state.hv, dt * k.hv, out=out.hv)
        self.apply_implicit(model, out, dt)

    def apply_implicit(self, model, state: State, dt: float) -> None:
        """Depth clipped at zero, the implicit terms, the momentum of dry faces zeroed."""
        np.maximum(state.h, 0.0, out=state.h)
        for term in model.implicit_terms:
            term.implicit_update(model, state, dt)
        dry = state.h <= model.dry_depth
        state.hu[dry] = 0.0
        state.hv[dry] = 0.0
