"""The Latent space page: the 2-D map of the test digits, one digit up close, the decoded manifold."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests import helpers

PAGE = "pages/3_Latent_space.py"


def figures(at: AppTest) -> list[dict]:
    """Every plotly chart on the page, as the figure dict the browser receives."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(data: object) -> np.ndarray:
    """A figure's array: plotly sends numpy arrays base64-encoded ({"dtype", "bdata"})."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


def open_page(model: str | None = None) -> AppTest:
    at = helpers.open_page(PAGE)
    if model is not None:
        at.selectbox(key="sidebar_model").set_value(model).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def wide_checkpoint(app_env: dict[str, str], mnist) -> str:
    """An untrained z_dim-10 model beside the tiny one: enough to show PCA and t-SNE."""
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.model import ConditionalVAE
    from vae.run import RunView

    config = preset("seed")
    model = ConditionalVAE(config).eval()
    save_checkpoint(
        Path(app_env["VAE_CHECKPOINT_DIR"]) / "wide.pt", RunView(config, model, "wide", "wide", dataset=mnist.summary())
    )
    return "wide"


def test_map_shows_every_test_digit_in_ten_classes(app_env, fresh_streamlit_caches, mnist):
    at = open_page()
    assert "z itself" in at.info[0].value  # z_dim 2: no projection
    spec = figures(at)[0]
    classes = [t for t in spec["data"] if t["name"] in [str(d) for d in range(10)]]
    assert len(classes) == 10
    index = np.concatenate([values(t["customdata"]) for t in classes])
    assert sorted(index.tolist()) == list(range(len(mnist.test_y)))  # customdata = the test index
    for t in classes:  # each trace holds exactly the digits of its class
        assert set(mnist.test_y.numpy()[values(t["customdata"])].tolist()) == {int(t["name"])}
    assert spec["layout"]["xaxis"]["title"]["text"] == "z0"  # as the sliders on Generate name them
    assert spec["layout"]["yaxis"]["title"]["text"] == "z1"


def test_picking_a_test_index_shows_the_digit_and_its_reconstruction(app_env, fresh_streamlit_caches, mnist):
    at = open_page()
    at.number_input(key="lat_index").set_value(123).run()
    assert not at.exception
    label = int(mnist.test_y[123])
    assert any(f"**Label:** {label}" in m.value for m in at.markdown)
    assert any("Classifier's guess:" in m.value for m in at.markdown)
    assert len(at.get("image")) == 1 and len(at.get("image")[0].value) == 1  # the original | reconstruction pair
    marks = [t for t in figures(at)[0]["data"] if t["name"] == "test digit #123"]
    assert len(marks) == 1  # the picked digit is starred on the map


def test_open_in_generate_hands_over_z_and_digit(app_env, fresh_streamlit_caches):
    from ui import digits, state

    at = open_page()
    at.number_input(key="lat_index").set_value(7).run()
    at.button(key="lat_to_gen").click().run()
    assert not at.exception
    # The Generate page took the request (`gen_request`) and says whose style it loaded.
    assert any("test digit #7" in s.value for s in at.success)
    shown = state.shown("tiny-test")
    mu = digits.encodings(shown.key, shown.model, "mnist")["mu"][7]
    np.testing.assert_allclose(at.session_state["gen_initial"]["z"], mu, rtol=1e-6)
    assert at.session_state["gen_initial"]["digit_a"] in range(10)


def test_manifold_of_a_2d_latent_space_follows_the_chosen_digit(app_env, fresh_streamlit_caches):
    at = open_page()
    manifold = figures(at)[1]
    assert manifold["data"][0]["type"] == "image"
    assert manifold["layout"]["xaxis"]["ticktext"][0] == "-3.0" and manifold["layout"]["yaxis"]["ticktext"][0] == "3.0"
    axes = manifold["layout"]["xaxis"]["title"]["text"], manifold["layout"]["yaxis"]["title"]["text"]
    assert axes == ("z0", "z1")  # the map's axes, and the sliders' names
    at.selectbox(key="lat_manifold_digit-mnist").set_value(7).run()
    assert figures(at)[1]["data"][0]["source"] != manifold["data"][0]["source"]  # another digit, another picture
    assert "Download the manifold (PNG)" in {b.proto.label for b in at.get("download_button")}


def test_wider_latent_space_offers_pca_now_and_tsne_on_request(
    app_env, fresh_streamlit_caches, wide_checkpoint, monkeypatch
):
    from ui import digits

    monkeypatch.setattr(digits, "TSNE_POINTS", 120)  # keep t-SNE to a second or two
    at = open_page(wide_checkpoint)
    spec = figures(at)[0]
    assert spec["layout"]["xaxis"]["title"]["text"].startswith("PC 1 (")
    assert len(at.get("plotly_chart")) == 1  # no manifold: z has 10 numbers

    at.radio(key="lat_method").set_value("t-SNE").run()
    assert not at.get("plotly_chart")  # nothing is computed before the button
    at.button(key="lat_tsne_go").click().run()
    assert not at.exception
    spec = figures(at)[0]
    assert spec["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"
    assert sum(len(values(t["x"])) for t in spec["data"] if t["name"].isdigit()) == 120


def test_pca_map_places_new_points_exactly(app_env, fresh_streamlit_caches, wide_checkpoint):
    """The Reconstruct page puts a drawing on the PCA map with `place`: it must agree with the projection."""
    from ui import digits, state

    shown = state.shown(wide_checkpoint)
    lm = digits.latent_map(shown.key, shown.model, "mnist", "pca")
    mu = digits.encodings(shown.key, shown.model, "mnist")["mu"]
    np.testing.assert_allclose(digits.place(lm, mu[:50]), lm["coords"][:50], atol=1e-4)


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_the_star_is_drawn_the_way_the_dots_are_so_it_lands_on_top(n):
    """A browser draws WebGL traces above all SVG ones: with 10,000 dots (Fashion-MNIST, full MNIST)
    drawn with WebGL, an SVG star was hidden under them."""
    from ui import digits

    rng = np.random.default_rng(0)
    lm = {"coords": rng.normal(size=(n, 2)), "labels": np.arange(n) % 10, "index": np.arange(n), "axes": ("a", "b")}
    fig = digits.map_figure(lm, tuple("0123456789"), [{"x": 0.0, "y": 0.0, "name": "test digit #7"}])
    dots, star = {t.type for t in fig.data[:10]}, fig.data[-1]
    assert star.name == "test digit #7" and dots == {star.type}


@pytest.mark.browser
def test_map_renders_and_a_click_picks_that_digit(app_server, browser):
    from bench.harness import wait_for_app

    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(app_server.url + "/Latent_space")
    wait_for_app(page)
    points = page.locator(".js-plotly-plot .scatterlayer path.point")
    points.nth(999).wait_for(timeout=30_000)
    assert points.count() >= 1000  # every test digit is an SVG point
    page.screenshot(path="/tmp/latent_page.png", full_page=True)

    box = points.nth(500).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".hoverlayer").filter(has_text="test digit #")  # names the digit under the mouse
    tooltip.wait_for(timeout=10_000)
    expected = int(re.search(r"#(\d+)", tooltip.text_content()).group(1))
    page.mouse.down()
    page.mouse.up()
    page.locator(f"input[aria-label^='Test digit #'][value='{expected}']").wait_for(timeout=30_000)
    wait_for_app(page)
    assert page.get_by_text("Classifier's guess").count() == 1

    # ... and hands its z to the Generate page (st.switch_page, with ui/rerun_guard.py watching)
    page.get_by_role("button", name="Open in Generate").click()
    page.get_by_text(f"Loaded the style of test digit #{expected}").wait_for(timeout=30_000)
    assert page.url.endswith("/Generate")
    frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
    frame.wait_for_function("() => window.__renderCount > 0", timeout=60_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("heading", name="Latent space").count() == 0  # the old page is gone, not mixed in
