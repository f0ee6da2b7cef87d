"""Does `vae.memory.training_bytes` bound what a training run really takes? Estimate against measurement.

Run: `.venv/bin/python -m bench.memory_estimate`. Each model trains one epoch of the offline MNIST
subset (4,000 digits) in a process of its own, as the app's live run does: an autosave and a test
evaluation at the end of the epoch, then a snapshot for the pages. The process measures its resident
memory once the data is loaded, starts the kernel's peak count afresh (VmHWM) and reads the peak
after the epoch; the difference is what training took.
It prints both numbers and estimate / measured, which must stay at or above 1: `check_fits` refuses
a model when the estimate exceeds the free memory, so an estimate below the truth would let through
a model that kills the server.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile

from vae.run import RunState

CASES = {  # name -> (hidden layers of each of the three networks, batch size)
    "seed": ((128,), 100),
    "seed, batch 4000": ((128,), 4000),
    "1024, batch 1000": ((1024,), 1000),
    "4096": ((4096,), 100),
    "2048-2048": ((2048, 2048), 100),
    "4096-4096": ((4096, 4096), 100),
}


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def reset_peak() -> None:
    """Start the kernel's peak resident memory (VmHWM) afresh: loading the data can peak higher than
    training, and `getrusage` would keep that peak."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_bytes() -> int:
    with open("/proc/self/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    return int(kib) * 1024


def measure(layers: tuple[int, ...], batch: int) -> dict:
    """In this process: train one epoch and report memory (call it in a fresh process)."""
    import torch

    from vae import memory
    from vae.checkpoint import save_checkpoint
    from vae.config import Config
    from vae.data import load_dataset
    from vae.trainer import Trainer

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_dataset("mnist", f"{tmp}/data", download=False)  # the offline subset
        config = Config(
            encoder_layers=layers, decoder_layers=layers, classifier_layers=layers, batch_size=batch, epochs=1
        )
        before = resident_bytes()
        reset_peak()
        trainer = Trainer(config, dataset)
        trainer.add_callback("on_epoch_end", lambda t: save_checkpoint(f"{tmp}/autosave.pt", t.to_checkpoint()))
        trainer.run()
        peak = peak_bytes()
        assert trainer.state is RunState.FINISHED, trainer.error
        return {
            "weights": sum(p.numel() for p in trainer.model.parameters()),
            "estimate": memory.training_bytes(config, len(dataset.train_y)),
            "measured": peak - before,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=CASES, help="(internal) measure one case in this process")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*CASES[args.one])))
        return
    from vae.memory import size_text

    print(
        f"{'model (hidden layers of each net)':<34} {'weights':>11} {'estimate':>10} {'measured':>10}  estimate/measured"
    )
    for name in CASES:
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory_estimate", "--one", name], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{name:<34} {r['weights']:>11,} {size_text(r['estimate']):>10} {size_text(r['measured']):>10}"
            f"  {r['estimate'] / r['measured']:.2f}"
        )


if __name__ == "__main__":
    main()
