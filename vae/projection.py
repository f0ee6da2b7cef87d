"""The latent space in two dimensions: encoder means, then PCA or t-SNE. Arrays in, arrays out.

A 2-D latent space needs no projection: PCA returns its coordinates unchanged, so the picture's
axes are z1 and z2 and match what the decoder reads. A 1-D latent space is drawn on the x-axis
(the second column is 0) by both methods: there is nothing to project.
"""

from __future__ import annotations

import numpy as np
import torch

from vae.model import ConditionalVAE

METHODS = ("pca", "tsne")


def encode_means(model: ConditionalVAE, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """The encoder's mean mu(x) for every image in x (N, 784): float32 array (N, z_dim)."""
    if x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"expected images of shape (N, 784), got {tuple(x.shape)}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [model.encode(x[i : i + batch_size].to(device))[0].cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not parts:
        return np.zeros((0, model.config.z_dim), dtype=np.float32)
    return torch.cat(parts).numpy().astype(np.float32, copy=False)


def project(mu: np.ndarray, method: str = "pca", seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """mu (N, z_dim) -> (N, 2) float32 coordinates by `method` ('pca' or 'tsne').

    t-SNE (scikit-learn, PCA-initialised, seeded) keeps neighbourhoods but not distances, and is
    slow: tens of seconds for 10,000 points on two cores. `perplexity` is used only by t-SNE and
    must be below N.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    mu = np.asarray(mu, dtype=np.float32)
    if mu.ndim != 2 or mu.shape[1] < 1:
        raise ValueError(f"expected latent means of shape (N, z_dim >= 1), got {mu.shape}")
    n, z_dim = mu.shape
    if n < 2:
        raise ValueError(f"need at least 2 points to project, got {n}")
    if not np.isfinite(mu).all():
        raise ValueError("latent means contain NaN or infinity; was the model trained to divergence?")
    if z_dim == 1:
        return np.concatenate([mu, np.zeros_like(mu)], axis=1)
    if method == "pca":
        if z_dim == 2:
            return mu.copy()
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(mu).astype(np.float32)
    if not 0 < perplexity < n:
        raise ValueError(f"t-SNE's perplexity must be in (0, N = {n}), got {perplexity}; use more points")
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(mu).astype(np.float32)
