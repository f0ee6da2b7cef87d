"""The Reconstruct page: test digits beside their reconstructions, and a digit of your own."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests import helpers

PAGE = "pages/4_Reconstruct.py"


def open_page() -> AppTest:
    at = helpers.open_page(PAGE)
    assert not at.exception, at.exception
    return at


def figures(at: AppTest) -> dict[str, dict]:
    """The page's plotly charts by their widget key (rec_probs, rec_map)."""
    return {chart.proto.id.split("-")[-1]: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def digit_png(image: np.ndarray) -> bytes:
    """A 28x28 digit drawn 10x larger, black ink on white paper, as a phone photo of paper would be."""
    big = np.kron(1.0 - image.reshape(28, 28), np.ones((10, 10)))
    buffer = io.BytesIO()
    Image.fromarray(np.round(big * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_grid_marks_each_guess_and_shuffle_shows_another_batch(app_env, fresh_streamlit_caches):
    at = open_page()
    batch = at.get("image")[0]
    assert len(batch.value) == 24
    assert all("→" in caption for caption in batch.captions)  # true label → classifier's guess
    wrong = [caption for caption in batch.captions if caption.endswith("(wrong)")]
    assert any(f"({len(wrong)} of 24 here)" in caption.value for caption in at.caption)
    assert "Draw a digit" in at.info[0].value  # the canvas is still empty
    assert [b.proto.label for b in at.get("download_button")] == ["Download these pairs (PNG)"]

    at.button(key="rec_shuffle").click().run()
    assert at.session_state["rec_batch"] == 1
    assert at.get("image")[0].value != batch.value
    at.run()  # a rerun without a click keeps the batch
    assert at.session_state["rec_batch"] == 1


def test_an_uploaded_digit_gets_reconstructed_guessed_and_placed(app_env, fresh_streamlit_caches, mnist):
    from ui import digits, state
    from vae import generate
    from vae.preprocess import to_mnist

    at = open_page()
    digit = mnist.test_x[3].numpy()
    png = digit_png(digit)
    at.file_uploader(key="rec_upload").set_value(("seven.png", png, "image/png")).run()
    assert not at.exception

    shown = state.shown("tiny-test")
    mine = torch.from_numpy(to_mnist(Image.open(io.BytesIO(png))).reshape(1, 784))
    _, probs = generate.reconstruct(shown.model, mine)
    guess = digits.guess_text(probs[0], mnist.class_names)
    assert any(f"The classifier says: {guess}" in m.value for m in at.markdown)
    assert len(at.get("image")) == 2  # the test batch, then your digit beside its reconstruction
    bars = figures(at)["rec_probs"]["data"][0]
    assert bars["type"] == "bar" and len(bars["x"]) == 10
    # on the map: a star at the encoder's mean, with the ellipse of its variance, z itself for z_dim 2
    mark = map_spec(at)["mark"]
    with torch.no_grad():
        mu, var = shown.model.encode(mine)
    assert mark["name"] == "your digit"
    np.testing.assert_allclose(mark["xy"], mu[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(mark["cov"], np.diag(var[0].numpy()), atol=1e-6)


def map_spec(at: AppTest) -> dict:
    proto = next(c.proto for c in at.get("component_instance") if "spec" in json.loads(c.proto.json_args))
    return json.loads(proto.json_args)["spec"]


def test_the_map_is_there_before_any_drawing_and_each_drawing_moves_the_star(app_env, fresh_streamlit_caches, mnist):
    at = open_page()
    assert map_spec(at)["mark"] is None and map_spec(at)["frames"] is None
    marks = []
    for k in (3, 4):
        at.file_uploader(key="rec_upload").set_value(
            (f"{k}.png", digit_png(mnist.test_x[k].numpy()), "image/png")
        ).run()
        assert not at.exception
        marks.append(map_spec(at)["mark"]["xy"])
    assert marks[0] != marks[1]


def test_a_click_on_the_reconstruct_map_opens_that_digit_on_the_latent_page(app_env, fresh_streamlit_caches):
    at = open_page()
    at.session_state["rec_latent_map"] = {"event": {"iframe": "a", "n": 1, "kind": "pick", "index": 42}, "need": None}
    at.run()
    assert not at.exception
    assert at.number_input(key="lat_index").value == 42  # now on the Latent space page


def test_a_file_that_is_not_a_picture_gets_a_message_not_a_traceback(app_env, fresh_streamlit_caches):
    at = open_page()
    at.file_uploader(key="rec_upload").set_value(("digit.png", b"not a png at all", "image/png")).run()
    assert not at.exception
    assert "could not be read" in at.error[0].value
    for name, picture in (("blank.png", Image.new("L", (64, 64), 255)), ("huge.png", Image.new("1", (15_000, 15_000)))):
        data = io.BytesIO()
        picture.save(data, "PNG")  # 15,000 x 15,000: 225 megapixels in a file of a few hundred KB
        at.file_uploader(key="rec_upload").set_value((name, data.getvalue(), "image/png")).run()
        assert not at.exception, name
        expected = "empty (no ink" if name == "blank.png" else "too large"
        assert at.error and expected in at.error[0].value, (name, [e.value for e in at.error])


@pytest.mark.browser
def test_a_drawn_stroke_gets_a_reconstruction_and_a_guess(app_server, browser, mnist):
    from bench.harness import wait_for_app

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(app_server.url + "/Reconstruct")
    wait_for_app(page)
    canvas = page.locator("canvas.upper-canvas").first  # fabric.js draws on the upper canvas
    canvas.wait_for(timeout=30_000)
    assert page.get_by_text("The classifier says").count() == 0
    box = canvas.bounding_box()
    stroke = [(60, 60), (220, 60), (150, 250)]  # a 7: across the top, then down to the left
    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        for t in np.linspace(0, 1, 15)[1:]:
            page.mouse.move(box["x"] + x0 + (x1 - x0) * t, box["y"] + y0 + (y1 - y0) * t)
    page.mouse.up()
    page.get_by_text("The classifier says").wait_for(timeout=30_000)
    wait_for_app(page)
    assert page.get_by_text("as the model sees it").count() == 1  # your digit beside its reconstruction
    bars = page.locator(".js-plotly-plot .barlayer .point")  # the classifier's probabilities
    bars.nth(9).wait_for(timeout=10_000)
    assert bars.count() == 10
    assert page.get_by_text("not the drawing").count() == 0
    # An upload beside the drawing is what the model reads: the page says so, not silently.
    page.get_by_text("No mouse? Upload a picture instead").click()
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": digit_png(mnist.test_x[0].numpy())}]
    )
    page.get_by_text("This shows your uploaded picture, not the drawing").wait_for(timeout=30_000)
    assert page.get_by_text("your uploaded picture as the model sees it").count() == 1
    page.screenshot(path="/tmp/reconstruct_page.png", full_page=True)


def test_an_upload_over_the_servers_limit_is_refused_with_the_limit(app_server, browser, tmp_path):
    """.streamlit/config.toml caps uploads at 25 MB (Streamlit's default, 200 MB a browser, could
    exhaust a classroom server's memory): the uploader says so and the page carries on."""
    from bench.harness import wait_for_app

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(26 * 1024 * 1024))
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(app_server.url + "/Reconstruct")
    wait_for_app(page)
    page.get_by_text("No mouse? Upload a picture instead").click()
    page.locator("input[type=file]").set_input_files(str(huge))
    page.get_by_text("File must be 25.0MB or smaller.").wait_for(timeout=10_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("The classifier says").count() == 0  # nothing reached the model
