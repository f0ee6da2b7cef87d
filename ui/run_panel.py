"""The Train page's one-screen view of a run (live or saved: the same `RunView`).

Beside each other: the digits the model draws, epoch by epoch (the film: the same styles every epoch,
with a scrubber), and two small charts (the loss, step by step on a log scale; how often it draws
the digit asked for, epoch by epoch). Below them the model as a diagram with one test digit's live
values. Everything else (every loss curve, train against test; the tutorial's own picture with a
new style each epoch) waits in an expander.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ui import state
from ui.diagram import draw as draw_diagram
from ui.film import film
from ui.train_charts import MAX_POINTS, RAW, TEST, TRAIN, draw_history, smooth
from ui.words import words
from vae.data import DatasetError
from vae.run import RunView

DIAGRAM_DIGIT = 0  # the test image the diagram follows (the same all run long)
JUDGED = "#2ca02c"


def overview_figure(run: RunView) -> go.Figure:
    """Two stacked panels: the loss of each step (log scale: the first steps' spike would flatten the
    rest), and per epoch the test accuracy of the classifier and how often the judge recognises the
    digit asked for. No legend: the titles name the lines in their colours (a legend took half the
    height in a 300-px column)."""
    steps, epochs, vocab = run.steps, run.epoch_metrics, words(run.dataset_name)
    loss = np.asarray(steps.get("loss", ()), np.float64)
    step = np.asarray(steps.get("step", np.arange(1, len(loss) + 1)), np.float64)
    pick = slice(None, None, max(1, -(-len(loss) // MAX_POINTS)))
    positive = np.where(loss > 0, loss, np.nan)  # a log axis needs > 0 (a Gaussian loss can dip below)
    data = [
        _line("each step", step[pick], positive[pick], RAW, "x", "y"),
        _line("smoothed", step[pick], smooth(positive)[pick], TRAIN, "x", "y", width=2.5),
    ]
    x = np.asarray([int(m["epoch"]) for m in epochs], np.int32)
    ends = np.asarray([int(m.get("step", 0)) for m in epochs], np.float64)
    test = np.asarray([_vae_loss(m, run.config.beta) for m in epochs], np.float64)
    data.append(_marks("test images", ends, np.where(test > 0, test, np.nan), TEST, "x", "y"))
    titles = [(f"Loss per step: {_ink('smoothed', TRAIN)} · {_ink('test images', TEST)}", 1.0)]
    conditional = run.config.conditional
    if conditional:
        acc = [100 * float(m.get("test_acc", np.nan)) for m in epochs]
        right = f"classifier right about test {vocab.plural}"
        data.append(_marks(right, x, acc, TRAIN, "x2", "y2"))
        judged = [100 * float(m["judged_acc"]) for m in epochs if "judged_acc" in m]
        parts = [_ink(right, TRAIN)]
        if judged:  # both in one title that fits the 260-px column of a 1024-px screen: "classifier" alone
            data.append(_marks(f"draws the {vocab.kind} asked for", x[-len(judged) :], judged, JUDGED, "x2", "y2"))
            parts = [_ink(f"draws the {vocab.kind} asked for", JUDGED), _ink("classifier", TRAIN)]
        titles.append(("% per epoch: " + " · ".join(parts), 0.40))
    layout = {
        "height": 300 if conditional else 170,
        "margin": {"l": 4, "r": 4, "t": 22, "b": 4},
        "showlegend": False,
        "uirevision": run.run_id,
        "font": {"size": 12},
        "hovermode": "x",
        "xaxis": {"domain": [0, 1], "anchor": "y", "ticksuffix": " ", "nticks": 5},
        "yaxis": {"domain": [0.6, 0.96] if conditional else [0, 0.9], "type": "log", "nticks": 4, "tickformat": ".0f"},
        "annotations": [_title(text, y) for text, y in titles],
    }
    if conditional:
        last = int(max(x, default=1))
        layout["xaxis2"] = {"domain": [0, 1], "anchor": "y2", "range": [0.5, last + 0.5], "nticks": 6,
                            "title": {"text": "epoch", "standoff": 0}}  # fmt: skip
        layout["yaxis2"] = {"domain": [0, 0.36], "anchor": "x2", "range": [0, 100], "dtick": 50}
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _ink(text: str, color: str) -> str:
    return f"<span style='color:{color}'>{text}</span>"


def _vae_loss(m: Mapping, beta: float) -> float:
    return float(m.get("test_recon", np.nan)) + beta * float(m.get("test_kl", np.nan))


def _line(name: str, x: object, y: object, color: str, xa: str, ya: str, width: float = 1.0) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y, "xaxis": xa, "yaxis": ya,
            "line": {"color": color, "width": width}}  # fmt: skip


def _marks(name: str, x: Sequence, y: Sequence, color: str, xa: str, ya: str) -> dict:
    mode = "lines+markers" if len(x) <= 60 else "lines"
    return {"type": "scatter", "mode": mode, "name": name, "x": np.asarray(x), "y": np.asarray(y, np.float32),
            "xaxis": xa, "yaxis": ya, "line": {"color": color}, "marker": {"size": 5}}  # fmt: skip


def _title(text: str, y: float) -> dict:
    return {"text": text, "x": 0, "y": y, "xref": "paper", "yref": "paper", "xanchor": "left",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}  # fmt: skip


def draw(run: RunView) -> None:
    """The one-screen view of `run` (see the module docstring)."""
    vocab = words(run.dataset_name)
    left, right = st.columns([11, 9], gap="small")
    with left:
        labels = vocab.names if run.config.conditional else None
        frames_key = f"{run.run_id}-{len(run.film_epochs)}"  # a run's first n frames never change
        film(run.film, run.film_epochs, labels, key="train_film", frames_key=frames_key)
        what = f"one {vocab.style} per row" if labels else "40 fixed z"
        st.markdown(f"The same styles ({what}) after every epoch: ▶ watch them sharpen.")
    with right:
        st.plotly_chart(overview_figure(run), key="train_overview", config={"displayModeBar": False})
    x = _diagram_digit(run)
    if x is not None:
        draw_diagram(run.model, x, 0, vocab, compact=True)
    with st.expander("📈 Every curve, and the tutorial's picture (a new style each epoch)"):
        draw_history(run)


def _diagram_digit(run: RunView) -> torch.Tensor | None:
    """The test digit the diagram follows, if the run's data is on this machine."""
    try:
        test_x = state.lab().dataset(run.dataset_name).test_x
    except DatasetError:  # no test images here (the pages that need them say how to get them)
        return None
    return test_x[DIAGRAM_DIGIT : DIAGRAM_DIGIT + 1]
