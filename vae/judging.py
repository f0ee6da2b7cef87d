"""Does a conditional model draw the class it is asked for? Judged by several independent judges
(`vae.judge.judges_for`), over several z seeds, with the spread over seeds.

An image counts as right only when *every* judge names the class asked for: the stricter verdict,
reported as "overall" and "per_digit" beside each judge's own score and how often the judges
agree. One judge can be fooled (a scribble with a 2's tail, a smear where a sandal should be); two
judges that fail in different ways are fooled together less often. The yardstick sits beside it:
`judge_accuracy` on real test images, where the stricter verdict is also the judges' AND, so a
model is compared with what the same judges make of real images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from vae.judge import module_device, predict
from vae.model import NUM_CLASSES, ConditionalVAE, one_hot

DEFAULT_SEEDS = tuple(range(5))
DEFAULT_PER_DIGIT = 200


def as_judges(judge: nn.Module | Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    """One judge or a panel {name: judge} -> a panel; a lone judge is called "judge"."""
    judges = {"judge": judge} if isinstance(judge, nn.Module) else dict(judge)
    if not judges:
        raise ValueError("at least one judge is needed")
    return judges


def spread(right: np.ndarray) -> dict:
    """right (S seeds, 10 classes): the fraction judged right -> its mean over seeds and spread.

    overall: mean over seeds of each seed's mean over classes (every class has as many images);
    std: the sample standard deviation (ddof = 1) of the S per-seed overalls, None for one seed;
    min, max, per_seed: the per-seed overalls; per_digit(_std, _min, _max): the same per class.
    """
    per_seed = right.mean(axis=1)  # (S,)
    several = len(right) > 1
    return {
        "overall": float(per_seed.mean()),
        "std": float(per_seed.std(ddof=1)) if several else None,
        "min": float(per_seed.min()),
        "max": float(per_seed.max()),
        "per_seed": per_seed.tolist(),
        "per_digit": right.mean(axis=0).tolist(),
        "per_digit_std": right.std(axis=0, ddof=1).tolist() if several else None,
        "per_digit_min": right.min(axis=0).tolist(),
        "per_digit_max": right.max(axis=0).tolist(),
    }


@torch.no_grad()
def draw_per_class(model: ConditionalVAE, n_per_digit: int, seed: int, temperature: float) -> torch.Tensor:
    """n_per_digit images of each class, class 0 first: (10 * n, 784), z ~ N(0, temperature^2 I)."""
    device = module_device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    asked = torch.arange(NUM_CLASSES, device=device).repeat_interleave(n_per_digit)  # (10n,)
    z = temperature * torch.randn((len(asked), model.config.z_dim), generator=generator, device=device)
    was_training = model.training
    model.eval()
    try:
        return model.decode(z, one_hot(asked, device=device))
    finally:
        model.train(was_training)


def conditional_accuracy(
    model: ConditionalVAE,
    judge: nn.Module | Mapping[str, nn.Module],
    n_per_digit: int = DEFAULT_PER_DIGIT,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    temperature: float = 1.0,
) -> dict | None:
    """For each z seed and class d, decode `n_per_digit` z ~ N(0, temperature^2 I) with a one-hot d
    and ask every judge which class it sees. For Fashion-MNIST, "digit" d is class d.

    Returns `spread(...)` of the stricter verdict (all judges say d) plus "judges" ({name:
    spread(...)} for each judge alone), "agreement" (the fraction of images on which all judges
    name the same class, mean over seeds; None for one judge), "seeds", "n_per_digit",
    "temperature". None for a model that is not conditional (it cannot be asked for a class).
    Evaluation uses temperature 1, the prior the model was trained against; below 1 the draws
    stay nearer the prior's centre, where models tend to draw their clearest images.
    """
    if not model.config.conditional:
        return None
    if n_per_digit < 1:
        raise ValueError(f"n_per_digit must be >= 1, got {n_per_digit}")
    if not len(seeds):
        raise ValueError("at least one z seed is needed")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0, got {temperature}")
    judges = as_judges(judge)
    asked = torch.arange(NUM_CLASSES).repeat_interleave(n_per_digit)  # (10n,) on the CPU, like the verdicts
    right = {name: np.zeros((len(seeds), NUM_CLASSES)) for name in judges}
    strict = np.zeros((len(seeds), NUM_CLASSES))
    agreement = np.zeros(len(seeds))
    for i, seed in enumerate(seeds):
        images = draw_per_class(model, n_per_digit, seed, temperature)
        verdicts = torch.stack([predict(j, images) for j in judges.values()])  # (judges, 10n)
        correct = verdicts == asked  # (judges, 10n)
        for name, row in zip(judges, correct, strict=True):
            right[name][i] = row.reshape(NUM_CLASSES, n_per_digit).double().mean(dim=1).numpy()
        strict[i] = correct.all(dim=0).reshape(NUM_CLASSES, n_per_digit).double().mean(dim=1).numpy()
        agreement[i] = (verdicts == verdicts[0]).all(dim=0).double().mean().item()
    return {
        **spread(strict),
        "judges": {name: spread(r) for name, r in right.items()},
        "agreement": float(agreement.mean()) if len(judges) > 1 else None,
        "seeds": list(seeds),
        "n_per_digit": n_per_digit,
        "temperature": temperature,
    }


def _per_class(right: torch.Tensor, y: torch.Tensor) -> dict:
    """right (N,) bool, y (N,) labels -> {"overall", "per_digit"}."""
    return {
        "overall": right.double().mean().item(),
        "per_digit": [right[y == d].double().mean().item() for d in range(NUM_CLASSES)],
    }


def judge_accuracy(
    judge: nn.Module | Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000
) -> dict:
    """The judges' own accuracy on real images: the yardstick for `conditional_accuracy` (a judge
    that knows real shirts 55 % of the time will not recognise generated ones more often).

    {"overall", "per_digit"}: the stricter verdict (every judge right), as `conditional_accuracy`
    counts; "judges": {name: {"overall", "per_digit"}}; "agreement": the fraction of images on
    which all judges name the same class (None for one judge).
    """
    judges = as_judges(judge)
    y = y.cpu()
    verdicts = torch.stack([predict(j, x, batch_size) for j in judges.values()])  # (judges, N)
    correct = verdicts == y
    return {
        **_per_class(correct.all(dim=0), y),
        "judges": {name: _per_class(row, y) for name, row in zip(judges, correct, strict=True)},
        "agreement": (verdicts == verdicts[0]).all(dim=0).double().mean().item() if len(judges) > 1 else None,
    }
