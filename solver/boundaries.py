"""Boundary conditions, one class per kind, attached to named boundary segments.

The model gives each condition the reconstructed interior values at the midpoints of its
boundary edges (an :class:`EdgeStates`) and the edges' outward unit normals. Every condition
returns the state on the outer side of each edge from :meth:`~BoundaryCondition.ghost`; the
Riemann solver then computes the flux from the interior and ghost states, so the condition acts
through characteristics. A condition may also return the fluxes themselves from
:meth:`~BoundaryCondition.flux`, which then replace the Riemann flux on its edges (its ghost
still serves the gradients of the reconstruction). Each condition brings its own behaviour
(as ANUGA's boundary objects their ``evaluate_segment``); the backends loop over them without
knowing their types.

States are in one field order everywhere, (η, h, u, v): surface, depth, velocity components,
the columns of the numba backend's work arrays.

Model time ``t`` is seconds since the run's start. Values that vary along a segment are given at
the segment's nodes (in ``node_ids`` order) and averaged to each edge.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np


class EdgeStates:
    """Interior values at boundary-edge midpoints, each (n,): surface ``eta``, depth ``h``,
    velocity ``u``, ``v`` (the one field order) and bed elevation ``b``."""

    def __init__(self, eta, h, u, v, b):
        self.eta = eta
        self.h = h
        self.u = u
        self.v = v
        self.b = b

    @staticmethod
    def gather(rows, index, bed=None) -> EdgeStates:
        """The states of rows ``index`` of ``rows`` ((m, 4) columns η, h, u, v), read only when a
        condition asks for them; the bed ``bed`` ((n,) m), or η − h of the rows when None."""
        return GatheredEdgeStates(rows, index, bed)


class GatheredEdgeStates(EdgeStates):
    """:class:`EdgeStates` read from rows (η, h, u, v) of a work array on first access (a wall's
    :meth:`~BoundaryCondition.flux` never touches them)."""

    def __init__(self, rows, index, bed=None):  # noqa: D107 - fields are lazy
        self.rows = rows
        self.index = index
        self.bed = bed

    @cached_property
    def values(self) -> np.ndarray:
        return self.rows[self.index]

    @property
    def eta(self):
        return self.values[:, 0]

    @property
    def h(self):
        return self.values[:, 1]

    @property
    def u(self):
        return self.values[:, 2]

    @property
    def v(self):
        return self.values[:, 3]

    @property
    def b(self):
        return self.values[:, 0] - self.values[:, 1] if self.bed is None else self.bed


class BoundaryCondition:
    """Base class: a ghost state, and optionally the edge fluxes, for the edges of one segment.

    ``ghost_kernel``: the name of a compiled kernel in :data:`solver.kernels.ghosts.GHOST_KERNELS`
    that computes exactly :meth:`ghost` (the numba backend runs it over all such edges in one
    pass), or None: the backend calls :meth:`ghost`.
    """

    ghost_kernel: str | None = None

    def bind(self, edge_node_positions: np.ndarray, n_segment_nodes: int) -> None:
        """Called once by the model: (n, 2) positions of each edge's nodes within the segment."""
        self._positions = edge_node_positions
        self._n_nodes = n_segment_nodes

    def ghost(self, t, s: EdgeStates, normal, g):
        """(η, h, u, v) of the ghost states, (n,) each, from the interior ``s`` and the outward
        unit normals ``normal`` (n, 2) at model time ``t``."""
        raise NotImplementedError

    def flux(self, t, s: EdgeStates, lengths, g):
        """The fluxes through the edges, (mass out m² s⁻¹, normal momentum deviation, tangential
        momentum) (n,) each, replacing the Riemann flux; None (the default): the Riemann flux of
        the interior and ghost states."""
        return None

    def _at_edges(self, values):
        v = np.asarray(values, dtype=float)
        if v.ndim == 0:
            return np.full(self._positions.shape[0], float(v))
        if v.shape != (self._n_nodes,):
            raise ValueError(
                f"{type(self).__name__}: forcing gives {v.shape[0] if v.ndim else 1} values for a segment of {self._n_nodes} nodes"
            )
        return 0.5 * (v[self._positions[:, 0]] + v[self._positions[:, 1]])


class Wall(BoundaryCondition):
    """Impermeable, free-slip wall: the ghost mirrors the normal velocity, u_g = u − 2(u·n)n."""

    ghost_kernel = "wall"

    def ghost(self, t, s: EdgeStates, normal, g):
        un = s.u * normal[:, 0] + s.v * normal[:, 1]
        return s.eta, s.h, s.u - 2.0 * un * normal[:, 0], s.v - 2.0 * un * normal[:, 1]


class FreeOutflow(BoundaryCondition):
    """Transmissive boundary: the ghost copies the interior (zero normal gradient)."""

    def ghost(self, t, s: EdgeStates, normal, g):
        return s.eta, s.h, s.u, s.v


class TidalElevation(BoundaryCondition):
    """Prescribed (tidal) elevation η_ext(t), with Flather radiation when currents are known.

    ``elevation(t)`` → (n_segment_nodes,) m (or a number); ``velocity(t)`` → (u, v) m s⁻¹ or None.

    * With ``velocity``: the ghost is the external state (η_ext, u_ext). The Riemann solver then
      takes the incoming characteristic from outside and the outgoing one from inside, which for
      linear waves is exactly Flather's condition u_n = u_n,ext + √(g/h)(η − η_ext) (Flather 1976,
      Mém. Soc. R. Sci. Liège 10; Blayo & Debreu 2005, Ocean Modelling 9): outgoing waves leave.
    * Without: the elevation is set and the velocity taken from inside, h_g = η_ext − b,
      u_n,g = u_n (the "elevation" condition of Thetis, Kärnä et al. 2018, Geosci. Model Dev. 11,
      and ANUGA's transmissive-momentum/set-stage boundary): the elevation is imposed weakly —
      linearised, the HLL edge flux is the interior's own h u_n plus an inflow ½ c (η_ext − η),
      c = √(g h), that pulls the boundary faces to η_ext. The tangential velocity is
      a characteristic carried by the flow: copied from inside where water leaves (u_n ≥ 0) and
      taken as the external value, zero, where it enters — otherwise a jet along an open
      boundary (typically where it meets the coast) is fed by nothing and held by nothing.
      (The ghost velocity of the outgoing Riemann invariant, u_n + 2(√(g h) − √(g h_g)), is
      not used: where a face next to the boundary is drawn down it asks for an inflow of up
      to 2√(g h_g), a dam break that digs the hole it flows into; on the Channel/Biscay mesh
      at spring tide this made a 65 m/s jet and a 28 m deep hole at the St George's Channel
      boundary, docs/validation.md.)

    ``ramp``: optional r(t) ∈ [0, 1] multiplying the tide (elevation about ``mean_level`` and
    currents), so that a cold start from rest is not hit by the full tide at t = 0 (as ADCIRC's
    DRAMP); see :class:`HalfCosineRamp`.
    """

    def __init__(self, elevation, velocity=None, mean_level: float = 0.0, ramp=None):
        self.elevation = elevation
        self.velocity = velocity
        self.mean_level = mean_level
        self.ramp = ramp

    def bind(self, edge_node_positions: np.ndarray, n_segment_nodes: int) -> None:
        super().bind(edge_node_positions, n_segment_nodes)
        self._last = None

    def _factor(self, t):
        return 1.0 if self.ramp is None else float(self.ramp(t))

    def _external(self, t):
        """(η_ext, u_ext, v_ext) at the edges at model time ``t``, (n,) each (u_ext, v_ext None
        without ``velocity``). The last time's values are kept: a tendency asks twice at the
        same time (the gradients' ghosts and the fluxes'), and the harmonic sum is the cost."""
        last = getattr(self, "_last", None)
        if last is not None and last[0] == t:
            return last[1]
        e = self.elevation(t) if callable(self.elevation) else self.elevation
        r = self._factor(t)
        eta_ext = r * self._at_edges(e) + self.mean_level
        u_ext = v_ext = None
        if self.velocity is not None:
            uv = self.velocity(t) if callable(self.velocity) else self.velocity
            u_ext, v_ext = r * self._at_edges(uv[0]), r * self._at_edges(uv[1])
        for a in (eta_ext, u_ext, v_ext):
            if a is not None:
                a.setflags(write=False)  # shared by the calls at time t
        self._last = (t, (eta_ext, u_ext, v_ext))
        return eta_ext, u_ext, v_ext

    def ghost(self, t, s: EdgeStates, normal, g):
        eta_ext, u_ext, v_ext = self._external(t)
        h_g = np.maximum(eta_ext - s.b, 0.0)
        if u_ext is not None:
            return s.b + h_g, h_g, u_ext, v_ext
        nx, ny = normal[:, 0], normal[:, 1]
        un = s.u * nx + s.v * ny
        ut = np.where(un >= 0.0, -s.u * ny + s.v * nx, 0.0)
        return s.b + h_g, h_g, un * nx - ut * ny, un * ny + ut * nx


class HalfCosineRamp:
    """r(t) = ½ (1 − cos(π t / T)) for 0 ≤ t < T, 1 afterwards (0 before): a smooth start of the
    boundary forcing over ``duration`` T seconds of model time, with zero slope at both ends."""

    def __init__(self, duration: float):
        if not duration > 0.0:
            raise ValueError(f"ramp duration must be positive, got {duration}")
        self.duration = float(duration)

    def __call__(self, t: float) -> float:
        if t >= self.duration:
            return 1.0
        if t <= 0.0:
            return 0.0
        return 0.5 * (1.0 - np.cos(np.pi * t / self.duration))


class RiverDischarge(Wall):
    """A river inflow Q(t) (m³ s⁻¹, positive into the domain) imposed as a flux.

    Q is spread over the segment's edges in proportion to L_e h_e (h_e = max(h, ``min_depth``)),
    so the inflow velocity U = Q / Σ L_e h_e is uniform across the section and the volume entering
    per second is exactly Q. Normal momentum enters with it (flux U² h_e); the edge's hydrostatic
    pressure balances the interior's, as at a wall. Its ghost, for the reconstruction's gradients,
    is the wall's.
    """

    def __init__(self, discharge, min_depth: float = 0.1):
        self.discharge = discharge
        self.min_depth = min_depth

    def flux(self, t, s: EdgeStates, lengths, g):
        q = float(self.discharge(t) if callable(self.discharge) else self.discharge)
        he = np.maximum(s.h, self.min_depth)
        area = float(np.sum(lengths * he))
        U = q / area
        mass_out = -U * he
        mom_dev = U * U * he
        return mass_out, mom_dev, np.zeros_like(he)


BOUNDARY_CONDITIONS = {
    "wall": Wall,
    "free-outflow": FreeOutflow,
    "tidal-elevation": TidalElevation,
    "river-discharge": RiverDischarge,
}
"""Registry of boundary condition classes by name."""
