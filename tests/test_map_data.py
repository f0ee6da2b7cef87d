"""The map's points and its sprite sheet (pure parts of ui/map_data.py and vae/history.py)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ui.map_data import SPRITE_COLUMNS, sprite_png
from vae.history import map_index, map_points


def test_the_followed_images_come_first_then_others_up_to_two_thousand():
    pts = map_points(10_000)
    followed = map_index(10_000)
    assert len(pts) == 2000 and len(set(pts.tolist())) == 2000
    np.testing.assert_array_equal(pts[:1000], followed)  # a run's maps are the first 1,000 rows
    assert pts.max() < 10_000
    np.testing.assert_array_equal(map_points(10_000), pts)  # seeded
    np.testing.assert_array_equal(map_points(1_000), np.arange(1_000))  # the offline subset: all of it
    np.testing.assert_array_equal(map_points(30), np.arange(30))
    assert len(map_points(1_500)) == 1_500


def test_the_sprite_sheet_holds_each_picture_in_its_cell_at_32_grey_levels():
    rng = np.random.default_rng(0)
    images = rng.random((85, 784)).astype(np.float32)
    sheet = np.asarray(Image.open(io.BytesIO(sprite_png(images))))
    assert sheet.shape == (3 * 28, SPRITE_COLUMNS * 28)  # 85 pictures: three rows of 40
    for i in (0, 39, 40, 84):
        r, c = divmod(i, SPRITE_COLUMNS)
        cell = sheet[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28].astype(float) / 255
        np.testing.assert_allclose(cell, images[i].reshape(28, 28), atol=0.5 / 31 + 1 / 255)
        assert len(np.unique(cell)) <= 32
    assert (sheet[2 * 28 :, 5 * 28 :] == 0).all()  # the empty cells after the last picture
