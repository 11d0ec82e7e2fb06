"""Which tide a forecast system gets, and why.

The best source that covers the system's open boundaries, in this order:

1. a gallery region's own forcing (its ``region.toml`` ``[tides]``: the Gironde's ``maree.cli``,
   the Western North Atlantic's ``fort.15``, the Channel/Biscay JMJ atlas) — tuned to that mesh;
2. the JMJ regional atlas (Channel and Bay of Biscay) when every open-boundary node lies in it:
   finer than the global atlas on the shelf; its missing diurnal constituents supplemented from
   the global atlas;
3. coastcast's own global atlas (:mod:`workflows.global_tides`), shipped with the package: any
   North Atlantic coast;
4. none, with the reason (a mesh without open boundaries needs no tide).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TideChoice:
    """``table``: the ``[tides]`` table of the forecast configuration (None: no tide);
    ``label``: the source in a few words; ``reason``: one sentence why."""

    table: dict | None
    label: str
    reason: str


def choose_tides(mesh, region=None) -> TideChoice:
    """The :class:`TideChoice` for ``mesh`` (a :class:`solver.mesh.Mesh`), a gallery ``region``'s
    own forcing first when given (module docstring)."""
    from .config import region_tides
    from .forcing.tide_atlases import DEFAULT_MAX_DISTANCE_KM, open_atlas
    from .forcing.tides import COASTCAST_ATLAS
    from .gallery import load_region

    if region is not None and region.tides is not None and region.tides.source != "none":
        table = region_tides(region)
        what = region.tides.atlas_file or region.tides.file
        name = what.name if what is not None else f"{region.tides.atlas} atlas"
        return TideChoice(
            table,
            f"{region.name} region's own tides ({name})",
            f"the {region.title} region ships its own tidal forcing, made for this mesh",
        )
    opens = [s for s in mesh.boundaries if s.role == "open"]
    if not opens:
        return TideChoice(None, "none", "the mesh has no open boundary, so no tide can enter")
    ids = np.unique(np.concatenate([s.node_ids for s in opens]))
    lon, lat = mesh.node_lonlat if mesh.node_lonlat is not None else (None, None)
    if lon is None:
        return TideChoice(None, "none", "the mesh has no geographic position (Cartesian), so no atlas applies")
    lon, lat = np.asarray(lon)[ids], np.asarray(lat)[ids]
    jmj_file = load_region("channel_biscay").tides.atlas_file
    _, _, inside, dist = open_atlas("jmj", jmj_file).stencil(lon, lat)
    outside = int((~inside & (dist > DEFAULT_MAX_DISTANCE_KM)).sum())
    if outside == 0:
        table = {"kind": "atlas", "model": "jmj", "path": str(jmj_file)}
        label, why = (
            "JMJ Channel/Biscay atlas",
            f"the JMJ regional atlas covers all {ids.size} open-boundary nodes and resolves the shelf better than the global atlas",
        )
        if COASTCAST_ATLAS.is_file():  # JMJ is semidiurnal only: the diurnals from the global atlas
            table["supplement"] = "coastcast"
            label, why = (
                label + " + coastcast diurnals",
                why + "; its missing diurnal tide (K1, O1, P1, Q1) comes from coastcast's global atlas",
            )
        return TideChoice(table, label, why)
    if COASTCAST_ATLAS.is_file():
        return TideChoice(
            {"kind": "atlas", "model": "coastcast"},
            "coastcast global atlas",
            f"{outside} of {ids.size} open-boundary nodes lie outside the JMJ atlas (Channel/Biscay only), "
            "so the tide comes from coastcast's own global atlas",
        )
    return TideChoice(
        None,
        "none",
        f"{outside} of {ids.size} open-boundary nodes lie outside the JMJ atlas and the coastcast "
        f"global atlas is missing ({COASTCAST_ATLAS}); rebuild it with coastcast tides build-atlas",
    )
