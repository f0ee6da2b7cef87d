"""Drop a fragment's rerun that a browser sends for the page it has just left.

The race (Streamlit 1.67, seen as blank pages and "Bad delta path index" errors in the classroom
soak; `tests/test_rerun_guard.py` replays it): a student on the Train page clicks another page in
the sidebar while the live panel's pacer (`ui/pacer`) is about to ask for its next run. The
browser sends the page change, then, a few milliseconds later, the pacer's fragment rerun stamped
with the page it still believes it is on. The server queues that fragment run behind the new page's
run and then runs it, announcing a run of the *old* page. The browser, now on the new page, clears
everything for the "page change" (the sidebar and its links included) and, because the old page's
fragment no longer exists on the server, nothing is drawn again: a blank page until reload. When the
new page's run was cut short, the old fragment still exists and draws into a tree that no longer has
its place: Streamlit's front end throws "Bad delta path index" and drops the connection.

A browser's rerun request carries the page it is for. `install()` wraps `AppSession` so that each
session remembers the page it was last sent to (the `navigation` message the browser reads its page
from, e.g. after `st.switch_page`) or last asked for (a page change from the browser), and refuses a
fragment rerun stamped with any other page. Streamlit already drops fragment reruns for fragments
it no longer has (`AppSession.request_rerun`); this drops the ones that are merely not yet gone.
"""

from __future__ import annotations

import threading

from streamlit.logger import get_logger
from streamlit.runtime.app_session import AppSession

LOG = get_logger(__name__)
_PAGE = "_vae_explorer_page"  # attribute on each AppSession: its browser's page hash ("" unknown)
DROPPED = "dropped a fragment rerun"  # the start of the log line for each drop that mattered
_INSTALL = threading.Lock()  # two sessions' first runs may call install() at once


def install() -> None:
    """Wrap AppSession once per process (every page calls this through `layout.page`; later calls do nothing)."""
    with _INSTALL:
        if not getattr(AppSession, "_vae_rerun_guard", False):
            _wrap()


def _wrap() -> None:
    request_rerun, enqueue = AppSession.request_rerun, AppSession._enqueue_forward_msg

    def guarded_request_rerun(self: AppSession, client_state) -> None:
        if client_state is not None and stale(self, client_state.fragment_id, client_state.page_script_hash):
            if self.has_fragment(client_state.fragment_id):  # else Streamlit would drop it too: not logged
                LOG.info("%s for page %s, which the browser has left", DROPPED, client_state.page_script_hash)
            return
        if client_state is not None and not client_state.fragment_id:
            # A full run asked for by the browser. A page opened by its URL comes with an empty
            # hash (only a page name): unknown until the run's navigation message names it.
            setattr(self, _PAGE, client_state.page_script_hash)
        request_rerun(self, client_state)

    def tracking_enqueue(self: AppSession, msg) -> None:
        if msg.WhichOneof("type") == "navigation" and msg.navigation.page_script_hash:
            setattr(self, _PAGE, msg.navigation.page_script_hash)
        enqueue(self, msg)

    AppSession.request_rerun = guarded_request_rerun
    AppSession._enqueue_forward_msg = tracking_enqueue
    AppSession._vae_rerun_guard = True


def stale(session: AppSession, fragment_id: str, page_script_hash: str) -> bool:
    """True for a fragment rerun stamped with a page other than the one the session's browser is on."""
    page = getattr(session, _PAGE, "")
    return bool(fragment_id and page and page_script_hash and page_script_hash != page)


def drops_in(server_log: str) -> int:
    """How many drops that mattered a server's log records (the benchmarks and the short soak print it)."""
    return server_log.count(DROPPED)
