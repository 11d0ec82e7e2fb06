"""Plot the table printed by bench/throughput.py: triangle-updates per second against mesh size.

python bench/throughput.py > throughput.txt && python bench/plot_throughput.py throughput.txt docs/figures/perf_throughput.png
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROW = re.compile(r"^\s*(\d+)\s+(coastcast numba \(\w+\)|ANUGA 4\.1 DE0)\s+(\d+)\s+([\d.]+)\s+([\d.]+)")


def main(src, dst):
    series = defaultdict(list)
    for line in open(src, encoding="utf-8"):
        m = ROW.match(line)
        if m:
            n, code, th, rate, sim_rate = m.groups()
            series[f"{code}, {th} thread{'s' if th != '1' else ''}"].append((int(n), float(rate), float(sim_rate)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for label, pts in sorted(series.items()):
        pts.sort()
        style = "--" if "ANUGA" in label else "-"
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=label)
        axes[1].plot([p[0] for p in pts], [p[2] for p in pts], style, marker="o", label=label)
    axes[0].set_ylabel("M triangle-steps / s")
    axes[1].set_ylabel("M triangles × simulated s / wall s")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("triangles")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Tidal basin with wetting and drying (bench/throughput.py), medians of 3; shared 2-core machine")
    fig.savefig(dst, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
