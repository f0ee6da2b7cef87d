"""vae.preprocess: a drawing becomes a 28x28 digit prepared like MNIST."""

import numpy as np
import pytest
from PIL import Image

from vae.preprocess import BOX, SIZE, to_ink, to_mnist


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    return (
        float((image.sum(axis=1) * np.arange(image.shape[0])).sum() / total),
        float((image.sum(axis=0) * np.arange(image.shape[1])).sum() / total),
    )


def bounding_box(image: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    rows, cols = np.nonzero(image > threshold)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_off_centre_stroke_is_scaled_to_20_px_and_centred():
    canvas = np.zeros((280, 280), dtype=np.uint8)
    canvas[10:110, 200:230] = 255  # a 100 x 30 bar in the top-right corner
    out = to_mnist(canvas)
    assert out.shape == (SIZE, SIZE) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    height, width = bounding_box(out)
    assert height == BOX and width in (6, 7)  # aspect ratio kept: 30 / 100 * 20 = 6
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # where MNIST puts it


def test_dark_ink_on_paper_equals_light_ink_on_black():
    rng = np.random.default_rng(0)
    light = np.zeros((120, 90), dtype=np.uint8)
    light[20:100, 30:60] = rng.integers(128, 256, size=(80, 30))
    np.testing.assert_allclose(to_mnist(255 - light), to_mnist(light), atol=1e-6)
    rgb = np.repeat((255 - light)[..., None], 3, axis=2)  # black ink on white, RGB
    np.testing.assert_allclose(to_mnist(rgb), to_mnist(light), atol=1e-6)


def test_transparent_background_uses_alpha_as_ink():
    rgba = np.zeros((100, 100, 4), dtype=np.uint8)
    rgba[20:80, 45:55] = (0, 0, 0, 255)  # opaque black stroke on a fully transparent background
    ink = to_ink(Image.fromarray(rgba, mode="RGBA"))
    assert ink[50, 50] == 1.0 and ink[5, 5] == 0.0


def test_a_real_mnist_digit_survives_being_redrawn_large(mnist):
    """An MNIST digit drawn 10x larger, off-centre, black on white, comes back as itself (corr ~0.997)."""
    for i in (0, 137, 555):
        digit = mnist.test_x[i].reshape(28, 28).numpy()
        big = np.kron(digit, np.ones((10, 10), dtype=np.float32))  # (280, 280)
        paper = np.ones((400, 400), dtype=np.float32)
        paper[100:380, 0:280] = 1.0 - big
        out = to_mnist(paper)
        corr = np.corrcoef(out.ravel(), digit.ravel())[0, 1]
        assert corr > 0.98, f"test digit {i}: correlation {corr:.2f}"


def test_empty_picture_is_refused():
    with pytest.raises(ValueError, match="empty"):
        to_mnist(np.zeros((50, 50), dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        to_mnist(np.zeros((5, 5, 2), dtype=np.uint8))


def test_a_48_megapixel_photo_is_shrunk_before_it_is_read(mnist):
    """A phone photo of a digit on paper gives the same digit as the same photo at 1,000 px, without
    holding the full-size picture as floats (192 MB for 8000 x 6000): numpy's allocations stay small."""
    import io
    import tracemalloc

    digit = mnist.test_x[137].reshape(28, 28).numpy()
    photo = np.full((6000, 8000), 235, dtype=np.uint8)  # grey paper
    photo[1000:5200, 2000:6200] = np.round(235 * (1 - np.kron(digit, np.ones((150, 150))))).astype(np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(photo).convert("RGB").save(jpeg, format="JPEG", quality=90)
    small = to_mnist(Image.fromarray(photo).resize((1000, 750), Image.Resampling.BOX))
    tracemalloc.start()
    out = to_mnist(Image.open(io.BytesIO(jpeg.getvalue())))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 30_000_000, f"{peak / 1e6:.0f} MB"
    assert np.corrcoef(out.ravel(), digit.ravel())[0, 1] > 0.95
    np.testing.assert_allclose(out, small, atol=0.1)
