"""One image's way through the model, every intermediate value kept: what a diagram of the model shows.

image -> encoder -> (mu, sigma) -> z = mu + sigma * eps -> decoder -> reconstruction, with the
classifier's softmax beside z at the decoder's input (none for a plain VAE). One forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vae.model import IMAGE_PIXELS, ConditionalVAE, evaluating


@dataclass(frozen=True)
class Anatomy:
    """Every value on one image's path through the model, as float32 numpy arrays."""

    image: np.ndarray  # (28, 28) the input x
    mu: np.ndarray  # (z_dim,) the encoder's mean
    sigma: np.ndarray  # (z_dim,) sqrt of the encoder's variance
    eps: np.ndarray  # (z_dim,) the noise drawn from N(0, I)
    z: np.ndarray  # (z_dim,) mu + sigma * eps, what the decoder reads
    probs: np.ndarray | None  # (10,) the classifier's softmax; None for a plain VAE
    recon: np.ndarray  # (28, 28) decoded from z (and probs)
    recon_mu: np.ndarray  # (28, 28) decoded from mu (and probs): the path without noise


def trace(model: ConditionalVAE, x: torch.Tensor, generator: torch.Generator) -> Anatomy:
    """Pass one image x (1, 784) in [0, 1] through `model` (in eval mode, without gradients).

    eps is drawn on the generator's device and then moved to the model's, the way
    `ConditionalVAE.reparameterize` draws it on the CPU: the same seed gives the same eps, and
    the same z as `reparameterize(mu, var, generator)`."""
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != (1, IMAGE_PIXELS):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected one image as a tensor of shape (1, {IMAGE_PIXELS}), got {shape}")
    device = next(model.parameters()).device
    x = x.to(device=device, dtype=torch.float32)
    with evaluating(model):
        mu, var = model.encode(x)  # (1, z_dim) each
        sigma = var.sqrt()
        eps = torch.randn(mu.shape, generator=generator, device=generator.device).to(device)
        z = mu + sigma * eps
        probs = model.digit_probs(x)  # (1, 10) or None
        both = model.decode(torch.cat([z, mu]), probs.expand(2, -1) if probs is not None else None)  # (2, 784)

    def arr(t: torch.Tensor) -> np.ndarray:
        return t.detach().float().cpu().numpy()

    return Anatomy(
        image=arr(x).reshape(28, 28),
        mu=arr(mu[0]),
        sigma=arr(sigma[0]),
        eps=arr(eps[0]),
        z=arr(z[0]),
        probs=arr(probs[0]) if probs is not None else None,
        recon=arr(both[0]).reshape(28, 28),
        recon_mu=arr(both[1]).reshape(28, 28),
    )
