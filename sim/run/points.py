"""Parameter points: a base scenario with overrides, compiled side by side.

An ensemble drawing its parameters from a posterior, a sweep's chunk and a
calibration's particles all run several parameter points as one ensemble.
Each point must be built exactly as a single run with those overrides would
be (``load_scenario`` then ``compile_scenario``), or a member would stop being
bit-identical to that single run; so this is the only place that does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.compile import Compiled, compile_scenario, stack_points
from sim.core.engine import EnsembleResult, run_ensemble
from sim.core.errors import UserError
from sim.core.loading import load_scenario


def compile_points(base: str | Path, paths: Sequence[str], values: np.ndarray,
                   base_overrides: dict[str, Any] | None = None,
                   skip_invalid: bool = False) -> tuple[Compiled | None, np.ndarray]:
    """The points (rows of ``values``, one column per path in ``paths``) stacked, and which of them compiled.

    With ``skip_invalid`` a point the scenario rejects is left out (its mask
    entry is False; None when no point compiled); otherwise the error propagates.
    """
    parts, ok = [], np.zeros(len(values), dtype=bool)
    for i, row in enumerate(values):
        overrides = {**(base_overrides or {}), **{p: float(v) for p, v in zip(paths, row, strict=True)}}
        try:
            parts.append(compile_scenario(load_scenario(base, overrides)))
        except (UserError, ValueError):
            if not skip_invalid:
                raise
            continue
        ok[i] = True
    return (stack_points(parts) if parts else None), ok


def run_points(cp: Compiled, seeds: np.ndarray) -> EnsembleResult:
    """Every point's replicates as one ensemble: ``seeds`` is (points, replicates), members point-major."""
    n, replicates = seeds.shape
    return run_ensemble(cp, seeds.ravel().astype(np.uint64), np.repeat(np.arange(n), replicates))
