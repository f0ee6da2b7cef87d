"""Pictures from image arrays: a grid of digits, PNG bytes, animated GIF bytes. numpy and PIL only.

Pixel value 0 is black and 1 is white (MNIST's white ink on black).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def grid(images: np.ndarray, ncols: int, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images, (N, 784) or (N, 28, 28) floats in [0, 1], row by row into a uint8 (H, W) picture.

    Every tile has `pad` pixels of `pad_value` around it (as torchvision's make_grid):
    H = rows * (28 + pad) + pad with rows = ceil(N / ncols). Empty cells of the last row are
    filled with `pad_value`; W = ncols * (28 + pad) + pad. A CPU torch tensor works too (detach it first).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected images of shape (N >= 1, 784) or (N >= 1, 28, 28), got {images.shape}")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinity")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if not 0.0 <= pad_value <= 1.0:
        raise ValueError(f"pad_value must be in [0, 1], got {pad_value}")
    n, h, w = images.shape
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value, dtype=np.float32)
    for i, image in enumerate(images):
        top = pad + (i // ncols) * (h + pad)
        left = pad + (i % ncols) * (w + pad)
        canvas[top : top + h, left : left + w] = image
    return np.round(np.clip(canvas, 0.0, 1.0) * 255).astype(np.uint8)


def _to_pil(array: np.ndarray, scale: int) -> Image.Image:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 2:
        raise ValueError(f"expected a uint8 array of shape (H, W), got {getattr(array, 'dtype', type(array))}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
    image = Image.fromarray(array)  # uint8 (H, W) -> mode 'L'
    if scale > 1:
        # Nearest neighbour keeps pixels square and sharp; smoothing would blur 28x28 digits.
        image = image.resize((array.shape[1] * scale, array.shape[0] * scale), Image.Resampling.NEAREST)
    return image


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    """A grayscale uint8 (H, W) array as PNG bytes, each pixel enlarged to scale x scale."""
    buffer = io.BytesIO()
    _to_pil(array, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(
    frames: list[np.ndarray], duration_ms: int = 500, scale: int = 1, hold_last_ms: int | None = None
) -> bytes:
    """An endlessly looping animated GIF, one frame per uint8 (H, W) array, each shown `duration_ms`
    (the last one `hold_last_ms` when given, so a viewer sees where it ends before it starts over).

    Pillow merges a frame identical to the one before it into that one (showing it twice as
    long), so the file may hold fewer frames than given; it plays the same.
    """
    if len(frames) == 0:
        raise ValueError("a GIF needs at least one frame")
    last_ms = duration_ms if hold_last_ms is None else hold_last_ms
    for name, value in (("duration_ms", duration_ms), ("hold_last_ms", last_ms)):
        if value < 10:
            raise ValueError(f"{name} must be >= 10 (GIF counts in hundredths of a second), got {value}")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"all frames must have the same shape, got {sorted(shapes)}")
    pictures = [_to_pil(f, scale) for f in frames]
    buffer = io.BytesIO()
    durations = [duration_ms] * (len(pictures) - 1) + [last_ms]
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    return buffer.getvalue()


def picture(images: np.ndarray, ncols: int, scale: int = 4, pad: int = 2, frame: tuple | None = None) -> np.ndarray:
    """Images (N, 784) in [0, 1] as an RGB uint8 grid (for `st.image`), every pixel enlarged to scale x scale so that it
    stays crisp. The padding is white, or `frame` (an RGB triple: e.g. red for a wrong guess)."""
    images = np.clip(images, 0.0, 1.0)
    tiles = grid(images, ncols, pad=pad)  # (H, W)
    rgb = np.repeat(tiles[..., None], 3, axis=2)  # (H, W, 3)
    if frame is not None:
        rgb[grid(np.zeros_like(images), ncols, pad=pad) > 0] = frame  # only the padding is nonzero
    return rgb.repeat(scale, axis=0).repeat(scale, axis=1)
