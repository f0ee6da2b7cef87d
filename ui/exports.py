"""Download buttons for what a run produced: sample grid PNG and GIF, metrics CSV, config JSON, the checkpoint."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from ui.train_charts import epochs_of, labelled_rows, sample_grid_png
from ui.words import words
from vae.checkpoint import checkpoint_bytes
from vae.images import gif_bytes
from vae.run import RunView


def metrics_csv(rows: Sequence[Mapping]) -> bytes:
    """One line per epoch, one column per metric."""
    if not rows:
        return b""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def steps_csv(steps: Mapping[str, np.ndarray]) -> bytes:
    out = io.StringIO()
    columns = list(steps)
    out.write(",".join(columns) + "\n")
    for values in zip(*(steps[c] for c in columns), strict=True):
        out.write(",".join(f"{v:.6g}" for v in values) + "\n")
    return out.getvalue().encode()


GIF_FRAME_MS = 400  # a short run's frames: slow enough to read each one
GIF_SECONDS = 15.0  # a long run's frames are shown faster, so that it plays in about this long ...
GIF_FASTEST_MS = 20  # ... but no faster: browsers show shorter GIF frames (10 ms, 0) for 100 ms


def gif_frame_ms(n_frames: int) -> int:
    """How long each frame of an `n_frames` GIF shows: 400 ms up to 37 frames (15 s), then shorter
    (300 epochs: 50 ms each, 15 s), at least 20 ms (1,000 epochs: 20 s); in GIF's 10 ms steps."""
    return max(GIF_FASTEST_MS, min(GIF_FRAME_MS, int(GIF_SECONDS * 1000 / max(n_frames, 1)) // 10 * 10))


def samples_gif(
    rows: np.ndarray, col_labels: tuple[str, ...] | None = None, row_epochs: list[int] | None = None
) -> bytes:
    """One frame per epoch row: that epoch's ten samples, labelled "epoch N" and by column as in
    the sample grid; the last frame is held for 2 s before the loop starts again."""
    epochs = epochs_of(rows, row_epochs)
    frames = [
        np.asarray(labelled_rows(row[None], [epoch], col_labels, widest=f"epoch {epochs[-1]}"))
        for row, epoch in zip(rows, epochs, strict=True)
    ]
    return gif_bytes(frames, duration_ms=gif_frame_ms(len(frames)), hold_last_ms=2000)


def download_row(run: RunView, name: str) -> None:
    """A row of download buttons for `run`; `name` prefixes the file names.

    Each file is made only when its button is clicked, from the view the button was drawn with (views
    never change, and share the run's memory: the buttons hold no copies of their own). A checkpoint
    already on disk is sent as it is; any other is written in memory (a full disk cannot stop it).
    """
    labels = words(run.dataset_name).names if run.config.conditional else None
    has_rows, has_epochs, has_steps = bool(run.sample_epochs), bool(run.epoch_metrics), run.logged_steps > 0

    def grid_png() -> bytes:
        return sample_grid_png(run.sample_rows, labels, list(run.sample_epochs))[0]

    def grid_gif() -> bytes:
        return samples_gif(run.sample_rows, labels, list(run.sample_epochs))

    def checkpoint() -> bytes:
        if run.path is not None:
            try:
                return run.path.read_bytes()
            except OSError:
                pass  # deleted meanwhile: make it again from the view
        return checkpoint_bytes(run)

    buttons = [
        ("Config (JSON)", lambda: json.dumps(run.config.to_dict(), indent=2), "config.json", "application/json", True),
        ("Epoch metrics (CSV)", lambda: metrics_csv(run.epoch_metrics), "epochs.csv", "text/csv", has_epochs),
        ("Step metrics (CSV)", lambda: steps_csv(run.steps), "steps.csv", "text/csv", has_steps),
        ("Sample grid (PNG)", grid_png, "samples.png", "image/png", has_rows),
        ("Samples per epoch (GIF)", grid_gif, "samples.gif", "image/gif", has_rows),
        ("Checkpoint (.pt)", checkpoint, "checkpoint.pt", "application/octet-stream", True),
    ]
    row = st.container(horizontal=True)  # each button at its label's width, wrapping on narrow screens
    for label, make, suffix, mime, enabled in buttons:
        row.download_button(
            label, make, f"{name}-{suffix}", mime, key=f"train_dl_{suffix}", disabled=not enabled, on_click="ignore"
        )
