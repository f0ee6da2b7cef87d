"""Generate: pick a digit, drag the style sliders, watch the digit morph."""

from functools import partial

import numpy as np
import streamlit as st
import torch

from ui import layout, state
from ui.latent_canvas import Z_RANGE, browser_cannot_decode, latent_controls
from ui.words import words
from vae import generate
from vae.evaluate import kl_per_dimension
from vae.images import grid, png_bytes
from vae.model import NUM_CLASSES

shown = layout.need_model(
    layout.page(
        "Generate",
        "Choose what to draw with the {kind} input, and how to draw it with the latent vector z.",
        plain="Choose what to draw with the latent vector z: this plain VAE has no {kind} input.",
    )
)
c, model = shown.config, shown.model
vocab = words(shown.dataset_name)
names = vocab.names
test, missing = layout.test_images(shown)  # without them the sliders still work, unlabelled


@st.cache_data(max_entries=8, show_spinner=False)
def usage(key: str, dataset: str, _model) -> np.ndarray:
    """Mean KL per latent dimension on 1,000 test images: how much the model uses each slider."""
    x = state.lab().dataset(dataset).test_x[:1000]
    return kl_per_dimension(_model, x)


if test is not None:
    kl = usage(shown.key, test.name, model)
    labels = [f"z{i} · KL {kl[i]:.2f}" + (" (unused)" if kl[i] < 0.05 else "") for i in range(c.z_dim)]
else:
    kl, labels = np.zeros(c.z_dim), [f"z{i}" for i in range(c.z_dim)]
    st.warning(f"{missing} Until then the sliders work, but without their KL, and there is no interpolation.")

# Where the sliders should jump to: a random style, zero, or a point sent from the Latent space page.
# Each jump carries a fresh "nonce": the canvas only jumps when `initial` differs from the last one.
buttons = st.container(horizontal=True, vertical_alignment="bottom")  # each as wide as its label
request = st.session_state.pop("gen_request", None)
nonce = st.session_state["gen_jumps"] = st.session_state.get("gen_jumps", 0) + 1
tau = buttons.slider(
    "Temperature τ",
    0.2,
    1.0,
    1.0,
    0.1,
    key="gen_tau",
    width=180,
    help="Random style draws z from N(0, τ²I): 1 as in training; lower stays near the average style "
    "(plainer, and more often the digit asked for: BENCHMARKS.md measures it).",
)
if buttons.button("🎲 Random style", key="gen_random", help="Draw z from N(0, τ²I)"):
    z0 = tau * np.random.default_rng().standard_normal(c.z_dim)
    st.session_state["gen_initial"] = {"z": z0.tolist(), "nonce": nonce}
if buttons.button("0 Reset z", key="gen_reset", help="Every slider to 0, the prior's centre"):
    st.session_state["gen_initial"] = {"z": [0.0] * c.z_dim, "nonce": nonce}
if request and len(request.get("z", [])) == c.z_dim:
    digit = int(request.get("digit", 0))
    jump = {"z": list(request["z"]), "digit_a": digit, "digit_b": digit, "mix": 0.0, "nonce": nonce}
    st.session_state["gen_initial"] = jump
    st.success(f"Loaded the style of {request.get('source', f'a test {vocab.item}')}.")
initial = st.session_state.get("gen_initial")
if initial is not None and len(initial.get("z", [])) != c.z_dim:
    initial = None  # made for another model

in_browser = browser_cannot_decode(model) is None  # else the canvas says why and decodes on the server
st.markdown(
    ("Drag a slider: the picture is decoded in your browser as you move. " if in_browser else "")
    + "Sliders with a higher KL carry more information; those near 0 are ignored by the decoder."
)


@st.fragment  # a slider's release reruns only what z draws: not the sidebar, the header or the interpolation
def drawn_from_z(initial: dict | None, labels: list[str], kl: np.ndarray) -> None:
    """The sliders' picture and everything drawn from the same z: the digit row and the traversal."""
    values = latent_controls(model, shown.key, labels=labels, initial=initial, key="gen_canvas")
    z = np.asarray(values["z"], dtype=np.float32)[None]  # (1, z_dim)
    prob = np.asarray(values["digit_prob"] or [0.0] * NUM_CLASSES, dtype=np.float32)[None]  # (1, 10)
    image = generate.decode(model, z, prob)

    st.download_button(
        f"Download this {vocab.item} (PNG)",
        partial(png_bytes, grid(image, 1, pad=0), scale=10),  # made on click: a slider's rerun encodes no PNGs
        file_name=f"{vocab.item}.png",
        mime="image/png",
        key="gen_dl_one",
    )

    if c.conditional:
        st.subheader(f"The same style, every {vocab.kind}")
        row_img = grid(generate.digit_rows(model, torch.from_numpy(z)), NUM_CLASSES)
        st.image(row_img, width=700, clamp=True)
        st.caption(f"One z, ten one-hot inputs: {', '.join(names)}. The {vocab.style} stays; the {vocab.kind} changes.")
        st.download_button(
            "Download this row (PNG)",
            partial(png_bytes, row_img, 3),
            f"{vocab.kind}-row.png",
            "image/png",
            key="gen_dl_row",
        )

    st.subheader("Latent traversal")
    default_dim = int(np.argmax(kl))
    dim = st.selectbox(  # keyed per model: another model starts on its own most used dimension, with its KLs
        "Sweep dimension",
        range(c.z_dim),
        index=default_dim,
        format_func=lambda i: labels[i],
        key=f"gen_traverse_dim-{shown.label}",
    )
    steps = np.linspace(-Z_RANGE, Z_RANGE, 11, dtype=np.float32)
    traversal = grid(generate.traversal(model, z[0], dim, steps), len(steps))
    st.image(traversal, width=560, clamp=True)
    st.caption(
        f"Columns: z{dim} from {-Z_RANGE:g} to {Z_RANGE:g}, every other dimension as on the sliders. "
        + (f"Rows: the ten {vocab.plural}." if c.conditional else "")
    )
    st.download_button(
        "Download traversal (PNG)", partial(png_bytes, traversal, 3), "traversal.png", "image/png", key="gen_dl_tr"
    )


drawn_from_z(initial, labels, kl)

st.subheader("Interpolation")
if test is None:
    st.info("Interpolation runs between two test images, which are not on this machine (see above).")
    st.stop()
a_col, b_col = st.columns(2)
ia = a_col.number_input("From test image #", 0, len(test.test_y) - 1, 0, key="gen_interp_a")
other = (test.test_y != test.test_y[0]).nonzero()  # by default end on a different class than #0
ib = b_col.number_input(
    "To test image #", 0, len(test.test_y) - 1, int(other[0]) if len(other) else 1, key="gen_interp_b"
)
pair = test.test_x[[int(ia), int(ib)]]  # (2, 784)
strip = generate.interpolation(model, pair, steps=10)
strip_img = grid(np.concatenate([pair.numpy()[:1], strip, pair.numpy()[1:]]), 12)
st.image(strip_img, width=700, clamp=True)
st.caption(
    f"Left and right: the two real test images (labelled {names[int(test.test_y[int(ia)])]} "
    f"and {names[int(test.test_y[int(ib)])]}). Between them: ten steps on the straight line between their "
    "encodings (mu)" + (f", with the classifier's {vocab.kind} belief blended the same way." if c.conditional else ".")
)
st.download_button(
    "Download interpolation (PNG)", partial(png_bytes, strip_img, 3), "interpolation.png", key="gen_dl_in"
)
