"""Train: set up a VAE, train it live in the background, watch the losses fall and the digits appear."""

import streamlit as st

from pages.ui import auth, exports, layout, state
from pages.ui.pacer import pace
from pages.ui.train_charts import GRID_EVERY, draw_history, live_grid_epochs, progress_text
from pages.ui.words import words
from vae.checkpoint import CheckpointError
from vae.config import ACTIVATIONS, DATASETS, LIKELIHOODS, PRESETS, Config
from vae.data import TUTORIAL_TRAIN_IMAGES, DatasetError, epochs_for_tutorial_images, full_mnist_on_disk

LIVE_STATES = ("running", "paused")
REFRESH_SECONDS = 1.0  # the live panel redraws this long after the browser has drawn it (see pages/ui/pacer)
SAFETY_NET_SECONDS = 10.0  # Streamlit's own timer, should the pacer's iframe not load
PRESET_NOTES = {
    "seed": "the tutorial's model: sigmoid MLPs of 128, z_dim 10, 20 epochs",
    "classic": "PyTorch's example VAE: ReLU 400, Bernoulli pixels, no classifier",
    "tiny": "z_dim 2, small layers: trains in seconds",
}
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

shown = layout.page(
    "Train", "Train a VAE live: watch its losses fall and, epoch by epoch, its digits appear.", icon="🏋️"
)
lab = state.lab()


def fill(config: Config) -> None:
    """Put a config into the form's widgets (before they are drawn: from a callback or the first run)."""
    for name, value in config.to_dict().items():
        st.session_state[f"train_{name}"] = ", ".join(map(str, value)) if name in LAYERS else value


def field(name: str) -> dict:
    """Label, key and help of one config field's widget; its value survives page switches."""
    help_text = HELP.get(name, HELP["encoder_layers"] if name in LAYERS else None)
    return {"label": LABELS[name], "key": f"train_{name}", "help": help_text, "persist_state": "session"}


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
    except ValueError as exc:
        name, _, rest = str(exc).partition(" ")  # Config's messages start with the field's name
        raise ValueError(f"{LABELS[name]} ({name}) {rest}" if name in LABELS else str(exc)) from None


def say(kind: str, text: str, where: str = "train_notice") -> None:
    """Keep a message from a callback for the page to show where the user looks: `where` names the
    spot (under the settings form by default), which `said` then fills."""
    st.session_state[where] = (kind, text)


def said(where: str = "train_notice") -> None:
    """Show the message kept for `where`, if any, once."""
    if notice := st.session_state.pop(where, None):
        getattr(st, notice[0])(notice[1])


def start(resume: bool = False) -> None:
    """Callback of Start / Resume: it runs before the page is drawn, so the sidebar already shows the new run."""
    config, t = None, state.lab().trainer
    if not auth.can_control():  # the buttons are disabled too; this is the server's own check
        return
    if not resume:
        try:
            config = read_form()
        except ValueError as exc:
            say("error", f"Please fix this setting: {exc}")
            return
        if t is not None and t.state in LIVE_STATES and not st.session_state.get(f"train_replace_{t.run_id}"):
            say(
                "warning",
                f"A run is {t.state} right now (epoch {t.progress()['epoch']} of {t.config.epochs}) and everyone "
                "on this server sees it. To replace it, open **Settings**, tick “Stop the current run and start "
                "this one instead” and press Start again.",
            )
            return
    try:
        with st.spinner("Loading the data and starting…"):
            if resume:
                state.lab().resume_autosave()
            else:
                state.lab().start(config)
    except (DatasetError, CheckpointError, OSError, ValueError) as exc:  # ValueError: a bad VAE_DEVICE
        say("error", f"Could not start training: {exc}")
        return
    layout.show(state.LIVE)  # this session's sidebar follows the new run


control = auth.can_control()  # with an instructor passcode set, only the instructor drives the shared run
if not control:
    auth.require_control("start, pause or stop training and save or delete checkpoints")

try:
    offer = lab.autosave_to_offer()
except CheckpointError as exc:
    offer = None
    st.warning(
        f"A training run was cut short, but its autosave cannot be resumed: {exc} The next run started "
        "here replaces it.",
        icon="💾",
    )
if offer is not None:
    st.info("A training run was cut short (the server stopped). Its last finished epoch was saved.", icon="💾")
    label = f"Resume from autosave (epoch {offer.epoch} of {offer.config.epochs})"
    st.button(label, key="train_autosave", on_click=start, kwargs={"resume": True}, disabled=not control)

trainer = lab.trainer
run_state = trainer.state if trainer is not None else None  # read once: the trainer thread changes it
live = run_state in LIVE_STATES
if "train_z_dim" not in st.session_state:
    fill(trainer.config if trainer is not None else PRESETS["seed"])


def offline_epochs_hint() -> None:
    """Offline, `mnist` is the 4,000-digit subset, where the tutorial's 20 epochs are 1/15 of its
    training (800 steps, not 12,000): the `seed` model then draws the digit asked for 3 times in 10,
    and 9 in 10 after 300 epochs (about 40 s; `bench/live_run.py`). Say so to whoever can start a run,
    and offer the epochs that show the model as many images as the tutorial's run."""
    if not control or st.session_state["train_dataset"] != "mnist" or full_mnist_on_disk(lab.data_dir):
        return
    try:
        n = len(lab.dataset("mnist").train_y)
    except DatasetError:
        return  # Start says what is wrong with the data
    tutorial = PRESETS["seed"].epochs * TUTORIAL_TRAIN_IMAGES
    same = min(1000, epochs_for_tutorial_images(n, PRESETS["seed"].epochs))  # 1000: the form's maximum
    epochs = st.session_state["train_epochs"]
    if epochs >= same:
        return
    # The accuracy figures were measured for the seed model: other presets (and a plain VAE, which
    # cannot be asked for a digit at all) get the image count alone.
    conditional = st.session_state["train_classification_weight"] > 0 and st.session_state["train_preset"] == "seed"
    st.info(
        f"Without full MNIST on disk, **mnist** is the offline subset here: {n:,} training digits, not the "
        f"tutorial's {TUTORIAL_TRAIN_IMAGES:,}. The tutorial's {PRESETS['seed'].epochs} epochs showed its model "
        f"{tutorial:,} images; {epochs} epochs here show this one {epochs * n:,}, too few"
        + (
            ": asked for a digit, the `seed` model then draws it about 3 times in 10. "
            if epochs == 20 and conditional
            else ". "
        )
        + f"{same} epochs here show it as many images"
        + (
            " (about 40 s on a 2-core machine), after which the `seed` model draws the digit asked for about 9 "
            "times in 10."
            if conditional
            else "."
        ),
        icon="💡",
    )
    st.button(
        f"Use {same} epochs", key="train_same_images", on_click=lambda: st.session_state.update(train_epochs=same)
    )


with st.expander("⚙️ Settings: model, objective, optimiser", expanded=not live):
    st.selectbox(
        "Start from a preset",
        list(PRESETS),
        key="train_preset",
        persist_state="session",
        format_func=lambda p: f"{p} — {PRESET_NOTES.get(p, '')}",
        on_change=lambda: fill(PRESETS[st.session_state["train_preset"]]),
        help="Fills in every field below; change any of them before you start.",
    )
    # No min/max on the number fields: in a form, a value outside them makes the browser refuse
    # the Start button without a word. The config's own checks say what is wrong (read_form).
    with st.form("train_settings", border=False):
        model_col, objective_col, optim_col = st.columns(3)
        with model_col:
            st.markdown("**Model**")
            st.selectbox(options=DATASETS, **field("dataset"))
            st.number_input(step=1, **field("z_dim"))
            for name in LAYERS:
                st.text_input(**field(name))
            st.selectbox(options=ACTIVATIONS, **field("activation"))
        with objective_col:
            st.markdown("**Objective**")
            st.selectbox(options=LIKELIHOODS, **field("likelihood"))
            st.number_input(step=0.05, **field("decoder_std"))
            st.number_input(step=0.1, **field("beta"))
            st.number_input(step=1.0, **field("classification_weight"))
        with optim_col:
            st.markdown("**Optimiser**")
            st.number_input(step=1e-4, format="%.5f", **field("learning_rate"))
            st.number_input(step=10, **field("batch_size"))
            st.number_input(step=1, **field("epochs"))
            st.number_input(step=1, **field("seed"))
        if live:
            st.checkbox("Stop the current run and start this one instead", key=f"train_replace_{trainer.run_id}")
        st.form_submit_button(
            "▶️ Start training", type="primary", key="train_start", on_click=start, disabled=not control
        )
    offline_epochs_hint()


said()


def act(action: str) -> None:
    if (t := state.lab().trainer) is not None and auth.can_control():
        getattr(t, action)()


STATUS = {
    "running": "🟢 **Training** in the background. Everyone on this server sees this run.",
    "paused": "⏸️ **Paused**. Press Resume to go on.",
    "finished": "✅ **Finished**. Save it below to keep it.",
    "stopped": "⏹️ **Stopped** before the last epoch. Save it below to keep it.",
    "failed": "❌ **Training failed.**",
}


HIGH_LEARNING_RATE = 0.01  # ten times Adam's usual 1e-3: above it this model's training usually goes wrong


def live_panel(expected: tuple[str, bool, bool]) -> None:
    """Reads the trainer and draws; never waits on it. Refreshes every second while a run is live."""
    t = state.lab().trainer
    if t is None or (t.run_id, t.state in LIVE_STATES, t.epoch > 0) != expected:
        # The run ended or was replaced (maybe in another browser): redraw the page, stop the timer.
        # Also once when the first epoch ends, so the downloads below (outside this fragment: they
        # need not be redrawn every second) offer the epoch metrics and sample grid.
        st.rerun()
    # One row: the state, then the buttons at their labels' width (on a narrow screen they wrap
    # below the text, together, rather than shrink to "⏸️ …").
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(STATUS.get(t.state, t.state), width="stretch")
    buttons = row.container(horizontal=True, width="content")  # they wrap together
    button = {"on_click": act, "disabled": not auth.can_control()}
    if t.state == "running":
        buttons.button("⏸️ Pause", key="train_pause", args=("pause",), **button)
    elif t.state == "paused":
        buttons.button("▶️ Resume", key="train_resume", args=("resume",), **button)
    if t.state in LIVE_STATES:
        buttons.button("⏹️ Stop", key="train_stop", args=("stop",), **button)
    p = t.progress()
    st.progress(min(p["fraction"], 1.0), text=progress_text(p))
    if t.state == "failed":
        st.error(t.error or "Training stopped with an unknown error.")
    if t.config.learning_rate > HIGH_LEARNING_RATE:
        st.warning(
            f"This run's learning rate, {t.config.learning_rate:g}, is far above Adam's usual 0.001: expect the "
            "losses to jump about and the samples to blur or smear. Stopping with NaN is only one way it fails.",
            icon="⚠️",
        )
    if t.autosave_error:
        st.warning(
            f"{t.autosave_error} Training goes on, but if the server stopped now this run could not be resumed "
            "from its last epoch. Once there is room again, the next epoch is saved as usual."
        )
    steps = t.step_metrics(("step", "loss"))  # the curves need only these two columns
    key, epochs = f"live-{t.run_id}", t.epoch_metrics()
    row_epochs = live_grid_epochs(key, t.sample_epochs(), running=t.state == "running")
    draw_history(key, t.config, t.dataset.name, epochs, steps, t.sample_rows, row_epochs)
    if t.state == "running" and row_epochs:
        st.caption(f"While the run trains, the picture catches up every {GRID_EVERY:g} s, the curves every second.")
    if t.state in LIVE_STATES:
        pace("train_pacer", REFRESH_SECONDS)


if trainer is not None and (live or shown is None or shown.live):
    st.fragment(live_panel, run_every=SAFETY_NET_SECONDS if live else None)((trainer.run_id, live, trainer.epoch > 0))
    st.subheader("Keep this model")
    if flash := st.session_state.pop("train_flash", None):
        st.success(flash)
    with st.form("train_save_form"):
        name = st.text_input("Checkpoint name", key="train_save_name", placeholder="e.g. my-first-vae")
        overwrite = st.checkbox("Replace a checkpoint that already has this name", key="train_overwrite")
        if st.form_submit_button("💾 Save checkpoint", key="train_save", disabled=not control) and control:
            try:
                if name.strip().removesuffix(".pt").casefold() == state.LIVE.casefold():
                    raise CheckpointError(f"“{state.LIVE}” is the sidebar's name for the run itself: choose another.")
                path = lab.save(name, overwrite=overwrite)
            except CheckpointError as exc:
                st.error(str(exc))
            else:
                st.session_state["train_flash"] = f"Saved as “{path.stem}”: pick it in the sidebar on any page."
                st.rerun()
    st.subheader("Download")
    t = trainer
    labels = words(t.dataset.name).names if t.config.conditional else None
    exports.download_row(f"run-{t.run_id}", t.config, t.to_checkpoint, t.epoch > 0, t.step > 0, labels)
elif shown is not None:
    st.subheader(f"How “{shown.label}” learned")
    if trainer is not None and trainer.state == "failed":
        st.error(f"The last run failed: {trainer.error} (pick “{state.LIVE}” in the sidebar to see its curves.)")
    elif trainer is not None:
        st.info(f"The last run has {trainer.state}: pick “{state.LIVE}” in the sidebar to see and save it.")
    try:
        ckpt = state.checkpoint(lab.checkpoint_dir / f"{shown.label}.pt")
    except CheckpointError as exc:
        st.error(str(exc))
    else:
        st.caption(f"Saved after {ckpt.epoch} epochs. {ckpt.command}".strip())
        name = shown.dataset_name
        row_epochs = ckpt.row_epochs()
        has_rows = bool(row_epochs)
        rows = lambda: ckpt.sample_rows  # noqa: E731 - read only when the picture is not cached
        draw_history(shown.key, ckpt.config, name, ckpt.epoch_metrics, ckpt.step_metrics, rows, row_epochs)
        st.subheader("Download")
        labels = words(name).names if ckpt.config.conditional else None
        has_epochs, has_steps = bool(ckpt.epoch_metrics), bool(ckpt.step)
        exports.download_row(shown.label, ckpt.config, lambda: ckpt, has_epochs, has_steps, labels, has_rows)
else:
    st.info("No run yet: pick a preset above and press **Start training**. The `tiny` preset trains in seconds.")


DELETE_NOTICE = "train_delete_notice"  # the delete section's messages show in that section


def delete_checkpoint() -> None:
    """Callback of Delete: it runs before the sidebar is drawn, so the picker no longer offers the file."""
    name = st.session_state.get("train_delete_name")
    if not auth.can_control() or name is None:
        return
    if not st.session_state.get("train_delete_sure"):
        say("warning", f"Tick “Yes, delete it for good” to delete “{name}”.", DELETE_NOTICE)
        return
    try:
        state.lab().delete(name)
    except CheckpointError as exc:
        say("error", str(exc), DELETE_NOTICE)
        return
    st.session_state["train_delete_sure"] = False
    say("success", f"Deleted “{name}”. Browsers that show it say so, and offer the other models.", DELETE_NOTICE)


try:
    saved = [p.stem for p in lab.checkpoints()]
except CheckpointError:
    saved = []  # the sidebar says why
just_acted = DELETE_NOTICE in st.session_state
if saved or just_acted:
    with st.expander("🗂️ Checkpoints on this server", expanded=just_acted):
        said(DELETE_NOTICE)
        st.caption(
            f"{len(saved)} saved model{'s' * (len(saved) != 1)} in `{lab.checkpoint_dir}`, newest first; each is "
            "one file. Deleting one cannot be undone (the shipped models come back with `git checkout checkpoints`)."
        )
        with st.form("train_delete_form", border=False):
            st.selectbox("Checkpoint", saved, key="train_delete_name")
            st.checkbox("Yes, delete it for good", key="train_delete_sure")
            st.form_submit_button("🗑️ Delete", key="train_delete", on_click=delete_checkpoint, disabled=not control)
