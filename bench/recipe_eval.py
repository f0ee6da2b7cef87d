"""The scores `bench.recipes` prints for a trained model: test ELBO, the classifier's test accuracy, and
conditional accuracy judged twice, at several sampling temperatures.

Conditional accuracy: for each z seed and each class d, decode `n_per_class` z ~ N(0, tau^2 I)
with a one-hot d, and count how often a judge calls the image d. Two judges look at the *same*
images:
- `vae.judge.judge_for(dataset, "checkpoints")`, the project's CNN (trained on warped digits);
- a second, independent check made here: PCA to 50 dimensions, then an RBF support-vector machine
  (scikit-learn), fitted on the plain training images (all 4,000 offline MNIST digits; a fixed
  10,000 of Fashion-MNIST's 60,000, since its fit grows with the square of the images). A different
  model family, never shown a warped digit: a gain that both see is not one judge's leniency.
Each judge's accuracy on the real test images is printed beside it, as its yardstick.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import SVC

from vae.data import Dataset
from vae.evaluate import classifier_accuracy, evaluate_elbo
from vae.judge import judge_for, predict
from vae.model import NUM_CLASSES, ConditionalVAE, one_hot

SVM_FIT_MAX = 10_000  # images the second check is fitted on at most
ACTIVE = 0.01  # a latent unit is active when Var_x(mu_j(x)) > 0.01 (Burda, Grosse & Salakhutdinov 2016, sec. 5.2)


def fit_second_check(dataset: Dataset) -> Pipeline:
    """PCA(50) + RBF SVM (C = 10) fitted on the training split (at most SVM_FIT_MAX images, a fixed draw)."""
    x, y = dataset.train_x.numpy(), dataset.train_y.numpy()
    if len(y) > SVM_FIT_MAX:
        keep = np.random.default_rng(0).choice(len(y), SVM_FIT_MAX, replace=False)
        x, y = x[keep], y[keep]
    svm = make_pipeline(PCA(50, random_state=0), SVC(C=10.0))
    return svm.fit(x, y)


class Judges:
    """The two judges for one dataset, built once per process."""

    def __init__(self, dataset: Dataset) -> None:
        self.cnn = judge_for(dataset, "checkpoints")
        self.svm = fit_second_check(dataset)
        # Each judge's accuracy on the real test images, per class: (10,)
        y = dataset.test_y
        verdicts = {
            "cnn": predict(self.cnn, dataset.test_x),
            "svm": torch.from_numpy(self.svm.predict(dataset.test_x.numpy())),
        }
        self.real = {
            name: [(v[y == d] == d).float().mean().item() for d in range(NUM_CLASSES)] for name, v in verdicts.items()
        }
        self.cnn_real = (verdicts["cnn"] == y).float().mean().item()
        self.svm_real = (verdicts["svm"] == y).float().mean().item()


@torch.no_grad()
def conditional(
    model: ConditionalVAE, judges: Judges, temperature: float = 1.0, z_seeds: range = range(5), n_per_class: int = 200
) -> dict:
    """Judged conditional accuracy at one temperature, for each judge ("cnn", "svm"):
    {"overall": mean over z seeds, "spread": (min, max) over z seeds, "per_class": 10 means}."""
    model.eval()
    scores = {"cnn": [], "svm": []}  # per z seed: (10,) fraction right per class
    labels = torch.arange(NUM_CLASSES).repeat_interleave(n_per_class)  # (10 n,)
    for seed in z_seeds:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn((len(labels), model.config.z_dim), generator=g) * temperature  # (10 n, z_dim)
        images = model.decode(z, one_hot(labels))  # (10 n, 784)
        verdicts = {"cnn": predict(judges.cnn, images), "svm": torch.from_numpy(judges.svm.predict(images.numpy()))}
        for name, verdict in verdicts.items():
            right = (verdict == labels).float().reshape(NUM_CLASSES, n_per_class).mean(dim=1)  # (10,)
            scores[name].append(right)
    out = {}
    for name, per_seed in scores.items():
        table = torch.stack(per_seed)  # (seeds, 10)
        overall = table.mean(dim=1)  # (seeds,)
        out[name] = {
            "overall": overall.mean().item(),
            "spread": (overall.min().item(), overall.max().item()),
            "per_class": table.mean(dim=0).tolist(),
        }
    return out


@torch.no_grad()
def style_spread(model: ConditionalVAE, n_per_class: int = 200) -> float:
    """How different the images of one class are, z ~ N(0, I): the mean pixel standard deviation over
    images of the same class, averaged over classes. Near 0: every z draws the same picture (a model
    that ignores z would score 100 % conditional accuracy without drawing any style)."""
    model.eval()
    labels = torch.arange(NUM_CLASSES).repeat_interleave(n_per_class)
    z = torch.randn((len(labels), model.config.z_dim), generator=torch.Generator().manual_seed(7))
    images = model.decode(z, one_hot(labels)).reshape(NUM_CLASSES, n_per_class, -1)  # (10, n, 784)
    return images.std(dim=1).mean().item()


@torch.no_grad()
def coverage(model: ConditionalVAE, dataset: Dataset, n_per_class: int = 400) -> dict:
    """Does the model draw the variety of real images, or one average per class? For each real test
    image of class d, the pixel distance (L2) to the nearest of `n_per_class` images generated as d
    (z ~ N(0, I), seed 11); the mean over the test split. Beside it the same for `n_per_class` real
    training images of class d in place of the generated ones: what drawing real images would score.
    The "recall" side of a generator's quality (Sajjadi et al. 2018, "Assessing generative models via
    precision and recall"), where conditional accuracy is the "precision" side: a collapsed model
    draws recognisable digits (high accuracy) far from most real ones (a large distance).
    Returns {"generated": float, "real": float}."""
    model.eval()
    g = torch.Generator().manual_seed(11)
    totals = {"generated": 0.0, "real": 0.0}
    for d in range(NUM_CLASSES):
        test = dataset.test_x[dataset.test_y == d]  # (m, 784)
        own = dataset.train_x[dataset.train_y == d]
        real = own[torch.randperm(len(own), generator=g)[:n_per_class]]  # (n, 784)
        z = torch.randn((n_per_class, model.config.z_dim), generator=g)
        drawn = model.decode(z, one_hot([d] * n_per_class))  # (n, 784)
        for name, pool in (("generated", drawn), ("real", real)):
            totals[name] += torch.cdist(test, pool).min(dim=1).values.sum().item()
    return {name: total / len(dataset.test_y) for name, total in totals.items()}


def scores(model: ConditionalVAE, dataset: Dataset, judges: Judges, temperatures: tuple[float, ...] = (1.0,)) -> dict:
    """Everything `bench.recipes` reports about one model, on the dataset's test split."""
    elbo = evaluate_elbo(model, dataset.test_x, dataset.test_y, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu, _ = model.eval().encode(dataset.test_x)  # (N, z_dim)
    return {
        "test_elbo": elbo["elbo"],
        "test_recon": elbo["recon"],
        "test_kl": elbo["kl"],
        "active_dims": int((mu.var(dim=0) > ACTIVE).sum()),
        "style_spread": style_spread(model),
        "coverage": coverage(model, dataset),
        "classifier_test": classifier_accuracy(model, dataset.test_x, dataset.test_y),
        "conditional": {t: conditional(model, judges, t) for t in temperatures},
    }
