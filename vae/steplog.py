"""The trainer's per-step metrics log: growable numpy columns, cheap to copy from another thread."""

from __future__ import annotations

import numpy as np


class StepLog:
    """Per-step metrics in growable float64 columns (one row per step).

    Appending is O(1) amortised and a reader's copy is one memcpy. (Python lists needed 39 ms to
    become arrays at 100,000 steps, under the trainer's lock, once a second for every browser
    watching the Train page.)
    """

    def __init__(self, columns: tuple[str, ...], capacity: int = 1024) -> None:
        self.columns = columns
        self._data = np.full((len(columns), capacity), np.nan)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, values: list[float]) -> None:
        if self._n == self._data.shape[1]:
            grown = np.full((len(self.columns), 2 * self._n), np.nan)
            grown[:, : self._n] = self._data
            self._data = grown
        self._data[:, self._n] = values
        self._n += 1

    def column(self, name: str, start: int = 0) -> np.ndarray:
        """A view of one column from row `start` on (do not keep it: the next append may reallocate)."""
        return self._data[self.columns.index(name), start : self._n]

    def to_dict(self, columns: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """A float32 copy of every column, or of `columns` only."""
        wanted = self.columns if columns is None else columns
        return {c: self._data[self.columns.index(c), : self._n].astype(np.float32) for c in wanted}

    @classmethod
    def from_dict(cls, columns: tuple[str, ...], d: dict[str, np.ndarray]) -> StepLog:
        """Rebuild from `to_dict()` output; a missing column is NaN."""
        n = len(next(iter(d.values()), []))
        log = cls(columns, capacity=max(1024, n))
        for i, c in enumerate(columns):
            if c in d:
                log._data[i, :n] = np.asarray(d[c], dtype=np.float64)
        log._n = n
        return log
