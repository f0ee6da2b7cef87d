"""Test digits through a model: shared by the Latent space and Reconstruct pages. The encodings are
cached per model key (`RunView.key`); `map_figure` is the plain scatter drawn where the interactive map
(`ui.latent_map`) cannot load; the decoded manifold of a 2-D latent space; the classifier's guess.
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch

from ui import state
from vae.images import grid
from vae.model import ConditionalVAE, evaluating, one_hot
from vae.projection import encode_means

WEBGL_ABOVE = 3_000  # more points than this are drawn with WebGL (SVG gets sluggish)
COLOURS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF")


@st.cache_data(max_entries=4, show_spinner=False)
def encodings(key: str, _model: ConditionalVAE, dataset_name: str) -> dict:
    """The test set through the encoder and the classifier: mu (N, z_dim), probs (N, 10) or None."""
    x = state.lab().dataset(dataset_name).test_x
    probs = None
    if _model.config.conditional:
        with evaluating(_model):
            probs = torch.cat([_model.digit_probs(x[i : i + 2000]) for i in range(0, len(x), 2000)]).numpy()
    return {"mu": encode_means(_model, x), "probs": probs}


def map_figure(
    lm: dict, class_names: tuple[str, ...], marks: list[dict] | None = None, height: int = 560, noun: str = "digit"
) -> go.Figure:
    """A scatter of the map, one trace (legend entry) per class; customdata is the test index.

    `marks`: extra points drawn on top, each {"x", "y", "name"} (a drawn digit, a picked digit).
    """
    coords, labels, index = lm["coords"], lm["labels"], lm["index"]
    webgl = len(coords) > WEBGL_ABOVE
    scatter = go.Scattergl if webgl else go.Scatter
    fig = go.Figure()
    for c, name in enumerate(class_names):
        sel = labels == c
        fig.add_trace(
            scatter(
                x=coords[sel, 0],
                y=coords[sel, 1],
                customdata=index[sel],
                mode="markers",
                name=name,
                marker={"size": 4 if webgl else 6, "color": COLOURS[c % len(COLOURS)], "opacity": 0.75},
                hovertemplate=f"test {noun} #%{{customdata}}<br>label: {name}<extra></extra>",
            )
        )
    for mark in marks or []:
        fig.add_trace(
            scatter(  # WebGL traces are drawn above every SVG one: the star must be WebGL too, to be seen
                x=[mark["x"]],
                y=[mark["y"]],
                mode="markers",
                name=mark["name"],
                marker={"symbol": "star", "size": 20, "color": "black", "line": {"color": "white", "width": 2}},
                hoverinfo="name",
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 36, "b": 10},  # room for the toolbar that appears on hover
        # Below the plot, not beside it: on a narrow screen a legend at the side squeezes the map into
        # a strip; across the bottom it takes a line or two (at the top, the toolbar covered it).
        legend={"itemsizing": "constant", "orientation": "h", "x": 0, "y": -0.17, "yanchor": "top"},
        xaxis_title=lm["axes"][0],
        yaxis_title=lm["axes"][1],
        dragmode="pan",
    )
    if lm["axes"][0] == "z0":
        fig.update_yaxes(scaleanchor="x")  # raw z: one unit as long on both axes, like the decoder's grid
    return fig


def manifold(
    model: ConditionalVAE, digit: int | None, lo: tuple[float, float], hi: tuple[float, float], n: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode an n x n grid of z over [lo, hi] (a 2-D latent space) -> (uint8 picture, z0 values, z1 values).

    Row 0 is the top, at z1 = hi[1]: the picture reads like a plot (z1 grows upwards).
    """
    z0 = np.linspace(lo[0], hi[0], n, dtype=np.float32)  # (n,) left to right
    z1 = np.linspace(hi[1], lo[1], n, dtype=np.float32)  # (n,) top to bottom
    g1, g2 = np.meshgrid(z0, z1)  # (n, n) each, row-major from the top-left
    z = torch.from_numpy(np.stack([g1.ravel(), g2.ravel()], axis=1))  # (n*n, 2)
    with torch.no_grad():
        images = model.decode(z, one_hot([digit] * len(z)) if digit is not None else None)  # (n*n, 784)
    return grid(images.numpy(), n, pad=0), z0, z1


def manifold_figure(picture: np.ndarray, z0: np.ndarray, z1: np.ndarray, size: int = 520) -> go.Figure:
    """The manifold picture with z0 / z1 ticks at the centres of its tiles (every other tile)."""
    centres = np.arange(len(z0)) * 28 + 14
    ticks = list(range(0, len(z0), 2))
    fig = px.imshow(picture, binary_string=True)
    fig.update_traces(hoverinfo="skip", hovertemplate=None)
    fig.update_layout(width=size, height=size, margin={"l": 10, "r": 10, "t": 10, "b": 10}, dragmode=False)
    fig.update_xaxes(title="z0", tickvals=centres[ticks], ticktext=[f"{z0[i]:.1f}" for i in ticks], showgrid=False)
    fig.update_yaxes(title="z1", tickvals=centres[ticks], ticktext=[f"{z1[i]:.1f}" for i in ticks], showgrid=False)
    return fig


def probability_figure(probs: np.ndarray, class_names: tuple[str, ...], height: int = 260) -> go.Figure:
    """The classifier's probabilities (10,) as a bar chart, the top guess highlighted."""
    best = int(np.argmax(probs))
    colours = ["#D62728" if i == best else "#9DB4CC" for i in range(len(probs))]
    fig = go.Figure(
        go.Bar(
            x=list(class_names),
            y=probs,
            marker_color=colours,
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        xaxis={"title": "class", "type": "category"},
    )
    return fig


def guess_text(probs: np.ndarray | None, class_names: tuple[str, ...]) -> str:
    """ "7 (98%)" for a probability vector (10,), or a note when the model has no classifier."""
    if probs is None:
        return "no classifier in this model"
    best = int(np.argmax(probs))
    return f"{class_names[best]} ({probs[best]:.0%})"
