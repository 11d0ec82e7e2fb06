"""The Coriolis acceleration."""

from __future__ import annotations

import numpy as np

from .base import ROTATION, ExplicitTerm, KernelSource

OMEGA = 7.2921159e-5
"""Earth's rotation rate, rad s⁻¹."""


class Coriolis(ExplicitTerm):
    """Coriolis term f k × (hu): d(hu)/dt += f hv, d(hv)/dt −= f hu.

    f = 2Ω sin φ at each face's latitude on geographic or projected meshes (Gill 1982,
    *Atmosphere–Ocean Dynamics*, §4.5). On a Cartesian mesh give ``f0`` (and ``beta``, s⁻¹ m⁻¹,
    for a β-plane f = f0 + β y). Explicit; with SSP-RK2 the amplification per step is
    √(1 + (fΔt)⁴/4), negligible for fΔt ≈ 10⁻³.

    ``axis`` = (lon, lat) in degrees where the rotation axis leaves the sphere (default the
    North Pole): f = 2Ω (ĉ · â) with ĉ the face centroid's position vector, as in the rotated
    test cases of Williamson et al. 1992 (J. Comput. Phys. 102, eq. 96). The term is f times the
    velocity turned by 90° in the tangent plane, the same in any face frame.
    """

    def __init__(self, f0=None, beta=0.0, axis=None):
        self.f0 = f0
        self.beta = beta
        self.axis = axis
        self._f = None

    def parameter(self, mesh) -> np.ndarray:
        """(n_face,) Coriolis parameter in s⁻¹."""
        if self.f0 is not None:
            y = mesh.face_y if mesh.crs is None else 0.0
            return self.f0 + self.beta * (y - (mesh.face_y.mean() if mesh.crs is None else 0.0))
        ll = mesh.face_lonlat
        if ll is None:
            raise ValueError("Coriolis on a Cartesian mesh needs f0 (and optionally beta)")
        if self.axis is None:
            return 2.0 * OMEGA * np.sin(np.deg2rad(ll[1]))
        from ..geometry import unit_vectors

        return 2.0 * OMEGA * (unit_vectors(*ll) @ unit_vectors(*self.axis))

    def kernel_source(self, model) -> KernelSource:
        """f per face for the numba accumulation pass, which adds (f h v, −f h u) itself."""
        return KernelSource(ROTATION, np.ascontiguousarray(self.parameter(model.mesh), dtype=np.float64))

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        """(f h v, −f h u); h, u, v are (n_face,); the result is for ``faces`` (default all)."""
        if self._f is None:
            self._f = self.parameter(model.mesh)
        if faces is None:
            f = self._f
            return f * h * v, -f * h * u
        f = self._f[faces]
        hf = h[faces]
        return f * hf * v[faces], -f * hf * u[faces]
