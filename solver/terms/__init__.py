"""Physics terms of the momentum equations, one class per term, passed to the model as keywords.

``None`` means the term is absent. An explicit term has ``momentum_tendency(model, h, u, v, wet, t, faces=None)``
returning (n_face,) x and y contributions to d(hu)/dt, d(hv)/dt in m² s⁻² (only those of the
index array ``faces`` when given); an implicit term has
``implicit_update(model, state, dt)`` applied after each explicit stage.
"""
from .atmosphere import AtmosphereSample, AtmosphericPressureGradient, UniformAtmosphere, WindStress
from .coriolis import Coriolis
from .friction import ManningFriction, QuadraticFriction
from .tidal import InternalTideDrag, SelfAttractionLoading, TidalPotential

__all__ = [
    "AtmosphereSample",
    "AtmosphericPressureGradient",
    "Coriolis",
    "InternalTideDrag",
    "ManningFriction",
    "QuadraticFriction",
    "SelfAttractionLoading",
    "TidalPotential",
    "UniformAtmosphere",
    "WindStress",
]
