"""How good is a trained model? Test-set ELBO, an importance-weighted log-likelihood bound, the
classifier's accuracy, and whether generated digits look like the digit that was asked for.

Pure functions over a model and tensors; nothing here trains or renders. Log-likelihoods are in nats
per image. Under the Gaussian likelihood they are log *densities* (they depend on `decoder_std`),
so they are comparable only between models with the same likelihood and `decoder_std`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vae.data import Dataset
from vae.judge import predict
from vae.losses import kl_to_standard_normal, log_likelihood, vae_loss
from vae.model import NUM_CLASSES, ConditionalVAE, one_hot

_LOG_2PI = math.log(2 * math.pi)


@contextmanager
def _eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd inside; each module's train/eval mode is restored afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


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
    with _eval_mode(model):
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
    with _eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)  # (B, 784)
            b = len(xb)
            mu, var = model.encode(xb)  # (B, z_dim) each
            eps = torch.randn((k, *mu.shape), generator=generator, device=device, dtype=mu.dtype)  # (k, B, z_dim)
            z = mu + var.sqrt() * eps
            # log q(z|x) for z = mu + sqrt(var) * eps: the squared Mahalanobis term is just eps^2.
            log_q = -0.5 * (_LOG_2PI + var.log() + eps.pow(2)).sum(dim=2)  # (k, B)
            log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(dim=2)  # (k, B)
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
    with _eval_mode(model):
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
    with _eval_mode(model):
        for i in range(0, len(x), batch_size):
            logits = model.classify(x[i : i + batch_size].to(device))
            correct += (logits.argmax(dim=1).cpu() == y[i : i + batch_size].cpu()).sum().item()
    return correct / len(x)


def conditional_accuracy(
    model: ConditionalVAE,
    judge: nn.Module,
    n_per_digit: int = 100,
    generator: torch.Generator | None = None,
) -> dict | None:
    """Does the model draw the digit it is asked for? For each digit d, decode `n_per_digit`
    z ~ N(0, I) with a one-hot d and count how often the judge (see `vae.judge`) says d.
    For Fashion-MNIST, "digit" d is class d.

    Returns {"overall": float, "per_digit": [10 floats]}, or None for a model that is not
    conditional (it cannot be asked for a digit).
    """
    if not model.config.conditional:
        return None
    if n_per_digit < 1:
        raise ValueError(f"n_per_digit must be >= 1, got {n_per_digit}")
    per_digit = []
    device = _device(model)
    with _eval_mode(model, judge):
        for d in range(NUM_CLASSES):
            z = torch.randn((n_per_digit, model.config.z_dim), generator=generator, device=device)  # (n, z_dim)
            images = model.decode(z, one_hot([d] * n_per_digit, device=device))  # (n, 784)
            verdict = judge(images.to(_device(judge))).argmax(dim=1)  # (n,)
            per_digit.append((verdict == d).sum().item() / n_per_digit)
    return {"overall": sum(per_digit) / NUM_CLASSES, "per_digit": per_digit}


def judge_accuracy(judge: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> dict:
    """The judge's own accuracy on real images, overall and per class: the yardstick for
    `conditional_accuracy` (a judge that knows real shirts 55 % of the time will not recognise
    generated ones more often). Returns {"overall": float, "per_digit": [10 floats]}."""
    right = predict(judge, x, batch_size) == y.cpu()
    per_digit = [right[y.cpu() == d].float().mean().item() for d in range(NUM_CLASSES)]
    return {"overall": right.float().mean().item(), "per_digit": per_digit}


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def evaluate(
    model: ConditionalVAE,
    dataset: Dataset,
    judge: nn.Module | None = None,
    k: int = 50,
    n_per_digit: int = 100,
    seed: int = 0,
) -> dict:
    """All of the above on `dataset`'s test split, as a JSON-ready dict (NaN is written as None).

    Keys: dataset, source, n_test, likelihood; loss, recon, kl, class, elbo (see `evaluate_elbo`);
    iwae (the k-sample bound, >= elbo up to noise) and iwae_k; classifier_accuracy;
    conditional_accuracy ({"overall", "per_digit"}, see `conditional_accuracy`);
    judge_accuracy_on_test_images (the same shape, see `judge_accuracy`).

    `conditional_accuracy` is None without a judge or for a non-conditional model. All sampling
    draws from one torch.Generator seeded with `seed` (on the model's device), so the numbers are
    reproducible. `generator` arguments elsewhere must live on the model's device too.
    """
    if model.config.dataset != dataset.name:
        raise ValueError(f"the model was trained on {model.config.dataset!r} but the dataset is {dataset.name!r}")
    generator = torch.Generator(device=_device(model)).manual_seed(seed)
    x, y = dataset.test_x, dataset.test_y
    elbo = evaluate_elbo(model, x, y, generator=generator)
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
            conditional_accuracy(model, judge, n_per_digit, generator=generator) if judge is not None else None
        ),
        "judge_accuracy_on_test_images": judge_accuracy(judge, x, y) if judge is not None else None,
    }
