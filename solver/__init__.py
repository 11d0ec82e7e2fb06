"""coastcast's 2D shallow-water model on unstructured triangular meshes (numpy/numba/scipy/xarray only)."""
from .mesh import BoundarySegment, Mesh, MeshError

__all__ = ["BoundarySegment", "Mesh", "MeshError"]
