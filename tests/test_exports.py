"""Exports: config JSON, metrics CSV, the per-epoch GIF and the checkpoint file."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import open_page
from ui.exports import gif_frame_ms, metrics_csv, samples_gif, steps_csv
from ui.train_charts import CELL, sample_grid_png
from vae.checkpoint import checkpoint_bytes, load_checkpoint


def test_csv_gif_and_checkpoint_bytes(tiny_checkpoint, tmp_path):
    ckpt = load_checkpoint(tiny_checkpoint)
    rows = list(csv.DictReader(io.StringIO(metrics_csv(ckpt.epoch_metrics).decode())))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["test_loss"]) == ckpt.epoch_metrics[-1]["test_loss"]
    lines = steps_csv(ckpt.steps).decode().splitlines()
    assert lines[0].startswith("step,") and len(lines) == 1 + len(ckpt.steps["step"])
    names = tuple(str(d) for d in range(10))
    gif = Image.open(io.BytesIO(samples_gif(ckpt.sample_rows, names, list(ckpt.sample_epochs))))
    png = Image.open(io.BytesIO(sample_grid_png(ckpt.sample_rows, names, list(ckpt.sample_epochs))[0]))
    assert gif.n_frames == 3 and gif.size[0] == png.size[0]  # each frame: one row of the grid, labelled alike
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("L")))
    label = slice(0, png.size[0] - 10 * CELL)  # the "epoch N" margin left of the samples
    assert not np.array_equal(frames[0][:, label], frames[1][:, label])  # epoch 1, epoch 2: different labels
    assert (frames[0][:, label] < 128).any()  # ink in the margin
    copy = tmp_path / "copy.pt"
    copy.write_bytes(checkpoint_bytes(ckpt))  # made in memory: no disk needed (a full temp folder cannot stop it)
    assert load_checkpoint(copy).config == ckpt.config and load_checkpoint(copy).epoch == 3


def test_a_long_runs_gif_keeps_every_epoch_but_plays_in_seconds():
    rng = np.random.default_rng(0)
    rows = rng.random((300, 10, 28, 28), dtype=np.float32)  # 300 epochs, every frame different
    gif = Image.open(io.BytesIO(samples_gif(rows, None, list(range(1, 301)))))
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert gif.n_frames == 300 and set(durations[:-1]) == {50} and durations[-1] == 2000  # 15 s, then a pause
    assert gif_frame_ms(3) == 400 and gif_frame_ms(1000) == 20  # short runs stay readable; never under 20 ms


def test_train_page_offers_every_download(app_env, fresh_streamlit_caches):
    at = open_page("pages/1_Train.py")
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    for wanted in (
        "Config (JSON)",
        "Epoch metrics (CSV)",
        "Step metrics (CSV)",
        "Sample grid (PNG)",
        "Samples per epoch (GIF)",
    ):
        assert wanted in labels
    assert "Checkpoint (.pt)" in labels
    assert np.all([not b.proto.disabled for b in at.get("download_button")])


def test_download_row_makes_every_file_only_on_click(tiny_checkpoint, tmp_path, monkeypatch):
    """The buttons hold makers, not files: nothing is drawn or serialised until a button is clicked."""
    import json

    from ui import exports

    class Row:
        def download_button(self, label, data, file_name, mime, **kwargs):
            buttons[label] = (data, kwargs["disabled"])

    buttons, calls = {}, []
    ckpt = load_checkpoint(tiny_checkpoint).but(path=None)  # not on disk (a live run): made in memory
    for name in ("sample_grid_png", "samples_gif", "checkpoint_bytes"):
        real = getattr(exports, name)
        monkeypatch.setattr(exports, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    monkeypatch.setattr(exports.st, "container", lambda **layout: Row())
    exports.download_row(ckpt, "tiny")
    assert calls == [] and not any(disabled for _, disabled in buttons.values())
    files = {label: make() for label, (make, _) in buttons.items()}
    assert json.loads(files["Config (JSON)"])["z_dim"] == 2
    assert files["Epoch metrics (CSV)"].decode().count("\n") == 1 + 3
    assert Image.open(io.BytesIO(files["Sample grid (PNG)"])).format == "PNG"
    assert Image.open(io.BytesIO(files["Samples per epoch (GIF)"])).n_frames == 3
    (tmp_path / "c.pt").write_bytes(files["Checkpoint (.pt)"])
    assert load_checkpoint(tmp_path / "c.pt").epoch == 3 and len(calls) == 3


@pytest.mark.browser
def test_the_home_grid_downloads_as_a_png_made_on_click(app_server, browser):
    """The grid's PNG is encoded only when the button is clicked (a temperature change encodes none)."""
    from bench.harness import wait_for_app

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_server.url)
    wait_for_app(page)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download this grid (PNG)").click()
    assert download.value.suggested_filename.endswith("-samples.png")
    png = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert png.format == "PNG" and png.size[0] > 28 * 10 and png.size[1] > 28 * 5  # ten columns, five rows
    page.close()
