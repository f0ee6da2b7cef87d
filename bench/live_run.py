"""Seconds for a live run as the app trains it, on the offline MNIST subset (no browser).

Run: `.venv/bin/python -m bench.live_run [--epochs 20 300]`. Each run goes through `vae.lab.Lab`
as the Train page's Start does: one torch thread (the app's `VAE_TORCH_THREADS` default), an
autosave after every epoch, a test evaluation and a sample row per epoch. It prints the wall time,
the steps per second, the test loss the run ended with and its conditional accuracy (does it draw
the digit it is asked for: both judges of `vae.judge.judges_for` must say so, 5 z seeds x 200
images per digit; the CNN judge alone in brackets, as this benchmark reported it before), so the Train page's
advice for offline use (300 epochs of the 4,000 digits, as many images as the tutorial's 20 epochs
of full MNIST) can be checked against its cost and its result.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from vae.config import preset
from vae.judge import judges_for
from vae.judging import conditional_accuracy
from vae.lab import Lab
from vae.run import RunState


def live_run(name: str, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(f"{tmp}/checkpoints", f"{tmp}/data")  # an empty data folder: the offline subset
        start = time.perf_counter()
        trainer = lab.start(preset(name).replace(epochs=epochs))
        trainer.join()
        seconds = time.perf_counter() - start
        assert trainer.state is RunState.FINISHED, trainer.error
        last = trainer.view.epoch_metrics[-1]
        judges = judges_for(trainer.dataset, "checkpoints")
        model = trainer.view.model
        judged = conditional_accuracy(model, judges)
        return {
            "seconds": seconds,
            "steps": trainer.step,
            "images": trainer.step * trainer.config.batch_size,
            "test_loss": last["test_loss"],
            "test_acc": last["test_acc"],
            "conditional": judged["overall"] if judged is not None else float("nan"),
            "conditional_cnn": judged["judges"]["cnn"]["overall"] if judged is not None else float("nan"),
            "source": trainer.dataset.source,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed")
    parser.add_argument("--epochs", type=int, nargs="+", default=[20, 300])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for epochs in args.epochs:
        r = live_run(args.preset, epochs)
        print(
            f"{args.preset}, {epochs:4d} epochs on {r['source']}: {r['seconds']:5.1f} s "
            f"({r['steps']:,} steps, {r['steps'] / r['seconds']:.0f} steps/s, about {r['images']:,} images)  "
            f"test loss {r['test_loss']:.1f}, classifier {r['test_acc']:.1%}, conditional accuracy {r['conditional']:.1%} "
            f"(CNN judge alone {r['conditional_cnn']:.1%})"
        )


if __name__ == "__main__":
    main()
