"""The vertical datum of a mesh's depths, and their conversion to mean sea level.

The solver measures depths below mean sea level (MSL), the level about which tides oscillate
and which an η = 0 state at rest is. Hydrographic bathymetry is often below *chart datum*
(CD): the French *zéro hydrographique* and the UK Admiralty chart datum are close to the lowest
astronomical tide (LAT), several metres below MSL where the tide is large (5–7 m in the Gulf of
Saint-Malo, 3–4 m at Brest and Plymouth, a few decimetres in the deep ocean). A tidal model run
on CD depths is too shallow in exactly the places where the tide is large: its waves are slower
and its friction (∝ 1/h) stronger.

:class:`VerticalDatum` says what the depths of a mesh are referenced to and how far MSL lies
above that datum, so that ``depth_MSL = depth + z0``:

* ``datum = "msl"`` (default): depths are already below MSL; ``z0 = 0``;
* ``datum = "chart"`` with ``msl_above_datum`` a number: a constant ``z0`` (m);
* ``datum = "chart"`` with ``msl_above_datum = "atlas"``: at every node ``z0 = Σ_k A_k``, the
  sum of the tidal-atlas amplitudes of all the atlas's constituents. LAT is the lowest level the
  astronomical tide reaches, ≈ MSL − Σ_k A_k when every constituent is at its trough at once
  (Pugh & Woodworth 2014, *Sea-Level Science*, Cambridge University Press: tidal datums and
  LAT), so this is MSL − LAT computed from the constituents the atlas has (with M2, S2, N2 and
  M4 it misses the diurnal ones, ≈ 0.1–0.2 m on the European shelf).

A region's ``region.toml`` declares its datum in ``[bathymetry]``; a forecast configuration
may override it with its own ``[bathymetry]`` table (same keys).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .keys import check_keys

log = logging.getLogger(__name__)

DATUMS = ("msl", "chart")
KEYS = ("datum", "msl_above_datum", "atlas_model", "atlas_file")


class DatumError(ValueError):
    """A [bathymetry] table that cannot be used; one line naming the key."""


@dataclass(frozen=True)
class VerticalDatum:
    """What a mesh's depths are referenced to (module docstring).

    ``datum``: ``"msl"`` or ``"chart"``. ``msl_above_datum``: metres (a number) or ``"atlas"``
    (sum of the atlas amplitudes per node; then ``atlas_model`` — ``jmj``, ``fes`` or ``tpxo`` —
    and ``atlas_file`` are needed).
    """

    datum: str = "msl"
    msl_above_datum: float | str = 0.0
    atlas_model: str | None = None
    atlas_file: Path | None = None

    def __post_init__(self):
        if self.datum not in DATUMS:
            raise DatumError(f"[bathymetry] datum {self.datum!r} is not one of {', '.join(map(repr, DATUMS))}")
        z = self.msl_above_datum
        if isinstance(z, str):
            if z != "atlas":
                raise DatumError(f'[bathymetry] msl_above_datum must be a number of metres or "atlas", got {z!r}')
            if self.atlas_model is None or self.atlas_file is None:
                raise DatumError('[bathymetry] msl_above_datum = "atlas" needs atlas_model (jmj, fes, tpxo) and atlas_file')
        elif not isinstance(z, (int, float)) or isinstance(z, bool) or not np.isfinite(z) or not (0.0 <= z <= 20.0):
            raise DatumError(f"[bathymetry] msl_above_datum must be between 0 and 20 m, got {z!r}")
        if self.datum == "msl" and z != 0.0:
            raise DatumError('[bathymetry] msl_above_datum needs datum = "chart" (depths below MSL need no offset)')

    @classmethod
    def from_mapping(cls, table: Mapping, base_dir=".", where: str = "[bathymetry]") -> VerticalDatum:
        check_keys(table, KEYS, where, DatumError)
        atlas_file = table.get("atlas_file")
        if atlas_file is not None:
            atlas_file = Path(atlas_file)
            if not atlas_file.is_absolute():
                atlas_file = (Path(base_dir) / atlas_file).resolve()
        try:
            return cls(
                datum=table.get("datum", "msl"),
                msl_above_datum=table.get("msl_above_datum", 0.0),
                atlas_model=table.get("atlas_model"),
                atlas_file=atlas_file,
            )
        except DatumError as exc:
            raise DatumError(str(exc).replace("[bathymetry]", where, 1)) from None

    @property
    def shifts(self) -> bool:
        return self.datum != "msl" and self.msl_above_datum != 0.0

    def msl_above_datum_at(self, lon, lat) -> np.ndarray:
        """(n,) metres of MSL above the depth datum at the points ``lon``, ``lat`` (degrees)."""
        lon = np.asarray(lon, dtype=float)
        if not self.shifts:
            return np.zeros(lon.shape)
        if self.msl_above_datum != "atlas":
            return np.full(lon.shape, float(self.msl_above_datum))
        from .forcing.tide_atlases import open_atlas

        consts = open_atlas(self.atlas_model, self.atlas_file).interpolate(lon, np.asarray(lat, dtype=float))
        return np.asarray(consts.amplitude, dtype=float).sum(axis=0)

    def describe(self) -> str:
        if not self.shifts:
            return "depths below mean sea level"
        if self.msl_above_datum == "atlas":
            return f"depths below chart datum, MSL above it = sum of the {self.atlas_model} atlas amplitudes ({Path(self.atlas_file).name})"
        return f"depths below chart datum, MSL {float(self.msl_above_datum):g} m above it"


def to_mean_sea_level(mesh, datum: VerticalDatum):
    """``mesh`` with its depths below mean sea level (the same mesh when they already are).

    Needs node longitudes/latitudes for ``msl_above_datum = "atlas"``.
    """
    if not datum.shifts:
        return mesh
    ll = mesh.node_lonlat
    if ll is None and datum.msl_above_datum == "atlas":
        raise DatumError('[bathymetry] msl_above_datum = "atlas" needs a mesh with a geographic or projected CRS')
    lon, lat = ll if ll is not None else (mesh.node_x, mesh.node_y)
    z0 = datum.msl_above_datum_at(lon, lat)
    if not np.all(np.isfinite(z0)):
        raise DatumError(
            f"[bathymetry] the atlas gives no amplitude at {int((~np.isfinite(z0)).sum())} nodes; give a constant msl_above_datum"
        )
    log.info("bathymetry: %s; MSL %.2f..%.2f m above it (median %.2f m)", datum.describe(), z0.min(), z0.max(), np.median(z0))
    return mesh.with_depth(mesh.depth + z0)
