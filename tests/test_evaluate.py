import json
import math

import numpy as np
import pytest
import torch
from torch import distributions as D
from torch import nn

from vae.config import preset
from vae.data import Dataset
from vae.evaluate import (
    classifier_accuracy,
    conditional_accuracy,
    evaluate,
    evaluate_elbo,
    iwae_log_likelihood,
    kl_per_dimension,
)
from vae.losses import log_likelihood, vae_loss
from vae.model import ConditionalVAE

TINY = preset("tiny")  # z_dim 2, Gaussian likelihood, conditional
BERNOULLI = TINY.replace(z_dim=4, likelihood="bernoulli", classification_weight=0.0)


def train_briefly(config, dataset: Dataset, steps: int = 200, seed: int = 0) -> ConditionalVAE:
    """A few hundred Adam steps on random batches: enough for a model that is clearly not random."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ConditionalVAE(config)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for _ in range(steps):
        idx = torch.randint(len(dataset.train_x), (config.batch_size,), generator=g)
        x, y = dataset.train_x[idx], dataset.train_y[idx]
        loss = vae_loss(config, x, y, model(x, generator=g))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.fixture(scope="module")
def tiny_model(mnist) -> ConditionalVAE:
    return train_briefly(TINY, mnist)


@pytest.fixture(scope="module")
def bernoulli_model(mnist) -> ConditionalVAE:
    return train_briefly(BERNOULLI, mnist)


class AlwaysSays(nn.Module):
    """A stand-in judge that calls every image the same digit."""

    def __init__(self, digit: int) -> None:
        super().__init__()
        self.digit = digit
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1:] == (784,) and 0 <= x.min() and x.max() <= 1
        logits = torch.zeros(len(x), 10)
        logits[:, self.digit] = 1.0
        return logits


def test_iwae_matches_a_reference_built_from_torch_distributions(tiny_model, mnist):
    x, k = mnist.test_x[:50], 5
    got = iwae_log_likelihood(tiny_model, x, k=k, batch_size=50, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        mu, var = tiny_model.encode(x)
        q = D.Normal(mu, var.sqrt())
        eps = torch.randn((k, *mu.shape), generator=torch.Generator().manual_seed(3))  # same draws
        z = mu + var.sqrt() * eps  # (k, B, z_dim)
        digit = torch.softmax(tiny_model.classify(x), dim=1)
        log_px = torch.stack([log_likelihood(TINY, x, tiny_model.decode_logits(z[i], digit)) for i in range(k)])
        log_w = log_px + D.Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)  # (k, B)
        expected = (torch.logsumexp(log_w, dim=0) - math.log(k)).mean().item()
    assert got == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("model_name", ["tiny_model", "bernoulli_model"])
def test_iwae_with_one_sample_is_the_elbo_in_expectation(model_name, mnist, request):
    model = request.getfixturevalue(model_name)
    x = mnist.test_x[:200].repeat(25, 1)  # 5,000 single-sample estimates
    g = torch.Generator().manual_seed(0)
    elbo = evaluate_elbo(model, x, None, generator=g)["elbo"]
    iwae1 = iwae_log_likelihood(model, x, k=1, generator=g)
    # They differ only by Monte Carlo noise (standard error about 0.1 nats here); a wrong term costs nats.
    assert iwae1 == pytest.approx(elbo, abs=0.5)


def test_iwae_with_50_samples_is_a_tighter_bound_than_the_elbo(bernoulli_model, mnist):
    x = mnist.test_x[:300]
    g = torch.Generator().manual_seed(0)
    elbo = evaluate_elbo(bernoulli_model, x.repeat(10, 1), None, generator=g)["elbo"]
    iwae50 = iwae_log_likelihood(bernoulli_model, x, k=50, generator=g)
    assert iwae50 > elbo + 0.5  # measured gap: about 5 nats after 200 steps
    assert iwae50 < 0  # a log-probability of binary-ish pixels


def test_evaluate_elbo_matches_vae_loss_and_weights_uneven_batches(tiny_model, mnist):
    x, y = mnist.test_x, mnist.test_y
    whole = evaluate_elbo(tiny_model, x, y, batch_size=len(x), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = tiny_model(x, generator=torch.Generator().manual_seed(5))
        direct = {k: v.item() for k, v in vae_loss(TINY, x, y, out).items()}
    for name in ("loss", "recon", "kl", "class", "acc"):
        assert whole[name] == pytest.approx(direct[name], rel=1e-5)
    assert whole["elbo"] == pytest.approx(-(direct["recon"] + direct["kl"]), rel=1e-5)
    uneven = evaluate_elbo(tiny_model, x, y, batch_size=300)  # 300, 300, 300, 100
    assert uneven["acc"] == pytest.approx(classifier_accuracy(tiny_model, x, y), abs=1e-6)
    assert uneven["class"] == pytest.approx(whole["class"], rel=1e-5)  # deterministic given x


def test_kl_per_dimension_adds_up_to_the_kl_term(tiny_model, bernoulli_model, mnist):
    x = mnist.test_x[:250]
    for model in (tiny_model, bernoulli_model):
        per_dim = kl_per_dimension(model, x, batch_size=100)  # 100, 100, 50
        assert per_dim.shape == (model.config.z_dim,) and (per_dim >= 0).all()
        assert per_dim.sum() == pytest.approx(evaluate_elbo(model, x, None)["kl"], rel=1e-5)
    with torch.no_grad():
        mu, var = bernoulli_model.encode(x)
    expected = D.kl_divergence(D.Normal(mu, var.sqrt()), D.Normal(0.0, 1.0)).mean(dim=0)
    np.testing.assert_allclose(kl_per_dimension(bernoulli_model, x), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_functions_restore_train_mode_and_leave_no_gradients(tiny_model, mnist):
    tiny_model.zero_grad(set_to_none=True)
    tiny_model.train()
    evaluate_elbo(tiny_model, mnist.test_x[:10], mnist.test_y[:10])
    iwae_log_likelihood(tiny_model, mnist.test_x[:10], k=2)
    assert tiny_model.training
    assert all(p.grad is None for p in tiny_model.parameters())
    tiny_model.eval()


def test_classifier_accuracy(tiny_model, bernoulli_model, mnist):
    assert classifier_accuracy(tiny_model, mnist.test_x, mnist.test_y) >= 0.8
    assert math.isnan(classifier_accuracy(bernoulli_model, mnist.test_x, mnist.test_y))


def test_conditional_accuracy_asks_the_judge_about_each_digit(tiny_model, bernoulli_model):
    result = conditional_accuracy(tiny_model, AlwaysSays(3), n_per_digit=7)
    assert result["per_digit"] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert result["overall"] == pytest.approx(0.1)
    assert conditional_accuracy(bernoulli_model, AlwaysSays(3)) is None
    with pytest.raises(ValueError, match="n_per_digit"):
        conditional_accuracy(tiny_model, AlwaysSays(3), n_per_digit=0)


def test_evaluate_is_json_ready_and_reproducible(tiny_model, bernoulli_model, mnist):
    report = evaluate(tiny_model, mnist, judge=AlwaysSays(0), k=3, n_per_digit=5)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["dataset"] == "mnist" and report["n_test"] == len(mnist.test_y) and report["iwae_k"] == 3
    assert report["iwae"] > report["elbo"] - 1.0
    assert report["conditional_accuracy"]["per_digit"][0] == 1.0
    # a judge that always says 0 is right on exactly the real 0s
    judged = report["judge_accuracy_on_test_images"]
    assert judged["per_digit"] == [1.0] + [0.0] * 9
    assert judged["overall"] == pytest.approx((mnist.test_y == 0).float().mean().item())
    assert evaluate(tiny_model, mnist, judge=AlwaysSays(0), k=3, n_per_digit=5) == report
    plain = evaluate(bernoulli_model, mnist, k=2)
    json.dumps(plain, allow_nan=False)
    assert plain["classifier_accuracy"] is None and plain["conditional_accuracy"] is None
    assert plain["judge_accuracy_on_test_images"] is None


def test_evaluate_asks_a_panel_of_judges_over_several_seeds(tiny_model, mnist):
    panel = {"a": AlwaysSays(0), "b": AlwaysSays(0)}
    report = evaluate(tiny_model, mnist, judge=panel, k=2, n_per_digit=5, seed=3, n_seeds=2, temperature=0.5)
    judged = report["conditional_accuracy"]
    assert judged["seeds"] == [3, 4] and judged["n_per_digit"] == 5 and judged["temperature"] == 0.5
    assert judged["per_digit"] == [1.0] + [0.0] * 9 and judged["std"] == 0.0 and judged["agreement"] == 1.0
    assert set(judged["judges"]) == set(report["judge_accuracy_on_test_images"]["judges"]) == {"a", "b"}
    json.dumps(report, allow_nan=False)
    with pytest.raises(ValueError, match="n_seeds must be >= 1"):
        evaluate(tiny_model, mnist, judge=panel, k=2, n_seeds=0)


def test_clear_errors(tiny_model, mnist):
    with pytest.raises(ValueError, match="k must be"):
        iwae_log_likelihood(tiny_model, mnist.test_x[:4], k=0)
    with pytest.raises(ValueError, match="784"):
        evaluate_elbo(tiny_model, torch.rand(4, 28, 28), None)
    fashion = Dataset("fashion-mnist", mnist.train_x, mnist.train_y, mnist.test_x, mnist.test_y, source="test")
    with pytest.raises(ValueError, match="trained on 'mnist'"):
        evaluate(tiny_model, fashion)
