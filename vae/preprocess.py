"""Turn a picture of a digit (a canvas drawing, a photo, a PNG) into a 28x28 image prepared like MNIST.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio, anti-aliased)
and then placed in a 28x28 frame so that their centre of mass sits at the centre (LeCun, Cortes &
Burges, "The MNIST database"). A model trained on MNIST expects exactly that, so a drawing must
go through the same steps before the model sees it. numpy and PIL only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIZE = 28
BOX = 20  # the longest side of the digit after scaling, as in MNIST
INK_THRESHOLD = 0.1  # fainter pixels do not count when finding the digit's bounding box
# Larger pictures are shrunk first: the digit ends up 20 px tall, and a 48-megapixel phone photo
# at full size took 0.8 s and 250 MB (in a classroom, for every student who uploads one).
MAX_SIDE = 1024
# A PNG cannot be decoded at a fraction of its size, and its pixels cost memory, not its bytes: a 757 KB
# PNG of 13,000 x 13,000 took 1.3 GB and 11 s to open (PIL itself refuses only above ~179 megapixels).
# A baseline JPEG is decoded at 1/2, 1/4 or 1/8 of its size (`draft`), so what counts is the size it is
# decoded at (a 48-MP phone photo is read at 3 MP); a progressive one keeps every pixel's coefficients
# while it decodes, at any scale (a 2.7 MB progressive JPEG of 13,000 x 13,000 took 1.3 GB).
MAX_PIXELS = 25_000_000


class PictureError(ValueError):
    """A picture that cannot become a digit; the message is ours alone (never an object's repr: an
    upload's repr holds a URL with the session's id) and says what to do."""


def open_picture(file: object, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """An uploaded or on-disk picture, opened lazily (nothing decoded yet), refused when decoding it would
    take more than `max_pixels` pixels of memory. PictureError otherwise, with a message that can be shown
    as it is."""
    try:
        pil = Image.open(file)
    except Image.DecompressionBombError:
        raise PictureError("it is too large (over 179 megapixels): use a picture under 25 megapixels") from None
    except (OSError, ValueError):  # PIL's UnidentifiedImageError is an OSError
        raise PictureError("it is not a picture this page can read: use a PNG or a JPEG") from None
    if pil.format not in ("PNG", "JPEG"):  # what the uploader offers; PIL opens more (EPS runs Ghostscript)
        raise PictureError("it is not a picture this page can read: use a PNG or a JPEG")
    width, height = pil.size
    progressive = pil.format == "JPEG" and bool(pil.info.get("progressive") or pil.info.get("progression"))
    if pil.format == "JPEG" and not progressive:
        pil.draft(pil.mode, (MAX_SIDE, MAX_SIDE))  # decoded at this size from now on: what it costs
    if pil.width * pil.height > max_pixels:
        limit = f"{max_pixels / 1e6:.0f} megapixels"
        kind = "a progressive JPEG of " if progressive else ""
        raise PictureError(
            f"it is {kind}{width:,} x {height:,} pixels ({width * height / 1e6:.0f} megapixels): use a picture "
            f"under {limit} (a screenshot or a photo of one digit is plenty)"
        )
    return pil


def to_ink(image: np.ndarray | Image.Image) -> np.ndarray:
    """Any picture -> float32 (H, W) "ink" in [0, 1]: 1 where the digit is, 0 for the background.

    - With transparency (alpha < 255 somewhere) the alpha channel is the ink: the strokes are
      what was painted on a transparent background, whatever their colour.
    - Otherwise the picture is made grayscale, and the background is the median of its border
      pixels: a light border means dark ink on paper, and the picture is inverted.
    """
    if isinstance(image, Image.Image):
        pil = image
    else:
        array = np.asarray(image)
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
        if array.dtype != np.uint8:
            array = np.clip(np.nan_to_num(np.asarray(array, dtype=np.float32)), 0.0, 1.0)
            array = np.round(array * 255).astype(np.uint8)
        pil = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    if max(pil.size) > MAX_SIDE:
        pil = _shrunk(pil)
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        alpha = np.asarray(pil.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
        if alpha.min() < 1.0:
            return alpha
    gray = np.asarray(pil.convert("L"), dtype=np.float32) / 255.0  # (H, W)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 1.0 - gray if np.median(border) > 0.5 else gray


def _shrunk(pil: Image.Image) -> Image.Image:
    """`pil` with its longest side MAX_SIDE px. A JPEG not yet decoded is decoded at 1/2, 1/4 or 1/8
    of its size straight away (`draft`, which changes how `pil` itself will load)."""
    if pil.format == "JPEG":
        pil.draft(pil.mode, (MAX_SIDE, MAX_SIDE))
    scale = MAX_SIDE / max(pil.size)
    size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
    return pil.resize(size, Image.Resampling.BOX, reducing_gap=2.0) if max(pil.size) > MAX_SIDE else pil


def to_mnist(image: np.ndarray | Image.Image) -> np.ndarray:
    """A picture of one digit -> float32 (28, 28) in [0, 1], white ink on black, prepared like MNIST:
    cropped to its bounding box, scaled so its longest side is 20 px, then placed with its centre
    of mass at the centre of the 28x28 frame. Raises ValueError when there is no ink at all."""
    ink = to_ink(image)
    mask = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        raise ValueError("the picture is empty (no ink on it)")
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # (h, w)
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    # A float32 array becomes a PIL 'F' image: resized in floats, anti-aliased by LANCZOS.
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize((new_w, new_h), Image.Resampling.LANCZOS))
    small = np.clip(small, 0.0, 1.0)
    if small.max() <= 0:
        raise ValueError("the picture is too faint: draw with a thicker stroke")
    small = small / small.max()  # MNIST's strokes reach full white

    # Centre of mass of the scaled digit, in its own pixel coordinates.
    total = small.sum()
    cy = (small.sum(axis=1) * np.arange(new_h)).sum() / total
    cx = (small.sum(axis=0) * np.arange(new_w)).sum() / total
    centre = SIZE / 2  # MNIST digits have their centre of mass at pixel index 14.0 (measured: 14.00 +- 0.3)
    top = int(np.clip(round(centre - cy), 0, SIZE - new_h))
    left = int(np.clip(round(centre - cx), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top : top + new_h, left : left + new_w] = small
    return out


def upload_to_mnist(file: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An uploaded picture file (or the drawing canvas's PNG) -> (28, 28) like `to_mnist`; any problem is a
    PictureError with a message that is safe to show (a truncated or corrupt file, a bomb, no ink)."""
    pil = open_picture(file, max_pixels)
    try:
        return to_mnist(pil)
    except PictureError:
        raise
    except ValueError as exc:  # ours: "the picture is empty", "too faint"
        raise PictureError(str(exc)) from None
    except (OSError, Image.DecompressionBombError):
        raise PictureError("the file is damaged or cut short: try another one") from None


__all__ = ["BOX", "MAX_PIXELS", "SIZE", "PictureError", "open_picture", "to_ink", "to_mnist", "upload_to_mnist"]
