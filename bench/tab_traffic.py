"""Bytes per second that one browser's Train tab receives while the shared run trains.

Run: `.venv/bin/python -m bench.tab_traffic [--seconds 30] [--datasets mnist fashion-mnist]`. For
each dataset a fresh server starts the `seed` preset (1,000 epochs) from a Train page of its own,
then a student's tab opens the Train page and the websocket frames it receives are counted for
`--seconds`. Multiply by the students watching the Train page for the classroom's Wi-Fi load.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench import appenv, drive


async def measure(url: str, dataset: str, seconds: float) -> tuple[float, float]:
    """(KB/s, frames/s) received by one Train tab."""
    async with drive.chromium(low_priority=False) as browser:
        await drive.start_training(browser, url, preset="seed", epochs=1000, dataset=dataset)
        context, page = await drive.new_student(browser, None, "watcher")
        received = {"bytes": 0, "frames": 0}

        def count(payload: bytes | str) -> None:
            received["bytes"] += len(payload or b"")
            received["frames"] += 1

        page.on("websocket", lambda ws: ws.on("framereceived", count))
        await drive.goto(page, url, "Train")
        await asyncio.sleep(5)  # past the page's first full run
        b0, f0, t0 = received["bytes"], received["frames"], time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        await context.close()
    return (received["bytes"] - b0) / elapsed / 1024, (received["frames"] - f0) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    args = parser.parse_args()
    for dataset in args.datasets:
        with appenv.app_server("vae-traffic-") as (server, _):
            kbs, fps = asyncio.run(measure(server.url, dataset, args.seconds))
        print(f"{dataset:>14}: one Train tab receives {kbs:6.0f} KB/s in {fps:4.1f} frames/s ({args.seconds:.0f} s)")


if __name__ == "__main__":
    main()
