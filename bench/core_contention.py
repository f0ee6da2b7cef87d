"""Why a page run slows down while a model trains, even with a core to itself.

Run: `.venv/bin/python -m bench.core_contention [--rounds 5]`.
Times the work of one Generate-page rerun (the shipped model draws the digit row and a traversal of
each latent dimension, as PNGs) in this process's main thread, under four conditions, alternating
round by round so that the machine's drift hits each alike:
  * alone;
  * beside a busy loop in another process at nice 19: no shared GIL, and the loop gives way on
    this core, so any slow-down is the hardware (two vCPUs sharing one physical core's caches and
    execution units, or a host that is itself busy);
  * beside the real training loop in a thread of this process (the offline recipe, at its thread's
    lower priority, as the server runs it): the hardware plus the shared GIL;
  * beside the same training in another process at nice 19: the hardware alone, for the training.
Prints the median of each condition and its ratio to "alone" measured in the same round.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np
import torch

from vae.checkpoint import load_checkpoint
from vae.config import offline_recipe, preset
from vae.data import mnist_subset
from vae.generate import digit_rows, styles, traversal
from vae.images import grid, png_bytes
from vae.trainer import Trainer

CHECKPOINT = "checkpoints/seed-mnist.pt"


def page_work(model) -> None:
    """What one Generate rerun computes: the ten digits in one style, and a traversal of each dimension."""
    z = styles(model, 1, seed=0)
    png_bytes(grid(digit_rows(model, z), 10), scale=2)
    for dim in range(model.config.z_dim):
        png_bytes(grid(traversal(model, z[0].numpy(), dim, np.linspace(-3, 3, 7)), 7), scale=2)


def timed(model, repeats: int) -> float:
    """Median seconds of `repeats` page runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        page_work(model)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _long_run() -> Trainer:
    """The offline recipe, as the Train page runs it, for longer than any measurement lasts."""
    return Trainer(offline_recipe(preset("seed"), epochs=1000), mnist_subset())


def _busy_loop() -> None:
    os.nice(19)
    while True:
        pass


def _train_forever() -> None:
    os.nice(19)
    torch.set_num_threads(1)
    _long_run().run()


class Training:
    """The offline recipe training in a thread of this process, as the server runs it."""

    def __enter__(self) -> Training:
        self.trainer = _long_run()
        self.trainer.start()
        while self.trainer.step < 20:  # past the first steps' warm-up
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.trainer.stop()
        self.trainer.join(30)


class Process:
    def __init__(self, target) -> None:
        self.proc = mp.get_context("spawn").Process(target=target, daemon=True)

    def __enter__(self) -> Process:
        self.proc.start()
        time.sleep(3.0)  # imports, then the loop
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15, help="page runs per condition and round")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_checkpoint(CHECKPOINT).model
    timed(model, 3)  # warm-up
    conditions = {
        "busy loop, other process, nice 19": lambda: Process(_busy_loop),
        "training, thread of this process": Training,
        "training, other process, nice 19": lambda: Process(_train_forever),
    }
    alone, ratios = [], {name: [] for name in conditions}
    print(f"{os.cpu_count()} CPUs; one torch thread; {args.repeats} page runs per condition and round")
    for r in range(args.rounds):
        base = timed(model, args.repeats)
        alone.append(base)
        line = [f"round {r + 1}: alone {1000 * base:6.1f} ms"]
        for name, make in conditions.items():
            with make():
                t = timed(model, args.repeats)
            ratios[name].append(t / base)
            line.append(f"{name} {1000 * t:6.1f} ms (x{t / base:.2f})")
        print(" | ".join(line), flush=True)
    print(f"\npage run alone: median {1000 * statistics.median(alone):.1f} ms over {args.rounds} rounds")
    for name, rs in ratios.items():
        print(f"{name:36s} x{statistics.median(rs):.2f} of alone (rounds: {min(rs):.2f}-{max(rs):.2f})")


if __name__ == "__main__":
    main()
