"""Client-paced refresh: the live panel asks for its next run only after the browser has drawn the last.

`st.fragment(run_every=1)` sets a timer in the browser that asks the server for a fragment run every
second whether or not the browser has drawn the previous one. A browser slower than that (a weak
laptop, a tab starved of CPU) falls further and further behind: in a headless Chromium slowed 25
times, the Train page showed a step count 3 s old after 5 s and 30 s old after 3 minutes, and its
script state stayed "running" (bench/classroom_soak.py counted those tabs as failing).

`pace(key, every)` draws an invisible component (`components.v1`, `frontend/index.html`, no build
step). Each run hands it a new token; the iframe gets the token once the browser has processed the
run that carries it, waits `every` seconds and sends the token back as its value, which reruns the
enclosing fragment (a widget inside a fragment reruns only the fragment). So a browser never has
more than one refresh in flight: a fast one refreshes every `every` seconds, a slow one as often as
it can draw. Pages keep a slow `run_every` on the fragment as a safety net should the iframe not load.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"


def pace(key: str, every: float) -> None:
    """Rerun the enclosing fragment `every` seconds after this browser has drawn the current run."""
    count = f"{key}__token"
    st.session_state[count] = st.session_state.get(count, 0) + 1
    pacer = components.declare_component("pacer", path=str(FRONTEND_DIR))
    pacer(token=st.session_state[count], every=every, key=key, default=None)
