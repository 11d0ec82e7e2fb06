"""Terms of a global barotropic tide model: the tide-generating force, self-attraction and
loading, and the drag of internal-tide generation.

All three are explicit terms (``momentum_tendency``). Momentum components are in each face's
frame: geographic east/north on regional meshes, the east/north of a rotated pole on the
whole-sphere mesh (``mesh.face_frame_angle``, the angle from geographic east to the frame's
first axis).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..geometry import EARTH_RADIUS
from .base import ExplicitTerm

log = logging.getLogger(__name__)


def _frame_angle(mesh) -> np.ndarray:
    """(n_face,) angle in rad from geographic east to each face frame's first axis.

    Zero for meshes that do not define ``face_frame_angle``; once every mesh has the attribute
    this helper reduces to ``mesh.face_frame_angle``.
    """
    angle = getattr(mesh, "face_frame_angle", None)
    return np.zeros(mesh.n_face) if angle is None else np.asarray(angle, dtype=float)


def _lonlat_rad(mesh, what: str):
    ll = mesh.face_lonlat
    if ll is None:
        raise ValueError(f"{what} needs a geographic mesh (lon/lat); this mesh is Cartesian")
    return np.deg2rad(np.asarray(ll[0], dtype=float)), np.deg2rad(np.asarray(ll[1], dtype=float))


# -- the equilibrium tide ------------------------------------------------------------------------
class EquilibriumConstituent(NamedTuple):
    """``species``: 1 diurnal, 2 semidiurnal; ``amplitude``: equilibrium amplitude A, m;
    ``love``: the elasticity factor 1 + k − h of the body tide."""

    species: int
    amplitude: float
    love: float


EQUILIBRIUM_TIDE = {
    "M2": EquilibriumConstituent(2, 0.242334, 0.693),
    "S2": EquilibriumConstituent(2, 0.112841, 0.693),
    "N2": EquilibriumConstituent(2, 0.046398, 0.693),
    "K2": EquilibriumConstituent(2, 0.030704, 0.693),
    "K1": EquilibriumConstituent(1, 0.141565, 0.736),
    "O1": EquilibriumConstituent(1, 0.100514, 0.695),
    "P1": EquilibriumConstituent(1, 0.046843, 0.706),
    "Q1": EquilibriumConstituent(1, 0.019256, 0.695),
}
"""The eight principal constituents of the degree-2 equilibrium tide.

Amplitudes from the Cartwright–Tayler–Edden expansion of the tide-generating potential as
tabulated by Reid (1990, "Tides and storm surges", *Handbook of Coastal and Ocean Engineering*,
vol. 1) and the ADCIRC user manual (fort.15 tidal potential, TPK); elasticity factors
1 + k − h from Wahr's (1981, *Geophys. J. R. astr. Soc.* 64, 677–703) body-tide Love numbers,
frequency dependent among the diurnals through the free-core-nutation resonance, as used by
ADCIRC (ETRF) and by Egbert & Erofeeva (2002, *J. Atmos. Oceanic Technol.* 19, 183–204).
A least-squares fit of one year of the degree-2 equilibrium tide computed from lunar and solar
ephemerides recovers every amplitude within 0.4 % of this table.
"""


def _species_shape(species, phi):
    """Φ_s(φ), Φ_s(φ)/cos φ and dΦ_s/dφ for species s (n_con,) at latitudes φ (n,): (n, n_con) each.

    s = 2: cos²φ, cos φ, −sin 2φ; s = 1: sin 2φ, 2 sin φ, 2 cos 2φ. The middle one is finite at
    the poles, so the eastward gradient (1/(R cos φ)) ∂/∂λ is too.
    """
    s2 = (np.asarray(species) == 2)[None, :]
    phi = phi[:, None]
    shape = np.where(s2, np.cos(phi) ** 2, np.sin(2 * phi))
    over_cos = np.where(s2, np.cos(phi), 2 * np.sin(phi))
    slope = np.where(s2, -np.sin(2 * phi), 2 * np.cos(2 * phi))
    return shape, over_cos, slope


class TidalPotential(ExplicitTerm):
    """The tide-generating force of the Moon and Sun, reduced by the elastic body tide:
    S = +g h ∇η_eq — the surface slope enters the momentum equation as −g h ∇(η − η_eq), so the
    force pushes water towards high equilibrium tide (ADCIRC's g∇(ζ − αη) term; Luettich &
    Westerink 2004) — with the equilibrium tide

        η_eq(λ, φ, t) = Σ_k (1 + k_k − h_k) f_k A_k Φ_s(φ) cos(ω_k t + V_k + u_k + s λ),

    Φ_2 = cos²φ (semidiurnal), Φ_1 = sin 2φ (diurnal), λ east longitude (Hendershott 1981, "Long
    waves and ocean tides", in *Evolution of Physical Oceanography*, MIT Press; Luettich &
    Westerink 2004, ADCIRC formulation report, §2). Amplitudes A_k and factors 1 + k − h in
    :data:`EQUILIBRIUM_TIDE`.

    ``arguments``: the run's astronomical arguments, any object with ``constituents`` (names),
    ``omega`` (rad s⁻¹), ``phase0`` (V0 + u, rad, at t = 0) and ``f`` (nodal factors), each
    (n_con,). The arguments follow Schureman's convention, whose diurnal V0 carries the ±90° of
    the sin 2δ cos H term of the potential (K1: τ + s + 90°, O1: τ − s − 90°), so every A_k is
    positive. Constituents without an equilibrium amplitude (shallow-water, long-period) are
    skipped. ``love_factor``: None for the table's 1 + k − h, a number for all constituents, or
    a mapping name -> number overriding the table for those named.

    The gradient is analytic at the face centroids, finite at the poles, rotated into each
    face's frame; per-face coefficients are computed once, so a call costs O(n_con n_face).
    """

    def __init__(self, arguments, love_factor=None):
        names = [str(c).upper() for c in arguments.constituents]
        keep = [i for i, c in enumerate(names) if c in EQUILIBRIUM_TIDE]
        skipped = [c for c in names if c not in EQUILIBRIUM_TIDE]
        if not keep:
            raise ValueError(
                f"none of the constituents {', '.join(names) or '(none)'} has an equilibrium tide; "
                f"the tidal potential knows {', '.join(EQUILIBRIUM_TIDE)}"
            )
        if skipped:
            log.info("tidal potential: no equilibrium tide for %s, skipped", ", ".join(skipped))
        self.constituents = tuple(names[i] for i in keep)
        table = [EQUILIBRIUM_TIDE[c] for c in self.constituents]
        if love_factor is None:
            love = [e.love for e in table]
        elif isinstance(love_factor, Mapping):
            upper = {str(k).upper(): float(v) for k, v in love_factor.items()}
            love = [upper.get(c, e.love) for c, e in zip(self.constituents, table)]
        else:
            love = [float(love_factor)] * len(table)
        self.species = np.array([e.species for e in table])
        """(n_con,) 1 diurnal, 2 semidiurnal."""
        self.omega = np.asarray(arguments.omega, dtype=float)[keep]
        """(n_con,) rad s⁻¹."""
        self.phase0 = np.asarray(arguments.phase0, dtype=float)[keep]
        """(n_con,) rad, V0 + u at t = 0."""
        self.amplitude = np.array(love) * np.asarray(arguments.f, dtype=float)[keep] * np.array([e.amplitude for e in table])
        """(n_con,) m: (1 + k − h) f A."""
        self._mesh = None
        self._coef = None

    def _arguments(self, t):
        """[cos χ, sin χ], (2 n_con,), χ = ω t + phase0."""
        chi = self.omega * float(t) + self.phase0
        return np.concatenate([np.cos(chi), np.sin(chi)])

    def elevation(self, lon, lat, t) -> np.ndarray:
        """η_eq in m at points ``lon``, ``lat`` (degrees, (n,)) and model time(s) ``t`` (s since
        the run start): (n,) for a scalar t, (n_t, n) for (n_t,) times."""
        lam = np.deg2rad(np.atleast_1d(np.asarray(lon, dtype=float)))
        phi = np.deg2rad(np.atleast_1d(np.asarray(lat, dtype=float)))
        shape, _, _ = _species_shape(self.species, phi)
        basis = self.amplitude * shape * np.exp(1j * self.species * lam[:, None])  # (n, n_con)
        chi = np.multiply.outer(np.asarray(t, dtype=float), self.omega) + self.phase0
        return np.real(np.exp(1j * chi) @ basis.T)

    def face_coefficients(self, mesh) -> np.ndarray:
        """(2 n_con, 2, n_face) real: ∇η_eq in the face frames is [cos χ, sin χ] · coef, m m⁻¹.

        Laid out so that a call is one vector–matrix product over contiguous rows."""
        if self._mesh is not mesh:
            lam, phi = _lonlat_rad(mesh, "the tidal potential")
            _, over_cos, slope = _species_shape(self.species, phi)
            wave = (self.amplitude / EARTH_RADIUS) * np.exp(1j * self.species * lam[:, None])  # (n_face, n_con)
            east = 1j * self.species * over_cos * wave
            north = slope * wave
            a = _frame_angle(mesh)[:, None]
            c, s = np.cos(a), np.sin(a)
            gu = c * east + s * north
            gv = -s * east + c * north
            n = self.species.size
            coef = np.empty((2 * n, 2, mesh.n_face))
            coef[:n, 0], coef[n:, 0] = gu.real.T, -gu.imag.T
            coef[:n, 1], coef[n:, 1] = gv.real.T, -gv.imag.T
            self._coef = coef
            self._mesh = mesh
        return self._coef

    def gradient(self, mesh, t, faces=None):
        """(∂η_eq/∂x, ∂η_eq/∂y) in the face frames, m m⁻¹, for ``faces`` (default all)."""
        coef = self.face_coefficients(mesh)
        if faces is not None:
            coef = coef[:, :, faces]
        g = (self._arguments(t) @ coef.reshape(coef.shape[0], -1)).reshape(2, -1)
        return g[0], g[1]

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """+g h ∇η_eq in wet faces; h, u, v, wet are (n_face,); the result is for ``faces`` (default all)."""
        gx, gy = self.gradient(model.mesh, t, faces)
        hf, w = (h, wet) if faces is None else (h[faces], wet[faces])
        k = np.where(w, model.gravity * hf, 0.0)
        return k * gx, k * gy


# -- self-attraction and loading -------------------------------------------------------------------
def _unit_vectors(lon_deg, lat_deg) -> np.ndarray:
    lam, phi = np.deg2rad(lon_deg), np.deg2rad(lat_deg)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def face_neighbour_pairs(mesh):
    """(face, neighbour) index arrays, (n_pair,) each: every pair of distinct faces sharing a node."""
    import scipy.sparse as sp  # here, not at import: 0.1 s of every process's start-up

    nf = mesh.n_face
    incidence = sp.csr_matrix(
        (np.ones(3 * nf), (np.repeat(np.arange(nf), 3), mesh.face_node_connectivity.ravel())), shape=(nf, mesh.n_node)
    )
    share = (incidence @ incidence.T).tocoo()
    off = share.row != share.col
    return share.row[off].astype(np.int64), share.col[off].astype(np.int64)


def face_gradient_matrices(mesh):
    """(Gx, Gy), sparse (n_face, n_face): the least-squares gradient of a face field in each face's
    frame, ∇q_f ≈ (Gx @ q, Gy @ q)[f], in units of q per metre.

    Each face fits q_n − q_f = ∇q_f · d_n over the faces n sharing a node with it (about 12),
    weighted by 1/|d_n|² (the weighted least-squares gradient of unstructured finite volumes,
    e.g. Blazek 2015, *Computational Fluid Dynamics: Principles and Applications*, 3rd ed.);
    exact for linear fields, boundary faces included. Offsets
    d_n between centroids are in metres: on lon/lat meshes the chord between the centroids'
    points on the sphere of radius R, in the face frame's axes (east and north rotated by
    ``face_frame_angle``); on other meshes the coordinate differences. A face whose neighbours
    all lie on one line gets zero gradient.
    """
    import scipy.sparse as sp  # here, not at import: 0.1 s of every process's start-up

    nf = mesh.n_face
    fi, ni = face_neighbour_pairs(mesh)
    if mesh.is_geographic:
        lon, lat = (np.asarray(c, dtype=float) for c in mesh.face_lonlat)
        centre = _unit_vectors(lon, lat)
        lam, phi = np.deg2rad(lon), np.deg2rad(lat)
        east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
        north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], axis=-1)
        a = _frame_angle(mesh)[:, None]
        axis1 = np.cos(a) * east + np.sin(a) * north
        axis2 = -np.sin(a) * east + np.cos(a) * north
        chord = EARTH_RADIUS * (centre[ni] - centre[fi])
        dx = np.einsum("ij,ij->i", chord, axis1[fi])
        dy = np.einsum("ij,ij->i", chord, axis2[fi])
    else:
        x, y = np.asarray(mesh.face_x, dtype=float), np.asarray(mesh.face_y, dtype=float)
        dx, dy = x[ni] - x[fi], y[ni] - y[fi]
    w = 1.0 / (dx * dx + dy * dy)
    mxx = np.bincount(fi, w * dx * dx, nf)
    myy = np.bincount(fi, w * dy * dy, nf)
    mxy = np.bincount(fi, w * dx * dy, nf)
    det = mxx * myy - mxy * mxy
    ok = det > 1e-9 * (mxx + myy) ** 2
    if not ok.all():
        log.debug("least-squares gradient: %d faces with collinear neighbours get zero gradient", int((~ok).sum()))
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    cx = w * inv[fi] * (myy[fi] * dx - mxy[fi] * dy)
    cy = w * inv[fi] * (mxx[fi] * dy - mxy[fi] * dx)
    rows = np.concatenate([fi, np.arange(nf)])
    cols = np.concatenate([ni, np.arange(nf)])
    gx = sp.csr_matrix((np.concatenate([cx, -np.bincount(fi, cx, nf)]), (rows, cols)), shape=(nf, nf))
    gy = sp.csr_matrix((np.concatenate([cy, -np.bincount(fi, cy, nf)]), (rows, cols)), shape=(nf, nf))
    return gx, gy


class SelfAttractionLoading(ExplicitTerm):
    """Ocean self-attraction and loading in the scalar approximation η_SAL = β η (Accad &
    Pekeris 1978, *Phil. Trans. R. Soc. Lond. A* 290, 235–266; Ray 1998, *Marine Geodesy* 21,
    181–192): the momentum source S = +g h β ∇η, i.e. gravity reduced to g(1 − β) for the
    surface slope.

    ``beta``: dimensionless, the fraction of the surface elevation felt as extra geopotential.
    The default 0.085 is the lower end of the range 0.085–0.12 discussed by Ray (1998) for the
    scalar approximation (the best value depends on the constituent and on the region the fit
    weights); it can only be a compromise, since the true SAL is a convolution of the global tide.

    ∇η of the face values η = h + z_b is the least-squares gradient over the faces sharing a
    node with each face (:func:`face_gradient_matrices`, built once as two sparse matrices):
    exact for a linear surface, and on the ADCIRC global mesh within 1.4 % of the analytic
    gradient of the equilibrium tide in 99 % of the faces (2.5 % at most), where the gradient of
    node values averaged from the faces around each node is 7 % off in the median face and 63 %
    in the 99th percentile (coastal nodes with one or two faces). Faces whose stencil holds a
    dry face get no SAL: their surface gradient is not defined by water alone, and SAL matters
    in the deep ocean.
    """

    def __init__(self, beta=0.085):
        self.beta = float(beta)
        self._mesh = None
        self._ops = None

    def _operators(self, mesh):
        if self._mesh is not mesh:
            gx, gy = face_gradient_matrices(mesh)
            stencil = gx.copy()  # every (face, neighbour) pair and the diagonal are stored entries
            stencil.data[:] = 1.0
            self._ops = (gx, gy, stencil)
            self._mesh = mesh
        return self._ops

    def surface_gradient(self, model, h, wet, faces=None):
        """(∂η/∂x, ∂η/∂y) in the face frames for ``faces`` (default all), zero where a face of the
        stencil is dry; h, wet are (n_face,)."""
        gx, gy, stencil = self._operators(model.mesh)
        if faces is not None:
            gx, gy, stencil = gx[faces], gy[faces], stencil[faces]
        eta = h + model.bed
        dry = ~np.asarray(wet, dtype=bool)
        if dry.any():
            eta = np.where(dry, 0.0, eta)
            clean = (stencil @ dry.astype(float)) == 0.0
            return np.where(clean, gx @ eta, 0.0), np.where(clean, gy @ eta, 0.0)
        return gx @ eta, gy @ eta

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """+g h β ∇η in wet faces; h, u, v, wet are (n_face,); the result is for ``faces`` (default all)."""
        gx, gy = self.surface_gradient(model, h, wet, faces)
        hf, w = (h, wet) if faces is None else (h[faces], wet[faces])
        k = np.where(w, model.gravity * self.beta * hf, 0.0)
        return k * gx, k * gy


# -- internal-tide drag ----------------------------------------------------------------------------
class InternalTideDrag(ExplicitTerm):
    """Linear drag of barotropic-to-baroclinic conversion over rough topography,
    d(hu)/dt = −h F·u = −F·(hu), with F a symmetric positive semi-definite tensor in s⁻¹.

    The parameterisation of Jayne & St. Laurent (2001, *Geophys. Res. Lett.* 28, 811–814) and
    Arbic et al. (2004, *Deep-Sea Res. II* 51, 3069–3101), in the directional form of ADCIRC
    (Pringle et al. 2021, *Geosci. Model Dev.* 14, 1125–1145, "Global storm tide modeling with
    ADCIRC v55: unstructured mesh design and performance"): F ∝ ∇H ∇Hᵀ, rank one along the
    topographic gradient, scaled by the buoyancy frequency at the sea floor; ADCIRC reads it per
    node from the fort.13 attribute ``internal_tide_friction`` (columns xx, yy, xy).

    ``fxx``, ``fyy``, ``fxy``: (n_face,) tensor components in s⁻¹ in geographic east/north,
    rotated on first use into each face's frame, F' = R F Rᵀ with R = [[cos a, sin a],
    [−sin a, cos a]]. :meth:`from_nodes` averages per-node values onto faces.

    Explicit: on the ADCIRC global mesh the largest eigenvalue of F (xx + yy for the rank-one
    tensor) is 7.7 × 10⁻⁵ s⁻¹ at the nodes and 5.4 × 10⁻⁵ s⁻¹ on the faces, so F Δt ≤ 0.04 for
    Δt ≤ 720 s (the fort.15 step), fifty times inside the forward-Euler and SSP-RK2 bound
    F Δt ≤ 2, and the drag is resolved in time (see :attr:`max_rate`).
    """

    def __init__(self, fxx, fyy, fxy):
        self.fxx = np.asarray(fxx, dtype=float)
        self.fyy = np.asarray(fyy, dtype=float)
        self.fxy = np.asarray(fxy, dtype=float)
        if not (self.fxx.shape == self.fyy.shape == self.fxy.shape) or self.fxx.ndim != 1:
            raise ValueError(
                f"fxx, fyy, fxy must be (n_face,) arrays of one size, got {self.fxx.shape}, {self.fyy.shape}, {self.fxy.shape}"
            )
        self._mesh = None
        self._frame = None

    @classmethod
    def from_nodes(cls, mesh, tensor) -> InternalTideDrag:
        """From per-node components ``tensor`` (n_node, 3): xx, yy, xy in s⁻¹ (fort.13
        ``internal_tide_friction``), each face taking the mean of its three nodes."""
        tensor = np.asarray(tensor, dtype=float)
        if tensor.shape != (mesh.n_node, 3):
            raise ValueError(f"the internal tide friction tensor must be (n_node, 3) = ({mesh.n_node}, 3), got {tensor.shape}")
        per_face = tensor[mesh.face_node_connectivity].mean(axis=1)
        return cls(per_face[:, 0], per_face[:, 1], per_face[:, 2])

    @property
    def max_rate(self) -> float:
        """The largest eigenvalue of F over all faces, s⁻¹; the explicit step must keep max_rate Δt ≤ 2."""
        half_trace = 0.5 * (self.fxx + self.fyy)
        radius = np.hypot(0.5 * (self.fxx - self.fyy), self.fxy)
        return float((half_trace + radius).max()) if self.fxx.size else 0.0

    def frame_tensor(self, mesh):
        """(F'xx, F'yy, F'xy), (n_face,) each: the tensor in each face's frame."""
        if self.fxx.size != mesh.n_face:
            raise ValueError(f"the internal tide drag has {self.fxx.size} faces but the mesh has {mesh.n_face}")
        if self._mesh is not mesh:
            a = _frame_angle(mesh)
            c, s = np.cos(a), np.sin(a)
            xx, yy, xy = self.fxx, self.fyy, self.fxy
            # R F Rᵀ, R = [[c, s], [-s, c]]
            rxx = c * c * xx + 2 * c * s * xy + s * s * yy
            ryy = s * s * xx - 2 * c * s * xy + c * c * yy
            rxy = (c * c - s * s) * xy + c * s * (yy - xx)
            self._frame = (rxx, ryy, rxy)
            self._mesh = mesh
        return self._frame

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """−F·(hu) in wet faces; h, u, v, wet are (n_face,); the result is for ``faces`` (default all)."""
        fxx, fyy, fxy = self.frame_tensor(model.mesh)
        if faces is not None:
            fxx, fyy, fxy = fxx[faces], fyy[faces], fxy[faces]
            h, u, v, wet = h[faces], u[faces], v[faces], wet[faces]
        hu = np.where(wet, h * u, 0.0)
        hv = np.where(wet, h * v, 0.0)
        return -(fxx * hu + fxy * hv), -(fxy * hu + fyy * hv)


__all__ = [
    "EQUILIBRIUM_TIDE",
    "EquilibriumConstituent",
    "InternalTideDrag",
    "SelfAttractionLoading",
    "TidalPotential",
    "face_gradient_matrices",
    "face_neighbour_pairs",
]
