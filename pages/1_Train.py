"""Train: set up a VAE, train it live in the background, watch the losses fall and the digits appear."""

import streamlit as st

from ui import auth, exports, layout, run_panel, state
from ui.pacer import pace
from ui.train_charts import progress_text
from ui.train_form import fill, preset_here, read_form, settings
from ui.words import md
from vae.checkpoint import CheckpointError, name_of
from vae.data import DatasetError
from vae.run import LIVE, RunState, RunView

REFRESH_SECONDS = 1.0  # the live panel redraws this long after the browser has drawn it (see ui/pacer)
SAFETY_NET_SECONDS = 10.0  # Streamlit's own timer, should the pacer's iframe not load
WATCH_SECONDS = 3.0  # with no live run drawn, how often the page looks for one started elsewhere
HIGH_LEARNING_RATE = 0.01  # ten times Adam's usual 1e-3: above it this model's training usually goes wrong
SCROLL = "train_scroll_to_run"  # set on Start: the next page run scrolls the browser to the run's status

shown = layout.page("Train", "Train a VAE live: watch its losses fall and, epoch by epoch, its digits appear.")
lab = state.lab()


def say(kind: str, text: str, where: str = "train_notice") -> None:
    """Keep a message from a callback for the page to show where the user looks: `where` names the
    spot (under the settings by default), which `said` then fills."""
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
                "on this server sees it. To replace it, tick “Stop the current run and start this one instead” "
                "beside Start and press Start again.",
            )
            return
        if (ended := state.lab().unsaved()) is not None and not st.session_state.get(f"train_discard_{t.run_id}"):
            say(
                "warning",
                f"The last run ({ended.state.value} after epoch {ended.epoch}) is not saved, and a new run replaces "
                "it. Save it below first, or tick “Discard the last run” beside Start and press Start again.",
            )
            return
        if t is None and autosave_offered() and not st.session_state.get("train_discard_autosave"):
            say(
                "warning",
                "A run that was cut short can still be resumed (see above): starting a new one replaces its "
                "autosave. Tick “Start afresh anyway” above, or press Resume.",
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
    st.session_state[SCROLL] = True
    st.session_state["train_settings_panel"] = False  # the settings close: the run takes the screen


def autosave_offered() -> bool:
    """Whether the page offers to resume a cut-short run (an unreadable autosave is not offered)."""
    try:
        return state.lab().autosave_to_offer() is not None
    except CheckpointError:
        return False


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
    row = st.container(horizontal=True, vertical_alignment="center")
    label = f"Resume from autosave (epoch {offer['epoch']} of {offer['config'].epochs})"
    row.button(label, key="train_autosave", on_click=start, kwargs={"resume": True}, disabled=not control)
    row.checkbox("Start afresh anyway (replaces the autosave)", key="train_discard_autosave", disabled=not control)

trainer = lab.trainer
run = trainer.view if trainer is not None else None  # one view, read once: it is what this page draws
live = run is not None and run.state.live
if "train_z_dim" not in st.session_state:
    fill(run.config if run is not None else preset_here("seed", lab), lab)
if live:
    confirm = (f"train_replace_{trainer.run_id}", "Stop the current run and start this one instead")
elif lab.unsaved() is not None:
    confirm = (f"train_discard_{trainer.run_id}", "Discard the last run (not saved)")
else:
    confirm = None
settings(lab, control=control, on_start=start, confirm=confirm)
said()


def act(action: str) -> None:
    """Pause, Resume or Stop; a stop waits (a moment) for the run to end, so the page redrawn after the
    click says "Stopped" rather than "Training… 23 s left" until the next refresh."""
    if (t := state.lab().trainer) is not None and auth.can_control():
        getattr(t, action)()
        if action == "stop":
            t.join(5)


STATUS = {
    RunState.RUNNING: "🟢 **Training** in the background. Everyone on this server sees this run.",
    RunState.PAUSED: "⏸️ **Paused**. Press Resume to go on.",
    RunState.FINISHED: "✅ **Finished**. Save it below to keep it.",
    RunState.STOPPED: "⏹️ **Stopped** before the last epoch. Save it below to keep it.",
    RunState.FAILED: "❌ **Training failed.**",
}


def controls(run: RunView) -> None:
    """The live run's state, its buttons, its progress and what may be wrong with it."""
    # One row: the state, then the buttons at their labels' width (on a narrow screen they wrap
    # below the text, together, rather than shrink to "⏸️ …").
    row = st.container(horizontal=True, vertical_alignment="center", key="train_status")
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
    run_panel.draw(run)
    if run.state.live:
        pace("train_pacer", REFRESH_SECONDS)


def watch_for_a_run(drawn: str | None) -> None:
    """With no live run on the page: redraw it once a run starts, pressed in another browser (the
    instructor's, while the class waits on this page) or in this one by a press whose own redraw was cut
    short (a rerun arriving while Start's callback was still starting the run left the page as it was)."""
    t = state.lab().trainer
    if t is not None and t.run_id != drawn and t.view.state.live:
        st.rerun()


def scroll_to_run() -> None:
    """After Start, bring the run's status to the top of the browser (the form's Start button sits far
    down). A script of ours, run in the page itself, taking no room (`st.components.v1.html`, an iframe,
    is deprecated in this Streamlit)."""
    if st.session_state.pop(SCROLL, False):
        st.html(
            "<script>const el = document.querySelector('.st-key-train_status');"
            "if (el) el.scrollIntoView({block: 'start', behavior: 'instant'});</script>",
            unsafe_allow_javascript=True,
        )


if trainer is not None and (live or shown is None or shown.live):
    if shown is not None and not shown.live:  # the picker names a saved model: say which one this page shows
        st.caption(f"This page shows the live run; the other pages show “{md(shown.label)}”, picked in the sidebar.")
    st.fragment(live_panel, run_every=SAFETY_NET_SECONDS if live else None)((trainer.run_id, live, run.epoch > 0))
    scroll_to_run()
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
    st.subheader(f"How “{md(shown.label)}” learned")
    if trainer is not None and trainer.view.state is RunState.FAILED:
        st.error(f"The last run failed: {trainer.view.error} (pick “{LIVE}” in the sidebar to see its curves.)")
    elif trainer is not None:
        st.info(f"The last run has {trainer.view.state.value}: pick “{LIVE}” in the sidebar to see and save it.")
    st.caption(f"Saved after {shown.epoch} epochs. {shown.command}".strip())
    run_panel.draw(shown)
    st.subheader("Download")
    exports.download_row(shown, shown.label)
else:
    st.info("No run yet: pick a preset above and press **Start training**. The `tiny` preset trains in seconds.")
if not live:
    st.fragment(watch_for_a_run, run_every=WATCH_SECONDS)(trainer.run_id if trainer is not None else None)


DELETE_NOTICE = "train_delete_notice"  # the delete section's messages show in that section


def delete_checkpoint() -> None:
    """Callback of Delete: it runs before the sidebar is drawn, so the picker no longer offers the file."""
    name = st.session_state.get("train_delete_name")
    if not auth.can_control() or name is None:
        return
    if not st.session_state.get("train_delete_sure"):
        say("warning", f"Tick “Yes, delete it for good” to delete “{md(name)}”.", DELETE_NOTICE)
        return
    try:
        state.lab().delete(name)
    except CheckpointError as exc:
        say("error", str(exc), DELETE_NOTICE)
        return
    st.session_state["train_delete_sure"] = False
    say("success", f"Deleted “{md(name)}”. Browsers that show it say so, and offer the other models.", DELETE_NOTICE)


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
