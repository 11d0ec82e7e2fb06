"""Model outputs: CF/UGRID field files, station time series, maxima, restart checkpoints.

Every writer follows the :class:`~solver.simulation.Simulation` writer protocol (``schedule``,
``open(sim)``, ``write(sim)``, ``close(sim)``) and writes to ``<path>.part``, renamed to ``path``
only in ``close()``, so a crash never publishes half a file.

================================  ==============  ==========================================
writer                            default file    content
================================  ==============  ==========================================
:class:`UGRIDFieldWriter`         ``fields.nc``   zeta, ubar, vbar (+ face values, wet mask)
:class:`StationWriter`            ``stations.nc`` CF ``timeSeries``: zeta, u, v at stations
:class:`MaximaWriter`             ``max.nc``      max zeta, max speed and their times
:class:`Checkpointer`             ``restart.nc``  exact h, hu, hv and the clock (hot start)
================================  ==============  ==========================================
"""

from ..locate import locate_points
from .checkpoint import Checkpointer, RestartError, load_restart, mesh_fingerprint
from .fields import UGRIDFieldWriter
from .maxima import MaximaWriter
from .nodal import NodeAverager
from .stations import StationError, StationWriter

__all__ = [
    "Checkpointer",
    "MaximaWriter",
    "NodeAverager",
    "RestartError",
    "StationError",
    "StationWriter",
    "UGRIDFieldWriter",
    "load_restart",
    "locate_points",
    "mesh_fingerprint",
]
