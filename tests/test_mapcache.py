"""Maps kept on disk beside their checkpoint: read back, refused when they do not fit, replaced on re-save."""

from __future__ import annotations

import os

import numpy as np

from vae.mapcache import cache_path, load_coords, save_coords

SETTINGS = {"perplexity": 30.0, "iterations": 500.0}


def checkpoint(tmp_path, name="seed-mnist", stamp=1_000_000_000):
    path = tmp_path / f"{name}.pt"
    path.write_bytes(b"weights")
    os.utime(path, ns=(stamp, stamp))
    return path


def test_round_trip_beside_the_checkpoint(tmp_path):
    ckpt = checkpoint(tmp_path)
    path = cache_path(ckpt, "tsne")
    assert path == tmp_path / "cache" / "seed-mnist-1000000000-tsne.npz"
    index, coords = np.arange(0, 200, 2), np.random.default_rng(0).normal(size=(100, 2))
    assert load_coords(path, index, SETTINGS) is None  # nothing yet
    assert save_coords(path, index, coords, SETTINGS)
    np.testing.assert_allclose(load_coords(path, index, SETTINGS), coords, rtol=1e-6)


def test_other_points_other_settings_and_damaged_files_read_as_nothing(tmp_path):
    path = cache_path(checkpoint(tmp_path), "tsne")
    index, coords = np.arange(50), np.zeros((50, 2))
    save_coords(path, index, coords, SETTINGS)
    assert load_coords(path, index[::-1], SETTINGS) is None
    assert load_coords(path, index, {**SETTINGS, "perplexity": 20.0}) is None
    assert load_coords(path, index, {**SETTINGS, "theta": 0.5}) is None  # a setting the file never recorded
    data = path.read_bytes()
    for damaged in (data[: len(data) // 2], b"", b"not a zip file at all"):
        path.write_bytes(damaged)
        assert load_coords(path, index, SETTINGS) is None


def test_a_resaved_checkpoint_gets_a_new_map_and_the_old_one_goes(tmp_path):
    first = cache_path(checkpoint(tmp_path, stamp=1), "tsne")
    other = cache_path(checkpoint(tmp_path, "seed-mnist-full", stamp=5), "tsne")  # a name that starts the same
    save_coords(first, np.arange(3), np.zeros((3, 2)), SETTINGS)
    save_coords(other, np.arange(3), np.zeros((3, 2)), SETTINGS)
    second = cache_path(checkpoint(tmp_path, stamp=2), "tsne")
    assert second != first
    save_coords(second, np.arange(3), np.ones((3, 2)), SETTINGS)
    assert not first.exists() and second.exists() and other.exists()


def test_a_folder_that_cannot_be_written_is_no_error(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    path = cache_path(checkpoint(tmp_path), "tsne")
    assert save_coords(path, np.arange(3), np.zeros((3, 2)), SETTINGS) is False
