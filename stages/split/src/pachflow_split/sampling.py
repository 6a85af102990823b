"""`--sample N --seed S`: a reproducible sample of N customers that keeps every fraud case.

A customer is a fraud customer when any of their rows has isFraud = 1. The sample is all
fraud customers plus the non-fraud customers with the smallest keyed rank, up to N in
total (if there are N or more fraud customers, all of them and nobody else). The rank is
    rank(name) = splitmix64(fnv1a64(name) XOR splitmix64(seed))   (ties: by name)
so the choice depends only on the seed and the set of customers in the source: not on
row order, batch sizes, machine or library versions. One pass finds the sample keeping at
most N candidates in memory; a second pass writes their rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pachflow_split.hashing import fnv1a64_array

_MASK64 = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """The splitmix64 finaliser of one value (reference)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(x ^ (x >> np.uint64(31)))


def customer_ranks(names: pa.Array, seed: int) -> np.ndarray:
    key = np.uint64(splitmix64(seed & _MASK64))
    return splitmix64_array(fnv1a64_array(names) ^ key)


@dataclass(frozen=True)
class Sample:
    customers: pa.Array
    fraud_customers: int
    other_customers: int


class CustomerSampler:
    """Sees every valid batch once; remembers fraud customers and the N lowest ranks."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.fraud: set[str] = set()
        self._best: dict[str, int] = {}  # name -> rank, at most `size` entries
        self._threshold: tuple[int, str] | None = None  # the largest kept (rank, name)

    def observe(self, typed: pa.RecordBatch) -> None:
        if typed.num_rows == 0:
            return
        names = typed.column("nameOrig")
        fraud_rows = pc.equal(typed.column("isFraud"), 1)
        if pc.any(fraud_rows).as_py():
            self.fraud.update(names.filter(fraud_rows).to_pylist())
        ranks = customer_ranks(names, self.seed)
        keep = None
        if self._threshold is not None:
            keep = ranks <= np.uint64(self._threshold[0])
        distinct = np.unique(ranks if keep is None else ranks[keep])
        if distinct.size > self.size:
            # `size` customers of this batch alone rank at or below `cut` (distinct ranks
            # are distinct names), so no row ranked above it can make the final sample.
            below = ranks <= distinct[self.size - 1]
            keep = below if keep is None else keep & below
        if keep is not None:
            names, ranks = names.filter(pa.array(keep)), ranks[keep]
        for name, rank in zip(names.to_pylist(), ranks.tolist(), strict=True):
            if name not in self._best and (
                self._threshold is None or (rank, name) < self._threshold
            ):
                self._best[name] = rank
        if len(self._best) >= self.size:
            ordered = sorted(self._best.items(), key=lambda kv: (kv[1], kv[0]))[: self.size]
            self._best = dict(ordered)
            self._threshold = (ordered[-1][1], ordered[-1][0])

    def result(self) -> Sample:
        others_wanted = max(0, self.size - len(self.fraud))
        others = [
            name
            for name, _ in sorted(self._best.items(), key=lambda kv: (kv[1], kv[0]))
            if name not in self.fraud
        ][:others_wanted]
        chosen = sorted(self.fraud) + others
        return Sample(pa.array(chosen, pa.string()), len(self.fraud), len(others))
