"""Which parameters matter: Sobol and Morris indices of a finished sweep (SALib).

Indices need every design point, so replicates are averaged per point first
and a sweep with failed or missing points is refused rather than analysed on
a biased subset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import UserError
from sim.run.sweep.results import point_means, read_results


def sensitivity_indices(design: dict, problem: dict, X: np.ndarray, Y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Sobol (S1, ST and their confidence intervals) or Morris (mu*, sigma) indices of one output.

    Takes the design, the points and the outputs directly so that the same
    code can be checked against a function with known indices (Ishigami).
    """
    Y = np.asarray(Y, dtype=float)
    if np.isnan(Y).any():
        raise UserError(f"{int(np.isnan(Y).sum())} of {len(Y)} points have no successful run "
                        "(failed, or the sweep is unfinished); Sobol and Morris indices need every point")
    method = design["method"]
    names = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol
        res = sobol.analyze(problem, Y, calc_second_order=design.get("second_order", False), seed=seed)
        return pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                             "ST": res["ST"], "ST_conf": res["ST_conf"]})
    if method == "morris":
        from SALib.analyze import morris
        res = morris.analyze(problem, np.asarray(X, float), Y, num_levels=design.get("levels", 4), seed=seed)
        return pd.DataFrame({"parameter": names, "mu_star": np.asarray(res["mu_star"]),
                             "mu_star_conf": np.asarray(res["mu_star_conf"]), "mu": np.asarray(res["mu"]),
                             "sigma": np.asarray(res["sigma"])})
    raise UserError(f"sensitivity indices need a sobol or morris sweep; this one used the {method} design "
                    "(use plot-sweep to look at it)")


def sweep_sensitivity(folder: str | Path, outputs: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """Indices for each requested output of a finished sobol/morris sweep (replicates averaged per point)."""
    manifest, runs = read_results(folder)
    labels = [o["label"] for o in manifest["outputs"]]
    for name in outputs or []:
        if name not in labels:
            raise UserError(f"no output '{name}' in this sweep; outputs: {', '.join(labels)}")
    table = point_means(manifest, runs)
    X = table[manifest["problem"]["names"]].to_numpy()
    frames = []
    for name in outputs or labels:
        df = sensitivity_indices(manifest["design"], manifest["problem"], X, table[name].to_numpy(), seed)
        df.insert(0, "output", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Test function with known Sobol indices (S1 ~ 0.31, 0.44, 0; ST ~ 0.56, 0.44, 0.24)."""
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])
