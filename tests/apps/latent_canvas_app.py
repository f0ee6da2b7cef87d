"""A tiny page around `latent_controls`, for its browser tests and `bench.drag_fps`.

The model is untrained, built with a fixed seed from a preset plus overrides, read from query
parameters (tests switch models without restarting the server) or else VAE_TEST_* env vars:
preset, activation, z_dim, conditional (0/1), dataset, decoder_layers ("2048,1024"), scale (multiplies every decoder weight, so that
activations reach their curved regions). Run: `streamlit run tests/apps/latent_canvas_app.py`.
"""

from __future__ import annotations

import json
import os

import streamlit as st
import torch

from ui.latent_canvas import latent_controls
from vae.config import preset
from vae.model import ConditionalVAE

SETTINGS = ("preset", "activation", "z_dim", "conditional", "scale", "dataset", "decoder_layers")


def settings(query: dict[str, str]) -> dict[str, str]:
    """Query parameters first, then VAE_TEST_<NAME> env vars; missing ones are left out."""
    found = {name: query.get(name) or os.environ.get(f"VAE_TEST_{name.upper()}") for name in SETTINGS}
    return {name: value for name, value in found.items() if value}


def build_model(s: dict[str, str]) -> ConditionalVAE:
    config = preset(s.get("preset", "seed"))
    if "activation" in s:
        config = config.replace(activation=s["activation"])
    if "z_dim" in s:
        config = config.replace(z_dim=int(s["z_dim"]))
    if "decoder_layers" in s:
        config = config.replace(decoder_layers=tuple(int(w) for w in s["decoder_layers"].split(",")))
    if "dataset" in s:
        config = config.replace(dataset=s["dataset"])
    if s.get("conditional") == "0":
        config = config.replace(classification_weight=0.0)
    torch.manual_seed(0)
    model = ConditionalVAE(config).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(float(s.get("scale", "1")))
    return model


def main() -> None:
    st.set_page_config(page_title="Latent canvas · test page", layout="centered")
    s = settings(dict(st.query_params))
    model = build_model(s)
    st.title("Latent canvas")
    c = model.config
    kind = "digit-conditioned" if c.conditional else "plain VAE"
    st.caption(f"An untrained decoder ({c.activation}, z_dim {c.z_dim}, {kind}), drawn in your browser as you drag.")
    random_col, reset_col, _ = st.columns([1, 1, 3])
    if random_col.button("Random style", key="canvas_random"):
        st.session_state["canvas_draws"] = st.session_state.get("canvas_draws", 0) + 1
        g = torch.Generator().manual_seed(st.session_state["canvas_draws"])
        st.session_state["canvas_initial"] = {"z": torch.randn(model.config.z_dim, generator=g).tolist(), "digit_a": 7}
    if reset_col.button("Reset z", key="canvas_reset"):  # the same values each time: the nonce makes it a change
        st.session_state["canvas_resets"] = st.session_state.get("canvas_resets", 0) + 1
        st.session_state["canvas_initial"] = {
            "z": [0.0] * model.config.z_dim,
            "nonce": st.session_state["canvas_resets"],
        }
    if st.checkbox("Hide the canvas", key="canvas_hide"):
        st.write("Hidden: the component is not on the page in this run.")
        return
    labels = [f"z{i} · KL {1.2 / (i + 1):.2f}" for i in range(model.config.z_dim)]
    weights_key = "test-" + "-".join(f"{k}={v}" for k, v in sorted(s.items()))
    value = latent_controls(model, weights_key, labels=labels, initial=st.session_state.get("canvas_initial"))
    with st.container(key="canvas_py_value"):
        st.caption("What Python received")
        st.code(json.dumps({**value, "z": [round(v, 4) for v in value["z"]]}), language="json", wrap_lines=True)


if __name__ == "__main__":
    main()
