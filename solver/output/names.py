"""The variable and dimension names of the published NetCDF files, in one place.

The writers (``solver.output``, the gauge variables of ``workflows.gauge_stations``) and the
readers (the figures, the merge of segments, the skill, the web viewer) import these names;
no reader guesses among alternatives. ``fields.nc`` and ``max.nc`` share the UGRID topology
(``solver.output.ugrid``); each field exists on the nodes (``NAME``) and on the faces
(``NAME + FACE``).
"""

from __future__ import annotations

TIME = "time"
FACE = "_face"
"""Suffix of the face-located copy of a field (``zeta_face``, ``speed_max_face``, ``speed_max_time_face``)."""

# -- the UGRID topology (fields.nc, max.nc) ----------------------------------------------------
TOPOLOGY = "mesh2d"
NODE_DIM = "nMesh2_node"
FACE_DIM = "nMesh2_face"
FACE_NODES_DIM = "nMesh2_face_nodes"
NODE_X, NODE_Y = "mesh2d_node_x", "mesh2d_node_y"
FACE_X, FACE_Y = "mesh2d_face_x", "mesh2d_face_y"
FACE_NODES = "mesh2d_face_nodes"
DEPTH = "depth"
"""Still-water depth (m, positive down): per node in fields.nc/max.nc (``depth_face`` per face),
per station in stations.nc."""

# -- fields.nc ---------------------------------------------------------------------------------
ZETA = "zeta"
"""Water level above the datum (m); also the stations.nc series."""
UBAR, VBAR = "ubar", "vbar"
"""Depth-averaged velocity (m/s), eastward/northward (x/y on a Cartesian mesh)."""
WET = "wet"

# -- max.nc ------------------------------------------------------------------------------------
ZETA_MAX = "zeta_max"
SPEED_MAX = "speed_max"


def time_of(name: str) -> str:
    """The variable holding the time of a maximum: ``zeta_max`` -> ``zeta_max_time``,
    ``zeta_max_face`` -> ``zeta_max_time_face``."""
    if name.endswith(FACE):
        return name[: -len(FACE)] + "_time" + FACE
    return name + "_time"


# -- stations.nc -------------------------------------------------------------------------------
STATION_DIM = "station"
STATION_NAME = "station_name"
STATION_NAME_DIM = "name_strlen"
LON, LAT = "lon", "lat"
"""Station coordinates on a geographic mesh (``X``, ``Y`` in metres on a Cartesian one)."""
X, Y = "x", "y"
FACE_INDEX = "face_index"
U, V = "u", "v"
"""Station series of the depth-averaged velocity (m/s); the water level is ``ZETA``."""
GAUGE_ID = "gauge_id"
GAUGE_CHART_DATUM = "gauge_chart_datum"
GAUGE_DISTANCE = "gauge_distance"
MSL_ABOVE_CHART_DATUM, MSL_ABOVE_LAT = "msl_above_chart_datum", "msl_above_lat"
MHWS_ABOVE_MSL, HAT_ABOVE_MSL = "mhws_above_msl", "hat_above_msl"
GAUGE_LEVELS = (MSL_ABOVE_CHART_DATUM, MSL_ABOVE_LAT, MHWS_ABOVE_MSL, HAT_ABOVE_MSL)
"""Per-station datum levels at the tide-gauge stations (m)."""
TIDE_PREDICTION = "tide_prediction"
ZETA_ABOVE_CHART_DATUM, ZETA_ABOVE_LAT = "zeta_above_chart_datum", "zeta_above_lat"
GAUGE_SERIES = (TIDE_PREDICTION, ZETA_ABOVE_CHART_DATUM, ZETA_ABOVE_LAT)
"""Per-station series at the tide-gauge stations (m); NaN at the user's stations."""
