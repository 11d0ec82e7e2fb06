"""The eccodes wheel ships its own PROJ; loading it through the GRIB reader must not break pyproj."""

import subprocess
import sys


def test_pyproj_still_works_after_the_grib_reader_loads_eccodes():
    code = "from workflows.forcing.grib import _eccodes; _eccodes();import pyproj; print(pyproj.CRS('EPSG:32630').name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert "UTM zone 30N" in out.stdout
