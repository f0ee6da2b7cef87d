"""The Compare page: the lesson kit's questions, models picked by hand, models that vanish, and the page
on one 1024x768 screen in a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests import helpers
from ui import compare
from vae import compare as measure
from vae.checkpoint import load_checkpoint

PAGE = "pages/6_Compare.py"
KIT = Path(__file__).resolve().parent.parent / "checkpoints" / "kit"
BETA = ["kit/beta-0.2", "kit/beta-1", "kit/beta-4"]


@pytest.fixture
def kit_env(app_env: dict[str, str]) -> dict[str, str]:
    """The app's checkpoint folder (the tiny test model) with a copy of the shipped lesson kit."""
    shutil.copytree(KIT, Path(app_env["VAE_CHECKPOINT_DIR"]) / "kit")
    return app_env


@pytest.fixture
def drawn(monkeypatch) -> list:
    """What the page asks the same-z picture to show: (models, their rows), one per page run."""
    calls, real = [], compare.same_z_png
    monkeypatch.setattr(compare, "same_z_png", lambda items, rows: calls.append((items, rows)) or real(items, rows))
    return calls


def curves(at) -> dict:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "test loss" in c.proto.spec)
    return spec


def test_the_beta_question_shows_three_runs_and_three_rows_of_one_z(kit_env, fresh_streamlit_caches, drawn, mnist):
    at = helpers.open_page(PAGE)
    at.button_group(key="cmp_question").set_value("classifier").run()  # another question, then β
    at.button_group(key="cmp_question").set_value("beta").run()
    assert not at.exception and at.multiselect(key="cmp_models").value == BETA
    names = [t["name"] for t in curves(at)["data"] if t["xaxis"] == "x"]
    assert names == ["kit: β 0.2", "kit: β 1", "kit: β 4"]  # the test loss of three runs, on one axis
    items, rows = drawn[-1]
    assert [e.choice for e in items] == BETA and len(rows) == 3
    z = measure.shared_z([10, 10, 10], compare.N_STYLES, seed=0)  # one z, decoded by each model
    for choice, row in zip(BETA, rows, strict=True):
        run = load_checkpoint(KIT / f"{choice[4:]}.pt")
        assert np.array_equal(row, measure.same_z_images(run.model, z, 0))
    # the sentence quotes what was measured: β 4's KL on the shared test images
    torch.manual_seed(0)
    x, y = measure.test_sample(mnist)
    kl = measure.scores(load_checkpoint(KIT / "beta-4.pt").model, x, y)["kl"]
    text = at.markdown[1].value
    assert text.startswith("**What does β do?**") and f"puts {kl:.1f} nats into z" in text
    table = next(m.value for m in at.markdown if "cmp-table" in m.value)
    assert table.count("■") == 3 and "ℹ️" not in table  # alike models: no note


def test_the_digit_and_other_z_redraw_the_rows_for_every_model(kit_env, fresh_streamlit_caches, drawn):
    at = helpers.open_page(PAGE)
    first = drawn[-1][1]
    at.selectbox(key="cmp_digit").set_value(7).run()
    sevens = drawn[-1][1]
    at.button(key="cmp_other_z").click().run()
    assert not at.exception
    assert not np.array_equal(first[0], sevens[0]) and not np.array_equal(sevens[0], drawn[-1][1][0])
    assert "asked for 7" in " ".join(c.value for c in at.caption)


def test_mixed_models_get_notes_not_errors(kit_env, fresh_streamlit_caches, drawn):
    at = helpers.open_page(PAGE)
    at.multiselect(key="cmp_models").set_value(["kit/beta-1", "kit/plain", "tiny-test"]).run()
    assert not at.exception and not at.error
    table = next(m.value for m in at.markdown if "cmp-table" in m.value)
    assert "z_dim differs (2, 10)" in table and "“kit: plain VAE” has no classifier" in table
    assert at.button_group(key="cmp_question").value is None  # models picked by hand: no question
    assert "fits best" in at.markdown[1].value  # a measured comparison instead
    items, rows = drawn[-1]
    assert [r.shape for r in rows] == [(compare.N_STYLES, 784)] * 3


def test_a_deleted_or_corrupt_model_drops_out_with_a_message(kit_env, fresh_streamlit_caches):
    at = helpers.open_page(PAGE)
    kit_dir = Path(kit_env["VAE_CHECKPOINT_DIR"]) / "kit"
    (kit_dir / "beta-4.pt").unlink()  # in another browser, say
    at.run()
    assert not at.exception
    assert any("“kit: β 4” dropped out" in w.value for w in at.warning)
    assert at.multiselect(key="cmp_models").value == BETA[:2]
    assert len([t for t in curves(at)["data"] if t["xaxis"] == "x"]) == 2
    (kit_dir / "beta-1.pt").write_bytes(b"not a checkpoint")
    at.multiselect(key="cmp_models").set_value(["kit/beta-0.2", "kit/beta-1", "kit/zdim-2"]).run()
    assert not at.exception
    assert any("“kit: β 1” dropped out" in w.value and "not a readable" in w.value for w in at.warning)
    assert at.multiselect(key="cmp_models").value == ["kit/beta-0.2", "kit/zdim-2"]


def test_more_models_than_the_picker_allows_are_cut_to_its_limit_not_a_broken_page(kit_env, fresh_streamlit_caches):
    """A forged message can pick more than four models, or one twice: the page keeps the first four, once each
    (it raised StreamlitSelectionCountExceedsMaxError, and went on raising it on every visit)."""
    at = helpers.open_page(PAGE)
    kit = ["kit/beta-0.2", "kit/beta-1", "kit/beta-4", "kit/zdim-2", "kit/plain", "kit/lr-0.1"]
    at.session_state["cmp_models"] = [kit[0], *kit]
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="cmp_models").value == kit[:4]


def test_every_student_compares_freely_in_a_classroom(kit_env, fresh_streamlit_caches, monkeypatch):
    monkeypatch.setenv("VAE_INSTRUCTOR_PASSCODE", "sesame")
    at = helpers.open_page(PAGE)
    assert not at.exception
    at.button_group(key="cmp_question").set_value("lr").run()
    assert at.multiselect(key="cmp_models").value == ["kit/lr-0.1", "kit/beta-1"]
    assert not any(w.disabled for w in (*at.multiselect, *at.selectbox, *at.button))
    assert at.markdown[1].value.startswith("**What if the learning rate is too high?**")


@pytest.mark.browser
def test_picking_the_beta_question_in_a_browser_shows_three_curves_and_three_rows(kit_env, browser, screenshot_dir):
    from bench.harness import StreamlitServer, wait_for_app

    with StreamlitServer("explorer_app.py", env=kit_env) as server:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(server.url + "/Compare")
        wait_for_app(page)
        page.get_by_text("What does the classifier add?", exact=True).click()
        page.locator("strong", has_text="What does the classifier add?").wait_for(timeout=60_000)
        page.get_by_text("What does β do?", exact=True).click()
        page.locator("strong", has_text="What does β do?").wait_for(timeout=60_000)
        wait_for_app(page)
        names = page.evaluate(
            """() => { const plot = [...document.querySelectorAll('.js-plotly-plot')]
                         .find(p => (p.layout.annotations || []).some(a => a.text.startsWith('test loss')));
                       return plot.data.filter(t => t.xaxis === 'x').map(t => t.name); }"""
        )
        picture = page.locator("[data-testid='stImage'] img").first
        height = picture.evaluate("img => img.naturalHeight")
        bottom = page.evaluate(
            """() => Math.max(...[...document.querySelectorAll('.js-plotly-plot, [data-testid="stImage"] img')]
                     .map(e => e.getBoundingClientRect().bottom))"""
        )
        page.screenshot(path=screenshot_dir / "compare_beta_1024x768.png")
        page.close()
    assert names == ["kit: β 0.2", "kit: β 1", "kit: β 4"]
    assert height == 3 * compare.ROW_PX  # three rows of digits, one per model
    assert bottom <= 768  # curves, digits, KL bars and maps all on one screen
