"""Seconds from starting the server process to a generated digit visible on the Generate page.

Run: `.venv/bin/python -m bench.first_digit [--runs 3]`. Each run starts a fresh `streamlit run
explorer_app.py` on the shipped checkpoints (the repo's `checkpoints/`), opens /Generate in headless
Chromium, and stops the clock when the in-browser decoder has painted a digit on the canvas
(its render counter > 0 and non-blank pixels). Chromium is launched before the clock starts, as a
student's browser would already be open. Target: <= 6 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.harness import StreamlitServer, chromium, wait_for_app


def one_run(browser) -> dict[str, float]:
    server = StreamlitServer("explorer_app.py", env={"VAE_DEVICE": "cpu"})
    t0 = time.perf_counter()
    server.start(timeout=120)
    t_healthy = time.perf_counter() - t0
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/Generate")
        frame = page.wait_for_selector("iframe[title*='latent_canvas']", timeout=60_000).content_frame()
        frame.wait_for_function(
            "() => window.__renderCount > 0 && window.__lastPixels && Math.max(...window.__lastPixels) > 0.2",
            timeout=60_000,
        )
        t_digit = time.perf_counter() - t0
        wait_for_app(page)
        t_page = time.perf_counter() - t0
        page.close()
    finally:
        server.stop()
    return {"healthy": t_healthy, "digit": t_digit, "page_done": t_page}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    with chromium() as browser:
        for i in range(args.runs):
            r = one_run(browser)
            results.append(r)
            print(
                f"run {i + 1}: server healthy {r['healthy']:.2f} s, first digit visible {r['digit']:.2f} s, "
                f"page finished {r['page_done']:.2f} s"
            )
    digits = [r["digit"] for r in results]
    print(f"first digit: median {statistics.median(digits):.2f} s, worst {max(digits):.2f} s (target <= 6 s)")


if __name__ == "__main__":
    main()
