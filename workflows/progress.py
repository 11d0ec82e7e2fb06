"""Progress reporting for long runs: a terminal bar (simulated time, wall time, ETA) and the end summary."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """``update(done_s, total_s, wall_s)`` from the cycle; draws a tqdm bar in simulated hours on stderr."""

    def __init__(self, label: str):
        self.label = label
        self._bar = None
        self._t0 = time.perf_counter()

    def __enter__(self):
        from tqdm import tqdm

        self._bar = tqdm(
            total=1.0,
            desc=self.label,
            unit="h",
            file=sys.stderr,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
            disable=None,
        )
        return self

    def update(self, done_s: float, total_s: float, wall_s: float | None = None) -> None:
        if self._bar is None:
            return
        frac = min(max(done_s / total_s, 0.0), 1.0) if total_s > 0 else 1.0
        wall = time.perf_counter() - self._t0
        eta = wall * (1 - frac) / frac if frac > 1e-6 else float("nan")
        self._bar.n = frac
        self._bar.set_postfix_str(
            f"simulated {done_s / 3600:.1f}/{total_s / 3600:.1f} h, wall {wall:.0f} s, ETA {eta:.0f} s", refresh=False
        )
        self._bar.refresh()

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        return False


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def summary(info: dict, run_dir) -> str:
    """The closing text of ``coastcast run`` / ``demo``: what was made, where, and how to open it."""
    lines = [
        f"Forecast {info['name']} from {info['cycle']} to {info['forecast_end']} ({info['hours']:g} h) — {info['status']}",
        f"  mesh: {info['n_triangles']} triangles; {info['n_time_steps']} time steps; wall {info.get('wall_seconds', 0):.1f} s; peak memory {info['peak_memory_mb']:.0f} MB",
    ]
    atm = (info.get("forcing") or {}).get("atmosphere") or {}
    lines.append(f"  forcing: tides {'yes' if info['forcing']['tides'] else 'no'}; atmosphere: {atm.get('used', 'none')}")
    for w in info.get("warnings", []):
        lines.append(f"  WARNING: {w}")
    lines.append(f"  files in {run_dir}:")
    for name, size in info.get("outputs_bytes", {}).items():
        lines.append(f"    {name:14s} {_size(size)}")
    for f in info.get("figures", []):
        lines.append(f"    {f}")
    lines.append("  open them with:  python -c \"import xugrid; print(xugrid.open_dataset('%s/fields.nc'))\"" % run_dir)
    lines.append("                   or Panoply / QGIS (Mesh layer) on fields.nc; station series in stations.nc")
    return "\n".join(lines)
