"""A tiny page around `ui.film.film`, for its browser tests and screenshots.

The frames are made up, no model: real digits of the offline MNIST subset (one per class and style)
that start as the blurred average of all digits and sharpen epoch by epoch, as a run's film does.
Query parameters: epochs (frames at first, default 12), styles (rows, default 4), fashion=1
(Fashion-MNIST's class names as labels), autoplay=1, half=1 (the film in the left half of the page),
frames_key=0 (no `frames_key`: the frames are prepared on every run).
"Add an epoch" adds a frame, as a live run does at an epoch's end. The page counts its runs, so a
test can tell whether the browser asked the server for anything. Run:
`streamlit run tests/apps/film_app.py`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from scipy.ndimage import gaussian_filter

from ui.film import film
from vae.data import DIGIT_NAMES, FASHION_NAMES, mnist_subset

MAX_EPOCHS = 400


@st.cache_data(max_entries=4, show_spinner=False)
def made_up_frames(n_styles: int) -> np.ndarray:
    """(MAX_EPOCHS, S, 10, 28, 28) floats in [0, 1]: digit (s, c) at epoch e is the average digit
    blended into a real one, blurred less and less (sigma 3 at epoch 1, near 0 by epoch 40)."""
    data = mnist_subset()
    x, y = data.test_x.numpy().reshape(-1, 28, 28), data.test_y.numpy()
    digits = np.stack([x[y == c][:n_styles] for c in range(10)], axis=1)  # (S, 10, 28, 28)
    blob = x.mean(axis=0)
    frames = np.empty((MAX_EPOCHS, *digits.shape), np.float32)
    for e in range(MAX_EPOCHS):
        sharp = 1 - np.exp(-(e + 1) / 8)  # 0.12 at epoch 1, 0.99 at epoch 40
        blurred = gaussian_filter(digits, sigma=(0, 0, 3 * (1 - sharp), 3 * (1 - sharp)))
        frames[e] = (1 - sharp) * blob + sharp * blurred
    return np.clip(frames, 0, 1)


def main() -> None:
    st.set_page_config(page_title="Film · test page", layout="wide")
    q = st.query_params
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    st.session_state.setdefault("epochs", int(q.get("epochs", "12")))
    with st.sidebar:
        st.header("Sidebar")
        st.write("As wide as the app's own sidebar, so the page is as narrow as the Train page.")
    st.title("The film of a run")
    if st.button("Add an epoch", key="film_add"):
        st.session_state["epochs"] = min(st.session_state["epochs"] + 1, MAX_EPOCHS)
    n = st.session_state["epochs"]
    st.markdown(f"page runs: {st.session_state['runs']} · epochs: {n}")
    n_styles = int(q.get("styles", "4"))
    frames = made_up_frames(n_styles)[:n]
    labels = FASHION_NAMES if q.get("fashion") == "1" else DIGIT_NAMES
    if st.checkbox("Hide the film", key="film_hide"):  # taken off the page: it comes back as a fresh iframe
        return
    where = st.columns(2)[0] if q.get("half") == "1" else st.container()
    with where:
        film(
            frames,
            list(range(1, n + 1)),
            labels,
            key="film_test",
            caption="The same four handwriting styles (rows) drawn as each digit (columns) after every epoch.",
            autoplay=q.get("autoplay") == "1",
            frames_key=None if q.get("frames_key") == "0" else f"made-up-{n_styles}-{n}",
        )


if __name__ == "__main__":
    main()
