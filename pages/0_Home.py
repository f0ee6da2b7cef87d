"""Home: what a VAE is, ten digits in five styles from the model on show, and where to go next."""

import streamlit as st

from ui import layout
from ui.words import md, words
from vae import generate
from vae.images import grid, png_bytes
from vae.model import NUM_CLASSES

shown = layout.page(
    "VAE Explorer",
    "An interactive lab for Variational Auto-Encoders: watch one learn, then take its latent space apart.",
)

vocab = words(shown.dataset_name if shown is not None else "mnist")
intro = (
    "A **variational auto-encoder** learns to squeeze each image into a handful of numbers — a point *z* in a "
    "hidden (latent) space — and to draw the image back from those numbers. "
)
if shown is not None and not shown.config.conditional:
    intro += (
        f"The model shown here is a plain VAE: *z* alone decides what it draws. (The `seed` preset adds a twist: "
        f"a small classifier tells its decoder *which* {vocab.kind} it is looking at, so you can pick the {vocab.kind}.)"
    )
else:
    intro += (
        f"This one has a twist: a small classifier tells the decoder *which* {vocab.kind} it is looking at, so "
        f"after training you can pick the {vocab.kind} yourself while *z* sets the {vocab.style}."
    )
st.markdown(intro)

if shown is not None:
    if shown.config.conditional:
        st.subheader(f"Ten {vocab.plural} in five styles, drawn just now by “{md(shown.label)}”")
        images = generate.digit_rows(shown.model, generate.styles(shown.model, 5, seed=0))
        about = f"Each row shares one random style z; each column asks for one {vocab.kind} ({vocab.span})."
    else:
        st.subheader(f"Fifty {vocab.item}s, drawn just now by “{md(shown.label)}”")
        images = generate.digit_rows(shown.model, generate.styles(shown.model, 5 * NUM_CLASSES, seed=0))
        about = f"Each picture decodes its own random z. This model is a plain VAE: it cannot be told which {vocab.kind} to draw."
    picture = grid(images, NUM_CLASSES)
    st.image(picture, width=560, clamp=True)
    st.caption(about)
    st.download_button(
        "Download this grid (PNG)", png_bytes(picture, 3), f"{shown.label}-samples.png", "image/png", key="home_dl"
    )

st.subheader("Where to go")
row = st.container(horizontal=True)  # five cards, wrapping on a narrow screen
pick = f"Pick a {vocab.kind}, drag" if shown is None or shown.config.conditional else "Drag"
for p in layout.PAGES[1:]:
    with row.container(width=150):
        st.page_link(p.path, label=p.title, icon=p.icon)
        st.caption(p.blurb.format(item=vocab.item, Item=vocab.item.capitalize(), pick=pick))
