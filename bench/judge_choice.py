"""Which second judge? The candidates for making conditional accuracy harder to fool, measured.

Run: `.venv/bin/python -m bench.judge_choice` (about 15 minutes on 2 cores, most of it training the
two rejection CNNs on Fashion-MNIST; `--skip-reject` leaves them out). For MNIST (offline subset)
and Fashion-MNIST, each candidate judge is scored on:
- real test images: accuracy;
- blobs (the pixel average of two real test images of different classes): how often it names one
  of the two classes, how often with confidence >= 0.9, how often it says "none of these";
- noise (uniform random pixels): how often it names a class with confidence >= 0.9;
- the shipped model's images (5 z seeds x 200 per class): how often it names the class asked for,
  how often it says "none of these", and the AND with the CNN judge (the stricter verdict).
Candidates: the shipped CNN judge; k-nearest neighbours (k = 10) on 50 PCA dimensions and on raw
pixels; logistic regression on pixels (scikit-learn); the CNN with an 11th "none of these" class,
trained with a quarter as many junk images per batch (two-class averages, heavy blur, noise), and
the same without the blurred ones. What was chosen and why: `vae.judge.judges_for`.

`--grids DIR` also writes, for each candidate, DIR/vetoes-<dataset>-<n>.png: up to 60 generated
images (sorted by the class asked for) that the CNN judge accepts and the candidate does not, to
look at what each veto costs.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vae.checkpoint import load_checkpoint
from vae.data import Dataset, load_dataset
from vae.images import grid, png_bytes
from vae.judge import Judge, augment, judge_for, recipe
from vae.judging import draw_per_class
from vae.knn_judge import KNNJudge

SEEDS, PER_CLASS, CONFIDENT = range(5), 200, 0.9 - 1e-6  # a 9-of-10 vote is 0.9 up to rounding
REJECT = 10  # the "none of these" class of the rejection CNNs


class LogisticRegression(nn.Module):
    """scikit-learn's multinomial logistic regression on the 784 pixels, as a judge (logits out)."""

    def __init__(self, data: Dataset) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression as SkLogReg

        super().__init__()
        with warnings.catch_warnings():  # 200 iterations do not converge on Fashion-MNIST; more cost minutes
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = SkLogReg(max_iter=200).fit(data.train_x.numpy(), data.train_y.numpy())
        self.linear = nn.Linear(784, 10)
        self.linear.weight.data = torch.from_numpy(fit.coef_).float()
        self.linear.bias.data = torch.from_numpy(fit.intercept_).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (B, 784) images, separable, zero padding."""
    r = int(3 * sigma)
    t = torch.arange(-r, r + 1).float()
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    h = x.reshape(-1, 1, 28, 28)
    h = F.conv2d(h, k.reshape(1, 1, 1, -1), padding=(0, r))
    h = F.conv2d(h, k.reshape(1, 1, -1, 1), padding=(r, 0))
    return h.reshape(-1, 784)


def junk(x: torch.Tensor, y: torch.Tensor, g: torch.Generator, with_blur: bool) -> torch.Tensor:
    """Images of no single class made from a batch x (B, 784): two-class averages, heavy blur
    (sigma 2.5 px), smoothed noise at a random brightness."""
    b = len(x)
    kind = torch.randint(3 if with_blur else 2, (b,), generator=g)  # 0 average, 1 noise, 2 blur
    partner = torch.randperm(b, generator=g)
    average = (x + x[partner]) / 2
    noise = (blur(torch.rand(b, 784, generator=g), 1.0) * torch.rand(b, 1, generator=g) * 2).clamp(0, 1)
    out = torch.where((kind == 0)[:, None], average, noise)
    if with_blur:
        out = torch.where((kind == 2)[:, None], blur(x, 2.5), out)
    return out[(kind != 0) | (y != y[partner])]  # an average of two of the same class is no junk


def train_rejecting_judge(data: Dataset, with_blur: bool, seed: int = 0, batch_size: int = 64) -> Judge:
    """The CNN judge's recipe (`vae.judge.recipe`) with an 11th class fed with `junk`."""
    how = recipe(len(data.train_y))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        judge = Judge()
        judge.head = nn.Linear(judge.head.in_features, 11)
    g = torch.Generator().manual_seed(seed)
    n, lr = len(data.train_y), 2e-3
    optimizer = torch.optim.Adam(judge.parameters(), lr=lr)
    steps = how["epochs"] * math.ceil(n / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    judge.train()
    for _ in range(how["epochs"]):
        order = torch.randperm(n, generator=g)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            x, y = data.train_x[idx], data.train_y[idx]
            x = augment(x, g) if how["augment"] else x
            extra = junk(x, y, g, with_blur)[: len(x) // 4]
            x, y = torch.cat([x, extra]), torch.cat([y, torch.full((len(extra),), REJECT)])
            loss = F.cross_entropy(judge(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return judge.eval()


@torch.no_grad()
def probabilities(judge: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(N, 784) -> (N, 10 or 11) class probabilities."""
    judge.eval()
    return torch.cat([F.softmax(judge(x[i : i + 1000]), dim=1) for i in range(0, len(x), 1000)])


def blobs(data: Dataset, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Up to n pixel averages of two test images of different classes: (images, class a, class b)."""
    i = torch.randint(len(data.test_y), (n,), generator=g)
    j = torch.randint(len(data.test_y), (n,), generator=g)
    keep = data.test_y[i] != data.test_y[j]
    i, j = i[keep], j[keep]
    return (data.test_x[i] + data.test_x[j]) / 2, data.test_y[i], data.test_y[j]


def generated(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped model's images, as `vae.judging.conditional_accuracy` draws them, and the class asked."""
    model = load_checkpoint(path).model
    images = torch.cat([draw_per_class(model, PER_CLASS, s, 1.0) for s in SEEDS])
    asked = torch.arange(10).repeat_interleave(PER_CLASS).repeat(len(SEEDS))
    return images, asked


def write_vetoes(path: Path, images: torch.Tensor, asked: torch.Tensor, vetoed: torch.Tensor) -> None:
    """Up to 60 of the `vetoed` (N,) bool images, an evenly spaced pick sorted by class asked, as a PNG."""
    idx = vetoed.nonzero().squeeze(1)
    idx = idx[torch.linspace(0, len(idx) - 1, min(60, len(idx))).long()] if len(idx) else idx
    idx = idx[asked[idx].argsort(stable=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(grid(images[idx].numpy(), 10), scale=2) if len(idx) else b"")


def report(name: str, data: Dataset, checkpoint: str, skip_reject: bool, grids: Path | None) -> None:
    g = torch.Generator().manual_seed(1)
    blob_x, blob_a, blob_b = blobs(data, 2000, g)
    noise = torch.rand(1000, 784, generator=g)
    gen_x, asked = generated(checkpoint)
    candidates = {"cnn (shipped)": lambda: judge_for(data, "checkpoints")}
    candidates["knn, 50 PCA dims"] = lambda: KNNJudge.fit(data.train_x, data.train_y)
    candidates["knn, raw pixels"] = lambda: KNNJudge.fit(data.train_x, data.train_y, dims=784)
    candidates["logistic regression"] = lambda: LogisticRegression(data)
    if not skip_reject:
        candidates["cnn + reject (avg, blur, noise)"] = lambda: train_rejecting_judge(data, with_blur=True)
        candidates["cnn + reject (avg, noise)"] = lambda: train_rejecting_judge(data, with_blur=False)
    print(
        f"\n{name}: {data.source}, {len(data.train_y):,} train / {len(data.test_y):,} test; "
        f"{len(blob_x):,} blobs; generated by {checkpoint}, {len(SEEDS)} seeds x {PER_CLASS} per class"
    )
    print(
        f"{'judge':<33}{'built':>7} {'real':>6} | {'blobs: named':>12} {'conf.':>6} {'reject':>6} | "
        f"{'noise conf.':>11} | {'generated':>9} {'reject':>6} {'AND cnn':>7} | per class, generated"
    )
    cnn_right = None
    for n, (label, build) in enumerate(candidates.items()):
        start = time.perf_counter()
        judge = build()
        built = time.perf_counter() - start
        real = (probabilities(judge, data.test_x).argmax(1) == data.test_y).double().mean().item()
        conf, said = probabilities(judge, blob_x).max(1)
        named = (said == blob_a) | (said == blob_b)
        noise_p = probabilities(judge, noise)
        noise_conf = ((noise_p.argmax(1) != REJECT) & (noise_p.max(1).values >= CONFIDENT)).double().mean().item()
        verdict = probabilities(judge, gen_x).argmax(1)
        right = verdict == asked
        cnn_right = right if cnn_right is None else cnn_right
        if grids is not None and n > 0:
            write_vetoes(grids / f"vetoes-{name}-{n}.png", gen_x, asked, cnn_right & ~right)
        per_class = right.double().reshape(len(SEEDS), 10, PER_CLASS).mean(dim=(0, 2))
        print(
            f"{label:<33}{built:6.1f}s {real:6.1%} | {named.double().mean():12.1%} "
            f"{(named & (conf >= CONFIDENT)).double().mean():6.1%} {(said == REJECT).double().mean():6.1%} | "
            f"{noise_conf:11.1%} | {right.double().mean():9.1%} {(verdict == REJECT).double().mean():6.1%} "
            f"{(right & cnn_right).double().mean():7.1%} | " + " ".join(f"{v:.2f}" for v in per_class.tolist())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-reject", action="store_true", help="leave out the two rejection CNNs (minutes)")
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"], choices=["mnist", "fashion-mnist"])
    parser.add_argument("--grids", type=Path, help="write PNGs of the images each candidate vetoes here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.datasets:
        checkpoint = f"checkpoints/seed-{name}.pt"
        report(name, load_dataset(name, "data", download=False), checkpoint, args.skip_reject, args.grids)


if __name__ == "__main__":
    main()
