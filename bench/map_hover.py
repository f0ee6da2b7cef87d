"""The latent map in headless Chromium: pictures per second while hovering empty space, and the bytes a
browser receives for the map.

Run: `.venv/bin/python -m bench.map_hover [--seconds 4] [--models seed-mnist seed2d-mnist seed-fashion-mnist]`.
Starts the app over a copy of the shipped models, opens the Latent space page on each model (PCA),
moves the mouse without pause in circles through the emptiest part of the map for `--seconds`, then
reads counters kept in the map's iframe: decoded pictures painted beside the cursor (one per
animation frame at most: the map coalesces mouse events per frame), animation frames that showed a new
picture, mouse events sent, the decode time alone. Playwright's mouse goes through a round trip per
event, so it may send fewer events than a real mouse: a second pass dispatches one pointermove per
animation frame inside the page (a real mouse's rate at most) and counts the pictures painted. Last,
the bytes of each part of the map on show, as a fresh browser receives them.
"""

from __future__ import annotations

import argparse
import math
import time

from bench.appenv import app_server
from bench.harness import chromium, wait_for_app

# Counts animation frames in which the picture beside the cursor changed: what the eye can see.
FRAME_COUNTER = """() => {
  window.__framesWithNewPicture = 0;
  let last = window.__mapStats.painted;
  const tick = () => {
    if (window.__mapStats.painted !== last) { window.__framesWithNewPicture += 1; last = window.__mapStats.painted; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
# The browser's own ceiling, without Playwright's round trips: one pointermove per animation frame
# (what a real mouse sends at most), for `seconds`; returns decoded pictures painted per second.
SYNTHETIC = """([x, y, r, seconds]) => new Promise((done) => {
  const overlay = document.getElementById("overlay");
  const box = overlay.getBoundingClientRect();
  const start = performance.now(), painted = window.__mapStats.painted;
  const step = (now) => {
    const t = (now - start) / 1000;
    overlay.dispatchEvent(new PointerEvent("pointermove", { bubbles: true,
      clientX: box.left + x - window.__map().stage.left + r * Math.cos(7 * t),
      clientY: box.top + y - window.__map().stage.top + r * Math.sin(7 * t) }));
    if (t < seconds) requestAnimationFrame(step);
    else done((window.__mapStats.painted - painted) / t);
  };
  requestAnimationFrame(step);
})"""
COUNTERS = "() => [window.__mapStats.painted, window.__framesWithNewPicture, window.__mapStats.decodeMs, window.__mapStats.decodes]"


def measure(browser, url: str, model: str, seconds: float) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/Latent_space")
    wait_for_app(page)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=model, exact=True).click()
    wait_for_app(page)
    element = page.wait_for_selector("iframe[title*='latent_map']", timeout=60_000)
    frame = element.content_frame()
    frame.wait_for_function(
        f"window.__map && window.__map().ready && window.__mapModel().includes('-saved-{model}.pt-')", timeout=120_000
    )
    time.sleep(0.5)
    parts = frame.evaluate("window.__mapPartBytes()")
    x, y, clearance = frame.evaluate("window.__emptySpot()")
    box = element.bounding_box()
    radius = max(4.0, min(clearance * 0.8, 30.0))  # stay in empty space: every event decodes
    page.mouse.move(box["x"] + x + radius, box["y"] + y)
    frame.evaluate(FRAME_COUNTER)
    time.sleep(0.3)
    painted0, frames0, ms0, n0 = frame.evaluate(COUNTERS)
    moves, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        angle = 2 * math.pi * elapsed
        page.mouse.move(box["x"] + x + radius * math.cos(angle), box["y"] + y + radius * math.sin(angle))
        moves += 1
    painted1, frames1, ms1, n1 = frame.evaluate(COUNTERS)
    hover = frame.evaluate("window.__map().hover")
    synthetic = frame.evaluate(SYNTHETIC, [x, y, radius, seconds])
    page.close()
    return {
        "model": model,
        "pictures_per_s": (painted1 - painted0) / elapsed,
        "frames_per_s": (frames1 - frames0) / elapsed,
        "moves_per_s": moves / elapsed,
        "decode_ms": (ms1 - ms0) / max(n1 - n0, 1),
        "in_space": (hover or {}).get("kind") == "space",
        "parts": parts,
        "synthetic_per_s": synthetic,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to keep the mouse moving")
    parser.add_argument("--models", nargs="+", default=["seed-mnist", "seed2d-mnist", "seed-fashion-mnist"])
    args = parser.parse_args()
    with app_server("map-hover-") as (server, _), chromium() as browser:
        for model in args.models:
            r = measure(browser, server.url, model, args.seconds)
            parts = r["parts"]
            weights = parts.pop("decoder", 0)
            print(
                f"{r['model']:>20}: {r['pictures_per_s']:5.1f} decoded pictures/s painted "
                f"({r['frames_per_s']:.1f} animation frames/s with a new one, {r['moves_per_s']:.0f} mouse events/s, "
                f"decode {r['decode_ms']:.2f} ms, ended in empty space: {r['in_space']}); "
                f"one synthetic pointermove per animation frame: {r['synthetic_per_s']:.1f} pictures/s"
            )
            detail = ", ".join(f"{k} {v / 1e3:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
            print(
                f"{'':>20}  map data for this browser: {sum(parts.values()) / 1e3:.0f} KB ({detail} KB), "
                f"plus the decoder's weights {weights / 1e3:.0f} KB"
            )


if __name__ == "__main__":
    main()
