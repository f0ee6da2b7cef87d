"""A small classroom in real browsers: three students click around while the shared run trains.

The short version of bench/classroom_soak.py (same code): 3 browser contexts for 30 s on the real
app, each moving latent sliders on Generate, switching pages and watching the live curves on Train.
"""

from __future__ import annotations

import pytest

from bench.classroom_soak import run_soak
from ui import rerun_guard


@pytest.mark.browser
def test_three_students_see_no_errors_and_watch_training_advance(app_server, app_env):
    soak = run_soak(
        url=app_server.url,
        checkpoint_dir=app_env["VAE_CHECKPOINT_DIR"],
        server_pid=app_server.proc.pid,
        browsers=3,
        seconds=30,
        baseline=0,  # speed and memory are the benchmark's business; here: errors and liveness
        warm=False,
        preset="tiny",
        pace=1.0,
        stagger=1.0,
        min_pages=3,  # each student goes on (on a busy machine, past the 30 s) until it has been around
    )
    dropped = rerun_guard.drops_in(app_server.log())
    report = "\n".join([*soak.lines(), f"late fragment reruns for a page already left, dropped: {dropped}"])
    print(report)
    assert soak.errors.seen == [], report
    assert all(len(pages) >= 3 for pages in soak.pages_seen.values()), report  # every student got around
    assert soak.latency.server, report  # slider changes came back from the server
    assert all(soak.saw_training_advance().values()) and len(soak.train_views) == 3, report


@pytest.mark.browser
def test_the_instructor_unlocks_the_controls_in_a_real_browser(app_env, browser):
    """With a passcode, a browser starts locked; a wrong code is refused, the right one unlocks it
    with Enter (through Streamlit's real session context, which AppTest only imitates)."""
    from playwright.sync_api import expect

    from bench.harness import StreamlitServer, wait_for_app

    with StreamlitServer("explorer_app.py", env={**app_env, "VAE_INSTRUCTOR_PASSCODE": "4711"}) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(server.url + "/Train")
        wait_for_app(page)
        start = page.get_by_role("button", name="Start training")
        assert start.is_disabled()
        page.get_by_text("🔒 Instructor").click()
        field, unlock = page.get_by_label("Passcode"), page.get_by_role("button", name="Unlock")
        field.fill("1234")
        unlock.click()
        page.get_by_text("Wrong passcode.").wait_for(timeout=10_000)
        field.fill("4711")
        field.press("Enter")  # as one types a password: no need to reach for the button
        page.get_by_text("Instructor controls unlocked in this browser").wait_for(timeout=60_000)
        # Waits that scale: on a busy machine the old, disabled button can linger while the page reruns.
        expect(page.get_by_role("button", name="Start training", disabled=False)).to_have_count(1, timeout=60_000)
        page.close()
