"""The Theory page: every section renders its widget on the tiny model; the reparameterization widget
resamples eps and z but not mu; a plain (non-conditional) model is explained, not crashed on; and a
real browser shows the page with its pictures and no error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/5_Theory.py"


def theory_app() -> AppTest:
    # Entered through the home page, as in the app: the page links to pages/1_Train.py, which
    # st.page_link resolves only when explorer_app.py is the entry point.
    at = AppTest.from_file(str(ROOT / "explorer_app.py"), default_timeout=120)
    at.switch_page(PAGE)
    return at


def sections(at: AppTest) -> dict[str, Counter]:
    """Element types under each st.header, in page order ("1", "2", ... -> Counter of types)."""
    found: dict[str, Counter] = {}
    current = ""

    def walk(node: object) -> None:
        nonlocal current
        children = getattr(node, "children", None) or {}
        for key in sorted(children):
            child = children[key]
            if child.type == "header":
                current = child.value.split(" ")[0]
                found[current] = Counter()
            elif current:
                found[current][child.type] += 1
            walk(child)

    walk(at.main)
    return found


def diagram(at: AppTest) -> str:
    """The HTML of the model's diagram (ui.diagram), the one Markdown element that holds it."""
    (found,) = [m.value for m in at.markdown if m.value.startswith('<div class="model-diagram">')]
    return found


def chart_keys(at: AppTest) -> set[str]:
    return {chart.proto.id.rsplit("-", 1)[-1] for chart in at.get("plotly_chart")}


def test_every_section_renders_its_widget(app_env: dict[str, str], fresh_streamlit_caches: None) -> None:
    at = theory_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    s = sections(at)
    assert list(s) == [str(i) for i in range(1, 9)]
    assert s["1"]["image"] == 3 and s["1"]["plotly_chart"] == 1  # digits / glued halves / noise, with ELBOs
    assert s["2"]["latex"] == 1 and s["2"]["image"] == 1 and s["2"]["button"] == 1  # 8 z from the prior
    assert s["3"]["plotly_chart"] == 1 and s["3"]["latex"] == 1 and s["3"]["image"] == 1  # ring; f(z) and a draw
    assert s["4"]["image"] == 3 and s["4"]["plotly_chart"] == 1 and s["4"]["number_input"] == 1  # prior vs encoder
    assert s["5"]["metric"] == 3 and s["5"]["latex"] >= 3 and s["5"]["plotly_chart"] == 1  # ELBO parts, KL per dim
    assert s["6"]["dataframe"] == 1 and s["6"]["plotly_chart"] == 1 and s["6"]["button"] == 1  # reparameterization
    assert "<svg" in diagram(at)  # all together: the model drawn with one digit's values
    assert (
        s["7"]["image"] >= 3 and s["7"]["slider"] == 1 and s["7"]["component_instance"] == 1
    )  # ten digits, blend, drag
    assert s["8"]["page_link"] == 1 and s["8"]["image"] == 1 and s["8"]["plotly_chart"] == 1  # epoch rows, losses
    assert chart_keys(at) == {"th_elbo_hist", "th_ring", "th_mc_hist", "th_kl_bars", "th_rep_chart", "th_curves"}

    elbo = {m.label: float(m.value.replace(",", "")) for m in at.metric}
    recon, kl, total = elbo["Reconstruction E[log P(X|z)]"], elbo["KL(Q(z|X) ‖ P(z))"], elbo["ELBO"]
    assert kl >= 0 and total == pytest.approx(recon - kl, abs=0.15)  # ELBO = reconstruction - KL, as displayed


def test_resample_eps_changes_z_but_not_mu(app_env: dict[str, str], fresh_streamlit_caches: None) -> None:
    at = theory_app()
    at.run()
    before = at.dataframe[0].value
    at.button(key="th_resample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = at.dataframe[0].value
    np.testing.assert_allclose(after["μ"], before["μ"])
    np.testing.assert_allclose(after["σ"], before["σ"])
    assert not np.allclose(after["ε"], before["ε"])
    assert not np.allclose(after["z = μ + σ·ε"], before["z = μ + σ·ε"])
    np.testing.assert_allclose(after["z = μ + σ·ε"], after["μ"] + after["σ"] * after["ε"], atol=1e-5)

    at.number_input(key="th_rep_index").set_value(5).run()  # another digit: a new mu
    assert not np.allclose(at.dataframe[0].value["μ"], after["μ"])


def test_the_diagram_shows_the_same_digit_and_eps_as_the_table(
    app_env: dict[str, str], fresh_streamlit_caches: None
) -> None:
    from tests.test_diagram import row_values

    at = theory_app()
    at.run()
    for change in (
        None,
        lambda: at.button(key="th_resample").click(),
        lambda: at.number_input(key="th_rep_index").set_value(5),
    ):
        if change is not None:
            change()
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        rows = row_values(diagram(at))
        table = at.dataframe[0].value
        shown = np.array([rows[j] for j in range(len(table))])  # (z_dim, 4): mu, sigma, eps, z
        np.testing.assert_allclose(shown, table[["μ", "σ", "ε", "z = μ + σ·ε"]].to_numpy(), atol=0.006)
        assert "which digit" in diagram(at)


def test_blend_slider_and_style_source(app_env: dict[str, str], fresh_streamlit_caches: None) -> None:
    at = theory_app()
    at.run()
    at.slider(key="th_mix").set_value(0.8).run()
    at.radio(key="th_style_source").set_value("the μ of a test image").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="th_style_index").value is not None
    assert any("0.20·3 + 0.80·8" in (cap or "") for img in at.get("image") for cap in _captions(img))


def _captions(image: object) -> list[str]:
    return [i.caption for i in image.proto.imgs]


def test_plain_vae_says_it_has_no_digit_input(
    app_env: dict[str, str], fresh_streamlit_caches: None, mnist: object
) -> None:
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.trainer import Trainer

    trainer = Trainer(preset("tiny").replace(classification_weight=0.0, epochs=1), mnist, device="cpu")
    trainer.run()
    save_checkpoint(Path(app_env["VAE_CHECKPOINT_DIR"]) / "plain.pt", trainer.to_checkpoint())
    at = theory_app()
    at.run()
    at.selectbox(key="sidebar_model").set_value("plain").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no digit input" in i.value for i in at.info)
    assert "No classifier" in diagram(at)  # the diagram has no classifier box
    assert not at.slider  # no digit blend for a model that cannot be given a digit
    assert len(at.dataframe) == 1  # the rest of the page still works


def test_the_learning_rows_of_a_slim_checkpoint_name_their_real_epochs(
    app_env: dict[str, str], fresh_streamlit_caches: None
) -> None:
    """A slim checkpoint (the shipped models) keeps some epochs' rows: they are not epochs 1, 2, 3."""
    import dataclasses

    from vae.checkpoint import load_checkpoint, save_checkpoint

    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    ckpt = load_checkpoint(folder / "tiny-test.pt")  # 3 epochs: rows after epochs 1, 2, 3
    save_checkpoint(folder / "thinned.pt", dataclasses.replace(ckpt, sample_epochs=[1, 250, 600]))
    at = theory_app()
    at.run()
    at.selectbox(key="sidebar_model").set_value("thinned").run()
    assert not at.exception
    assert any(c.value.startswith("Top to bottom: after epoch 1, 250, 600.") for c in at.caption)


@pytest.mark.browser
def test_theory_page_in_a_browser(app_server: object, browser: object, screenshot_dir: Path) -> None:
    from bench.harness import wait_for_app

    page = browser.new_page(viewport={"width": 1400, "height": 7000})
    try:
        page.goto(app_server.url + "/Theory")
        page.get_by_role("heading", name="8 · Watching it learn").wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        # Plotly draws after the script has finished: wait for all six charts before looking.
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6", timeout=60_000)
        page.screenshot(path=str(screenshot_dir / "theory.png"))
        assert page.locator("[data-testid='stException']").count() == 0
        images = page.locator("[data-testid='stImage'] img")
        assert images.count() >= 25
        assert all(images.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(images.count()))
    finally:
        page.close()
