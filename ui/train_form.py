"""The Train page's settings: a preset picker and every config field, in a panel that stays out of the
way once a run exists (its title sums the settings up; a click reopens it).

A preset fills the fields for the data on this server: offline, `mnist` is a 4,000-digit subset, so
the `seed` preset runs as many epochs as show the model the tutorial's number of images (20 epochs of
60,000 digits = 300 of 4,000). The CLI's `seed` preset keeps the tutorial's values.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from vae.config import ACTIVATIONS, DATASETS, LIKELIHOODS, PRESET_NOTES, PRESETS, Config
from vae.data import TUTORIAL_TRAIN_IMAGES, DatasetError, epochs_for_tutorial_images, full_mnist_on_disk
from vae.lab import Lab

CUSTOM = "custom"  # the preset picker's value when the fields match no preset
LABELS = {  # config field -> what the form calls it
    "dataset": "Dataset", "z_dim": "Latent size z_dim", "encoder_layers": "Encoder hidden layers",
    "decoder_layers": "Decoder hidden layers", "classifier_layers": "Classifier hidden layers",
    "activation": "Activation", "likelihood": "Pixel likelihood p(x|z)", "decoder_std": "Decoder σ (Gaussian)",
    "beta": "KL weight β", "classification_weight": "Classifier weight", "learning_rate": "Learning rate (Adam)",
    "batch_size": "Batch size", "epochs": "Epochs", "seed": "Random seed",
}  # fmt: skip
HELP = {
    "z_dim": "How many numbers describe one image.",
    "encoder_layers": "Widths separated by commas, e.g. `128` or `256, 128`; empty for none.",
    "likelihood": "Gaussian: N(f(z), σ²I), as in the tutorial. Bernoulli: each pixel is a coin flip.",
    "decoder_std": "Used by the Gaussian likelihood only. Smaller σ: sharper images, weaker pull toward the prior.",
    "beta": "1 is the plain ELBO; larger pulls the codes harder toward N(0, I).",
    "classification_weight": "Weight of the digit classifier's cross-entropy. 0: no classifier, a plain VAE.",
    "seed": "Same seed and settings: the same model.",
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
    return config.replace(epochs=min(1000, epochs_for_tutorial_images(n, config.epochs))) if n else config


def fill(config: Config, lab: Lab) -> None:
    """Put a config into the fields, and name the preset it is (or "custom"): call it before the widgets
    are drawn (a callback, or the first run)."""
    for name, value in config.to_dict().items():
        st.session_state[f"train_{name}"] = ", ".join(map(str, value)) if name in LAYERS else value
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


def field(name: str, lab: Lab) -> dict:
    """Label, key, help and change callback of one config field's widget; its value survives page switches."""
    help_text = HELP.get(name, HELP["encoder_layers"] if name in LAYERS else None)
    return {
        "label": LABELS[name],
        "key": f"train_{name}",
        "help": help_text,
        "persist_state": "session",
        "on_change": _edited,
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
    return (
        f"{preset} · {s['train_dataset']} · z_dim {s['train_z_dim']} · {s['train_activation']} {layers} · "
        f"{s['train_epochs']} epochs · Adam {s['train_learning_rate']:g}"
    )


def why_more_epochs(lab: Lab) -> str | None:
    """One plain sentence when the form runs more epochs than the tutorial's for the same images."""
    n = offline_images(lab)
    epochs = st.session_state["train_epochs"]
    if n is None or st.session_state["train_dataset"] != "mnist" or epochs <= PRESETS["seed"].epochs:
        return None
    return (
        f"This server has {n:,} training digits, not the tutorial's {TUTORIAL_TRAIN_IMAGES:,}, so one pass (an epoch) "
        f"is shorter: {epochs} epochs show the model {epochs * n:,} digits (the tutorial's {PRESETS['seed'].epochs} "
        f"showed it {PRESETS['seed'].epochs * TUTORIAL_TRAIN_IMAGES:,})."
    )


def settings(lab: Lab, control: bool, on_start: Callable[[], None], replace_key: str | None) -> None:
    """Start, and the settings panel (closed: its title sums them up). `replace_key`: the checkbox that
    confirms replacing the live run (None when there is none). No st.form: a field's change reaches the
    server at once, so Start, outside the panel, always starts what the fields say."""
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button("▶️ Start training", type="primary", key="train_start", on_click=on_start, disabled=not control)
    if replace_key is not None:
        row.checkbox("Stop the current run and start this one instead", key=replace_key, disabled=not control)
    with st.expander(f"⚙️ Settings: {summary()}", key="train_settings_panel"):  # key: stays open as its title changes
        st.selectbox(
            "Start from a preset",
            [CUSTOM, *PRESETS],
            key="train_preset",
            format_func=lambda p: "custom — as filled in below" if p == CUSTOM else f"{p} — {PRESET_NOTES.get(p, '')}",
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
    if why := why_more_epochs(lab):
        st.markdown(f"💡 {why}")


def _picked(lab: Lab) -> None:
    """A preset was picked: fill in its fields (nothing to fill for "custom")."""
    name = st.session_state.get("train_preset")
    if name in PRESETS:
        fill(preset_here(name, lab), lab)
