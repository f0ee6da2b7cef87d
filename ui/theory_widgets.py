"""The Theory page's live widgets: small computations on the model on show, and their pictures.

Each function takes the eval-mode model the sidebar shows and a few test images; anything that
touches more than a handful of images is cached by `RunView.key` (the model itself is passed as an
underscore argument, so it is not hashed). The maths lives in `vae.losses` / `vae.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from ui import state
from vae.evaluate import evaluate_elbo
from vae.losses import kl_to_standard_normal, log_likelihood
from vae.model import NUM_CLASSES, ConditionalVAE, one_hot

SAMPLE_SEED = 0  # every "random" sample on the page is reproducible
N_ELBO = 1000  # test images behind the page's ELBO numbers
EXAMPLES = 3  # example images per group in section 1
BLUE, ORANGE, GREY = "#1f77b4", "#ff7f0e", "#7f7f7f"


def test_image(dataset: str, index: int) -> tuple[torch.Tensor, int]:
    """One test image (1, 784) and its label."""
    ds = state.lab().dataset(dataset)
    return ds.test_x[index : index + 1], int(ds.test_y[index])


def elbo_per_image(model: ConditionalVAE, x: torch.Tensor, generator: torch.Generator) -> np.ndarray:
    """log P(x|z) - KL(Q(z|x) || N(0, I)) for each image, one z ~ Q(z|x): (N, 784) -> (N,) nats."""
    with torch.no_grad():
        out = model(x, generator=generator)
        ll = log_likelihood(model.config, x, out["recon_logits"])
        return (ll - kl_to_standard_normal(out["mu"], out["var"])).numpy()


# --- 1. digits versus noise ----------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner=False)
def likelihood_groups(key: str, dataset: str, _model: ConditionalVAE, n: int = 200) -> dict:
    """Per-image ELBO of n test images, n "stitched" images (left half of one test image, right half
    of another of a different class) and n images of uniform noise; a few examples of each."""
    ds = state.lab().dataset(dataset)
    n = min(n, len(ds.test_y))
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    idx = torch.randperm(len(ds.test_y), generator=g)[:n]
    x, y = ds.test_x[idx], ds.test_y[idx]  # (n, 784), (n,)
    # A partner of a different class for each image: walk a shuffled order until the label differs.
    order = torch.randperm(n, generator=g).tolist()
    partner = [next(j for j in order if y[j] != y[i]) if (y != y[i]).any() else (i + 1) % n for i in range(n)]
    stitched = x.clone().reshape(n, 28, 28)
    stitched[:, :, 14:] = x[partner].reshape(n, 28, 28)[:, :, 14:]
    stitched = stitched.reshape(n, 784)
    noise = torch.rand(n, 784, generator=g)
    names = ds.class_names
    groups = {
        "Test images": (x, [names[int(y[i])] for i in range(EXAMPLES)]),
        "Two halves glued": (stitched, [f"{names[int(y[i])]} | {names[int(y[partner[i]])]}" for i in range(EXAMPLES)]),
        "Random noise": (noise, [""] * EXAMPLES),
    }
    out = {}
    for name, (images, captions) in groups.items():
        elbo = elbo_per_image(_model, images, torch.Generator().manual_seed(SAMPLE_SEED))
        out[name] = {"images": images[:EXAMPLES].numpy(), "captions": captions, "elbo": elbo}
    return out


def _bins(*values: np.ndarray, n: int) -> dict:
    """One set of n histogram bins over all the values, so overlaid histograms compare bar for bar."""
    lo, hi = min(float(np.min(v)) for v in values), max(float(np.max(v)) for v in values)
    size = max(hi - lo, 1e-6) / n
    return dict(start=lo, end=hi + size, size=size)


def overlaid_histograms(
    series: list[tuple[np.ndarray, str, str]], x_title: str, y_title: str, height: int, **bins
) -> go.Figure:
    """Histograms of (values, name, colour) drawn over each other, the legend on top."""
    fig = go.Figure()
    for values, name, color in series:
        fig.add_histogram(x=values, name=name, marker_color=color, opacity=0.75, **bins)
    fig.update_layout(
        barmode="overlay",
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig


def elbo_histogram(groups: dict) -> go.Figure:
    return overlaid_histograms(
        [(g["elbo"], name, color) for (name, g), color in zip(groups.items(), (BLUE, ORANGE, GREY), strict=True)],
        "ELBO of one image (nats; further right = more likely under the model)",
        "number of images",
        height=280,
        xbins=_bins(*(g["elbo"] for g in groups.values()), n=80),
    )


# --- 2 and 3. the prior, the decoder ---------------------------------------------------------------
def prior_samples(model: ConditionalVAE, seed: int, n: int = 8) -> tuple[np.ndarray, list[int] | None]:
    """n z ~ N(0, I) decoded; a conditional model also gets a random one-hot digit each (returned)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.config.z_dim, generator=g)  # (n, z_dim)
    digits = torch.randint(0, NUM_CLASSES, (n,), generator=g).tolist() if model.config.conditional else None
    with torch.no_grad():
        images = model.decode(z, one_hot(digits) if digits is not None else None)
    return images.numpy(), digits


@st.cache_data(max_entries=1, show_spinner=False)
def ring_figure(n: int = 1500) -> go.Figure:
    """A standard Gaussian in 2-D, and the same points through g(z) = z/10 + z/|z| (a ring)."""
    z = np.random.default_rng(SAMPLE_SEED).standard_normal((n, 2))
    ring = z / 10 + z / np.linalg.norm(z, axis=1, keepdims=True)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("z ~ N(0, I)", "g(z) = z/10 + z/|z|"))
    for col, pts in ((1, z), (2, ring)):
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=dict(size=3, color=BLUE), row=1, col=col)
        fig.update_xaxes(range=[-3.5, 3.5], title_text="1st coordinate", row=1, col=col)
        fig.update_yaxes(range=[-3.5, 3.5], scaleanchor=f"x{col if col > 1 else ''}", row=1, col=col)
    fig.update_yaxes(title_text="2nd coordinate", row=1, col=1)
    fig.update_layout(height=420, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def mean_and_sample(model: ConditionalVAE, seed: int = SAMPLE_SEED) -> np.ndarray:
    """One z from the prior: the decoder's mean f(z), and one real draw X ~ P(X|z) (clipped to [0, 1])."""
    g = torch.Generator().manual_seed(seed)
    c = model.config
    z = torch.randn(1, c.z_dim, generator=g)
    with torch.no_grad():
        mean = model.decode(z, one_hot([3]) if c.conditional else None)  # (1, 784)
    if c.likelihood == "gaussian":
        draw = mean + c.decoder_std * torch.randn(mean.shape, generator=g)
    else:
        draw = torch.bernoulli(mean, generator=g)
    return torch.cat([mean, draw.clamp(0, 1)]).numpy()


# --- 4. prior versus encoder -----------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def prior_vs_encoder(key: str, dataset: str, _model: ConditionalVAE, index: int, n: int = 100) -> dict:
    """-log P(X|z) for one test image X with n z from the prior and n z from the encoder Q(z|X)."""
    x, _ = test_image(dataset, index)
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    with torch.no_grad():
        mu, var = _model.encode(x)  # (1, z_dim) each
        from_prior = torch.randn(n, _model.config.z_dim, generator=g)
        from_encoder = _model.reparameterize(mu.expand(n, -1), var.expand(n, -1), g)  # (n, z_dim)
        digit = _model.digit_probs(x)
        digit = digit.expand(n, -1) if digit is not None else None  # both get the classifier's guess for X
        out = {}
        for name, z in (("prior", from_prior), ("encoder", from_encoder)):
            logits = _model.decode_logits(z, digit)
            err = -log_likelihood(_model.config, x.expand(n, -1), logits)
            out[name] = {"error": err.numpy(), "images": torch.sigmoid(logits[:6]).numpy()}
    return out


def error_histogram(result: dict) -> go.Figure:
    return overlaid_histograms(
        [
            (result["prior"]["error"], "z from the prior N(0, I)", GREY),
            (result["encoder"]["error"], "z from the encoder Q(z|X)", BLUE),
        ],
        "reconstruction error −log P(X|z) (nats; lower = z could have drawn X)",
        "number of z",
        height=260,
        nbinsx=30,
    )


# --- 5. the ELBO on the test set -------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner=False)
def test_elbo(key: str, dataset: str, _model: ConditionalVAE) -> dict:
    """evaluate_elbo on a fixed random sample of up to N_ELBO test images, plus the KL per dimension."""
    ds = state.lab().dataset(dataset)
    g = torch.Generator().manual_seed(SAMPLE_SEED)
    idx = torch.randperm(len(ds.test_y), generator=g)[:N_ELBO]
    x, y = ds.test_x[idx], ds.test_y[idx]
    parts = evaluate_elbo(_model, x, y, generator=g)
    with torch.no_grad():
        mu, var = _model.encode(x)
        kl_dims = [kl_to_standard_normal(mu[:, j : j + 1], var[:, j : j + 1]).mean().item() for j in range(mu.shape[1])]
    return {**parts, "n": len(x), "kl_dims": kl_dims}


def kl_bars(kl_dims: list[float]) -> go.Figure:
    fig = go.Figure(go.Bar(x=[f"z{j}" for j in range(len(kl_dims))], y=kl_dims, marker_color=BLUE))
    fig.update_layout(
        height=240,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="latent dimension",
        yaxis_title="mean KL (nats)",
    )
    return fig


# --- 6. the reparameterization trick ---------------------------------------------------------------
def reparameterize(model: ConditionalVAE, x: torch.Tensor, seed: int) -> dict:
    """mu, sigma, eps and z = mu + sigma * eps for one image (1, 784), with X, f(mu) and f(z) as pictures."""
    with torch.no_grad():
        mu, var = model.encode(x)  # (1, z_dim)
        z = model.reparameterize(mu, var, torch.Generator().manual_seed(seed))
        sigma = var.sqrt()
        eps = (z - mu) / sigma  # the eps that reparameterize drew
        digit = model.digit_probs(x)
        decoded = model.decode(torch.cat([mu, z]), digit.expand(2, -1) if digit is not None else None)
    return {
        "mu": mu[0].numpy(),
        "sigma": sigma[0].numpy(),
        "eps": eps[0].numpy(),
        "z": z[0].numpy(),
        "images": torch.cat([x, decoded]).numpy(),
    }


def reparam_figure(r: dict) -> go.Figure:
    dims = [f"z{j}" for j in range(len(r["mu"]))]
    fig = go.Figure()
    fig.add_bar(
        x=dims,
        y=r["mu"],
        name="μ (bar) ± σ (whisker)",
        marker_color=BLUE,
        opacity=0.6,
        error_y=dict(type="data", array=r["sigma"], visible=True, color=BLUE),
    )
    fig.add_scatter(x=dims, y=r["z"], mode="markers", name="z = μ + σ·ε", marker=dict(color=ORANGE, size=11))
    fig.update_layout(
        height=280,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="latent dimension",
        yaxis_title="value",
        legend=dict(orientation="h", y=1.15),
    )
    return fig


# --- 7. choosing the digit -------------------------------------------------------------------------
def style_z(model: ConditionalVAE, seed: int, x: torch.Tensor | None = None) -> torch.Tensor:
    """A style (1, z_dim): the encoder's mu for x, or a draw from the prior."""
    with torch.no_grad():
        if x is not None:
            return model.encode(x)[0]
        return torch.randn(1, model.config.z_dim, generator=torch.Generator().manual_seed(seed))


# --- 8. watching it learn --------------------------------------------------------------------------
def loss_curves(metrics: Sequence[Mapping], classifier: str | None) -> go.Figure:
    """Test losses per epoch: -ELBO, and the cross-entropy of the `classifier` (its name in the title;
    None for a plain VAE)."""
    epochs = [m["epoch"] for m in metrics]
    titles = ["VAE loss: −ELBO (test)"] + ([f"{classifier} loss: cross-entropy (test)"] if classifier else [])
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    fig.add_scatter(x=epochs, y=[m["test_recon"] + m["test_kl"] for m in metrics], marker_color=BLUE, row=1, col=1)
    if classifier:
        fig.add_scatter(x=epochs, y=[m["test_class"] for m in metrics], marker_color=ORANGE, row=1, col=2)
    fig.update_xaxes(title_text="epoch", dtick=max(1, round(len(epochs) / 10)))
    fig.update_yaxes(title_text="nats per image")
    fig.update_layout(height=260, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    return fig
