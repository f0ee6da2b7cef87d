"""The film of a run (ui/film): which frames go to the browser, how they are packed, that each is
sent once, and, in a real Chromium, that scrubbing and playing change the picture without asking the
server for anything while new frames move the picture to the newest."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from bench.harness import ROOT, StreamlitServer, wait_for_app
from ui import film

APP = "tests/apps/film_app.py"


# --- which frames are sent -----------------------------------------------------------------------


def test_up_to_max_frames_every_frame_is_shown():
    assert film.frames_to_show(1) == [0]
    assert film.frames_to_show(40) == list(range(40))


def test_a_long_run_keeps_its_first_epochs_its_last_and_evenly_spaced_ones_between():
    shown = [i + 1 for i in film.frames_to_show(300)]  # as epochs, one frame per epoch
    assert shown == [*range(1, 11), *range(16, 300, 16), 300]  # the rule the docstring gives
    assert [i + 1 for i in film.frames_to_show(41)] == [*range(1, 11), *range(12, 41, 2), 41]
    for n in range(41, 3000):
        kept = film.frames_to_show(n)
        assert len(kept) <= film.MAX_FRAMES and kept == sorted(set(kept)), n
        assert kept[: film.HEAD] == list(range(film.HEAD)) and kept[-1] == n - 1, n
        assert len(kept) > film.MAX_FRAMES // 2, n  # thinned no more than it must be


def test_a_growing_run_never_needs_a_frame_sent_again():
    """A live run adds a frame per epoch: the frames kept then are the ones kept before (some dropped)
    plus the new one, so a browser that watched the run holds every frame it is shown."""
    for n in range(1, 3000):
        assert set(film.frames_to_show(n + 1)) <= set(film.frames_to_show(n)) | {n}, n


# --- packing ------------------------------------------------------------------------------------


def test_a_frame_survives_the_png_and_the_pack():
    g = np.random.default_rng(0)
    frames = g.integers(0, 256, (3, 4, 10, 28, 20), dtype=np.uint8)  # not square: rows and columns stay apart
    pngs = [film.frame_png(f) for f in frames]
    rows, cols = np.asarray(Image.open(io.BytesIO(pngs[0]))).shape
    assert (rows, cols) == (4 * 28, 10 * 20)  # styles down, classes across
    back = film.unpack(film.pack(pngs), [len(p) for p in pngs])
    assert [film.read_frame_png(p, frames.shape[1:]).tolist() for p in back] == frames.tolist()
    with pytest.raises(ValueError, match="add up to"):
        film.unpack(film.pack(pngs), [len(p) for p in pngs[:2]])


def test_frames_in_0_1_become_0_255_and_digests_tell_pictures_apart():
    assert film.as_uint8(np.array([0.0, 0.5, 1.0, 1.7, -0.2])).tolist() == [0, 128, 255, 255, 0]
    with pytest.raises(ValueError, match="NaN"):
        film.as_uint8(np.array([np.nan]))
    with pytest.raises(ValueError, match="uint8"):
        film.as_uint8(np.array([1, 2]))
    a = np.zeros((2, 1, 10, 28, 28), np.uint8)
    a[1, 0, 3, 5, 5] = 1
    assert len(set(film.digests(a))) == 2
    assert film.digests(a.reshape(2, 1, 10, 14, 56))[0] != film.digests(a)[0]  # same bytes, other shape


@pytest.mark.parametrize(
    ("frames", "epochs", "labels", "message"),
    [
        (np.zeros((2, 10, 28, 28)), [1, 2], None, "shape"),
        (np.zeros((2, 1, 10, 28, 28)), [1], None, "one epoch per frame"),
        (np.zeros((2, 1, 10, 28, 28)), [2, 2], None, "increase"),
        (np.zeros((1, 1, 10, 28, 28)), [1], ["0", "1"], "name each of the 10 columns"),
        (np.zeros((1, 17, 10, 28, 28)), [1], None, "1..16 styles"),
    ],
)
def test_bad_input_is_named(frames, epochs, labels, message):
    with pytest.raises(ValueError, match=message):
        film.film(frames, epochs, labels, key="test_film")


# --- what Python sends, rerun by rerun (AppTest: no browser) --------------------------------------


def sent(at: AppTest) -> tuple[dict, int]:
    """The film's JSON arguments and the bytes of frames attached, in the last run."""
    proto = at.get("component_instance")[0].proto
    frames = {a.key: len(a.bytes) for a in proto.special_args}.get("frames", 0)
    return json.loads(proto.json_args), frames


@pytest.mark.parametrize("frames_key", ["1", "0"], ids=["frames_key", "no_frames_key"])
def test_each_frame_goes_once_and_a_request_gets_them_all(frames_key):
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60)
    at.query_params["frames_key"] = frames_key
    at.run()
    assert not at.exception
    args, n_bytes = sent(at)
    assert len(args["order"]) == len(args["sent"]) == 12 and args["epochs"] == list(range(1, 13))
    assert n_bytes == sum(length for _, length in args["sent"]) > 0
    at.run()  # a rerun with nothing new (the live panel's refresh): no frames
    args, n_bytes = sent(at)
    assert args["sent"] == [] and n_bytes == 0
    at.button(key="film_add").click().run()  # an epoch ends: its frame alone
    args, n_bytes = sent(at)
    assert [d for d, _ in args["sent"]] == args["order"][-1:] and args["epochs"][-1] == 13
    at.session_state["film_test"] = {"need": "token-1"}  # a fresh iframe asks for what it lacks
    at.run()
    args, n_bytes = sent(at)
    assert len(args["sent"]) == 13 and args["served"] == "token-1"
    at.run()  # answered once, not on every later rerun
    assert sent(at)[0]["sent"] == []


def test_without_its_frontend_the_last_frame_is_a_still_picture(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(film, "FRONTEND_DIR", tmp_path / "missing")
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60).run()
    assert not at.exception
    assert "could not load" in at.info[0].value
    assert len(at.image) == 1 and at.image[0].captions[0].startswith("Epoch 12.")
    assert at.image[0].proto.imgs[0].url.endswith(".png")  # JPEG would smear the enlarged pixels


def test_before_the_first_epoch_it_says_when_the_first_picture_comes():
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60)
    at.query_params["epochs"] = "0"
    at.run()
    assert not at.exception and "epoch 1 ends" in at.info[0].value


# --- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[StreamlitServer]:
    with StreamlitServer(APP) as s:
        yield s


class Watched:
    """A page of the harness app with a count of the websocket messages the browser sent the server
    (Streamlit's BackMsgs) and the bytes it received."""

    def __init__(self, browser, server: StreamlitServer, query: str = "", width: int = 1024, height: int = 768):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.sent = 0
        self.received = 0
        self.page.on("websocket", self._watch)
        self.page.goto(f"{server.url}/?{query}")
        wait_for_app(self.page)

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda _: setattr(self, "sent", self.sent + 1))
        ws.on("framereceived", lambda p: setattr(self, "received", self.received + len(p or b"")))

    def frame(self, frames: int):
        """The film's iframe, once it shows `frames` frames."""
        f = self.page.wait_for_selector("iframe[title*='film']", timeout=60_000).content_frame()
        f.wait_for_function(f"window.__film && window.__film().frames === {frames}", timeout=60_000)
        return f

    def runs(self) -> int:
        text = self.page.locator("[data-testid='stMain']").inner_text()
        return int(text.split("page runs: ")[1].split(" ")[0])


def state(frame) -> dict:
    return frame.evaluate("window.__film()")


def picture(frame) -> str:
    return frame.evaluate("document.getElementById('frame').toDataURL()")


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


@pytest.mark.browser
def test_the_slider_and_its_keys_change_the_picture(server, browser):
    w = Watched(browser, server)
    frame = w.frame(12)
    assert state(frame)["epoch"] == 12 and frame.inner_text("#epoch") == "Epoch 12"  # the newest first
    last = picture(frame)
    frame.press("#scrub", "Home")
    assert frame.inner_text("#epoch") == "Epoch 1"
    first = picture(frame)
    frame.press("#scrub", "ArrowRight")
    assert frame.inner_text("#epoch") == "Epoch 2"
    assert len({last, first, picture(frame)}) == 3, "each epoch draws its own picture"
    frame.press("#scrub", "End")
    assert picture(frame) == last
    w.context.close()


@pytest.mark.browser
def test_play_runs_in_the_browser_without_a_word_to_the_server(server, browser):
    w = Watched(browser, server)
    frame = w.frame(12)
    time.sleep(1.0)  # let any message of the page's start go by
    runs, messages = w.runs(), w.sent
    frame.click("#play")  # at the last epoch: starts over from epoch 1
    seen, start = [], time.monotonic()
    while time.monotonic() - start < 3.0 and (not seen or seen[-1] != 12 or state(frame)["playing"]):
        seen.append(state(frame)["epoch"])
        time.sleep(0.05)
    shown = list(dict.fromkeys(seen))
    print(f"play: epochs on screen {shown} in {time.monotonic() - start:.1f} s")
    assert len(shown) >= 6 and shown == sorted(shown), shown  # about 6 a second, forwards
    assert shown[-1] == 12 and not state(frame)["playing"], "it stops on the last epoch"
    assert w.sent == messages, "playing sent the server nothing"
    assert w.runs() == runs
    w.context.close()


@pytest.mark.browser
def test_new_frames_move_to_the_newest_unless_the_student_moved_away(server, browser):
    w = Watched(browser, server)
    frame = w.frame(12)
    received = state(frame)["received"]
    before = w.received
    w.page.get_by_role("button", name="Add an epoch").click()
    wait_until(lambda: state(frame)["frames"] == 13)
    assert state(frame)["epoch"] == 13 and frame.inner_text("#latest") == "latest"
    assert state(frame)["received"] == received + 1, "only the new frame was sent"
    print(f"one new epoch: {(w.received - before) / 1024:.1f} KB over the websocket")
    frame.press("#scrub", "Home")
    for _ in range(4):
        frame.press("#scrub", "ArrowRight")
    assert state(frame)["epoch"] == 5
    w.page.get_by_role("button", name="Add an epoch").click()
    wait_until(lambda: state(frame)["frames"] == 14)
    assert state(frame)["epoch"] == 5, "the student's epoch stays on screen"
    assert frame.is_hidden("#latest")
    w.context.close()


@pytest.mark.browser
def test_a_long_run_is_thinned_and_a_fresh_iframe_asks_for_its_frames(server, browser):
    w = Watched(browser, server, "epochs=40")
    frame = w.frame(40)
    w.page.get_by_role("button", name="Add an epoch").click()  # 41 epochs: 26 frames on the slider
    wait_until(lambda: state(frame)["frames"] == 26)
    assert state(frame)["received"] == 41 and state(frame)["epoch"] == 41
    w.page.get_by_text("Hide the film").click()
    wait_until(lambda: w.page.locator("iframe").count() == 0)
    w.page.get_by_text("Hide the film").click()
    frame = w.frame(26)  # a new iframe: it had nothing, asked, and got the 26 frames
    assert state(frame)["received"] == 26 and state(frame)["epoch"] == 41
    w.context.close()


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1400, 1000)])
def test_the_film_fits_the_screen(server, browser, screenshot_dir, width, height):
    w = Watched(browser, server, width=width, height=height)
    frame = w.frame(12)
    frame.press("#scrub", "Home")
    for _ in range(5):
        frame.press("#scrub", "ArrowRight")  # epoch 6: half sharp
    iframe = w.page.locator("iframe[title*='film']").bounding_box()
    canvas = frame.locator("#frame").bounding_box()  # boxes are in the page's coordinates
    play = frame.locator("#play").bounding_box()
    assert canvas["x"] + canvas["width"] <= iframe["x"] + iframe["width"] <= width
    assert play["y"] + play["height"] <= height, "the play button is on the first screen"
    assert canvas["width"] >= 0.95 * min(iframe["width"], 3 * 302), "the picture takes its column"
    w.page.screenshot(path=screenshot_dir / f"film_{width}x{height}.png")
    print(
        f"{width}x{height}: column {iframe['width']:.0f} px, picture {canvas['width']:.0f} x {canvas['height']:.0f} px"
    )
    w.context.close()
