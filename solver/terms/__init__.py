"""Physics terms of the momentum equations, one class per term, passed to the model as keywords.

``None`` means the term is absent. An explicit term (:class:`~solver.terms.base.ExplicitTerm`)
has ``momentum_tendency(model, h, u, v, wet, t, faces=None)`` returning (n_face,) x and y
contributions to d(hu)/dt, d(hv)/dt in m² s⁻² (only those of the index array ``faces`` when
given); an implicit term (:class:`~solver.terms.base.ImplicitTerm`) has
``implicit_update(model, state, dt)`` applied after each explicit stage. Either may offer a
``kernel_source`` that the numba backend computes in its own passes (:mod:`solver.terms.base`).
"""

from .atmosphere import AtmosphereSample, AtmosphericPressureGradient, UniformAtmosphere, WindStress
from .base import ExplicitTerm, ImplicitTerm, KernelSource
from .coriolis import Coriolis
from .friction import ManningFriction, QuadraticFriction
from .tidal import InternalTideDrag, SelfAttractionLoading, TidalPotential

__all__ = [
    "AtmosphereSample",
    "AtmosphericPressureGradient",
    "Coriolis",
    "ExplicitTerm",
    "ImplicitTerm",
    "InternalTideDrag",
    "KernelSource",
    "ManningFriction",
    "QuadraticFriction",
    "SelfAttractionLoading",
    "TidalPotential",
    "UniformAtmosphere",
    "WindStress",
]
