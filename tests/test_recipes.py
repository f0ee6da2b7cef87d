"""bench/recipes.py's training loop: seeded, and its schedules reach the loss."""

import pytest
import torch

from bench.recipes import Recipe, _split, train
from vae.data import Dataset
from vae.evaluate import evaluate_elbo


@pytest.fixture(scope="module")
def small(mnist) -> Dataset:
    return Dataset("mnist", mnist.train_x[:300], mnist.train_y[:300], mnist.test_x[:100], mnist.test_y[:100], "test")


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_the_same_seed_trains_the_same_model(small):
    recipe = Recipe(epochs=2, augment=0.5, elastic=1.0, lr_schedule="cosine", kl_start=3.0, kl_ramp=1.0)
    a, run = train(recipe, small, seed=0)
    b, _ = train(recipe, small, seed=0)
    c, _ = train(recipe, small, seed=1)
    assert torch.equal(weights(a), weights(b))
    assert not torch.equal(weights(a), weights(c))
    assert not a.training and run["kept_epoch"] == 2 and run["seconds"] > 0


def test_a_heavier_kl_weight_squeezes_the_posterior(small):
    plain, _ = train(Recipe(epochs=3), small, seed=0)
    squeezed, _ = train(Recipe(epochs=3, kl_start=50.0, kl_ramp=100.0), small, seed=0)
    kl = [
        evaluate_elbo(m, small.test_x, small.test_y, generator=torch.Generator().manual_seed(0))["kl"]
        for m in (plain, squeezed)
    ]
    assert kl[1] < 0.5 * kl[0]


def test_early_stopping_keeps_the_best_checked_epoch(small):
    model, run = train(Recipe(epochs=4, val_size=100, select="val_elbo", check_every=1), small, seed=0)
    scores = [row["val_elbo"] for row in run["curve"]]
    assert [row["epoch"] for row in run["curve"]] == [1, 2, 3, 4]
    assert run["kept_epoch"] == 1 + scores.index(max(scores))
    _, _, val_x, val_y = _split(small, 100)
    held_out = evaluate_elbo(model, val_x, val_y, generator=torch.Generator().manual_seed(0))["elbo"]
    assert held_out == pytest.approx(max(scores))  # the kept weights are the best epoch's


@pytest.mark.parametrize(
    ("recipe", "message"),
    [(Recipe(select="judge"), "needs a judge"), (Recipe(select="val_elbo"), "val_size")],
)
def test_a_selection_without_what_it_needs_is_refused(small, recipe, message):
    with pytest.raises(ValueError, match=message):
        train(recipe, small, seed=0)
