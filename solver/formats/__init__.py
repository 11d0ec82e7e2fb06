"""Mesh file formats: SCHISM/ADCIRC gr3 (``hgrid.gr3``, ``fort.14``), gmsh ``.msh`` (v2.2, v4.1 ASCII), UGRID NetCDF.

``read_mesh(path, crs=None) -> Mesh`` picks the reader by extension and, when that is not
conclusive, by the first bytes of the (possibly gzip-compressed) file; ``write_mesh(mesh, path)``
writes gr3 (``.gr3``, ``.grd``, ``.14``, ``fort.14``, optionally ``.gz``) or UGRID (``.nc``).

``crs``: ``None`` means "as declared": a sidecar ``FILE.crs``/``FILE.prj`` next to the mesh, the
file's own grid mapping (UGRID), otherwise lon/lat when the coordinates look like degrees (said
in the notes) and an error when they look like metres; ``"EPSG:nnnn"`` (or any pyproj input)
declares it; ``"cartesian"`` means plain metres with no geographic position (Mesh ``crs=None``).
Every reader error is a one-line :class:`MeshFileError` (a ``ValueError``) naming file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..mesh import Mesh
from ._common import MeshFileError, ReadResult, normalize_crs, read_text
from .gmsh import read_gmsh
from .gr3 import read_gr3, write_gr3
from .ugrid import read_ugrid, write_ugrid

READERS = {"gr3": read_gr3, "gmsh": read_gmsh, "ugrid": read_ugrid}
WRITERS = {"gr3": write_gr3, "ugrid": write_ugrid}
GR3_SUFFIXES = {".gr3", ".grd", ".14", ".ll"}


def _strip_gz(path: Path) -> Path:
    return path.with_suffix("") if path.suffix == ".gz" else path


def detect_format(path) -> str:
    """``"gr3"``, ``"gmsh"`` or ``"ugrid"`` from the extension, else from the file's first bytes."""
    path = Path(path)
    base = _strip_gz(path)
    suffix = base.suffix.lower()
    if suffix in GR3_SUFFIXES or base.name.lower().startswith("fort.14"):
        return "gr3"
    if suffix == ".msh":
        return "gmsh"
    if suffix in (".nc", ".nc4", ".ugrid", ".cdf"):
        return "ugrid"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:3] == b"CDF" or head[:4] == b"\x89HDF":
        return "ugrid"
    text = read_text(path)[:4096]
    if text.lstrip().startswith("$MeshFormat"):
        return "gmsh"
    lines = text.splitlines()
    if len(lines) > 2:
        parts = lines[1].split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return "gr3"
    raise MeshFileError(f"{path.name}: unknown mesh format (expected gr3/fort.14, gmsh .msh or UGRID NetCDF)")


def read_mesh_verbose(path, crs=None, fmt: str | None = None) -> ReadResult:
    """Read a mesh and return it with its format and the reader's notes (guesses, fixes)."""
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise ValueError(f"unknown mesh format {fmt!r}; use one of {', '.join(READERS)}")
    return READERS[fmt](path, crs=crs)


def read_mesh(path, crs=None) -> Mesh:
    """Read a gr3/fort.14, gmsh or UGRID mesh file (see the module docstring for ``crs``)."""
    return read_mesh_verbose(path, crs=crs).mesh


def write_mesh(mesh: Mesh, path) -> Path:
    """Write ``mesh`` as UGRID (``.nc``) or gr3 (``.gr3``/``.grd``/``fort.14``/``.14``, ``.gz`` allowed)."""
    path = Path(path)
    base = _strip_gz(path)
    if base.suffix.lower() in (".nc", ".nc4") and path.suffix != ".gz":
        return write_ugrid(mesh, path)
    if base.suffix.lower() in GR3_SUFFIXES or base.name.lower().startswith("fort.14"):
        return write_gr3(mesh, path)
    raise ValueError(f"{path.name}: cannot write this format; use .nc (UGRID) or .gr3/.gr3.gz/fort.14 (gr3)")


def mesh_differences(a: Mesh, b: Mesh) -> list[str]:
    """What differs between two meshes (coordinates, faces, depth, boundaries, crs); [] when equal.

    Floats are compared exactly: the writers store shortest round-trip text or float64.
    """
    out = []
    for attr in ("node_x", "node_y", "depth", "face_node_connectivity"):
        u, v = getattr(a, attr), getattr(b, attr)
        if u.shape != v.shape:
            out.append(f"{attr}: shape {u.shape} != {v.shape}")
        elif not np.array_equal(u, v):
            k = int(np.flatnonzero((u != v).reshape(u.shape[0], -1).any(axis=1))[0])
            out.append(f"{attr}: first difference at {k}: {u[k]} != {v[k]}")
    if len(a.boundaries) != len(b.boundaries):
        out.append(f"boundaries: {[s.name for s in a.boundaries]} != {[s.name for s in b.boundaries]}")
    else:
        for s, t in zip(a.boundaries, b.boundaries):
            if s != t:
                out.append(
                    f"boundary {s.name!r} ({s.role}, {s.node_ids.size} nodes) != {t.name!r} ({t.role}, {t.node_ids.size} nodes)"
                )
    ca = None if a.crs is None else normalize_crs(a.crs)
    cb = None if b.crs is None else normalize_crs(b.crs)
    if ca != cb:
        out.append(f"crs: {a.crs!r} != {b.crs!r}")
    return out


__all__ = [
    "MeshFileError",
    "ReadResult",
    "detect_format",
    "mesh_differences",
    "read_gmsh",
    "read_gr3",
    "read_mesh",
    "read_mesh_verbose",
    "read_ugrid",
    "write_gr3",
    "write_mesh",
    "write_ugrid",
]
