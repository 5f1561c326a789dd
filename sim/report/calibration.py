"""Figures of a calibration: the posterior against its prior, and the hindcast.

Drawn from what :func:`sim.run.calibrate.evaluate.evaluate` returns, so that
calibration itself never needs a plotting library.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.report.figures import BAND, BASE, default_columns, fan_chart, safe_name, save, scorecard_chart, subplots
from sim.run.calibrate.abc import weighted_quantile
from sim.run.calibrate.evaluate import Evaluation


def evaluation_figures(ev: Evaluation, folder: str | Path) -> list[Path]:
    """Posterior marginals and pairs, predictive fan charts with the held-out years shaded, scorecards."""
    folder = Path(folder)
    weights = ev.posterior["weight"].to_numpy()
    written = save(posterior_marginals(ev.posterior, weights, ev.priors, ev.prior), folder / "posterior_marginals")
    written += save(posterior_pairs(ev.posterior, weights, ev.priors), folder / "posterior_pairs")
    held = ev.periods.get("hindcast")
    posterior = ev.ensembles["posterior"]
    for col in default_columns(posterior)[:3]:
        written += save(fan_chart(posterior, col, ev.record, held_out=held), folder / f"predictive_{safe_name(col)}")
    for pname in ev.periods:
        written += save(scorecard_chart([ev.cards[(pname, "prior")], ev.cards[(pname, "posterior")]]),
                        folder / f"scorecard_{pname}")
    return written


def posterior_marginals(samples, weights, priors, prior_samples=None):
    """Weighted posterior histogram per parameter over its prior (a histogram of prior draws)."""
    n = len(priors)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), constrained_layout=True, squeeze=False)
    for k, p in enumerate(priors):
        ax = axes[k // cols][k % cols]
        x = samples[p.path].to_numpy()
        logx = p.log
        tr = np.log10 if logx else (lambda v: v)
        if prior_samples is not None:
            ax.hist(tr(prior_samples[p.path].to_numpy()), bins=30, density=True, color=BASE, alpha=0.35,
                    label="prior")
        ax.hist(tr(x), bins=30, weights=weights, density=True, color=BAND, alpha=0.75, label="posterior")
        med = weighted_quantile(x, weights, 0.5)
        ax.axvline(tr(med), color="black", lw=1)
        ax.set_xlabel(("log10 " if logx else "") + p.path.replace("coefficients.", ""), fontsize=8)
        ax.set_yticks([])
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle("posterior marginals (line: weighted median)")
    return fig


def posterior_pairs(samples, weights, priors, max_params: int = 5):
    """Pairwise scatter of the posterior sample for the first parameters (point size ~ weight)."""
    ps = priors[:max_params]
    n = len(ps)
    fig, axes = subplots(n, n, figsize=(2.2 * n + 1, 2.2 * n + 1), constrained_layout=True, squeeze=False)
    size = 4 + 60 * weights / weights.max()
    for i, pi in enumerate(ps):
        for j, pj in enumerate(ps):
            ax = axes[i][j]
            row_vals = samples[pi.path].to_numpy()
            col_vals = samples[pj.path].to_numpy()
            if i == j:
                ax.hist(row_vals, bins=25, weights=weights, color=BAND)
                ax.set_yticks([])
            else:
                ax.scatter(col_vals, row_vals, s=size, color=BAND, alpha=0.4, lw=0)
            if pj.log:
                ax.set_xscale("log")
            if pi.log and i != j:
                ax.set_yscale("log")
            if i == n - 1:
                ax.set_xlabel(pj.path.replace("coefficients.", ""), fontsize=7)
            if j == 0:
                ax.set_ylabel(pi.path.replace("coefficients.", ""), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("posterior sample, pairwise")
    return fig
