"""Latent space: test images as points at their mean z; hover to see them or to decode any spot; replay training."""

from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from ui import digits, latent_map, layout, map_data, tsne_jobs
from ui.words import words
from vae import generate
from vae.images import picture, png_bytes

GENERATE = Path(__file__).parent / "2_Generate.py"

shown = layout.need_model(
    layout.page(
        "Latent space",
        "Every test {item} becomes one point: the mean z that the encoder gives it. Hover the map: a dot shows "
        "its {item}, empty space shows what the decoder draws there.",
    )
)
c = shown.config
ds = layout.need_test_images(shown)
vocab = words(ds.name)
names, noun, kind = vocab.names, vocab.item, vocab.kind
pts = map_data.points(ds.name)
enc = map_data.encoded(shown.key, shown.model, ds.name)
n = len(ds.test_y)

method_col, why_col = st.columns([1, 2], gap="medium") if c.conditional else (st.container(), None)
if why_col is not None:
    # Above the map, where it is read first: a student's first question about a conditional model's map is why
    # the colours do not form clusters (issue 21: the reason used to sit in a grey caption under the map).
    why_col.caption(
        f"**Why are the colours mixed?** The classifier tells the decoder which {kind} to draw, so z only has "
        f"to hold the *style* ({vocab.style_examples}): different {vocab.plural} written alike share a region. "
        "Colour by slant or thickness to see what z holds."
    )
if c.z_dim <= 2:
    method = "pca"  # the map is z itself
    method_col.caption(
        f"This model's z has {c.z_dim} number{'s' if c.z_dim > 1 else ''}, so the map shows z itself, exactly "
        "as the decoder reads it: no projection needed."
    )
else:
    choice = method_col.radio(
        "Flatten the latent space with",
        ["PCA", "t-SNE"],
        horizontal=True,
        key="lat_method",
        help=f"z has {c.z_dim} numbers; a screen has two. PCA looks along the two directions where the points "
        "spread most (instant, distances are kept, and every spot decodes exactly). t-SNE moves points so that "
        "neighbours stay neighbours (seconds, computed once per model; distances between clusters mean little, "
        "and a spot decodes as a blend of its nearest points).",
    )
    method = "tsne" if choice == "t-SNE" else "pca"


def tsne_coords() -> np.ndarray | None:
    """The t-SNE map, waiting for it with a progress bar; None (and a message) if it failed."""
    result = tsne_jobs.coords(shown.key, enc.mu, pts.index, shown.path)
    if isinstance(result, tsne_jobs.Job):
        job = result
        bar = st.progress(0.0, text=f"t-SNE of {job.n:,} test {noun}s…")
        while not job.done.wait(0.25):
            left = job.seconds_left()
            text = f"t-SNE of {job.n:,} test {noun}s: {job.progress:.0%}"
            if left is not None:
                text += f", about {left:.0f} s left" if left >= 1 else ", less than a second left"
            bar.progress(min(job.progress, 1.0), text=text)
        bar.empty()
        if job.error is not None:
            st.error(f"t-SNE failed ({job.error}). PCA still works: pick it above.")
            return None
        result = job.coords
    return result


coords = tsne_coords() if method == "tsne" else enc.plane.to_map(enc.mu)
if coords is None:
    st.stop()
if method == "pca":
    frames, note = map_data.frames(shown, enc, pts)
else:
    frames, note = None, "The map over training is drawn with PCA (t-SNE has no fixed plane to compare epochs on)."

if not 0 <= st.session_state.get("lat_index", 0) < n:
    st.session_state["lat_index"] = 0  # another model's test set was larger
axes = map_data.axes_titles(enc, c.z_dim, method)


@st.fragment  # a click on the map reruns only the map and the close-up: not the sidebar or the manifold
def map_and_close_up(coords: np.ndarray, frames: map_data.Frames | None, note: str, axes: tuple[str, str]) -> None:
    """The map, and below it the test image last clicked on it (or typed in)."""
    if latent_map.available():
        event = latent_map.take_event("lat_map")  # before the map: it rings the dot just clicked
        if event is not None and event.get("kind") == "pick":
            st.session_state["lat_index"] = min(max(event["index"], 0), n - 1)
        elif event is not None and event.get("kind") == "generate":
            latent_map.open_in_generate(event, c.z_dim, c.conditional)
        row = np.flatnonzero(pts.index == st.session_state.get("lat_index", 0))
        latent_map.latent_map(
            run=shown,
            pts=pts,
            enc=enc,
            coords=coords,
            inverse=map_data.inverse_spec(enc, method, coords),
            axes=axes,
            class_names=names,
            kind=kind,
            noun=noun,
            frames=frames,
            note=note,
            picked=int(row[0]) if len(row) else None,
            picked_name=f"test {noun} #{st.session_state.get('lat_index', 0)}, up close below",
            key="lat_map",
        )
        st.caption(
            f"{len(pts.index):,} test {noun}s. **Hover** a dot to see the {noun}, or empty space to see what the decoder "
            f"draws there{' as the ' + kind + ' picked above the map' if c.conditional else ''}; **click** a dot to look "
            "at it below, empty space to open that spot on the Generate page. Scroll to zoom, drag to move, "
            "double-click to reset. The dashed circles are the prior N(0, I), where new samples come from."
        )
    else:
        st.info("The interactive map could not load (its frontend files are missing): this is a plain scatter.")
        lm = {"coords": coords, "index": pts.index, "labels": pts.labels, "axes": axes}
        st.plotly_chart(digits.map_figure(lm, names, noun=noun), key="lat_plot")

    st.subheader(f"One {noun} up close")
    pic_col, info_col = st.columns([1, 2], gap="large")
    with info_col:
        i = st.number_input(f"Test {noun} # (0 to {n - 1:,})", min_value=0, max_value=n - 1, step=1, key="lat_index")
    x = ds.test_x[i : i + 1]  # (1, 784)
    recon, probs = generate.reconstruct(shown.model, x)
    with pic_col:
        st.image(picture(np.concatenate([x.numpy(), recon]), 2, scale=5))
        st.caption(f"Left: the test {noun}. Right: the model's reconstruction, drawn from its μ alone.")
    with info_col:
        label = int(ds.test_y[i])
        p = probs[0] if probs is not None else None  # (10,)
        guess = int(np.argmax(p)) if p is not None else None
        verdict = "" if guess is None else (" ✅ right" if guess == label else " ❌ wrong")
        st.markdown(f"**Label:** {names[label]} · **Classifier's guess:** {digits.guess_text(p, names)}{verdict}")
        mu = digits.encodings(shown.key, shown.model, ds.name)["mu"][i]  # (z_dim,)
        st.caption("μ = (" + ", ".join(f"{v:.2f}" for v in mu) + ")")
        if st.button("🎨 Open in Generate", key="lat_to_gen", help=f"Start the Generate page from this {noun}'s z."):
            digit = guess if guess is not None else label  # a plain VAE ignores the digit
            st.session_state["gen_request"] = {"z": mu.tolist(), "digit": digit, "source": f"test {noun} #{i}"}
            if GENERATE.exists():
                st.switch_page("pages/2_Generate.py")
            else:
                st.warning("The Generate page is not part of this app yet: the z is kept for when it is.")


map_and_close_up(coords, frames, note, axes)

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
            lo, hi = np.percentile(enc.mu, 1, axis=0), np.percentile(enc.mu, 99, axis=0)
        else:
            lo, hi = (-3.0, -3.0), (3.0, 3.0)
        st.markdown(
            "Each tile is the decoder's drawing at one point (z0, z1) of a 15 × 15 grid, with the same axes as "
            "the map above. Neighbouring tiles look alike: the decoder changes smoothly across the plane."
            + (f" The {kind} stays the one you pick; z changes only the style." if c.conditional else "")
        )
    with col_pic:
        grid_picture, z0, z1 = digits.manifold(shown.model, digit, lo, hi)
        st.plotly_chart(digits.manifold_figure(grid_picture, z0, z1), width="content", key="lat_manifold")
        st.download_button(
            "Download the manifold (PNG)",
            partial(png_bytes, grid_picture, 2),  # made on click: a click on the map encodes no PNG
            "manifold.png",
            "image/png",
            key="lat_dl_manifold",
        )
