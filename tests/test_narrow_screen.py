"""On a 1024-pixel classroom projector, with the sidebar open, no button or link label is cut to "…",
no formula runs off the page and the drawing canvas is whole."""

from __future__ import annotations

import pytest

from bench.harness import wait_for_app
from tests.helpers import start_run_in_browser

# Streamlit cuts a label that does not fit its button with an ellipsis (text-overflow: ellipsis): the
# label's element is then narrower than its text. Returns the labels cut, as the page holds them.
CLIPPED = """() => Array.from(document.querySelectorAll('button, [data-testid="stPageLink"] a'))
    .filter(b => b.offsetParent !== null && b.innerText.trim())
    .filter(b => [b, ...b.querySelectorAll('*')].some(e =>
        getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1))
    .map(b => b.innerText.trim())"""
# A formula wider than its box is cut at the box's edge (a scroll bar only touchpads find).
WIDE_FORMULAS = """() => Array.from(document.querySelectorAll('.katex-display'))
    .filter(e => e.scrollWidth > e.clientWidth + 4).map(e => e.innerText.slice(0, 40))"""

# A chart's title (a plotly annotation) wider than its chart is cut at the chart's edge.
CUT_TITLES = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => {
    const box = plot.querySelector('.main-svg').getBoundingClientRect();
    return Array.from(plot.querySelectorAll('.annotation-text')).filter(t => {
        const r = t.getBoundingClientRect();
        return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);
    }).map(t => t.textContent.slice(0, 60));
})"""


@pytest.mark.browser
def test_no_label_or_formula_is_cut_short_on_a_1024_pixel_screen(app_server, app_env, browser, screenshot_dir):
    import os
    import shutil
    from pathlib import Path

    judges = Path(app_env["VAE_CHECKPOINT_DIR"]) / "judges"  # the shipped judge: the run charts its verdicts too
    shutil.copytree(Path(__file__).resolve().parent.parent / "checkpoints" / "judges", judges)
    assert os.listdir(judges)
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(app_server.url + "/Train")
    wait_for_app(page)
    start_run_in_browser(page, epochs=1000, batch_size=100)  # the live panel's Pause and Stop buttons
    page.get_by_role("button", name="Pause").wait_for(timeout=120_000)
    page.get_by_text("draws the digit asked for").first.wait_for(timeout=120_000)  # an epoch judged
    clipped = {"Train": page.evaluate(CLIPPED)}
    cut_titles = {"Train": page.evaluate(CUT_TITLES)}
    assert page.get_by_role("button", name="Deploy").count() == 0  # .streamlit/config.toml: toolbarMode
    page.screenshot(path=screenshot_dir / "narrow_train.png")
    for name in ("Home", "Generate", "Latent space", "Reconstruct", "Theory"):
        page.locator("[data-testid='stSidebar']").get_by_role("link", name=name, exact=True).click()
        page.get_by_role("heading", level=1, name=name if name != "Home" else "VAE Explorer").wait_for(timeout=60_000)
        wait_for_app(page)
        clipped[name] = page.evaluate(CLIPPED)
        cut_titles[name] = page.evaluate(CUT_TITLES)
        if name == "Reconstruct":
            canvas_cut = canvas_edges_hidden(page)
    page.get_by_text("Where does this identity come from?").click()  # its formula too
    page.locator(".katex-display").nth(6).wait_for()
    wide = page.evaluate(WIDE_FORMULAS)
    page.screenshot(path=screenshot_dir / "narrow_theory.png")
    page.close()
    assert not any(clipped.values()), clipped
    assert not any(cut_titles.values()), cut_titles
    assert not wide, wide
    assert not canvas_cut, canvas_cut


def canvas_edges_hidden(page) -> list[str]:
    """Which edges of the drawing canvas a box around it cuts off (its overflow is hidden there)."""
    canvas = page.locator("canvas.upper-canvas").first  # fabric.js takes the strokes on its upper canvas
    canvas.scroll_into_view_if_needed(timeout=30_000)
    return canvas.evaluate(
        """c => {
            const r = c.getBoundingClientRect(), cut = new Set();
            for (let e = c.parentElement; e; e = e.parentElement) {
                const s = getComputedStyle(e);
                if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
                const a = e.getBoundingClientRect();
                if (r.left < a.left - 1) cut.add('left');
                if (r.right > a.right + 1) cut.add('right');
                if (r.bottom > a.bottom + 1) cut.add('bottom');
            }
            return [...cut];
        }"""
    )


# Whether an element lies wholly inside the first screen (the viewport as the page opens, unscrolled).
IN_VIEW = """e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1; }"""


def _in_view(page, selector: str, settle_ms: int = 10_000) -> bool:
    """Whether the element comes to lie on the first screen once the page has settled: a chart is laid out
    at plotly's default width before it fits its column, and a slow machine can be caught in between."""
    locator = page.locator(selector).first
    locator.wait_for(timeout=60_000)
    for _ in range(settle_ms // 250 + 1):
        if locator.evaluate(IN_VIEW):
            return True
        page.wait_for_timeout(250)
    box = locator.evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")
    print(f"not on the first screen: {selector} at {box} (left, top, right, bottom)")  # shown when the test fails
    return False


@pytest.mark.browser
def test_each_pages_picture_and_its_controls_are_on_the_first_screen_of_a_projector(
    app_server, browser, screenshot_dir
):
    """1024x768 with the sidebar open: a student sees the main picture and what moves it without scrolling."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    seen = {}
    page.goto(app_server.url)
    wait_for_app(page)
    seen["Home: the grid"] = _in_view(page, "[data-testid='stImage'] img")
    seen["Home: the temperature"] = _in_view(page, "[data-testid='stSlider']")
    seen["Home: the last page link"] = _in_view(
        page, "[data-testid='stMainBlockContainer'] [data-testid='stPageLink']:last-of-type"
    )
    page.goto(app_server.url + "/Generate")
    wait_for_app(page)
    seen["Generate: picture and sliders"] = _in_view(page, "iframe[title*='latent_canvas']")
    page.goto(app_server.url + "/Latent_space")
    wait_for_app(page)
    seen["Latent space: the map"] = _in_view(page, "iframe[title*='latent_map']")
    seen["Latent space: why its colours mix"] = _in_view(page, "text=Why are the colours mixed?")
    page.goto(app_server.url + "/Train")
    wait_for_app(page)
    seen["Train: Start"] = _in_view(page, "button:has-text('Start training')")
    start_run_in_browser(page, epochs=1000, batch_size=100)
    page.get_by_role("button", name="Pause").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)  # Start scrolls the page to the run
    for name, selector in {
        "Train: Pause": "button:has-text('Pause')",
        "Train: the film": "iframe[title*='film']",
        "Train: the curves": "[data-testid='stPlotlyChart'] .js-plotly-plot",  # drawn (plotly is lazy)
        "Train: the model": ".model-diagram",
    }.items():
        seen[name] = _in_view(page, selector)
    page.screenshot(path=screenshot_dir / "first_screen_train_1024x768.png")
    page.close()
    assert all(seen.values()), seen
