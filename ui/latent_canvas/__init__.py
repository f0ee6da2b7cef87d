"""Latent sliders whose picture follows the mouse: the decoder runs in the browser (issue 4 "Live drag").

`st.slider` reports only on release, so this is a custom component (`components.v1`, a hand-written
iframe in `frontend/`, no build step): one slider per latent dimension, a digit picker with a
two-digit blend, and a 280x280 canvas that `frontend/decoder.js` redraws on every input event with
a plain-JavaScript copy of `ConditionalVAE.decode` (float32 weights, float64 sums). Python hears the
values when a drag ends (`change`), or a digit is clicked: one rerun per gesture, not per pixel.
(components.v1 over v2: the iframe gives every instance its own window, and Streamlit serves the
files from `frontend/` as they are; v2 wants inline JS strings or an installed-package manifest.)

Weights, sent only when needed (the decoder of the seed preset is ~415 KB):
* They travel as a `bytes` argument (float32 little-endian, layers in order W0, b0, W1, b1, ...),
  which Streamlit delivers to the iframe as a Uint8Array: no base64. A `weights_seq` JSON argument
  changes whenever bytes are attached, because Streamlit re-posts args only when the JSON changes.
* Python remembers per browser session (`st.session_state["<key>__sent"]`) which `weights_key` it
  has sent, and attaches the bytes only when that differs, so reruns on the same model send none.
* The iframe keeps loaded decoders per `weights_key` (the last 4). If it renders a key it lacks (a
  fresh iframe after the page was left and reopened, or a lost message) it asks for the weights by
  setting its value to `{"need": <random token>, ...}`; Python answers each token once (the bytes
  plus `served=<token>`). An iframe that sees its token served but still has no weights asks again
  with a new token (3 tries, then it says so), so a lost answer cannot leave it stuck, and an
  answered one is not resent.

Setting the sliders from Python: pass `initial` (any of z, digit_a, digit_b, mix). A dict that
differs from the previous call's `initial` bumps a nonce and the iframe jumps to it; passing the
same dict again on later reruns is a no-op, so pages can keep it in session state or rebuild it
each run. To jump to the same values again (a second "Reset" click after dragging), add any
changing entry, e.g. `{"z": zeros, "nonce": click_count}`: extra keys only count as a change.
Values the iframe reports carry the nonce they started from, so a report older than the newest
`initial` is ignored. The state survives leaving the page (kept in `st.session_state["<key>__state"]`).

If `frontend/index.html` is missing, or the decoder's weights are more than a classroom of browsers
should fetch after every epoch (`BROWSER_MAX_BYTES`), the function falls back to server-side
`st.slider`s, with an `st.info` saying why, and draws the decoded image itself: pages call
`latent_controls` and nothing else.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
import torch

from ui.words import words
from vae.memory import size_text
from vae.model import NUM_CLASSES, ConditionalVAE, decoder_layers, parameter_counts

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
# Larger decoders run on the server: each browser fetches the weights again after every epoch of a
# live run (the seed preset's decoder: 0.4 MB; one hidden layer of 2,048 units: 6.6 MB).
BROWSER_MAX_BYTES = 8_000_000
Z_RANGE = 3.0  # the sliders span [-3, 3]: the prior N(0, 1) puts 99.7% of each coordinate there
Z_LIMIT = 10.0  # a z sent from elsewhere (a test digit's mean) may lie beyond the sliders, not beyond this


def digit_prob(digit_a: int, digit_b: int, mix: float) -> list[float]:
    """The decoder's class input: (1 - mix) on digit A plus mix on digit B (10 probabilities)."""
    p = [0.0] * NUM_CLASSES
    p[digit_a] += 1.0 - mix
    p[digit_b] += mix
    return p


def pack_decoder(model: ConditionalVAE) -> bytes:
    """The decoder's weights as float32 little-endian bytes: W0 (out, in) row-major, b0, W1, b1, ..."""
    return b"".join(
        np.ascontiguousarray(a, dtype="<f4").tobytes() for layer in decoder_layers(model) for a in layer.values()
    )


def _number(value: object, lo: float, hi: float, default: float = 0.0) -> float:
    """A finite number within [lo, hi] from whatever a browser sent (a forged message may send text,
    1e308 or NaN); `default` when it is not a number at all."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    return min(max(x, lo), hi) if math.isfinite(x) else default


def _clean(values: object, z_dim: int) -> dict:
    """Plain numbers in range; z padded or cut to z_dim (the model on show may have changed). Anything a
    browser sends passes through here, so nothing it sends can raise or make a NaN picture."""
    values = values if isinstance(values, dict) else {}
    raw = values.get("z")
    z = [_number(v, -Z_LIMIT, Z_LIMIT) for v in (raw if isinstance(raw, list) else [])][:z_dim]
    a = int(_number(values.get("digit_a"), 0, NUM_CLASSES - 1))
    b = int(_number(values.get("digit_b"), 0, NUM_CLASSES - 1, default=a))
    return {"z": z + [0.0] * (z_dim - len(z)), "digit_a": a, "digit_b": b, "mix": _number(values.get("mix"), 0, 1)}


def _plain(initial: dict) -> dict:
    return {k: [float(x) for x in v] if k == "z" else v for k, v in initial.items()}


def latent_controls(
    model: ConditionalVAE,
    weights_key: str,
    labels: list[str] | None = None,
    initial: dict | None = None,
    key: str = "gen_canvas",
) -> dict:
    """Draw the sliders and the live picture; return what they show.

    `weights_key` must change whenever the weights do (e.g. `Shown.key`). `labels`: one per latent
    dimension (default "z0", "z1", ...). `initial`: values to jump to, see the module docstring.
    Returns {"z": [z_dim floats], "digit_a": int, "digit_b": int, "mix": float,
    "digit_prob": [10 floats] or None for a plain VAE, "live": False when the fallback is drawn}.
    """
    c = model.config
    labels = labels if labels is not None else [f"z{i}" for i in range(c.z_dim)]
    if len(labels) != c.z_dim:
        raise ValueError(f"labels must have one entry per latent dimension ({c.z_dim}), got {len(labels)}")
    if initial is not None and "z" in initial and len(initial["z"]) != c.z_dim:
        raise ValueError(f"initial z must have {c.z_dim} values, got {len(initial['z'])}")
    ss = st.session_state
    state = _clean(ss.get(f"{key}__state", {}), c.z_dim)
    nonce = ss.get(f"{key}__nonce", 0)
    fresh = initial is not None and _plain(initial) != ss.get(f"{key}__initial")
    if fresh:
        nonce += 1
        ss[f"{key}__initial"] = _plain(initial)
        state = _clean({**state, **_plain(initial)}, c.z_dim)
    why_not = browser_cannot_decode(model)
    live = why_not is None
    if live:
        state = _live(model, weights_key, labels, state, nonce, key)
    else:
        st.info(f"{why_not} The picture updates when you release a slider.")
        state = _fallback(model, labels, state, fresh, key)
    ss[f"{key}__state"], ss[f"{key}__nonce"] = state, nonce
    prob = digit_prob(state["digit_a"], state["digit_b"], state["mix"]) if c.conditional else None
    return {**state, "digit_prob": prob, "live": live}


def browser_cannot_decode(model: ConditionalVAE) -> str | None:
    """Why the decoder cannot run in the browser (None: it can), in words for the user."""
    if not (FRONTEND_DIR / "index.html").is_file():
        return "The live canvas could not load (its frontend files are missing): reinstall the app to get it back."
    n_bytes = 4 * parameter_counts(model.config)["decoder"]
    if n_bytes > BROWSER_MAX_BYTES:
        return (
            f"This model's decoder is too large to run in your browser ({size_text(n_bytes)} of weights; the "
            f"limit is {size_text(BROWSER_MAX_BYTES)}, so that every browser in a classroom can fetch it after "
            "each epoch), so it runs on the server."
        )
    return None


def _live(model: ConditionalVAE, weights_key: str, labels: list[str], state: dict, nonce: int, key: str) -> dict:
    c = model.config
    ss = st.session_state
    reported = ss.get(key)  # the iframe's last value, from before this run
    if isinstance(reported, dict) and reported.get("nonce") == nonce:
        state = _clean(reported, c.z_dim)
    need = reported.get("need") if isinstance(reported, dict) else None
    send = ss.get(f"{key}__sent") != weights_key or (need is not None and need != ss.get(f"{key}__served"))
    if send:
        ss[f"{key}__sent"] = weights_key
        ss[f"{key}__seq"] = ss.get(f"{key}__seq", 0) + 1
        if need is not None:
            ss[f"{key}__served"] = need
    vocab = words(c.dataset)
    names, word = vocab.names, vocab.kind
    spec = {
        "weights_key": weights_key,
        "sizes": [model.decoder_input_dim, *c.decoder_layers, 784],
        "activation": c.activation,
        "conditional": c.conditional,
        "z_dim": c.z_dim,
        "z_range": Z_RANGE,
        "class_names": list(names),
        "class_word": word,
    }
    canvas = components.declare_component("latent_canvas", path=str(FRONTEND_DIR))
    canvas(
        spec=spec,
        weights=pack_decoder(model) if send else None,
        weights_seq=ss[f"{key}__seq"],
        served=ss.get(f"{key}__served"),
        labels=list(labels),
        start=state,
        nonce=nonce,
        key=key,
        default=None,
    )
    return state


def _fallback(model: ConditionalVAE, labels: list[str], state: dict, fresh: bool, key: str) -> dict:
    c = model.config
    ss = st.session_state
    widgets = {f"{key}_z{i}": min(max(v, -Z_RANGE), Z_RANGE) for i, v in enumerate(state["z"])}
    widgets |= {f"{key}_digit_a": state["digit_a"], f"{key}_digit_b": state["digit_b"], f"{key}_mix": state["mix"]}
    for name, value in widgets.items():
        if fresh or name not in ss:  # seed the widgets; afterwards they own their values
            ss[name] = value
    picture, controls = st.columns([1, 2])
    with controls:
        if c.conditional:
            vocab = words(c.dataset)
            names, word = vocab.names, vocab.kind
            a, b = st.columns(2)
            digit_a = a.selectbox(
                f"Which {word}?", range(NUM_CLASSES), format_func=names.__getitem__, key=f"{key}_digit_a"
            )
            digit_b = b.selectbox(
                "Blend it with", range(NUM_CLASSES), format_func=names.__getitem__, key=f"{key}_digit_b"
            )
            mix = st.slider(f"Weight of the second {word}", 0.0, 1.0, step=0.01, key=f"{key}_mix")
            state = {**state, "digit_a": digit_a, "digit_b": digit_b, "mix": mix}
        z = [st.slider(label, -Z_RANGE, Z_RANGE, step=0.01, key=f"{key}_z{i}") for i, label in enumerate(labels)]
        state = {**state, "z": z}
    device = next(model.parameters()).device
    with torch.no_grad():
        digit = torch.tensor([digit_prob(state["digit_a"], state["digit_b"], state["mix"])], device=device)
        image = model.decode(torch.tensor([z], device=device), digit if c.conditional else None)
    pixels = image.reshape(28, 28).cpu().numpy()
    picture.image(pixels.repeat(10, axis=0).repeat(10, axis=1), clamp=True, caption="Decoded on the server")
    return state
