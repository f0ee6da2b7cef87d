"""A browser that leaves a page must not be sent back to it by that page's late fragment rerun.

Replays the race behind the classroom soak's blank pages (ui/rerun_guard.py) on the real
server, speaking Streamlit's own websocket protocol (its BackMsg / ForwardMsg protobufs) the way
the browser does, so that the two requests arrive in the order the race needs every time.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.app_session import AppSession
from websockets.sync.client import connect

from ui.rerun_guard import install, stale


def rerun(ws, **client_state) -> None:
    msg = BackMsg()
    for name, value in client_state.items():
        setattr(msg.rerun_script, name, value)
    ws.send(msg.SerializeToString())


def receive(ws, seconds: float, until: str | None = None) -> list[ForwardMsg]:
    """Messages for `seconds`, or up to and including the first of type `until`."""
    msgs, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            raw = ws.recv(timeout=left)
        except TimeoutError:
            break
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        msgs.append(msg)
        if msg.WhichOneof("type") == until:
            break
    return msgs


def receive_run(ws, seconds: float) -> list[ForwardMsg]:
    """Messages up to the end of the first whole script run that starts after the call (a `new_session`,
    then its `script_finished`). On a session that another browser also holds, the first messages can be
    the tail of that browser's run, and a run can be cut short by its next rerun: both are read past."""
    early = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
    msgs, started, end = [], False, time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        msgs += receive(ws, left, until="script_finished")
        started = started or any(m.WhichOneof("type") == "new_session" for m in msgs)
        last = msgs[-1] if msgs else None
        if last is None or last.WhichOneof("type") != "script_finished":
            break  # the time is up
        if started and last.script_finished != early:
            break
    return msgs


def of_type(msgs: list[ForwardMsg], kind: str) -> list:
    return [getattr(m, kind) for m in msgs if m.WhichOneof("type") == kind]


def fragment_deltas(msgs: list[ForwardMsg], fragment_id: str) -> int:
    return sum(m.WhichOneof("type") == "delta" and m.delta.fragment_id == fragment_id for m in msgs)


def test_a_late_fragment_rerun_of_the_page_left_is_dropped(app_server):
    with connect(app_server.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"]) as ws:
        rerun(ws, page_name="Theory")  # opened by its URL, as a browser does
        msgs = receive(ws, 120, until="script_finished")
        nav = of_type(msgs, "navigation")[0]
        pages = {p.page_name: p.page_script_hash for p in nav.app_pages}
        theory = nav.page_script_hash
        assert theory == pages["Theory"]
        fragment = next(m.delta.fragment_id for m in msgs if m.WhichOneof("type") == "delta" and m.delta.fragment_id)

        # The page's own fragment reruns still run (a Theory widget moved, say).
        rerun(ws, page_script_hash=theory, fragment_id=fragment)
        msgs = receive(ws, 60, until="script_finished")
        assert [s.page_script_hash for s in of_type(msgs, "new_session")] == [theory]
        assert fragment_deltas(msgs, fragment) > 0

        # The race: a page change, then the old page's fragment rerun a moment later.
        rerun(ws, page_script_hash=pages["Generate"])
        rerun(ws, page_script_hash=theory, fragment_id=fragment)
        msgs = receive(ws, 60, until="script_finished") + receive(ws, 3)  # the late run would follow
        runs = [s.page_script_hash for s in of_type(msgs, "new_session")]
        assert runs == [pages["Generate"]], f"runs announced after the page change: {runs}"
        assert fragment_deltas(msgs, fragment) == 0
        assert [n.page_script_hash for n in of_type(msgs, "navigation")] == [pages["Generate"]]


def test_only_fragment_reruns_for_another_known_page_are_stale():
    on = SimpleNamespace(_vae_explorer_page="page-a")
    assert stale(on, "frag", "page-b")
    assert not stale(on, "frag", "page-a")
    assert not stale(on, "", "page-b")  # a full run: the browser asks for another page
    assert not stale(on, "frag", "")  # no page stamped: let Streamlit decide
    assert not stale(SimpleNamespace(), "frag", "page-b")  # page not known yet (opened by URL, first run)


def test_the_page_follows_the_navigation_sent_to_the_browser():
    """`st.switch_page` changes the page on the server's side: the browser learns it from the
    navigation message, and so does the guard (the fragments of the new page keep working)."""
    install()
    sent: list[ForwardMsg] = []
    queue = SimpleNamespace(enqueue=sent.append)
    session = SimpleNamespace(_vae_explorer_page="page-a", _browser_queue=queue, _message_enqueued_callback=None)
    msg = ForwardMsg()
    msg.navigation.page_script_hash = "page-b"
    AppSession._enqueue_forward_msg(session, msg)
    assert sent == [msg]  # still sent on
    assert not stale(session, "frag", "page-b") and stale(session, "frag", "page-a")
