"""The shape every page shares: title, one sentence of purpose, and the sidebar's model picker."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import auth, cache_guard, rerun_guard, rerun_throttle, state, upload_guard
from ui.words import md, words
from vae.data import Dataset, DatasetError
from vae.model import parameter_counts
from vae.run import RunState, RunView


@dataclass(frozen=True)
class PageInfo:
    """One page of the app: its file, its name and icon, and the home page's one line about it
    ("{item}", "{Item}" and "{pick}" are filled in for the model on show)."""

    path: str
    title: str
    icon: str
    blurb: str = ""


# The one list of pages: the router, the sidebar's links and the home page's cards read it.
PAGES = (
    PageInfo("pages/0_Home.py", "Home", "🧪"),
    PageInfo("pages/1_Train.py", "Train", "🏋️", "Watch a VAE learn, live."),
    PageInfo("pages/2_Generate.py", "Generate", "🎨", "{pick} the style sliders."),
    PageInfo("pages/3_Latent_space.py", "Latent space", "🗺️", "Every test {item} as a point on a map."),
    PageInfo("pages/4_Reconstruct.py", "Reconstruct", "🔍", "{Item}s in, {item}s out; draw your own."),
    PageInfo("pages/5_Theory.py", "Theory", "📖", "Why it works, next to live widgets."),
    PageInfo("pages/6_Compare.py", "Compare", "⚖️", "Models side by side: what does β do?"),
)


def navigation() -> st.navigation:
    """The app's router over PAGES (the sidebar draws its own links: see `sidebar`)."""
    pages = [st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]
    return st.navigation(pages, position="hidden")


def _info(title: str) -> PageInfo:
    """The page called `title`; the home page for any other (it is titled "VAE Explorer")."""
    return next((p for p in PAGES if p.title == title), PAGES[0])


# Streamlit's wide layout keeps 5 rem of padding on each side of the page and 6 rem above it: on a
# 1024x768 projector with the sidebar open that left a 564-px column. 1.5 rem beside, 3 above: 676 px.
PROJECTOR_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; padding-top: 3rem; }
.st-key-train_status { scroll-margin-top: 4rem; }
</style>"""
MODEL_KEY = "model_choice"  # the user's choice, kept across pages (widget state is not)
WIDGET_KEY = "sidebar_model"


def page(title: str, purpose: str, plain: str | None = None, picker: bool = True) -> RunView | None:
    """Set up a page; returns the model it should show (None: nothing to show, message given).

    `purpose` may name the shown model's things: "{item}" (digit / image), "{an_item}" (a digit / an image),
    "{kind}" (digit / class).
    `plain`: the purpose instead, when the model is a plain VAE (no classifier, no {kind} input).
    `picker=False`: no model picker in the sidebar (a page that picks its own models); returns None."""
    rerun_guard.install()  # once per server process; see its docstring
    cache_guard.install()  # likewise
    upload_guard.install()  # likewise
    rerun_throttle.install()  # likewise (after rerun_guard: a kept request is checked when it runs)
    icon = _info(title).icon
    st.set_page_config(page_title=f"{title} · VAE Explorer", page_icon=icon, layout="wide")
    st.html(PROJECTOR_CSS)  # only a style: it takes no room on the page
    shown = sidebar(follow=title != "Train", picker=picker)  # the Train page's live panel redraws itself
    vocab = words(shown.dataset_name if shown is not None else "mnist")
    if plain is not None and shown is not None and not shown.config.conditional:
        purpose = plain
    st.title(f"{icon} {title}")
    # Body text, not a caption: a projector washes captions out.
    st.markdown(purpose.format(item=vocab.item, an_item=vocab.an_item, kind=vocab.kind))
    return shown


def sidebar(follow: bool = True, picker: bool = True) -> RunView | None:
    """The page links, the instructor box and (with `picker`) the model picker; returns the model to
    show. With `follow`, a page drawn from an earlier epoch of the live run offers to redraw at the latest."""
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.title, icon=p.icon)
        st.divider()
        auth.sidebar_login()
        if not picker:
            return None
        st.subheader("Model")
        options = state.choices()
        if not options:
            st.info("No model yet: start a run on the **Train** page (the `tiny` preset takes seconds).")
            return None
        current = st.session_state.get(MODEL_KEY)
        if current not in options:
            gone, current = current, state.default_choice(options)
            if gone is not None:  # deleted (in another browser, say) since this page was drawn
                st.warning(
                    f"“{md(state.label(gone))}” is no longer on this server: showing “{md(state.label(current))}”.",
                    icon="🗑️",
                )
        choice = st.selectbox(
            "Showing",
            options,
            index=options.index(current),
            key=WIDGET_KEY,
            format_func=state.label,
            help="The live run trains in the background for everyone; saved checkpoints never change.",
        )
        st.session_state[MODEL_KEY] = choice
        shown = state.shown(choice)
        if shown is None:
            return None
        describe(shown, follow)
        if follow:  # the Train page shows a live run whatever the picker says
            offer_live_run(shown)
    return shown


def offer_live_run(shown: RunView) -> None:
    """In a classroom the instructor's run trains while students look at a saved model (the picker's
    default): tell them, and take them to it with one click."""
    trainer = state.lab().trainer
    if shown.live or trainer is None or not trainer.view.state.live:
        return
    doing = "training" if trainer.view.state is RunState.RUNNING else "paused"
    st.caption(f"A live run is {doing} on this server; this page shows a saved model.")
    st.button("Show the live run", key="sidebar_show_live", on_click=show, args=(state.LIVE_CHOICE,), width="stretch")


def describe(shown: RunView, follow: bool = True) -> None:
    c = shown.config
    n_train = shown.dataset.get("n_train")  # absent from a checkpoint written by other code
    images = f"{n_train:,} training images" if isinstance(n_train, int) else "training images not recorded"
    where = f"{shown.dataset_name} · {images}"
    if shown.live:
        ticking = shown.state.live
        drawn = (shown.run_id, shown.epoch) if follow else None
        st.fragment(live_status, run_every=2.0 if ticking else None)(drawn)
    else:
        st.markdown(f"**Saved** · trained {shown.epoch} epochs")
    st.caption(where)
    kind = words(shown.dataset_name).kind
    n = sum(parameter_counts(c).values())
    size = f"{n / 1e6:.1f}M weights" if n >= 1e6 else f"{n / 1e3:.0f}k weights"
    st.caption(
        f"z_dim {c.z_dim} · {c.activation} · {c.likelihood} · "
        f"{f'{kind}-conditioned' if c.conditional else 'plain VAE'} · {size}",
        help="Weights: every number training adjusts, in the encoder, the classifier and the decoder.",
    )
    if shown.dataset.get("notice"):
        with st.expander("ℹ️ Trained on the offline MNIST subset"):
            st.caption(shown.dataset["notice"])


STATUS = {RunState.RUNNING: "🟢 training", RunState.PAUSED: "⏸️ paused", RunState.FINISHED: "✅ finished",
          RunState.STOPPED: "⏹️ stopped", RunState.FAILED: "⚠️ failed"}  # fmt: skip


def live_status(drawn: tuple[str, int] | None = None) -> None:
    """The live run's state and epoch; a fragment that refreshes itself while the run is live.

    `drawn`: the run id and epoch of the weights the page was drawn with. The page itself redraws only
    when its user does something (a rerun every few seconds for every student would load the server
    and move pictures under their mouse), so once the run has moved on, or another run has replaced it,
    a button redraws it."""
    trainer = state.lab().trainer
    if trainer is None:
        return
    run = trainer.view
    if drawn is not None and run.run_id != drawn[0]:  # someone started another run: this page shows the old one
        st.markdown(f"**A new live run** ({run.config.z_dim}-dim z) replaced the one this page shows.")
        if st.button("Show the new run", key="sidebar_follow", width="stretch"):
            st.rerun()
        return
    st.markdown(f"**{STATUS.get(run.state, run.state.value)}** · epoch {run.epoch}/{run.config.epochs}")
    if drawn is not None and run.epoch > drawn[1]:
        st.caption(f"This page shows the model after epoch {drawn[1]}.")
        if st.button(f"Update to epoch {run.epoch}", key="sidebar_follow", width="stretch"):
            st.rerun()  # the whole page, with the newest weights


def show(choice: str) -> None:
    """Make the sidebar's picker show `choice` (e.g. the live run after pressing Start).

    Call it from a widget callback: it sets the picker's own widget state, which Streamlit allows
    only before the picker is drawn in a run, and which the browser then displays."""
    st.session_state[MODEL_KEY] = choice
    st.session_state[WIDGET_KEY] = choice


def test_images(shown: RunView) -> tuple[Dataset | None, str | None]:
    """The dataset the shown model was trained on (loaded once per server process), or None and why
    not: a model trained on Fashion-MNIST, say, opened on a machine that has never fetched it."""
    name = shown.dataset_name
    try:
        return state.lab().dataset(name), None
    except DatasetError as exc:
        return None, f"This needs the test images of **{name}**, the data “{md(shown.label)}” was trained on. {exc}"


def need_test_images(shown: RunView) -> Dataset:
    """Stop the page with what to do when the shown model's test images are not on this machine."""
    dataset, problem = test_images(shown)
    if dataset is None:
        st.error(problem)
        st.stop()
    return dataset


def need_model(shown: RunView | None) -> RunView:
    """Stop the page with a friendly message when there is no model to show."""
    if shown is None:
        st.info("Pick a model in the sidebar, or start training on the **Train** page.")
        st.stop()
    return shown
