"""The latent map in a real Chromium, on the real app with the tiny model (z_dim 2, three recorded epochs):
hovering shows pictures and decodes empty space while the mouse moves, the slider replays training,
drawing moves the posterior's ellipse, clicks reach Generate, it fits a projector, it needs no WebGL."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from bench.harness import CHROMIUM_ARGS, chromium_path, wait_for_app
from tests.helpers import deltas, record_messages
from vae.model import one_hot

pytestmark = pytest.mark.browser


def open_map(browser, server, page_name: str = "Latent_space", width: int = 1400, height: int = 1000, received=None):
    """The page with its map ready; `received` (a list) collects the messages the server sends it."""
    page = browser.new_page(viewport={"width": width, "height": height})
    if received is not None:
        record_messages(page, received)
    page.goto(f"{server.url}/{page_name}")
    wait_for_app(page)
    element = page.wait_for_selector("iframe[title*='latent_map']", timeout=60_000)
    element.scroll_into_view_if_needed()
    frame = element.content_frame()
    frame.wait_for_function("window.__map && window.__map().ready", timeout=60_000)
    return page, element, frame


def at(element, xy) -> tuple[float, float]:
    """Frame coordinates -> page coordinates."""
    box = element.bounding_box()
    return box["x"] + xy[0], box["y"] + xy[1]


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def tiny_model():
    import os
    from pathlib import Path

    from vae.checkpoint import load_checkpoint

    return load_checkpoint(Path(os.environ["VAE_CHECKPOINT_DIR"]) / "tiny-test.pt").model


def test_hover_shows_a_digit_and_empty_space_decodes_while_the_mouse_moves(app_server, browser, mnist):
    page, element, frame = open_map(browser, app_server)
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(1)))
    # a dot: its own picture beside the cursor
    page.mouse.move(*at(element, frame.evaluate("window.__pointOnScreen(10)")))
    wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "point")
    i = frame.evaluate("window.__map().hover.i")
    test_index = frame.evaluate(f"window.__mapTestIndex({i})")
    shown = np.array(frame.evaluate("window.__tipPixels()"), dtype=float)
    expected = np.round(np.round(mnist.test_x[test_index].numpy() * 31) / 31 * 255)  # 32 grey levels
    assert np.abs(shown - expected).max() <= 1, "the picture beside the cursor is that test digit"
    assert frame.is_visible("#tip") and f"#{test_index}" in frame.inner_text("#tip-text")
    # empty space: one continuous mouse move, a new decoded picture at each step, nothing sent to the server
    x, y, clearance = frame.evaluate("window.__emptySpot()")
    assert clearance > 12, "the tiny model's map has room between its points"
    page.mouse.move(*at(element, (x, y)))
    wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "space")
    sent.clear()
    pictures = set()
    for step in range(1, 13):
        page.mouse.move(*at(element, (x + step * 3, y + step * 2)))
        pictures.add(frame.evaluate("window.__tipPixels().join()"))
    print(f"hover: {len(pictures)} different pictures over 12 steps of one move")
    assert len(pictures) >= 5
    assert sent == [], "hovering sends the server nothing"
    # ... and the picture is the decoder's at that z (z_dim 2: the map is z), as the digit picked
    wait_until(lambda: frame.evaluate("window.__map().hover.x") is not None)
    time.sleep(0.2)
    hover = frame.evaluate("window.__map().hover")
    with torch.no_grad():
        ref = tiny_model().decode(torch.tensor([[hover["x"], hover["y"]]]), one_hot([0])).numpy()[0]
    assert np.abs(np.array(frame.evaluate("window.__tipPixels()")) - np.round(255 * ref)).max() <= 1
    frame.select_option("#digit", "7")
    page.mouse.move(*at(element, (x + 40, y + 30)))
    wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("x") != hover["x"])
    time.sleep(0.2)
    hover = frame.evaluate("window.__map().hover")
    with torch.no_grad():
        ref = tiny_model().decode(torch.tensor([[hover["x"], hover["y"]]]), one_hot([7])).numpy()[0]
    assert np.abs(np.array(frame.evaluate("window.__tipPixels()")) - np.round(255 * ref)).max() <= 1


def test_colour_by_and_pictures_redraw_the_map_in_the_browser(app_server, browser):
    page, element, frame = open_map(browser, app_server)
    base = lambda: frame.evaluate("document.getElementById('base').toDataURL()")  # noqa: E731
    before = base()
    frame.select_option("#colour-by", "slant")
    assert "leans left" in frame.inner_text("#legend") and base() != before
    dots = base()
    frame.check("#thumbs")
    assert base() != dots and frame.evaluate("window.__map().thumbs")
    page.mouse.move(*at(element, frame.evaluate("window.__pointOnScreen(3)")))
    wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "point")


def test_the_slider_replays_the_map_over_training(app_server, browser):
    page, element, frame = open_map(browser, app_server)
    assert frame.evaluate("window.__map().epochs") == [1, 2, 3] and frame.is_visible("#time")
    now = frame.evaluate("window.__pointOnScreen(0)")
    assert frame.inner_text("#epoch").startswith("now")
    frame.press("#scrub", "Home")
    wait_until(lambda: frame.evaluate("window.__map().frame") == 0)
    assert frame.inner_text("#epoch") == "epoch 1 of 3"
    first = frame.evaluate("window.__pointOnScreen(0)")
    assert first != now, "epoch 1 puts the digit somewhere else"
    assert frame.evaluate("window.__map().shown") == 1000
    frame.click("#play")  # plays epochs 2 and 3, then stops on "now"
    wait_until(lambda: frame.evaluate("window.__map().frame") == -1, timeout=10)
    assert frame.evaluate("window.__pointOnScreen(0)") == now


def test_drawing_moves_the_ellipse(app_server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_server.url}/Reconstruct")
    wait_for_app(page)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    frame = page.wait_for_selector("iframe[title*='latent_map']", timeout=60_000).content_frame()
    frame.wait_for_function("window.__map && window.__map().ready", timeout=60_000)
    assert frame.evaluate("window.__map().mark") is None
    box = canvas.bounding_box()
    marks = []
    for (x0, y0), (x1, y1) in (((60, 60), (220, 60)), ((220, 60), (150, 250)), ((80, 160), (200, 160))):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for t in np.linspace(0, 1, 12)[1:]:
            page.mouse.move(box["x"] + x0 + (x1 - x0) * t, box["y"] + y0 + (y1 - y0) * t)
        page.mouse.up()
        last = marks[-1] if marks else None
        marks.append(wait_until(lambda last=last: (m := frame.evaluate("window.__map().mark")) and m != last and m))
    print("marks after each stroke:", [m["xy"] for m in marks])
    assert len({tuple(m["xy"]) for m in marks}) == 3, "each stroke moved the star"
    assert all(m["cov"][0][0] > 0 and m["cov"][1][1] > 0 for m in marks)


def test_a_click_on_empty_space_opens_generate_there(app_server, browser):
    page, element, frame = open_map(browser, app_server)
    x, y, _ = frame.evaluate("window.__emptySpot()")
    page.mouse.move(*at(element, (x, y)))
    wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "space")
    page.mouse.down()
    page.mouse.up()
    page.get_by_text("Loaded the style of the latent map at").wait_for(timeout=30_000)
    assert page.url.endswith("/Generate")


def test_a_click_on_a_dot_reruns_only_the_map_and_the_close_up(app_server, browser):
    """The map and the close-up below it are one fragment: a click on a dot shows that test digit up close,
    and rings it on the map in the same run (not one click late), without sending the browser the sidebar or
    the page's head again."""
    received: list[bytes] = []
    page, element, frame = open_map(browser, app_server, received=received)
    close_up = page.get_by_role("spinbutton", name="Test digit #", exact=False)
    for row in (10, 20):
        before = close_up.input_value()
        page.mouse.move(*at(element, frame.evaluate(f"window.__pointOnScreen({row})")))
        wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "point")
        received.clear()
        page.mouse.down()
        page.mouse.up()
        wait_until(lambda before=before: close_up.input_value() != before)  # the digit clicked, up close
        wait_for_app(page)
        test_index = frame.evaluate(f"window.__mapTestIndex({row})")
        assert close_up.input_value() == str(test_index)
        ring = frame.evaluate("window.__map()")
        assert ring["picked"] == row and f"#{test_index}," in ring["pickedName"], ring
        sent = deltas(received)
        assert sent and {m.metadata.delta_path[0] for m in sent} == {0}  # container 1 is the sidebar
        assert all(m.delta.fragment_id for m in sent)


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1400, 1000)])
def test_the_map_and_its_controls_fit_the_screen(app_server, browser, screenshot_dir, width, height):
    page, element, frame = open_map(browser, app_server, width=width, height=height)
    page.evaluate("window.scrollTo(0, 0)")
    time.sleep(0.5)
    page.screenshot(path=str(screenshot_dir / f"latent-map-{width}x{height}.png"))
    column = page.evaluate(
        """() => { const el = document.querySelector("[data-testid='stMainBlockContainer']");
                   const cs = getComputedStyle(el);
                   return el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight); }"""
    )
    box = element.bounding_box()
    assert box["width"] >= column - 2, f"the map takes the column's width ({box['width']} of {column} px)"
    bottom = box["y"] + frame.evaluate("document.getElementById('time').getBoundingClientRect().bottom")
    assert bottom <= height, f"the slider ends at {bottom:.0f} px, below the {height}-px screen"
    assert frame.evaluate("window.__map().stage.height") >= 260
    page2 = browser.new_page(viewport={"width": width, "height": height})
    page2.goto(f"{app_server.url}/Reconstruct")
    wait_for_app(page2)
    page2.locator("canvas.upper-canvas").first.scroll_into_view_if_needed()
    page2.wait_for_selector("iframe[title*='latent_map']", timeout=60_000).content_frame().wait_for_function(
        "window.__map && window.__map().ready", timeout=60_000
    )
    page2.screenshot(path=str(screenshot_dir / f"reconstruct-map-{width}x{height}.png"))


def test_the_map_needs_no_webgl(app_server, browser):
    no_gl = browser.browser_type.launch(
        executable_path=chromium_path(), args=[*CHROMIUM_ARGS, "--disable-webgl", "--disable-3d-apis"]
    )  # a second Chromium from the same Playwright: WebGL is a browser-wide switch
    try:
        page, element, frame = open_map(no_gl, app_server)
        assert frame.evaluate("document.createElement('canvas').getContext('webgl2')") is None
        assert frame.evaluate("document.createElement('canvas').getContext('webgl')") is None
        x, y, _ = frame.evaluate("window.__emptySpot()")
        page.mouse.move(*at(element, (x, y)))
        wait_until(lambda: frame.evaluate("window.__map().stats.decodes") > 0)
        page.mouse.move(*at(element, frame.evaluate("window.__pointOnScreen(0)")))
        wait_until(lambda: (frame.evaluate("window.__map().hover") or {}).get("kind") == "point")
    finally:
        no_gl.close()


@pytest.mark.parametrize(
    ("event", "taken"),
    [
        ({"kind": "pick", "index": 7}, {"kind": "pick", "index": 7}),
        ({"kind": "pick", "index": "7"}, None),
        ({"kind": "pick", "index": True}, None),
        (
            {"kind": "generate", "z": [0.5, -1], "xy": [1, 2], "digit": 3},
            {"kind": "generate", "z": [0.5, -1.0], "xy": [1.0, 2.0], "digit": 3},
        ),
        ({"kind": "generate", "z": ["abc"], "xy": [0, 0], "digit": 3}, None),
        ({"kind": "generate", "z": [float("nan")], "xy": [0, 0], "digit": 3}, None),
        ({"kind": "generate", "z": [0.0], "xy": [0], "digit": 3}, None),
        ({"kind": "generate", "z": [0.0] * 65, "xy": [0, 0], "digit": 3}, None),
        ({"kind": "generate", "z": [0.0], "xy": [0, 0], "digit": 2.5}, None),
        ({"kind": "delete everything"}, None),
    ],
)
def test_a_map_event_is_taken_only_as_the_map_sends_it(event, taken):
    """A forged event (a string for an index, NaN in z) gave its sender a traceback; now it is ignored."""
    from ui.latent_map import _checked

    assert _checked(event) == taken
