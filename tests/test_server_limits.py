"""What a class's scripts or crafted files could still take from a shared server, found by a review that
acted as a student with a websocket client, and the limits that now hold: pictures judged by the pixels
they decode to (a JPEG at its decoded size, a drawing at the canvas's), uploads bounded per session and
in all, and reruns from one browser held to a rate."""

from __future__ import annotations

import io
import struct
import zlib

import pytest


def _jpeg_claiming(width: int, height: int, progressive: bool) -> bytes:
    """A small real JPEG whose frame header claims `width` x `height` (PIL reads only the header to open it)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format="JPEG", progressive=progressive)
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")  # marker, length (2), precision (1), H, W
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("width", "height", "progressive", "refused"),
    [
        (13_000, 13_000, True, "a progressive JPEG of 13,000 x 13,000 pixels"),  # all its coefficients: 1.3 GB
        (65_500, 2_047, False, "65,500 x 2,047 pixels"),  # too thin to be decoded at a fraction of its size
        (8_000, 6_000, False, None),  # a phone photo: decoded at a quarter of its size, 3 MP
    ],
)
def test_a_jpeg_is_judged_by_the_pixels_it_would_be_decoded_at(width, height, progressive, refused):
    from vae.preprocess import MAX_PIXELS, PictureError, open_picture

    file = io.BytesIO(_jpeg_claiming(width, height, progressive))
    if refused is None:
        pil = open_picture(file)
        assert pil.width * pil.height <= MAX_PIXELS
    else:
        with pytest.raises(PictureError, match=refused):
            open_picture(file)


def _png_of_zeros(side: int) -> bytes:
    """A real grayscale PNG of side x side black pixels: a few KB of file, side² bytes once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    body = zlib.compress(b"\0" * ((side + 1) * side), 9)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.browser  # a real server, spoken to as a forged browser would
def test_a_forged_drawing_is_refused_before_its_pixels_are_decoded(app_server):
    """The canvas sends its picture as a PNG data URL: a forged one of 13,000 x 13,000 pixels took 2.8 GB to
    decode. Pixels beyond the canvas's own are refused unread; a value that is no picture is ignored."""
    import base64
    import json

    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from websockets.sync.client import connect

    from tests.test_rerun_guard import receive_run

    def send(ws, fragment_id: str = "", **widgets) -> list:
        msg = BackMsg()
        msg.rerun_script.page_name = "Reconstruct"
        msg.rerun_script.fragment_id = fragment_id
        for wid, value in widgets.items():
            msg.rerun_script.widget_states.widgets.append(WidgetState(id=wid, json_value=json.dumps(value)))
        ws.send(msg.SerializeToString())
        return receive_run(ws, 120)

    def shown(msgs, kind: str) -> list[str]:
        elements = [m.delta.new_element for m in msgs if m.WhichOneof("type") == "delta" and m.delta.new_element]
        return [str(getattr(e, kind)) for e in elements if e.WhichOneof("type") == kind]

    with connect(app_server.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"]) as ws:
        msgs = send(ws)
        canvas = next(m for m in msgs if m.WhichOneof("type") == "delta" and "rec_canvas" in str(m.delta.new_element))
        wid = next(line.split('"')[1] for line in str(canvas.delta.new_element).splitlines() if "rec_canvas" in line)
        url = "data:image/png;base64," + base64.b64encode(_png_of_zeros(3_000)).decode()
        msgs = send(ws, canvas.delta.fragment_id, **{wid: {"drawing": {"raw": {"objects": []}, "data": url}}})
        assert not shown(msgs, "exception")
        assert any("3,000 x 3,000 pixels" in a and "under 2 megapixels" in a for a in shown(msgs, "alert")), msgs
        msgs = send(ws, canvas.delta.fragment_id, **{wid: {"drawing": {"raw": {"objects": []}, "data": "no picture"}}})
        assert not shown(msgs, "exception")


def test_only_pngs_and_jpegs_are_opened():
    """PIL opens many formats (EPS by running Ghostscript); the page asks for a PNG or a JPEG."""
    from PIL import Image

    from vae.preprocess import PictureError, open_picture

    gif = io.BytesIO()
    Image.new("L", (28, 28)).save(gif, format="GIF")
    with pytest.raises(PictureError, match="use a PNG or a JPEG"):
        open_picture(io.BytesIO(gif.getvalue()))


def test_a_session_keeps_its_newest_uploads_and_all_uploads_are_bounded(monkeypatch):
    """Streamlit kept every upload a session sent (40 x 25 MB from one script: +1 GB): now the newest two
    per session, and a new one is refused once uploads hold TOTAL_BYTES in all."""
    from starlette.exceptions import HTTPException
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    from ui import upload_guard

    upload_guard.install()
    manager = MemoryUploadedFileManager("/upload")
    for i in range(40):
        manager.add_file("student", UploadedFileRec(f"f{i}", "x.png", "image/png", bytes(1000)))
    assert list(manager.file_storage["student"]) == ["f38", "f39"]
    manager.add_file("student", UploadedFileRec("f39", "x.png", "image/png", bytes(10)))  # the same file again
    assert list(manager.file_storage["student"]) == ["f38", "f39"]
    monkeypatch.setattr(upload_guard, "TOTAL_BYTES", 3000)
    manager.add_file("other", UploadedFileRec("g", "x.png", "image/png", bytes(1500)))
    with pytest.raises(HTTPException) as refused:
        manager.add_file("third", UploadedFileRec("h", "x.png", "image/png", bytes(1000)))
    assert refused.value.status_code == 503 and "third" not in manager.file_storage


@pytest.mark.browser  # a real server, flooded over one websocket
def test_a_flood_of_reruns_from_one_browser_is_cut_to_the_rate_and_the_last_one_runs(app_server):
    """A script asking for thousands of reruns a second stalled every other student's page (40 s for a page
    drawn in 0.07 s): beyond a burst, one session's requests run at most RATE a second, the newest last."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    from tests.test_rerun_guard import receive, receive_run
    from ui import rerun_throttle

    def ask(ws) -> None:
        msg = BackMsg()
        msg.rerun_script.page_name = "Theory"
        ws.send(msg.SerializeToString())

    with connect(app_server.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"]) as ws:
        ask(ws)
        receive_run(ws, 120)  # the page drawn once: the throttle is installed
        for _ in range(300):
            ask(ws)
        msgs = receive(ws, 10.0)
        while msgs and (more := receive(ws, 2.0)):  # until the server has gone quiet
            msgs += more
    finished = [m.script_finished for m in msgs if m.WhichOneof("type") == "script_finished"]
    assert finished and finished[-1] == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY  # the last one ran
    assert rerun_throttle.THROTTLED in app_server.log()


def test_the_rerun_bucket_lets_a_burst_through_then_its_rate():
    from ui.rerun_throttle import BURST, RATE, Bucket

    bucket = Bucket()
    assert all(bucket.take(100.0) for _ in range(BURST)) and not bucket.take(100.0)
    assert bucket.wait() == pytest.approx(1 / RATE)
    assert not bucket.take(100.0 + 0.5 / RATE) and bucket.take(100.0 + 1.01 / RATE)
