"""A classroom on one server: N students click around for M minutes while the shared run trains.

Run: `.venv/bin/python -m bench.classroom_soak --browsers 10 --minutes 5`. Starts `streamlit run
explorer_app.py` on a temporary copy of checkpoints/ (nothing in the repo is written) and starts the
shared run on the Train page (seed preset on Fashion-MNIST: 600 steps per epoch as with full MNIST,
1,000 epochs, so it outlasts the soak; see appenv.long_run_dataset). One browser then visits every page
once (first-use imports and caches are not growth), and the run is timed alone for `--baseline`
seconds. Then N students arrive, each a context of one headless Chromium, and go round the pages with
an action every `--pace` seconds or so (a fresh session by URL once per round, the sidebar's links
otherwise): on Generate they commit three latent-slider changes and time them; on Train they watch the
live curves for a few seconds and read the step count on the progress line; elsewhere they read for a
moment. When they have left, the run is timed alone again (does its speed drift by itself?).

Counted as errors: Streamlit exceptions, st.error boxes, JS errors and console errors of the page and
its iframes (broken images included), navigations that fail, slider changes that never come back.
Training speed comes from the live run's autosave (written by the training thread at every epoch
end): steps between the first and last autosave of a stretch, over the time between them. For each
stretch it also prints how the trainer thread spent its time (/proc schedstat: running, waiting for a
CPU, blocked on the GIL or a lock), the server's RSS (/proc VmRSS) and the cores used by the server,
by Chromium and by everything else. Chromium runs under SCHED_IDLE by default (`--browser-priority`):
in a classroom the browsers are the students' machines, not the server's two cores.

Bounded: students start no action after the deadline, stragglers are cancelled 3 minutes later, and
everything talks to 127.0.0.1 only. Targets: 0 errors; server RSS growth <= 200 MB; training during
the soak >= 70 % of its speed alone.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import appenv, drive, proc, stats

# One round of a student's visits; Train comes every third visit, so each student watches the curves
# early whatever its starting point (student i starts at visit i).
ROUND = ["Generate", "Train", "Home", "Latent space", "Train", "Generate", "Reconstruct", "Train", "Theory"]
CHANGES_PER_VISIT = 3
WATCH_SECONDS = (3.0, 5.0)
OVERTIME = 150.0  # seconds a student with `min_pages` may go on past the deadline to reach them


@dataclass
class Window:
    """One stretch of the live run: its speed, how its thread spent the time, the server's memory."""

    name: str
    steps: tuple[float, int, float] = (float("nan"), 0, 0.0)  # (steps/s, steps, seconds)
    thread: tuple[float, float, float] | None = None  # running, waiting for a CPU, blocked (fractions)
    rss: tuple[float, float] = (float("nan"), float("nan"))  # MB at the start and the end
    load: tuple[str, str] = ("", "")
    cpu: dict[str, float] | None = None  # cores busy on average: server, browsers, everything else

    def line(self) -> str:
        rate, n, secs = self.steps
        t = self.thread
        thread = f"{100 * t[0]:3.0f} % / {100 * t[1]:3.0f} % / {100 * t[2]:3.0f} %" if t else "      -"
        return (
            f"  {self.name:<20} {rate:6.1f} steps/s ({n:5d} in {secs:5.1f} s)   {thread:<22} "
            f"{self.rss[0]:5.0f} -> {self.rss[1]:5.0f} MB   load {self.load[0]} -> {self.load[1]}"
        )

    def cpu_line(self) -> str:
        c = self.cpu or {}
        return (
            f"  {self.name:<20} server {c.get('server', 0):.2f}, Chromium {c.get('browsers', 0):.2f}, "
            f"everything else {c.get('others', 0):.2f}, idle {c.get('idle', 0):.2f}"
        )


@dataclass
class Soak:
    """What the students saw, and what the server did meanwhile."""

    browsers: int
    seconds: float
    errors: drive.Errors = field(default_factory=drive.Errors)
    latency: stats.Latency = field(default_factory=stats.Latency)
    train_views: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # student -> (step before, after)
    visits: int = 0
    pages_seen: dict[str, set[str]] = field(default_factory=dict)  # student -> the pages it reached
    fresh_sessions: int = 0
    windows: list[Window] = field(default_factory=list)  # alone before, with the browsers, alone after
    rss_before_training: float = float("nan")
    rss_after_warm_up: float = float("nan")  # the run started and every page visited once
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the soak, MB)
    shots: Path | None = None  # where to save a screenshot of a student's page when an action fails

    def saw_training_advance(self) -> dict[str, bool]:
        """Per student: did one of its Train visits show a larger step count at the end than at the start?"""
        return {who: any(b > a for a, b in views) for who, views in self.train_views.items()}

    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

    def lines(self) -> list[str]:
        advance = self.saw_training_advance()
        out = [
            f"classroom soak: {self.browsers} browsers for {self.seconds / 60:.1f} min",
            *self.errors.report(),
            f"visits: {self.visits} ({self.fresh_sessions} by URL, a new session each; the rest by sidebar link)",
            f"slider changes: {len(self.latency.server)} applied, {self.latency.timeouts} not applied within 30 s",
            f"  server round trip        {stats.summary(self.latency.server)}",
            f"  in-browser redraw        {stats.summary(self.latency.redraw)}   (decode + paint, per input event)",
            f"Train page: {sum(advance.values())} of {len(advance)} browsers saw the step count advance "
            f"({sum(len(v) for v in self.train_views.values())} visits)",
            f"server RSS before the run started: {self.rss_before_training:.0f} MB; after one visit to every page "
            f"(imports, caches): {self.rss_after_warm_up:.0f} MB",
            "the live run, by stretch: training speed   trainer thread running / waiting for a CPU / blocked (GIL, "
            "locks)   server RSS   load average",
            *(w.line() for w in self.windows),
            f"cores in use on average (of {os.cpu_count()}; 'everything else' is every other process on this machine):",
            *(w.cpu_line() for w in self.windows),
        ]
        if self.rss_samples:
            marks = [(t, mb) for t, mb in self.rss_samples if t % 60 < 5] + [self.rss_samples[-1]]
            out.append("server RSS during the soak: " + ", ".join(f"{t:.0f} s {mb:.0f} MB" for t, mb in marks))
        soak, alone, after = (
            self.window(f"{self.browsers} browsers"),
            self.window("alone, before"),
            self.window("alone, after"),
        )
        if soak is not None:
            out.append(f"server RSS growth during the soak: {soak.rss[1] - soak.rss[0]:+.0f} MB (target <= 200 MB)")
        if soak is not None and alone is not None:
            out.append(
                f"training speed during the soak: {100 * soak.steps[0] / alone.steps[0]:.0f} % of its speed with "
                "no browsers before (target >= 70 %)"
                + (f", {100 * soak.steps[0] / after.steps[0]:.0f} % of its speed alone after" if after else "")
            )
        return out


async def measured(name: str, pid: int, tid: int | None, steps: drive.StepLog, work) -> Window:
    """Run `work` (a coroutine) and measure the live run and the server meanwhile."""
    t0, rss0, load0 = time.time(), proc.rss_mb(pid), proc.load_average()
    s0 = proc.sched(pid, tid) if tid is not None else None
    c0 = await asyncio.to_thread(proc.cpu_seconds, pid)
    await work
    c1 = await asyncio.to_thread(proc.cpu_seconds, pid)
    await asyncio.to_thread(steps.poll)
    s1 = proc.sched(pid, tid) if tid is not None else None
    wall = time.time() - t0
    cores = {k: (c1[k] - c0[k]) / wall for k in c0}
    cpu = {
        "server": cores["server"],
        "browsers": cores["browsers"],
        "others": max(0.0, cores["machine"] - cores["server"] - cores["browsers"]),
        "idle": max(0.0, (os.cpu_count() or 1) - cores["machine"]),
    }
    return Window(
        name,
        steps.rate(t0, time.time()),
        proc.thread_share(s0, s1) if s0 and s1 else None,
        (rss0, proc.rss_mb(pid)),
        (load0, proc.load_average()),
        cpu,
    )


async def visit_generate(page, who: str, soak: Soak, rng: random.Random, pace: float) -> None:
    await drive.open_canvas(page)
    n = await drive.z_dim(page)
    for _ in range(CHANGES_PER_VISIT):
        result = await drive.slider_change(page, [round(rng.uniform(-2.5, 2.5), 2) for _ in range(n)])
        if "error" in result:
            soak.errors.add(who, "slider change failed", result["error"])
            return
        soak.latency.add(result)
        if result["server"] is None:
            soak.errors.add(who, "slider change not applied", "no rerun result within 30 s")
        await asyncio.sleep(pace * rng.uniform(0.5, 1.0))


async def visit_train(page, who: str, soak: Soak, rng: random.Random) -> None:
    try:
        await page.wait_for_function(
            "re => new RegExp(re).test(Array.from(document.querySelectorAll(\"[data-testid='stProgress']\"), e => e.innerText).join(' '))",
            arg=drive.STEP_TEXT.pattern,
            timeout=30_000,
        )
    except Exception:  # noqa: BLE001 - reported as an error of the app
        soak.errors.add(who, "no training progress on Train", "the progress line did not appear within 30 s")
        return
    before = await drive.shown_step(page)
    watch_until = time.monotonic() + rng.uniform(*WATCH_SECONDS)
    while time.monotonic() < watch_until:  # the curves and the sample grid refresh every second
        await asyncio.sleep(1.0)
        await soak.errors.check_images(page, who, "Train")
    after = await drive.shown_step(page)
    soak.train_views.setdefault(who, []).append((before or 0, after or 0))


async def student(
    browser, url: str, i: int, deadline: float, soak: Soak, pace: float, plan: list[str], min_pages: int = 0
) -> None:
    """One student clicking around until the deadline; with `min_pages`, on past it (up to OVERTIME s)
    until it has reached that many pages and seen the training advance on one Train visit: on a busy
    machine every action is slower, and a fixed count of visits in fixed seconds fails for it."""
    who = f"s{i}"
    rng = random.Random(i)
    soak.train_views.setdefault(who, [])
    seen = soak.pages_seen.setdefault(who, set())
    context, page = await drive.new_student(browser, soak.errors, who)
    order = plan[i % len(plan) :] + plan[: i % len(plan)]
    here, k = None, 0

    def more() -> bool:
        now = time.monotonic()
        enough = len(seen) >= min_pages and (min_pages == 0 or soak.saw_training_advance()[who])
        return now < deadline or (not enough and now < deadline + OVERTIME)

    try:
        while more():
            name = order[k % len(order)]
            fresh = here is None or k % len(order) == 0  # by URL once per round
            k += 1
            if name == here:
                continue
            try:
                if fresh:
                    await drive.goto(page, url, name)
                    soak.fresh_sessions += 1
                else:
                    await drive.click_to(page, name)
                here = name
                soak.visits += 1
                seen.add(name)
                if name == "Generate":
                    await visit_generate(page, who, soak, rng, pace)
                elif name == "Train":
                    await visit_train(page, who, soak, rng)
                else:
                    await asyncio.sleep(pace * rng.uniform(0.7, 1.3))
                await soak.errors.check(page, who, name)
            except Exception as exc:  # noqa: BLE001 - a timeout or a closed page: count it, go on
                soak.errors.add(who, f"failed on {name}", f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                if soak.shots is not None:
                    soak.shots.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(Exception):
                        await page.screenshot(
                            path=soak.shots / f"{who}-{k}-{name.replace(' ', '_')}.png", timeout=30_000
                        )
                here = None
            await asyncio.sleep(pace * rng.uniform(0.3, 0.7))
    finally:
        await context.close()


async def sample_rss(pid: int, soak: Soak, stop: asyncio.Event) -> None:
    t0 = time.monotonic()
    while not stop.is_set():
        soak.rss_samples.append((time.monotonic() - t0, proc.rss_mb(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


async def classroom(
    browser, url: str, soak: Soak, pace: float, stagger: float, plan: list[str], min_pages: int = 0
) -> None:
    """The students, from the first one's arrival to the last one's leaving."""
    deadline = time.monotonic() + soak.seconds
    tasks = []
    for i in range(soak.browsers):
        tasks.append(asyncio.create_task(student(browser, url, i, deadline, soak, pace, plan, min_pages)))
        await asyncio.sleep(stagger)
    done, pending = await asyncio.wait(tasks, timeout=soak.seconds + OVERTIME + 180)
    for task in pending:
        task.cancel()
        soak.errors.add("soak", "student still busy 3 min after the end", "cancelled")
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            soak.errors.add("soak", "student crashed", repr(task.exception()))


async def warm_up(browser, url: str, soak: Soak) -> None:
    """One visit to every page (and one slider change) before anything is measured: the first run of
    each page imports its libraries and fills the server's caches, which is not growth with use."""
    context, page = await drive.new_student(browser, soak.errors, "warm-up")
    try:
        for name in drive.PAGES:
            await drive.goto(page, url, name)
            if name == "Generate":
                await drive.open_canvas(page)
                await drive.slider_change(page, [0.5] * await drive.z_dim(page))
            await soak.errors.check(page, "warm-up", name)
    finally:
        await context.close()


async def soak_run(
    url: str,
    checkpoint_dir: str,
    server_pid: int,
    browsers: int,
    seconds: float,
    baseline: float = 30.0,
    preset: str = "seed",
    epochs: int = 1000,
    dataset: str | None = None,
    pace: float = 1.5,
    stagger: float = 2.0,
    plan: list[str] | None = None,
    low_priority_browsers: bool = False,
    warm: bool = True,
    shots: Path | None = None,
    min_pages: int = 0,
) -> Soak:
    """Start the run on the Train page, time it alone for `baseline` s, let `browsers` students in for
    `seconds`, then time it alone again (no baseline: neither). Bounded: students start no action after
    the deadline, and any still busy 3 minutes later are cancelled."""
    soak = Soak(browsers, seconds, rss_before_training=proc.rss_mb(server_pid), shots=shots)
    steps = drive.StepLog(checkpoint_dir)
    stop = asyncio.Event()
    async with drive.chromium(low_priority=low_priority_browsers) as browser:
        await drive.start_training(browser, url, preset=preset, epochs=epochs, dataset=dataset)
        if warm:
            await warm_up(browser, url, soak)
            soak.rss_after_warm_up = proc.rss_mb(server_pid)
        follower = asyncio.create_task(steps.follow(stop))
        # With no browser connected the server's busiest thread is the trainer's.
        tid = await asyncio.to_thread(proc.busiest_thread, server_pid, 3.0)
        if baseline > 0:
            soak.windows.append(await measured("alone, before", server_pid, tid, steps, asyncio.sleep(baseline)))
        stop_rss = asyncio.Event()
        rss_task = asyncio.create_task(sample_rss(server_pid, soak, stop_rss))
        work = classroom(browser, url, soak, pace, stagger, plan or ROUND, min_pages)
        soak.windows.append(await measured(f"{browsers} browsers", server_pid, tid, steps, work))
        stop_rss.set()
        await rss_task
        if baseline > 0:  # every student's context is closed: the same run alone again (does it drift?)
            await asyncio.sleep(3)
            soak.windows.append(await measured("alone, after", server_pid, tid, steps, asyncio.sleep(baseline)))
        stop.set()
        await follower
    return soak


def run_soak(**kwargs) -> Soak:
    """`soak_run` in an event loop of its own thread: safe beside Playwright's sync API (tests)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, soak_run(**kwargs)).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--baseline", type=float, default=30.0, help="seconds of training timed with no browsers")
    parser.add_argument("--pace", type=float, default=1.5, help="mean seconds between a student's actions")
    drive.add_browser_priority(parser)
    parser.add_argument("--shots", type=Path, help="folder for a screenshot of a student's page when an action fails")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, to compare settings (e.g. STREAMLIT_RUNNER_POST_SCRIPT_GC=true)",
    )
    args = parser.parse_args()
    print(f"load average at the start: {proc.load_average()}")
    dataset, run_note = appenv.long_run_dataset()
    notes = [run_note, *(f"server environment: {item}" for item in args.env)]
    if args.browser_priority == "idle":
        notes.append("Chromium runs under SCHED_IDLE: the server gets the cores first (--browser-priority)")
    extra_env = dict(item.split("=", 1) for item in args.env)
    with appenv.app_server("vae-soak-", notes, extra_env) as (server, env):
        soak = run_soak(
            dataset=dataset,
            url=server.url,
            checkpoint_dir=env["VAE_CHECKPOINT_DIR"],
            server_pid=server.proc.pid,
            browsers=args.browsers,
            seconds=args.minutes * 60,
            baseline=args.baseline,
            pace=args.pace,
            low_priority_browsers=args.browser_priority == "idle",
            shots=args.shots,
        )
        dropped = appenv.dropped_reruns(server)
    print(f"load average at the end: {proc.load_average()}")
    print("\n".join(soak.lines()))
    print(dropped)


if __name__ == "__main__":
    main()
