"""Random small warps of 28x28 images, for training on few digits (the 4,000 of the offline subset).

One pure function: images (B, 784) in [0, 1], a seeded `torch.Generator`, and how strong the warps
are -> warped images (B, 784). Each image gets its own random affine map (rotation, scale, shift)
plus, if asked, an elastic distortion: a smooth random displacement field (Simard, Steinkraus &
Platt 2003, "Best practices for convolutional neural networks applied to visual document
analysis", section 2). Both warps are composed into one sampling grid and the image is resampled
once with bilinear interpolation (`F.grid_sample`); what moves in from outside the frame is 0
(background).

Simard et al. smooth a uniform random field with a Gaussian (sigma 4 px) and scale it (alpha 34),
which moves a pixel about 1.4 px (standard deviation). Here the field is drawn on a coarse
`elastic_cells` x `elastic_cells` grid of N(0, 1) values and upsampled bicubically to 28 x 28: the
same kind of smooth field for the cost of one small interpolation instead of a 2-D convolution,
with its size given directly in pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

SIDE = 28
_PX = 2 / SIDE  # affine_grid and grid_sample span [-1, 1] across the 28 pixels: one pixel is 2/28


@functools.cache
def _base_grid() -> torch.Tensor:
    """Each output pixel's (x, y, 1) in grid_sample's [-1, 1] coordinates (pixel centres, as
    `F.affine_grid(..., align_corners=False)` puts them): (784, 3), row-major over (y, x)."""
    centres = (torch.arange(SIDE, dtype=torch.float64) * 2 + 1) / SIDE - 1  # (28,)
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1), torch.ones(SIDE * SIDE, dtype=torch.float64)], 1)


@functools.cache
def _upsampler(cells: int) -> torch.Tensor:
    """The bicubic upsampling from `cells` to 28 points as a matrix (28, cells): bicubic interpolation
    is separable, so U @ coarse @ U.T equals `F.interpolate(coarse, (28, 28), mode="bicubic",
    align_corners=True)`, at a fraction of its cost on a CPU (two small matrix products)."""
    eye = torch.eye(cells, dtype=torch.float64).reshape(cells, 1, cells, 1)
    return F.interpolate(eye, size=(SIDE, 1), mode="bicubic", align_corners=True).reshape(cells, SIDE).T


@dataclass(frozen=True)
class Warps:
    """How far the warps of `augment` go at strength 1. Each image draws its own values."""

    degrees: float = 10.0
    """Rotation, uniform in [-degrees, degrees]."""
    scale: float = 0.1
    """Zoom, uniform in [1 - scale, 1 + scale]."""
    shift: float = 2.0
    """Translation in pixels, uniform in [-shift, shift] along each axis."""
    elastic: float = 0.0
    """Elastic distortion in pixels (0: none): the displacement's standard deviation at the field's
    cell corners; between them it is smaller (over the whole image about 0.8 x this, measured)."""
    elastic_cells: int = 4
    """The elastic field is drawn on this many cells per side, then smoothly upsampled: fewer cells, smoother."""

    def __post_init__(self) -> None:
        for name in ("degrees", "scale", "shift", "elastic"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.scale >= 1:
            raise ValueError(f"scale must be below 1 (a zoom of 1 - scale must stay positive), got {self.scale}")
        if not 2 <= self.elastic_cells <= SIDE:
            raise ValueError(f"elastic_cells must be 2..{SIDE}, got {self.elastic_cells}")


def augment(x: torch.Tensor, generator: torch.Generator, warps: Warps = Warps(), strength: float = 1.0) -> torch.Tensor:
    """Warp each image of x (B, 784), values in [0, 1], at random: returns a new (B, 784) tensor.

    `strength` multiplies every range of `warps` (0 returns the images unchanged, 0.5 halves the
    rotation, zoom, shift and elastic displacement). The draws come from `generator` only, which
    must live on x's device: the same generator state gives the same warps.
    """
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE:
        raise ValueError(f"expected images of shape (B, {SIDE * SIDE}), got {tuple(x.shape)}")
    if not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    if strength == 0 or len(x) == 0:
        return x.clone()
    b, device, dtype = len(x), x.device, x.dtype

    def uniform(limit: float) -> torch.Tensor:  # (B,) uniform in [-limit, limit)
        return (torch.rand(b, generator=generator, device=device, dtype=dtype) * 2 - 1) * limit

    angle = uniform(math.radians(warps.degrees) * strength)
    zoom = 1 + uniform(warps.scale * strength)
    shift_x, shift_y = uniform(warps.shift * strength * _PX), uniform(warps.shift * strength * _PX)
    # theta maps output coordinates to input ones: dividing by the zoom enlarges the digit.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)  # (B, 2, 3)
    # F.affine_grid(theta, ..., align_corners=False) as one batched product (3x faster here), kept
    # channels-first so that the elastic field adds to it without a strided copy.
    base = _base_grid().to(device, dtype)  # (784, 3)
    grid = (theta @ base.T).reshape(b, 2, SIDE, SIDE)  # (B, 2, 28, 28): the (x, y) each pixel reads from
    if warps.elastic > 0:
        cells = warps.elastic_cells
        coarse = torch.randn((b, 2, cells, cells), generator=generator, device=device, dtype=dtype)  # (B, 2, c, c)
        up = _upsampler(cells).to(device, dtype)  # (28, c)
        # Bicubic upsampling: N(0, 1) at the cell corners, a spread of about 0.6 to 1 in between.
        grid = grid + (up @ coarse @ up.T) * (warps.elastic * strength * _PX)  # (B, 2, 28, 28)
    grid = grid.permute(0, 2, 3, 1)  # (B, 28, 28, 2), as grid_sample reads it
    images = x.reshape(b, 1, SIDE, SIDE)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(b, -1)
