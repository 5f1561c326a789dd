"""Sums, means and powers whose bits do not depend on how many rows are computed together.

numpy's ``sum``/``mean`` use pairwise summation, which groups the terms of
one row differently when the array has one row than when it has many; a
member of an ensemble would then get (slightly) different numbers depending on
what ran beside it. Adding strictly in order keeps a member's numbers the
same whatever the ensemble (tests compare single runs with ensembles bit for bit).

numpy's ``power`` has the same trap: an exponent repeated along the inner loop
(stride 0) equal to -1, 0, 0.5, 1 or 2 is computed by a shortcut (``sqrt`` for
0.5), which rounds differently from the vector ``pow`` that a loop of one
element takes. See :func:`member_power`.
"""

from __future__ import annotations

import numpy as np


def ordered_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis, added in order from the first element."""
    a = np.asarray(a)
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1])
    return np.cumsum(a, axis=-1)[..., -1]


def row_mean(a: np.ndarray) -> np.ndarray:
    """Mean over the last axis, added in order (see :func:`ordered_sum`)."""
    return ordered_sum(a) / np.asarray(a).shape[-1]


def member_power(x, k) -> np.ndarray:
    """``x ** k`` over (members, ...) arrays, each member's numbers exactly those of the member run alone.

    When a member has one number (every axis after the member axis is of size
    one), a member run alone computes a one-element loop, the vector ``pow``;
    beside other members, a shared exponent against a column of per-member
    bases would take numpy's stride-0 shortcut (``sqrt`` for 0.5), one bit off
    in some places. Both operands are then made whole and contiguous, so the
    vector ``pow`` runs whatever the ensemble. With more numbers per member the
    inner loop is the same however many members run, and ``x ** k`` is left as is.
    """
    shape = np.broadcast_shapes(np.shape(x), np.shape(k))
    if len(shape) < 2 or any(n != 1 for n in shape[1:]):
        return np.power(x, k)
    return np.power(np.ascontiguousarray(np.broadcast_to(x, shape), dtype=float),
                    np.ascontiguousarray(np.broadcast_to(k, shape), dtype=float))
