"""The model as a diagram with live numbers: one image's way through it, drawn as one inline SVG.

    input → [Encoder] → μ + σ·ε = z (one row of bars per latent dimension) → [Decoder] → output
       ↘ [Classifier] → probabilities ──── which digit ────↗

`diagram_html(model, x, seed, vocab)` returns the HTML (the SVG and one sentence under it); `draw(...)`
puts it on the page. No plotly, no component, no JavaScript: one inline SVG, with <title> tooltips
(each latent row's numbers, each network's layers) and the pictures as data: URLs.

Two figures, one flow, the same pieces (`_box`, `_bar`, `_arrow`, ...): the tall one (`diagram_svg`, the
Theory page) gives each latent dimension a row of four bars, with the classifier's named probabilities
below; the compact one (`compact=True`, `compact_svg`, the Train page, where it shares the screen with
the curves and the sample grid) draws μ, σ, ε and z as four small charts side by side, one upright bar
per dimension, and the classifier with its ten upright bars in a strip below, feeding the decoder.

Why `st.markdown(..., unsafe_allow_html=True)` and not `st.html`: Streamlit 1.67's `st.html`
sanitises with DOMPurify's HTML-only profile, which deletes every <svg> (the page kept only the
sentence; tests/test_diagram.py's browser test fails that way). The HTML is all ours, built from
numbers and escaped names, and is one block without blank lines, so Markdown passes it through untouched.

Size: the tall SVG is drawn on a 600-unit-wide canvas and scales with the column (`width: 100%`, at most
MAX_WIDTH px). At 1024x768 with the sidebar open the main column is 564 px wide, so the smallest text
(15 units) is 14.1 px; at 1400x1000 it is 940 px, drawn at MAX_WIDTH. Latent sizes above MAX_ROWS show
their first MAX_ROWS dimensions and say how many more there are. The compact SVG is 680 units wide and
at most 680 px (C_MAX_WIDTH): in the 564-px column its text (16 units) is 13.3 px and it is 136-183 px
high (no classifier; Fashion-MNIST's names on two lines), never more than its viewBox's 220.

Cost (`python -m bench.diagram_cost`, on the shared 2-core build machine at load 6, one torch
thread; medians of 5 rounds of 200 calls): the forward pass of one image 0.4-0.9 ms, the whole diagram
(forward pass, three 28x28 PNGs, the SVG text) 2.5-8 ms for the seed model, z_dim 64 and a plain VAE
alike; 17-22 KB of HTML (16.6 KB for the seed model and a real digit: PNGs under 1 KB each, the rest SVG).
Chromium takes it into a 564-px column and lays it out in 6-15 ms (`--browser`; painting not included).
"""

from __future__ import annotations

import base64
import html

import numpy as np
import streamlit as st
import torch

from ui.words import Words
from vae.anatomy import Anatomy, trace
from vae.config import ModelConfig
from vae.images import grid, png_bytes
from vae.model import ConditionalVAE

MAX_ROWS = 16  # latent dimensions drawn; more only say "+N more"
MAX_WIDTH = 900  # px: the figure grows with the column up to this
LIMIT = 3.0  # mu, eps and z bars span -LIMIT..LIMIT (the prior N(0, 1) lies within +-3 99.7 % of the time)
SIGMA_FULL = 1.25  # a sigma bar is full at this; the prior's sigma is 1
POS, NEG, SIGMA_COLOR = "#1f77b4", "#e8700c", "#7f7f7f"  # blue > 0, orange < 0
FONT = 15  # every label; titles are larger

# x positions on the 600-unit canvas, left to right (see the module docstring's sketch)
IMG = 60  # an image's side
ENC_X, BOX_W = 76, 70  # encoder box; the decoder's is as wide
CLS_W = 86  # the classifier's box, below the encoder's
LABEL_END = 188  # row labels z0, z1, ... end here
COLUMNS = {"mu": (192, 58), "sigma": (260, 44), "eps": (314, 58), "z": (382, 58)}  # left, width
DEC_X = 456
OUT_X = 540
WIDTH = OUT_X + IMG

# The compact figure (compact_svg): one wide strip, a 680-unit canvas drawn at most 680 px wide, so it is
# never taller than its viewBox; in the 564-px column its smallest text (C_FONT) is 13.3 px.
C_WIDTH, C_MAX_WIDTH, C_FONT = 680, 680, 16
C_IMG = 60
C_ENC_X, C_BOX_W, C_DEC_X = 76, 80, 516  # the encoder's and the decoder's boxes
C_OUT_X = C_WIDTH - C_IMG - 2
CHART_X, CHART_W, CHART_GAP = 172, 68, 18  # four charts side by side: mu, sigma, eps, z
CHART_TOP, CHART_H = 30, 80  # one vertical bar per latent dimension, -LIMIT (bottom) to LIMIT (top)
C_MID = CHART_TOP + CHART_H / 2  # where the main row's arrows run
STRIP = CHART_TOP + CHART_H + 26  # the classifier's strip below: its box, ten bars, "which digit"
C_CLS_W = 92
PROBS_X, PROBS_END, TRACK_H = 116, 496, 40  # the ten probability bars


# --- SVG pieces ----------------------------------------------------------------------------------
def _text(x: float, y: float, s: str, size: int = FONT, anchor: str = "middle", **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="currentColor"{extra}>{html.escape(s)}</text>'
    )


def _arrow(points: list[tuple[float, float]]) -> str:
    """A line through `points` with an arrowhead at the last one (drawn as a triangle: no <marker> ids,
    which would clash between two diagrams on one page)."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    d = np.array([x1 - x0, y1 - y0], dtype=float)
    d /= np.linalg.norm(d)
    n = np.array([-d[1], d[0]])
    tip = np.array([x1, y1])
    head = [tip, tip - 8 * d + 4.5 * n, tip - 8 * d - 4.5 * n]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*points[:-1], tuple(tip - 6 * d)])
    return (
        f'<polyline points="{line}" fill="none" stroke="currentColor" stroke-width="1.6" opacity="0.7"/>'
        f'<polygon points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in head)}" fill="currentColor" opacity="0.7"/>'
    )


def _box(
    x: float, y: float, h: float, title: str, lines: list[str], tip: str, w: float = BOX_W, size: int = FONT
) -> str:
    """A network drawn as a rounded box: its name, then its layer sizes, one per line, top to bottom;
    `tip` shows when the mouse rests on it."""
    step = size + 2
    body = [
        f"<g><title>{html.escape(tip)}</title>",
        f'<rect x="{x}" y="{y:.1f}" width="{w}" height="{h:.1f}" rx="8" fill="{POS}" fill-opacity="0.07" '
        f'stroke="currentColor" stroke-opacity="0.55" stroke-width="1.3"/>',
    ]
    top = y + h / 2 - step * (len(lines) + 1) / 2 + size - 2
    body.append(_text(x + w / 2, top, title, size + 1, font_weight="600"))
    body += [_text(x + w / 2, top + step * (i + 1), s, size, opacity="0.8") for i, s in enumerate(lines)]
    return "".join(body) + "</g>"


def _image(x: float, y: float, picture: np.ndarray, size: float = IMG) -> str:
    """A 28x28 picture as an inline PNG, enlarged with square pixels (image-rendering: pixelated)."""
    data = base64.b64encode(png_bytes(grid(picture[None], 1, pad=0))).decode()
    return (
        f'<image x="{x}" y="{y:.1f}" width="{size}" height="{size}" href="data:image/png;base64,{data}" '
        'style="image-rendering: pixelated"/>'
        f'<rect x="{x}" y="{y:.1f}" width="{size}" height="{size}" fill="none" stroke="currentColor" '
        'stroke-opacity="0.4"/>'
    )


def _bar(kind: str, value: float, start: float, length: float, across: float, thick: float, up: bool = False) -> str:
    """One value as a bar on an axis `length` long from `start` (rightwards; upwards from the bottom
    `start` when `up`), `thick` across from `across`. Signed values (mu, eps, z) grow from the axis's
    middle over -LIMIT..LIMIT (blue > 0, orange < 0), sigma from the start over 0..SIGMA_FULL. A value
    beyond the range is cut at the edge, where a small triangle says so."""
    if kind == "sigma":
        lo, hi, color = 0.0, min(value / SIGMA_FULL, 1.0), SIGMA_COLOR
        cut = 1.0 if value > SIGMA_FULL else None
    else:
        reach = 0.5 * min(abs(value) / LIMIT, 1.0)
        lo, hi = (0.5, 0.5 + reach) if value >= 0 else (0.5 - reach, 0.5)
        color = POS if value >= 0 else NEG
        cut = (1.0 if value > 0 else 0.0) if abs(value) > LIMIT else None
    sign = -1 if up else 1  # SVG's y grows downwards
    a, b = sorted((start + sign * lo * length, start + sign * hi * length))
    if up:
        bar = f'<rect x="{across:.1f}" y="{a:.1f}" width="{thick:.1f}" height="{b - a:.1f}" fill="{color}"/>'
    else:
        bar = f'<rect x="{a:.1f}" y="{across:.1f}" width="{b - a:.1f}" height="{thick:.1f}" fill="{color}"/>'
    if cut is not None:
        edge, out = start + sign * cut * length, sign * (1 if cut else -1)
        pts = [(edge, across - 1), (edge + 5 * out, across + thick / 2), (edge, across + thick + 1)]
        if up:
            pts = [(c, e) for e, c in pts]
        bar += f'<polygon points="{" ".join(f"{u:.1f},{v:.1f}" for u, v in pts)}" fill="currentColor"/>'
    return bar


# --- what both figures say ----------------------------------------------------------------------
HEADS = {"mu": ("μ", "mean"), "sigma": ("σ", "spread"), "eps": ("ε", "random"), "z": ("z", "sample")}
OPS = "+·="  # between the heads: mu + sigma . eps = z


def _hidden(layers: tuple[int, ...]) -> str:
    """ "one hidden layer of 128 units", "hidden layers of 512, 256 units"."""
    if len(layers) == 1:
        return f"one hidden layer of {layers[0]} units"
    return f"hidden layers of {', '.join(map(str, layers))} units"


def _sizes(first: str, hidden: tuple[int, ...], last: str, compact: bool) -> list[str]:
    """A network's layer sizes, one per line: all of them, or (compact) three lines with the hidden
    layers on the middle one ("512, 256"; "3 layers" beyond two)."""
    if not compact:
        return [first, *map(str, hidden), last]
    middle = ", ".join(map(str, hidden)) if len(hidden) <= 2 else f"{len(hidden)} layers"
    return [first, middle, last]


def _networks(a: Anatomy, config: ModelConfig, compact: bool) -> tuple[list[str], str, list[str], str]:
    """The encoder's and decoder's layer sizes and tooltips: (enc lines, enc tip, dec lines, dec tip)."""
    z_dim = len(a.mu)
    enc = _sizes("784", config.encoder_layers, f"2×{z_dim}", compact)
    dec = _sizes(f"{z_dim}+10" if a.probs is not None else str(z_dim), config.decoder_layers, "784", compact)
    beside = " and the classifier's 10 probabilities" if a.probs is not None else ""
    enc_tip = f"Encoder: a network from the 784 pixels, {_hidden(config.encoder_layers)}, to μ and σ ({z_dim} each)"
    dec_tip = f"Decoder: a network from z ({z_dim} numbers){beside}, {_hidden(config.decoder_layers)}, to 784 pixels"
    return enc, enc_tip, dec, dec_tip


def _classifier_tip(config: ModelConfig) -> str:
    return f"Classifier: a network from the 784 pixels, {_hidden(config.classifier_layers)}, to 10 probabilities"


def _dimension_tip(a: Anatomy, j: int) -> str:
    return f"z{j}: μ {a.mu[j]:+.2f}, σ {a.sigma[j]:.2f}, ε {a.eps[j]:+.2f}, z {a.z[j]:+.2f}"


def _values(a: Anatomy) -> tuple[tuple[str, np.ndarray], ...]:
    return ("mu", a.mu), ("sigma", a.sigma), ("eps", a.eps), ("z", a.z)


def _svg(parts: list[str], width: float, height: float, max_width: int, vocab: Words) -> str:
    """The figure as one <svg> that scales with its column (width 100 %) up to `max_width` px."""
    return (
        f'<svg viewBox="0 0 {width} {height:.0f}" width="100%" role="img" '
        f'aria-label="The model, with the values of one {vocab.item}" '
        f'style="display: block; max-width: {max_width}px; height: auto; font-family: inherit">'
        f"{''.join(parts)}</svg>"
    )


# --- the tall figure (Theory): one row of bars per latent dimension -------------------------------
def _latent_table(a: Anatomy, top: float, row: float, shown: int) -> list[str]:
    """The column heads "μ + σ · ε = z" above `top`, then one row of four bars per latent dimension
    (its numbers in a tooltip), and "+N more dimensions" under them when not all are shown."""
    parts = []
    for name, (symbol, word) in HEADS.items():
        left, w = COLUMNS[name]
        parts += [_text(left + w / 2, top - 31, symbol, 19, font_weight="700"), _text(left + w / 2, top - 12, word)]
    for (name_a, name_b), op in zip([("mu", "sigma"), ("sigma", "eps"), ("eps", "z")], OPS, strict=True):
        parts.append(_text((sum(COLUMNS[name_a]) + COLUMNS[name_b][0]) / 2, top - 31, op, 19, font_weight="700"))
    one = COLUMNS["sigma"][0] + COLUMNS["sigma"][1] / SIGMA_FULL  # where sigma = 1, the prior's
    guides = [(COLUMNS[n][0] + COLUMNS[n][1] / 2, "") for n in ("mu", "eps", "z")] + [(one, "3,3")]
    for x, dashes in guides:  # the zero line of each signed column; sigma's dashed line at 1
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 3}" x2="{x:.1f}" y2="{top + shown * row + 1}" stroke="currentColor" '
            f'stroke-opacity="0.35" stroke-dasharray="{dashes or "none"}"/>'
        )
    row_left, row_width = LABEL_END - 26, sum(COLUMNS["z"]) - (LABEL_END - 26)
    for j in range(shown):
        y = top + j * row
        bars = "".join(_bar(name, float(v[j]), *COLUMNS[name], y + 3, row - 6) for name, v in _values(a))
        label = _text(LABEL_END, y + row / 2 + 5, f"z{j}", anchor="end", opacity="0.8")
        parts.append(
            f'<g><title>{html.escape(_dimension_tip(a, j))}</title><rect x="{row_left}" y="{y}" '
            f'width="{row_width}" height="{row}" fill="transparent"/>{label}{bars}</g>'
        )
    if len(a.mu) > shown:
        centre = (COLUMNS["mu"][0] + sum(COLUMNS["z"])) / 2
        more = f"+{len(a.mu) - shown} more dimensions"
        parts.append(_text(centre, top + shown * row + 16, more, font_style="italic"))
    return parts


def _classifier_row(
    probs: np.ndarray, config: ModelConfig, vocab: Words, top: float, x_bottom: float, decoder_bottom: float
) -> tuple[list[str], float]:
    """Under the main row: a line from the input image (its bottom at `x_bottom`) to the classifier,
    its probabilities, and an arrow "which digit" up into the decoder. -> (parts, bottom)."""
    p_row, p_top = 17, top + 24
    p_mid = p_top + 5 * p_row
    layers = ["784", *map(str, config.classifier_layers), "10"]
    c_h = 17 * (len(layers) + 1) + 16
    name_end, bar_x, bar_w = 258, 264, 100  # names end where their bars start; "T-shirt/top" is the longest
    parts = [
        _arrow([(IMG / 2, x_bottom + 1), (IMG / 2, p_mid), (ENC_X - 1, p_mid)]),
        _box(ENC_X, p_mid - c_h / 2, c_h, "Classifier", layers, _classifier_tip(config), w=CLS_W),
        _arrow([(ENC_X + CLS_W + 1, p_mid), (name_end - 82, p_mid)]),
        _text(bar_x + bar_w / 2, top + 12, "probabilities", 16, font_weight="600"),
    ]
    for k, (name, p) in enumerate(zip(vocab.names, probs, strict=True)):
        y = p_top + k * p_row
        parts.append(
            f"<g><title>{html.escape(name)}: {p:.1%}</title>"
            + _text(name_end, y + p_row / 2 + 5, name, anchor="end", opacity="0.85")
            + f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w}" height="{p_row - 6}" fill="currentColor" '
            f'fill-opacity="0.06"/><rect x="{bar_x}" y="{y + 3}" width="{bar_w * p:.1f}" height="{p_row - 6}" '
            f'fill="{POS}"/>'
            + (_text(bar_x + bar_w * p + 4, y + p_row / 2 + 5, f"{p:.0%}", anchor="start") if p >= 0.01 else "")
            + "</g>"
        )
    start, dec_mid = bar_x + bar_w + 40, DEC_X + BOX_W / 2
    parts.append(_arrow([(start, p_mid), (dec_mid, p_mid), (dec_mid, decoder_bottom + 1)]))
    parts.append(_text((start + dec_mid) / 2 - 6, p_mid - 7, f"which {vocab.kind}"))
    return parts, max(p_top + 10 * p_row, p_mid + c_h / 2)


def diagram_svg(a: Anatomy, config: ModelConfig, vocab: Words) -> str:
    """The diagram of the values `a` (one image's `vae.anatomy.trace`) of a model with `config`."""
    z_dim = len(a.mu)
    shown = min(z_dim, MAX_ROWS)
    row = 18 if shown <= 10 else 17
    enc, enc_tip, dec, dec_tip = _networks(a, config, compact=False)
    top = 48  # the boxes' top; the column heads of the latent table sit above its first row
    table_h = shown * row + (22 if z_dim > shown else 0)
    band = max(table_h, 17 * (max(len(enc), len(dec)) + 1) + 16)  # the boxes' height
    mid = top + band / 2  # where the arrows of the main row run
    img_y = mid - IMG / 2

    # Row 1: input -> encoder -> mu, sigma, eps, z -> decoder -> output
    parts = [
        _text(IMG / 2, img_y - 8, "Input", 16, font_weight="600"),
        _image(0, img_y, a.image),
        _arrow([(IMG + 1, mid), (ENC_X - 1, mid)]),
        _box(ENC_X, top, band, "Encoder", enc, enc_tip),
        _arrow([(ENC_X + BOX_W + 1, mid), (LABEL_END - 26, mid)]),
        *_latent_table(a, top + (band - table_h) / 2, row, shown),
        _arrow([(sum(COLUMNS["z"]) + 2, mid), (DEC_X - 1, mid)]),
        _box(DEC_X, top, band, "Decoder", dec, dec_tip),
        _arrow([(DEC_X + BOX_W + 1, mid), (OUT_X - 1, mid)]),
        _text(OUT_X + IMG / 2, img_y - 8, "Output", 16, font_weight="600"),
        _image(OUT_X, img_y, a.recon),
    ]
    # Row 2: the output from mu (right); the classifier feeding the decoder, or a note that there is none
    top2 = top + band + 22
    parts += [
        _text(OUT_X + IMG / 2, top2 + 14, "From μ", 16, font_weight="600"),
        _text(OUT_X + IMG / 2, top2 + 31, "(ε = 0)", opacity="0.8"),
        _image(OUT_X, top2 + 38, a.recon_mu),
    ]
    height = top2 + 38 + IMG + 4
    if a.probs is None:
        parts.append(_text(ENC_X, top2 + 26, "No classifier: a plain VAE's decoder reads z alone.", anchor="start"))
    else:
        classifier, bottom = _classifier_row(a.probs, config, vocab, top2, img_y + IMG, top + band)
        parts += classifier
        height = max(height, bottom + 4)
    return _svg(parts, WIDTH, height, MAX_WIDTH, vocab)


# --- the compact figure (Train): one vertical bar per latent dimension, the classifier in a strip --
def _chart_left(i: int) -> float:
    return CHART_X + i * (CHART_W + CHART_GAP)


def _charts(a: Anatomy, shown: int) -> list[str]:
    """The heads "μ + σ · ε = z" over four charts side by side, each with one vertical bar per latent
    dimension (dimension j at the same place in all four, its numbers in one tooltip), their words
    under them, and "+N more" after the z when not all are shown."""
    parts, bottom = [], CHART_TOP + CHART_H
    for i, (name, (symbol, word)) in enumerate(HEADS.items()):
        left, centre = _chart_left(i), _chart_left(i) + CHART_W / 2
        scale = f"0 to {SIGMA_FULL:g} (dashed: 1, the prior's)" if name == "sigma" else f"−{LIMIT:g} to {LIMIT:g}"
        guide = bottom - CHART_H / SIGMA_FULL if name == "sigma" else C_MID  # sigma = 1, or zero
        parts += [
            f"<g><title>{symbol}, the {word}: one bar per dimension of z, from {scale}</title>"
            f'<rect x="{left}" y="{CHART_TOP}" width="{CHART_W}" height="{CHART_H}" fill="currentColor" '
            'fill-opacity="0.04"/></g>',
            f'<line x1="{left}" y1="{guide:.1f}" x2="{left + CHART_W}" y2="{guide:.1f}" stroke="currentColor" '
            f'stroke-opacity="0.4" stroke-dasharray="{"3,3" if name == "sigma" else "none"}"/>',
            _text(centre, CHART_TOP - 9, symbol, 20, font_weight="700"),
            _text(centre, bottom + 17, word, C_FONT, opacity="0.8"),
        ]
        if i:
            parts.append(_text(left - CHART_GAP / 2, CHART_TOP - 9, OPS[i - 1], 20, font_weight="700"))
    slot = CHART_W / shown
    thick = min(slot * 0.7, 12.0)
    for j in range(shown):
        cells = []
        for i, (name, v) in enumerate(_values(a)):
            x = _chart_left(i) + j * slot
            cells.append(
                f'<rect x="{x:.1f}" y="{CHART_TOP}" width="{slot:.1f}" height="{CHART_H}" fill="transparent"/>'
                + _bar(name, float(v[j]), bottom, CHART_H, x + (slot - thick) / 2, thick, up=True)
            )
        parts.append(f"<g><title>{html.escape(_dimension_tip(a, j))}</title>{''.join(cells)}</g>")
    if len(a.mu) > shown:
        x = _chart_left(3) + CHART_W / 2 + 12
        parts.append(_text(x, CHART_TOP - 9, f"+{len(a.mu) - shown} more", C_FONT, anchor="start", font_style="italic"))
    return parts


def _classifier_strip(probs: np.ndarray, config: ModelConfig, vocab: Words) -> tuple[list[str], float]:
    """Under the main row: an arrow from the input image down into the classifier, its ten probabilities
    as vertical bars with the labels under them (on two staggered lines when a name is wider than its
    bar's place), and an arrow "which digit" up into the decoder. -> (parts, bottom)."""
    track_top = STRIP + 4
    mid = track_top + TRACK_H / 2
    layers = ["784", *map(str, config.classifier_layers), "10"]
    line = "–".join(layers) if len(layers) == 3 else "784–…–10"
    parts = [
        _arrow([(C_IMG / 2, C_MID + C_IMG / 2 + 1), (C_IMG / 2, mid - 25)]),
        _box(0, mid - 24, 48, "Classifier", [line], _classifier_tip(config), w=C_CLS_W, size=C_FONT),
        _arrow([(C_CLS_W + 1, mid), (PROBS_X - 4, mid)]),
    ]
    slot = (PROBS_END - PROBS_X) / 10
    two_lines = max(map(len, vocab.names)) * 0.55 * C_FONT > slot - 4  # a rough width of the longest name
    bottom = track_top + TRACK_H + (40 if two_lines else 22)
    for k, (name, p) in enumerate(zip(vocab.names, probs, strict=True)):
        centre = PROBS_X + (k + 0.5) * slot
        label_y = track_top + TRACK_H + 16 + (18 * (k % 2) if two_lines else 0)
        x, h = centre - 7, TRACK_H * float(p)
        parts.append(
            f"<g><title>{html.escape(name)}: {p:.1%}</title>"
            f'<rect x="{centre - slot / 2:.1f}" y="{track_top}" width="{slot:.1f}" height="{bottom - track_top}" '
            f'fill="transparent"/><rect x="{x:.1f}" y="{track_top}" width="14" height="{TRACK_H}" '
            f'fill="currentColor" fill-opacity="0.06"/><rect x="{x:.1f}" y="{track_top + TRACK_H - h:.1f}" width="14" '
            f'height="{h:.1f}" fill="{POS}"/>' + _text(centre, label_y, name, C_FONT, opacity="0.85") + "</g>"
        )
    dec_mid = C_DEC_X + C_BOX_W / 2
    parts += [
        _arrow([(PROBS_END + 4, mid), (dec_mid, mid), (dec_mid, CHART_TOP + CHART_H + 5)]),
        _text(dec_mid + 8, mid - 12, f"which {vocab.kind}", C_FONT, anchor="start"),
    ]
    return parts, bottom


def compact_svg(a: Anatomy, config: ModelConfig, vocab: Words) -> str:
    """The diagram of the values `a` in one wide strip (about 680 x 200 units): the same flow as
    `diagram_svg`, with the latent values as four small bar charts side by side."""
    shown = min(len(a.mu), MAX_ROWS)
    enc, enc_tip, dec, dec_tip = _networks(a, config, compact=True)
    img_y, box_y, box_h = C_MID - C_IMG / 2, CHART_TOP - 4, CHART_H + 8
    parts = [
        _text(C_IMG / 2, img_y - 8, "Input", C_FONT + 1, font_weight="600"),
        _image(0, img_y, a.image, C_IMG),
        _arrow([(C_IMG + 1, C_MID), (C_ENC_X - 1, C_MID)]),
        _box(C_ENC_X, box_y, box_h, "Encoder", enc, enc_tip, w=C_BOX_W, size=C_FONT),
        _arrow([(C_ENC_X + C_BOX_W + 1, C_MID), (CHART_X - 3, C_MID)]),
        *_charts(a, shown),
        _arrow([(_chart_left(3) + CHART_W + 3, C_MID), (C_DEC_X - 1, C_MID)]),
        _box(C_DEC_X, box_y, box_h, "Decoder", dec, dec_tip, w=C_BOX_W, size=C_FONT),
        _arrow([(C_DEC_X + C_BOX_W + 1, C_MID), (C_OUT_X - 1, C_MID)]),
        _text(C_OUT_X + C_IMG / 2, img_y - 8, "Output", C_FONT + 1, font_weight="600"),
        _image(C_OUT_X, img_y, a.recon, C_IMG),
    ]
    if a.probs is None:
        note = "No classifier: a plain VAE's decoder reads z alone."
        parts.append(_text(C_ENC_X, STRIP + 20, note, C_FONT, anchor="start"))
        height = STRIP + 28
    else:
        strip, height = _classifier_strip(a.probs, config, vocab)
        parts += strip
    return _svg(parts, C_WIDTH, height, C_MAX_WIDTH, vocab)


def diagram_sentence(z_dim: int, conditional: bool, vocab: Words, compact: bool = False) -> str:
    """The one sentence under the diagram that says how to read it (compact: the colours alone)."""
    if compact:  # one line in the 564-px column; the bars' tooltips still hold the numbers
        return f"Blue > 0, orange < 0 (from −{LIMIT:g} to {LIMIT:g}); dashed: σ = 1, the prior's."
    colours = (
        f"Blue bars are positive, orange negative (from −{LIMIT:g} to {LIMIT:g}; the dashed line is σ = 1, "
        "the prior's); point at a row to read its numbers."
    )
    guess = f" and the classifier's guess of which {vocab.kind} it is" if conditional else ""
    numbers = "the one number of z" if z_dim == 1 else f"each of the {z_dim} numbers of z"
    return (
        f"The encoder turns the {vocab.item} into a mean μ and a spread σ for {numbers}; a "
        f"random ε picks z = μ + σ·ε near μ, and the decoder draws the output from z{guess}. {colours}"
    )


def diagram_html(model: ConditionalVAE, x: torch.Tensor, seed: int, vocab: Words, compact: bool = False) -> str:
    """The whole figure for one image x (1, 784) through `model`, eps drawn with `seed`: the SVG and its
    sentence, as one HTML string (put it on a page with `draw`; not with `st.html`, which strips SVG).
    `vocab` is `ui.words.words(dataset)`: the class names and what to call an image and a label.
    `compact`: the wide, low figure (`compact_svg`, at most about 200 px high) and a one-line sentence."""
    a = trace(model, x, torch.Generator().manual_seed(seed))
    values = [a.mu, a.sigma, a.z, a.recon, a.recon_mu] + ([a.probs] if a.probs is not None else [])
    if not all(np.isfinite(v).all() for v in values):  # weights gone to NaN: nothing to draw
        return (
            '<div class="model-diagram"><p>No diagram: this model computes NaN or infinite values for this '
            f"{html.escape(vocab.item)}, so its weights are broken (a learning rate far too high does this).</p></div>"
        )
    sentence = html.escape(diagram_sentence(len(a.mu), a.probs is not None, vocab, compact))
    svg = (compact_svg if compact else diagram_svg)(a, model.config, vocab)
    kind = "model-diagram model-diagram-compact" if compact else "model-diagram"
    return f'<div class="{kind}">{svg}<p>{sentence}</p></div>'


def draw(model: ConditionalVAE, x: torch.Tensor, seed: int, vocab: Words, compact: bool = False) -> None:
    """Draw `diagram_html(...)` on the page (see the module docstring for why through st.markdown)."""
    st.markdown(diagram_html(model, x, seed, vocab, compact), unsafe_allow_html=True)
