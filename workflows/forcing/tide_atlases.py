"""Tidal atlases interpolated to arbitrary points (open-boundary nodes, tide gauges).

All atlases interpolate the complex amplitude ``A exp(-iG)`` (G the Greenwich phase lag), not
amplitude and phase separately, so phases wrap correctly and amphidromes are not smeared. Points
that fall outside the atlas (or in a cell with land corners) take the value of the nearest wet
atlas node, up to ``max_distance_km`` (default 30 km) away; farther points raise
:class:`~workflows.forcing.tides.TideInputError` naming the point and its coordinates.

- :class:`JmjAtlas`: the JMJ Channel/Biscay atlas (LNH/EDF, J.-M. Janin 1992) as shipped in
  ``meshes/channel_biscay/jmj_channel_biscay_tides.nc``: unstructured (``lon``, ``lat``, ``tri``
  0-based), ``constituent``, ``elev_amp``/``elev_phase`` (m, deg), ``u_amp``/``u_phase``,
  ``v_amp``/``v_phase`` (m/s, deg), all (ncon, node). Linear interpolation on the atlas's own
  triangles (barycentric weights from matplotlib's trifinder).
- :class:`FesAtlas`: FES2014/FES2022 NetCDF, one file per constituent (``m2.nc``,
  ``m2_fes2022.nc``; ``lon``, ``lat``, ``amplitude``, ``phase`` (lat, lon)). Amplitudes are in
  **cm** in both products (read from the ``units`` attribute; cm assumed when absent).
  Optional current directories hold FES2014 ``eastward_velocity``/``northward_velocity`` files
  (``Ua``/``Ug``, ``Va``/``Vg``, **cm/s**).
- :class:`TpxoAtlas`: TPXO9 netCDF. Either TPXO9-atlas files ``h_<con>_tpxo9_atlas_30_v5.nc``
  (one constituent each: ``con``, ``lon_z`` (nx), ``lat_z`` (ny), ``hRe``/``hIm`` (nx, ny) in
  **mm**; ``A exp(-iG) = hRe + i hIm``) or a TPXO9 ``h_tpxo9.v1.nc`` file (all constituents:
  ``con`` (nc, 4), ``lon_z``/``lat_z``, ``ha`` (nc, nx, ny) in **m**, ``hp`` in degrees). Units
  are taken from the ``units`` attribute when present. Elevations only: TPXO currents are
  transports that need the model's own bathymetry.

Their licences forbid shipping FES and TPXO; they are read from a configured data directory.
Bilinear interpolation on the regular grids, periodic in longitude for global grids.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .harmonics import (
    COASTCAST_ATLAS,
    HarmonicConstituents,
    TideInputError,
    canonical_constituent,
    constituent_frequency,
)

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0
DEFAULT_MAX_DISTANCE_KM = 30.0


def _km_xyz(lon, lat) -> np.ndarray:
    """(n, 3) points on a sphere of the Earth's radius (km), for nearest-neighbour queries."""
    lo, la = np.radians(lon), np.radians(lat)
    return EARTH_RADIUS_KM * np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def _nearest(valid_lon, valid_lat, lon, lat, max_km, source, what="atlas node"):
    """Index into the valid nodes of the nearest one for each point; raises beyond max_km."""
    from scipy.spatial import cKDTree

    if valid_lon.size == 0:
        raise TideInputError(
            f"{source}: no wet {what}s near the points (lon {lon.min():.3f}..{lon.max():.3f}, "
            f"lat {lat.min():.3f}..{lat.max():.3f})"
        )
    dist, idx = cKDTree(_km_xyz(valid_lon, valid_lat)).query(_km_xyz(lon, lat))
    far = dist > max_km
    if far.any():
        i = int(np.argmax(dist))
        raise TideInputError(
            f"{source}: {int(far.sum())} point(s) lie outside the atlas, e.g. point {i} at ({lon[i]:.4f}, "
            f"{lat[i]:.4f}) is {dist[i]:.0f} km from the nearest wet {what} (limit {max_km:g} km)"
        )
    return idx, dist


def _check_points(lon, lat, source):
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    if lon.shape != lat.shape or lon.size == 0:
        raise TideInputError(f"{source}: {lon.size} longitudes for {lat.size} latitudes")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90))
    if bad.any():
        i = int(np.argmax(bad))
        raise TideInputError(f"{source}: point {i} ({lon[i]}, {lat[i]}) is not a lon/lat position")
    return lon, lat


def _selected(available, constituents, source) -> list[str]:
    if constituents is None:
        return list(available)
    wanted = [canonical_constituent(c) for c in constituents]
    missing = [c for c in wanted if c not in available]
    if missing:
        raise TideInputError(f"{source}: constituent(s) {', '.join(missing)} not in the atlas (it has {', '.join(available)})")
    return wanted


def _constants(cons, elev, lon, lat, source, u=None, v=None) -> HarmonicConstituents:
    """HarmonicConstituents from complex (n_con, n_point) arrays ``A exp(-iG)``."""

    def ap(z):
        return np.abs(z), np.mod(-np.degrees(np.angle(z)), 360.0)

    kw = {}
    if u is not None and v is not None:
        (ua, up), (va, vp) = ap(u), ap(v)
        kw = dict(u_amplitude=ua, u_phase=up, v_amplitude=va, v_phase=vp)
    a, p = ap(elev)
    return HarmonicConstituents(tuple(cons), a, p, lon, lat, source=source, **kw)


# --------------------------------------------------------------------------------------------
# JMJ (unstructured)


@dataclass(frozen=True, eq=False)
class JmjAtlas:
    """A harmonic atlas on triangles — the JMJ atlas, or coastcast's own global atlas
    (:mod:`workflows.global_tides`), written in the same layout: ``elev``, ``u``, ``v``
    (n_con, n_node) complex ``A exp(-iG)`` (m, m/s) on nodes ``lon``/``lat`` (n_node,) with
    triangles ``tri`` (n_tri, 3) 0-based. ``label`` names it in forcing records."""

    path: Path
    constituents: tuple[str, ...]
    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    tri: np.ndarray = field(repr=False)
    elev: np.ndarray = field(repr=False)
    u: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM
    label: str = "JMJ atlas"

    @classmethod
    def open(cls, path, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM, label: str = "JMJ atlas") -> JmjAtlas:
        import netCDF4

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        try:
            ds = netCDF4.Dataset(path)
        except OSError as exc:
            raise TideInputError(f"{path.name}: not a NetCDF file ({exc})") from None
        with ds:
            need = ("lon", "lat", "tri", "constituent", "elev_amp", "elev_phase", "u_amp", "u_phase", "v_amp", "v_phase")
            missing = [v for v in need if v not in ds.variables]
            if missing:
                raise TideInputError(f"{path.name}: missing variable(s) {', '.join(missing)}")
            lon = np.asarray(ds["lon"][:], dtype=float)
            lat = np.asarray(ds["lat"][:], dtype=float)
            tri = np.asarray(ds["tri"][:], dtype=np.int64)
            if getattr(ds["tri"], "start_index", 0) == 1:
                tri = tri - 1
            cons = tuple(canonical_constituent(c) for c in netCDF4.chartostring(ds["constituent"][:]))
            fields = {}
            for key, scale in (
                ("elev", {"m": 1.0, "meter": 1.0, "metre": 1.0, "cm": 0.01, "mm": 1e-3}),
                ("u", {"m s-1": 1.0, "m/s": 1.0, "cm s-1": 0.01, "cm/s": 0.01}),
                ("v", {"m s-1": 1.0, "m/s": 1.0, "cm s-1": 0.01, "cm/s": 0.01}),
            ):
                amp_var, pha_var = ds[f"{key}_amp"], ds[f"{key}_phase"]
                unit = str(getattr(amp_var, "units", "")).strip()
                if unit not in scale:
                    raise TideInputError(f"{path.name}: {key}_amp has units {unit!r}, expected one of {', '.join(scale)}")
                amp = np.ma.filled(amp_var[:].astype(float), np.nan) * scale[unit]
                pha = np.ma.filled(pha_var[:].astype(float), np.nan)
                if amp.shape != (len(cons), lon.size) or pha.shape != amp.shape:
                    raise TideInputError(f"{path.name}: {key}_amp has shape {amp.shape}, expected ({len(cons)}, {lon.size})")
                fields[key] = amp * np.exp(-1j * np.radians(pha))
        if tri.ndim != 2 or tri.shape[1] != 3 or tri.min() < 0 or tri.max() >= lon.size:
            raise TideInputError(f"{path.name}: tri is not (n_tri, 3) with node ids in 0..{lon.size - 1}")
        return cls(path, cons, lon, lat, tri, fields["elev"], fields["u"], fields["v"], max_distance_km, label)

    @functools.cached_property
    def _trifinder(self):
        import matplotlib.tri as mtri

        return mtri.Triangulation(self.lon, self.lat, self.tri).get_trifinder()

    def stencil(self, lon, lat):
        """Like :meth:`weights` but never raising: (nodes (n, 3), weights (n, 3), inside (n,)
        bool: in a triangle, distance_km (n,): to the nearest wet node (0 inside))."""
        from scipy.spatial import cKDTree

        lon, lat = _check_points(lon, lat, self.path.name)
        it = np.asarray(self._trifinder(lon, lat))
        inside = it >= 0
        nodes = np.zeros((lon.size, 3), dtype=np.int64)
        w = np.zeros((lon.size, 3))
        dist = np.zeros(lon.size)
        if inside.any():
            nodes[inside], w[inside] = self.weights(lon[inside], lat[inside])
        if (~inside).any():
            valid = np.flatnonzero(np.isfinite(self.elev).all(axis=0))
            d, idx = cKDTree(_km_xyz(self.lon[valid], self.lat[valid])).query(_km_xyz(lon[~inside], lat[~inside]))
            nodes[~inside, 0] = valid[idx]
            w[~inside, 0] = 1.0
            dist[~inside] = d
        return nodes, w, inside, dist

    def weights(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Linear interpolation stencil: node ids (n, 3) and barycentric weights (n, 3); points
        outside the triangles get their nearest node with weight 1."""
        lon, lat = _check_points(lon, lat, self.path.name)
        it = np.asarray(self._trifinder(lon, lat))
        nodes = np.zeros((lon.size, 3), dtype=np.int64)
        w = np.zeros((lon.size, 3))
        inside = it >= 0
        if inside.any():
            t = self.tri[it[inside]]
            x0, y0 = self.lon[t[:, 0]], self.lat[t[:, 0]]
            d1x, d1y = self.lon[t[:, 1]] - x0, self.lat[t[:, 1]] - y0
            d2x, d2y = self.lon[t[:, 2]] - x0, self.lat[t[:, 2]] - y0
            px, py = lon[inside] - x0, lat[inside] - y0
            det = d1x * d2y - d2x * d1y
            l1 = (px * d2y - d2x * py) / det
            l2 = (d1x * py - px * d1y) / det
            nodes[inside] = t
            w[inside] = np.c_[1 - l1 - l2, l1, l2]
        out = ~inside
        if out.any():
            valid = np.flatnonzero(np.isfinite(self.elev).all(axis=0))
            idx, dist = _nearest(self.lon[valid], self.lat[valid], lon[out], lat[out], self.max_distance_km, self.path.name)
            nodes[out, 0] = valid[idx]
            w[out, 0] = 1.0
            log.info(
                "%s: %d point(s) outside the atlas triangles take the nearest node (up to %.1f km)",
                self.path.name,
                int(out.sum()),
                float(dist.max()),
            )
        return nodes, w

    def interpolate(self, lon, lat, constituents=None) -> HarmonicConstituents:
        """Elevation and current constants at points ``lon``/``lat`` (n,) degrees."""
        lon, lat = _check_points(lon, lat, self.path.name)
        cons = _selected(self.constituents, constituents, self.path.name)
        ic = [self.constituents.index(c) for c in cons]
        nodes, w = self.weights(lon, lat)

        def at(z):
            return np.einsum("knj,nj->kn", z[ic][:, nodes], w)

        return _constants(cons, at(self.elev), lon, lat, f"{self.label} {self.path.name}", at(self.u), at(self.v))


# --------------------------------------------------------------------------------------------
# regular grids (FES, TPXO)

_SCALE = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "cm": 0.01,
    "centimeter": 0.01,
    "centimeters": 0.01,
    "mm": 1e-3,
    "millimeter": 1e-3,
    "millimeters": 1e-3,
    "m/s": 1.0,
    "m s-1": 1.0,
    "m.s-1": 1.0,
    "cm/s": 0.01,
    "cm s-1": 0.01,
    "cm.s-1": 0.01,
}


def _unit_scale(var, default: str, name: str, velocity: bool = False) -> float:
    unit = str(getattr(var, "units", "")).strip()
    if not unit:
        log.info("%s: variable %s has no units attribute; using the product convention %s", name, var.name, default)
        unit = default
    key = unit.lower()
    if key not in _SCALE or (("/s" in key or "s-1" in key) != velocity):
        kind = "velocity (cm/s, m/s)" if velocity else "length (cm, mm, m)"
        raise TideInputError(f"{name}: variable {var.name} has units {unit!r}, expected a {kind}")
    return _SCALE[key]


@dataclass(frozen=True, eq=False)
class _Grid:
    """A constituent field on a regular lon/lat grid: ``z`` (ny, nx) complex with NaN on land."""

    lon: np.ndarray
    lat: np.ndarray
    z: np.ndarray
    periodic: bool


def _read_grid(ds, var_re, var_im, lon_name, lat_name, points_lat, name, scale, polar=False) -> _Grid:
    """Reads a lat band of a gridded complex field. ``var_re``/``var_im`` are netCDF4 variables;
    when ``polar`` they are amplitude and phase (deg) instead of real and imaginary parts."""
    lonv, latv = ds[lon_name], ds[lat_name]
    lon = np.asarray(lonv[:], dtype=float)
    lat = np.asarray(latv[:], dtype=float)
    if lon.ndim == 2:  # old OTIS netCDF: lon_z(nx, ny), lat_z(nx, ny)
        lon, lat = lon[:, 0], lat[0, :]
    dims = var_re.dimensions
    lat_dim = latv.dimensions[-1] if latv.ndim == 2 else latv.dimensions[0]
    lon_dim = lonv.dimensions[0]
    if lat_dim not in dims or lon_dim not in dims:
        raise TideInputError(f"{name}: {var_re.name} has dimensions {dims}, not ({lat_dim}, {lon_dim})")
    ascending = lat[-1] > lat[0]
    lat_s = lat if ascending else lat[::-1]
    lo = max(int(np.searchsorted(lat_s, points_lat.min() - 1.0)) - 1, 0)
    hi = min(int(np.searchsorted(lat_s, points_lat.max() + 1.0)) + 1, lat.size)
    if not ascending:
        lo, hi = lat.size - hi, lat.size - lo
    index = [slice(None)] * len(dims)
    index[dims.index(lat_dim)] = slice(lo, hi)

    def band(var):
        a = np.ma.filled(np.ma.asarray(var[tuple(index)]).astype(float), np.nan)
        if dims.index(lat_dim) > dims.index(lon_dim):
            a = a.T
        return a

    r, i = band(var_re), band(var_im)
    if polar:
        bad = (r == 0) & (i == 0)
        z = r * scale * np.exp(-1j * np.radians(i))
    else:
        bad = (r == 0) & (i == 0)
        z = (r + 1j * i) * scale
    z[bad | ~np.isfinite(z)] = np.nan
    lat_b = lat[lo:hi]
    if not ascending:
        lat_b, z = lat_b[::-1], z[::-1]
    order = np.argsort(lon)
    lon, z = lon[order], z[:, order]
    dlon = np.median(np.diff(lon)) if lon.size > 1 else 360.0
    periodic = abs(lon[-1] - lon[0] + dlon - 360.0) < 0.5 * dlon
    return _Grid(lon, lat_b, z, periodic)


def _interp_grid(g: _Grid, lon, lat, max_km, name) -> np.ndarray:
    """Bilinear interpolation of complex values; nearest wet cell where a corner is land."""
    x = lon.copy()
    glon, z = g.lon, g.z
    if g.periodic:
        x = glon[0] + np.mod(x - glon[0], 360.0)
        glon = np.r_[glon, glon[0] + 360.0]
        z = np.c_[z, z[:, :1]]
    else:
        for shift in (-360.0, 360.0):  # 0..360 grid with -180..180 points or the reverse
            moved = (x < glon[0]) | (x > glon[-1])
            x[moved & (glon[0] <= x + shift) & (x + shift <= glon[-1])] += shift
    out = np.full(x.size, np.nan + 0j)
    ix = np.searchsorted(glon, x) - 1
    iy = np.searchsorted(g.lat, lat) - 1
    ok = (ix >= 0) & (ix < glon.size - 1) & (iy >= 0) & (iy < g.lat.size - 1)
    if ok.any():
        i0, j0 = ix[ok], iy[ok]
        tx = (x[ok] - glon[i0]) / (glon[i0 + 1] - glon[i0])
        ty = (lat[ok] - g.lat[j0]) / (g.lat[j0 + 1] - g.lat[j0])
        val = (
            z[j0, i0] * (1 - tx) * (1 - ty)
            + z[j0, i0 + 1] * tx * (1 - ty)
            + z[j0 + 1, i0] * (1 - tx) * ty
            + z[j0 + 1, i0 + 1] * tx * ty
        )
        out[ok] = val
    miss = ~np.isfinite(out)
    if miss.any():
        jj, ii = np.nonzero(np.isfinite(z))
        idx, dist = _nearest(glon[ii], g.lat[jj], x[miss], lat[miss], max_km, name, "grid cell")
        out[miss] = z[jj[idx], ii[idx]]
        log.info(
            "%s: %d point(s) near land or outside the grid take the nearest wet cell (up to %.1f km)",
            name,
            int(miss.sum()),
            float(dist.max()),
        )
    return out


def _open_nc(path: Path):
    import netCDF4

    try:
        return netCDF4.Dataset(path)
    except OSError as exc:
        raise TideInputError(f"{path.name}: not a NetCDF file ({exc})") from None


def _need(ds, names, path):
    missing = [v for v in names if v not in ds.variables]
    if missing:
        raise TideInputError(f"{path.name}: missing variable(s) {', '.join(missing)}")


def _constituent_files(directory: Path, pattern: re.Pattern, what: str) -> dict[str, Path]:
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory ({what})")
    found = {}
    for p in sorted(directory.iterdir()):
        m = pattern.match(p.name)
        if m:
            found.setdefault(canonical_constituent(m.group(1)), p)
    return found


def _known(cons: dict[str, Path], constituents, source) -> list[str]:
    """Constituents to read: the requested ones (all must exist) or every file whose constituent
    :mod:`workflows.forcing.astronomy` knows."""
    if constituents is not None:
        return _selected(tuple(cons), constituents, source)
    out = []
    for c in cons:
        try:
            constituent_frequency([c])
            out.append(c)
        except TideInputError:
            log.debug("%s: skipping %s (not a constituent coastcast predicts)", source, c)
    return out


@dataclass(frozen=True, eq=False)
class FesAtlas:
    """FES2014/FES2022 elevations from ``directory`` (one NetCDF per constituent), optionally
    currents from ``u_directory``/``v_directory`` (FES2014 eastward/northward velocity files)."""

    directory: Path
    u_directory: Path | None = None
    v_directory: Path | None = None
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM

    _PATTERN = re.compile(r"^([0-9a-z]+?)(?:_fes\d{4}\w*)?\.nc$", re.IGNORECASE)

    @functools.cached_property
    def files(self) -> dict[str, Path]:
        found = _constituent_files(Path(self.directory), self._PATTERN, "FES elevation files")
        if not found:
            raise TideInputError(f"{self.directory}: no FES constituent files (<con>.nc or <con>_fes2022.nc)")
        return found

    @property
    def constituents(self) -> tuple[str, ...]:
        return tuple(self.files)

    def _field(self, path: Path, amp_name, pha_name, lat, velocity=False) -> _Grid:
        with _open_nc(path) as ds:
            _need(ds, ("lon", "lat", amp_name, pha_name), path)
            scale = _unit_scale(ds[amp_name], "cm/s" if velocity else "cm", path.name, velocity)
            return _read_grid(ds, ds[amp_name], ds[pha_name], "lon", "lat", lat, path.name, scale, polar=True)

    def interpolate(self, lon, lat, constituents=None) -> HarmonicConstituents:
        name = f"FES atlas {self.directory}"
        lon, lat = _check_points(lon, lat, name)
        cons = _known(self.files, constituents, name)
        elev = np.array(
            [
                _interp_grid(
                    self._field(self.files[c], "amplitude", "phase", lat), lon, lat, self.max_distance_km, self.files[c].name
                )
                for c in cons
            ]
        )
        u = v = None
        if self.u_directory is not None and self.v_directory is not None:
            uf = _constituent_files(Path(self.u_directory), self._PATTERN, "FES eastward velocity files")
            vf = _constituent_files(Path(self.v_directory), self._PATTERN, "FES northward velocity files")
            missing = [c for c in cons if c not in uf or c not in vf]
            if missing:
                raise TideInputError(
                    f"{name}: no current files for {', '.join(missing)} in {self.u_directory} and {self.v_directory}"
                )
            u = np.array(
                [
                    _interp_grid(self._field(uf[c], "Ua", "Ug", lat, True), lon, lat, self.max_distance_km, uf[c].name)
                    for c in cons
                ]
            )
            v = np.array(
                [
                    _interp_grid(self._field(vf[c], "Va", "Vg", lat, True), lon, lat, self.max_distance_km, vf[c].name)
                    for c in cons
                ]
            )
        return _constants(cons, elev, lon, lat, name, u, v)


@dataclass(frozen=True, eq=False)
class TpxoAtlas:
    """TPXO9 elevations from ``directory``: per-constituent atlas files ``h_<con>_tpxo*.nc``
    (hRe/hIm, mm) or one ``h_tpxo*.nc`` with all constituents (ha in m, hp in deg)."""

    directory: Path
    max_distance_km: float = DEFAULT_MAX_DISTANCE_KM

    _PATTERN = re.compile(r"^h_([0-9a-z]+)_tpxo.*\.nc$", re.IGNORECASE)
    _SINGLE = re.compile(r"^h_tpxo.*\.nc$", re.IGNORECASE)

    @functools.cached_property
    def files(self) -> dict[str, tuple[Path, int | None]]:
        """constituent -> (file, index in a multi-constituent file or None)."""
        directory = Path(self.directory)
        per = _constituent_files(directory, self._PATTERN, "TPXO files")
        found: dict[str, tuple[Path, int | None]] = {c: (p, None) for c, p in per.items()}
        if not found:
            import netCDF4

            for p in sorted(directory.iterdir()):
                if self._SINGLE.match(p.name):
                    with _open_nc(p) as ds:
                        _need(ds, ("con", "ha", "hp", "lon_z", "lat_z"), p)
                        for k, c in enumerate(netCDF4.chartostring(ds["con"][:])):
                            found.setdefault(canonical_constituent(str(c)), (p, k))
        if not found:
            raise TideInputError(f"{directory}: no TPXO elevation files (h_<con>_tpxo*.nc or h_tpxo*.nc)")
        return found

    @property
    def constituents(self) -> tuple[str, ...]:
        return tuple(self.files)

    def _field(self, con, lat) -> _Grid:
        import netCDF4

        path, k = self.files[con]
        with _open_nc(path) as ds:
            if k is None:
                _need(ds, ("hRe", "hIm", "lon_z", "lat_z"), path)
                if "con" in ds.variables:
                    inside = canonical_constituent(str(netCDF4.chartostring(ds["con"][:])).strip())
                    if inside != con:
                        raise TideInputError(f"{path.name}: holds constituent {inside}, the name says {con}")
                scale = _unit_scale(ds["hRe"], "mm", path.name)
                return _read_grid(ds, ds["hRe"], ds["hIm"], "lon_z", "lat_z", lat, path.name, scale)
            scale = _unit_scale(ds["ha"], "m", path.name)
            return _read_grid(ds, _Slice(ds["ha"], k), _Slice(ds["hp"], k), "lon_z", "lat_z", lat, path.name, scale, polar=True)

    def interpolate(self, lon, lat, constituents=None) -> HarmonicConstituents:
        name = f"TPXO atlas {self.directory}"
        lon, lat = _check_points(lon, lat, name)
        cons = _known(dict.fromkeys(self.files), constituents, name)
        elev = np.array([_interp_grid(self._field(c, lat), lon, lat, self.max_distance_km, self.files[c][0].name) for c in cons])
        return _constants(cons, elev, lon, lat, name)


class _Slice:
    """One constituent ``k`` of a (nc, nx, ny) variable, looking like a netCDF4 variable."""

    def __init__(self, var, k):
        self.var, self.k = var, k
        self.name = var.name
        self.dimensions = var.dimensions[1:]
        if hasattr(var, "units"):
            self.units = var.units

    def __getitem__(self, index):
        return self.var[(self.k,) + tuple(index)]


COASTCAST_MAX_DISTANCE_KM = 120.0
"""How far a point may lie from the coastcast atlas's wet nodes (its mesh is 30–100 km at the
coast, so a boundary node in an estuary mouth can be one coarse cell from the nearest one)."""


@functools.lru_cache(maxsize=4)
def _open_triangles(path: str, mtime: float, max_distance_km: float, label: str) -> JmjAtlas:
    return JmjAtlas.open(path, max_distance_km, label)


def open_atlas(model: str, path=None, u_path=None, v_path=None):
    """The atlas ``model`` (``jmj``, ``coastcast``, ``fes``, ``tpxo``) at ``path`` (JMJ and
    coastcast: a file, cached per process, coastcast's own by default; FES/TPXO: a directory)."""
    if model == "coastcast":
        path = COASTCAST_ATLAS if path is None else Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such file (coastcast global tide atlas; build it with coastcast tides build-atlas)"
            )
        return _open_triangles(str(path.resolve()), path.stat().st_mtime, COASTCAST_MAX_DISTANCE_KM, "coastcast atlas")
    if path is None:
        raise TideInputError(f"tide atlas model {model!r} needs a path")
    path = Path(path)
    if model == "jmj":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (JMJ atlas)")
        return _open_triangles(str(path.resolve()), path.stat().st_mtime, DEFAULT_MAX_DISTANCE_KM, "JMJ atlas")
    if model == "fes":
        return FesAtlas(path, u_path, v_path)
    if model == "tpxo":
        if u_path is not None or v_path is not None:
            raise TideInputError("TPXO currents are not supported (transports need the TPXO bathymetry)")
        return TpxoAtlas(path)
    raise TideInputError(f"tide atlas model {model!r} is not one of jmj, coastcast, fes, tpxo")
