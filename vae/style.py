"""Two measures of handwriting style read off the pixels: slant and stroke thickness. Arrays in, arrays out.

They colour the latent map, so a student can see what a conditional model's z holds once the
classifier has taken the digit's identity away: the style.

* **Slant**: the shear that would stand the ink upright, from its second moments, the measure behind
  MNIST's "deskewing" (e.g. LeCun et al.'s deskewed-MNIST results). With ink weights I(r, c), row r
  growing downwards, the shear is -cov(c, r) / var(r) columns per row; `slant` returns its angle from
  the vertical in degrees, positive when the top leans to the right (a "/" is positive).
* **Thickness**: 2 x ink / perimeter. For a stroke of width w and length L the ink is about w L and the
  outline about 2 L, so the ratio is w, in pixels of the 28 x 28 picture. The ink is the sum of the
  intensities; the perimeter is the sum of the intensity's gradient magnitude (the image's total
  variation), which for an anti-aliased picture is the length of the outline, with no threshold and no
  skeleton to compute. The ends of a stroke add 2 w to the outline, so short strokes read a little thin
  (a 15 x 3 bar reads 2.5).
"""

from __future__ import annotations

import numpy as np

SIDE = 28  # pictures are SIDE x SIDE


def _pictures(images: np.ndarray) -> np.ndarray:
    """(N, 784) or (N, 28, 28) intensities in [0, 1] -> float64 (N, 28, 28)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        x = x.reshape(-1, SIDE, SIDE)
    if x.ndim != 3 or x.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (N, 784) or (N, 28, 28), got {np.shape(images)}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinity")
    return np.clip(x, 0.0, 1.0)


def slant(images: np.ndarray) -> np.ndarray:
    """Each picture's slant in degrees from the vertical, positive leaning right: (N,) float32.
    A picture without ink (or ink in one row only, where the shear is undefined) gives NaN."""
    x = _pictures(images)  # (N, 28, 28)
    mass = x.sum(axis=(1, 2))  # (N,)
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)  # (28, 28) each
    with np.errstate(invalid="ignore", divide="ignore"):
        r_mean = (x * rows).sum(axis=(1, 2)) / mass  # (N,)
        c_mean = (x * cols).sum(axis=(1, 2)) / mass
        dr = rows[None] - r_mean[:, None, None]  # (N, 28, 28)
        dc = cols[None] - c_mean[:, None, None]
        var_r = (x * dr * dr).sum(axis=(1, 2)) / mass
        cov = (x * dr * dc).sum(axis=(1, 2)) / mass
        shear = -cov / var_r  # columns to the right per row upwards
        angle = np.degrees(np.arctan(shear))
    angle[~(mass > 0) | ~(var_r > 1e-9)] = np.nan
    return angle.astype(np.float32)


def thickness(images: np.ndarray) -> np.ndarray:
    """Each picture's stroke width in pixels, 2 x ink / perimeter: (N,) float32 (NaN without ink)."""
    x = _pictures(images)  # (N, 28, 28)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))  # ink touching the border still has an outline there
    g_rows, g_cols = np.gradient(padded, axis=(1, 2))  # central differences, (N, 30, 30) each
    perimeter = np.hypot(g_rows, g_cols).sum(axis=(1, 2))  # (N,) the total variation
    ink = x.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        width = 2.0 * ink / perimeter
    width[~(perimeter > 0)] = np.nan
    return width.astype(np.float32)
