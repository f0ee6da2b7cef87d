"""Reconstruct: test digits in, digits out; then draw your own and see what the model makes of it."""

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from ui import digits, layout
from ui.words import words
from vae import generate
from vae.images import grid, picture, png_bytes
from vae.preprocess import to_mnist, upload_to_mnist
from vae.projection import encode_means

BATCH = 24  # test digits per batch: three rows of eight

shown = layout.need_model(
    layout.page(
        "Reconstruct", "Images in, images out: how well does the model redraw what it sees? Then draw one yourself."
    )
)
ds = layout.need_test_images(shown)
vocab = words(ds.name)
names, noun = vocab.names, vocab.item

head = st.container(horizontal=True, vertical_alignment="bottom")  # the button keeps its label's width
head.subheader(f"Test {noun}s and their reconstructions")
if head.button("🔀 Shuffle", key="rec_shuffle", help=f"Show another batch of test {noun}s."):
    st.session_state["rec_batch"] = st.session_state.get("rec_batch", 0) + 1
batch = st.session_state.get("rec_batch", 0)
n_shown = min(BATCH, len(ds.test_y))  # fewer only for a test split smaller than a batch
idx = np.random.default_rng(batch).choice(len(ds.test_y), n_shown, replace=False)  # batch number = seed
x = ds.test_x[idx]  # (n_shown, 784)
recon, probs = generate.reconstruct(shown.model, x)
labels = ds.test_y[idx].numpy()
guesses = probs.argmax(axis=1) if probs is not None else None
RED = (214, 39, 40)
wrong = guesses != labels if guesses is not None else np.zeros(n_shown, dtype=bool)
pairs = [
    picture(np.stack([x[k].numpy(), recon[k]]), 2, scale=3, frame=RED if wrong[k] else None) for k in range(n_shown)
]
if guesses is None:
    captions = [f"label {names[y]}" for y in labels]
else:
    captions = [
        f"{names[y]} → {names[g]}" + (" (wrong)" if y != g else "") for y, g in zip(labels, guesses, strict=True)
    ]
st.image(pairs, caption=captions)
explain = f"Each pair: the test {noun} (left) and the model's reconstruction from its mean z (right)."
if guesses is not None:
    explain += (
        f" Under each: true label → the classifier's guess. A red frame marks a wrong guess "
        f"({int(wrong.sum())} of {n_shown} here)."
    )
st.caption(explain)
pairs_png = png_bytes(grid(np.stack([x.numpy(), recon], axis=1).reshape(-1, 784), 16), scale=3)
st.download_button("Download these pairs (PNG)", pairs_png, "reconstructions.png", "image/png", key="rec_dl_pairs")


@st.fragment  # a stroke on the canvas reruns only this part of the page
def your_own() -> None:
    st.subheader(f"Draw your own {noun}")
    # Fixed widths in a wrapping row, not columns: the canvas is 280 pixels whatever the screen, and
    # a column narrower than that (a 1024-pixel projector) would cut off its right side.
    row = st.container(horizontal=True, gap="large")
    draw_col, seen_col, guess_col = row.container(width=290), row.container(width=260), row.container(width=320)
    with draw_col:
        st.space("small")  # room for the toolbar that floats above the canvas on hover
        drawing = st_canvas(
            stroke_width=22,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=280,
            width=280,
            return_image_data=True,
            key="rec_canvas",
        )
        st.caption(
            f"One {noun}, big, with the mouse: white ink on black, like the test {noun}s. Hover for undo and clear."
        )
        with st.expander("No mouse? Upload a picture instead"):
            upload = st.file_uploader(f"A photo or PNG of one {noun}", type=["png", "jpg", "jpeg"], key="rec_upload")

    image, problem = None, None
    try:
        if upload is not None:
            image = upload_to_mnist(upload)
        elif drawing.image_data is not None:
            image = to_mnist(drawing.image_data)
    except ValueError as exc:  # PictureError and to_mnist's own: messages written here, safe to show
        problem = str(exc)
    if image is None:
        with seen_col:
            if problem and (upload is not None or "empty" not in problem):  # an empty canvas is no error
                st.error(f"That picture could not be read: {problem}. Try another one, or draw on the canvas.")
            else:
                st.info(
                    f"Draw {vocab.an_item} on the black square: its reconstruction"
                    + (" and the model's guess appear here." if shown.config.conditional else " appears here.")
                )
        return

    mine = torch.from_numpy(image.reshape(1, 784))
    my_recon, my_probs = generate.reconstruct(shown.model, mine)
    with seen_col:
        st.image(picture(np.concatenate([image.reshape(1, 784), my_recon]), 2, scale=4))
        st.caption(
            f"Left: your {noun} as the model sees it (28 × 28, scaled and centred like the test {noun}s). "
            "Right: the model's reconstruction."
        )
    with guess_col:
        if my_probs is None:
            st.info("This model has no classifier: it reconstructs without guessing.")
        else:
            st.markdown(f"#### The classifier says: {digits.guess_text(my_probs[0], names)}")
            st.plotly_chart(digits.probability_figure(my_probs[0], names), key="rec_probs")

    st.subheader(f"Where your {noun} lands in the latent space")
    map_col, text_col = st.columns([3, 2], gap="large")
    lm = digits.latent_map(shown.key, shown.model, ds.name, "pca")
    x_mine, y_mine = digits.place(lm, encode_means(shown.model, mine))[0]
    map_col.plotly_chart(
        digits.map_figure(lm, names, [{"x": x_mine, "y": y_mine, "name": f"your {noun}"}], height=460, noun=noun),
        key="rec_map",
        config={"scrollZoom": True},
    )
    text_col.markdown(
        f"The ★ is your {noun}'s mean z, on the same map as the **Latent space** page "
        f"({'z itself' if shown.config.z_dim <= 2 else 'its PCA view'}); each dot is a test {noun}, coloured by "
        f"its label. Dots near the star are {noun}s the encoder describes in a similar way. Draw it again "
        "slanted, thicker or smaller and watch the star move."
    )


your_own()
