"""The NaN guard: a step's losses are checked finite, in batches, and the last good weights are kept.

Reading a value from a GPU waits for all the work queued before it: once per step, that wait cost more
than the step itself (BENCHMARKS.md). So each step's loss parts stay on the device until every
GOOD_STATE_EVERY steps one read brings them all over; only then are the weights known good and kept.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

GOOD_STATE_EVERY = 25


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good weights were restored."""


class NanGuard:
    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._pending: list[tuple[int, torch.Tensor]] = []  # (step, its loss parts) still on the device
        self._good = copy.deepcopy(model.state_dict())

    def push(self, step: int, parts: torch.Tensor) -> None:
        """A step's loss parts (k,), loss first, not read yet."""
        self._pending.append((step, parts.detach()))

    def flush(self, log: Callable[[int, list[float]], None]) -> tuple[int, float] | None:
        """Read the pending steps (one wait) and `log(step, parts)` each finite one, in order. Returns
        (step, loss) of the first step whose loss is not finite, or None; nothing after it is logged."""
        if not self._pending:
            return None
        steps = [step for step, _ in self._pending]
        values = torch.stack([v for _, v in self._pending]).cpu().tolist()  # (k, parts)
        self._pending.clear()
        for step, row in zip(steps, values, strict=True):
            if not math.isfinite(row[0]):
                return step, row[0]
            log(step, row)
        return None

    def weights_finite(self) -> bool:
        return bool(torch.stack([torch.isfinite(w).all() for w in self.model.state_dict().values()]).all())

    def keep(self) -> None:
        """Keep the weights as the last good ones: call it only after the losses so far were checked
        finite. A finite loss can still step the weights to inf: those are not kept."""
        if self.weights_finite():  # copied into the tensors kept before: no new memory every 25 steps
            with torch.no_grad():
                for name, weights in self.model.state_dict().items():
                    self._good[name].copy_(weights)

    def restore(self) -> None:
        """Put the last good weights back into the model."""
        self.model.load_state_dict(self._good)
