"""Instructor control: with a passcode configured, only sessions that entered it may change the shared run.

The passcode comes from the environment variable VAE_INSTRUCTOR_PASSCODE or from
`.streamlit/secrets.toml` (`instructor_passcode = "..."`). With none configured (one person on a
laptop) everything is open. Students explore freely either way: generating, projecting and
reconstructing only touch their own session.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

SESSION_KEY = "auth_instructor"


def passcode() -> str | None:
    env = os.environ.get("VAE_INSTRUCTOR_PASSCODE")
    if env:
        return env
    try:
        value = st.secrets.get("instructor_passcode")
    except Exception:  # noqa: BLE001 - no secrets.toml, or an unreadable one: treat as not configured
        return None
    return str(value) if value else None


def can_control() -> bool:
    """True when this session may start/pause/stop training, change the config, save or delete."""
    return passcode() is None or bool(st.session_state.get(SESSION_KEY))


def sidebar_login() -> None:
    """The instructor's unlock box (only shown when a passcode is configured)."""
    code = passcode()
    if code is None:
        return
    if st.session_state.get(SESSION_KEY):
        st.caption("🔓 Instructor controls unlocked in this browser.")
        if st.button("Lock", key="auth_lock"):
            st.session_state[SESSION_KEY] = False
            st.rerun()
        return
    with st.expander("🔒 Instructor", expanded=False):
        entered = st.text_input("Passcode", type="password", key="auth_passcode")
        if st.button("Unlock", key="auth_unlock"):
            if hmac.compare_digest(entered.encode(), code.encode()):
                st.session_state[SESSION_KEY] = True
                st.rerun()
            else:
                st.error("Wrong passcode.")


def require_control(action: str) -> bool:
    """Show why `action` is locked and return False, or return True when allowed."""
    if can_control():
        return True
    st.info(f"Only the instructor can {action}. Everything else here is yours to explore.", icon="🔒")
    return False
