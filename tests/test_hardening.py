"""Classroom hardening (issue 18): what a class, a crafted file or a full disk did to the server, each
with the fix's test. The websocket-level ones speak Streamlit's protocol as tests/test_rerun_guard.py does."""

from __future__ import annotations

import gc
import io
import os
import struct
import time
import weakref
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from vae.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vae.config import preset
from vae.lab import Lab
from vae.run import RunState

FULL_DISK = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4288 vs 4177")


def _full_disk_for(folder: Path):
    """torch.save as it behaves on a full disk, for files written into `folder`."""
    real = torch.save

    def save(obj, f, *args, **kwargs):
        where = os.readlink(f"/proc/self/fd/{f.fileno()}") if hasattr(f, "fileno") else str(f)
        if where.startswith(str(folder)):
            raise FULL_DISK
        return real(obj, f, *args, **kwargs)

    return save


# --- 1. a full disk ---------------------------------------------------------------------------------


def test_a_full_disk_is_a_checkpoint_error_and_keeps_the_old_file(tmp_path, monkeypatch, tiny_checkpoint):
    """On ENOSPC torch.save raises RuntimeError, not OSError: Save showed a traceback."""
    run = load_checkpoint(tiny_checkpoint)
    path = save_checkpoint(tmp_path / "x.pt", run)
    before = path.read_bytes()
    monkeypatch.setattr(torch, "save", _full_disk_for(tmp_path))
    with pytest.raises(CheckpointError, match="Could not write .*writing stopped part-way"):
        save_checkpoint(path, run)
    assert path.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))


def test_a_full_disk_leaves_the_live_run_training_and_save_says_why(tmp_path, monkeypatch, mnist):
    lab = Lab(tmp_path / "checkpoints", tmp_path / "data")
    lab._datasets["mnist"] = mnist
    monkeypatch.setattr(torch, "save", _full_disk_for(tmp_path / "checkpoints"))
    trainer = lab.start(preset("tiny").replace(epochs=2))
    assert trainer.join(120) and trainer.state is RunState.FINISHED  # the autosave failed; the run went on
    assert lab.autosave_error.startswith("Epoch 2 could not be autosaved: Could not write")
    with pytest.raises(CheckpointError, match="Could not write"):
        lab.save("mine")


def test_the_cli_rescues_a_run_the_full_disk_would_lose(tmp_path, monkeypatch, capsys):
    from vae import cli

    out = tmp_path / "full" / "t.pt"
    out.parent.mkdir()
    real_check = cli.check_writable
    monkeypatch.setattr(cli, "check_writable", lambda p: real_check(p))  # the folder is writable at the start...
    monkeypatch.setattr(torch, "save", _full_disk_for(out.parent))  # ...and full at the end
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    args = ["train", "--preset", "tiny", "--epochs", "1", "--data-dir", tmp_path / "data", "--out", out]
    assert cli.main(list(map(str, args))) == 0
    (rescued,) = (tmp_path / "tmp").glob("t-rescued-*.pt")
    assert load_checkpoint(rescued).epoch == 1 and "The run was saved to" in capsys.readouterr().err


# --- 2. the instructor's session cannot be taken over -------------------------------------------------


def test_an_unlock_is_bound_to_the_connection_it_was_entered_on():
    from ui import auth

    class Connection:
        pass

    mine, theirs = Connection(), Connection()
    auth._tokens[mine] = "t0ken"
    assert auth.unlocked("t0ken", mine)
    assert not auth.unlocked("t0ken", theirs)  # the same session over another websocket: locked
    assert not auth.unlocked("wrong", mine) and not auth.unlocked(True, mine) and not auth.unlocked(None, mine)


def test_an_upload_that_is_not_a_picture_never_echoes_the_upload_object():
    """PIL's error text held the UploadedFile's repr, whose upload URL holds the session id."""
    from vae.preprocess import PictureError, upload_to_mnist

    class UploadedFile(io.BytesIO):
        def __repr__(self) -> str:
            return "UploadedFile(upload_url='/_stcore/upload_file/SESSION-ID/file')"

    with pytest.raises(PictureError) as err:
        upload_to_mnist(UploadedFile(b"this is a text file named x.png"))
    assert "SESSION-ID" not in str(err.value) and "PNG or a JPEG" in str(err.value)


def start_buttons(msgs) -> list:
    """The Start buttons drawn in `msgs` (ForwardMsgs)."""
    return [m.delta.new_element.button for m in msgs if m.WhichOneof("type") == "delta"
            and m.delta.new_element.WhichOneof("type") == "button"
            and m.delta.new_element.button.label.endswith("Start training")]  # fmt: skip


@pytest.mark.browser
def test_a_session_taken_over_by_its_id_is_not_the_instructor(app_env, browser):
    """The attack: the instructor unlocks in a browser; a script that learnt the session id connects
    with it (Streamlit reattaches the session) and presses Start. It must find the controls locked."""
    from playwright.sync_api import expect
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    from bench.harness import StreamlitServer, wait_for_app
    from tests.test_rerun_guard import receive_run

    with StreamlitServer("explorer_app.py", env={**app_env, "VAE_INSTRUCTOR_PASSCODE": "4711"}) as server:
        session_ids = []

        def frames(ws) -> None:
            def seen(payload) -> None:
                if isinstance(payload, bytes):
                    msg = ForwardMsg()
                    msg.ParseFromString(payload)
                    if msg.WhichOneof("type") == "new_session":
                        session_ids.append(msg.new_session.initialize.session_id)

            ws.on("framereceived", seen)

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("websocket", frames)
        page.goto(server.url + "/Train")
        wait_for_app(page)
        page.get_by_text("🔒 Instructor").click()
        page.get_by_label("Passcode").fill("4711")
        page.get_by_label("Passcode").press("Enter")
        page.get_by_text("Instructor controls unlocked in this browser").wait_for(timeout=60_000)
        expect(page.get_by_role("button", name="Start training", disabled=False)).to_have_count(1, timeout=60_000)
        session_id = session_ids[-1]
        # The tab's own run, if one is still going when the script attaches, ends on the script's
        # connection (CI once read such a run: one element, then stopped). Wait until the tab is idle,
        # keep its reconnects from taking the session back (a socket that never reaches the server),
        # and ask again if the run read has no controls.
        wait_for_app(page)
        page.route_web_socket("**/_stcore/stream", lambda ws: None)
        url = server.url.replace("http", "ws", 1) + "/_stcore/stream"
        with connect(url, subprotocols=["streamlit", "no-xsrf-token", session_id], origin=server.url) as ws:
            msg = BackMsg()
            msg.rerun_script.page_name = "Train"
            msgs = []
            for _ in range(3):  # a run stopped early (the session handed to another connection) has no controls
                ws.send(msg.SerializeToString())
                msgs += receive_run(ws, 120)
                if starts := start_buttons(msgs):
                    break
        texts = " ".join(str(m.delta) for m in msgs if m.WhichOneof("type") == "delta")
        kinds = [(k, getattr(m, k)) if k == "script_finished" else k for m in msgs if (k := m.WhichOneof("type"))]
        assert starts and all(b.disabled for b in starts), (starts, kinds)  # the session, taken over: locked
        assert "Only the instructor can" in texts
        page.close()


# --- 4. a picture bomb ------------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height (its pixels never decoded here): what a 757 KB bomb looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded():
    from vae.preprocess import PictureError, upload_to_mnist

    started = time.perf_counter()
    with pytest.raises(PictureError, match=r"13,000 x 13,000 pixels \(169 megapixels\): use a picture under 25"):
        upload_to_mnist(io.BytesIO(_png_header_only(13_000, 13_000)))
    assert time.perf_counter() - started < 1.0  # never decoded (it took 11 s and 1.3 GB)


# --- 5, 6, 7, 9: the Lab ----------------------------------------------------------------------------


def test_the_autosave_on_offer_is_read_once_per_version_and_only_its_header(tmp_path, monkeypatch, tiny_checkpoint):
    import vae.lab

    lab = Lab(tmp_path, tmp_path / "data")
    run = load_checkpoint(tiny_checkpoint)
    save_checkpoint(lab.autosave_path, run.but(config=run.config.replace(epochs=9)))
    reads = []
    real = vae.lab.read_summary
    monkeypatch.setattr(vae.lab, "read_summary", lambda p: reads.append(p) or real(p))
    monkeypatch.setattr(vae.lab, "load_checkpoint", lambda p: pytest.fail("the whole autosave was loaded"))
    for _ in range(5):  # five renders of the Train page, in any browsers
        assert lab.autosave_to_offer()["epoch"] == 3
    assert len(reads) == 1
    time.sleep(0.01)
    save_checkpoint(lab.autosave_path, run.but(config=run.config.replace(epochs=9), epoch=4))
    assert lab.autosave_to_offer()["epoch"] == 4 and len(reads) == 2  # a new version is read again


def test_a_replaced_run_is_freed_without_waiting_for_a_garbage_collection(tmp_path, mnist):
    """The server runs without Streamlit's collection after each page: a run held in a reference
    cycle kept its memory (1.6 GB for a big model) for minutes after it was replaced."""
    lab = Lab(tmp_path / "checkpoints", tmp_path / "data")
    lab._datasets["mnist"] = mnist
    old = lab.start(preset("tiny").replace(epochs=1))
    assert old.join(60)
    gone = weakref.ref(old)
    view = weakref.ref(old.view.model)
    del old
    gc.disable()
    try:
        lab.start(preset("tiny").replace(epochs=1)).join(60)
        assert gone() is None and view() is None
    finally:
        gc.enable()


def test_stale_temporary_files_are_swept_at_start_up_and_fresh_ones_kept(tmp_path):
    (tmp_path / "autosave").mkdir()
    old = [tmp_path / ".a.pt.x1.tmp", tmp_path / "autosave" / ".live-run.pt.x2.tmp"]
    fresh = tmp_path / ".b.pt.x3.tmp"
    for path in [*old, fresh]:
        path.write_bytes(b"half a checkpoint")
    for path in old:
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    Lab(tmp_path, tmp_path / "data")
    assert not any(p.exists() for p in old) and fresh.exists()  # fresh: maybe another writer's, still writing


# --- 10. clear caches --------------------------------------------------------------------------------


def test_only_the_instructor_may_clear_the_servers_caches(monkeypatch):
    from types import SimpleNamespace

    from ui import auth, cache_guard

    class Connection:
        pass

    connection = Connection()
    auth._tokens[connection] = "t0ken"
    monkeypatch.setattr(cache_guard.Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(
        cache_guard.Runtime, "instance", staticmethod(lambda: SimpleNamespace(get_client=lambda _: connection))
    )
    student = SimpleNamespace(id="s", session_state={})
    teacher = SimpleNamespace(id="t", session_state={auth.SESSION_KEY: "t0ken"})
    monkeypatch.delenv("VAE_INSTRUCTOR_PASSCODE", raising=False)
    assert cache_guard.allowed(student)  # no passcode: one person on a laptop
    monkeypatch.setenv("VAE_INSTRUCTOR_PASSCODE", "4711")
    assert not cache_guard.allowed(student) and cache_guard.allowed(teacher)


@pytest.mark.browser
def test_a_students_clear_cache_message_is_refused(app_env):
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from websockets.sync.client import connect

    from bench.harness import StreamlitServer
    from tests.test_rerun_guard import receive
    from ui.cache_guard import REFUSED

    with StreamlitServer("explorer_app.py", env={**app_env, "VAE_INSTRUCTOR_PASSCODE": "4711"}) as server:
        url = server.url.replace("http", "ws", 1) + "/_stcore/stream"
        with connect(url, subprotocols=["streamlit"], origin=server.url) as ws:
            msg = BackMsg()
            msg.rerun_script.page_name = "Home"
            ws.send(msg.SerializeToString())
            receive(ws, 120, until="script_finished")
            ws.send(BackMsg(clear_cache=True).SerializeToString())
            receive(ws, 2)
        assert REFUSED in server.log()


# --- 11, 12, 13, 14 ---------------------------------------------------------------------------------


def test_a_checkpoint_that_cannot_be_read_is_read_once_not_on_every_render(
    app_env, fresh_streamlit_caches, monkeypatch
):
    import ui.state

    bad = Path(app_env["VAE_CHECKPOINT_DIR"]) / "crafted.pt"
    bad.write_bytes(b"not a checkpoint")
    reads = []
    real = ui.state.load_checkpoint
    monkeypatch.setattr(ui.state, "load_checkpoint", lambda p: reads.append(p) or real(p))
    for _ in range(3):
        with pytest.raises(CheckpointError):
            ui.state.saved("crafted")
    assert len(reads) == 1


@pytest.mark.parametrize("value", ["0", "false", '""', "[1, 2]"])
def test_a_passcode_that_is_not_a_string_locks_with_a_message(
    app_env, fresh_streamlit_caches, tmp_path, monkeypatch, value
):
    """`instructor_passcode = 0` (or false) opened everything without a word."""
    from streamlit.testing.v1 import AppTest

    from tests.helpers import HOME

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"instructor_passcode = {value}\n")
    monkeypatch.delenv("VAE_INSTRUCTOR_PASSCODE", raising=False)
    at = AppTest.from_file(HOME, default_timeout=90)
    at.secrets["instructor_passcode"] = {"0": 0, "false": False, '""': "", "[1, 2]": [1, 2]}[value]
    at.run()
    at.switch_page("pages/1_Train.py").run()
    assert any("must be a passcode in quotes" in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    assert at.button(key="train_start").disabled and not at.exception


def test_names_show_as_they_are_in_markdown():
    from ui.words import md

    assert md("seed-mnist") == "seed-mnist"  # as most names: unchanged
    assert md("**bold** [x](javascript:alert(1))") == "\\*\\*bold\\*\\* \\[x\\](javascript:alert(1))"
    assert md("kit: β 4") == "kit: β 4" and md(":smile:") == "\\:smile:"
    assert "\n" not in md("two\nlines")


@pytest.mark.parametrize(
    "forged",
    [
        {"z": ["abc", None]},
        {"z": [1e308, float("nan"), -float("inf")]},
        {"z": "not a list"},
        "not a dict",
        {"digit_a": "x", "digit_b": 99, "mix": "nan"},
    ],  # fmt: skip
)
def test_forged_canvas_values_become_numbers_in_range(forged):
    from ui.latent_canvas import Z_LIMIT, _clean

    clean = _clean(forged, 3)
    assert len(clean["z"]) == 3 and all(np.isfinite(clean["z"])) and max(map(abs, clean["z"])) <= Z_LIMIT
    assert 0 <= clean["digit_a"] <= 9 and 0 <= clean["digit_b"] <= 9 and 0 <= clean["mix"] <= 1


def test_a_forged_preset_name_fills_nothing(app_env, fresh_streamlit_caches, monkeypatch):
    import streamlit as st

    from ui import state, train_form

    monkeypatch.setattr(st, "session_state", {"train_preset": "no-such-preset"})
    train_form._picked(state.lab())  # a KeyError before
    assert st.session_state == {"train_preset": "no-such-preset"}
