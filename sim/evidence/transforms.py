"""The scales on which simulated and recorded numbers are compared.

Scores and calibration distances must put a figure of $5 bn and one of $95 bn
on a comparable footing, and the same name must mean the same arithmetic
wherever it is used; so every transform lives in this one table, each name
with one meaning.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _log(v):
    """Money flows that are never zero (trade, exports)."""
    return np.log(np.maximum(v, 1e-9))


def _linear(v):
    """Figures scored as they are (growth rates in percent, counts of meetings)."""
    return v


def _tenths(v):
    """Linear figures in tenths: calibration's distance sets growth in percent and meeting counts beside
    log-scale money figures."""
    return v / 10.0


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": _log,
    "log1p": np.log1p,      # money that can be zero in a period (arms contracts)
    "linear": _linear,
    "tenths": _tenths,
    "sqrt": np.sqrt,        # event counts: a variance-stabilised Poisson count
}


def transform(scale: str, values):
    return TRANSFORMS[scale](values)
