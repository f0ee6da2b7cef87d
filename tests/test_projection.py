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


def test_pca_plane_goes_back_exactly_and_holds_the_other_directions_at_their_mean():
    from vae.projection import pca_plane

    mu = latent_sample(n=300, z_dim=7)
    plane = pca_plane(mu)
    xy = plane.to_map(mu)
    np.testing.assert_allclose(xy, project(mu, "pca"), atol=1e-6)
    np.testing.assert_allclose(plane.axes @ plane.axes.T, np.eye(2), atol=1e-12)  # orthonormal
    back = plane.to_z(xy)  # (300, 7): each point moved onto the plane
    np.testing.assert_allclose(plane.to_map(back), xy, atol=1e-4)  # the map of the way back is the same spot
    # Along every other principal direction the way back sits at the points' mean.
    _, _, vt = np.linalg.svd(mu - mu.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose((back - mu.mean(axis=0)) @ vt[2:].T, 0.0, atol=1e-4)
    # ... which is the least-squares best z for each point given only its two coordinates
    residual = np.linalg.norm(mu - back, axis=1)
    other = plane.to_z(xy + 0.1)
    assert (np.linalg.norm(mu - other, axis=1) > residual).all()
    biggest = plane.axes[np.arange(2), np.abs(plane.axes).argmax(axis=1)]
    assert (biggest > 0).all()  # signs fixed, so a refit never mirrors the map
    np.testing.assert_allclose(pca_plane(-mu).axes, plane.axes, atol=1e-9)


def test_a_gaussian_projects_to_the_covariance_the_plane_says():
    from vae.projection import pca_plane

    mu = latent_sample(n=200, z_dim=5)
    plane = pca_plane(mu)
    var = np.array([0.5, 2.0, 0.1, 1.0, 3.0])
    samples = np.random.default_rng(1).normal(size=(200_000, 5)) * np.sqrt(var)
    np.testing.assert_allclose(np.cov(plane.to_map(samples), rowvar=False), plane.spread(var), atol=0.02)
    np.testing.assert_allclose(plane.prior_centre, plane.to_map(np.zeros((1, 5)))[0])


def test_low_dimensional_planes_are_z_itself():
    from vae.projection import pca_plane

    two = pca_plane(latent_sample(z_dim=2))
    np.testing.assert_array_equal(two.to_z(np.array([[1.5, -2.0]])), np.float32([[1.5, -2.0]]))
    one = pca_plane(latent_sample(z_dim=1))
    np.testing.assert_array_equal(one.to_map(np.array([[0.7]])), np.float32([[0.7, 0.0]]))
    np.testing.assert_array_equal(
        one.to_z(np.array([[0.7, 5.0]])), np.float32([[0.7]])
    )  # y means nothing for one number
    np.testing.assert_array_equal(one.spread(np.array([4.0])), [[4.0, 0.0], [0.0, 0.0]])


def test_nearest_inverse_returns_a_points_own_z_and_blends_between():
    from vae.projection import nearest_inverse

    points = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    z = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(nearest_inverse(points, z, points), z, atol=1e-4)  # on a point: its own z
    middle = nearest_inverse(points, z, np.array([[5.0, 5.0]]))  # equidistant: the plain mean
    np.testing.assert_allclose(middle, [z.mean(axis=0)], atol=1e-6)
    near_first = nearest_inverse(points, z, np.array([[1.0, 0.0]]), k=2)[0]  # 1 from the first, 9 from the second
    np.testing.assert_allclose(near_first, (81 * z[0] + 1 * z[1]) / 82, atol=1e-4)
    with pytest.raises(ValueError, match="one z each"):
        nearest_inverse(points, z[:3], points)


def test_tsne_reports_progress_and_reads_wide_latents_through_pca():
    from vae.projection import tsne

    seen = []
    with threadpool_limits(limits=1):
        xy = tsne(latent_sample(n=150, z_dim=64), perplexity=10, progress=seen.append)
    assert xy.shape == (150, 2) and np.isfinite(xy).all()
    assert len(seen) > 20 and seen[-1] == 1.0 and np.all(np.diff(seen) >= 0) and 0 < seen[0] < 0.1
    labels = np.arange(150) % 3
    centres = np.stack([xy[labels == c].mean(axis=0) for c in range(3)])
    assert (np.linalg.norm(xy[:, None] - centres[None], axis=2).argmin(axis=1) == labels).mean() > 0.95
