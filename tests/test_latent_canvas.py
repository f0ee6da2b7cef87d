"""The live latent canvas: the browser's decoder matches PyTorch, a drag redraws before the mouse is
released and reaches Python after, weights are not resent, and the server-side fallback works."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bench.harness import ROOT, StreamlitServer, wait_for_app
from ui import latent_canvas
from vae.model import decoder_layers, one_hot

APP = "tests/apps/latent_canvas_app.py"
_spec = importlib.util.spec_from_file_location("latent_canvas_app", ROOT / APP)
app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app)  # its page only runs as __main__; we want build_model

PARITY = [
    {},  # the seed preset: sigmoid, z_dim 10, conditional
    {"preset": "tiny", "scale": "3"},  # relu, z_dim 2
    {"activation": "gelu", "scale": "3"},
    {"activation": "tanh", "scale": "3"},
    {"activation": "elu", "scale": "3"},
    {"activation": "leaky_relu", "scale": "3"},
    {"preset": "classic", "scale": "3"},  # relu, z_dim 20, 400 hidden, not conditional
    {"z_dim": "64", "activation": "gelu", "scale": "2"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[StreamlitServer]:
    with StreamlitServer(APP) as s:
        yield s


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 1100})
    yield context.new_page()
    context.close()


def canvas_frame(page):
    frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
    frame.wait_for_function("document.body.dataset.weightsKey && window.__renderCount > 0", timeout=60_000)
    return frame


def open_canvas(page, server: StreamlitServer, query: dict[str, str] | None = None):
    page.goto(f"{server.url}/?{urlencode(query or {})}")
    wait_for_app(page)
    return canvas_frame(page)


def python_value(page) -> dict:
    return json.loads(page.locator(".st-key-canvas_py_value code").inner_text())


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def torch_decode(model, z, prob) -> np.ndarray:
    with torch.no_grad():
        digit = torch.tensor(prob, dtype=torch.float32) if model.config.conditional else None
        return model.decode(torch.tensor(z, dtype=torch.float32), digit).numpy()


def test_pack_decoder_is_the_layers_in_order():
    model = app.build_model({"preset": "tiny"})
    flat = np.frombuffer(latent_canvas.pack_decoder(model), dtype="<f4")
    expected = np.concatenate([a.ravel() for layer in decoder_layers(model) for a in (layer["weight"], layer["bias"])])
    np.testing.assert_array_equal(flat, expected)
    assert latent_canvas.digit_prob(7, 1, 0.3) == pytest.approx([0, 0.3, 0, 0, 0, 0, 0, 0.7, 0, 0])


@pytest.mark.browser
@pytest.mark.parametrize("query", PARITY, ids=lambda q: "-".join(q.values()) or "seed")
def test_browser_decoder_matches_torch(server, page, query):
    model = app.build_model(query)
    frame = open_canvas(page, server, query)
    g = np.random.default_rng(0)
    z = g.normal(0, 1.5, (16, model.config.z_dim))
    prob = g.dirichlet(np.ones(10) * 0.3, 16)  # any probability vector, not only a two-digit mix
    cases = [
        {"z": zi.tolist(), "p": pi.tolist() if model.config.conditional else None}
        for zi, pi in zip(z, prob, strict=True)
    ]
    js = np.array(frame.evaluate("cases => cases.map(c => window.__decode(c.z, c.p))", cases))
    err = np.abs(js - torch_decode(model, z, prob)).max()
    print(f"parity {query or 'seed'}: max |browser - torch| = {err:.2e}")
    assert err <= 1e-4
    if query.get("activation") == "gelu":  # GELU's exact form needs an accurate erf
        x = np.linspace(-7, 7, 561)
        erf = np.array(frame.evaluate("xs => xs.map(VaeDecoder.erf)", x.tolist()))
        assert np.abs(erf - torch.special.erf(torch.tensor(x, dtype=torch.float64)).numpy()).max() < 1e-13
    # The path the sliders drive: state -> draw() -> __lastPixels and the canvas itself.
    for a, b, mix in [(3, 8, 0.25), (0, 0, 0.0), (9, 4, 1.0)]:
        zi = g.uniform(-3, 3, model.config.z_dim)
        shown = frame.evaluate("v => window.__setInputs(v)", {"z": zi.tolist(), "digit_a": a, "digit_b": b, "mix": mix})
        ref = torch_decode(model, zi[None], [latent_canvas.digit_prob(a, b, mix)])[0]
        assert np.abs(np.array(shown) - ref).max() <= 1e-4
        assert np.array_equal(frame.evaluate("Array.from(window.__lastPixels)"), shown)
        canvas = np.array(frame.evaluate("window.__canvasPixels()"))
        assert np.abs(canvas - np.round(255 * ref)).max() <= 1  # the picture is the same numbers, as grey


@pytest.mark.browser
def test_drag_redraws_live_and_reaches_python_on_release(server, page):
    model = app.build_model({})
    frame = open_canvas(page, server)
    box = frame.locator("input[data-index='0']").bounding_box()  # in page coordinates
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    counts, images = [], set()
    for step in range(1, 11):
        page.mouse.move(x + step * box["width"] / 25, y, steps=2)
        counts.append(frame.evaluate("window.__renderCount"))
        images.add(frame.evaluate("Array.from(window.__lastPixels).join()"))
    assert python_value(page)["z"][0] == 0.0, "nothing reaches Python during the drag"
    page.mouse.up()
    print(f"drag: render counts while the button was down {counts}, {len(images)} distinct images")
    assert counts[-1] - counts[0] >= 5 and len(images) >= 5, (counts, len(images))
    state = frame.evaluate("window.__state()")
    assert state["z"][0] > 1.0
    wait_until(lambda: python_value(page)["z"][0] == pytest.approx(state["z"][0], abs=1e-4))
    ref = torch_decode(model, [state["z"]], [latent_canvas.digit_prob(0, 0, 0.0)])[0]
    assert np.abs(np.array(frame.evaluate("Array.from(window.__lastPixels)")) - ref).max() <= 1e-4


@pytest.mark.browser
def test_python_sets_the_sliders_and_weights_are_sent_once(server, page):
    model = app.build_model({})
    frame = open_canvas(page, server)
    frame.locator("#digit-a button", has_text="2").click()
    wait_until(lambda: python_value(page)["digit_a"] == 2)
    for draw in (1, 2):  # "Random style": a new `initial` from Python moves the sliders in the iframe
        page.get_by_role("button", name="Random style").click()
        z = torch.randn(model.config.z_dim, generator=torch.Generator().manual_seed(draw)).tolist()
        wait_until(lambda z=z: np.allclose(frame.evaluate("window.__state().z"), z, atol=1e-6))
        wait_until(
            lambda z=z: np.allclose(python_value(page)["z"], z, atol=1e-4) and python_value(page)["digit_a"] == 7
        )
        ref = torch_decode(model, [z], one_hot(7).tolist())[0]
        assert np.abs(np.array(frame.evaluate("Array.from(window.__lastPixels)")) - ref).max() <= 1e-4
    assert frame.evaluate("window.__weightsReceived") == 1, "reruns on the same model resend no weights"
    # Take the component off the page and bring it back: a fresh iframe asks for the weights itself.
    page.get_by_text("Hide the canvas").click()
    wait_until(lambda: page.locator("iframe").count() == 0)
    page.get_by_text("Hide the canvas").click()
    frame = canvas_frame(page)
    assert np.allclose(frame.evaluate("window.__state().z"), z, atol=1e-6), "the sliders kept their place"
    assert frame.evaluate("window.__weightsReceived") == 1


def test_live_path_runs_under_apptest():
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60).run()
    assert not at.exception and not at.info
    assert json.loads(at.code[0].value)["live"] is True
    at.button(key="canvas_random").click().run()  # a new `initial` is returned at once
    z = torch.randn(10, generator=torch.Generator().manual_seed(1))
    assert json.loads(at.code[0].value)["z"] == pytest.approx(z.tolist(), abs=1e-4)


def test_a_decoder_too_large_for_the_browser_runs_on_the_server(monkeypatch):
    monkeypatch.setenv("VAE_TEST_DECODER_LAYERS", "2048,1024")  # 11.8 MB of weights
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60).run()
    assert not at.exception
    assert "too large to run in your browser (11.8 MB of weights; the limit is 8.0 MB" in at.info[0].value
    assert len(at.slider) == 10 + 1 and len(at.image) == 1
    assert json.loads(at.code[0].value)["live"] is False


def test_fallback_without_frontend_uses_server_sliders(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(latent_canvas, "FRONTEND_DIR", tmp_path / "missing")
    at = AppTest.from_file(str(ROOT / APP), default_timeout=60).run()
    assert not at.exception
    assert "could not load" in at.info[0].value
    assert len(at.slider) == 10 + 1  # z0..z9 and the blend weight
    assert len(at.image) == 1
    at.slider(key="gen_canvas_z0").set_value(1.5).run()
    at.selectbox(key="gen_canvas_digit_a").set_value(3).run()
    value = json.loads(at.code[0].value)
    assert value["z"][0] == 1.5 and value["digit_a"] == 3 and value["live"] is False
    at.button(key="canvas_random").click().run()
    z = torch.randn(10, generator=torch.Generator().manual_seed(1)).clamp(-3, 3)
    assert at.slider(key="gen_canvas_z1").value == pytest.approx(z[1].item())
    assert json.loads(at.code[0].value)["digit_a"] == 7
    for _ in range(2):  # the same `initial` twice, told apart by its nonce
        at.slider(key="gen_canvas_z0").set_value(2.0).run()
        at.button(key="canvas_reset").click().run()
        assert at.slider(key="gen_canvas_z0").value == 0.0
