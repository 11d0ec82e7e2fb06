"""ADCIRC nodal attribute files (``fort.13``, plain or gzip-compressed): read.

Layout (ADCIRC user manual, "Nodal Attributes File (fort.13)")::

    AGRID                                  title
    NumOfNodes                             must match the mesh (fort.14)
    NAttr                                  number of attributes
    for each of NAttr attributes:          the header
        AttrName
        Units                              free text
        ValuesPerNode                      k >= 1
        DefaultAttrVal(1..k)               one line
    for each of NAttr attributes:          the values, in any order
        AttrName
        NumNodesNotDefaultVal              n
        n lines: node_id AttrVal(1..k)     1-based node ids

Every attribute comes back as a (n_node, k) float array: the listed values where a node is
listed, the default elsewhere. Errors are one-line :class:`~solver.formats.MeshFileError`\\ s
(``ValueError``) naming the file and the 1-based line: ``fort.13: line 17: ...``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._common import MeshFileError, leading_int, numeric_block, read_text, where

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class NodalAttribute:
    """One nodal attribute.

    ``values``: (n_node, k) float64, read-only; ``default``: (k,); ``n_listed``: the number of
    nodes given explicitly in the file (the others hold ``default``).
    """

    name: str
    units: str
    default: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    n_listed: int

    @property
    def values_per_node(self) -> int:
        return int(self.values.shape[1])


@dataclass(frozen=True, eq=False)
class NodalAttributes(Mapping):
    """The attributes of one fort.13, a read-only mapping name -> :class:`NodalAttribute` in file order."""

    title: str
    n_node: int
    attributes: dict = field(repr=False)

    def __getitem__(self, name) -> NodalAttribute:
        try:
            return self.attributes[name]
        except KeyError:
            raise KeyError(f"no nodal attribute {name!r}; the file has: {', '.join(self.attributes) or 'none'}") from None

    def __iter__(self):
        return iter(self.attributes)

    def __len__(self):
        return len(self.attributes)


def _readonly(a):
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def read_fort13(path, n_node: int | None = None) -> NodalAttributes:
    """Read an ADCIRC nodal attribute file (see the module docstring for the layout).

    ``n_node``: the node count of the mesh the file belongs to; a file for another node count
    raises. Raises :class:`MeshFileError` for malformed input and FileNotFoundError for a
    missing file.
    """
    path = Path(path)
    lines = read_text(path).splitlines()
    n_lines = len(lines)

    def need(pos, what):
        if pos >= n_lines:
            raise MeshFileError(f"{where(path, n_lines + 1)}the file ends before {what}")

    need(1, "the node count (line 2)")
    title = lines[0].strip()
    nn = leading_int(lines[1], path, 2, "the number of nodes")
    if nn <= 0:
        raise MeshFileError(f"{where(path, 2)}the number of nodes must be positive, found {nn}")
    if n_node is not None and nn != int(n_node):
        raise MeshFileError(f"{where(path, 2)}the file is for {nn} nodes but the mesh has {int(n_node)}")
    need(2, "the number of attributes (line 3)")
    n_attr = leading_int(lines[2], path, 3, "the number of attributes")
    if n_attr < 0:
        raise MeshFileError(f"{where(path, 3)}the number of attributes must not be negative, found {n_attr}")

    # -- header: name, units, values per node, defaults ---------------------------------------
    header = {}  # name -> (units, default (k,), 1-based line of the name)
    pos = 3
    for a in range(1, n_attr + 1):
        need(pos + 3, f"the default values of attribute {a} of {n_attr} in the header")
        name = lines[pos].strip()
        if not name:
            raise MeshFileError(f"{where(path, pos + 1)}expected the name of attribute {a}, found an empty line")
        if name in header:
            raise MeshFileError(f"{where(path, pos + 1)}attribute {name!r} is declared twice (first in line {header[name][2]})")
        units = lines[pos + 1].strip()
        k = leading_int(lines[pos + 2], path, pos + 3, f"the number of values per node of {name!r}")
        if k < 1:
            raise MeshFileError(f"{where(path, pos + 3)}attribute {name!r} must have at least one value per node, found {k}")
        default = numeric_block(lines, pos + 3, 1, k, path, f"{name!r} default")[0]
        header[name] = (units, default, pos + 1)
        pos += 4

    # -- value sections, in any order ---------------------------------------------------------
    values = {}
    for _ in range(n_attr):
        while pos < n_lines and not lines[pos].strip():
            pos += 1
        missing = [n for n in header if n not in values]
        need(pos, f"the values of {', '.join(map(repr, missing))}")
        name = lines[pos].strip()
        if name not in header:
            raise MeshFileError(
                f"{where(path, pos + 1)}values for {name[:60]!r}, which the header does not declare (declared: {', '.join(header)})"
            )
        if name in values:
            raise MeshFileError(f"{where(path, pos + 1)}a second value section for {name!r}")
        units, default, _ = header[name]
        k = default.size
        need(pos + 1, f"the number of listed nodes of {name!r}")
        count_line = pos + 2
        count = leading_int(lines[pos + 1], path, count_line, f"the number of listed nodes of {name!r}")
        if not 0 <= count <= nn:
            raise MeshFileError(f"{where(path, count_line)}{name!r} lists {count} nodes; expected 0..{nn}")
        arr = np.tile(default, (nn, 1))
        if count:
            block = numeric_block(lines, pos + 2, count, k + 1, path, f"{name!r} node", header_line=count_line)
            raw = block[:, 0]
            bad = np.flatnonzero((raw != np.round(raw)) | (raw < 1) | (raw > nn))
            if bad.size:
                j = int(bad[0])
                raise MeshFileError(f"{where(path, pos + 3 + j)}node id {raw[j]:g} of {name!r} is not an integer in 1..{nn}")
            ids = raw.astype(np.int64) - 1
            order = np.argsort(ids, kind="stable")
            dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
            if dup.size:
                j = int(order[dup[0] + 1])
                raise MeshFileError(f"{where(path, pos + 3 + j)}node {ids[j] + 1} of {name!r} is listed twice")
            bad = np.flatnonzero(~np.isfinite(block[:, 1:]).all(axis=1))
            if bad.size:
                j = int(bad[0])
                raise MeshFileError(f"{where(path, pos + 3 + j)}non-finite value for node {ids[j] + 1} of {name!r}")
            arr[ids] = block[:, 1:]
        values[name] = NodalAttribute(name, units, _readonly(default), _readonly(arr), count)
        pos += 2 + count
    rest = [i for i in range(pos, n_lines) if lines[i].strip()]
    if rest:
        log.debug("%s: ignored %d lines after the last attribute (from line %d)", path.name, len(rest), rest[0] + 1)
    attrs = {name: values[name] for name in header}
    return NodalAttributes(title, nn, attrs)


__all__ = ["NodalAttribute", "NodalAttributes", "read_fort13"]
