"""The lesson kit: a few small models, each differing from one reference in one setting, that answer the
questions a class asks (what does β do? why two latent dimensions? what does the classifier add? what
if the learning rate is too high?). `python -m vae kit` trains them; the repo ships them in
`checkpoints/kit/`, where the Compare page finds them.

Every kit model is the `seed` preset with hidden layers of 64 instead of 128 (a file under 1 MB) and
100 epochs of the offline MNIST subset (about a minute of one core), so the kit is the same on every
machine, with or without full MNIST on disk. A file keeps less history than a slim one (`LIGHT`): the
Compare page needs the epoch metrics and the weights, not the film.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from vae.checkpoint import CheckpointError, check_writable, path_of, save_checkpoint, slimmed
from vae.config import Config, preset
from vae.data import Dataset
from vae.run import RunView

FOLDER = "kit"  # inside the checkpoints folder
HIDDEN = 64
EPOCHS = 100
REFERENCE = preset("seed").replace(
    encoder_layers=(HIDDEN,), decoder_layers=(HIDDEN,), classifier_layers=(HIDDEN,), epochs=EPOCHS
)
# What a kit file keeps of its history (a slim file: 2,000 steps, 30 rows, 16 film frames, 8 maps):
# the film's frames are 20 KB each, the weights 620 KB, and each file must stay under 1 MB.
LIGHT = {"steps": 1000, "rows": 10, "film": 5, "maps": 3}


@dataclass(frozen=True)
class KitModel:
    name: str  # its file in the kit folder is <name>.pt
    config: Config
    setting: str  # the one setting in which it differs from the reference, in words
    short: str  # the same in a few characters, as the Compare page names it

    @property
    def command(self) -> str:
        """The command that trains it again (stored in its file)."""
        return f"python -m vae kit --only {self.name}"


KIT = (
    KitModel("beta-0.2", REFERENCE.replace(beta=0.2), "β 0.2", "β 0.2"),
    KitModel("beta-1", REFERENCE, "β 1 (the reference)", "β 1"),
    KitModel("beta-4", REFERENCE.replace(beta=4.0), "β 4", "β 4"),
    KitModel("zdim-2", REFERENCE.replace(z_dim=2), "z_dim 2", "z_dim 2"),
    KitModel("plain", REFERENCE.replace(classification_weight=0.0), "no classifier (a plain VAE)", "plain VAE"),
    KitModel("lr-0.1", REFERENCE.replace(learning_rate=0.1), "learning rate 0.1 (100x Adam's usual 0.001)", "lr 0.1"),
)


@dataclass(frozen=True)
class Question:
    key: str
    title: str
    models: tuple[str, ...]  # kit names, the reference last where it is the baseline


QUESTIONS = (
    Question("beta", "What does β do?", ("beta-0.2", "beta-1", "beta-4")),
    Question("zdim", "Why two latent dimensions?", ("zdim-2", "beta-1")),
    Question("classifier", "What does the classifier add?", ("plain", "beta-1")),
    Question("lr", "What if the learning rate is too high?", ("lr-0.1", "beta-1")),
)


def kit_model(name: str) -> KitModel:
    for model in KIT:
        if model.name == name:
            return model
    raise ValueError(f"no kit model named {name!r}; the kit has {', '.join(m.name for m in KIT)}")


def train_kit_model(
    model: KitModel,
    dataset: Dataset,
    out_dir: str | Path,
    judge: nn.Module | None = None,
    epochs: int | None = None,
    overwrite: bool = False,
    device: str | None = None,
    on_epoch: Callable[[int], None] | None = None,
) -> tuple[RunView, Path, float]:
    """Train one kit model on `dataset` and save it, light, to `out_dir`/<name>.pt.

    A run the NaN guard stops is saved too (its last good weights and why it stopped: that is the
    lesson). `epochs` overrides the kit's (tests). `judge` adds "draws the digit asked for" to each
    epoch's metrics. Returns (the run, its file, seconds of training)."""
    from vae.trainer import Trainer  # the trainer pulls in the loop; listing the kit needs none of it

    path = path_of(model.name, out_dir)
    if path.exists() and not overwrite:
        raise CheckpointError(f"{path} exists already: add --overwrite to train it again.")
    check_writable(path)
    config = model.config if epochs is None else model.config.replace(epochs=epochs)
    command = model.command if epochs is None else f"{model.command} --epochs {epochs}"
    trainer = Trainer(config, dataset, device=device, command=command, judge=judge)
    if on_epoch is not None:
        trainer.add_callback("on_epoch_end", lambda t: on_epoch(t.epoch))
    start = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - start
    run = trainer.to_checkpoint()
    save_checkpoint(path, slimmed(run, **LIGHT), slim=True)
    return run, path, seconds
