"""Charts of a sweep: sensitivity indices, and an output against one or two parameters.

They read a finished results folder's tables (see :mod:`sim.run.sweep.results`),
never the runs themselves, so they can be drawn long after and far from the sweep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.files import atomic_write
from sim.report.figures import subplots

# At most this many distinct values per axis are drawn as a grid; more are binned.
_GRID_LEVELS = 50
_BINS = 20


def sensitivity_chart(table: pd.DataFrame, method: str, png: Path) -> None:
    """One bar chart per output: Sobol S1 and ST, or Morris mu* and sigma, per parameter."""
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = subplots(len(outputs), 1, figsize=(8, 0.4 * len(table) + 1.2 * len(outputs)), squeeze=False)
    for ax, name in zip(axes[:, 0], outputs, strict=True):
        t = table[table["output"] == name]
        y = np.arange(len(t))
        if method == "sobol":
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="S1 (first order)")
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="ST (total)")
            ax.set_xlabel("Sobol index")
        else:
            ax.barh(y - 0.2, t["mu_star"], 0.4, xerr=t["mu_star_conf"], label="mu* (mean |effect|)")
            ax.barh(y + 0.2, t["sigma"], 0.4, label="sigma (non-linearity / interaction)")
            ax.set_xlabel("Morris elementary effect")
        ax.set_yticks(y, t["parameter"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_write(Path(png), lambda tmp: fig.savefig(tmp, format="png", dpi=110))


def sweep_chart(title: str, runs: pd.DataFrame, table: pd.DataFrame, output: str, x: str, y: str | None,
                png: Path) -> None:
    """``output`` against ``x`` (runs as dots, point means as a line) or against ``x`` and ``y`` (heatmap).

    ``runs`` holds the successful runs, ``table`` the point means (see
    :func:`sim.run.sweep.results.point_means`) of the points that have ``output``.
    """
    fig, ax = subplots(figsize=(7, 5))
    if y is None:
        _scatter(ax, runs, table, output, x)
    else:
        _heatmap(fig, ax, table, output, x, y)
    ax.set_title(f"{title}: {output}")
    fig.tight_layout()
    atomic_write(Path(png), lambda tmp: fig.savefig(tmp, format="png", dpi=110))


def _scatter(ax, runs: pd.DataFrame, table: pd.DataFrame, output: str, x: str) -> None:
    ax.scatter(runs[x], runs[output], s=8, alpha=0.35, label="runs")
    means = table.groupby(x)[output].mean()
    if len(means) <= _GRID_LEVELS:
        ax.plot(means.index, means.values, "o-", color="k", label="mean over runs")
    ax.set_xlabel(x)
    ax.set_ylabel(output)
    ax.legend()


def _heatmap(fig, ax, table: pd.DataFrame, output: str, x: str, y: str) -> None:
    xs, ys = np.unique(table[x]), np.unique(table[y])
    if len(xs) <= _GRID_LEVELS and len(ys) <= _GRID_LEVELS:      # a grid: one cell per level pair
        grid = table.pivot_table(index=y, columns=x, values=output, aggfunc="mean")
        img = ax.imshow(grid.values, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(grid.columns)), [f"{v:.3g}" for v in grid.columns], rotation=45)
        ax.set_yticks(range(len(grid.index)), [f"{v:.3g}" for v in grid.index])
    else:                                                       # scattered points: mean in bins
        sums, xe, ye = np.histogram2d(table[x], table[y], bins=_BINS, weights=table[output])
        counts, _, _ = np.histogram2d(table[x], table[y], bins=[xe, ye])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts
        img = ax.imshow(mean.T, origin="lower", aspect="auto", cmap="viridis",
                        extent=[xe[0], xe[-1], ye[0], ye[-1]])
    fig.colorbar(img, ax=ax, label=f"{output} (mean over replicates)")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
