"""Screenshots of every page as a student first sees it (the viewport, no scrolling), for docs/screens/.

    .venv/bin/python -m bench.screens                      # 1024x768 and 1400x1000, every page
    .venv/bin/python -m bench.screens --sizes 1024x768 --pages Train

Starts the app over a temporary copy of checkpoints/ (nothing in the repo is written but the PNGs).
The Train page is shot before a run, during the default run (a few epochs in, scrolled to the run as
Start does) and after it has finished.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.appenv import app_server
from bench.harness import ROOT, chromium, wait_for_app

OUT = ROOT / "docs" / "screens"
PAGES = {"Home": "", "Generate": "Generate", "Latent space": "Latent_space", "Reconstruct": "Reconstruct",
         "Theory": "Theory", "Compare": "Compare"}  # fmt: skip


def shoot(page, name: str, size: str) -> Path:
    path = OUT / f"{name.lower().replace(' ', '-')}-{size}.png"
    page.screenshot(path=path)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def train(browser, url: str, size: str, width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/Train")
    wait_for_app(page)
    shoot(page, "train-before", size)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training in the background").wait_for(timeout=120_000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not page.get_by_text("After epoch 5").count():
        time.sleep(0.5)
    time.sleep(1.5)
    shoot(page, "train-during", size)
    page.get_by_text("Finished").first.wait_for(timeout=600_000)
    wait_for_app(page)
    page.locator(".st-key-train_status").scroll_into_view_if_needed()
    shoot(page, "train-after", size)
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1024x768", "1400x1000"])
    parser.add_argument("--pages", nargs="+", default=[*PAGES, "Train"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with app_server("vae-screens-") as (server, _env), chromium() as browser:
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            for name in (p for p in args.pages if p in PAGES):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{server.url}/{PAGES[name]}")
                wait_for_app(page)
                time.sleep(1.0)  # components (the latent canvas) draw after the script has run
                shoot(page, name, size)
                page.close()
            if "Train" in args.pages:
                train(browser, server.url, size, width, height)


if __name__ == "__main__":
    main()
