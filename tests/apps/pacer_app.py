"""A page whose fragment is refreshed by `pace` alone (no `run_every`), for tests/test_pacer.py.

It shows how many times the whole page and the fragment have run in this session, and the server's
time of each fragment run. Run: `streamlit run tests/apps/pacer_app.py`.
"""

from __future__ import annotations

import json
import time

import streamlit as st

from ui.pacer import pace

EVERY = float(st.query_params.get("every", "0.2"))
st.session_state["page_runs"] = st.session_state.get("page_runs", 0) + 1
st.markdown(f"page runs: {st.session_state['page_runs']}")


@st.fragment
def panel() -> None:
    times = st.session_state.setdefault("fragment_times", [])
    times.append(time.monotonic())
    st.markdown(f"fragment runs: {len(times)}")
    st.code(json.dumps(times[-50:]), language=None)
    if len(times) < int(st.query_params.get("stop_after", "1000000")):
        pace("pacer", EVERY)


panel()
