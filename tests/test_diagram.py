"""ui.diagram: the model drawn with one image's values. Unit tests read the SVG it writes; the browser
test checks that it fits the main column of a 1024x768 projector with the sidebar open, with text a
class can read, and takes screenshots at 1024x768 and 1400x1000."""

from __future__ import annotations

import base64
import io
import re
from html import unescape

import numpy as np
import pytest
import torch
from PIL import Image

from ui.diagram import LIMIT, MAX_ROWS, WIDTH, compact_svg, diagram_html, diagram_svg
from ui.words import CLOTHES, DIGITS
from vae.anatomy import trace
from vae.config import preset
from vae.model import ConditionalVAE

ROW_TIP = re.compile(r"<title>z(\d+): μ ([-+][\d.]+), σ ([\d.]+), ε ([-+][\d.]+), z ([-+][\d.]+)</title>")
READABLE_PX = 14  # the smallest text a projector's back row reads
COLUMN_1024 = 564  # px: the narrowest main column at 1024x768 with the sidebar open (Streamlit's own margins;
# ui/layout.PROJECTOR_CSS narrows them to 676 px: the browser tests check at least this)


def model_of(**changes) -> ConditionalVAE:
    torch.manual_seed(0)
    return ConditionalVAE(preset("seed").replace(**changes).model).eval()


def an_image() -> torch.Tensor:
    return torch.rand(1, 784, generator=torch.Generator().manual_seed(0))


def row_values(svg: str) -> dict[int, tuple[float, ...]]:
    """The numbers each latent row's tooltip shows: {dimension: (mu, sigma, eps, z)}."""
    return {int(m[0]): tuple(map(float, m[1:])) for m in ROW_TIP.findall(svg)}


def pictures(svg: str) -> list[np.ndarray]:
    return [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
        for data in re.findall(r'href="data:image/png;base64,([^"]+)"', svg)
    ]


def test_each_row_shows_its_dimensions_values_and_the_images_are_the_models():
    model, x = model_of(), an_image()
    a = trace(model, x, torch.Generator().manual_seed(5))
    svg = diagram_svg(a, model.config, DIGITS)
    rows = row_values(svg)
    assert sorted(rows) == list(range(10))
    for j, (mu, sigma, eps, z) in rows.items():
        np.testing.assert_allclose([mu, sigma, eps, z], [a.mu[j], a.sigma[j], a.eps[j], a.z[j]], atol=0.006)
    image, recon, recon_mu = pictures(svg)  # input, output from z, output from mu
    for shown, values in ((image, a.image), (recon, a.recon), (recon_mu, a.recon_mu)):
        assert shown.shape == (28, 28)  # square pixels are the browser's job (image-rendering: pixelated)
        np.testing.assert_array_equal(shown, np.round(values * 255).astype(np.uint8))
    assert "image-rendering: pixelated" in svg
    for name in DIGITS.names:
        assert f">{name}</text>" in svg
    assert "which digit" in svg and ">Classifier</text>" in svg


def test_the_seed_diagrams_text_is_readable_in_a_1024_pixel_column():
    svg = diagram_html(model_of(), an_image(), 0, DIGITS)
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg)]
    assert min(sizes) * COLUMN_1024 / WIDTH >= READABLE_PX, (min(sizes), WIDTH)


def test_fashion_names_and_words():
    html = diagram_html(model_of(), an_image(), 0, CLOTHES)
    for name in CLOTHES.names:
        assert f">{name}</text>" in html
    assert "which class" in html and "which digit" not in html
    assert "turns the image into" in html
    assert "\n" not in html  # one line: Markdown passes an HTML block through only up to a blank line


def test_a_wide_latent_space_shows_its_first_rows_and_says_how_many_more():
    html = diagram_html(model_of(z_dim=64), an_image(), 0, DIGITS)
    assert sorted(row_values(html)) == list(range(MAX_ROWS))
    assert f"+{64 - MAX_ROWS} more dimensions" in html
    assert "each of the 64 numbers of z" in html
    assert ">2×64</text>" in html and ">64+10</text>" in html  # the encoder's output, the decoder's input
    assert len(html) < 30_000  # cheap enough to send every time a live run moves on


def test_a_plain_vae_has_no_classifier_and_says_so():
    model = model_of(classification_weight=0.0, z_dim=1)
    html = diagram_html(model, an_image(), 0, DIGITS)
    assert "No classifier" in html and ">Classifier</text>" not in html and "which digit" not in html
    assert sorted(row_values(html)) == [0]
    assert ">1</text>" in html  # the decoder reads z alone: 1 number
    assert "for the one number of z;" in html


def test_the_seed_picks_eps():
    model, x = model_of(), an_image()
    first, again, other = (row_values(diagram_html(model, x, s, DIGITS)) for s in (3, 3, 4))
    assert first == again and first != other
    assert [r[0] for r in first.values()] == [r[0] for r in other.values()]  # mu depends on x alone


def test_bars_are_to_scale_and_a_value_out_of_range_is_marked():
    from ui.diagram import COLUMNS, _bar

    left, w = COLUMNS["mu"]
    half = re.search(r'width="([\d.]+)"', _bar("mu", LIMIT / 2, left, w, 0, 10))
    assert float(half[1]) == pytest.approx(w / 4, abs=0.1)
    assert "<polygon" not in _bar("mu", -LIMIT, left, w, 0, 10)
    beyond = _bar("mu", -2 * LIMIT, left, w, 0, 10)
    assert "<polygon" in beyond and f'x="{left:.1f}"' in beyond  # cut at the left edge, and says so


def test_upright_bars_grow_up_from_the_middle_or_from_the_bottom():
    from ui.diagram import SIGMA_FULL, _bar

    def rect(svg: str) -> dict[str, float]:
        return {k: float(v) for k, v in re.findall(r'(x|y|width|height)="([\d.]+)"', svg.split("/>")[0])}

    bottom, length = 100, 80  # the axis runs from y 100 up to y 20; its middle is y 60
    assert rect(_bar("z", LIMIT / 2, bottom, length, 5, 4, up=True)) == {"x": 5, "y": 40, "width": 4, "height": 20}
    assert rect(_bar("z", -LIMIT / 4, bottom, length, 5, 4, up=True)) == {"x": 5, "y": 60, "width": 4, "height": 10}
    assert rect(_bar("sigma", SIGMA_FULL / 2, bottom, length, 5, 4, up=True)) == {
        "x": 5, "y": 60, "width": 4, "height": 40,
    }  # fmt: skip
    above = _bar("eps", 2 * LIMIT, bottom, length, 5, 4, up=True)
    assert "<polygon" in above and "7.0,15.0" in above  # the triangle's tip, over the top edge (y 20)
    below = _bar("eps", -2 * LIMIT, bottom, length, 5, 4, up=True)
    assert "<polygon" in below and "7.0,105.0" in below  # under the bottom edge (y 100)


# In the browser: the SVG's box against the main column's content box, the smallest text in screen
# pixels (font size x the SVG's scale), overflow anywhere up the tree, whether the sanitiser
# (DOMPurify, in st.html) kept the pictures' data: URLs, texts that overlap or stick out of the figure
# (each text's box cut to +-0.35 of its font size around its middle: the glyphs, not the line height),
# and how many lines the sentence under the figure takes.
MEASURE = """svg => {
    const column = document.querySelector('[data-testid="stMainBlockContainer"]');
    const style = getComputedStyle(column), box = column.getBoundingClientRect();
    const r = svg.getBoundingClientRect(), scale = svg.getScreenCTM().a;
    const overflowing = [];
    for (let e = svg.parentElement; e && e !== document.body; e = e.parentElement)
        if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') overflowing.push(e.tagName);
    const texts = [...svg.querySelectorAll('text')].map(t => {
        const b = t.getBoundingClientRect(), half = 0.35 * parseFloat(t.getAttribute('font-size')) * scale;
        const middle = (b.top + b.bottom) / 2;
        return {s: t.textContent, left: b.left, right: b.right, top: middle - half, bottom: middle + half};
    });
    const overlapping = [];
    texts.forEach((a, i) => texts.slice(i + 1).forEach(b => {
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom && b.top < a.bottom) overlapping.push([a.s, b.s]);
    }));
    const sentence = svg.closest('.model-diagram').querySelector('p');
    return {
        left: r.left, right: r.right, width: r.width, height: r.height,
        columnLeft: box.left + parseFloat(style.paddingLeft), columnRight: box.right - parseFloat(style.paddingRight),
        smallestText: Math.min(...[...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale)),
        overflowing, pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        pictures: [...svg.querySelectorAll('image')].filter(i => (i.getAttribute('href') || '').startsWith('data:image/png')).length,
        overlapping, sticksOut: texts.filter(t => t.left < r.left - 1 || t.right > r.right + 1 || t.top < r.top || t.bottom > r.bottom).map(t => t.s),
        sentenceLines: sentence ? Math.round(sentence.getBoundingClientRect().height / parseFloat(getComputedStyle(sentence).lineHeight)) : 0,
    };
}"""


@pytest.fixture
def shipped_models_server(app_env: dict[str, str]):
    """The app over the shipped seed models (MNIST and Fashion-MNIST), besides the tiny test model."""
    import shutil
    from pathlib import Path

    from bench.harness import ROOT, StreamlitServer

    for name in ("seed-mnist.pt", "seed-fashion-mnist.pt"):
        shutil.copy(ROOT / "checkpoints" / name, Path(app_env["VAE_CHECKPOINT_DIR"]) / name)
    with StreamlitServer("explorer_app.py", env=app_env) as server:
        yield server


@pytest.mark.browser
def test_the_diagram_fits_the_main_column_of_a_1024_pixel_projector(shipped_models_server, browser, screenshot_dir):
    from bench.harness import wait_for_app

    seen = {}
    for (width, height), models in (
        ((1024, 768), ("seed-mnist", "seed-fashion-mnist")),
        ((1400, 1000), ("seed-mnist",)),
    ):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(shipped_models_server.url + "/Theory")
        for model in models:
            if model != "seed-mnist":  # the default
                page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
                page.get_by_role("option", name=model).click()
            page.get_by_role("heading", name="8 · Watching it learn").wait_for(timeout=120_000)
            wait_for_app(page, 120_000)
            kind = "class" if "fashion" in model else "digit"  # the page has been redrawn for this model
            page.locator(".model-diagram svg text", has_text=f"which {kind}").wait_for(timeout=120_000)
            svg = page.locator(".model-diagram svg")
            svg.evaluate("s => s.closest('.model-diagram').scrollIntoView({block: 'center'})")
            seen[width, model] = m = svg.evaluate(MEASURE)
            page.screenshot(path=screenshot_dir / f"diagram_{model}_{width}x{height}.png")
        page.close()
    for (width, model), m in seen.items():
        assert m["columnLeft"] - 1 <= m["left"] and m["right"] <= m["columnRight"] + 1, (width, model, m)
        assert not m["overflowing"] and not m["pageScrolls"], (width, model, m)
        assert m["smallestText"] >= READABLE_PX, (width, model, m)
        assert m["pictures"] == 3, (width, model, m)  # input, output, output from mu
    column = seen[1024, "seed-mnist"]["columnRight"] - seen[1024, "seed-mnist"]["columnLeft"]
    assert column >= COLUMN_1024 - 2  # at least the width the unit test above assumes (narrow page margins: 676)


def test_a_model_whose_weights_went_to_nan_gets_a_sentence_not_a_traceback():
    model = model_of()
    with torch.no_grad():
        model.mu_head.bias.fill_(float("nan"))
    html = diagram_html(model, an_image(), 0, DIGITS)
    assert "<svg" not in html and "NaN" in html


# --- the compact figure (the Train page, beside the curves and the sample grid) -------------------
COMPACT_PX = 220  # the most screen height the compact figure may take, at any column width
COMPACT_READABLE_PX = 13  # its smallest text in the 564-px column
BAR = re.compile(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="(#[0-9a-f]{6})"/>')


def view_box(svg: str) -> tuple[float, float, float]:
    """(width, height) of the viewBox and the max-width in px."""
    w, h = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    return w, h, float(re.search(r"max-width: (\d+)px", svg)[1])


def compact_of(vocab=DIGITS, seed: int = 5, **changes) -> tuple[str, object]:
    model = model_of(**changes)
    a = trace(model, an_image(), torch.Generator().manual_seed(seed))
    return compact_svg(a, model.config, vocab), a


@pytest.mark.parametrize(
    "changes, vocab",
    [
        ({}, DIGITS),
        ({}, CLOTHES),  # its names take two lines
        ({"z_dim": 64}, DIGITS),
        ({"classification_weight": 0.0}, DIGITS),
        (
            {"encoder_layers": (512, 256, 128), "decoder_layers": (128, 256, 512), "classifier_layers": (64, 32)},
            CLOTHES,
        ),
    ],
)
def test_the_compact_diagram_is_low_and_readable_in_any_column(changes, vocab):
    html = diagram_html(model_of(**changes), an_image(), 0, vocab, compact=True)
    assert html.startswith('<div class="model-diagram model-diagram-compact"><svg')
    assert "\n" not in html  # st.markdown passes an HTML block through only up to a blank line
    w, h, max_width = view_box(html)
    for column in (COLUMN_1024, 680, 940, 2000):  # 940: the main column at 1400x1000
        assert h * min(column, max_width) / w <= COMPACT_PX, (column, w, h)
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', html)]
    assert min(sizes) * COLUMN_1024 / w >= COMPACT_READABLE_PX, (min(sizes), w)
    assert len(html) < 30_000


@pytest.mark.parametrize("z_dim", [1, 2, 10, 16, 17, 64])
def test_the_compact_diagram_draws_one_upright_bar_per_dimension_in_each_chart(z_dim):
    from ui.diagram import CHART_H, CHART_TOP, CHART_W, SIGMA_FULL, _chart_left

    svg, a = compact_of(z_dim=z_dim)
    shown = min(z_dim, MAX_ROWS)
    groups = re.findall(r"<g><title>z(\d+):[^<]*</title>(.*?)</g>", svg)
    assert [int(j) for j, _ in groups] == list(range(shown))  # one group (one tooltip) per dimension
    assert sorted(row_values(svg)) == list(range(shown))
    for j, (_, body) in enumerate(groups):
        bars = [tuple(map(float, b[:4])) for b in BAR.findall(body)]
        assert len(bars) == 4, body  # mu, sigma, eps, z: one in each chart
        for i, ((x, y, width, height), v) in enumerate(zip(bars, (a.mu, a.sigma, a.eps, a.z), strict=True)):
            left = _chart_left(i)
            slot = CHART_W / shown
            assert left + j * slot <= x and x + width <= left + (j + 1) * slot + 0.1  # its place, left to right
            assert CHART_TOP - 0.1 <= y and y + height <= CHART_TOP + CHART_H + 0.1  # inside the chart
            full = CHART_H * min(v[j] / SIGMA_FULL, 1) if i == 1 else CHART_H / 2 * min(abs(v[j]) / LIMIT, 1)
            assert height == pytest.approx(full, abs=0.1), (i, j)
    more = f"+{z_dim - shown} more"
    assert (more in svg) == (z_dim > MAX_ROWS)
    for word in ("μ", "σ", "ε", "z", "mean", "spread", "random", "sample", "+", "·", "="):
        assert f">{word}</text>" in svg


def test_the_compact_classifier_feeds_the_decoder_with_ten_labelled_bars():
    from ui.diagram import TRACK_H

    for vocab in (DIGITS, CLOTHES):
        svg, a = compact_of(vocab)
        tips = re.findall(r"<g><title>([^<:]+): ([\d.]+)%</title>(.*?)</g>", svg)
        assert [name for name, _, _ in tips] == list(vocab.names)
        label_rows = set()
        for (name, percent, body), p in zip(tips, a.probs, strict=True):
            assert float(percent) == pytest.approx(100 * p, abs=0.06)
            (bar,) = [b for b in BAR.findall(body) if b[4] == "#1f77b4"]
            assert float(bar[3]) == pytest.approx(TRACK_H * p, abs=0.1)  # upright, to scale
            label_rows.add(re.search(rf'y="([\d.]+)"[^>]*>{re.escape(name)}</text>', body)[1])
        assert len(label_rows) == (1 if vocab is DIGITS else 2)  # long names alternate between two lines
        assert f"which {vocab.kind}</text>" in svg and ">Classifier</text>" in svg and ">784–128–10</text>" in svg


def test_the_compact_diagram_of_a_plain_vae_says_it_has_no_classifier():
    svg, _ = compact_of(classification_weight=0.0, z_dim=3)
    assert "No classifier" in svg and ">Classifier</text>" not in svg and "which digit" not in svg
    assert sorted(row_values(svg)) == [0, 1, 2]
    assert ">3</text>" in svg and ">2×3</text>" in svg  # the decoder reads z alone; the encoder gives mu and sigma


def test_the_compact_boxes_fold_many_layers_onto_one_line_and_keep_them_all_in_the_tooltip():
    svg, _ = compact_of(encoder_layers=(512, 256), decoder_layers=(64, 128, 256), classifier_layers=(64, 32))
    assert ">512, 256</text>" in svg and ">3 layers</text>" in svg and ">784–…–10</text>" in svg
    assert "hidden layers of 64, 128, 256 units" in svg and "hidden layers of 64, 32 units" in svg


def test_the_compact_sentence_is_one_short_line():
    html = diagram_html(model_of(), an_image(), 0, DIGITS, compact=True)
    sentence = unescape(re.search(r"<p>(.*)</p>", html)[1])
    assert "Blue" in sentence and "σ = 1" in sentence and len(sentence) <= 70  # one line in a 564-px column


@pytest.mark.browser
def test_the_compact_diagram_fits_beside_the_sidebar_of_a_1024_pixel_projector(browser, screenshot_dir):
    """tests/apps/diagram_app.py holds the compact figure as the Train page will: a wide page with the
    sidebar open. At 1024x768 (and 1400x1000) it takes the column's width, at most COMPACT_PX + 20 px of
    height, text a class reads, and no text overlaps another."""
    from bench.harness import StreamlitServer, wait_for_app

    seen = {}
    with StreamlitServer("tests/apps/diagram_app.py", env={"VAE_DEVICE": "cpu"}) as server:
        for (width, height), models in (
            ((1024, 768), ("seed-mnist", "seed-fashion-mnist", "plain", "wide")),
            ((1400, 1000), ("seed-mnist", "seed-fashion-mnist")),
        ):
            page = browser.new_page(viewport={"width": width, "height": height})
            for model in models:
                page.goto(f"{server.url}/?model={model}")
                wait_for_app(page, 120_000)
                svg = page.locator(".model-diagram-compact svg")
                svg.wait_for(timeout=120_000)
                seen[width, model] = svg.evaluate(MEASURE)
                page.screenshot(path=screenshot_dir / f"diagram_compact_{model}_{width}x{height}.png")
            page.close()
    for (width, model), m in seen.items():
        assert m["columnLeft"] - 1 <= m["left"] and m["right"] <= m["columnRight"] + 1, (width, model, m)
        assert not m["overflowing"] and not m["pageScrolls"], (width, model, m)
        assert m["height"] <= COMPACT_PX + 20, (width, model, m)
        assert m["smallestText"] >= COMPACT_READABLE_PX, (width, model, m)
        assert not m["overlapping"] and not m["sticksOut"], (width, model, m)
        assert m["pictures"] == 2, (width, model, m)  # input, output
        assert m["sentenceLines"] == 1, (width, model, m)
    m = seen[1024, "seed-mnist"]
    column = m["columnRight"] - m["columnLeft"]
    assert column >= COLUMN_1024 - 2  # at least what the unit tests assume
    assert m["width"] == pytest.approx(min(column, 680), abs=2)  # it takes the column's width, up to 680 px
