"""Slant and thickness against pictures whose slant and stroke width are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vae.style import slant, thickness

FINE = 16  # draw at 16x and average down: anti-aliased like MNIST's digits


def _render(draw) -> np.ndarray:
    big = Image.new("L", (28 * FINE, 28 * FINE), 0)
    draw(ImageDraw.Draw(big))
    return np.asarray(big.resize((28, 28), Image.BOX), dtype=np.float32) / 255.0  # (28, 28)


def bar(angle: float, width: float, length: float = 20.0) -> np.ndarray:
    """A straight stroke through the centre, `angle` degrees from the vertical (positive: top to the right)."""
    t = math.radians(angle)
    dx, dy = length / 2 * math.sin(t), length / 2 * math.cos(t)
    ends = [((14 - dx) * FINE, (14 + dy) * FINE), ((14 + dx) * FINE, (14 - dy) * FINE)]
    return _render(lambda d: d.line(ends, fill=255, width=round(width * FINE)))


def ring(radius: float, width: float) -> np.ndarray:
    """An annulus: a stroke with no ends, so 2 x area / perimeter is exactly its width."""

    def draw(d):
        for r, fill in ((radius + width, 255), (radius, 0)):
            d.ellipse([(14 - r) * FINE, (14 - r) * FINE, (14 + r) * FINE, (14 + r) * FINE], fill=fill)

    return _render(draw)


@pytest.mark.parametrize("angle", [-35, -10, 0, 15, 40])
def test_slant_is_the_angle_of_a_straight_stroke(angle):
    assert slant(bar(angle, 2.5)[None])[0] == pytest.approx(angle, abs=1.5)


def test_slant_follows_a_shear_of_a_round_shape():
    """A ring has no slant; sheared by s columns per row it leans by atan(s)."""
    upright = ring(6, 2.5)
    assert abs(slant(upright[None])[0]) < 0.5
    rows = np.arange(28)[:, None]
    for shear in (-0.3, 0.25):
        # column c of row r takes the upright column c + shear * (r - 14): the top moves right for shear > 0
        cols = np.arange(28)[None, :] + shear * (rows - 14)
        sheared = np.stack([np.interp(cols[r], np.arange(28), upright[r], left=0, right=0) for r in range(28)])
        assert slant(sheared[None])[0] == pytest.approx(math.degrees(math.atan(shear)), abs=2.0)


@pytest.mark.parametrize("width", [2.0, 3.0, 4.0])
def test_thickness_of_a_ring_is_its_width(width):
    assert thickness(ring(7, width)[None])[0] == pytest.approx(width, rel=0.08)


def test_thickness_grows_with_the_pen_and_does_not_depend_on_direction():
    widths = [thickness(ring(7, w)[None])[0] for w in (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)]
    assert np.all(np.diff(widths) > 0), widths
    per_angle = thickness(np.stack([bar(a, 2.5) for a in (-40, -20, 0, 20, 40, 90)]))
    assert per_angle.max() / per_angle.min() < 1.05, per_angle
    # a 20 x 2.5 stroke: its two ends add 2 x 2.5 to the outline, so it reads 2.5 * 20 / 22.5
    assert per_angle.mean() == pytest.approx(2.5 * 20 / 22.5, rel=0.06)


def test_shapes_and_empty_pictures():
    images = np.stack([bar(10, 2.0), np.zeros((28, 28), np.float32)])
    flat = images.reshape(2, 784)
    np.testing.assert_array_equal(slant(flat), slant(images))
    assert np.isnan(slant(images)[1]) and np.isnan(thickness(images)[1])
    assert slant(images).dtype == np.float32 and thickness(images).shape == (2,)
    with pytest.raises(ValueError, match="784"):
        slant(np.zeros((3, 27, 27)))
    with pytest.raises(ValueError, match="NaN"):
        thickness(np.full((1, 784), np.nan))
