"""Training schedules as pure functions of the step: the learning rate and the KL term's weight.

A trainer asks for the value at each optimizer step (0-based) and sets it before the step, e.g.
`for group in optimizer.param_groups: group["lr"] = learning_rate(step, total, base_lr, ...)`.
Nothing here holds state, so a run resumed at any step gets the same values as one that never
stopped.
"""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "cosine", "linear")


def _check_steps(step: int, total_steps: int) -> None:
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")


def learning_rate(
    step: int,
    total_steps: int,
    base_lr: float,
    schedule: str = "constant",
    final_fraction: float = 0.0,
    warmup_steps: int = 0,
) -> float:
    """The learning rate for optimizer step `step` of `total_steps`.

    `warmup_steps` ramp linearly from base_lr / warmup_steps up to base_lr (Goyal et al. 2017,
    "Accurate, large minibatch SGD", section 2.2). After it the rate decays from base_lr to
    `final_fraction * base_lr` at the last step: "constant" does not decay; "cosine" follows half
    a cosine (Loshchilov & Hutter 2017, "SGDR", eq. 5, one cycle without restarts); "linear" falls
    in a straight line. Steps past the end keep the final rate.
    """
    _check_steps(step, total_steps)
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    if not 0 <= final_fraction <= 1:
        raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be 0..{total_steps - 1}, got {warmup_steps}")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return base_lr
    decay_steps = total_steps - warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, decay_steps - 1))  # 0 at the first step, 1 at the last
    if schedule == "cosine":
        factor = 0.5 * (1 + math.cos(math.pi * progress))
    else:
        factor = 1 - progress
    return base_lr * (final_fraction + (1 - final_fraction) * factor)


def kl_weight(step: int, ramp_steps: int, start: float = 0.0, end: float = 1.0) -> float:
    """The weight of the KL term at step `step`: `start` at step 0, linear to `end` at `ramp_steps`,
    then `end` for good.

    start = 0 is the KL warm-up (or "annealing") of Bowman et al. 2016, "Generating sentences from a
    continuous space", section 3.1: the decoder learns to use z before the KL term pushes q(z|x)
    toward the prior. `ramp_steps = 0` is a constant `end` (the plain ELBO for end = 1).
    """
    if ramp_steps < 0:
        raise ValueError(f"ramp_steps must be >= 0, got {ramp_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    for name, value in (("start", start), ("end", end)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if step >= ramp_steps:
        return end
    return start + (end - start) * step / ramp_steps
