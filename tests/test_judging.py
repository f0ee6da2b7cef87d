"""Conditional accuracy over z seeds and judges: the spread, the stricter verdict, the temperature.

A stand-in model writes its z into the image (pixels 0 and 1 hold sigmoid(z0), sigmoid(z1); pixels
2-11 the class asked for) and stand-in judges read it back, so each judge's verdict is a known
function of z and the expected scores are known exactly or in distribution.
"""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from vae.config import preset
from vae.judging import conditional_accuracy, judge_accuracy


class WritesZ(nn.Module):
    """A conditional 'model' whose image for (z, class) holds z and the class."""

    def __init__(self) -> None:
        super().__init__()
        self.config = preset("tiny")  # z_dim 2, conditional
        self.dummy = nn.Parameter(torch.zeros(()))  # so that it has a device

    def decode(self, z: torch.Tensor, digit: torch.Tensor) -> torch.Tensor:
        images = torch.zeros(len(z), 784)
        images[:, :2] = torch.sigmoid(z)
        images[:, 2:12] = digit
        return images


class RightWhen(nn.Module):
    """Names the class asked for when `rule(z)` holds, else the next class."""

    def __init__(self, rule) -> None:
        super().__init__()
        self.rule = rule
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.logit(x[:, :2])  # (B, 2)
        asked = x[:, 2:12].argmax(dim=1)
        said = torch.where(self.rule(z), asked, (asked + 1) % 10)
        return nn.functional.one_hot(said, 10).float()


def z0_positive(z):
    return z[:, 0] > 0


def z0_not_positive(z):
    return z[:, 0] <= 0


def z1_positive(z):
    return z[:, 1] > 0


def test_the_spread_is_over_z_seeds():
    model, judge = WritesZ(), RightWhen(z0_positive)
    seeds = [0, 1, 2, 3, 4]
    report = conditional_accuracy(model, judge, n_per_digit=40, seeds=seeds)
    one_seed = [conditional_accuracy(model, judge, n_per_digit=40, seeds=[s]) for s in seeds]
    per_seed = [r["overall"] for r in one_seed]
    assert report["per_seed"] == per_seed and len(set(per_seed)) > 1  # each seed draws other z
    assert report["overall"] == pytest.approx(np.mean(per_seed))
    assert report["std"] == pytest.approx(np.std(per_seed, ddof=1)) and report["std"] > 0
    assert (report["min"], report["max"]) == (min(per_seed), max(per_seed))
    by_class = np.array([r["per_digit"] for r in one_seed])  # (seeds, 10)
    np.testing.assert_allclose(report["per_digit"], by_class.mean(axis=0))
    np.testing.assert_allclose(report["per_digit_std"], by_class.std(axis=0, ddof=1))
    np.testing.assert_allclose(report["per_digit_min"], by_class.min(axis=0))
    np.testing.assert_allclose(report["per_digit_max"], by_class.max(axis=0))
    assert one_seed[0]["std"] is None and one_seed[0]["per_digit_std"] is None  # no spread from one seed
    assert report["seeds"] == seeds and report["n_per_digit"] == 40
    assert conditional_accuracy(model, judge, n_per_digit=40, seeds=seeds) == report  # reproducible


def test_an_image_is_right_only_when_every_judge_says_so():
    model = WritesZ()
    # Two judges that are each right half the time, on exactly opposite halves: AND 0, OR 1.
    opposite = conditional_accuracy(model, {"a": RightWhen(z0_positive), "b": RightWhen(z0_not_positive)})
    assert opposite["overall"] == 0.0 and opposite["per_digit"] == [0.0] * 10
    assert 0.45 < opposite["judges"]["a"]["overall"] < 0.55
    assert opposite["judges"]["a"]["overall"] + opposite["judges"]["b"]["overall"] == pytest.approx(1.0)
    assert opposite["agreement"] == 0.0  # a says the class asked for exactly when b says the next one

    # Independent halves: each judge about 0.5, both about 0.25 (10,000 images: sd 0.004).
    both = conditional_accuracy(model, {"a": RightWhen(z0_positive), "b": RightWhen(z1_positive)})
    assert both["overall"] == pytest.approx(0.25, abs=0.02)
    assert both["judges"]["b"]["overall"] == pytest.approx(0.5, abs=0.02)
    assert both["agreement"] == pytest.approx(0.5, abs=0.02)  # both right or both wrong
    a, b = np.array(both["judges"]["a"]["per_digit"]), np.array(both["judges"]["b"]["per_digit"])
    assert (np.array(both["per_digit"]) <= np.minimum(a, b)).all()

    same = conditional_accuracy(model, {"a": RightWhen(z0_positive), "a2": RightWhen(z0_positive)})
    alone = conditional_accuracy(model, RightWhen(z0_positive))
    assert same["overall"] == alone["overall"] and same["agreement"] == 1.0
    assert alone["agreement"] is None and list(alone["judges"]) == ["judge"]
    json.dumps(both, allow_nan=False)


def test_temperature_scales_z():
    model = WritesZ()
    near_zero = RightWhen(lambda z: z[:, 0].abs() < 0.5)
    expected = {t: math.erf(0.5 / t / math.sqrt(2)) for t in (0.1, 1.0, 3.0)}  # P(|z0| < 0.5), z0 ~ N(0, t^2)
    for t, p in expected.items():
        report = conditional_accuracy(model, near_zero, temperature=t)
        assert report["overall"] == pytest.approx(p, abs=0.02) and report["temperature"] == t
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature must be a number > 0"):
            conditional_accuracy(model, near_zero, temperature=bad)
    with pytest.raises(ValueError, match="at least one z seed"):
        conditional_accuracy(model, near_zero, seeds=[])
    with pytest.raises(ValueError, match="at least one judge"):
        conditional_accuracy(model, {})


class AlwaysSays(nn.Module):
    def __init__(self, digit: int) -> None:
        super().__init__()
        self.digit = digit
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(torch.full((len(x),), self.digit), 10).float()


def test_judge_accuracy_on_real_images_counts_the_same_way(mnist):
    x, y = mnist.test_x, mnist.test_y
    zeros = (y == 0).double().mean().item()
    two = judge_accuracy({"a": AlwaysSays(0), "b": AlwaysSays(1)}, x, y)
    assert two["overall"] == 0.0 and two["per_digit"] == [0.0] * 10 and two["agreement"] == 0.0
    assert two["judges"]["a"]["overall"] == pytest.approx(zeros) and two["judges"]["b"]["per_digit"][1] == 1.0
    same = judge_accuracy({"a": AlwaysSays(0), "b": AlwaysSays(0)}, x, y)
    assert same["overall"] == pytest.approx(zeros) and same["per_digit"] == [1.0] + [0.0] * 9
    assert same["agreement"] == 1.0
