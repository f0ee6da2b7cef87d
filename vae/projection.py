"""The latent space in two dimensions: encoder means, then PCA or t-SNE, and back. Arrays in, arrays out.

A 2-D latent space needs no projection: its plane is z itself (axes z0 and z1, what the decoder
reads). A 1-D latent space is drawn on the x-axis (y is 0). Wider ones go through PCA, an affine map
with an exact way back within its plane (`Plane`), or t-SNE, which keeps neighbourhoods but has no
formula for new points and none back (`nearest_inverse` is the documented approximation the map uses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vae.model import ConditionalVAE

METHODS = ("pca", "tsne")
TSNE_PCA_DIMS = 50  # t-SNE reads at most this many PCA dimensions (z_dim 64 -> 50): the usual speed-up
TSNE_EXACT_BELOW = 3_000  # exact affinities below this many points (an N x N matrix), approximate above
TSNE_ITERS = (250, 250)  # early exaggeration, then the plain phase: enough for a few thousand points
TSNE_THETA = 0.8  # Barnes-Hut's accuracy: 0.5 (openTSNE's default) took 1.5x as long for the same neighbours
INVERSE_K = 8  # t-SNE's way back: the weighted mean z of this many nearest map points


def encode_means(model: ConditionalVAE, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """The encoder's mean mu(x) for every image in x (N, 784): float32 array (N, z_dim)."""
    return encode(model, x, batch_size)[0]


def encode(model: ConditionalVAE, x: torch.Tensor, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's mean and variance for every image in x (N, 784): two float32 arrays (N, z_dim)."""
    if x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"expected images of shape (N, 784), got {tuple(x.shape)}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [model.encode(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not parts:
        empty = np.zeros((0, model.config.z_dim), dtype=np.float32)
        return empty, empty.copy()
    mu = torch.cat([m.cpu() for m, _ in parts]).numpy().astype(np.float32, copy=False)
    var = torch.cat([v.cpu() for _, v in parts]).numpy().astype(np.float32, copy=False)
    return mu, var


@dataclass(frozen=True)
class Plane:
    """A plane through the latent space: map point xy = (z - mean) @ axes.T, and back z = mean + xy @ axes.

    `axes` (2, z_dim) has orthonormal rows (for z_dim 1 the second row is 0). The way back is exact within
    the plane: it puts z at the mean of the points along every direction the map does not show."""

    mean: np.ndarray  # (z_dim,)
    axes: np.ndarray  # (2, z_dim)

    def to_map(self, z: np.ndarray) -> np.ndarray:
        """(..., z_dim) -> (..., 2) float32."""
        return ((np.asarray(z, np.float64) - self.mean) @ self.axes.T).astype(np.float32)

    def to_z(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) -> (..., z_dim) float32."""
        return (self.mean + np.asarray(xy, np.float64) @ self.axes).astype(np.float32)

    def spread(self, var: np.ndarray) -> np.ndarray:
        """The (2, 2) covariance on the map of a Gaussian in z with diagonal variances `var` (z_dim,)."""
        return (self.axes * np.asarray(var, np.float64)) @ self.axes.T

    @property
    def prior_centre(self) -> np.ndarray:
        """Where the prior's centre, z = 0, lands (2,): the map of N(0, I) is N(this, I) for orthonormal axes."""
        return self.to_map(np.zeros_like(self.mean))


def pca_plane(mu: np.ndarray) -> Plane:
    """The plane of the two directions along which `mu` (N, z_dim) spreads most; z itself for z_dim <= 2.

    Signs are fixed (each axis's largest coefficient is positive) so that a model's map does not flip
    between two fits."""
    mu = _check(mu)
    n, z_dim = mu.shape
    if z_dim <= 2:
        axes = np.eye(2, z_dim)  # z0 -> x, z1 -> y (or 0)
        return Plane(np.zeros(z_dim), axes)
    mean = mu.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(mu.astype(np.float64) - mean, full_matrices=False)
    axes = vt[:2].copy()  # (2, z_dim)
    biggest = np.abs(axes).argmax(axis=1)
    axes *= np.sign(axes[np.arange(2), biggest])[:, None]
    return Plane(mean, axes)


def project(
    mu: np.ndarray,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30.0,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """mu (N, z_dim) -> (N, 2) float32 coordinates by `method` ('pca' or 'tsne'); see `tsne`."""
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    mu = _check(mu)
    if method == "pca" or mu.shape[1] == 1:
        return pca_plane(mu).to_map(mu)
    return tsne(mu, seed, perplexity, progress)


def tsne(
    mu: np.ndarray, seed: int = 0, perplexity: float = 30.0, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """t-SNE of mu (N, z_dim) -> (N, 2) float32: openTSNE, Barnes-Hut, PCA-initialised, seeded, one thread.

    Fast enough for a class to wait for (2,000 points in a few seconds: BENCHMARKS.md): PCA to at most
    TSNE_PCA_DIMS dimensions first, exact affinities below TSNE_EXACT_BELOW points, TSNE_ITERS
    iterations. `progress(fraction)` is called as it goes (0 < fraction <= 1). `perplexity` must be
    below N / 3 (each point's neighbourhood is 3 x perplexity points)."""
    from openTSNE import TSNEEmbedding, affinity, initialization

    mu = _check(mu)
    n, z_dim = mu.shape
    if not 0 < perplexity < n / 3:
        raise ValueError(f"t-SNE's perplexity must be in (0, N / 3 = {n / 3:.1f}), got {perplexity}; use more points")
    x = mu.astype(np.float64)
    if z_dim > TSNE_PCA_DIMS:
        x = x - x.mean(axis=0)
        x = x @ np.linalg.svd(x, full_matrices=False)[2][:TSNE_PCA_DIMS].T  # (N, 50)
    report = progress or (lambda fraction: None)
    total = sum(TSNE_ITERS) + 25  # the affinities cost about as much as 25 iterations
    method = "exact" if n < TSNE_EXACT_BELOW else "annoy"
    p = affinity.PerplexityBasedNN(x, perplexity=perplexity, method=method, n_jobs=1, random_state=seed)
    report(25 / total)
    start = initialization.pca(x, random_state=seed)
    embedding = TSNEEmbedding(start, p, negative_gradient_method="bh", theta=TSNE_THETA, n_jobs=1, random_state=seed)
    done = 25
    for n_iter, phase in zip(TSNE_ITERS, ({"exaggeration": 12, "momentum": 0.5}, {"momentum": 0.8}), strict=True):

        def tick(iteration: int, error: float, _embedding: np.ndarray, base: int = done) -> None:
            report((base + iteration) / total)

        embedding = embedding.optimize(n_iter, callbacks=tick, callbacks_every_iters=10, **phase)
        done += n_iter
    report(1.0)
    return np.asarray(embedding, dtype=np.float32)


def nearest_inverse(points: np.ndarray, z: np.ndarray, query: np.ndarray, k: int = INVERSE_K) -> np.ndarray:
    """t-SNE's approximate way back: for each query point (Q, 2) on the map, the mean z of its k nearest
    map points (points (N, 2) with latents z (N, z_dim)), weighted by 1 / (distance^2 + eps^2), eps being
    1/1000 of the map's width (so a query on a point returns about that point's z). -> (Q, z_dim) float32.

    A guess, not an inverse: t-SNE has no formula from the plane back to z. Between clusters it blends
    codes that may not belong together. The browser computes the same (`ui/latent_map/frontend/hover.js`)."""
    points, z, query = (np.asarray(a, np.float64) for a in (points, z, query))
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(z) or len(points) == 0:
        raise ValueError(f"need map points (N, 2) with one z each, got {points.shape} and {z.shape}")
    eps = 1e-3 * max(float(np.ptp(points, axis=0).max()), 1e-12)
    k = min(k, len(points))
    d2 = ((query[:, None, :] - points[None]) ** 2).sum(axis=2)  # (Q, N)
    near = np.argpartition(d2, k - 1, axis=1)[:, :k]  # (Q, k)
    w = 1.0 / (np.take_along_axis(d2, near, axis=1) + eps * eps)  # (Q, k)
    return ((w[:, :, None] * z[near]).sum(axis=1) / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _check(mu: np.ndarray) -> np.ndarray:
    mu = np.asarray(mu, dtype=np.float32)
    if mu.ndim != 2 or mu.shape[1] < 1:
        raise ValueError(f"expected latent means of shape (N, z_dim >= 1), got {mu.shape}")
    if len(mu) < 2:
        raise ValueError(f"need at least 2 points to project, got {len(mu)}")
    if not np.isfinite(mu).all():
        raise ValueError("latent means contain NaN or infinity; was the model trained to divergence?")
    return mu
