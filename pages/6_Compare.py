"""Compare: two to four models side by side, on the same test images, the same z and the same axes."""

import streamlit as st

from ui import compare, layout, lessons
from ui.words import md, words
from vae.checkpoint import CheckpointError

PICK, QUESTION, DIGIT, SEED = "cmp_models", "cmp_question", "cmp_digit", "cmp_seed"
KEPT = "cmp_kept"  # the picked models, kept across pages (widget state is not)

layout.page(
    "Compare",
    "Two to four models side by side: the same test images, the same z, the same axes.",
    picker=False,  # this page picks its own models (below, in the sidebar)
)

try:
    options = compare.choices()
except CheckpointError as exc:  # the kit's folder cannot be read
    st.error(str(exc))
    options = []
questions = lessons.available(options)


def ask() -> None:
    """A question picked: its kit models fill the picker. (A second click on the picked one would
    unpick it: it stays picked while its models are on show.)"""
    q = st.session_state.get(QUESTION)
    if q in questions:
        st.session_state[PICK] = questions[q]
    else:
        st.session_state[QUESTION] = lessons.question_of(st.session_state.get(PICK, []), questions)


def picked_by_hand() -> None:
    """The picker edited: the question whose models these are, if any, stays picked."""
    st.session_state[QUESTION] = lessons.question_of(st.session_state.get(PICK, []), questions)


# A model deleted or unreadable since this browser picked it drops out, with a message, and leaves the
# picker (which refuses values it does not offer) before the picker is drawn.
chosen = st.session_state.get(PICK, st.session_state.get(KEPT))
if chosen is None:  # a first visit: the first question
    chosen = next(iter(questions.values()), options[:2])
if QUESTION not in st.session_state:
    st.session_state[QUESTION] = lessons.question_of(chosen, questions)
# Each model once, at most MAX_MODELS (more, forged past the picker's limit, broke this page for good).
chosen = list(dict.fromkeys(c for c in chosen if isinstance(c, str)))[: compare.MAX_MODELS]
items, dropped = compare.entries([c for c in chosen if c in options])
gone = [
    f"“{md(compare.label(c))}” dropped out of the comparison: it is no longer on this server."
    for c in chosen
    if c not in options
]
dropped = gone + dropped
st.session_state[PICK] = st.session_state[KEPT] = [e.choice for e in items]
if dropped:
    st.session_state[QUESTION] = lessons.question_of(st.session_state[PICK], questions)
vocab = words(items[0].run.dataset_name if items else "mnist")

with st.sidebar:
    st.subheader("Compare")
    if questions:
        st.pills(
            "A question, answered by the lesson kit",
            list(questions),
            key=QUESTION,
            format_func=lessons.title,
            on_change=ask,
        )
    row = st.container(horizontal=True, vertical_alignment="bottom")
    digit = row.selectbox("Each row draws", range(10), key=DIGIT, format_func=lambda d: vocab.names[d], width=120)
    if row.button("🎲 Other z", key="cmp_other_z", help="Draw the rows from new random z (the same for every model)."):
        st.session_state[SEED] = st.session_state.get(SEED, 0) + 1
    st.multiselect(
        f"Models (2 to {compare.MAX_MODELS})",
        options,
        key=PICK,
        format_func=compare.label,
        max_selections=compare.MAX_MODELS,
        on_change=picked_by_hand,
        help="Saved checkpoints, the live run and the lesson kit (`checkpoints/kit/`, made by `python -m vae kit`).",
    )

for message in dropped:
    st.warning(message, icon="🗑️")
if not items:
    st.info("Pick two to four models in the sidebar, or one of the questions.")
    st.stop()

rows = compare.same_z_rows(items, digit, st.session_state.get(SEED, 0))
st.markdown(lessons.explain(st.session_state.get(QUESTION), items, rows, digit))
st.markdown(compare.table_html(items, compare.notes(items, digit)), unsafe_allow_html=True)

CHART = {"displayModeBar": False}
top_left, top_right = st.columns(2, gap="small")
top_left.plotly_chart(compare.curves_figure(items), key="cmp_curves", config=CHART)
with top_right:
    st.caption(
        f"**The same {compare.N_STYLES} z**, asked for {vocab.names[digit]}: a row per model", help=lessons.SAME_Z_HELP
    )
    st.image(compare.same_z_png(items, rows), width=compare.same_z_width(len(items)))
low_left, low_right = st.columns(2, gap="small")
low_left.plotly_chart(compare.kl_figure(items), key="cmp_kl", config=CHART)
low_right.plotly_chart(compare.maps_figure(items), key="cmp_maps", config=CHART)
for e in items:
    if e.problem:
        st.caption(f"“{md(e.name)}”: no scores, no map: {e.problem}")
