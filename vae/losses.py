"""The objective as pure functions: negative ELBO + weighted classifier cross-entropy.

All per-image terms are summed over pixels / latent dimensions and averaged over the batch.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from vae.config import Config

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    """log N(x | mean, std^2 I), summed over pixels: (B, D) -> (B,)."""
    return (-0.5 * ((x - mean) / std) ** 2 - math.log(std) - 0.5 * LOG_2PI).sum(dim=1)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x | sigmoid(logits)), summed over pixels, for x in [0, 1]: (B, D) -> (B,)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def log_likelihood(config: Config, x: torch.Tensor, recon_logits: torch.Tensor) -> torch.Tensor:
    """log p(x|z) under the config's likelihood: (B, 784) -> (B,)."""
    if config.likelihood == "gaussian":
        return gaussian_log_likelihood(x, torch.sigmoid(recon_logits), config.decoder_std)
    return bernoulli_log_likelihood(x, recon_logits)


def kl_to_standard_normal(mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag var) || N(0, I)) in closed form (Kingma & Welling 2014, Appendix B):
    0.5 * sum(var + mu^2 - 1 - log var). (B, z_dim) -> (B,)."""
    return 0.5 * (var + mu.pow(2) - 1.0 - var.log()).sum(dim=1)


def vae_loss(
    config: Config, x: torch.Tensor, y: torch.Tensor | None, out: dict, kl_weight: float | None = None
) -> dict[str, torch.Tensor]:
    """The training objective and its parts, each a scalar (batch mean).

    loss = recon + beta * kl + classification_weight * class, where recon = -log p(x|z) and
    class is the classifier's cross-entropy against the true label y (0 without a classifier).
    `kl_weight` replaces beta (a KL ramp: vae.schedule.kl_weight). `acc` is the classifier's batch
    accuracy (not differentiated).
    """
    recon = -log_likelihood(config, x, out["recon_logits"]).mean()
    kl = kl_to_standard_normal(out["mu"], out["var"]).mean()
    loss = recon + (config.beta if kl_weight is None else kl_weight) * kl
    logits = out["class_logits"]
    if logits is not None and y is not None:
        ce = F.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        loss = loss + config.classification_weight * ce
    else:
        ce = torch.zeros((), device=x.device)
        acc = torch.full((), float("nan"), device=x.device)
    return {"loss": loss, "recon": recon, "kl": kl, "class": ce, "acc": acc}
