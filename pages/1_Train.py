"""Train: set up a VAE, train it live in the background, watch the losses fall and the digits appear."""

import streamlit as st

from ui import auth, exports, layout, state
from ui.pacer import pace
from ui.train_charts import GRID_EVERY, draw_history, grid_rows, progress_text
from vae.checkpoint import CheckpointError, name_of
from vae.config import ACTIVATIONS, DATASETS, LIKELIHOODS, PRESET_NOTES, PRESETS, Config
from vae.data import TUTORIAL_TRAIN_IMAGES, DatasetError, epochs_for_tutorial_images, full_mnist_on_disk
from vae.run import LIVE, RunState, RunView

REFRESH_SECONDS = 1.0  # the live panel redraws this long after the browser has drawn it (see ui/pacer)
SAFETY_NET_SECONDS = 10.0  # Streamlit's own timer, should the pacer's iframe not load
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

shown = layout.page("Train", "Train a VAE live: watch its losses fall and, epoch by epoch, its digits appear.")
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
        if t is not None and t.view.state.live and not st.session_state.get(f"train_replace_{t.run_id}"):
            say(
                "warning",
                f"A run is {t.view.state.value} right now (epoch {t.view.epoch + 1} of {t.config.epochs}) and everyone "
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
    layout.show(state.LIVE_CHOICE)  # this session's sidebar follows the new run


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
    label = f"Resume from autosave (epoch {offer['epoch']} of {offer['config'].epochs})"
    st.button(label, key="train_autosave", on_click=start, kwargs={"resume": True}, disabled=not control)

trainer = lab.trainer
live = trainer is not None and trainer.view.state.live  # one view, read once: it is what this run draws
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
    RunState.RUNNING: "🟢 **Training** in the background. Everyone on this server sees this run.",
    RunState.PAUSED: "⏸️ **Paused**. Press Resume to go on.",
    RunState.FINISHED: "✅ **Finished**. Save it below to keep it.",
    RunState.STOPPED: "⏹️ **Stopped** before the last epoch. Save it below to keep it.",
    RunState.FAILED: "❌ **Training failed.**",
}


HIGH_LEARNING_RATE = 0.01  # ten times Adam's usual 1e-3: above it this model's training usually goes wrong


def controls(run: RunView) -> None:
    """The live run's state, its buttons, its progress and what may be wrong with it."""
    # One row: the state, then the buttons at their labels' width (on a narrow screen they wrap
    # below the text, together, rather than shrink to "⏸️ …").
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(STATUS.get(run.state, run.state.value), width="stretch")
    buttons = row.container(horizontal=True, width="content")  # they wrap together
    button = {"on_click": act, "disabled": not auth.can_control()}
    if run.state is RunState.RUNNING:
        buttons.button("⏸️ Pause", key="train_pause", args=("pause",), **button)
    elif run.state is RunState.PAUSED:
        buttons.button("▶️ Resume", key="train_resume", args=("resume",), **button)
    if run.state.live:
        buttons.button("⏹️ Stop", key="train_stop", args=("stop",), **button)
    st.progress(min(run.step / max(run.total_steps or 1, 1), 1.0), text=progress_text(run))
    if run.state is RunState.FAILED:
        st.error(run.error or "Training stopped with an unknown error.")
    if run.config.learning_rate > HIGH_LEARNING_RATE:
        st.warning(
            f"This run's learning rate, {run.config.learning_rate:g}, is far above Adam's usual 0.001: expect the "
            "losses to jump about and the samples to blur or smear. Stopping with NaN is only one way it fails.",
            icon="⚠️",
        )
    if problem := state.lab().autosave_error:
        st.warning(
            f"{problem} Training goes on, but if the server stopped now this run could not be resumed "
            "from its last epoch. Once there is room again, the next epoch is saved as usual."
        )


def live_panel(expected: tuple[str, bool, bool]) -> None:
    """Reads the live run's latest view and draws; never waits on training. Refreshes while the run is live."""
    t = state.lab().trainer
    run = t.view if t is not None else None
    if run is None or (t.run_id, run.state.live, run.epoch > 0) != expected:
        # The run ended or was replaced (maybe in another browser): redraw the page, stop the timer.
        # Also once when the first epoch ends, so the downloads below (outside this fragment: they
        # need not be redrawn every second) offer the epoch metrics and sample grid.
        st.rerun()
    controls(run)
    n_rows = grid_rows(run)
    draw_history(run, n_rows)
    if run.state is RunState.RUNNING and n_rows:
        st.caption(f"While the run trains, the picture catches up every {GRID_EVERY:g} s, the curves every second.")
    if run.state.live:
        pace("train_pacer", REFRESH_SECONDS)


if trainer is not None and (live or shown is None or shown.live):
    run = trainer.view
    st.fragment(live_panel, run_every=SAFETY_NET_SECONDS if live else None)((trainer.run_id, live, run.epoch > 0))
    st.subheader("Keep this model")
    if flash := st.session_state.pop("train_flash", None):
        st.success(flash)
    with st.form("train_save_form"):
        name = st.text_input("Checkpoint name", key="train_save_name", placeholder="e.g. my-first-vae")
        overwrite = st.checkbox("Replace a checkpoint that already has this name", key="train_overwrite")
        if st.form_submit_button("💾 Save checkpoint", key="train_save", disabled=not control) and control:
            try:
                path = lab.save(name, overwrite=overwrite)
            except CheckpointError as exc:
                st.error(str(exc))
            else:
                st.session_state["train_flash"] = f"Saved as “{name_of(path)}”: pick it in the sidebar on any page."
                st.rerun()
    st.subheader("Download")
    exports.download_row(trainer.to_checkpoint(), f"run-{trainer.run_id}")
elif shown is not None:
    st.subheader(f"How “{shown.label}” learned")
    if trainer is not None and trainer.view.state is RunState.FAILED:
        st.error(f"The last run failed: {trainer.view.error} (pick “{LIVE}” in the sidebar to see its curves.)")
    elif trainer is not None:
        st.info(f"The last run has {trainer.view.state.value}: pick “{LIVE}” in the sidebar to see and save it.")
    st.caption(f"Saved after {shown.epoch} epochs. {shown.command}".strip())
    draw_history(shown)
    st.subheader("Download")
    exports.download_row(shown, shown.label)
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
    saved = lab.checkpoints()
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
