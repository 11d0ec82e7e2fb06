"""A tide atlas against the real ocean: the gauge catalogue, and the JMJ atlas's deep boundary.

For every catalogue gauge within reach of the atlas (inside its triangles, or within
``max_km`` of a wet atlas node) and every constituent both hold, the complex error
|A e^{iG} − A_r e^{iG_r}| (m). Gauges fall in two groups:

* **open water** ("island and open-coast"): the atlas's own depth at the gauge is at least
  ``open_depth`` m and the gauge lies inside the atlas triangles: the model's water reaches the
  gauge, which sits on an island or an open coast the mesh resolves;
* **all**: every gauge in reach, including those in estuaries, bays and harbours a coarse mesh
  cannot resolve.

The JMJ comparison takes the JMJ atlas's Atlantic open-boundary nodes (``open_boundary_id`` 3:
deep water west of Brittany and Biscay) and compares both atlases there — the values a regional
forecast takes at its deep boundary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class AtlasComparison:
    """Per-point complex errors of an atlas against references.

    ``names``: (n,) reference names; ``lon``, ``lat``: (n,); ``constituents``: names;
    ``error``: (n, n_con) m, NaN where the reference lacks a constituent; ``atlas``, ``reference``:
    (n, n_con) complex A e^{-iG}; ``depth``: (n,) the atlas depth at the point, m; ``inside``:
    (n,) bool, inside the atlas triangles.
    """

    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    constituents: tuple
    error: np.ndarray
    atlas: np.ndarray
    reference: np.ndarray
    depth: np.ndarray
    inside: np.ndarray

    def table(self, mask=None) -> dict:
        """Constituent -> {n, median_m, p90_m} over the points in ``mask`` (default all)."""
        sel = np.ones(self.names.size, dtype=bool) if mask is None else np.asarray(mask)
        out = {}
        for k, c in enumerate(self.constituents):
            e = self.error[sel, k]
            e = e[np.isfinite(e)]
            if e.size:
                out[c] = {
                    "n": int(e.size),
                    "median_m": round(float(np.median(e)), 4),
                    "p90_m": round(float(np.percentile(e, 90)), 4),
                }
        return out


def _complex(amp, pha_deg):
    return np.asarray(amp, dtype=float) * np.exp(-1j * np.radians(np.asarray(pha_deg, dtype=float)))


def _compare(atlas, names, lon, lat, constituents, reference, max_km) -> AtlasComparison:
    """Errors at the points within reach; ``reference`` (n, n_con) complex (NaN where absent)."""
    nodes, w, inside, dist = atlas.stencil(lon, lat)
    reach = inside | (dist <= max_km)
    cons = [c for c in constituents if c in atlas.constituents]
    ic = [atlas.constituents.index(c) for c in cons]
    jc = [list(constituents).index(c) for c in cons]
    z = np.einsum("knj,nj->nk", atlas.elev[ic][:, nodes], w)
    ref = reference[:, jc]
    depth = np.einsum("nj,nj->n", _atlas_depth(atlas)[nodes], w)
    err = np.abs(z - ref)
    r = reach
    return AtlasComparison(np.asarray(names)[r], lon[r], lat[r], tuple(cons), err[r], z[r], ref[r], depth[r], inside[r])


def _atlas_depth(atlas) -> np.ndarray:
    import netCDF4

    with netCDF4.Dataset(atlas.path) as ds:
        return np.asarray(ds["depth"][:], dtype=float)


def against_gauges(atlas, catalogue=None, max_km: float = 50.0) -> AtlasComparison:
    """The atlas at every catalogue gauge within ``max_km`` of its wet nodes (module docstring)."""
    from .gauges import load_catalogue

    cat = load_catalogue() if catalogue is None else catalogue
    ref = _complex(cat.amplitude, cat.phase)
    return _compare(atlas, cat.station_id, cat.lon, cat.lat, cat.constituents, ref, max_km)


def against_jmj_boundary(atlas, jmj_path, boundary_id: int = 3) -> AtlasComparison:
    """The atlas at the JMJ atlas's open-boundary nodes ``boundary_id`` (3: the Atlantic)."""
    import netCDF4

    from .forcing.tide_atlases import JmjAtlas

    jmj = JmjAtlas.open(jmj_path)
    with netCDF4.Dataset(jmj_path) as ds:
        ob = np.asarray(ds["open_boundary_id"][:])
    sel = np.flatnonzero(ob == boundary_id)
    if sel.size == 0:
        raise ValueError(f"{jmj_path}: no node on open boundary {boundary_id}")
    ref = jmj.elev[:, sel].T
    names = np.array([f"jmj node {i + 1}" for i in sel])
    return _compare(atlas, names, jmj.lon[sel], jmj.lat[sel], jmj.constituents, ref, max_km=1e9)


def open_water(cmp: AtlasComparison, open_depth: float = 50.0) -> np.ndarray:
    """(n,) bool: gauges inside the atlas triangles where its depth is at least ``open_depth`` m."""
    return cmp.inside & (cmp.depth >= open_depth)


def cotidal_figure(atlas, path, constituent: str = "M2", bbox=(-100.0, 0.0, 40.0, 80.0), gauges: AtlasComparison | None = None):
    """Co-tidal map: amplitude (colours) and Greenwich phase lag (lines every 30°), with the
    gauges' complex errors as dots when given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    k = atlas.constituents.index(constituent)
    z = atlas.elev[k]
    lon, lat, tri = atlas.lon, atlas.lat, atlas.tri
    w, s, e, n = bbox
    keep = ((lon[tri] >= w - 5) & (lon[tri] <= e + 5) & (lat[tri] >= s - 5) & (lat[tri] <= n + 5)).all(axis=1)
    t = mtri.Triangulation(lon, lat, tri[keep])
    fig, ax = plt.subplots(figsize=(12, 8), dpi=110)
    cf = ax.tripcolor(
        t, np.abs(z), shading="gouraud", cmap="viridis", vmin=0, vmax=min(2.0, float(np.nanpercentile(np.abs(z), 99.5)))
    )
    # phase lines every 30°: contour the phase where it does not wrap (triangles whose phase
    # spans more than 180° are masked), the 0° line from the phase shifted by 180°
    ph = np.mod(-np.degrees(np.angle(z)), 360.0)
    for field, levels, width in ((ph, np.arange(30, 360, 30), 0.6), (np.mod(ph + 180.0, 360.0), [180.0], 1.4)):
        tt = mtri.Triangulation(lon, lat, tri[keep])
        tt.set_mask(np.ptp(field[tri[keep]], axis=1) > 180.0)
        ax.tricontour(tt, field, levels=levels, colors="k", linewidths=width)
    fig.colorbar(cf, ax=ax, label=f"{constituent} amplitude (m)", shrink=0.7, pad=0.02)
    if gauges is not None:
        kk = gauges.constituents.index(constituent)
        ok = np.isfinite(gauges.error[:, kk])
        sc = ax.scatter(
            gauges.lon[ok],
            gauges.lat[ok],
            c=gauges.error[ok, kk],
            s=9,
            cmap="magma_r",
            vmin=0,
            vmax=0.5,
            edgecolors="k",
            linewidths=0.2,
        )
        fig.colorbar(sc, ax=ax, label=f"{constituent} complex error at the gauges (m)", shrink=0.7, pad=0.02)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_aspect(1.3)
    ax.set_title(f"coastcast global tide atlas: {constituent} co-tidal chart (phase lines every 30°, Greenwich, bold 0°)")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def scatter_figure(gauges: AtlasComparison, path, constituent: str = "M2", open_depth: float = 50.0):
    """Atlas against gauge amplitude and phase for one constituent, open-water gauges highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = gauges.constituents.index(constituent)
    ok = np.isfinite(gauges.reference[:, k])
    ow = open_water(gauges, open_depth) & ok
    other = ok & ~ow
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 5), dpi=110)
    for m, col, lab in (
        (other, "0.6", f"other gauges ({int(other.sum())})"),
        (ow, "C3", f"open water, depth ≥ {open_depth:g} m ({int(ow.sum())})"),
    ):
        a1.scatter(np.abs(gauges.reference[m, k]), np.abs(gauges.atlas[m, k]), s=6, c=col, label=lab)
        a2.scatter(
            np.mod(-np.degrees(np.angle(gauges.reference[m, k])), 360),
            np.mod(-np.degrees(np.angle(gauges.atlas[m, k])), 360),
            s=6,
            c=col,
        )
    top = float(np.nanmax(np.abs(gauges.reference[ok, k]))) if ok.any() else 1.0
    a1.plot([0, top], [0, top], "k-", lw=0.8)
    a2.plot([0, 360], [0, 360], "k-", lw=0.8)
    a1.set(xlabel=f"gauge {constituent} amplitude (m)", ylabel=f"atlas {constituent} amplitude (m)")
    a2.set(xlabel=f"gauge {constituent} phase lag (°)", ylabel=f"atlas {constituent} phase lag (°)", xlim=(0, 360), ylim=(0, 360))
    a1.legend(fontsize=8)
    fig.suptitle(f"coastcast global tide atlas against {int(ok.sum())} tide gauges (TICON-4, NOAA)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
