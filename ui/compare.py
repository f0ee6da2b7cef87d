"""The Compare page's models and figures: two to four runs (saved, shipped in the lesson kit, or the live
one) drawn on shared axes, each in its own colour everywhere (curves, bars, rows of digits, table).

Figures are built as plain dicts (no plotly validation: a few milliseconds each) from `Entry`s; the
scores behind them (`vae.compare.scores`) are computed once per model version per server.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw

from ui import state
from ui.digits import COLOURS as CLASS_COLOURS
from ui.words import words
from vae import compare
from vae.checkpoint import CheckpointError
from vae.data import DatasetError
from vae.images import grid
from vae.kit import kit_model
from vae.knn_judge import KNNJudge
from vae.model import parameter_counts
from vae.run import RunView

# One colour per model, on every figure and in the table (Okabe & Ito's, told apart by colour-blind eyes).
MODEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
MAX_MODELS = len(MODEL_COLOURS)
KIT_PREFIX = "kit/"  # a picker value "kit/beta-4": a saved checkpoint's name never has a slash
N_STYLES = 6  # z per row of the same-z picture
SCALE, GAP = 2, 4  # the same-z picture: drawn at twice the size it is shown (sharp on any screen), rows 4 px apart
ROW_PX = (28 + 2) * SCALE + GAP  # one row of digits (grid pads each by 1 px) and its gap


@dataclass(frozen=True)
class Entry:
    """One model in a comparison: its run, its colour and what was measured (None, and why, when its
    test images are not on this machine)."""

    choice: str
    name: str
    colour: str
    run: RunView
    scores: dict | None
    problem: str | None = None


# --- which models -------------------------------------------------------------------------------


def choices() -> list[str]:
    """The live run (if any), the saved checkpoints, then the lesson kit's models."""
    return state.choices() + [KIT_PREFIX + name for name in state.lab().kit_models()]


def label(choice: str) -> str:
    """How a model is named on the page: the kit's by the setting they change ("β 4")."""
    if choice.startswith(KIT_PREFIX):
        name = choice[len(KIT_PREFIX) :]
        try:
            return f"kit: {kit_model(name).short}"
        except ValueError:  # a file someone put in the kit folder
            return f"kit: {name}"
    return state.label(choice)


def run_of(choice: str) -> RunView:
    """The run a picker value names, each file read once per version per server (`ui.state.saved`);
    CheckpointError when it is gone or unreadable."""
    if choice == state.LIVE_CHOICE:
        trainer = state.lab().trainer
        if trainer is None:
            raise CheckpointError("The live run is gone: the server restarted.")
        return trainer.view
    if choice.startswith(KIT_PREFIX):
        return state.saved_file(state.lab().kit_path(choice[len(KIT_PREFIX) :]), choice)
    return state.saved(choice)


@st.cache_resource(max_entries=2, show_spinner=False)
def _judges(dataset_name: str) -> dict | None:
    """The two judges of conditional accuracy for a dataset: the kept CNN (never trained here: that takes
    a minute) and the k-NN vote (built in 0.2 s on the offline subset). None without a kept CNN."""
    dataset = state.lab().dataset(dataset_name)
    cnn = state.lab().judge(dataset)
    return None if cnn is None else {"cnn": cnn, "knn": KNNJudge.fit(dataset.train_x, dataset.train_y)}


@st.cache_data(max_entries=32, show_spinner=False)
def _scores(key: str, _run: RunView) -> dict:
    """`vae.compare.scores` of a model version (`RunView.key`), on its dataset's test sample."""
    dataset = state.lab().dataset(_run.dataset_name)
    x, y = compare.test_sample(dataset)
    return compare.scores(_run.model, x, y, _judges(_run.dataset_name))


def entries(picked: Sequence[str]) -> tuple[list[Entry], list[str]]:
    """The picked models, measured; and a message for each one that dropped out (deleted, unreadable)."""
    found, dropped = [], []
    for choice in picked:
        try:
            run = run_of(choice)
        except CheckpointError as exc:
            dropped.append(f"“{label(choice)}” dropped out of the comparison: {exc}")
            continue
        colour = MODEL_COLOURS[len(found) % MAX_MODELS]
        try:
            found.append(Entry(choice, label(choice), colour, run, _scores(run.key, run)))
        except DatasetError as exc:
            problem = f"the test images of **{run.dataset_name}** are not on this machine. {exc}"
            found.append(Entry(choice, label(choice), colour, run, None, problem))
    return found, dropped


# --- notes on comparisons that are not like for like ------------------------------------------


def notes(items: Sequence[Entry], digit: int = 0) -> list[str]:
    """What makes these models harder to compare, one short line each (none when they are alike)."""
    out = []
    z_dims = sorted({e.run.config.z_dim for e in items})
    if len(z_dims) > 1:
        out.append(
            f"z_dim differs ({', '.join(map(str, z_dims))}): each row decodes the same {max(z_dims)} random "
            f"numbers, a smaller z reading only the first of them."
        )
    plain = [f"“{html.escape(e.name)}”" for e in items if not e.run.config.conditional]
    if plain and len(plain) < len(items):
        one = len(plain) == 1
        out.append(
            f"{' and '.join(plain)} {'has' if one else 'have'} no classifier (a plain VAE): it cannot be asked for "
            f"a class, so {'its row draws' if one else 'their rows draw'} z as it is, whatever class that is."
        )
    datasets = sorted({e.run.dataset_name for e in items})
    if len(datasets) > 1:
        out.append(
            f"Trained on different data ({', '.join(datasets)}): each is scored on its own test images, so their "
            f"losses do not compare, and class {digit} is a different thing to each."
        )
    if len({(e.run.config.likelihood, e.run.config.decoder_std) for e in items}) > 1:
        out.append(
            "Their pixel likelihoods differ (Bernoulli, or Gaussian with another σ): losses and ELBOs are in "
            "different units, so compare the shapes of their curves, not their heights."
        )
    return out


# --- figures ------------------------------------------------------------------------------------

PANELS = (
    ("test loss: recon + β·KL", "loss"),
    ("reconstruction", "test_recon"),
    ("KL to the prior", "test_kl"),
    ("— classifier ··· asked-for", "acc"),  # % of test images / drawn digits right (the axis says %)
)


def _series(run: RunView, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values) of one epoch metric; "loss" is the objective as trained (recon + β·KL, no classifier)."""
    m = run.epoch_metrics
    x = np.asarray([int(e.get("epoch", i + 1)) for i, e in enumerate(m)], np.float32)
    if metric == "loss":
        y = [float(e.get("test_recon", math.nan)) + run.config.beta * float(e.get("test_kl", math.nan)) for e in m]
    else:
        y = [float(e.get(metric, math.nan)) for e in m]
    return x, np.asarray(y, np.float32)


def _visible_range(series: Sequence[np.ndarray]) -> list[float] | None:
    """A y range that shows where the curves end up: the first tenth of each run (its steep start,
    hundreds of nats above the rest) is left above the top."""
    tails = [s[len(s) // 10 :] for s in series if len(s)]
    values = np.concatenate(tails) if tails else np.zeros(0)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    pad = max(hi - lo, 1e-3) * 0.08
    return [lo - pad, hi + pad]


def curves_figure(items: Sequence[Entry], height: int = 195) -> go.Figure:
    """Test loss, reconstruction, KL and accuracy per epoch, one colour per model, 2 x 2 panels sharing
    the epoch axis. Accuracy: the classifier's (solid) and, where recorded, how often the judge calls
    a drawn digit the one asked for (dotted)."""
    data, layout = [], _grid_layout(height, [t for t, _ in PANELS], 2, 2, gap=(0.14, 0.38))
    last = max((e.run.epoch for e in items), default=1)
    for i, (_, metric) in enumerate(PANELS):
        ax = "" if i == 0 else str(i + 1)
        ys = []
        for e in items:
            if metric == "acc":
                for key, dash in (("test_acc", "solid"), ("judged_acc", "dot")):
                    x, y = _series(e.run, key)
                    if np.isfinite(y).any():
                        data.append(_trace(e, x, 100 * y, ax, dash))
                continue
            x, y = _series(e.run, metric)
            ys.append(y)
            data.append(_trace(e, x, y, ax))
        layout[f"xaxis{ax}"]["range"] = [0, last + 1]
        layout[f"yaxis{ax}"]["range"] = [0, 100] if metric == "acc" else _visible_range(ys)
        if metric == "acc":
            layout[f"yaxis{ax}"]["ticksuffix"] = "%"
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _trace(e: Entry, x: np.ndarray, y: np.ndarray, ax: str, dash: str = "solid") -> dict:
    return {"type": "scatter", "mode": "lines", "name": e.name, "x": x, "y": y, "xaxis": f"x{ax}",
            "yaxis": f"y{ax}", "line": {"color": e.colour, "width": 2 if dash == "solid" else 1.5, "dash": dash},
            "hovertemplate": f"{html.escape(e.name)}<br>epoch %{{x}}: %{{y:.3g}}<extra></extra>"}  # fmt: skip


def _grid_layout(height: int, titles: Sequence[str], rows: int, cols: int, gap: tuple[float, float]) -> dict:
    """Panels in a grid, each titled at its top left; no legend (the colours are the table's)."""
    width, tall = (1 - gap[0] * (cols - 1)) / cols, (1 - gap[1] * (rows - 1)) / rows
    layout = {"height": height, "margin": {"l": 4, "r": 4, "t": 20, "b": 4}, "showlegend": False,
              "font": {"size": 11}, "annotations": [], "hovermode": "closest"}  # fmt: skip
    for i, title in enumerate(titles):
        r, c = divmod(i, cols)
        ax = "" if i == 0 else str(i + 1)
        x0, top = c * (width + gap[0]), 1 - r * (tall + gap[1])
        layout[f"xaxis{ax}"] = {"domain": [x0, x0 + width], "anchor": f"y{ax}", "nticks": 4}
        layout[f"yaxis{ax}"] = {"domain": [top - tall, top], "anchor": f"x{ax}", "nticks": 4}
        layout["annotations"].append({"text": title, "x": x0, "y": top, "xref": "paper", "yref": "paper",
                                      "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                      "font": {"size": 12}})  # fmt: skip
    return layout


def kl_figure(items: Sequence[Entry], height: int = 160) -> go.Figure:
    """The mean KL of each latent dimension, one bar per model per dimension: a dimension at 0 carries
    nothing (posterior collapse)."""
    data = []
    for e in items:
        if e.scores is not None:
            kl = np.asarray(e.scores["kl_dims"], np.float32)
            data.append({"type": "bar", "name": e.name, "x": np.arange(len(kl)), "y": kl,
                         "marker": {"color": e.colour},
                         "hovertemplate": f"{html.escape(e.name)}<br>z%{{x}}: %{{y:.2f}} nats<extra></extra>"})  # fmt: skip
    layout = _grid_layout(height, ["KL per latent dimension (nats; 0 = unused)"], 1, 1, gap=(0, 0))
    layout["xaxis"].update(title={"text": "latent dimension", "standoff": 2}, dtick=1, nticks=None)
    layout["bargap"], layout["bargroupgap"] = 0.2, 0.05
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def maps_figure(items: Sequence[Entry], height: int = 160) -> go.Figure:
    """Each model's test means in two dimensions (PCA, in z's units; z itself for z_dim 2), coloured by
    class, every panel on the same axes: a model that spreads its codes wider uses z more."""
    measured = [e for e in items if e.scores is not None]
    cols = 2 if len(measured) > 1 else 1
    rows = max(1, -(-len(measured) // cols))
    titles = []
    points = []
    for e in measured:
        xy, axes, _ = compare.latent_map(e.scores["mu"])
        points.append(xy)
        titles.append(f"<span style='color:{e.colour}'>{html.escape(e.name)}</span>"
                      + (" (z0, z1)" if axes == "z" else " (PC 1, 2)"))  # fmt: skip
    layout = _grid_layout(height, titles, rows, cols, gap=(0.06, 0.16 if rows > 1 else 0))
    reach = max((float(np.abs(p).max()) for p in points), default=1.0) * 1.05
    labels = [_classes(e) for e in measured]
    data = []
    for i, (e, xy, y) in enumerate(zip(measured, points, labels, strict=True)):
        ax = "" if i == 0 else str(i + 1)
        layout[f"xaxis{ax}"].update(range=[-reach, reach], showticklabels=i >= len(measured) - cols, nticks=5)
        layout[f"yaxis{ax}"].update(range=[-reach, reach], showticklabels=i % cols == 0, nticks=5)
        colours = np.asarray(CLASS_COLOURS)[y]
        data.append({"type": "scattergl", "mode": "markers", "x": xy[:, 0], "y": xy[:, 1], "xaxis": f"x{ax}",
                     "yaxis": f"y{ax}", "marker": {"size": 3, "color": colours, "opacity": 0.7},
                     "text": [words(e.run.dataset_name).names[c] for c in y],
                     "hovertemplate": "%{text}<extra></extra>"})  # fmt: skip
    if measured:  # the key to the points' colours, under the panels
        names, hint = _key_names({e.run.dataset_name for e in measured})
        key = " ".join(f"<span style='color:{CLASS_COLOURS[c]}'>{html.escape(n)}</span>" for c, n in enumerate(names))
        layout["annotations"].append({"text": f"colour = class: {key}{hint}", "x": 1, "y": 0, "yshift": -20,
                                      "xref": "paper", "yref": "paper", "xanchor": "right", "yanchor": "top",
                                      "showarrow": False, "font": {"size": 11}})  # fmt: skip
        layout["margin"]["b"] = 36
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _key_names(datasets: set[str]) -> tuple[tuple[str, ...], str]:
    """The names in the colour key under the maps, and a hint after them: the classes' own names where they
    are short and the same for every model (digits), else their numbers, which fit the column (a
    Fashion-MNIST key was cut off at 1024 px) and hold for every dataset; hovering a point names it."""
    names = words(sorted(datasets)[0]).names
    if len(datasets) == 1 and sum(len(n) + 1 for n in names) <= 30:
        return names, ""
    return tuple(str(c) for c in range(len(names))), " (hover a point: its name)"


def _classes(e: Entry) -> np.ndarray:
    """The class of each point of `e`'s map (the test sample's labels)."""
    _, y = compare.test_sample(state.lab().dataset(e.run.dataset_name))
    return y.numpy()


def same_z_width(n_rows: int) -> int | str:
    """How wide to show the same-z picture: its column's width for up to three rows, narrower for four
    (the page's height is one 1024x768 screen)."""
    return "stretch" if n_rows <= 3 else 250


def same_z_rows(items: Sequence[Entry], digit: int, seed: int) -> list[np.ndarray]:
    """The same N_STYLES z decoded by each model as `digit`: one (N_STYLES, 784) array per model."""
    z = compare.shared_z([e.run.config.z_dim for e in items], N_STYLES, seed)
    return [compare.same_z_images(e.run.model, z, digit) for e in items]


def same_z_png(items: Sequence[Entry], images: Sequence[np.ndarray]) -> bytes:
    """One row of `images` per model, a bar of the model's colour on its left: PNG, ROW_PX per row."""
    bar = 14
    rows = [grid(row, N_STYLES, pad=1) for row in images]  # uint8 (30, 30 N_STYLES + 1) each
    h, w = rows[0].shape
    canvas = Image.new("RGB", (bar + 6 + w * SCALE, len(rows) * ROW_PX), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (e, row) in enumerate(zip(items, rows, strict=True)):
        top = i * ROW_PX
        picture = Image.fromarray(row).resize((w * SCALE, h * SCALE), Image.Resampling.NEAREST).convert("RGB")
        canvas.paste(picture, (bar + 6, top))
        draw.rectangle((0, top + 2, bar, top + h * SCALE - 2), fill=e.colour)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


# --- the table (also the legend) ----------------------------------------------------------------


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else fmt.format(value)


def table_html(items: Sequence[Entry], notes: Sequence[str] = ()) -> str:
    """One row per model, in its colour: the legend of every figure, and its scores on the same test
    images; `notes` (HTML) in small print under it. One line of HTML (Markdown ends an HTML block at a
    blank line)."""
    head = (
        ("model", "Colours: the same on every figure of this page"),
        ("epochs", "Epochs trained"),
        ("weights", "Every number training adjusts (encoder, classifier, decoder)"),
        ("ELBO", f"Test ELBO, nats per image, higher is better: −(reconstruction + KL), on {compare.SAMPLE_WORDS}"),
        ("IWAE", f"The importance-weighted bound (k = {compare.IWAE_K}) on log p(x): tighter than the ELBO"),
        ("KL", "Nats per image the encoder puts into z"),
        ("unused z", f"Latent dimensions carrying under {compare.COLLAPSED} nats (posterior collapse)"),
        ("classifier", "The model's classifier, right on this share of the test images"),
        (
            "asked-for",
            f"Share of {10 * compare.JUDGED_PER_CLASS} drawn images ({compare.JUDGED_PER_CLASS} per class) that every judge calls the class asked for",
        ),
    )
    cells = "".join(f"<th title='{html.escape(tip)}'>{h}</th>" for h, tip in head)
    rows = []
    for e in items:
        s = e.scores or {}
        weights = sum(parameter_counts(e.run.config).values())
        state_note = " (failed)" if e.run.error else ""
        name = f"<span style='color:{e.colour};font-weight:700'>■ {html.escape(e.name)}</span>"
        values = [
            name,
            f"{e.run.epoch}{state_note}",
            f"{weights / 1e3:.0f}k",
            _num(s.get("elbo"), "{:.1f}"),
            _num(s.get("iwae"), "{:.1f}"),
            _num(s.get("kl"), "{:.2f}"),
            f"{s['collapsed']} of {e.run.config.z_dim}" if s else "–",
            _num(s.get("acc"), "{:.0%}"),
            _num(s.get("conditional"), "{:.0%}"),
        ]
        rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>")
    style = ("<style>.cmp-table{border-collapse:collapse;font-size:13px;width:100%;line-height:1.25}"
             ".cmp-table th{font-weight:600;text-align:right;padding:1px 5px;border-bottom:1px solid #ccc;"
             "vertical-align:bottom}.cmp-table td{text-align:right;padding:1px 5px;white-space:nowrap}"
             ".cmp-table th:first-child,.cmp-table td:first-child{text-align:left}"
             ".cmp-table td.cmp-note{white-space:normal;color:#555;padding-top:3px}</style>")  # fmt: skip
    foot = "".join(f"<tr><td class='cmp-note' colspan='{len(head)}'>ℹ️ {n}</td></tr>" for n in notes)
    return f"{style}<table class='cmp-table'><tr>{cells}</tr>{''.join(rows)}{foot}</table>"
