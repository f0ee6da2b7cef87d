"""What a run keeps of its training: the step log and, for each epoch, its metrics and pictures.

Per epoch: train metrics (the mean over its steps), test metrics (`evaluate_elbo` on the test split),
the tutorial's sample row (one *new* random style decoded as each digit), a film frame (the *same*
FILM_STYLES styles every epoch, so a student sees the same digits sharpen), and, when a judge is
given, how often the judge recognises the digit asked for ("judged_acc", on a small fixed batch).
Every array only grows, so the views it hands out share its memory (`vae.steplog`).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from vae.config import Config
from vae.evaluate import evaluate_elbo
from vae.generate import sample_row
from vae.model import NUM_CLASSES, ConditionalVAE, evaluating, one_hot
from vae.run import RunView
from vae.steplog import GrowingArray, StepLog

STEP_COLUMNS = ("step", "epoch", "loss", "recon", "kl", "class", "acc")
PARTS = ("loss", "recon", "kl", "class", "acc")
FILM_STYLES = 4  # rows of a film frame: four handwritings, each as the ten digits
MAP_DIGITS = 1000  # test images whose encodings (mu) are kept at some epochs: the latent map over training
MAP_POINTS = 2000  # test images on the latent map (the followed ones and more)
JUDGED_PER_CLASS = 10  # generated digits per class that the judge checks at each epoch's end
# Random streams of a run (see `seeded`): batches, reparameterization noise, test noise, sample rows.
BATCHES, NOISE, TEST, ROWS, STYLES, WARPS = range(6)


def seeded(seed: int, epoch: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator for one (seed, epoch, stream): resuming at an epoch boundary replays exactly."""
    g = torch.Generator(device)
    g.manual_seed((seed * 1_000_003 + epoch) * 8 + stream)
    return g


def spread(n: int, keep: int) -> np.ndarray:
    """Indices of at most `keep` of n epochs, the first and the last always among them, denser early on
    (half spaced geometrically, half evenly): a model changes most in its first epochs."""
    if n <= keep:
        return np.arange(n)
    early = np.round(np.geomspace(1, n, keep // 2)).astype(int) - 1
    chosen = set(early.tolist())
    for i in np.round(np.linspace(0, n - 1, keep)).astype(int):
        if len(chosen) >= keep:
            break
        chosen.add(int(i))
    return np.array(sorted(chosen | {n - 1}))


def map_epoch(epoch: int, last: int) -> bool:
    """Whether epoch `epoch` (1-based) of a `last`-epoch run keeps its map encodings: every epoch up to
    16, then about eight per doubling (multiples of 2, 4, 8, ...), and the last: 64 for 1,000 epochs."""
    return epoch <= 16 or epoch == last or epoch % (1 << (epoch.bit_length() - 4)) == 0


def map_index(n_test: int) -> np.ndarray:
    """The test images the latent map follows over training: MAP_DIGITS of them, seeded, sorted (all
    of a smaller test split)."""
    if n_test <= MAP_DIGITS:
        return np.arange(n_test)
    return np.sort(np.random.default_rng(0).choice(n_test, MAP_DIGITS, replace=False))


def map_points(n_test: int, n: int = MAP_POINTS) -> np.ndarray:
    """The test images on the latent map: the followed ones (`map_index`) first, so a run's `maps` are its
    first rows, then a seeded sample of the others, min(n, n_test) in all (2,000: sprites and data stay
    under 1 MB per browser, and t-SNE takes seconds; BENCHMARKS.md)."""
    followed = map_index(n_test)
    if len(followed) >= min(n, n_test):
        return followed[:n]
    others = np.setdiff1d(np.arange(n_test), followed)
    extra = np.sort(np.random.default_rng(1).choice(others, min(n, n_test) - len(followed), replace=False))
    return np.concatenate([followed, extra])


def to_bytes(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1] -> uint8 (a film frame is a quarter the memory)."""
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


class History:
    def __init__(self, config: Config, resume: RunView | None = None) -> None:
        self.config = config
        # The film's styles and the judge's batch: fixed for the run (the same after a resume).
        g = seeded(config.seed, 0, STYLES)
        # A conditional model draws each style as the ten digits; a plain one draws ten styles per row.
        n_styles = FILM_STYLES if config.conditional else FILM_STYLES * NUM_CLASSES
        self.styles = torch.randn(n_styles, config.z_dim, generator=g)  # (S or 10 S, z_dim)
        self.judged_z = torch.randn(JUDGED_PER_CLASS * NUM_CLASSES, config.z_dim, generator=g)  # (10 k, z_dim)
        if resume is None:
            self.steps = StepLog(STEP_COLUMNS)
            self.epochs: tuple[MappingProxyType, ...] = ()
            self.rows = GrowingArray((NUM_CLASSES, 28, 28), np.float32)
            self.film = GrowingArray((FILM_STYLES, NUM_CLASSES, 28, 28), np.uint8)
            self.row_epochs: tuple[int, ...] = ()  # the epoch of each row (a slim file keeps only some)
            self.film_epochs: tuple[int, ...] = ()
            self.maps = None  # (M, N, z_dim) float16, made at the first epoch's end (N: the test split's)
            self.map_epochs: tuple[int, ...] = ()
        else:
            self.steps = StepLog.from_dict(STEP_COLUMNS, dict(resume.steps))
            self.epochs = tuple(resume.epoch_metrics)
            self.rows = GrowingArray.of(resume.sample_rows, np.float32)
            self.film = GrowingArray.of(resume.film, np.uint8)
            self.row_epochs, self.film_epochs = tuple(resume.sample_epochs), tuple(resume.film_epochs)
            self.maps = GrowingArray.of(resume.maps, np.float16) if len(resume.map_epochs) else None
            self.map_epochs = tuple(resume.map_epochs)

    def log_step(self, step: int, epoch: int, parts: list[float]) -> None:
        """One step's loss parts (in PARTS order), `epoch` being the one in progress (1-based)."""
        self.steps.append([step, epoch, *parts])

    def end_epoch(
        self,
        model: ConditionalVAE,
        epoch: int,
        step: int,
        first_row: int,
        test: tuple[torch.Tensor, torch.Tensor],
        judge: nn.Module | None = None,
    ) -> None:
        """Record finished epoch `epoch` (1-based) of `model`, whose steps start at row `first_row` of the log."""
        c, device = self.config, next(model.parameters()).device
        # Train metrics: the mean over this epoch's steps (training mode, weights changing as they go).
        metrics = {"epoch": epoch, "step": step}
        metrics |= {f"train_{p}": float(np.mean(self.steps.column(p, first_row))) for p in PARTS}
        tested = evaluate_elbo(model, *test, generator=seeded(c.seed, epoch - 1, TEST, device))
        metrics |= {f"test_{k}": float(v) for k, v in tested.items()}
        with evaluating(model):
            frame = model.digit_row(self.styles.to(device)).reshape(FILM_STYLES, NUM_CLASSES, 28, 28)
            if judge is not None and c.conditional:
                metrics["judged_acc"] = judged_accuracy(model, judge, self.judged_z.to(device))
        if map_epoch(epoch, c.epochs):
            self._keep_map(model, epoch, test[0])
        self.rows.append(sample_row(model, seeded(c.seed, epoch - 1, ROWS)))
        self.film.append(to_bytes(frame.cpu().numpy()))
        self.epochs = (*self.epochs, MappingProxyType(metrics))
        self.row_epochs = (*self.row_epochs, epoch)
        self.film_epochs = (*self.film_epochs, epoch)

    def _keep_map(self, model: ConditionalVAE, epoch: int, test_x: torch.Tensor) -> None:
        """The encoder's means of the map's test images at this epoch, (N, z_dim) as float16."""
        index = map_index(len(test_x))
        with evaluating(model):
            mu, _ = model.encode(test_x[torch.from_numpy(index).to(test_x.device)])
        if self.maps is None:
            self.maps = GrowingArray((len(index), self.config.z_dim), np.float16, capacity=16)
        self.maps.append(mu.cpu().numpy().astype(np.float16))
        self.map_epochs = (*self.map_epochs, epoch)

    def fields(self) -> dict:
        """The RunView fields this history fills."""
        maps = self.maps.view() if self.maps is not None else np.zeros((0, 0, self.config.z_dim), np.float16)
        return {
            "maps": maps,
            "map_epochs": self.map_epochs,
            "epoch_metrics": self.epochs,
            "steps": self.steps.view(),
            "sample_rows": self.rows.view(),
            "sample_epochs": self.row_epochs,
            "film": self.film.view(),
            "film_epochs": self.film_epochs,
        }


def judged_accuracy(model: ConditionalVAE, judge: nn.Module, z: torch.Tensor) -> float:
    """The share of digits drawn from `z` (10 k, z_dim), k per class in turn, that `judge` calls the digit
    asked for (cheap enough for every epoch's end: see BENCHMARKS.md)."""
    asked = torch.arange(NUM_CLASSES, device=z.device).repeat_interleave(len(z) // NUM_CLASSES)
    with evaluating(model, judge):
        images = model.decode(z, one_hot(asked, z.device))
        verdict = judge(images.to(next(judge.parameters()).device)).argmax(dim=1).to(asked.device)
    return float((verdict == asked).float().mean())
