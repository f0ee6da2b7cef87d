"""What the Compare page measures: several models scored on the same test images, and the same z drawn
by each of them. Pure functions, tensors and arrays in, numbers and arrays out.

Every model is scored on one fixed sample of its test split (`test_sample`: the 1,000 images the latent
map follows over training), so two MNIST models are compared on the very same images whichever test
split they were trained beside. (The map is drawn from fresh encodings of that sample, not from the
map a run stored at its last epoch: encoding 1,000 images costs milliseconds, and a stored map may come
from another machine's test split or an earlier epoch.)"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from vae.data import Dataset
from vae.evaluate import evaluate_elbo, iwae_log_likelihood, kl_per_dimension
from vae.history import map_index
from vae.judging import conditional_accuracy
from vae.model import ConditionalVAE, evaluating, one_hot
from vae.projection import encode_means, project

IWAE_K = 20  # importance samples: 50 (as `evaluate`) took 2-3 s a model on two busy cores, 20 a third of it
IWAE_IMAGES = 250  # of the sample, for the IWAE bound (each image is decoded IWAE_K times)
JUDGED_PER_CLASS = 30  # images drawn per class for conditional accuracy, one z seed: 300 per model
SAMPLE_WORDS = "the same 1,000 test images for every model"
COLLAPSED = 0.05  # nats: a latent dimension whose mean KL is below this carries (almost) nothing


def test_sample(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The test images every model is scored on: (N, 784) and labels (N,), N = 1,000 (or the whole split
    if smaller), seeded, the same every time (`vae.history.map_index`)."""
    index = torch.from_numpy(map_index(len(dataset.test_y)))
    return dataset.test_x[index], dataset.test_y[index]


def scores(
    model: ConditionalVAE,
    x: torch.Tensor,
    y: torch.Tensor,
    judges: Mapping[str, nn.Module] | None = None,
    seed: int = 0,
) -> dict:
    """A model's scores on test images x (N, 784), y (N,), seeded (the same numbers every time).

    Keys: elbo, recon, kl, acc (the classifier's; None without one): `vae.evaluate.evaluate_elbo` on all
    of x; iwae: the IWAE_K-sample bound on the first IWAE_IMAGES; kl_dims (z_dim,): the mean KL of each
    latent dimension (closed form, as `kl`: they sum to it); collapsed: how
    many dimensions carry less than COLLAPSED nats; mu (N, z_dim): the encoder's means, for the map;
    conditional: the share of JUDGED_PER_CLASS x 10 drawn images that every judge calls the class asked
    for (None for a plain VAE or without judges).
    """
    generator = torch.Generator().manual_seed(seed)
    elbo = evaluate_elbo(model, x, y, generator=generator)
    kl_dims = kl_per_dimension(model, x)  # (z_dim,)
    judged = None
    if judges and model.config.conditional:
        judged = conditional_accuracy(model, judges, JUDGED_PER_CLASS, [seed])["overall"]
    return {
        "elbo": elbo["elbo"],
        "recon": elbo["recon"],
        "kl": elbo["kl"],
        "acc": None if math.isnan(elbo["acc"]) else elbo["acc"],
        "iwae": iwae_log_likelihood(model, x[:IWAE_IMAGES], k=IWAE_K, generator=generator),
        "kl_dims": kl_dims,
        "collapsed": int((kl_dims < COLLAPSED).sum()),
        "mu": encode_means(model, x),  # (N, z_dim)
        "conditional": judged,
    }


def latent_map(mu: np.ndarray) -> tuple[np.ndarray, str, float]:
    """The means (N, z_dim) in two dimensions, in z's own units (PCA rotates and centres, never rescales:
    two models' maps drawn on the same axes compare the spread of their codes). Returns (N, 2), what the
    axes are ("z" for z_dim <= 2: nothing projected, else "PC"), and the share of the means' variance
    the two axes show (1 for z_dim <= 2)."""
    xy = project(mu, "pca")
    if mu.shape[1] <= 2:
        return xy, "z", 1.0
    total = float(np.asarray(mu, np.float64).var(axis=0).sum())
    return xy, "PC", float(xy.astype(np.float64).var(axis=0).sum() / total) if total > 0 else 0.0


def variation(images: np.ndarray) -> float:
    """How much a row of images (n, 784) in [0, 1] differs from image to image: the mean over pixels of
    their standard deviation across the row. 0: z changes nothing in the picture."""
    return float(np.asarray(images, np.float64).std(axis=0).mean())


def shared_z(z_dims: list[int], n: int, seed: int) -> torch.Tensor:
    """n styles z ~ N(0, I) of the largest z_dim, (n, max z_dim); a model with a smaller z_dim reads the
    first z_dim numbers of each (still N(0, I): the same z as far as it has room for)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, max(z_dims), generator=g)


def same_z_images(model: ConditionalVAE, z: torch.Tensor, digit: int) -> np.ndarray:
    """Each z (n, >= z_dim) decoded by `model` as `digit`: (n, 784). A plain VAE cannot be asked for a
    digit: it draws each z as it is."""
    z = z[:, : model.config.z_dim]
    with evaluating(model):
        label = one_hot([digit] * len(z)) if model.config.conditional else None
        return model.decode(z, label).numpy()
