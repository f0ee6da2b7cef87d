"""What a training recipe's extras cost per step of the `seed` model, on one torch thread.

Run: `.venv/bin/python -m bench.augment_cost [--steps 400 --repeats 5]`. Times, on one batch of 100
offline MNIST digits: a plain training step (forward, `vae_loss`, backward, fused Adam), the same
step with the learning rate and KL weight set from `vae.schedule` first, and with the batch warped
by `vae.augment` (affine only, then affine + elastic). The variants take turns, repeat after repeat,
so a change in the machine's load hits all of them; the median repeat is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vae.augment import Warps, augment
from vae.config import preset
from vae.data import load_dataset
from vae.losses import vae_loss
from vae.model import ConditionalVAE
from vae.schedule import kl_weight, learning_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = preset("seed")
    torch.manual_seed(0)
    model = ConditionalVAE(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    data = load_dataset("mnist", "data", download=False)
    x, y = data.train_x[:100], data.train_y[:100]  # (100, 784), (100,)
    gen = torch.Generator().manual_seed(0)
    total = args.steps * args.repeats

    def step(i: int, warps: Warps | None, schedules: bool) -> None:
        xb = augment(x, gen, warps) if warps is not None else x
        parts = vae_loss(config, xb, y, model(xb, generator=gen))
        loss = parts["loss"]
        if schedules:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(i, total, 1e-3, "cosine")
            loss = loss + (kl_weight(i, total, 0.0) - 1.0) * parts["kl"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    variants = {
        "plain step": lambda i: step(i, None, False),
        "+ schedules (lr, KL weight)": lambda i: step(i, None, True),
        "+ augment (affine)": lambda i: step(i, Warps(), False),
        "+ augment (affine + elastic 1.5 px)": lambda i: step(i, Warps(elastic=1.5), False),
        "augment alone (affine + elastic)": lambda i: augment(x, gen, Warps(elastic=1.5)),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            for i in range(args.steps):
                fn(i)
            times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    base = statistics.median(times["plain step"])
    for name, ms in times.items():
        med = statistics.median(ms)
        print(f"{name:38s} {med:6.3f} ms/step  ({med / base:5.2f}x a plain step; repeats {min(ms):.3f}..{max(ms):.3f})")


if __name__ == "__main__":
    main()
