"""coastcast's 2D shallow-water model on unstructured triangular meshes (numpy/numba/scipy/xarray only)."""

from .boundaries import FreeOutflow, HalfCosineRamp, RiverDischarge, TidalElevation, Wall
from .mesh import BoundarySegment, Mesh, MeshError
from .model import ShallowWaterModel
from .schedules import Callback, IterationInterval, TimeInterval, WallTimeInterval
from .simulation import NumericalInstability, Simulation
from .stability import DeepWaterStep
from .state import Clock, State
from .terms import AtmosphericPressureGradient, Coriolis, ManningFriction, UniformAtmosphere, WindStress

__all__ = [
    "AtmosphericPressureGradient",
    "BoundarySegment",
    "Callback",
    "Clock",
    "Coriolis",
    "DeepWaterStep",
    "FreeOutflow",
    "HalfCosineRamp",
    "IterationInterval",
    "ManningFriction",
    "Mesh",
    "MeshError",
    "NumericalInstability",
    "RiverDischarge",
    "ShallowWaterModel",
    "Simulation",
    "State",
    "TidalElevation",
    "TimeInterval",
    "UniformAtmosphere",
    "Wall",
    "WallTimeInterval",
    "WindStress",
]
