"""Reconstruct: test digits in, digits out; then draw your own and see what the model makes of it."""

import io
from functools import partial

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from ui import digits, latent_map, layout, map_data
from ui.words import words
from vae import generate
from vae.images import grid, picture, png_bytes
from vae.preprocess import PictureError, open_picture, to_ink, upload_to_mnist
from vae.projection import encode

BATCH = 24  # test digits per batch: three rows of eight
CANVAS_PIXELS = 2_000_000  # the 280-px canvas on a screen of up to 5x density is 1.96 MP; anything more is forged
RED = (214, 39, 40)  # the frame of a pair whose label the classifier got wrong

shown = layout.need_model(
    layout.page(
        "Reconstruct",
        "Draw {an_item}: see how the model redraws it and where it lands on the map. Below, test {item}s in and out.",
    )
)
ds = layout.need_test_images(shown)
vocab = words(ds.name)
names, noun = vocab.names, vocab.item


@st.fragment  # a stroke on the canvas reruns only this part of the page
def your_own() -> None:
    st.subheader(f"Draw your own {noun}: where does it land?")
    # Fixed widths in a wrapping row, not columns: the canvas is 280 pixels whatever the screen, and
    # a column narrower than that (a 1024-pixel projector) would cut off its right side.
    row = st.container(horizontal=True, gap="medium")
    draw_col, map_col = row.container(width=290), row.container(width="stretch")
    with draw_col:
        st.space("small")  # room for the toolbar that floats above the canvas on hover
        try:
            drawing = st_canvas(
                stroke_width=22,
                stroke_color="#FFFFFF",
                background_color="#000000",
                height=280,
                width=280,
                return_image_data=True,
                key="rec_canvas",
            )
        except (AttributeError, KeyError, TypeError, ValueError):  # a value no canvas sends (a forged message)
            drawing = None
        st.caption(
            f"One {noun}, big, with the mouse: white ink on black, like the test {noun}s. Hover for undo and clear."
        )
        with st.expander("No mouse? Upload a picture instead"):
            upload = st.file_uploader(f"A photo or PNG of one {noun}", type=["png", "jpg", "jpeg"], key="rec_upload")

    image, problem = None, None
    drawn = canvas_png(drawing)
    try:
        if upload is not None:
            image = uploaded(upload)
        elif drawn is not None:
            image = upload_to_mnist(io.BytesIO(drawn), max_pixels=CANVAS_PIXELS)
    except ValueError as exc:  # PictureError and to_mnist's own: messages written here, safe to show
        problem = str(exc)

    mine = torch.from_numpy(image.reshape(1, 784)) if image is not None else None
    with map_col:
        your_map(mine)
    if image is None:
        with draw_col:
            if problem and (upload is not None or "empty" not in problem):  # an empty canvas is no error
                st.error(f"That picture could not be read: {problem}. Try another one, or draw on the canvas.")
            else:
                st.info(
                    f"Draw {vocab.an_item} on the black square: it lands on the map as a ★, and its reconstruction"
                    + (" and the model's guess appear here." if shown.config.conditional else " appears here.")
                )
        return

    my_recon, my_probs = generate.reconstruct(shown.model, mine)
    with draw_col:
        if upload is not None and drawn is not None and has_ink(drawn):  # both: the upload is what the model reads
            st.info("This shows your uploaded picture, not the drawing: remove the upload (its ✕) to use the canvas.")
        st.image(picture(np.concatenate([image.reshape(1, 784), my_recon]), 2, scale=4))
        st.caption(
            f"Left: your {'uploaded picture' if upload is not None else noun} as the model sees it (28 × 28, scaled "
            f"and centred like the test {noun}s). Right: the model's reconstruction."
        )
    if my_probs is None:
        st.info("This model has no classifier: it reconstructs without guessing.")
    else:
        st.markdown(f"#### The classifier says: {digits.guess_text(my_probs[0], names)}")
        st.plotly_chart(digits.probability_figure(my_probs[0], names, height=220), key="rec_probs")


def canvas_png(drawing: object) -> bytes | None:
    """The canvas's picture as the PNG bytes the browser sent (None: nothing drawn, or not a picture). Its
    pixels are decoded only by `upload_to_mnist`, under CANVAS_PIXELS: the canvas library's own
    `image_data` decodes whatever a forged message holds (a 13,000 x 13,000 PNG took 2.8 GB)."""
    try:
        return drawing.image_bytes if drawing is not None else None
    except (AttributeError, ValueError):  # no ";base64," in it, or bad base64 (binascii.Error): forged
        return None


def has_ink(png: bytes) -> bool:
    try:
        return bool(to_ink(open_picture(io.BytesIO(png), CANVAS_PIXELS)).max() > 0)
    except ValueError:
        return False


def uploaded(upload: object) -> np.ndarray:
    """`upload_to_mnist` once per uploaded file and session: a stroke on the canvas reruns this fragment,
    and each rerun decoded the upload again (a large photo, 1.7 s of CPU)."""
    key = getattr(upload, "file_id", None)
    kept = st.session_state.get("rec_upload_done")
    if kept is None or kept[0] != key:
        try:
            kept = (key, upload_to_mnist(upload), None)
        except ValueError as exc:
            kept = (key, None, str(exc))
        st.session_state["rec_upload_done"] = kept
    if kept[2] is not None:
        raise PictureError(kept[2])
    return kept[1]


def your_map(mine: torch.Tensor | None) -> None:
    """The test images' map with your drawing's posterior on it: a star at its mean, ellipses at 1 and 2 sigma."""
    c = shown.config
    pts = map_data.points(ds.name)
    enc = map_data.encoded(shown.key, shown.model, ds.name)
    coords = enc.plane.to_map(enc.mu)
    mark = None
    if mine is not None:
        mu, var = encode(shown.model, mine)  # (1, z_dim) each
        mark = {
            "xy": enc.plane.to_map(mu)[0].tolist(),
            "cov": enc.plane.spread(var[0]).tolist(),
            "name": f"your {noun}",
        }
    if not latent_map.available():
        st.info("The interactive map could not load (its frontend files are missing): this is a plain scatter.")
        lm = {
            "coords": coords,
            "index": pts.index,
            "labels": pts.labels,
            "axes": map_data.axes_titles(enc, c.z_dim, "pca"),
        }
        marks = [{"x": mark["xy"][0], "y": mark["xy"][1], "name": mark["name"]}] if mark else []
        st.plotly_chart(digits.map_figure(lm, names, marks, height=420, noun=noun), key="rec_map")
        return
    event = latent_map.take_event("rec_latent_map")
    if event is not None and event.get("kind") == "pick":
        st.session_state["lat_index"] = event["index"]
        st.switch_page("pages/3_Latent_space.py")
    elif event is not None and event.get("kind") == "generate":
        latent_map.open_in_generate(event, c.z_dim, c.conditional)
    latent_map.latent_map(
        run=shown,
        pts=pts,
        enc=enc,
        coords=coords,
        inverse=map_data.inverse_spec(enc, "pca", coords),
        axes=map_data.axes_titles(enc, c.z_dim, "pca"),
        class_names=names,
        kind=vocab.kind,
        noun=noun,
        mark=mark,
        pick_text=f"Click to look at this {noun} on the Latent space page.",
        key="rec_latent_map",
    )
    st.caption(
        f"The ★ is the mean z the encoder gives your {noun}, the ellipses its uncertainty (1 and 2 σ, "
        f"{'in z itself' if c.z_dim <= 2 else 'seen through the PCA plane of the Latent space page'}); each dot is a "
        f"test {noun}. Draw it again slanted, thicker or smaller and watch the star move. Hover to see the "
        f"{noun}s near it."
    )


your_own()


def test_batch() -> None:
    """Test images beside their reconstructions, and the classifier's guesses."""
    head = st.container(horizontal=True, vertical_alignment="bottom")  # the button keeps its label's width
    # The title only as wide as its words: Shuffle sits beside it, clear of the grid's full-screen button at
    # the far right, which covered the button's corner when the mouse rested on the grid.
    head.subheader(f"Test {noun}s and their reconstructions", width="content")
    if head.button("🔀 Shuffle", key="rec_shuffle", help=f"Show another batch of test {noun}s."):
        st.session_state["rec_batch"] = st.session_state.get("rec_batch", 0) + 1
    batch = st.session_state.get("rec_batch", 0)
    n_shown = min(BATCH, len(ds.test_y))  # fewer only for a test split smaller than a batch
    idx = np.random.default_rng(batch).choice(len(ds.test_y), n_shown, replace=False)  # batch number = seed
    x = ds.test_x[idx]  # (n_shown, 784)
    recon, probs = generate.reconstruct(shown.model, x)
    labels = ds.test_y[idx].numpy()
    guesses = probs.argmax(axis=1) if probs is not None else None
    wrong = guesses != labels if guesses is not None else np.zeros(n_shown, dtype=bool)
    pairs = [
        picture(np.stack([x[k].numpy(), recon[k]]), 2, scale=2, frame=RED if wrong[k] else None) for k in range(n_shown)
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
    pairs_png = partial(png_bytes, grid(np.stack([x.numpy(), recon], axis=1).reshape(-1, 784), 16), scale=3)
    st.download_button("Download these pairs (PNG)", pairs_png, "reconstructions.png", "image/png", key="rec_dl_pairs")


test_batch()
