"""The Train page's settings: a preset picker and every config field, in a panel that stays out of the
way once a run exists (its title sums the settings up; a click reopens it).

A preset fills the fields for the data on this server: offline, `mnist` is a 4,000-digit subset, on
which the tutorial's 20 epochs leave a digit picker that picks nothing, so the `seed` preset runs
`vae.config.offline_recipe` (more epochs, and a KL weight that starts high and eases to beta). The
CLI's `seed` preset keeps the tutorial's values.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from vae.config import ACTIVATIONS, DATASETS, LIKELIHOODS, PRESET_NOTES, PRESETS, Config, offline_recipe
from vae.data import TUTORIAL_TRAIN_IMAGES, DatasetError, full_mnist_on_disk
from vae.lab import Lab

CUSTOM = "custom"  # the preset picker's value when the fields match no preset
LABELS = {  # config field -> what the form calls it
    "dataset": "Dataset", "z_dim": "Latent size z_dim", "encoder_layers": "Encoder hidden layers",
    "decoder_layers": "Decoder hidden layers", "classifier_layers": "Classifier hidden layers",
    "activation": "Activation", "likelihood": "Pixel likelihood p(x|z)", "decoder_std": "Decoder σ (Gaussian)",
    "beta": "KL weight β", "classification_weight": "Classifier weight", "learning_rate": "Learning rate (Adam)",
    "batch_size": "Batch size", "epochs": "Epochs", "seed": "Random seed",
    "augment": "Warp the images", "elastic": "Elastic warp (px)", "kl_start": "KL weight at the start",
    "kl_ramp": "…eased to β over (epochs)",
}  # fmt: skip
HELP = {
    "z_dim": "How many numbers describe one image.",
    "encoder_layers": "Widths separated by commas, e.g. `128` or `256, 128`; empty for none.",
    "likelihood": "Gaussian: N(f(z), σ²I), as in the tutorial. Bernoulli: each pixel is a coin flip.",
    "decoder_std": "Used by the Gaussian likelihood only. Smaller σ: sharper images, weaker pull toward the prior.",
    "beta": "1 is the plain ELBO; larger pulls the codes harder toward N(0, I).",
    "classification_weight": "Weight of the digit classifier's cross-entropy. 0: no classifier, a plain VAE.",
    "seed": "Same seed and settings: the same model.",
    "augment": "Strength of random small rotations, zooms and shifts of each training image (0: none; 0.5: "
    "up to 5°, 5 %, 1 px). More variety from few digits, but slower to learn.",
    "elastic": "Adds a smooth random bending of the strokes, in pixels (used when warps are on).",
    "kl_start": "The KL term's weight at the first step. Above β, the model first relies on the digit input "
    "and keeps less of the image in z, so the digit picker works sooner.",
    "kl_ramp": "Over how many epochs the KL weight goes from its start value to β. 0: β from the start "
    "(the tutorial's objective).",
}
LAYERS = ("encoder_layers", "decoder_layers", "classifier_layers")


def offline_images(lab: Lab) -> int | None:
    """How many training digits `mnist` has here when it is the offline subset (None: full MNIST)."""
    if full_mnist_on_disk(lab.data_dir):
        return None
    try:
        return len(lab.dataset("mnist").train_y)
    except DatasetError:
        return None  # Start says what is wrong with the data


def preset_here(name: str, lab: Lab) -> Config:
    """Preset `name` as the form fills it on this server (see the module docstring)."""
    config = PRESETS[name]
    n = offline_images(lab) if name == "seed" else None
    return offline_recipe(config) if n else config


def fill(config: Config, lab: Lab) -> None:
    """Put a config into the fields, and name the preset it is (or "custom"): call it before the widgets
    are drawn (a callback, or the first run)."""
    for name, value in config.to_dict().items():
        st.session_state[f"train_{name}"] = ", ".join(map(str, value)) if name in LAYERS else value
    st.session_state["train_ramp_epochs"] = config.epochs
    _name_preset(config, lab)


def _name_preset(config: Config | None, lab: Lab) -> None:
    """The preset box shows the preset the fields hold, or "custom": so picking a preset after editing a
    field is always a change, and refills the fields."""
    match = next((p for p in PRESETS if config is not None and preset_here(p, lab) == config), CUSTOM)
    st.session_state["train_preset"] = match


def _edited(lab: Lab) -> None:
    """A field changed: the preset box follows (see `_name_preset`)."""
    try:
        _name_preset(read_form(), lab)
    except ValueError:
        _name_preset(None, lab)


def _epochs_edited(lab: Lab) -> None:
    """Epochs changed: a KL ramp over the whole run (as the offline recipe's) stays over the whole run,
    and one longer than the run is shortened to it, so changing the epochs alone never makes Start fail."""
    s = st.session_state
    epochs, ramp = s["train_epochs"], s["train_kl_ramp"]
    if isinstance(epochs, int) and epochs >= 1 and (ramp == s.get("train_ramp_epochs") or ramp > epochs) and ramp:
        s["train_kl_ramp"] = epochs
    s["train_ramp_epochs"] = epochs
    _edited(lab)


def field(name: str, lab: Lab) -> dict:
    """Label, key, help and change callback of one config field's widget; its value survives page switches."""
    help_text = HELP.get(name, HELP["encoder_layers"] if name in LAYERS else None)
    return {
        "label": LABELS[name],
        "key": f"train_{name}",
        "help": help_text,
        "persist_state": "session",
        "on_change": _epochs_edited if name == "epochs" else _edited,
        "args": (lab,),
    }


def read_form() -> Config:
    """The form's values as a Config; ValueError with a message that names the form's field."""
    values = {name: st.session_state[f"train_{name}"] for name in LABELS}
    for name in LAYERS:
        text = str(values[name]).replace(" ", "")
        try:
            values[name] = tuple(int(w) for w in text.split(",") if w)
        except ValueError:
            raise ValueError(
                f"{LABELS[name]}: write whole numbers separated by commas (e.g. 128 or 256, 128), got {text!r}"
            ) from None
    try:
        return Config(**values)
    except (ValueError, TypeError) as exc:
        name, _, rest = str(exc).partition(" ")  # Config's messages start with the field's name
        raise ValueError(f"{LABELS[name]} ({name}) {rest}" if name in LABELS else str(exc)) from None


def summary() -> str:
    """The settings in one line, for the panel's title when it is closed."""
    s = st.session_state
    preset = s.get("train_preset", CUSTOM)
    layers = "/".join(str(s[f"train_{n}"]).replace(" ", "") or "–" for n in LAYERS)
    recipe = (f" · KL {s['train_kl_start']:g}→β" if s["train_kl_ramp"] else "") + (
        f" · warps {s['train_augment']:g}" if s["train_augment"] else ""
    )
    return (
        f"{preset} · {s['train_dataset']} · z_dim {s['train_z_dim']} · {s['train_activation']} {layers} · "
        f"{s['train_epochs']} epochs{recipe} · Adam {s['train_learning_rate']:g}"
    )


def why_more_epochs(lab: Lab) -> str | None:
    """One plain sentence when the form runs more epochs than the tutorial's on the offline subset."""
    n = offline_images(lab)
    s = st.session_state
    epochs = s["train_epochs"]
    if n is None or s["train_dataset"] != "mnist" or epochs <= PRESETS["seed"].epochs:
        return None
    tutorial = PRESETS["seed"].epochs
    why = (
        f"This server has {n:,} training digits, not the tutorial's {TUTORIAL_TRAIN_IMAGES:,}, so one pass (an epoch) "
        f"is shorter: {epochs} epochs show the model {epochs * n:,} digits (the tutorial's {tutorial} showed it "
        f"{tutorial * TUTORIAL_TRAIN_IMAGES:,})"
    )
    if s["train_kl_ramp"] and s["train_kl_start"] > s["train_beta"]:
        return (
            f"{why}; the KL weight starts at {s['train_kl_start']:g} and eases to β = {s['train_beta']:g}, so the "
            "model leans on the digit input early and the digit picker works by the end."
        )
    return why + "."


def settings(lab: Lab, control: bool, on_start: Callable[[], None], confirm: tuple[str, str] | None) -> None:
    """Start, and the settings panel (closed: its title sums them up). `confirm`: the key and label of the
    checkbox that a Start needs first (replacing the live run, or discarding one not saved), or None. No
    st.form: a field's change reaches the server at once, so Start, outside the panel, always starts what
    the fields say."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button("▶️ Start training", type="primary", key="train_start", on_click=on_start, disabled=not control)
    if confirm is not None:
        row.checkbox(confirm[1], key=confirm[0], disabled=not control)
    with st.expander(f"⚙️ Settings: {summary()}", key="train_settings_panel"):  # key: stays open as its title changes
        st.selectbox(
            "Start from a preset",
            [CUSTOM, *PRESETS],
            key="train_preset",
            format_func=lambda p: _preset_label(p, lab),
            on_change=lambda: _picked(lab),
            help="Fills in every field below; change any of them before you start.",
        )
        # No min/max on the number fields: the config's own checks say what is wrong (read_form), where
        # a widget's bounds would clamp what was typed without a word.
        with st.container():
            model_col, objective_col, optim_col = st.columns(3)
            with model_col:
                st.markdown("**Model**")
                st.selectbox(options=DATASETS, **field("dataset", lab))
                st.number_input(step=1, **field("z_dim", lab))
                for name in LAYERS:
                    st.text_input(**field(name, lab))
                st.selectbox(options=ACTIVATIONS, **field("activation", lab))
            with objective_col:
                st.markdown("**Objective**")
                st.selectbox(options=LIKELIHOODS, **field("likelihood", lab))
                st.number_input(step=0.05, **field("decoder_std", lab))
                st.number_input(step=0.1, **field("beta", lab))
                st.number_input(step=1.0, **field("classification_weight", lab))
            with optim_col:
                st.markdown("**Optimiser**")
                st.number_input(step=1e-4, format="%.5f", **field("learning_rate", lab))
                st.number_input(step=10, **field("batch_size", lab))
                st.number_input(step=1, **field("epochs", lab))
                st.number_input(step=1, **field("seed", lab))
            st.markdown("**Training recipe** (off in the tutorial)")
            warp_col, elastic_col, start_col, ramp_col = st.columns(4)
            warp_col.number_input(step=0.25, **field("augment", lab))
            elastic_col.number_input(step=0.5, **field("elastic", lab))
            start_col.number_input(step=0.5, **field("kl_start", lab))
            ramp_col.number_input(step=10, **field("kl_ramp", lab))
    if why := why_more_epochs(lab):
        st.markdown(f"💡 {why}")


def _preset_label(name: str, lab: Lab) -> str:
    """The preset box's line for `name`, with what this server changes in it (the offline recipe)."""
    if name == CUSTOM:
        return "custom — as filled in below"
    here, label = preset_here(name, lab), f"{name} — {PRESET_NOTES.get(name, '')}"
    if here == PRESETS[name]:
        return label
    return f"{label} (on this server: {here.epochs} epochs, KL weight {here.kl_start:g} → β)"


def _picked(lab: Lab) -> None:
    """A preset was picked: fill in its fields (nothing to fill for "custom")."""
    name = st.session_state.get("train_preset")
    if name in PRESETS:
        fill(preset_here(name, lab), lab)
