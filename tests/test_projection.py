import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from vae.config import preset
from vae.model import ConditionalVAE
from vae.projection import encode_means, project


def latent_sample(n: int = 120, z_dim: int = 6, seed: int = 0) -> np.ndarray:
    """Three well-separated Gaussian clusters in z_dim dimensions: (n, z_dim) float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(3, z_dim))
    return (centres[np.arange(n) % 3] + rng.normal(size=(n, z_dim))).astype(np.float32)


def test_encode_means_are_the_encoder_means_in_batches():
    model = ConditionalVAE(preset("seed"))  # z_dim 10
    model.train()
    x = torch.rand(25, 784, generator=torch.Generator().manual_seed(0))
    mu = encode_means(model, x, batch_size=10)  # batches of 10, 10, 5
    assert mu.shape == (25, 10) and mu.dtype == np.float32
    with torch.no_grad():
        expected = model.eval().encode(x)[0].numpy()
    np.testing.assert_allclose(mu, expected, rtol=1e-5, atol=1e-6)
    model.train()
    encode_means(model, x)
    assert model.training
    with pytest.raises(ValueError, match="784"):
        encode_means(model, torch.rand(3, 28, 28))


def test_pca_keeps_the_directions_of_largest_variance():
    mu = latent_sample()
    xy = project(mu, "pca")
    assert xy.shape == (120, 2) and xy.dtype == np.float32
    np.testing.assert_array_equal(project(mu, "pca"), xy)
    # Reference: the variances along the two PCA axes are the two largest covariance eigenvalues.
    eigenvalues = np.linalg.eigvalsh(np.cov(mu.astype(np.float64), rowvar=False))[::-1]
    np.testing.assert_allclose(xy.var(axis=0, ddof=1), eigenvalues[:2], rtol=1e-3)
    np.testing.assert_allclose(xy.mean(axis=0), 0.0, atol=1e-3)


def test_low_dimensional_latents_are_not_projected():
    mu2 = latent_sample(z_dim=2)
    np.testing.assert_array_equal(project(mu2, "pca"), mu2)  # the axes stay z1 and z2
    mu1 = latent_sample(z_dim=1)
    for method in ("pca", "tsne"):
        xy = project(mu1, method)
        assert xy.shape == (120, 2)
        np.testing.assert_array_equal(xy[:, 0], mu1[:, 0])
        assert (xy[:, 1] == 0).all()


def test_tsne_is_seeded_and_keeps_clusters_apart():
    mu = latent_sample(n=90)
    # One OpenMP thread: on a busy shared 2-core machine more threads made this 10x slower.
    with threadpool_limits(limits=1):
        a = project(mu, "tsne", seed=0, perplexity=10)
        again = project(mu, "tsne", seed=0, perplexity=10)
    assert a.shape == (90, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(again, a)
    labels = np.arange(90) % 3
    centres = np.stack([a[labels == c].mean(axis=0) for c in range(3)])
    nearest = np.linalg.norm(a[:, None, :] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels).mean() > 0.95


def test_clear_errors():
    mu = latent_sample()
    with pytest.raises(ValueError, match="unknown projection method 'umap'"):
        project(mu, "umap")
    with pytest.raises(ValueError, match="perplexity"):
        project(mu[:20], "tsne")  # default perplexity 30 needs more than 30 points
    with pytest.raises(ValueError, match="at least 2 points"):
        project(mu[:1], "pca")
    with pytest.raises(ValueError, match="shape"):
        project(mu[0], "pca")
    bad = mu.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        project(bad, "pca")
