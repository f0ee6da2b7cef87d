"""Students in headless Chromium: what bench/browser_latency.py, bench/classroom_soak.py and
tests/test_classroom.py share.

Playwright's async API, so one thread drives one Chromium with many browser contexts (one context is
one student: its own cookies, its own Streamlit session) and their waits overlap. Everything talks to
the app as a student would, through the page: the Train page's form and buttons start and pause the
shared run, the sidebar's links switch pages, and the latent canvas' own `input`/`change` events move
and commit a slider. The only thing read behind the app's back is the live run's autosave file (the
training thread writes it at every epoch end) to count training steps without adding a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import CHROMIUM_ARGS, chromium_path

PAGES = {  # sidebar label -> (URL path, title that set_page_config puts in document.title)
    "Home": ("/", "VAE Explorer"),
    "Train": ("/Train", "Train"),
    "Generate": ("/Generate", "Generate"),
    "Latent space": ("/Latent_space", "Latent space"),
    "Reconstruct": ("/Reconstruct", "Reconstruct"),
    "Theory": ("/Theory", "Theory"),
}
VIEWPORT = {"width": 1280, "height": 900}
# Opened at a page's own URL (/Generate), Streamlit's frontend first probes /Generate/_stcore/... for
# its server, gets a 404 (logged to the console) and then finds it at /_stcore/...: not an app error.
PROBE = re.compile(r"^https?://[^/]+/[^/_][^/]*/_stcore/(health|host-config)$")
# An image the server deleted before the browser fetched it (Streamlit drops media files no session
# refers to at the end of every run): the browser shows a broken image.
MEDIA = re.compile(r"/media/[0-9a-f]+\.\w+")
BROKEN_IMAGES = """() => Array.from(document.querySelectorAll("[data-testid='stMain'] img"))
    .filter(img => img.complete && img.naturalWidth === 0).map(img => new URL(img.src).pathname)"""
# The Train page's progress line, e.g. "... (507 of 40,000 steps in all) ...": the step count so far.
STEP_TEXT = re.compile(r"([\d,]+) of [\d,]+ (?:steps )?in all")

# --- training steps, from the autosave -------------------------------------------------------------


class StepLog:
    """(time, step) pairs of the live run, read from its autosave whenever the file changes."""

    def __init__(self, checkpoint_dir: str | Path) -> None:
        import torch

        from vae.lab import AUTOSAVE_NAME

        torch.set_num_threads(1)  # this process only reads a file now and then: leave the cores to the app

        self.path = Path(checkpoint_dir) / "autosave" / AUTOSAVE_NAME
        self.samples: list[tuple[float, int]] = []  # (file mtime, step)
        self._mtime = 0.0

    def poll(self) -> None:
        from vae.checkpoint import CheckpointError, load_checkpoint

        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if mtime != self._mtime:
            with contextlib.suppress(CheckpointError):
                self.samples.append((mtime, load_checkpoint(self.path).step))
                self._mtime = mtime

    async def follow(self, stop: asyncio.Event, every: float = 0.5) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def rate(self, start: float, end: float) -> tuple[float, int, float]:
        """Steps per second between the first and last autosave written in [start, end] (wall clock):
        (rate, steps, seconds)."""
        inside = [(t, s) for t, s in self.samples if start <= t <= end]
        if len(inside) < 2:
            return float("nan"), 0, 0.0
        (t0, s0), (t1, s1) = inside[0], inside[-1]
        return (s1 - s0) / (t1 - t0), s1 - s0, t1 - t0


# --- errors a student would see ------------------------------------------------------------------


@dataclass
class Errors:
    """Everything that went wrong, as (who, what, text); printed at the end, first few in full."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    _media: set[tuple[str, str]] = field(default_factory=set)
    _shown: set[tuple[str, str]] = field(default_factory=set)

    def add(self, who: str, what: str, text: str) -> None:
        self.seen.append((who, what, text.strip()[:500]))

    def watch(self, page, who: str) -> None:
        """Record uncaught JS errors and console errors of the page and its iframes."""
        page.on("pageerror", lambda exc: self.add(who, "page JS error", str(exc)))

        def console(msg) -> None:
            url = (msg.location or {}).get("url", "")
            if msg.type != "error" or PROBE.match(url):
                return
            media = MEDIA.search(f"{msg.text} {url}")
            if media:  # one missing image logs twice: the failed request, then Streamlit's "Image source error"
                if (who, media.group(0)) not in self._media:
                    self._media.add((who, media.group(0)))
                    self.add(who, "broken image (media 404)", f"{media.group(0)} on {page.url}")
            else:
                self.add(who, "console error", f"{msg.text} ({url}) on {page.url}")

        page.on("console", console)

    async def check(self, page, who: str, where: str) -> None:
        """Streamlit exceptions, st.error boxes and broken images now on the page."""
        found = await page.evaluate(
            """() => [
                ...Array.from(document.querySelectorAll("[data-testid='stException']"), e => ["exception", e.innerText]),
                ...Array.from(document.querySelectorAll("[data-testid='stAlertContentError']"), e => ["st.error", e.innerText]),
            ]"""
        )
        for what, text in found:
            self.add(who, f"{what} on {where}", text)
        await self.check_images(page, who, where)

    async def check_images(self, page, who: str, where: str) -> None:
        """Broken images on show now (each counted once per student)."""
        for src in await page.evaluate(BROKEN_IMAGES):
            if (who, src) not in self._shown:
                self._shown.add((who, src))
                self.add(who, f"broken image shown on {where}", src)

    def report(self, limit: int = 8) -> list[str]:
        counts: dict[str, int] = {}
        for _, what, _ in self.seen:
            counts[what] = counts.get(what, 0) + 1
        lines = [
            f"errors seen: {len(self.seen)}"
            + (f"  ({', '.join(f'{k}: {v}' for k, v in counts.items())})" if counts else "")
        ]
        distinct: dict[tuple[str, str], int] = {}
        for _, what, text in self.seen:
            distinct[(what, text)] = distinct.get((what, text), 0) + 1
        for (what, text), n in list(distinct.items())[:limit]:
            lines.append(f"  {n} x {what}: {text[:300]!r}")
        return lines


# --- the browser ---------------------------------------------------------------------------------


def add_browser_priority(parser: argparse.ArgumentParser) -> None:
    """The benchmarks' `--browser-priority` option (read it as `args.browser_priority`)."""
    parser.add_argument(
        "--browser-priority",
        choices=["idle", "normal"],
        default="idle",
        help="idle (default): Chromium runs under SCHED_IDLE in a nice-19 autogroup, so the server gets the "
        "cores first, as in a classroom where the browsers are the students' own machines; normal: they "
        "compete for the cores",
    )


@contextlib.asynccontextmanager
async def chromium(low_priority: bool = False) -> AsyncIterator[object]:
    """One headless Chromium (async Playwright); students are contexts in it. `low_priority` runs it
    under SCHED_IDLE (`chrt --idle`) in a scheduler autogroup of nice 19: the server gets the cores
    first, as when the students' browsers are on their own machines. (A plain `nice` does not hold:
    Chromium, run as root, raises its own. And on kernels with autogroups, Playwright starts Chromium
    in a session, hence an autogroup, of its own, which then gets as much CPU as the server's whole
    group whatever the policy of its threads: the trainer waited for a CPU 25 % of the time.)"""
    from playwright.async_api import async_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium not found: apt-get install chromium, or set CHROMIUM=/path/to/chromium")
    with tempfile.TemporaryDirectory(prefix="vae-chromium-") as tmp:
        if low_priority:
            wrapper = Path(tmp) / "chromium"
            wrapper.write_text(
                f'#!/bin/sh\necho 19 > /proc/self/autogroup 2>/dev/null\nexec chrt --idle 0 "{path}" "$@"\n'
            )
            wrapper.chmod(0o755)
            path = str(wrapper)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                await browser.close()


async def new_student(browser, errors: Errors | None, who: str):
    """A fresh browser context (a student's own browser) and its page, watched for errors."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    if errors is not None:
        errors.watch(page, who)
    return context, page


SCRIPT_DONE = """() => document.querySelector("[data-testid='stApp']")?.getAttribute("data-test-script-state") === "notRunning" """


async def wait_done(page, timeout_ms: float = 60_000) -> None:
    """Until the app's script run has finished (the attribute Streamlit keeps on its root element)."""
    # Polled on a timer, not on animation frames: a starved headless tab draws few frames, and on the
    # Train page the state is "running" for a moment every second (its live fragment).
    await page.wait_for_function(SCRIPT_DONE, timeout=timeout_ms, polling=50)


async def goto(page, url: str, name: str, timeout_ms: float = 90_000) -> None:
    """Open a page by URL: a new Streamlit session, as when a student types the address."""
    path, title = PAGES[name]
    await page.goto(url + path, timeout=timeout_ms)
    await page.wait_for_function("t => document.title.startsWith(t)", arg=title, timeout=timeout_ms, polling=50)
    await wait_done(page, timeout_ms)


async def click_to(page, name: str, timeout_ms: float = 90_000) -> None:
    """Switch page with the sidebar's link: the same session, as a student clicks around."""
    _, title = PAGES[name]
    link = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']", has_text=name)
    await link.first.click(timeout=timeout_ms)
    await page.wait_for_function("t => document.title.startsWith(t)", arg=title, timeout=timeout_ms, polling=50)
    await wait_done(page, timeout_ms)


# --- the shared training run, through the Train page -----------------------------------------------


async def pick_option(page, box: str, option, timeout_ms: float = 180_000) -> None:
    """Open the selectbox labelled `box` and click `option` (a name or a pattern). On a busy machine a
    rerun that lands while the list is open closes it again: open it again until the option is clicked."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        await page.locator("[data-testid='stSelectbox']").filter(has_text=box).click(timeout=timeout_ms)
        try:
            await page.get_by_role("option", name=option).click(timeout=15_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise
            await wait_done(page, timeout_ms)


async def start_training(
    browser, url: str, preset: str = "seed", epochs: int = 1000, dataset: str | None = None, tries: int = 3
) -> None:
    """Press Start on the Train page with `preset`, `epochs` (and `dataset`), in a browser of its own,
    then close it (its live panel would otherwise refresh every second and load the server).

    It returns once a freshly loaded Train page shows a live run of `epochs` epochs. On a loaded machine
    a press was once seen to leave the page as it was: no run drawn, no message. The page is loaded
    afresh then (a run that did start shows), and if no run began the whole setup is done again."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    context, page = await new_student(browser, None, "instructor")
    live = page.get_by_text(re.compile(rf"\b\d+ of {epochs} epochs done"))  # the live panel's progress line
    try:
        for attempt in range(tries):
            await _set_up_and_press_start(page, url, preset, epochs, dataset)
            with contextlib.suppress(PlaywrightTimeout):
                await live.first.wait_for(timeout=60_000)
                return
            await goto(page, url, "Train")  # a new session: it draws the run if one began
            with contextlib.suppress(PlaywrightTimeout):
                await live.first.wait_for(timeout=30_000)
                return
            if attempt < tries - 1:
                print(f"Start was pressed but no run of {epochs} epochs began: setting it up again", flush=True)
        raise RuntimeError(f"no run of {epochs} epochs began after pressing Start {tries} times")
    finally:
        await context.close()


async def _set_up_and_press_start(page, url: str, preset: str, epochs: int, dataset: str | None) -> None:
    from playwright.async_api import expect

    from vae.config import PRESETS

    await goto(page, url, "Train")
    await page.get_by_text("⚙️ Settings").first.click()  # the panel is closed; its title sums it up
    await wait_done(page)
    await pick_option(page, "Start from a preset", re.compile(f"^{re.escape(preset)}"))
    # The preset's rerun fills the form; typing before it lands would be overwritten by it.
    filled = PRESETS[preset]
    await expect(page.get_by_role("spinbutton", name="Latent size z_dim", exact=True)).to_have_value(str(filled.z_dim))
    await wait_done(page)
    if dataset is not None:
        await pick_option(page, "Dataset", re.compile(f"^{re.escape(dataset)}$"))
    field_ = page.get_by_role("spinbutton", name="Epochs", exact=True)
    await field_.fill(str(epochs))
    await field_.press("Tab")
    # The panel's title is drawn by the server: once it says so, the server has the epochs (the
    # field's own value is the browser's, and a late rerun of the preset could still reset it).
    await expect(page.get_by_text(re.compile(rf"· {epochs} epochs")).first).to_be_visible(timeout=120_000)
    for confirm in ("Discard the last run (not saved)", "Stop the current run and start this one instead"):
        box = page.get_by_role("checkbox", name=confirm)
        if await box.count():  # an earlier run (a benchmark's, or a try of this one): this one replaces it
            await box.check()
            await wait_done(page)
    await page.get_by_role("button", name="Start training").click()


async def control_training(browser, url: str, action: str) -> None:
    """Press Pause or Resume on the Train page (a browser of its own, closed afterwards)."""
    button, done = {"pause": ("Pause", "Paused. Press Resume"), "resume": ("Resume", "Training in the background")}[
        action
    ]
    context, page = await new_student(browser, None, "instructor")
    try:
        await goto(page, url, "Train")
        await page.get_by_role("button", name=button, exact=False).first.click()
        await page.get_by_text(done).wait_for(timeout=60_000)
    finally:
        await context.close()


async def shown_step(page) -> int | None:
    """The step count on the Train page's progress line, or None when it is not shown."""
    text = await page.evaluate(
        "() => Array.from(document.querySelectorAll(\"[data-testid='stProgress']\"), e => e.innerText).join(' ')"
    )
    m = STEP_TEXT.search(text)
    return int(m.group(1).replace(",", "")) if m else None


# --- a slider change on the Generate page ----------------------------------------------------------

# Runs in the page. Moves every latent slider of the canvas iframe to `z` the way a drag does (an
# `input` event each: the iframe decodes and paints synchronously), then releases the last one (a
# `change` event: canvas.js sends the values to Python, which reruns the page). Returns, in ms: the
# in-browser redraw per input event, from the first input to the next animation frame (when the new
# picture can be on screen), from the release until the first server-drawn image has a new src
# (firstImage), and the server round trip: from the release until at least one server-drawn image's src
# has changed, every image has loaded, and the app reports its script run finished (null: timed out).
SLIDER_CHANGE = """async ([z, timeoutMs]) => {
  const app = document.querySelector("[data-testid='stApp']");
  const main = document.querySelector("[data-testid='stMain']");
  const iframe = document.querySelector("iframe[title*='latent_canvas']");
  if (!iframe || !iframe.contentDocument) return {error: "no latent canvas on the page"};
  const win = iframe.contentWindow, doc = iframe.contentDocument;
  if (!doc.body.dataset.weightsKey) return {error: "the canvas has no decoder yet"};
  const inputs = Array.from(doc.querySelectorAll("input[data-index]"));
  const srcs = () => Array.from(main.querySelectorAll("img"), img => img.src);
  const before = srcs();
  const redraw = [];
  performance.clearResourceTimings(); // its buffer keeps 250 entries: room for this change's images
  const t0 = performance.now();
  inputs.forEach((input, i) => {
    const a = performance.now();
    input.value = String(z[i]);
    input.dispatchEvent(new Event("input", {bubbles: true}));
    redraw.push(performance.now() - a);
  });
  const frame = new Promise(resolve => win.requestAnimationFrame(() => resolve(performance.now() - t0)));
  const tCommit = performance.now();
  inputs[inputs.length - 1].dispatchEvent(new Event("change", {bubbles: true}));
  let firstImage = null, started = null, ended = null, allLoaded = null;
  const server = await new Promise(resolve => {
    const check = () => {
      const now = srcs();
      const changed = now.length !== before.length || now.some((s, i) => s !== before[i]);
      const loaded = Array.from(main.querySelectorAll("img")).every(img => img.complete);
      const finished = app.getAttribute("data-test-script-state") === "notRunning";
      const elapsed = performance.now() - tCommit;
      if (changed && firstImage === null) firstImage = elapsed;
      if (!finished && started === null) started = elapsed;
      if (started !== null && finished && ended === null) ended = elapsed;
      if (changed && loaded && allLoaded === null) allLoaded = elapsed;
      if ((changed && loaded && finished) || elapsed > timeoutMs) {
        observer.disconnect();
        clearInterval(timer);
        resolve(changed && loaded && finished ? elapsed : null);
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, {subtree: true, childList: true, attributes: true});
    const timer = setInterval(check, 4);
  });
  // Where the time went: the server's answer to the change (the script run starting, then ending, as
  // the page sees it), the images' own requests (sent to answered, Resource Timing), all loaded.
  const fetches = srcs().filter(s => !before.includes(s)).flatMap(s => performance.getEntriesByName(s))
    .map(e => ({serve: e.responseEnd - e.requestStart}));
  const commitEpochMs = performance.timeOrigin + tCommit; // to line up with a server's own clock
  return {redraw, frame: await frame, server, firstImage, started, ended, allLoaded, fetches, commitEpochMs};
}"""


async def open_canvas(page, timeout_ms: float = 90_000) -> None:
    """Wait until the Generate page's canvas has its decoder and the page has finished its run."""
    frame_el = await page.wait_for_selector("iframe[title*='latent_canvas']", timeout=timeout_ms)
    frame = await frame_el.content_frame()
    await frame.wait_for_function(
        "() => document.body.dataset.weightsKey && window.__renderCount > 0", timeout=timeout_ms
    )
    await wait_done(page, timeout_ms)


async def slider_change(page, z: list[float], timeout_ms: float = 30_000) -> dict:
    """One committed change: {"redraw": [ms per input], "frame", "firstImage", "server": ms or None}, or
    {"error": why} when the page has no working canvas."""
    return await page.evaluate(SLIDER_CHANGE, [z, timeout_ms])


async def z_dim(page) -> int:
    frame = await (await page.wait_for_selector("iframe[title*='latent_canvas']")).content_frame()
    return await frame.evaluate("() => document.querySelectorAll('input[data-index]').length")
