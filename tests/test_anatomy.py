"""vae.anatomy.trace: one image's values on its way through the model, checked against the model's own
encode / reparameterize / decode."""

import numpy as np
import pytest
import torch

from vae.anatomy import trace
from vae.config import preset
from vae.model import ConditionalVAE


def model_of(**changes) -> ConditionalVAE:
    torch.manual_seed(0)
    return ConditionalVAE(preset("seed").replace(**changes).model).eval()


def image(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 784, generator=torch.Generator().manual_seed(seed))


def test_z_is_mu_plus_sigma_times_eps_and_matches_the_models_own_sampling():
    model, x = model_of(), image()
    a = trace(model, x, torch.Generator().manual_seed(3))
    np.testing.assert_allclose(a.z, a.mu + a.sigma * a.eps, rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        mu, var = model.encode(x)
        z = model.reparameterize(mu, var, torch.Generator().manual_seed(3))  # the trainer's way to draw z
        probs = model.digit_probs(x)
        recon, recon_mu = model.decode(torch.cat([z, mu]), probs.expand(2, -1))
    np.testing.assert_allclose(a.mu, mu[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(a.sigma, var[0].sqrt().numpy(), atol=1e-6)
    np.testing.assert_allclose(a.z, z[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(a.probs, probs[0].numpy(), atol=1e-6)
    assert a.probs.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(a.recon, recon.reshape(28, 28).numpy(), atol=1e-6)
    np.testing.assert_allclose(a.recon_mu, recon_mu.reshape(28, 28).numpy(), atol=1e-6)
    np.testing.assert_array_equal(a.image, x.reshape(28, 28).numpy())
    assert not np.allclose(a.recon, a.recon_mu)  # the noise moved z away from mu


def test_the_same_seed_gives_the_same_eps_and_another_seed_another():
    model, x = model_of(), image()
    first, again = (trace(model, x, torch.Generator().manual_seed(7)) for _ in range(2))
    other = trace(model, x, torch.Generator().manual_seed(8))
    np.testing.assert_array_equal(first.eps, again.eps)
    np.testing.assert_array_equal(first.z, again.z)
    assert not np.allclose(first.eps, other.eps)
    np.testing.assert_array_equal(first.mu, other.mu)  # mu and sigma depend on x alone


def test_a_plain_vae_has_no_probabilities():
    a = trace(model_of(classification_weight=0.0), image(), torch.Generator().manual_seed(0))
    assert a.probs is None
    assert a.recon.shape == a.recon_mu.shape == (28, 28)


@pytest.mark.parametrize("z_dim", [1, 64])
def test_any_latent_size(z_dim: int):
    a = trace(model_of(z_dim=z_dim), image(), torch.Generator().manual_seed(0))
    for values in (a.mu, a.sigma, a.eps, a.z):
        assert values.shape == (z_dim,) and values.dtype == np.float32
    assert (a.sigma > 0).all()
    assert a.probs.shape == (10,)


def test_the_models_mode_is_restored():
    model = model_of().train()
    trace(model, image(), torch.Generator().manual_seed(0))
    assert model.training


@pytest.mark.parametrize("bad", [torch.rand(2, 784), torch.rand(784), torch.rand(1, 28, 28), np.zeros((1, 784))])
def test_anything_but_one_flat_image_is_refused_clearly(bad):
    with pytest.raises(ValueError, match=r"one image as a tensor of shape \(1, 784\)"):
        trace(model_of(), bad, torch.Generator())
