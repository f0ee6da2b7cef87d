"""What one model diagram (ui.diagram) costs the server: milliseconds to build its HTML, and its bytes.

Run: `.venv/bin/python -m bench.diagram_cost [--n 200] [--rounds 5]`. One torch thread, as the app's
tests run. For each model (the shipped seed-mnist; a seed-preset model with z_dim 64 and two encoder
layers, untrained; a plain VAE) it times `vae.anatomy.trace` alone (the forward pass) and
`ui.diagram.diagram_html` (forward pass, three PNGs, the SVG text) over `--n` calls, in `--rounds`
rounds with different test images, and prints the median per call of each round (the spread is the
rounds' min-max). With `--browser`, it also times headless Chromium putting each diagram's HTML into
a 564-px column (the main column at 1024x768) and laying it out (innerHTML, then a forced layout): the
median of 50 times after 5 warm-ups. Painting is not included. With `--compact`, the same for the
compact figure (`diagram_html(..., compact=True)`, the Train page's).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import torch

from bench.harness import ROOT
from ui.diagram import diagram_html
from ui.words import DIGITS
from vae.anatomy import trace
from vae.checkpoint import load_checkpoint
from vae.config import preset
from vae.model import ConditionalVAE


def per_call_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# innerHTML, then reading a size forces style and layout; the median of 50 runs, after 5 warm-ups.
LAYOUT_MS = """html => {
    const box = document.getElementById('column'), times = [];
    for (let i = 0; i < 55; i++) {
        box.innerHTML = '';
        const t0 = performance.now();
        box.innerHTML = html;
        box.querySelector('svg').getBoundingClientRect();
        box.querySelectorAll('text')[0].getComputedTextLength();
        if (i >= 5) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
}"""


def browser_layout_ms(pages: dict[str, str]) -> dict[str, float]:
    """Milliseconds for Chromium to take in and lay out each diagram's HTML in a 564-px column."""
    from bench.harness import chromium

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.set_content('<div id="column" style="width: 564px; font-family: sans-serif"></div>')
        return {name: page.evaluate(LAYOUT_MS, html) for name, html in pages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time Chromium's layout of each diagram")
    parser.add_argument("--compact", action="store_true", help="the compact figure (the Train page's)")
    args = parser.parse_args()
    draw = functools.partial(diagram_html, compact=args.compact)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    models = {
        "seed-mnist (z_dim 10)": load_checkpoint(ROOT / "checkpoints" / "seed-mnist.pt").model,
        "z_dim 64, encoder 512-256": ConditionalVAE(preset("seed").replace(z_dim=64, encoder_layers=(512, 256)).model),
        "plain VAE (classic preset)": ConditionalVAE(preset("classic").model),
    }
    images = torch.rand(args.rounds, 1, 784, generator=torch.Generator().manual_seed(0))
    pages = {}
    for name, model in models.items():
        model.eval()
        forward, whole, sizes = [], [], []
        for x in images:
            draw(model, x, 0, DIGITS)  # warm up
            forward.append(per_call_ms(lambda x=x, m=model: trace(m, x, torch.Generator().manual_seed(0)), args.n))
            whole.append(per_call_ms(lambda x=x, m=model: draw(m, x, 0, DIGITS), args.n))
            sizes.append(len(draw(model, x, 0, DIGITS).encode()))
        print(
            f"{name:28s} forward pass {statistics.median(forward):5.2f} ms ({min(forward):.2f}-{max(forward):.2f})"
            f"   whole diagram {statistics.median(whole):5.2f} ms ({min(whole):.2f}-{max(whole):.2f})"
            f"   {min(sizes):,}-{max(sizes):,} bytes"
        )
        pages[name] = draw(model, images[0], 0, DIGITS)
    if args.browser:
        for name, ms in browser_layout_ms(pages).items():
            print(f"{name:28s} Chromium: into the page and laid out in {ms:.2f} ms")


if __name__ == "__main__":
    main()
