"""What a class waiting on the Train page costs the server before any run starts.

Run: `.venv/bin/python -m bench.idle_train_tabs [--tabs 10] [--seconds 30]`. With no live run drawn,
a Train page looks for one every few seconds (`WATCH_SECONDS` in pages/1_Train.py), so that the
teacher's run appears on every student's screen without a click. One server, `--tabs` tabs (each a
session of its own): the server's CPU while they all sit on Home (the baseline: no timer), then while
they all sit on Train.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench import appenv, drive, proc


async def stretch(pages, url: str, name: str, seconds: float, pid: int) -> float:
    """Open `name` in every tab, settle, then the server's CPU seconds per second over `seconds`."""
    for page in pages:
        await drive.goto(page, url, name)
    await asyncio.sleep(3)
    before, t0 = proc.cpu_seconds(pid)["server"], time.monotonic()
    await asyncio.sleep(seconds)
    return (proc.cpu_seconds(pid)["server"] - before) / (time.monotonic() - t0)


async def measure(url: str, pid: int, tabs: int, seconds: float) -> dict[str, float]:
    async with drive.chromium(low_priority=False) as browser:
        students = [await drive.new_student(browser, None, f"s{i}") for i in range(tabs)]
        pages = [page for _, page in students]
        try:
            return {name: await stretch(pages, url, name, seconds, pid) for name in ("Home", "Train")}
        finally:
            for context, _ in students:
                await context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with appenv.app_server("vae-idle-train-") as (server, _):
        cores = asyncio.run(measure(server.url, server.proc.pid, args.tabs, args.seconds))
    print(f"{args.tabs} tabs, {args.seconds:.0f} s each, no live run; server CPU (cores in use on average):")
    for name, used in cores.items():
        print(f"  all on {name:<6} {used:.3f}")
    print(
        f"  Train over Home: +{cores['Train'] - cores['Home']:.3f} cores ({cores['Train'] / max(cores['Home'], 1e-3):.1f}x)"
    )


if __name__ == "__main__":
    main()
