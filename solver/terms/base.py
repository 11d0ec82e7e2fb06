"""What a physics term gives the backends of :class:`solver.model.ShallowWaterModel`.

Each term brings its own behaviour (as the terms of Thetis' term registry do); the backends loop
over the model's terms without knowing their types.

* An explicit term has ``momentum_tendency(model, h, u, v, wet, t, faces=None)``, its source in
  numpy: (n_face,) x and y contributions to d(hu)/dt, d(hv)/dt in m² s⁻² (only those of the
  index array ``faces`` when given), from the primitives h, u, v and the wet flags.
* An implicit term has ``implicit_update(model, state, dt)``, applied after each explicit stage.
* Either may also offer :meth:`kernel_source`: a :class:`KernelSource`, a code from
  :data:`KERNEL_SOURCES` and the per-face data with which the numba backend computes the same
  thing inside its own face passes (no Python call, no temporary arrays). The numpy backend,
  and the numba backend for terms without one, call the numpy methods.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ROTATION = "rotation"
MANNING = "manning"

KERNEL_SOURCES = {
    ROTATION: "explicit: d(hu)/dt += f h v, d(hv)/dt -= f h u in the flux accumulation pass; data f (n_face,) s⁻¹",
    MANNING: "implicit: (hu) /= 1 + Δt g n² |u| / h^{4/3} in wet faces, fused with the dry clean-up; data n² (1,) or (n_face,) s² m^{-2/3}",
}
"""The sources the numba kernels know (:mod:`solver.kernels.update`), code -> what it computes."""


class KernelSource(NamedTuple):
    """A term's source as the numba kernels compute it: ``code`` in :data:`KERNEL_SOURCES` and its ``data``."""

    code: str
    data: np.ndarray


class ExplicitTerm:
    """Base of the explicit terms (module docstring)."""

    def momentum_tendency(self, model, h, u, v, wet, t, faces=None):
        raise NotImplementedError

    def kernel_source(self, model) -> KernelSource | None:
        """The compiled form of :meth:`momentum_tendency`, or None (the default: called in Python)."""
        return None


class ImplicitTerm:
    """Base of the implicit terms (module docstring)."""

    def implicit_update(self, model, state, dt):
        raise NotImplementedError

    def kernel_source(self, model) -> KernelSource | None:
        """The compiled form of :meth:`implicit_update`, or None (the default: called in Python)."""
        return None
