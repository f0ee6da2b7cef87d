"""The Generate page: AppTest on the server-side path, and the real page in Chromium."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.harness import wait_for_app
from tests.helpers import deltas, open_page, record_messages, start_run_in_browser

PAGE = "pages/2_Generate.py"


@pytest.fixture
def fallback(monkeypatch, tmp_path):
    """The page with the component's frontend missing: server-side sliders (testable in AppTest)."""
    import ui.latent_canvas as canvas

    monkeypatch.setattr(canvas, "FRONTEND_DIR", tmp_path / "missing")


def test_renders_with_the_live_component(app_env, fresh_streamlit_caches):
    at = open_page(PAGE)
    assert not at.exception
    assert any("Latent traversal" in h.value for h in at.subheader)
    assert len(at.get("image")) >= 3  # ten-digit row, traversal, interpolation
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"Download this digit (PNG)", "Download this row (PNG)", "Download traversal (PNG)"} <= downloads
    # the interpolation starts between two different digits (test image #0 and #1 may be the same one)
    caption = next(c.value for c in at.caption if c.value.startswith("Left and right"))
    ends = caption.split("(labelled ")[1].split(")")[0].split(" and ")
    assert len(ends) == 2 and ends[0] != ends[1], caption
    # The sidebar says what the model on show is, its size included (the tiny preset: 127,742 weights).
    assert "z_dim 2 · relu · gaussian · digit-conditioned · 128k weights" in [c.value for c in at.sidebar.caption]


def test_choosing_a_digit_changes_the_image(app_env, fresh_streamlit_caches, fallback):
    at = open_page(PAGE)
    assert not at.exception
    assert any("could not load" in i.value for i in at.info)
    labels = [s.label for s in at.slider]
    assert any(label.startswith("z0 · KL") for label in labels)
    before = at.get("image")[0].proto.imgs[0].url
    at.selectbox(key="gen_canvas_digit_a").select(7).run()
    assert not at.exception
    assert at.get("image")[0].proto.imgs[0].url != before
    at.slider(key="gen_canvas_z0").set_value(2.5).run()
    assert not at.exception


def test_random_style_and_a_request_from_the_latent_page(app_env, fresh_streamlit_caches, fallback):
    at = open_page(PAGE)
    z_before = [s.value for s in at.slider if s.key.startswith("gen_canvas_z")]
    at.button(key="gen_random").click().run()
    z_after = [s.value for s in at.slider if s.key.startswith("gen_canvas_z")]
    assert z_after != z_before
    at.session_state["gen_request"] = {"z": [1.5, -1.0], "digit": 3, "source": "test digit #12"}
    at.run()
    assert not at.exception
    assert any("test digit #12" in s.value for s in at.success)
    assert [round(s.value, 2) for s in at.slider if s.key.startswith("gen_canvas_z")] == [1.5, -1.0]
    assert at.selectbox(key="gen_canvas_digit_a").value == 3


@pytest.mark.browser
def test_the_traversal_starts_on_each_models_own_most_used_dimension(app_env, fresh_streamlit_caches, mnist):
    """Switching models must not carry a dimension chosen for another model, labelled with its KL."""
    from pathlib import Path

    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.trainer import Trainer

    other = Trainer(preset("tiny").replace(z_dim=6, epochs=1, seed=5), mnist, device="cpu")
    other.run()
    save_checkpoint(Path(app_env["VAE_CHECKPOINT_DIR"]) / "six.pt", other.to_checkpoint())

    def traversal(at):
        return next(s for s in at.selectbox if s.label == "Sweep dimension")

    def kl(label: str) -> float:
        return float(re.search(r"KL (\d+\.\d+)", label)[1])

    at = open_page(PAGE)
    at.sidebar.selectbox[0].select("six").run()
    labels = traversal(at).options
    busiest = max(range(6), key=lambda i: kl(labels[i]))
    assert traversal(at).value == busiest
    at.sidebar.selectbox[0].select("tiny-test").run()  # z_dim 2: pick the dimension "six" uses least
    pick = next(i for i in (0, 1) if i != busiest)
    traversal(at).select(pick).run()
    at.sidebar.selectbox[0].select("six").run()
    assert traversal(at).options == labels and traversal(at).value == busiest
    assert not at.exception


def test_generate_page_in_chromium(app_server, browser, screenshot_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(f"{app_server.url}/Generate")
    wait_for_app(page)
    frame_el = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000)
    frame = frame_el.content_frame()
    frame.wait_for_function("() => window.__renderCount > 0", timeout=60_000)
    first = frame.evaluate("() => Array.from(window.__lastPixels)")
    frame.evaluate("() => window.__setInputs({digit_a: 7, digit_b: 7, mix: 0})")
    frame.wait_for_function("(n) => window.__renderCount > n", arg=1, timeout=10_000)
    second = frame.evaluate("() => Array.from(window.__lastPixels)")
    assert np.abs(np.array(first) - np.array(second)).max() > 0.05
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(screenshot_dir / "generate.png"), full_page=True)
    # The downloads are made only on click (a slider's rerun encodes no PNG): a click still gets one.
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download traversal (PNG)").click()
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size[0] > 28 * 11


# One committed slider change, as a drag ends: the canvas's value goes to Python on `change`.
RELEASE = """() => { const inputs = document.querySelectorAll('input[data-index]'), last = inputs[inputs.length - 1];
    last.value = String(Number(last.value) > 0 ? -1.5 : 1.5);
    last.dispatchEvent(new Event('input', {bubbles: true}));
    last.dispatchEvent(new Event('change', {bubbles: true})); }"""


@pytest.mark.browser
def test_a_slider_release_redraws_only_what_z_draws(app_server, browser):
    """The sliders and what they draw are one fragment: a release reruns it alone, and the browser is not sent
    the sidebar or the page's head again (a third of the messages: BENCHMARKS.md, the slider round trip)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    received = record_messages(page)
    page.goto(f"{app_server.url}/Generate")
    wait_for_app(page)
    frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
    frame.wait_for_function("() => document.body.dataset.weightsKey && window.__renderCount > 0", timeout=60_000)
    wait_for_app(page)
    srcs = "() => Array.from(document.querySelectorAll(\"[data-testid='stImage'] img\"), i => i.src).join(' ')"
    before = page.evaluate(srcs)
    received.clear()
    frame.evaluate(RELEASE)
    page.wait_for_function(f"([before]) => ({srcs})() !== before", arg=[before])  # the traversal redrawn
    wait_for_app(page)
    sent = deltas(received)
    assert sent, f"{len(received)} messages, no delta"
    assert {m.metadata.delta_path[0] for m in sent} == {0}  # the main area only: container 1 is the sidebar
    assert all(m.delta.fragment_id for m in sent)  # each one from the fragment's run
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_student_shown_a_saved_model_is_offered_the_live_run(app_env, fresh_streamlit_caches, fallback):
    from ui import state
    from vae.config import preset

    def offered(at) -> bool:
        return any(b.key == "sidebar_show_live" for b in at.sidebar.button)

    at = open_page(PAGE)
    assert not offered(at)  # no live run: nothing to offer
    trainer = state.lab().start(preset("tiny").replace(epochs=1000))  # the instructor's run
    trainer.pause()
    at.sidebar.selectbox(key="sidebar_model").select("tiny-test").run()  # this student looks at a saved model
    assert not at.exception and offered(at)
    assert any("A live run is paused on this server" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/1_Train.py").run()  # which shows the live run, whatever the picker says
    assert not offered(at) and not [c for c in at.sidebar.caption if "this page shows a saved model" in c.value]
    assert any("This page shows the live run; the other pages show “tiny-test”" in c.value for c in at.main.caption)
    at.switch_page(PAGE).run()
    at.sidebar.button(key="sidebar_show_live").click().run()
    assert at.sidebar.selectbox(key="sidebar_model").value == state.LIVE_CHOICE
    assert not offered(at) and not at.exception


def test_the_sidebar_says_when_a_new_live_run_replaced_the_one_the_page_shows(app_env, fresh_streamlit_caches):
    """A page's fragments redraw with the run they were first drawn with: once the instructor replaces the
    live run, the sidebar's status says so and offers a redraw, instead of the new run's epoch and state
    beside the old run's description."""
    from streamlit.testing.v1 import AppTest

    from ui import state
    from vae.config import preset

    def app(run_id: str) -> None:
        from ui import layout, state

        layout.live_status((run_id, state.lab().trainer.view.epoch))

    def sidebar_status(drawn_run_id: str) -> AppTest:
        return AppTest.from_function(app, args=(drawn_run_id,), default_timeout=30).run()

    trainer = state.lab().start(preset("tiny").replace(epochs=1000))
    trainer.pause()
    own = sidebar_status(trainer.view.run_id)
    assert not own.exception and own.markdown[0].value.startswith("**⏸️ paused** · epoch")
    replaced = sidebar_status("live-an-earlier-run")
    assert not replaced.exception and "replaced the one this page shows" in replaced.markdown[0].value
    assert [b.label for b in replaced.button] == ["Show the new run"]


@pytest.mark.browser
def test_a_page_drawn_from_an_older_epoch_of_the_live_run_updates_on_request(app_server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{app_server.url}/Train")
    wait_for_app(page)
    start_run_in_browser(page, epochs=50, batch_size=2)  # 2,000 steps an epoch: a few seconds each
    page.get_by_text("Training in the background").wait_for(timeout=120_000)
    page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']", has_text="Generate").click()
    frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
    frame.wait_for_function("() => document.body.dataset.weightsKey", timeout=60_000)
    key_before = frame.evaluate("() => document.body.dataset.weightsKey")
    sidebar = page.locator("[data-testid='stSidebar']")
    update = sidebar.get_by_role("button", name=re.compile(r"^Update to epoch \d+$"))
    update.wait_for(timeout=120_000)  # the run has finished an epoch since the page was drawn
    assert "This page shows the model after epoch" in sidebar.inner_text()
    update.click()
    frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
    frame.wait_for_function("(k) => document.body.dataset.weightsKey !== k", arg=key_before, timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
