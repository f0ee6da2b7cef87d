"""Drawing for the Train page: the loss curves (plotly) and the per-epoch sample grid (one PNG).

Both read a `RunView`, the same type for the live run and a saved checkpoint, so a student sees a
shipped model's training history exactly as they would have seen it live.
"""

from __future__ import annotations

import base64
import io
import math
import threading
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from ui.words import words
from vae.config import Config
from vae.images import grid
from vae.run import RunState, RunView

EMA_ALPHA = 0.1  # per-step loss smoothing: an exponential moving average, about the last 10 steps
MAX_POINTS = 1000  # per-step points sent to the browser each second (longer runs are thinned)
TRAIN, TEST, RAW = "#1f77b4", "#ff7f0e", "rgba(120,120,120,0.35)"

SCALE = 2  # each 28x28 sample drawn at 56x56, nearest neighbour: square, sharp pixels
PAD = 1  # white pixels between samples (before scaling)
CELL = (28 + PAD) * SCALE
# A running run's sample grid changes at most this often. Each new picture is a few hundred KB to
# every browser watching: redrawn every second (an epoch of the offline subset takes a fraction
# of a second) it was 333 KB/s per Train tab, about 80 Mbit/s for a class of thirty.
GRID_EVERY = 5.0
GRID_ALT = "Samples drawn after each epoch: one row per epoch, one column per class"
MAX_ROWS = 40  # longer runs show 40 epochs spread over the run, the last one included
_FONT = ImageFont.load_default(size=13)
_INK = 40


def smooth(values: np.ndarray, alpha: float = EMA_ALPHA) -> np.ndarray:
    """Exponential moving average, bias-corrected at the start (pandas `adjust=True`); NaN-tolerant."""
    return pd.Series(values, dtype="float64").ewm(alpha=alpha, adjust=True, ignore_na=True).mean().to_numpy()


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_text(run: RunView) -> str:
    """One line under the progress bar of a live run."""
    p = run.progress
    text = f"{run.epoch} of {run.config.epochs} epochs done"
    if run.state.live and run.epoch < run.config.epochs:
        text += f" · step {p.step_in_epoch:,} of {p.steps_per_epoch:,} in epoch {run.epoch + 1}"
    text += f" ({run.step:,} of {run.total_steps:,} steps in all)"
    if run.state is RunState.RUNNING:
        text += f" · {p.steps_per_sec:.0f} steps/s · about {format_duration(p.eta_seconds)} left"
    elif run.state is RunState.PAUSED:
        text += " · paused"
    return text


# --- curves ------------------------------------------------------------------------------------


def _panels(config: Config, dataset: str) -> list[tuple[str, str, str | None]]:
    """(title, y-axis title, epoch metric) per panel; None is the per-step loss. A title's second
    line (after "\n") is drawn smaller: the panels are narrow on a 1024-pixel classroom projector."""
    classifier = words(dataset).classifier
    panels: list[tuple[str, str, str | None]] = [
        ("Loss per step (all terms)", "nats per image", None),
        ("VAE loss\nreconstruction + β·KL", "nats per image", "vae"),
    ]
    if config.conditional:
        panels.append((f"{classifier} loss", "cross-entropy (nats)", "class"))
    panels += [
        ("Reconstruction\n−log p(x|z)", "nats per image", "recon"),
        ("KL to the prior\nKL(q(z|x) ‖ p(z))", "nats per image", "kl"),
    ]
    if config.conditional:
        panels.append((f"{classifier} accuracy", "% correct", "acc"))
    return panels


def _epoch_values(epochs: Sequence[Mapping], split: str, metric: str, beta: float) -> list[float]:
    def get(m: Mapping, part: str) -> float:
        return float(m.get(f"{split}_{part}", float("nan")))

    if metric == "vae":
        return [get(m, "recon") + beta * get(m, "kl") for m in epochs]
    if metric == "acc":
        return [100.0 * get(m, "acc") for m in epochs]
    return [get(m, metric) for m in epochs]


def _note(text: str, x: float, y: float, **style: object) -> dict:
    """A text annotation at paper coordinates (0..1 over the whole figure)."""
    return {
        "text": text,
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "showarrow": False,
        **style,
    }


def _line(name: str, x: object, y: object, color: str, axes: dict, **style: object) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y, "line": {"color": color}, **axes, **style}


def curves_figure(
    config: Config,
    dataset: str,
    epochs: Sequence[Mapping],
    steps: Mapping[str, np.ndarray],
    revision: str,
    part: str = "all",
) -> go.Figure:
    """Training curves: per-step loss (raw and smoothed) and, per epoch, train vs test.

    `part`: "all" panels in one figure, only the per-step panel ("steps"), or only the per-epoch
    panels ("epochs"). The Train page draws the two parts apart: the live panel redraws every
    second, and a browser re-plots a figure only when it changed, which the per-epoch one does once
    per epoch (a browser re-plotting all six panels every second used a quarter of a core).
    """
    panels = [p for p in _panels(config, dataset) if part == "all" or (p[2] is None) == (part == "steps")]
    ncols = min(len(panels), 3 if len(panels) > 4 else 2)
    nrows = -(-len(panels) // ncols)
    fig_height = (300 if part != "steps" else 260) * nrows + 40
    gap_x, gap_y = 0.07, 130 / (fig_height - 90) if nrows > 1 else 0.0  # 130 px: axis title + next title
    width, height = (1 - gap_x * (ncols - 1)) / ncols, (1 - gap_y * (nrows - 1)) / nrows
    first_epoch_panel = next((i for i, p in enumerate(panels) if p[2] is not None), None)
    layout: dict = {
        "height": fig_height,
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.1, "yanchor": "bottom"},
        "uirevision": revision,  # keep the user's zoom while new points arrive
        "annotations": [],
        "hovermode": "x unified",
    }
    data: list[dict] = []
    # numpy arrays, not lists: plotly sends them as base64 binary (4 bytes a value, not ~18 of text),
    # and the live panel sends its figures every second to every browser watching.
    x_epochs = np.asarray([int(m.get("epoch", i + 1)) for i, m in enumerate(epochs)], dtype=np.int32)
    for i, (title, y_title, metric) in enumerate(panels):
        row, col = divmod(i, ncols)
        ax = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{ax}", "yaxis": f"y{ax}"}
        x0, y1 = col * (width + gap_x), 1 - row * (height + gap_y)
        xaxis = layout[f"xaxis{ax}"] = {"domain": [x0, x0 + width], "anchor": f"y{ax}", "title": {"text": "epoch"}}
        yaxis = layout[f"yaxis{ax}"] = {"domain": [y1 - height, y1], "anchor": f"x{ax}", "title": {"text": y_title}}
        mid = x0 + width / 2
        name, _, formula = title.partition("\n")
        text = f"<b>{name}</b>" + (f"<br><span style='font-size:12px'>{formula}</span>" if formula else "")
        layout["annotations"].append(_note(text, mid, y1, yanchor="bottom", font={"size": 14}))
        if metric is None:
            xaxis["title"]["text"] = "training step"
            loss = np.asarray(steps.get("loss", []), dtype=np.float64)
            step = np.asarray(steps.get("step", np.arange(1, len(loss) + 1)), dtype=np.float64)
            pick = slice(None, None, max(1, -(-len(loss) // MAX_POINTS)))  # at most MAX_POINTS points
            x, smoothed = step[pick].astype(np.float32), smooth(loss)[pick].astype(np.float32)
            data.append(_line("loss of each batch", x, loss[pick].astype(np.float32), RAW, axes))
            ema = f"smoothed (EMA, α = {EMA_ALPHA})"
            data.append(_line(ema, x, smoothed, TRAIN, axes, line={"color": TRAIN, "width": 2.5}))
            continue
        last = int(max(x_epochs, default=1))
        xaxis.update(range=[0.5, last + 0.5], tickformat="d")
        if last <= 12:
            xaxis.update(tickmode="linear", tick0=1, dtick=1)  # every epoch; plotly picks round ticks for more
        if metric == "acc":
            yaxis["range"] = [0, 100]
        if not epochs:
            layout["annotations"].append(
                _note("appears when epoch 1 ends", mid, y1 - height / 2, font={"color": "grey"})
            )
        for split, color, dash in (("train", TRAIN, "solid"), ("test", TEST, "dash")):
            y = np.asarray(_epoch_values(epochs, split, metric, config.beta), dtype=np.float32)
            mode = "lines+markers" if len(epochs) <= 60 else "lines"
            style = {"mode": mode, "line": {"color": color, "dash": dash}, "legendgroup": split}
            data.append(_line(split, x_epochs, y, color, axes, showlegend=i == first_epoch_panel, **style))
    # Built as plain dicts without plotly's validation: make_subplots + validation cost about 100 ms
    # per refresh on the 2-core build machine, this about 15 ms (the page redraws every second).
    return go.Figure({"data": data, "layout": layout}, _validate=False)


# --- sample grid -------------------------------------------------------------------------------


def _lines(label: str, width: int) -> list[str]:
    """Split a column label into at most two lines that fit `width` pixels."""
    if _FONT.getlength(label) <= width:
        return [label]
    for sep in ("/", " "):
        if sep in label:
            head, tail = label.split(sep, 1)
            return [head + (sep if sep == "/" else ""), tail]
    return [label]


def _rows_to_show(n: int) -> list[int]:
    if n <= MAX_ROWS:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, MAX_ROWS)})


def epochs_of(rows: np.ndarray, row_epochs: list[int] | None) -> list[int]:
    """The epoch of each sample row: `row_epochs` (a slim checkpoint keeps only some), else 1..R."""
    if not row_epochs or len(row_epochs) < len(rows):
        return list(range(1, len(rows) + 1))
    return [int(e) for e in row_epochs[: len(rows)]]


def labelled_rows(
    rows: np.ndarray, epochs: list[int], col_labels: tuple[str, ...] | None, widest: str | None = None
) -> Image.Image:
    """Sample rows (R, 10, 28, 28) in [0, 1], each labelled "epoch N" on its left, the columns by
    class on top. `widest`: the longest row label to leave room for (frames of one GIF align)."""
    tiles = grid(np.asarray(rows).reshape(-1, 28, 28), 10, pad=PAD)  # uint8 (H, W)
    tiles_img = Image.fromarray(tiles).resize(
        (tiles.shape[1] * SCALE, tiles.shape[0] * SCALE), Image.Resampling.NEAREST
    )
    left = int(_FONT.getlength(widest or f"epoch {epochs[-1]}")) + 12
    lines = [_lines(c, CELL - 4) for c in col_labels] if col_labels else []
    top = 6 + 16 * max((len(x) for x in lines), default=0)
    canvas = Image.new("L", (left + tiles_img.width, top + tiles_img.height), 255)
    canvas.paste(tiles_img, (left, top))
    draw = ImageDraw.Draw(canvas)
    for r, epoch in enumerate(epochs):
        y = top + PAD * SCALE + r * CELL + 28 * SCALE // 2
        draw.text((left - 6, y), f"epoch {epoch}", fill=_INK, font=_FONT, anchor="rm")
    for c, label_lines in enumerate(lines):
        x = left + PAD * SCALE + c * CELL + 28 * SCALE // 2
        for k, line in enumerate(reversed(label_lines)):
            draw.text((x, top - 4 - 16 * k), line, fill=_INK, font=_FONT, anchor="md")
    return canvas


def sample_grid_png(
    rows: np.ndarray, col_labels: tuple[str, ...] | None, row_epochs: list[int] | None = None
) -> tuple[bytes, list[int]]:
    """The tutorial's picture: one row per epoch (10 samples), labelled "epoch N" and by column.

    rows: (R, 10, 28, 28) in [0, 1]; row_epochs: the epoch of each row (None: 1, 2, ..., R; a slim
    checkpoint keeps only some epochs). Returns PNG bytes and the epoch numbers shown.
    """
    row_epochs = epochs_of(rows, row_epochs)
    picked = _rows_to_show(len(rows))
    epochs = [row_epochs[i] for i in picked]
    buffer = io.BytesIO()
    labelled_rows(np.asarray(rows)[picked], epochs, col_labels).save(buffer, format="PNG")
    return buffer.getvalue(), epochs


@st.cache_data(max_entries=4, show_spinner=False)  # a live run needs only its latest grid
def _cached_grid(run_id: str, n_rows: int, col_labels: tuple[str, ...] | None, _run: RunView):
    """The grid as a data: URL. Inline, not a media file: the live panel redraws every second, and
    Streamlit deletes a replaced media file at the end of the next run, so a browser slower than
    that fetched a deleted file and showed a broken image. Streamlit's message cache sends an
    unchanged grid as a hash, so inlining costs no bandwidth while the grid stays the same.

    The picture of a run's first `n_rows` rows never changes, so the run's id and `n_rows` key it; the
    live run's rows (10 x 784 floats per epoch) are drawn once per new epoch, not per browser per second."""
    png, shown = sample_grid_png(_run.sample_rows[:n_rows], col_labels, list(_run.sample_epochs[:n_rows]))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), shown


_grid_ticks: dict[str, tuple[float, int]] = {}  # run key -> (when its grid last changed, rows shown)
_grid_lock = threading.Lock()


def grid_rows(run: RunView) -> int:
    """How many sample rows the grid shows: all of them, except that while a run trains a new picture
    comes at most every GRID_EVERY seconds, the same for every browser (so it is drawn once)."""
    n = len(run.sample_epochs)
    if run.state is not RunState.RUNNING:
        return n
    now = time.monotonic()
    with _grid_lock:
        changed_at, shown = _grid_ticks.get(run.run_id, (-math.inf, 0))
        if n != shown and now - changed_at >= GRID_EVERY:
            _grid_ticks[run.run_id] = (now, n)
            shown = n
    return shown


# --- the whole history, live or saved ---------------------------------------------------------


def draw_history(run: RunView, n_rows: int | None = None) -> None:
    """A run's curves and its sample grid (its first `n_rows` rows; all by default)."""
    config, dataset, steps = run.config, run.dataset_name, run.steps
    n_rows = len(run.sample_epochs) if n_rows is None else n_rows
    for part in ("steps", "epochs"):
        st.plotly_chart(
            curves_figure(config, dataset, run.epoch_metrics, steps, revision=run.run_id, part=part),
            key=f"train_curves_{part}",
            config={"displaylogo": False},
        )
    st.caption(
        "Losses are in nats per image (summed over the 784 pixels): lower is better. "
        "**Train** (solid): the average over the epoch's batches, while the weights were still changing. "
        "**Test** (dashed): images the model never trains on, scored at the end of the epoch. "
        f"The per-step curve is smoothed with an exponential moving average (α = {EMA_ALPHA}, "
        "about the last 10 steps); the grey line is each batch's own loss."
    )
    logged = np.asarray(steps.get("step", []))
    if len(logged) > 1 and logged[-1] > len(logged):
        st.caption(f"The saved log keeps the loss of {len(logged):,} of the {int(logged[-1]):,} steps, evenly spread.")
    st.subheader("What it draws after each epoch")
    if not n_rows:
        st.info("The first row of samples appears when epoch 1 ends.")
        return
    names = words(dataset).names if config.conditional else None
    url, shown = _cached_grid(run.run_id, n_rows, names, _run=run)
    # Not st.image(url): it parses the URL with urllib's urlsplit, whose cache keeps the last 128
    # URLs parsed. A live run makes a new grid every epoch, each a few hundred KB of data: URL, and
    # that cache held about 90 MB of old grids after a few minutes of a classroom (BENCHMARKS.md).
    st.html(f'<img class="sample-grid" src="{url}" alt="{GRID_ALT}" style="max-width: 100%; height: auto">')
    if config.conditional:
        what, style = words(dataset).kind, words(dataset).style
        st.caption(
            f"One row per finished epoch. Each row picks **one** random style z and asks the decoder for each "
            f"{what} in turn (columns), so a row shares one {style}. Read down a column to watch a {what} "
            f"take shape; each row's {style} is new, so a late row can still look odd: judge the trend, not "
            "one row."
        )
    else:
        st.caption(
            "One row per finished epoch. This model has no classifier (a plain VAE), so there is no digit to "
            "ask for: each row shows 10 random samples, each from its own random z."
        )
    if shown != list(range(1, shown[-1] + 1)):
        st.caption(f"Showing {len(shown)} of the {shown[-1]} epochs, spread over the run (the last one included).")
