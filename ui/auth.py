"""Instructor control: with a passcode configured, only sessions that entered it may change the shared run.

The passcode comes from the environment variable VAE_INSTRUCTOR_PASSCODE or from
`.streamlit/secrets.toml` (`instructor_passcode = "..."`). With none configured (one person on a
laptop) everything is open. Students explore freely either way: generating, projecting and
reconstructing only touch their own session.

The unlock is bound to the browser's connection, not only to its session: Streamlit reattaches any
websocket that presents an existing session's id to that session (its `session_state` and all), so
a session id that leaked (it is in upload URLs, for one) would otherwise hand over the instructor's
controls. Unlocking stores a random token both in `session_state` and beside the connection's own
server object (`_tokens`); a connection that took the session over has no token, so it is locked,
and the instructor's own browser after a reconnect (a network blip) simply asks for the passcode again.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
import weakref
from pathlib import Path

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.session_manager import SessionClient

SESSION_KEY = "auth_instructor"
# Wrong passcodes allowed from one computer (IP address) in a window of seconds: a student cannot
# script guesses (a 4-digit code would take days), and no one can lock the teacher's computer out.
WRONG_LIMIT, WRONG_WINDOW = 5, 60.0
_wrong: dict[str, list[float]] = {}  # address -> times of its recent wrong passcodes, for the whole server
_wrong_lock = threading.Lock()
_tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> its instructor token
BAD_SECRET = (
    'instructor_passcode in secrets.toml must be a passcode in quotes (e.g. instructor_passcode = "choose-one"), '
    "not {value!r}"
)


def configuration() -> tuple[str | None, str | None]:
    """(the passcode or None, a problem or None). A secrets file that exists but cannot be read is a
    problem, not "no passcode": the teacher meant to lock the run, so it stays locked for everyone
    (the passcode is unknown) until the file is fixed."""
    env = os.environ.get("VAE_INSTRUCTOR_PASSCODE")
    if env:
        return env, None
    try:
        value = st.secrets.get("instructor_passcode")
    except FileNotFoundError as exc:  # Streamlit's StreamlitSecretNotFoundError: no file, or an unparsable one
        if any(Path(f).is_file() for f in st.config.get_option("secrets.files")):
            return None, str(exc)
        return None, None
    if value is None:
        return None, None
    if not isinstance(value, str) or not value.strip():  # 0, false, "": meant as a lock, not as "open"
        return None, BAD_SECRET.format(value=value)
    return value, None


def _connection() -> object | None:
    """The server's object for this browser's websocket connection; None outside a server (AppTest's
    runtime hands out a new mock each run: there are no connections to tell apart there)."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    client = Runtime.instance().get_client(ctx.session_id)
    return client if SessionClient in type(client).__mro__ else None


def unlocked(token: object, connection: object | None) -> bool:
    """Whether a session holding `token` is the instructor's over `connection` (see the module docstring)."""
    if not isinstance(token, str) or not token:
        return False
    if connection is None:  # AppTest: no connections to tell apart
        return True
    return hmac.compare_digest(_tokens.get(connection, ""), token)


def can_control() -> bool:
    """True when this session may start/pause/stop training, change the config, save or delete."""
    code, problem = configuration()
    if problem:
        return False
    return code is None or unlocked(st.session_state.get(SESSION_KEY), _connection())


def sidebar_login() -> None:
    """The instructor's unlock box (only shown when a passcode is configured)."""
    code, problem = configuration()
    if problem:
        st.error(
            f"Instructor controls are locked: {problem}. Fix the file (or set VAE_INSTRUCTOR_PASSCODE) and "
            "restart the server.",
            icon="🔒",
        )
        return
    if code is None:
        return
    if can_control():
        st.caption("🔓 Instructor controls unlocked in this browser.")
        if st.button("Lock", key="auth_lock"):
            st.session_state[SESSION_KEY] = False
            st.rerun()
        return
    with st.expander("🔒 Instructor", expanded=False), st.form("auth_form", border=False):  # a form: Enter unlocks
        entered = st.text_input("Passcode", type="password", key="auth_passcode")
        if st.form_submit_button("Unlock", key="auth_unlock"):
            address, now = _address(), time.monotonic()
            with _wrong_lock:
                recent = _wrong[address] = [t for t in _wrong.get(address, []) if now - t < WRONG_WINDOW]
            if len(recent) >= WRONG_LIMIT:
                wait = WRONG_WINDOW - (now - recent[0])
                st.error(f"Too many wrong passcodes from this computer: try again in {wait:.0f} s.")
            elif hmac.compare_digest(entered.encode(), code.encode()):
                token = secrets.token_hex(16)
                if (connection := _connection()) is not None:
                    _tokens[connection] = token
                st.session_state[SESSION_KEY] = token
                st.rerun()
            else:
                with _wrong_lock:
                    _wrong[address].append(now)
                st.error("Wrong passcode.")


def _address() -> str:
    """The browser's computer as the server sees it (a proxy in front of the server shows as one)."""
    return st.context.ip_address or "unknown"


def require_control(action: str) -> bool:
    """Show why `action` is locked and return False, or return True when allowed."""
    if can_control():
        return True
    st.info(f"Only the instructor can {action}. Everything else here is yours to explore.", icon="🔒")
    return False
