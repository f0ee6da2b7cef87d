"""Students flipping between the Train page and the others while the run trains: errors and drops.

Run: `.venv/bin/python -m bench.page_switch` (`--browsers 4 --seconds 300`). Each browser opens Train,
then, again and again, waits 0.2-1.5 s (the live panel redraws every second), clicks another page
in the sidebar, waits 0-0.5 s and clicks back to Train, each time until the page has finished its
run. It prints the switches made, the errors seen (a click that never found the sidebar link is a
page gone blank) and how many late fragment reruns `ui/rerun_guard.py` dropped that Streamlit
would otherwise have run after the new page (the race behind the blank pages; see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from bench import appenv, drive

OTHERS = ["Home", "Generate", "Latent space", "Reconstruct", "Theory"]


async def student(browser, url: str, i: int, deadline: float, errors: drive.Errors) -> int:
    rng, who, switches = random.Random(i), f"s{i}", 0
    context, page = await drive.new_student(browser, errors, who)
    try:
        await drive.goto(page, url, "Train")
        while time.monotonic() < deadline:
            try:
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                await drive.click_to(page, rng.choice(OTHERS), 60_000)
                await asyncio.sleep(rng.uniform(0.0, 0.5))
                await drive.click_to(page, "Train", 60_000)
                switches += 2
            except Exception as exc:  # noqa: BLE001 - a blank page or a timeout: count it, start afresh
                errors.add(who, "switch failed", f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                await drive.goto(page, url, "Train")
    finally:
        await context.close()
    return switches


async def run(url: str, browsers: int, seconds: float, dataset: str) -> tuple[int, drive.Errors]:
    errors = drive.Errors()
    async with drive.chromium(low_priority=True) as browser:
        await drive.start_training(browser, url, preset="seed", epochs=1000, dataset=dataset)
        deadline = time.monotonic() + seconds
        counts = await asyncio.gather(*(student(browser, url, i, deadline, errors) for i in range(browsers)))
    return sum(counts), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    dataset, run_note = appenv.long_run_dataset()
    with appenv.app_server("vae-switch-", [run_note]) as (server, _):
        switches, errors = asyncio.run(run(server.url, args.browsers, args.seconds, dataset))
        dropped = appenv.dropped_reruns(server)
    print(f"{args.browsers} browsers for {args.seconds:.0f} s: {switches} page switches")
    print("\n".join(errors.report()))
    print(dropped)


if __name__ == "__main__":
    main()
