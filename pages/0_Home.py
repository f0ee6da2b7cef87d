"""Home: what a VAE is, ten digits in five styles from the model on show, and where to go next."""

from functools import partial

import streamlit as st

from ui import layout
from ui.words import md, words
from vae import generate
from vae.images import grid, png_bytes
from vae.model import NUM_CLASSES

TEMPERATURE_HELP = (
    "Sampling temperature: z ~ N(0, τ²I). At 1 the model draws as it was trained; below 1 it stays near the "
    "middle of its latent space, where it has seen most images. See BENCHMARKS.md for how often the shipped "
    "models draw the digit asked for at τ = 0.5, 0.8 and 1."
)

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

# The pages as cards, three to a row (above the fold on a 1024x768 projector, the sidebar open).
pick = f"Pick a {vocab.kind}, drag" if shown is None or shown.config.conditional else "Drag"
cards = layout.PAGES[1:]
for start in range(0, len(cards), 3):
    for column, p in zip(st.columns(3, gap="small"), cards[start : start + 3], strict=False):
        with column.container(gap=None):
            st.page_link(p.path, label=p.title, icon=p.icon)
            st.markdown(p.blurb.format(item=vocab.item, Item=vocab.item.capitalize(), pick=pick))

if shown is not None:
    many = shown.config.conditional
    what = f"Ten {vocab.plural} in five styles" if many else f"Fifty {vocab.item}s"
    st.subheader(f"{what}, drawn by “{md(shown.label)}”")
    picture_col, text_col = st.columns([3, 2], gap="medium")
    with text_col:
        tau = st.slider(
            "Temperature τ",
            0.2,
            1.0,
            1.0,
            0.1,
            key="home_tau",
            help=TEMPERATURE_HELP,
        )
        if many:
            st.markdown(
                f"Each row shares one random style z; each column asks for one {vocab.kind} ({vocab.span}). "
                f"z is drawn from N(0, τ²I): at τ = 1 as the model was trained; lower τ keeps the styles near "
                f"the average {vocab.style}, so the {vocab.plural} are plainer and more often the one asked for."
            )
        else:
            st.markdown(
                f"Each picture decodes its own random z, drawn from N(0, τ²I). This model is a plain VAE: it "
                f"cannot be told which {vocab.kind} to draw."
            )
    styles = generate.styles(shown.model, 5 if many else 5 * NUM_CLASSES, seed=0, temperature=tau)
    picture = grid(generate.digit_rows(shown.model, styles), NUM_CLASSES)
    picture_col.image(picture, width="stretch", clamp=True)
    text_col.download_button(  # the PNG is made on click, as on Generate: a temperature change encodes none
        "Download this grid (PNG)",
        partial(png_bytes, picture, 3),
        f"{shown.label}-samples.png",
        "image/png",
        key="home_dl",
    )
