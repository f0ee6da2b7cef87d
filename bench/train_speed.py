"""Seconds per training epoch over 60,000 images: our in-memory trainer vs a conventional loop.

Run: `.venv/bin/python -m bench.train_speed` (`--repeats 3`: the median of 3 epochs each;
`--device cuda` on a GPU machine, for comparison: the targets are for the CPU). Uses full
Fashion-MNIST from Debian's `dataset-fashion-mnist` (or MNIST under data/ when present). The
conventional loop is the usual torchvision recipe: a Dataset with per-item `ToTensor`, a
`DataLoader` at the same batch size, the same model, loss and optimizer. "Arithmetic alone" is the
same model's steps on one batch already cut, as many as an epoch has: no loop can beat it.
"Matrix products alone" is just the matrix multiplications those steps need (forward, weight
gradients, input gradients where one is needed), in float32: no implementation of the model in
float32 on this CPU can beat that.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from vae.config import preset
from vae.data import DEBIAN_FASHION_DIR, load_dataset
from vae.losses import vae_loss
from vae.model import IMAGE_PIXELS, ConditionalVAE
from vae.run import RunState
from vae.trainer import Trainer


def ours(config, dataset, device: str) -> float:
    """One epoch with vae.trainer.Trainer (includes its end-of-epoch test evaluation)."""
    trainer = Trainer(config.replace(epochs=1), dataset, device=device)
    start = time.perf_counter()
    trainer.run()
    assert trainer.state is RunState.FINISHED, trainer.error
    return time.perf_counter() - start


def timed_steps(config, batches, device: str, fused: bool) -> float:
    """Seconds for the seeded model's forward, loss, backward and Adam step over `batches` (an
    iterable of (images, labels)); producing the batches is timed too. `fused` is Adam's one-kernel
    update, as vae.trainer uses; the textbook recipe leaves it off."""
    torch.manual_seed(config.seed)
    model = ConditionalVAE(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=fused)
    start = time.perf_counter()
    for x, y in batches:
        x, y = x.view(len(x), 784).to(device), y.to(device)
        parts = vae_loss(config, x, y, model(x))
        opt.zero_grad()
        parts["loss"].backward()
        opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def conventional(config, root: Path, dataset_cls: str, device: str) -> float:
    import torchvision
    from torchvision import transforms

    cls = getattr(torchvision.datasets, dataset_cls)
    ds = cls(str(root), train=True, download=False, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=config.batch_size, shuffle=True)
    return timed_steps(config, loader, device, fused=False)


def floor(config, dataset, device: str) -> float:
    """The arithmetic alone: the same steps on one batch already cut (no shuffling, no slicing, no
    metrics, no test pass), as many times as one epoch has batches."""
    b = config.batch_size
    x, y = dataset.train_x[:b].reshape(b, 784).to(device), dataset.train_y[:b].to(device)
    return timed_steps(config, [(x, y)] * (len(dataset.train_y) // b), device, fused=True)


def matmuls(config, dataset, device: str) -> float:
    """Seconds for the matrix products alone of one epoch's steps: per linear layer the forward
    product, the weight gradient and (except for layers that read the image) the input gradient."""
    b, steps = config.batch_size, len(dataset.train_y) // config.batch_size
    products = []
    for layer in ConditionalVAE(config).modules():
        if isinstance(layer, torch.nn.Linear):
            n_in, n_out = layer.in_features, layer.out_features
            a, w, g = (torch.rand(*s, device=device) for s in ((b, n_in), (n_in, n_out), (b, n_out)))
            products += [(a, w), (a.t(), g)] + ([(g, w.t())] if n_in != IMAGE_PIXELS else [])
    start = time.perf_counter()
    for _ in range(steps):
        for left, right in products:
            left @ right
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def fashion_root(tmp: Path) -> Path:
    """torchvision reads the uncompressed IDX files from <root>/FashionMNIST/raw/."""
    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in DEBIAN_FASHION_DIR.glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return tmp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["seed", "classic"])
    parser.add_argument("--repeats", type=int, default=1, help="epochs timed per loop; the median is printed")
    parser.add_argument("--device", default="cpu", help="cpu (the targets' machine), or cuda/mps to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if DEBIAN_FASHION_DIR.exists():
            name, cls, root = "fashion-mnist", "FashionMNIST", fashion_root(Path(tmp))
        elif Path("data/MNIST/raw").exists():
            name, cls, root = "mnist", "MNIST", Path("data")
        else:
            raise SystemExit("needs 60,000 images: apt-get install dataset-fashion-mnist, or MNIST under data/")
        dataset = load_dataset(name, root, download=False)
        print(
            f"dataset: {dataset.source}, {len(dataset.train_y):,} training images, "
            f"{torch.get_num_threads()} threads, device {args.device}"
        )
        for p in args.presets:
            config = preset(p).replace(dataset=name)
            # Interleaved, so a busy spell on this shared machine hits both loops alike.
            times = [
                (
                    conventional(config, root, cls, args.device),
                    ours(config, dataset, args.device),
                    floor(config, dataset, args.device),
                    matmuls(config, dataset, args.device),
                )
                for _ in range(args.repeats)
            ]
            t_conv, t_ours, t_floor, t_mm = (statistics.median(t[i] for t in times) for i in range(4))
            print(
                f"{p:>8}: batch {config.batch_size}  ours {t_ours:6.2f} s/epoch  "
                f"conventional {t_conv:6.2f} s/epoch  speed-up {t_conv / t_ours:5.1f}x\n"
                f"          arithmetic alone {t_floor:5.2f} s (the most this model code could gain: {t_conv / t_floor:4.1f}x)  "
                f"matrix products alone {t_mm:5.2f} s (the most any float32 code could gain: {t_conv / t_mm:4.1f}x)"
            )


if __name__ == "__main__":
    main()
