"""Screenshots of every page as a student first sees it (the viewport, no scrolling), for docs/screens/.

    .venv/bin/python -m bench.screens                      # 1024x768 and 1400x1000, every page
    .venv/bin/python -m bench.screens --sizes 1024x768 --pages Train

Starts the app over a temporary copy of checkpoints/ (nothing in the repo is written but the PNGs).
The Train page is shot before a run, during the default run (at epoch 40 of 150, scrolled to the run
as Start does) and after it has finished. "Latent map" shoots the map of the shipped 2-D model while
hovering, coloured by slant, during its training, and a drawn digit's posterior on Reconstruct.
"""

from __future__ import annotations

import argparse
import re
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


DURING_EPOCH = 40  # the "during" shot: the default run of 150 epochs, as the digit picker starts to work


def _epochs_done(page) -> int:
    """The finished epochs on the Train page's progress line ("12 of 150 epochs done"), 0 before it shows."""
    found = re.search(r"([\d,]+) of [\d,]+ epochs done", page.evaluate("() => document.body.innerText"))
    return int(found.group(1).replace(",", "")) if found else 0


def train(browser, url: str, size: str, width: int, height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/Train")
    wait_for_app(page)
    shoot(page, "train-before", size)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training in the background").wait_for(timeout=120_000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _epochs_done(page) < DURING_EPOCH:
        time.sleep(0.25)
    page.locator(".js-plotly-plot .main-svg").first.wait_for()  # a chart redrawn by the last update
    shoot(page, "train-during", size)
    page.get_by_text("Finished").first.wait_for(timeout=600_000)
    wait_for_app(page)
    page.locator(".st-key-train_status").scroll_into_view_if_needed()
    shoot(page, "train-after", size)
    page.close()


def pick_model(page, name: str) -> None:
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_app(page)


def map_frame(page, model: str):
    element = page.wait_for_selector("iframe[title*='latent_map']", timeout=60_000)
    frame = element.content_frame()
    frame.wait_for_function(
        f"window.__map && window.__map().ready && window.__mapModel().includes('-saved-{model}.pt-')", timeout=120_000
    )
    return element, frame


def latent_map(browser, url: str, size: str, width: int, height: int, model: str = "seed2d-mnist") -> None:
    """The latent map of the shipped 2-D model: a hovered digit, empty space decoded, pictures coloured by
    slant, the map at epoch 14 of its training; a drawn 7's posterior on the Reconstruct page."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}/Latent_space")
    wait_for_app(page)
    pick_model(page, model)
    element, frame = map_frame(page, model)
    box = element.bounding_box()
    px, py = frame.evaluate("window.__pointOnScreen(7)")
    page.mouse.move(box["x"] + px, box["y"] + py)
    time.sleep(0.5)
    shoot(page, "latent-map-hover-dot", size)
    x, y, _ = frame.evaluate("window.__emptySpot()")
    page.mouse.move(box["x"] + x, box["y"] + y)
    time.sleep(0.5)
    shoot(page, "latent-map-hover-space", size)
    page.mouse.move(1, 1)
    frame.select_option("#colour-by", "slant")
    frame.check("#thumbs")
    time.sleep(0.5)
    shoot(page, "latent-map-pictures-slant", size)
    frame.uncheck("#thumbs")
    frame.select_option("#colour-by", "label")
    epochs = frame.evaluate("window.__map().epochs")
    frame.press("#scrub", "Home")
    for _ in range(min(range(len(epochs)), key=lambda i: abs(epochs[i] - 14))):
        frame.press("#scrub", "ArrowRight")
    time.sleep(0.5)
    shoot(page, "latent-map-over-training", size)
    page.goto(f"{url}/Reconstruct")  # a new session: the sidebar shows the default model again
    wait_for_app(page)
    pick_model(page, model)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    map_frame(page, model)
    box = canvas.bounding_box()
    for (x0, y0), (x1, y1) in (((60, 60), (220, 60)), ((220, 60), (130, 250))):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for k in range(1, 13):
            page.mouse.move(box["x"] + x0 + (x1 - x0) * k / 12, box["y"] + y0 + (y1 - y0) * k / 12)
        page.mouse.up()
        time.sleep(1.5)
    wait_for_app(page)
    page.get_by_role("heading", name="Draw your own digit").scroll_into_view_if_needed()
    time.sleep(0.5)
    shoot(page, "reconstruct-posterior", size)
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1024x768", "1400x1000"])
    parser.add_argument("--pages", nargs="+", default=[*PAGES, "Train", "Latent map"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        # A server of its own per size: the Train page's "before" is a server that has trained nothing yet
        # (and a second Start would have to discard the first size's run).
        with app_server("vae-screens-") as (server, _env), chromium() as browser:
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
            if "Latent map" in args.pages:
                latent_map(browser, server.url, size, width, height)


if __name__ == "__main__":
    main()
