import math

import pytest
import torch
from torch import distributions as D

from vae.config import preset
from vae.losses import bernoulli_log_likelihood, gaussian_log_likelihood, kl_to_standard_normal, vae_loss
from vae.model import ConditionalVAE, decoder_layers, one_hot, parameter_counts


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 6, generator=g)
    var = torch.rand(4, 6, generator=g) + 0.2
    q = D.Normal(mu, var.sqrt())
    z = q.sample((200_000,))  # (S, 4, 6)
    mc = (q.log_prob(z) - D.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(kl_to_standard_normal(mu, var), mc, atol=0.03)


def test_log_likelihoods_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 784, generator=g)
    logits = torch.randn(5, 784, generator=g)
    mean = torch.sigmoid(logits)
    expected = D.Normal(mean, 0.5).log_prob(x).sum(1)
    assert torch.allclose(gaussian_log_likelihood(x, mean, 0.5), expected, atol=1e-3)
    xb = (x > 0.5).float()
    assert torch.allclose(
        bernoulli_log_likelihood(xb, logits), D.Bernoulli(logits=logits).log_prob(xb).sum(1), atol=1e-3
    )


def test_gradients_flow_through_the_sampled_z():
    model = ConditionalVAE(preset("seed"))
    x = torch.rand(8, 784)
    out = model(x)
    out["z"].sum().backward()
    assert model.mu_head.weight.grad.abs().sum() > 0
    assert model.var_head.weight.grad.abs().sum() > 0  # only reachable through sqrt(var) * eps


def test_reparameterize_has_the_right_moments():
    mu, var = torch.full((100_000, 1), 2.0), torch.full((100_000, 1), 9.0)
    z = ConditionalVAE.reparameterize(mu, var, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 2.0) < 0.05 and abs(z.std().item() - 3.0) < 0.05


@pytest.mark.parametrize(
    "changes",
    [{}, {"z_dim": 1}, {"z_dim": 64, "activation": "relu"}, {"classification_weight": 0.0}, {"encoder_layers": ()}],
)
def test_shapes_for_several_configs(changes):
    c = preset("seed").replace(**changes)
    model = ConditionalVAE(c)
    out = model(torch.rand(3, 784))
    assert out["mu"].shape == out["var"].shape == out["z"].shape == (3, c.z_dim)
    assert (out["var"] > 0).all()
    assert out["recon_logits"].shape == (3, 784)
    assert (out["class_logits"] is None) == (not c.conditional)
    digit = one_hot([1, 2, 3]) if c.conditional else None
    img = model.decode(torch.zeros(3, c.z_dim), digit)
    assert img.shape == (3, 784) and 0 <= img.min() and img.max() <= 1
    parts = vae_loss(c, torch.rand(3, 784), torch.tensor([1, 2, 3]), out)
    assert set(parts) == {"loss", "recon", "kl", "class", "acc"} and math.isfinite(parts["loss"].item())
    assert decoder_layers(model)[0]["weight"].shape == (128, model.decoder_input_dim)


@pytest.mark.parametrize(
    "changes",
    [{}, {"classification_weight": 0.0}, {"encoder_layers": (), "decoder_layers": (64, 32), "z_dim": 3}],
)
def test_parameter_counts_match_the_built_model(changes):
    model = ConditionalVAE(preset("seed").replace(**changes))
    built = {
        "encoder": sum(p.numel() for m in (model.encoder_body, model.mu_head, model.var_head) for p in m.parameters()),
        "classifier": sum(p.numel() for p in model.classifier.parameters()) if model.classifier is not None else 0,
        "decoder": sum(p.numel() for p in model.decoder.parameters()),
    }
    assert parameter_counts(model.config) == built


def test_conditional_decode_requires_a_digit():
    with pytest.raises(ValueError, match="digit"):
        ConditionalVAE(preset("seed")).decode(torch.zeros(1, 10))
