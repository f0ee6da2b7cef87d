"""The compact model diagram (ui.diagram, compact=True) in a wide page with a sidebar, as the Train page
holds it, for tests/test_diagram.py's browser test. Run: `streamlit run tests/apps/diagram_app.py`.

Query parameters: `model`, a shipped checkpoint ("seed-mnist", "seed-fashion-mnist") or an untrained
seed-preset model ("plain": no classifier, "wide": z_dim 64); `index`, which test image (default 0).
"""

from __future__ import annotations

import streamlit as st
import torch

from bench.harness import ROOT
from ui import diagram
from ui.words import words
from vae.checkpoint import load_checkpoint
from vae.config import preset
from vae.data import load_dataset
from vae.model import ConditionalVAE

UNTRAINED = {"plain": {"classification_weight": 0.0}, "wide": {"z_dim": 64}}


@st.cache_resource
def model_and_dataset(name: str) -> tuple[ConditionalVAE, str]:
    if name in UNTRAINED:
        torch.manual_seed(0)
        return ConditionalVAE(preset("seed").replace(**UNTRAINED[name]).model).eval(), "mnist"
    run = load_checkpoint(ROOT / "checkpoints" / f"{name}.pt")
    return run.model.eval(), run.dataset_name


@st.cache_resource
def test_images(dataset: str) -> torch.Tensor:
    return load_dataset(dataset, ROOT / "data", download=False).test_x  # (N, 784)


st.set_page_config(page_title="Diagram", layout="wide")
name = st.query_params.get("model", "seed-mnist")
model, dataset = model_and_dataset(name)
with st.sidebar:
    st.header("Model")
    st.selectbox("Showing", [name], key="diagram_model")
st.title("The model, compact")
x = test_images(dataset)[int(st.query_params.get("index", "0"))][None]  # (1, 784)
diagram.draw(model, x, 0, words(dataset), compact=True)
