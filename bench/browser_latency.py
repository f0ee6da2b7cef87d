"""Round trip of a committed latent-slider change on the Generate page, in real browsers.

Run: `.venv/bin/python -m bench.browser_latency [--changes 40] [--browsers 1 4] [--model "Live run"] [--server-split]`.
Starts `streamlit run explorer_app.py` on a temporary copy of checkpoints/ (nothing in the repo is
written), starts the shared run on the Train page (seed preset, 1,000 epochs, on Fashion-MNIST so that
it outlasts the benchmark: see appenv.long_run_dataset) in a browser of its own,
and measures with the run PAUSED, then RUNNING, for 1 and for 4 browsers (each a context of one
headless Chromium, all changing sliders at once). One change: every latent slider of the canvas
moves (an `input` event each, as in a drag) and the last one is released (`change`: the values go
to Python). Timed inside the page:
  * server round trip: from the release until the server-drawn images that depend on z (the digit
    row, the traversal) have a new src and have loaded, and the app's script run has finished;
    Split into what the page shows when (the run starting and ending, every image loaded, each image's
    own request) and, with --server-split, the server's own steps on its clock (bench/server_trace);
  * in-browser redraw: decode + paint of the canvas per `input` event, and input to the next
    animation frame: what the student sees while dragging, with no server involved.
Target: server round trip p95 <= 150 ms with one browser while training runs; "usable" with four.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench import appenv, drive, proc, server_trace, stats


async def choose_model(page, label: str) -> None:
    """Pick `label` in the sidebar's model picker (e.g. "Live run")."""
    await page.get_by_role("combobox", name="Showing").click()
    await page.get_by_role("option", name=label, exact=True).click()
    await drive.wait_done(page)


async def shown_model(page) -> str:
    return await page.get_by_role("combobox", name="Showing").input_value()


async def one_student(
    page, changes: int, pause: float, rng: random.Random, out: stats.Latency, raw: list[dict]
) -> None:
    n = await drive.z_dim(page)
    await drive.slider_change(page, [rng.uniform(-2, 2) for _ in range(n)])  # warm-up, not counted
    for _ in range(changes):
        raw.append(await drive.slider_change(page, [round(rng.uniform(-2.5, 2.5), 2) for _ in range(n)]))
        out.add(raw[-1])
        await asyncio.sleep(pause * rng.uniform(0.5, 1.5))


async def measure(browser, url: str, n: int, changes: int, pause: float, model: str | None, errors) -> tuple:
    students = [await drive.new_student(browser, errors, f"b{i}") for i in range(n)]
    try:
        for _, page in students:  # one at a time: n sessions starting at once is not what is measured
            await drive.goto(page, url, "Generate")
            if model:
                await choose_model(page, model)
            await drive.open_canvas(page)
        shown = await shown_model(students[0][1])
        out, raw = stats.Latency(), []
        await asyncio.gather(
            *(one_student(page, changes, pause, random.Random(i), out, raw) for i, (_, page) in enumerate(students))
        )
        for i, (_, page) in enumerate(students):
            await errors.check(page, f"b{i}", "Generate")
    finally:
        for context, _ in students:
            await context.close()
    return out, shown, raw


async def run(url: str, args, errors: drive.Errors, steps: drive.StepLog, trace: Path | None) -> None:
    async with drive.chromium(low_priority=args.browser_priority == "idle") as browser:
        t = time.monotonic()
        dataset, note = appenv.long_run_dataset()
        await drive.start_training(browser, url, preset="seed", epochs=1000, dataset=dataset)
        print(f"{note}: started on the Train page in {time.monotonic() - t:.1f} s")
        stop = asyncio.Event()
        follower = asyncio.create_task(steps.follow(stop))
        for phase in ("paused", "running"):
            await drive.control_training(browser, url, "pause" if phase == "paused" else "resume")
            await asyncio.sleep(2)
            for n in args.browsers:
                start, load0 = time.time(), proc.load_average()
                out, shown, raw = await measure(browser, url, n, args.changes, args.pause, args.model, errors)
                rate, _, _ = steps.rate(start, time.time())
                speed = f"{rate:.1f} steps/s" if rate == rate else "no steps"
                print(
                    f"\ntraining {phase.upper()}, {n} browser{'s' if n > 1 else ''} × {args.changes} changes "
                    f"(model shown: {shown}; training {speed}; load average {load0} -> {proc.load_average()})"
                )
                print(f"  server round trip         {stats.summary(out.server)}")
                print(f"    script shown running    {stats.summary(out.started)}")
                print(f"    first new image src     {stats.summary(out.first_image)}")
                print(f"    script shown finished   {stats.summary(out.ended)}")
                print(f"    all new images loaded   {stats.summary(out.loaded)}")
                print(f"    one image, request sent to loaded  {stats.summary(out.image_serve)}")
                if trace is not None and n == 1:  # the server's own steps, on its clock (see bench.server_trace)
                    for what, values in server_trace.split(trace, raw).items():
                        print(f"    server: {what:16s}  {stats.summary(values)}")
                if out.timeouts:
                    print(f"  changes not applied within 30 s: {out.timeouts}")
                print(f"  in-browser redraw         {stats.summary(out.redraw)}   (decode + paint, per input event)")
                print(f"  input -> next frame       {stats.summary(out.frame)}")
        stop.set()
        await follower


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40, help="committed changes per browser and case")
    parser.add_argument("--browsers", type=int, nargs="+", default=[1, 4], help="browser counts to measure")
    parser.add_argument("--pause", type=float, default=0.5, help="mean seconds between a browser's changes")
    parser.add_argument("--model", help='sidebar model to show on Generate (default: the app\'s, e.g. "Live run")')
    parser.add_argument(
        "--server-split",
        action="store_true",
        help="also time the server's own steps for each change (bench/server_trace; one browser only)",
    )
    drive.add_browser_priority(parser)
    args = parser.parse_args()
    print(f"load average at start: {proc.load_average()}")
    notes = []
    if args.browser_priority == "idle":
        notes.append("Chromium runs under SCHED_IDLE: the server gets the cores first (--browser-priority)")
    errors = drive.Errors()
    with tempfile.TemporaryDirectory(prefix="vae-trace-") as tmp:
        trace = Path(tmp) / "server.log" if args.server_split else None
        extra = server_trace.environment(trace) if trace else None
        if trace:
            notes.append("the server logs its own steps (bench/server_trace): 'server:' lines, for 1 browser")
        with appenv.app_server("vae-latency-", notes, env=extra) as (server, env):
            asyncio.run(run(server.url, args, errors, drive.StepLog(env["VAE_CHECKPOINT_DIR"]), trace))
    print()
    print("\n".join(errors.report()))
    print(f"load average at end: {proc.load_average()}")
    print("target: server round trip p95 <= 150 ms with one browser while training runs; usable with four")


if __name__ == "__main__":
    main()
