"""Small vectorised helpers the mechanisms share: grouped sums and a sparse threat matrix.

The monthly rules sum values over pairs (a state's total trade, a club's
mean trust) thousands of times per run. A Python loop per pair costs more than
the arithmetic, and matrix products (BLAS) may sum in an order that depends on
how many members run together, which would break the rule that a member's
numbers never depend on its neighbours. ``Groups`` adds each
group's terms one at a time, so every member's sum is formed the same way
whatever the ensemble size, and a zero term can come or go without a trace.
"""

from __future__ import annotations

import numpy as np


class Groups:
    """Sums of selected columns of an (M, N) array into n_out groups, in a fixed order.

    Each group is added up one term at a time, in the order its columns were given: so a member's sum
    never depends on how many members run beside it, and a term that is zero (an entity or event channel
    that does nothing) can be added or removed without changing the sum's bits.
    """

    def __init__(self, columns, targets, n_out: int):
        columns = np.asarray(columns, dtype=int)
        targets = np.asarray(targets, dtype=int)
        order = np.argsort(targets, kind="stable")
        columns, targets = columns[order], targets[order]
        self.present = np.unique(targets)
        self.n_out = n_out
        sizes = [int((targets == g).sum()) for g in self.present]
        width = max(sizes, default=0)
        self.pad = -1                                  # index of the zero column appended to the values
        self.layout = np.full((len(self.present), width), self.pad, dtype=int)
        start = 0
        for row, size in enumerate(sizes):
            self.layout[row, :size] = columns[start:start + size]
            start += size
        self.flat_layout = self.layout.T.ravel()
        self.sizes = np.zeros(n_out)
        self.sizes[self.present] = sizes

    def _gathered(self, values: np.ndarray, pad: float = 0.0) -> list[np.ndarray]:
        """Term k of every group, (groups, M) each, from one gather of rows of the transposed values.

        Rows rather than columns: a row gather copies contiguous memory, a column gather reads every element
        on its own, several times slower at thousands of members. Pads read a row of ``pad`` appended to the
        values.
        """
        M, N = values.shape
        ext = np.empty((N + 1, M))
        ext[:N] = values.T
        ext[N] = pad
        g = len(self.present)
        flat = ext[self.flat_layout]
        return [flat[k * g:(k + 1) * g] for k in range(self.layout.shape[1])]

    def _scatter(self, acc: np.ndarray | None, fill: float, M: int) -> np.ndarray:
        out = np.full((self.n_out, M), fill)
        if acc is not None:
            out[self.present] = acc
        return out.T

    def sum(self, values: np.ndarray, from_zero: bool = False) -> np.ndarray:
        """Each group's terms added in order; ``from_zero`` adds the first to 0.0 too (as a loop over
        ``out += term`` from zeros does, which differs only for a first term of -0.0)."""
        acc = None
        if self.layout.shape[1]:
            terms = self._gathered(values)
            acc = np.zeros(terms[0].shape) if from_zero else terms[0].copy()
            for term in terms if from_zero else terms[1:]:
                acc += term
        return self._scatter(acc, 0.0, values.shape[0])

    def max(self, values: np.ndarray, floor: float = 0.0) -> np.ndarray:
        """Running maximum of each group's terms, in order, starting from ``floor``."""
        acc = None
        if self.layout.shape[1]:
            terms = self._gathered(values, pad=floor)
            acc = np.full(terms[0].shape, floor)
            for term in terms:
                np.maximum(acc, term, out=acc)
        return self._scatter(acc, floor, values.shape[0])

    def count(self) -> np.ndarray:
        return self.sizes


def ordered_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum along an axis one slice at a time, so that adding an entity (a zero slice) never regroups the others."""
    values = np.moveaxis(values, axis, 0)
    out = np.zeros(values.shape[1:], dtype=float)
    for part in values:
        out = out + part
    return out


def member_groups(cache: dict, members: np.ndarray, by_state: bool = False) -> tuple[Groups, np.ndarray]:
    """Groups summing (M, S * O) state-by-organisation values over each organisation's current members, or
    with ``by_state`` (M, S) per-state values over them; and each organisation's member count."""
    key = (members.tobytes(), by_state)
    if key not in cache:
        n_orgs = members.shape[1]
        cells = np.argwhere(members)
        cols = cells[:, 0] if by_state else cells[:, 0] * n_orgs + cells[:, 1]
        cache[key] = (Groups(cols, cells[:, 1], n_orgs), members.sum(axis=0))
    return cache[key]


def with_zero(values: np.ndarray) -> np.ndarray:
    """Append a column of zeros, so that index -1 (or the last index) reads as 'no such entry'."""
    return np.concatenate([values, np.zeros((values.shape[0], 1))], axis=1)


class SparseThreat:
    """Perceived threat between states, held only where it can be non-zero (a few dozen entries).

    ``pos[a, b]`` is the column of entry (a, b) in ``values`` (M, entries + 1); the last column is zero
    for pairs that can never perceive a threat.
    """

    def __init__(self, values: np.ndarray, pos: np.ndarray, rows: Groups):
        self.values, self.pos, self.rows = values, pos, rows
        self._row_total: np.ndarray | None = None

    def get(self, a, b) -> np.ndarray:
        return self.values[:, self.pos[a, b]]

    def row_total(self) -> np.ndarray:
        """(M, S) each state's perceived threat summed over all others (computed once: several mechanisms
        read it each month, and the values do not change after perception sets them)."""
        if self._row_total is None:
            self._row_total = self.rows.sum(self.values)
            self._row_total.flags.writeable = False
        return self._row_total
