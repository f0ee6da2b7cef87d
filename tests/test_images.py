import io

import numpy as np
import pytest
import torch
from PIL import Image

from vae.images import gif_bytes, grid, png_bytes


def digits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def test_grid_layout_and_values():
    images = digits(5)
    picture = grid(images, ncols=3, pad=2, pad_value=1.0)
    assert picture.dtype == np.uint8 and picture.shape == (2 * 30 + 2, 3 * 30 + 2)
    # Image i sits at row i // 3, column i % 3, each cell 28 + 2 pixels apart.
    tile = picture[2 + 30 : 2 + 30 + 28, 2 + 30 : 2 + 30 + 28]  # image 4
    np.testing.assert_array_equal(tile, np.round(images[4].reshape(28, 28) * 255).astype(np.uint8))
    assert (picture[:2] == 255).all() and (picture[:, :2] == 255).all()
    assert (picture[32:60, 62:90] == 255).all()  # the empty sixth cell
    np.testing.assert_array_equal(grid(images.reshape(5, 28, 28), 3), picture)
    np.testing.assert_array_equal(grid(torch.from_numpy(images), 3), picture)
    black = grid(digits(2), ncols=2, pad=0, pad_value=0.0)
    assert black.shape == (28, 56)


def test_grid_clips_out_of_range_values():
    picture = grid(np.array([[-0.5] * 392 + [1.5] * 392]), ncols=1, pad=0)
    assert picture.min() == 0 and picture.max() == 255


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": np.zeros((2, 100))}, "shape"),
        ({"images": np.zeros((0, 784))}, "shape"),
        ({"images": np.full((1, 784), np.nan)}, "NaN"),
        ({"ncols": 0}, "ncols"),
        ({"pad": -1}, "pad"),
        ({"pad_value": 2.0}, "pad_value"),
    ],
)
def test_grid_errors(kwargs, message):
    args = {"images": digits(2), "ncols": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        grid(**args)


def test_png_decodes_to_the_same_pixels_scaled_up():
    picture = grid(digits(4), ncols=2)
    decoded = Image.open(io.BytesIO(png_bytes(picture, scale=3)))
    assert decoded.format == "PNG" and decoded.mode == "L"
    assert decoded.size == (picture.shape[1] * 3, picture.shape[0] * 3)
    np.testing.assert_array_equal(np.asarray(decoded), picture.repeat(3, axis=0).repeat(3, axis=1))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(picture)))), picture)
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(picture.astype(np.float32))
    with pytest.raises(ValueError, match="scale"):
        png_bytes(picture, scale=0)


def test_gif_has_one_frame_per_item():
    frames = [grid(digits(2, seed=s), ncols=2) for s in range(4)]
    decoded = Image.open(io.BytesIO(gif_bytes(frames, duration_ms=250, scale=2)))
    assert decoded.format == "GIF" and decoded.n_frames == 4 and decoded.is_animated
    assert decoded.size == (frames[0].shape[1] * 2, frames[0].shape[0] * 2)
    assert decoded.info["duration"] == 250 and decoded.info["loop"] == 0
    for i, frame in enumerate(frames):
        decoded.seek(i)
        pixels = np.asarray(decoded.convert("L"))[::2, ::2]
        np.testing.assert_array_equal(pixels, frame)


def test_gif_holds_its_last_frame():
    frames = [grid(digits(1, seed=s), ncols=1) for s in range(3)]
    decoded = Image.open(io.BytesIO(gif_bytes(frames, duration_ms=100, hold_last_ms=1500)))
    durations = []
    for i in range(decoded.n_frames):
        decoded.seek(i)
        durations.append(decoded.info["duration"])
    assert durations == [100, 100, 1500]
    with pytest.raises(ValueError, match="hold_last_ms"):
        gif_bytes(frames, hold_last_ms=5)


def test_gif_merges_repeated_frames_and_checks_its_input():
    a, b = grid(digits(1, 0), 1), grid(digits(1, 1), 1)
    assert Image.open(io.BytesIO(gif_bytes([a, a, b]))).n_frames == 2  # documented Pillow behaviour
    with pytest.raises(ValueError, match="at least one frame"):
        gif_bytes([])
    with pytest.raises(ValueError, match="same shape"):
        gif_bytes([a, grid(digits(2), 2)])
    with pytest.raises(ValueError, match="duration_ms"):
        gif_bytes([a], duration_ms=0)
