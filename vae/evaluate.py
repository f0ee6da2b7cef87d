"""How good is a trained model? Test-set ELBO, an importance-weighted log-likelihood bound, the
classifier's accuracy, and whether generated digits look like the digit that was asked for (that
last one, judged, in `vae.judging`).

Pure functions over a model and tensors; nothing here trains or renders. Log-likelihoods are in nats
per image. Under the Gaussian likelihood they are log *densities* (they depend on `decoder_std`),
so they are comparable only between models with the same likelihood and `decoder_std`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vae.data import Dataset
from vae.judging import DEFAULT_PER_DIGIT, conditional_accuracy, judge_accuracy
from vae.losses import LOG_2PI, kl_to_standard_normal, log_likelihood, vae_loss
from vae.model import ConditionalVAE, evaluating


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _check_images(x: torch.Tensor) -> None:
    if x.ndim != 2 or x.shape[1] != 784 or len(x) == 0:
        raise ValueError(f"expected images of shape (N >= 1, 784), got {tuple(x.shape)}")


def evaluate_elbo(
    model: ConditionalVAE,
    x: torch.Tensor,
    y: torch.Tensor | None,
    batch_size: int = 500,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Means over x (N, 784) of the training objective's parts, as `vae.losses.vae_loss` defines them.

    Keys: loss, recon, kl, class, acc (NaN without a classifier or labels), and
    elbo = -(recon + kl): the plain (beta = 1) ELBO per image, one z sample per image.
    """
    _check_images(x)
    totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0, "class": 0.0, "acc": 0.0}
    device = _device(model)
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)
            yb = y[i : i + batch_size].to(device) if y is not None else None
            parts = vae_loss(model.config, xb, yb, model(xb, generator=generator))
            for name in totals:
                totals[name] += parts[name].item() * len(xb)  # batch means -> sums
    means = {name: total / len(x) for name, total in totals.items()}
    means["elbo"] = -(means["recon"] + means["kl"])
    return means


def iwae_log_likelihood(
    model: ConditionalVAE,
    x: torch.Tensor,
    k: int = 50,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> float:
    """The importance-weighted bound on log p(x) (Burda, Grosse & Salakhutdinov 2016, eq. 8), mean over x.

    log p(x) >= E[log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)], z_i ~ q(z|x). k = 1 is the ELBO
    (in expectation); the bound tightens as k grows. A conditional model's decoder reads the
    classifier's softmax of x, exactly as in training. Each chunk decodes k * batch_size images;
    `batch_size=None` picks about 10,000 of them (30 MB of logits), whatever k is.
    """
    _check_images(x)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    batch_size = max(1, 10_000 // k) if batch_size is None else batch_size
    config = model.config
    device = _device(model)
    total = 0.0
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)  # (B, 784)
            b = len(xb)
            mu, var = model.encode(xb)  # (B, z_dim) each
            eps = torch.randn((k, *mu.shape), generator=generator, device=device, dtype=mu.dtype)  # (k, B, z_dim)
            z = mu + var.sqrt() * eps
            # log q(z|x) for z = mu + sqrt(var) * eps: the squared Mahalanobis term is just eps^2.
            log_q = -0.5 * (LOG_2PI + var.log() + eps.pow(2)).sum(dim=2)  # (k, B)
            log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(dim=2)  # (k, B)
            logits = model.classify(xb)
            digit = F.softmax(logits, dim=1).repeat(k, 1) if logits is not None else None  # (k*B, 10)
            recon_logits = model.decode_logits(z.reshape(k * b, -1), digit)  # (k*B, 784)
            log_px = log_likelihood(config, xb.repeat(k, 1), recon_logits).reshape(k, b)  # (k, B)
            log_w = log_px + log_prior - log_q
            total += (torch.logsumexp(log_w, dim=0) - math.log(k)).sum().item()
    return total / len(x)


def kl_per_dimension(model: ConditionalVAE, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """Mean over x (N, 784) of KL(q(z_j|x) || N(0, 1)) for each latent dimension j: float64 (z_dim,).

    How much the model uses each dimension: near 0 means the encoder ignores it (posterior
    collapse), so the decoder does too. The entries sum to `evaluate_elbo`'s kl.
    """
    _check_images(x)
    device = _device(model)
    totals = torch.zeros(model.config.z_dim, dtype=torch.float64)
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            mu, var = model.encode(x[i : i + batch_size].to(device))  # (B, z_dim) each
            # kl_to_standard_normal sums over its second axis: one dimension per row gives (B * z_dim,).
            kl = kl_to_standard_normal(mu.reshape(-1, 1), var.reshape(-1, 1)).reshape(mu.shape)  # (B, z_dim)
            totals += kl.sum(dim=0).double().cpu()
    return (totals / len(x)).numpy()


def classifier_accuracy(model: ConditionalVAE, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """The VAE's own digit classifier's accuracy on (x, y); NaN for a model without a classifier."""
    _check_images(x)
    if model.classifier is None:
        return float("nan")
    correct = 0
    device = _device(model)
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            logits = model.classify(x[i : i + batch_size].to(device))
            correct += (logits.argmax(dim=1).cpu() == y[i : i + batch_size].cpu()).sum().item()
    return correct / len(x)


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def evaluate(
    model: ConditionalVAE,
    dataset: Dataset,
    judge: nn.Module | Mapping[str, nn.Module] | None = None,
    k: int = 50,
    n_per_digit: int = DEFAULT_PER_DIGIT,
    seed: int = 0,
    n_seeds: int = 5,
    temperature: float = 1.0,
) -> dict:
    """All of the above on `dataset`'s test split, as a JSON-ready dict (NaN is written as None).

    Keys: dataset, source, n_test, likelihood; loss, recon, kl, class, elbo (see `evaluate_elbo`);
    iwae (the k-sample bound, >= elbo up to noise) and iwae_k; classifier_accuracy;
    conditional_accuracy (`vae.judging.conditional_accuracy` over z seeds seed .. seed + n_seeds - 1;
    "overall" and "per_digit" are the stricter verdict of all judges);
    judge_accuracy_on_test_images (`vae.judging.judge_accuracy`, the same judges on real images).

    `judge` is one judge or a panel {name: judge} (`vae.judge.judges_for`). `conditional_accuracy`
    is None without a judge or for a non-conditional model. All sampling is seeded (the ELBO's and
    IWAE's from one torch.Generator seeded with `seed` on the model's device), so the numbers are
    reproducible. `generator` arguments elsewhere must live on the model's device too.
    """
    if model.config.dataset != dataset.name:
        raise ValueError(f"the model was trained on {model.config.dataset!r} but the dataset is {dataset.name!r}")
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    generator = torch.Generator(device=_device(model)).manual_seed(seed)
    x, y = dataset.test_x, dataset.test_y
    elbo = evaluate_elbo(model, x, y, generator=generator)
    seeds = list(range(seed, seed + n_seeds))
    return {
        "dataset": dataset.name,
        "source": dataset.source,
        "n_test": len(x),
        "likelihood": model.config.likelihood,
        "loss": elbo["loss"],
        "recon": elbo["recon"],
        "kl": elbo["kl"],
        "class": elbo["class"],
        "elbo": elbo["elbo"],
        "iwae": iwae_log_likelihood(model, x, k=k, generator=generator),
        "iwae_k": k,
        "classifier_accuracy": _none_if_nan(classifier_accuracy(model, x, y)),
        "conditional_accuracy": (
            conditional_accuracy(model, judge, n_per_digit, seeds, temperature) if judge is not None else None
        ),
        "judge_accuracy_on_test_images": judge_accuracy(judge, x, y) if judge is not None else None,
    }
