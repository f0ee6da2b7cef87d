"""What the latent map shows, computed once per model and shared by every browser (the Latent space and
Reconstruct pages draw it with `ui.latent_map`).

The map's points are at most 2,000 test images (`vae.history.map_points`): first the ones a run follows
over training (`vae.history.map_index`, 1,000), then a seeded sample of the others. Per dataset (`points`): their
pictures as one PNG sprite sheet at SPRITE_LEVELS grey levels, labels and the two style measures. Per
model (`MapView`): their encoder means, the classifier's guesses, and 2-D coordinates with the way back
to z: PCA (or z itself) with its exact inverse, or t-SNE (`ui.tsne_jobs`) with the nearest-points guess.
The run's recorded encodings over training (`RunView.maps`) are projected with the same PCA plane as
today's map, so the last recorded epoch lands where today's points are.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from PIL import Image

from ui import state
from ui.film import frames_to_show
from vae.history import map_index, map_points
from vae.model import ConditionalVAE, evaluating
from vae.projection import INVERSE_K, Plane, encode, pca_plane
from vae.run import RunView
from vae.style import slant, thickness

SPRITE_COLUMNS = 40  # cells per row of the sprite sheet (frontend/map.js reads it so)
SPRITE_LEVELS = 32  # grey levels of the sprites: 8 bits cost Fashion-MNIST's 2,000 pictures 814 KB, 32 levels 481 KB
MAX_FRAMES = 40  # recorded epochs on the time slider (a long run's are thinned as the film's are)


def sprite_png(images: np.ndarray, levels: int = SPRITE_LEVELS) -> bytes:
    """Pictures (N, 784) in [0, 1] as one grayscale PNG, SPRITE_COLUMNS to a row, picture i at cell
    (i // 40, i % 40), intensities rounded to `levels` grey levels (PNG packs those much smaller)."""
    n = len(images)
    rows = max(1, -(-n // SPRITE_COLUMNS))
    q = np.round(np.clip(images, 0, 1) * (levels - 1)) / (levels - 1)  # (N, 784)
    cells = np.zeros((rows * SPRITE_COLUMNS, 28, 28), np.uint8)
    cells[:n] = np.round(q * 255).reshape(n, 28, 28)
    sheet = cells.reshape(rows, SPRITE_COLUMNS, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, SPRITE_COLUMNS * 28)
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class Points:
    """The map's test images, the same for every model of a dataset."""

    dataset: str
    index: np.ndarray  # (N,) test indices
    followed: int  # the first `followed` are the images a run's `maps` hold
    labels: np.ndarray  # (N,) uint8
    slant: np.ndarray  # (N,) degrees, positive leaning right (vae.style)
    thickness: np.ndarray  # (N,) pixels
    sprites: bytes  # PNG sheet


@st.cache_resource(max_entries=4, show_spinner=False)
def points(dataset_name: str) -> Points:
    ds = state.lab().dataset(dataset_name)
    index = map_points(len(ds.test_y))
    x = ds.test_x[torch.from_numpy(index)].numpy()  # (N, 784)
    return Points(
        dataset=dataset_name,
        index=index,
        followed=len(map_index(len(ds.test_y))),
        labels=ds.test_y.numpy()[index].astype(np.uint8),
        slant=slant(x),
        thickness=thickness(x),
        sprites=sprite_png(x),
    )


@dataclass(frozen=True)
class Encoded:
    """The map's points through one model."""

    mu: np.ndarray  # (N, z_dim) encoder means
    guesses: np.ndarray | None  # (N,) uint8, the classifier's; None for a plain VAE
    plane: Plane  # PCA of mu (z itself for z_dim <= 2)


@st.cache_resource(max_entries=8, show_spinner=False)
def encoded(key: str, _model: ConditionalVAE, dataset_name: str) -> Encoded:
    """`key`: the run's key (changes with the weights)."""
    ds = state.lab().dataset(dataset_name)
    x = ds.test_x[torch.from_numpy(points(dataset_name).index)]  # (N, 784)
    mu, _ = encode(_model, x)
    guesses = None
    if _model.config.conditional:
        with evaluating(_model):
            guesses = _model.digit_probs(x).argmax(dim=1).numpy().astype(np.uint8)
    return Encoded(mu=mu, guesses=guesses, plane=pca_plane(mu))


def axes_titles(enc: Encoded, z_dim: int, method: str) -> tuple[str, str]:
    if z_dim <= 2:
        return "z0", "z1" if z_dim == 2 else "(nothing: z has one number)"
    if method == "tsne":
        return "t-SNE 1", "t-SNE 2"
    xy = enc.plane.to_map(enc.mu)
    share = xy.var(axis=0) / enc.mu.var(axis=0).sum()  # the variance each component explains, of the total
    return f"PC 1 ({share[0]:.0%} of the variance)", f"PC 2 ({share[1]:.0%} of the variance)"


@dataclass(frozen=True)
class Frames:
    """A run's recorded encodings of the followed points, projected on today's plane."""

    epochs: tuple[int, ...]
    xy: np.ndarray  # (M, followed, 2) float32
    key: str


def frames(run: RunView, enc: Encoded, pts: Points) -> tuple[Frames | None, str]:
    """The run's map at its recorded epochs, or None and a sentence saying why there is none."""
    if not len(run.map_epochs):
        return None, (
            "This run kept no encodings over training (it was saved before runs recorded them): train one "
            "on the Train page to watch its map form."
        )
    n_test = run.dataset.get("n_test")
    if run.maps.shape[1] != pts.followed or (
        isinstance(n_test, int) and n_test != len(state.lab().dataset(pts.dataset).test_y)
    ):
        return None, (
            f"This run recorded its map over training on another test split ({run.maps.shape[1]:,} followed "
            f"images); this server has {pts.followed:,}, so it cannot be replayed here."
        )
    return _frames(run.key, len(run.map_epochs), run, enc), ""


@st.cache_resource(max_entries=8, show_spinner=False)
def _frames(key: str, n_maps: int, _run: RunView, _enc: Encoded) -> Frames:
    keep = frames_to_show(n_maps, MAX_FRAMES)
    maps = np.asarray(_run.maps[keep], dtype=np.float32)  # (M, F, z_dim)
    return Frames(tuple(_run.map_epochs[i] for i in keep), _enc.plane.to_map(maps), f"{key}-{n_maps}")


def inverse_spec(enc: Encoded, method: str, coords: np.ndarray) -> dict:
    """How the browser goes from a map point back to z (see `vae.projection`)."""
    if method == "tsne" and enc.mu.shape[1] > 1:
        eps = 1e-3 * max(float(np.ptp(coords, axis=0).max()), 1e-12)
        return {"kind": "nearest", "k": INVERSE_K, "eps": eps}
    return {"kind": "plane", "mean": enc.plane.mean.tolist(), "axes": enc.plane.axes.tolist()}
