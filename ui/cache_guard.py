"""Refuse Streamlit's "Clear caches" from a student when the instructor has set a passcode.

Any browser can send `BackMsg(clear_cache=True)` (the menu that offers it is hidden, but the message
is not): Streamlit then empties `st.cache_data` and `st.cache_resource` for the whole server, and
another student's t-SNE went from 0.4 s to 36 s. `install()` wraps `AppSession`'s handler of that
message so that, with a passcode configured, only the session unlocked by the instructor (over its
own connection: see `ui.auth`) may clear them; the others' requests are dropped and logged. Without a
passcode (one person on a laptop) it works as Streamlit ships it. `tests/test_auth.py` sends the message.
"""

from __future__ import annotations

import threading

from streamlit.logger import get_logger
from streamlit.runtime import Runtime
from streamlit.runtime.app_session import AppSession

from ui import auth

LOG = get_logger(__name__)
REFUSED = "refused a request to clear the caches"
_INSTALL = threading.Lock()


def install() -> None:
    """Wrap AppSession once per process (every page calls this through `layout.page`)."""
    with _INSTALL:
        if not getattr(AppSession, "_vae_cache_guard", False):
            clear = AppSession._handle_clear_cache_request

            def guarded(self: AppSession) -> None:
                if allowed(self):
                    clear(self)
                else:
                    LOG.info("%s from session %s (not the instructor's)", REFUSED, self.id)

            AppSession._handle_clear_cache_request = guarded
            AppSession._vae_cache_guard = True


def allowed(session: AppSession) -> bool:
    """Whether `session` may clear the server's caches: always without a passcode, else only the
    instructor's session over the connection it unlocked on."""
    code, problem = auth.configuration()
    if code is None and problem is None:
        return True
    try:
        token = session.session_state[auth.SESSION_KEY]
    except KeyError:
        return False
    connection = Runtime.instance().get_client(session.id) if Runtime.exists() else None
    return connection is not None and auth.unlocked(token, connection)
