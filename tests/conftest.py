"""Test-session set-up shared by every test module."""
import pyproj

# The eccodes wheel (GRIB tests) bundles its own PROJ library. Whichever PROJ is loaded first
# serves the process: if eccodes comes first, every later pyproj CRS fails ("no database context
# specified") and the interpreter can crash at exit. Opening a CRS here, before any test module
# imports eccodes, binds pyproj's own PROJ (workflows.forcing.grib does the same at run time).
pyproj.CRS.from_epsg(4326)
