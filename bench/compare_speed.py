"""Seconds the Compare page takes to draw four models: the first draw on a server that has read none of
them (checkpoints, the test images and the judges loaded, every score computed), then the same page
for a second browser (all of it cached).

    .venv/bin/python -m bench.compare_speed                     # 3 repeats, the default four models
    .venv/bin/python -m bench.compare_speed --repeats 5 --models kit/beta-0.2 kit/beta-1 kit/beta-4 seed-mnist

Runs the page under Streamlit's AppTest (the server's work, no browser) over a temporary copy of
checkpoints/, with one torch thread as the app runs. Each repeat starts from empty caches and a new
Lab; Python's imports (torch, streamlit, plotly) are done before the clock starts, as in a running server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

DEFAULT = ["kit/beta-0.2", "kit/beta-1", "kit/beta-4", "seed-mnist"]


def draw(models: list[str]) -> tuple[float, float, int]:
    """Seconds to run the Compare page with `models` picked (wall clock, and CPU time of this process: on
    a shared machine the wall clock counts the other jobs too), and how many rows its table has."""
    from streamlit.testing.v1 import AppTest

    from tests.helpers import HOME

    at = AppTest.from_file(HOME, default_timeout=120).run()  # the home page: imports done, nothing of Compare's
    at.session_state["cmp_kept"] = models
    start, cpu = time.perf_counter(), time.process_time()
    at.switch_page("pages/6_Compare.py").run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if at.exception or at.warning:
        raise SystemExit(f"the page failed: {at.exception or [w.value for w in at.warning]}")
    table = next(m.value for m in at.markdown if "cmp-table" in m.value)
    return seconds, cpu, table.count("<tr>") - 1 - table.count("<td class='cmp-note'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=DEFAULT)
    args = parser.parse_args()
    from bench.appenv import app_env

    with tempfile.TemporaryDirectory(prefix="vae-compare-speed-") as tmp:
        env, notes = app_env(Path(tmp))
        os.environ.update(env)
        for note in notes:
            print(f"note: {note}")
        import streamlit as st

        from ui import state

        cold, cold_cpu, warm = [], [], []
        loads = []
        for _ in range(args.repeats):
            state._lab = None  # a server that has read nothing yet
            st.cache_resource.clear()
            st.cache_data.clear()
            loads.append(os.getloadavg()[0])
            seconds, cpu, rows = draw(args.models)
            if rows != len(args.models):
                raise SystemExit(f"the table shows {rows} models, not {len(args.models)}")
            cold.append(seconds)
            cold_cpu.append(cpu)
            warm.append(draw(args.models)[0])  # a second browser: everything cached
    print(f"models: {' '.join(args.models)}")
    print(f"load average before each repeat: {', '.join(f'{v:.1f}' for v in loads)} on {os.cpu_count()} cores")
    rows = (("first draw", cold), ("its CPU time", cold_cpu), ("second browser", warm))
    for name, values in rows:
        spread = f"median {statistics.median(values):.2f} s, min {min(values):.2f}, max {max(values):.2f}"
        print(f"{name:>15}: {spread} over {len(values)} repeats")


if __name__ == "__main__":
    main()
