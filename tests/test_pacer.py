"""The client-paced refresh of the Train page's live panel (ui/pacer): in a real Chromium it
reruns its fragment, only its fragment, and asks for each run only after the browser has the last."""

from __future__ import annotations

import itertools
import json
import re
import time

import pytest

from bench.harness import StreamlitServer, wait_for_app

APP = "tests/apps/pacer_app.py"


@pytest.fixture(scope="module")
def server():
    with StreamlitServer(APP) as s:
        yield s


def watch(browser, server: StreamlitServer, query: str, seconds: float) -> tuple[int, int, list[float]]:
    """Open the page with `query`, leave it `seconds`, then read how often the page and the fragment
    ran and the server's time of each fragment run."""
    page = browser.new_page()
    page.goto(f"{server.url}/?{query}")
    wait_for_app(page)
    time.sleep(seconds)
    text = page.locator("[data-testid='stMain']").inner_text()
    times = json.loads(page.locator("[data-testid='stCode'] code").inner_text())
    page.close()
    page_runs = int(re.search(r"page runs: (\d+)", text).group(1))
    fragment_runs = int(re.search(r"fragment runs: (\d+)", text).group(1))
    return page_runs, fragment_runs, times


@pytest.mark.browser
def test_the_pacer_reruns_only_its_fragment_and_waits_after_each_run(server, browser):
    page_runs, fragment_runs, times = watch(browser, server, "every=0.3", 3.0)
    assert page_runs == 1  # the page itself never reran
    assert fragment_runs >= 4, fragment_runs  # about 9 in 3 s; without the pacer there would be 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.3, gaps  # the browser waited `every` after it had each run, never less


@pytest.mark.browser
def test_without_a_pacer_call_the_refresh_stops(server, browser):
    _, fragment_runs, _ = watch(browser, server, "every=0.1&stop_after=3", 1.5)
    assert fragment_runs == 3
