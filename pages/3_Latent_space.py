"""Latent space: every test digit encoded to its mean z and drawn as one point on a 2-D map."""

from pathlib import Path

import numpy as np
import streamlit as st

from ui import digits, layout
from ui.words import words
from vae import generate
from vae.images import picture, png_bytes

GENERATE = Path(__file__).parent / "2_Generate.py"

shown = layout.need_model(
    layout.page(
        "Latent space",
        "Every test {item} becomes one point: the mean z that the encoder gives it. Look-alikes land close together.",
    )
)
c = shown.config
ds = layout.need_test_images(shown)
vocab = words(ds.name)
names, noun, kind = vocab.names, vocab.item, vocab.kind
enc = digits.encodings(shown.key, shown.model, ds.name)
n = len(enc["mu"])

if c.z_dim <= 2:
    method = "pca"  # vae.projection returns a 1-D or 2-D z unchanged
    st.info(
        f"This model's z has {c.z_dim} number{'s' if c.z_dim > 1 else ''}, so the map shows z itself, "
        "exactly as the decoder reads it: no projection needed."
    )
else:
    choice = st.radio(
        "Flatten the latent space with",
        ["PCA", "t-SNE"],
        horizontal=True,
        key="lat_method",
        help=f"z has {c.z_dim} numbers; a screen has two. PCA looks along the two directions where the points "
        "spread most (instant, distances are kept). t-SNE moves points so that neighbours stay neighbours "
        "(slow, distances between clusters mean little).",
    )
    method = "tsne" if choice == "t-SNE" else "pca"

# A click on the map picks a digit for the panel on the right (the number input works too).
selection = st.session_state.get("lat_map")
points = selection["selection"]["points"] if selection else []
if points:
    picked = int(np.ravel(points[0]["customdata"])[0])
    if picked != st.session_state.get("lat_last_pick"):
        st.session_state["lat_last_pick"] = st.session_state["lat_index"] = picked
if not 0 <= st.session_state.get("lat_index", 0) < n:
    st.session_state["lat_index"] = 0  # another model's test set was larger
index = st.session_state.get("lat_index", 0)

left, right = st.columns([3, 2], gap="large")
with left:
    lm = None
    if method == "tsne":
        asked = st.session_state.setdefault("lat_tsne_keys", set())
        sample = min(n, digits.TSNE_POINTS)
        if shown.key not in asked:
            prompt = st.empty()
            with prompt.container():
                st.info(
                    f"t-SNE runs on a random sample of {sample:,} test {noun}s. It takes from a few seconds to a "
                    "minute or two, depending on how busy the server is; the result is kept for this model."
                )
                pressed = st.button("Compute t-SNE", key="lat_tsne_go", type="primary")
            if pressed:
                asked.add(shown.key)
                prompt.empty()
        if shown.key in asked:
            with st.spinner(f"Running t-SNE on {sample:,} {noun}s… the map appears when it is done."):
                lm = digits.latent_map(shown.key, shown.model, ds.name, "tsne", digits.TSNE_POINTS)
    else:
        lm = digits.latent_map(shown.key, shown.model, ds.name, "pca")
    if lm is not None:
        marks = []
        where = np.flatnonzero(lm["index"] == index)
        if index != st.session_state.get("lat_last_pick") and len(where):
            mark_x, mark_y = lm["coords"][where[0]]
            marks.append({"x": mark_x, "y": mark_y, "name": f"test {noun} #{index}"})
        st.plotly_chart(
            digits.map_figure(lm, names, marks, noun=noun),
            on_select="rerun",
            selection_mode="points",
            key="lat_map",
            config={"scrollZoom": True},
        )
        st.caption(
            f"Each dot is one of {len(lm['index']):,} test {noun}s, placed at its encoder mean μ and coloured by "
            "its true label. **Click a dot** to look at it. Scroll to zoom, drag to move, double-click to reset."
        )
        if c.conditional:
            st.caption(
                f"In this model the classifier tells the decoder which {kind} to draw, so z only has to hold the "
                f"*style* ({vocab.style_examples}): different {vocab.plural} may share the same region."
            )

with right:
    st.subheader(f"One {noun} up close")
    i = st.number_input(f"Test {noun} # (0 to {n - 1:,})", min_value=0, max_value=n - 1, step=1, key="lat_index")
    x = ds.test_x[i : i + 1]  # (1, 784)
    recon, probs = generate.reconstruct(shown.model, x)
    st.image(picture(np.concatenate([x.numpy(), recon]), 2, scale=6))
    st.caption(f"Left: the test {noun}. Right: the model's reconstruction, drawn from its μ alone.")
    label = int(ds.test_y[i])
    p = probs[0] if probs is not None else None  # (10,)
    guess = int(np.argmax(p)) if p is not None else None
    verdict = "" if guess is None else (" ✅ right" if guess == label else " ❌ wrong")
    st.markdown(f"**Label:** {names[label]} · **Classifier's guess:** {digits.guess_text(p, names)}{verdict}")
    mu = enc["mu"][i]
    st.caption("μ = (" + ", ".join(f"{v:.2f}" for v in mu) + ")")
    if st.button("🎨 Open in Generate", key="lat_to_gen", help=f"Start the Generate page from this {noun}'s z."):
        digit = guess if guess is not None else label  # a plain VAE ignores the digit
        st.session_state["gen_request"] = {"z": mu.tolist(), "digit": digit, "source": f"test {noun} #{i}"}
        if GENERATE.exists():
            st.switch_page("pages/2_Generate.py")
        else:
            st.warning("The Generate page is not part of this app yet: the z is kept for when it is.")

if c.z_dim == 2:
    st.subheader("What the decoder draws all over the plane")
    col_pic, col_text = st.columns([3, 2], gap="large")
    with col_text:
        digit = None
        if c.conditional:
            digit = st.selectbox(
                f"{kind.capitalize()} fed to the decoder",
                range(10),
                format_func=lambda d: names[d],
                key=f"lat_manifold_digit-{ds.name}",  # per dataset: its names label the options
            )
        span = st.radio(
            "Grid over",
            ["−3 to 3 on both axes", f"where the test {noun}s are"],
            key="lat_manifold_span",
            help="Sampling draws z from N(0, I), so −3…3 is where new images come from. "
            "A model trained for only a few epochs may keep its test images elsewhere.",
        )
        if span.startswith("where"):
            lo, hi = np.percentile(enc["mu"], 1, axis=0), np.percentile(enc["mu"], 99, axis=0)
        else:
            lo, hi = (-3.0, -3.0), (3.0, 3.0)
        st.markdown(
            "Each tile is the decoder's drawing at one point (z0, z1) of a 15 × 15 grid, with the same axes as "
            "the map above. Neighbouring tiles look alike: the decoder changes smoothly across the plane."
            + (f" The {kind} stays the one you pick; z changes only the style." if c.conditional else "")
        )
    with col_pic:
        picture, z0, z1 = digits.manifold(shown.model, digit, lo, hi)
        st.plotly_chart(digits.manifold_figure(picture, z0, z1), width="content", key="lat_manifold")
        st.download_button(
            "Download the manifold (PNG)", png_bytes(picture, 2), "manifold.png", "image/png", key="lat_dl_manifold"
        )
