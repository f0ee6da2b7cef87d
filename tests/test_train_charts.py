"""The Train page's figures (ui/train_charts.py): the per-epoch sample grid and the loss curves."""

from __future__ import annotations

import base64
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from tests.helpers import sample_grid_height
from ui.train_charts import CELL, PAD, SCALE, sample_grid_png
from vae.data import DIGIT_NAMES as DIGITS
from vae.data import FASHION_NAMES


def test_the_sample_grid_has_one_labelled_row_per_epoch_with_sharp_pixels():
    rows = np.random.default_rng(0).random((3, 10, 28, 28), dtype=np.float32)
    png, epochs = sample_grid_png(rows, DIGITS)
    image = np.asarray(Image.open(BytesIO(png)))
    assert epochs == [1, 2, 3]
    assert sample_grid_height(5) - sample_grid_height(3) == 2 * CELL  # one row of CELL pixels per epoch
    # The last row's last digit, bottom-right: each source pixel is a SCALE x SCALE block of one value.
    bottom, right = image.shape[0] - PAD * SCALE, image.shape[1] - PAD * SCALE
    digit = image[bottom - 28 * SCALE : bottom, right - 28 * SCALE : right]
    expected = np.round(rows[2, 9] * 255).astype(np.uint8)
    assert np.array_equal(digit[::SCALE, ::SCALE], expected)
    assert np.array_equal(digit, np.kron(expected, np.ones((SCALE, SCALE), np.uint8)))
    # A slim checkpoint keeps some epochs only: the rows say which.
    assert sample_grid_png(rows, DIGITS, [1, 50, 100])[1] == [1, 50, 100]
    # Fashion-MNIST's long class names fit (on two lines): a taller header, same rows.
    assert sample_grid_height(3, FASHION_NAMES) > sample_grid_height(3)


def _values(array) -> list[float]:
    """A trace's x or y: plotly sends numpy arrays as {"dtype", "bdata": base64}, lists as they are."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_the_curves_show_train_and_test_per_epoch_and_a_smoothed_step_loss():
    from ui.train_charts import curves_figure, smooth
    from vae.config import preset

    parts = ("loss", "recon", "kl", "class", "acc")
    epochs = [{"epoch": e, **{f"{s}_{p}": 10.0 / e for s in ("train", "test") for p in parts}} for e in (1, 2, 3)]
    steps = {"step": np.arange(1, 121, dtype=np.float32), "loss": np.linspace(500, 300, 120, dtype=np.float32)}
    fig = curves_figure(preset("tiny"), "mnist", epochs, steps, revision="r").to_dict()
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert any("VAE loss" in t for t in titles) and any("Digit classifier loss" in t for t in titles)
    assert len(titles) == 6 and fig["layout"]["xaxis2"]["title"]["text"] == "epoch"
    lines = {(t["name"], t["yaxis"]): t for t in fig["data"]}
    assert _values(lines[("train", "y2")]["y"]) == pytest.approx([10 + 10, 5 + 5, 10 / 3 + 10 / 3])  # recon + β·KL
    assert lines[("test", "y2")]["line"]["dash"] == "dash" and lines[("train", "y2")]["line"]["dash"] == "solid"
    assert _values(lines[("test", "y6")]["y"]) == pytest.approx([1000, 500, 1000 / 3])  # accuracy in %
    plain = curves_figure(preset("classic"), "mnist", [], {}, revision="r").to_dict()
    assert not any("classifier" in a["text"] for a in plain["layout"]["annotations"])
    # The Train page draws the per-step panel and the per-epoch panels as two figures.
    only_steps = curves_figure(preset("tiny"), "mnist", epochs, steps, revision="r", part="steps").to_dict()
    assert {t["name"].split(" (")[0] for t in only_steps["data"]} == {"loss of each batch", "smoothed"}
    only_epochs = curves_figure(preset("tiny"), "mnist", epochs, steps, revision="r", part="epochs").to_dict()
    assert len(only_epochs["layout"]["annotations"]) == 5 and "loss of each batch" not in str(only_epochs["data"])
    assert [t["name"] for t in only_epochs["data"] if t.get("showlegend")] == ["train", "test"]
    assert _values(only_epochs["data"][0]["y"]) == pytest.approx([20, 10, 20 / 3])  # the VAE loss comes first
    assert np.allclose(smooth(np.full(50, 7.0)), 7.0) and smooth(np.array([3.0, 5.0]))[0] == 3.0  # no start bias
