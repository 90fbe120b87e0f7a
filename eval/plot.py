"""The recall@k curve (k = 1..100), one line per retrieval mode, as a PNG."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from index.atomic import write_atomic

PLOT_FILE = "recall_at_k.png"
_STYLES = ("-", "--", "-.", ":")


def plot_recall_curves(curves: Mapping[str, Sequence[float]], title: str, path: Path) -> Path:
    """Draw mean recall@k against k for each mode and save it as a PNG at path (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MultipleLocator

    figure, axes = plt.subplots(figsize=(8, 5), dpi=120, layout="constrained")
    depth = max((len(c) for c in curves.values()), default=1)
    for i, (mode, curve) in enumerate(curves.items()):
        ks = range(1, len(curve) + 1)
        label = f"{mode} (R@10 {_at(curve, 10)}, R@100 {_at(curve, 100)})"
        # Dashes as well as colours, so modes with near-identical curves stay distinguishable.
        axes.plot(ks, curve, linewidth=2, linestyle=_STYLES[i % len(_STYLES)], label=label)
    for k in (5, 10):
        axes.axvline(k, color="0.6", linestyle=":", linewidth=1)
    axes.set_xscale("log")
    axes.set_xlim(1, depth)
    axes.set_xticks([k for k in (1, 2, 5, 10, 20, 50, 100) if k <= depth])
    axes.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    # Start the y axis just under the lowest point: the curves differ at the top, not near 0.
    lowest = min((min(c) for c in curves.values() if c), default=0.0)
    axes.set_ylim(max(0.0, math.floor(lowest * 10) / 10 - 0.05), 1.02)
    axes.yaxis.set_major_locator(MultipleLocator(0.1))
    axes.set_xlabel("k (documents retrieved, log scale)")
    axes.set_ylabel("mean recall@k")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.4)
    if curves:
        axes.legend(loc="lower right", title="mode", fontsize="small" if len(curves) > 4 else "medium")
    try:
        write_atomic(path, lambda temporary: figure.savefig(temporary, format="png"))
    finally:
        plt.close(figure)
    return path


def _at(curve: Sequence[float], k: int) -> str:
    return f"{curve[k - 1]:.3f}" if len(curve) >= k else "—"
