"""Bytes the film component (ui/film) sends a browser: a real run's frames, each as a PNG.

Run: `.venv/bin/python -m bench.film_payload [--epochs 40 300] [--seeds 0 1 2] [--styles 4]`. For each
seed and run length, the `seed` preset trains on the offline MNIST subset; at each epoch's end the
same `--styles` fixed styles z are decoded as each of the ten digits (the trainer's film frame).
Then, as `ui.film.film` would send them:
* a full load: the frames on the slider at the run's end (at most `MAX_FRAMES`), all at once, as a
  browser that opens the page (or reloads it) gets them; also the same frames as one PNG sheet
  stacked top to bottom, for comparison;
* a live run watched from its start, the browser redrawn after every epoch (the worst case: the
  Train page redraws about once a second, and an epoch can take less): the bytes sent per update
  (the new frames only) and over the whole run.
Also the time to encode one frame. The frames are saved under bench/out/ for a look.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ui.film import as_uint8, digests, frame_png, frames_to_show
from vae.config import preset
from vae.data import load_dataset
from vae.generate import digit_rows, styles
from vae.trainer import Trainer

OUT = Path(__file__).resolve().parent / "out"


def film_frames(dataset, epochs: int, seed: int, n_styles: int) -> np.ndarray:
    """(epochs, S, 10, 28, 28) uint8: the same S styles decoded as every digit after each epoch."""
    trainer = Trainer(preset("seed").replace(epochs=epochs, seed=seed), dataset, device="cpu")
    z = styles(trainer.model, n_styles, seed=1000 + seed)  # (S, z_dim), fixed for the whole run
    frames = []
    trainer.add_callback("on_epoch_end", lambda t: frames.append(digit_rows(t.model, z).reshape(n_styles, 10, 28, 28)))
    trainer.run()
    return as_uint8(np.stack(frames))


def json_bytes(epochs: list[int], order: list[str], sent: list[str]) -> int:
    """The JSON arguments of one render, as the component gets them (labels 0-9, no caption)."""
    args = {"order": order, "epochs": epochs, "sent": [[d, 17000] for d in sent], "labels": list("0123456789")}
    return len(json.dumps(args))


def sheet_png(frames: np.ndarray) -> int:
    f, s, c, h, w = frames.shape
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frames.transpose(0, 1, 3, 2, 4).reshape(f * s * h, c * w))).save(
        buffer, format="PNG", optimize=True
    )
    return len(buffer.getvalue())


def measure(frames: np.ndarray) -> dict:
    digest = digests(frames)
    start = time.perf_counter()
    png = {d: len(frame_png(f)) for d, f in zip(digest, frames, strict=True)}
    encode_ms = 1000 * (time.perf_counter() - start) / len(frames)
    keep = frames_to_show(len(frames))
    order = [digest[i] for i in keep]
    full = sum(png[d] for d in set(order)) + json_bytes([i + 1 for i in keep], order, order)
    held, updates = set(), []
    for n in range(1, len(frames) + 1):  # a browser redrawn after every epoch of the live run
        kept = frames_to_show(n)
        now = [digest[i] for i in kept]
        new = [d for d in dict.fromkeys(now) if d not in held]
        updates.append(sum(png[d] for d in new) + json_bytes([i + 1 for i in kept], now, new))
        held = set(now)
    return {
        "frames": len(keep),
        "full": full,
        "sheet": sheet_png(frames[keep]),
        "update_mean": float(np.mean(updates[1:])),
        "update_max": max(updates[1:]),
        "run_total": sum(updates),
        "encode_ms": encode_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[40, 300])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--styles", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_dataset("mnist", tmp, download=False)  # an empty folder: the offline subset
    print(f"dataset: {dataset.source}; {args.styles} styles x 10 digits a frame; sizes in KB (1,024 bytes)")
    for epochs in args.epochs:
        for seed in args.seeds:
            path = OUT / f"film_frames_{epochs}ep_{args.styles}styles_seed{seed}.npz"
            if path.exists():
                frames = np.load(path)["frames"]
            else:
                frames = film_frames(dataset, epochs, seed, args.styles)
                np.savez_compressed(path, frames=frames)
            r = measure(frames)
            print(
                f"{epochs:4d} epochs, seed {seed}: full load {r['frames']} frames {r['full'] / 1024:6.1f} "
                f"(as one PNG sheet {r['sheet'] / 1024:6.1f}); live, per epoch: mean {r['update_mean'] / 1024:5.1f}, "
                f"max {r['update_max'] / 1024:5.1f}, whole run {r['run_total'] / 1024:7.1f}; "
                f"{r['encode_ms']:.1f} ms to encode a frame"
            )


if __name__ == "__main__":
    main()
