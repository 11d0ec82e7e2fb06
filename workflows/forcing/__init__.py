"""Forcing of a forecast: tides at open boundaries, river discharges, atmosphere.

Modules (one concept each; import the one you need, this package imports nothing heavy):

- :mod:`workflows.forcing.tides`: harmonic constants, tidal prediction with nodal corrections
  (:mod:`workflows.forcing.astronomy`: Doodson numbers, mean longitudes, nodal formulas, checked
  against pyTMD), boundary elevation/velocity callables and the ``tidal_forcing_for_boundary``
  factory;
- :mod:`workflows.forcing.tide_formats`: readers of open-boundary harmonic tables (CSV,
  SCHISM ``bctides.in``, ADCIRC ``fort.15``, TELEMAC harmonic ``.cli``);
- :mod:`workflows.forcing.tide_atlases`: tidal atlases interpolated to boundary points (JMJ,
  FES2014/FES2022, TPXO9 netCDF);
- :mod:`workflows.forcing.rivers`: river discharge callables (constant, CSV, TELEMAC liquid
  boundary file);
- :mod:`workflows.forcing.atmosphere`: wind and pressure.

Bad forcing input raises :class:`ForcingError` (a ``ValueError``) with a one-line message naming
the file, the line or key, and the ids or coordinates concerned.
"""

from __future__ import annotations


class ForcingError(ValueError):
    """Forcing input that cannot be used; the one-line message says what and where."""


__all__ = ["ForcingError"]
