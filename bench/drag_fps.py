"""How often the latent canvas redraws during a continuous drag in headless Chromium.

Run: `.venv/bin/python -m bench.drag_fps [--seconds 4]`. Starts `tests/apps/latent_canvas_app.py` on
the seed preset (z_dim 10, decoder 20-128-784 sigmoid), holds the mouse on the first latent slider
and sweeps it back and forth, then reads counters kept inside the component's iframe: redraws
(decode + paint, one per input event), animation frames that showed a new image, and the decode time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from bench.harness import StreamlitServer, chromium, wait_for_app

# Counts animation frames in which the picture changed: what the eye can actually see.
FRAME_COUNTER = """() => {
  window.__framesWithNewImage = 0;
  let last = window.__renderCount;
  const tick = () => {
    if (window.__renderCount !== last) { window.__framesWithNewImage += 1; last = window.__renderCount; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
COUNTERS = "() => [window.__renderCount, window.__framesWithNewImage, window.__decodeMs.total, window.__decodeMs.count]"
# Median of short batches: this 2-core machine is shared, and long loops get pre-empted.
DECODE_LOOP = """([batches, n]) => { const z = S.z.slice(), p = new Array(10).fill(0.1), out = new Float32Array(784);
  const means = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) { z[0] = i / n; VaeDecoder.decode(S.model, z, p, out); }
    means.push((performance.now() - t0) / n);
  }
  return means; }"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to keep dragging")
    args = parser.parse_args()
    env = {"VAE_TEST_PRESET": "seed"}
    with StreamlitServer("tests/apps/latent_canvas_app.py", env=env) as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 1100})
        page.goto(server.url)
        wait_for_app(page)
        frame = page.wait_for_selector("iframe[title*='latent_canvas']").content_frame()
        frame.wait_for_function("document.body.dataset.weightsKey && window.__renderCount > 0", timeout=60_000)
        frame.evaluate(FRAME_COUNTER)
        box = frame.locator("input[data-index='0']").bounding_box()
        x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x0, y)
        page.mouse.down()
        renders0, frames0, ms0, n0 = frame.evaluate(COUNTERS)
        moves, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < args.seconds:
            page.mouse.move(x0 + 0.45 * box["width"] * math.sin(2 * math.pi * elapsed), y)
            moves += 1
        renders1, frames1, ms1, n1 = frame.evaluate(COUNTERS)
        elapsed = time.perf_counter() - start
        page.mouse.up()
        per_decode = statistics.median(frame.evaluate(DECODE_LOOP, [40, 50]))
    print(f"drag duration                 {elapsed:.2f} s, {moves} mouse moves ({moves / elapsed:.0f}/s)")
    print(f"redraws (decode + paint)      {(renders1 - renders0) / elapsed:.1f} per second")
    print(f"frames showing a new image    {(frames1 - frames0) / elapsed:.1f} per second")
    print(f"decode time during the drag   {(ms1 - ms0) / max(n1 - n0, 1):.3f} ms per image (mean of {n1 - n0})")
    print(f"decode time in a tight loop   {per_decode:.3f} ms per image (median of 40 batches of 50)")


if __name__ == "__main__":
    main()
