"""Drawing with a trained model: sample rows, traversals, interpolations and digit blends.

Pure functions of an eval-mode model and tensors; each returns images (N, 784) in [0, 1] (or, for a
sample row, (10, 28, 28)) on the CPU as numpy arrays, ready for `vae.images.grid`.
"""

from __future__ import annotations

import numpy as np
import torch

from vae.model import NUM_CLASSES, ConditionalVAE, evaluating, one_hot


def sample_row(model: ConditionalVAE, generator: torch.Generator) -> np.ndarray:
    """The reference's per-epoch picture: one random style z decoded as each of the ten digits
    (a plain VAE: ten random z). Returns (10, 28, 28)."""
    device = next(model.parameters()).device
    n = 1 if model.config.conditional else NUM_CLASSES
    z = torch.randn(n, model.config.z_dim, generator=generator).to(device)  # (n, z_dim)
    with evaluating(model):
        return model.digit_row(z).reshape(NUM_CLASSES, 28, 28).cpu().numpy()


def styles(model: ConditionalVAE, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """n styles z ~ N(0, τ² I), the same for the same seed: (n, z_dim)."""
    g = torch.Generator().manual_seed(seed)
    return temperature * torch.randn(n, model.config.z_dim, generator=g)


def digit_rows(model: ConditionalVAE, z: torch.Tensor) -> np.ndarray:
    """Each style z (S, z_dim) as each of the ten digits: (S * 10, 784), style by style (a plain VAE:
    each z once, (S, 784))."""
    with evaluating(model):
        return model.digit_row(z).numpy()


def decode(model: ConditionalVAE, z: np.ndarray, digit: np.ndarray | None = None) -> np.ndarray:
    """z (B, z_dim) with digit inputs (B, 10) (ignored by a plain VAE) -> images (B, 784)."""
    with evaluating(model):
        d = torch.as_tensor(digit, dtype=torch.float32) if model.config.conditional and digit is not None else None
        if model.config.conditional and d is None:
            raise ValueError("this model is conditional: give a digit input of 10 probabilities per z")
        return model.decode(torch.as_tensor(z, dtype=torch.float32), d).numpy()


def reconstruct(model: ConditionalVAE, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
    """x (B, 784) -> (the deterministic reconstructions (B, 784), the classifier's probabilities (B, 10)
    or None): the encoder's mean decoded with the classifier's softmax, as in training minus the noise."""
    with evaluating(model):
        recon, probs = model.reconstruct(x)
    return recon.numpy(), (probs.numpy() if probs is not None else None)


def traversal(model: ConditionalVAE, z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """z (z_dim,) with dimension `dim` swept over `values` (V,), as each of the ten digits (a plain VAE:
    once): (10 * V, 784), digit by digit, V images each."""
    rows = NUM_CLASSES if model.config.conditional else 1
    zs = np.repeat(np.asarray(z, np.float32)[None], rows * len(values), 0)  # (rows * V, z_dim)
    zs[:, dim] = np.tile(values, rows)
    digits = one_hot([d for d in range(rows) for _ in values]).numpy() if model.config.conditional else None
    return decode(model, zs, digits)


def interpolation(model: ConditionalVAE, x: torch.Tensor, steps: int = 10) -> np.ndarray:
    """Two images x (2, 784) -> `steps` images on the straight line between their encodings (mu), the
    classifier's digit belief blended the same way: (steps, 784)."""
    with evaluating(model):
        mu, _ = model.encode(x)  # (2, z_dim)
        probs = model.digit_probs(x)  # (2, 10) or None
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    z = (1 - t) * mu[0] + t * mu[1]
    digit = (1 - t) * probs[0] + t * probs[1] if probs is not None else None
    return decode(model, z.numpy(), digit.numpy() if digit is not None else None)


def blends(model: ConditionalVAE, z: torch.Tensor, a: int, b: int, weights: list[float]) -> np.ndarray:
    """One style z (1, z_dim) decoded with (1 - w) * onehot(a) + w * onehot(b) for each w: (len(weights), 784)."""
    w = torch.tensor(weights, dtype=torch.float32).unsqueeze(1)  # (n, 1)
    digit = (1 - w) * one_hot([a]) + w * one_hot([b])  # (n, 10)
    return decode(model, z.expand(len(weights), -1).numpy(), digit.numpy())
