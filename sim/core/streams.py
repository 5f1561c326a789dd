"""Random numbers keyed by what they drive, so that counterfactuals stay paired.

Every random number of a run is a pure function of (member seed, stream key,
month, slot): a counter-based generator (the SplitMix64 output function over a
per-stream 64-bit id). A stream key names what the numbers drive, e.g.
``trade.noise/aa>bb`` or ``events/visit/aa>bb``. So adding or removing a
timeline entry, a state, a pair or an event type adds or removes streams but
leaves every other stream's numbers unchanged: a counterfactual differs from
its base only where its inputs do, and a paired difference is effect, not
noise. Nothing depends on the order or number of streams, on how many members
run together, or on which months were drawn before (no look-ahead through
random-number layout either).

A member's numbers are bit-identical whatever ensemble it runs in, because
every operation is elementwise over (member, stream).
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def _mix(x: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, in place on ``x``."""
    np.right_shift(x, _S30, out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _C1, out=x)
    np.right_shift(x, _S27, out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _C2, out=x)
    np.right_shift(x, _S31, out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    return x


def key_hash(key: str) -> np.uint64:
    """A stable 64-bit hash of a stream key (independent of Python's hash seed)."""
    return np.frombuffer(hashlib.blake2b(key.encode(), digest_size=8).digest(), dtype=np.uint64)[0]


def stream_ids(seeds: np.ndarray, keys: list[str]) -> np.ndarray:
    """(members, streams) 64-bit ids: each member seed and stream key mixed into one starting point."""
    s = np.asarray(seeds, dtype=np.uint64).reshape(-1, 1)
    k = np.array([key_hash(key) for key in keys], dtype=np.uint64).reshape(1, -1)
    with np.errstate(over="ignore"):
        x = (s * _GOLDEN) ^ k
        tmp = np.empty_like(x)
        x = _mix(x, tmp)
        x ^= k
        return _mix(x, tmp)


class Streams:
    """Uniform and normal numbers for a fixed set of streams, month by month."""

    def __init__(self, seeds: np.ndarray, keys: list[str]):
        self.keys = list(keys)
        if len(set(self.keys)) != len(self.keys):
            dup = sorted({k for k in self.keys if self.keys.count(k) > 1})
            raise RuntimeError(f"random streams must have unique keys; repeated: {dup[:5]}")
        self.ids = stream_ids(seeds, self.keys)
        self._buf = np.empty_like(self.ids)
        self._tmp = np.empty_like(self.ids)

    def _bits(self, counter: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            np.add(self.ids, np.uint64(counter + 1) * _GOLDEN, out=self._buf)
            return _mix(self._buf, self._tmp)

    def uniform(self, counter: int) -> np.ndarray:
        """(members, streams) uniforms in [0, 1): the ``counter``-th draw of every stream."""
        bits = self._bits(counter)
        np.right_shift(bits, _S11, out=bits)
        out = bits.astype(np.float64)
        out *= _TO_UNIT
        return out

    def normal(self, counter: int) -> np.ndarray:
        """(members, streams) standard normals (Box-Muller on draws 2*counter and 2*counter + 1)."""
        u1 = self.uniform(2 * counter)
        u2 = self.uniform(2 * counter + 1)
        # sqrt(-2 log(1 - u1)) * cos(2 pi u2), in place (the same operations in the same order)
        np.negative(u1, out=u1)
        np.log1p(u1, out=u1)
        u1 *= -2.0
        np.sqrt(u1, out=u1)
        u2 *= 2.0 * np.pi
        np.cos(u2, out=u2)
        u1 *= u2
        return u1
