"""The server's share of a slider round trip, from the timestamps `sitecustomize.py` (here) writes.

`environment(path)` is what a benchmark adds to its server's environment; `split(path, changes)`
lines each change up with the server's steps, by the clock both share (one machine): the browser's
commit time (`commitEpochMs` from `bench.drive.slider_change`) against the server's log lines.
Meaningful for one browser at a time: with several, the server's steps cannot be told apart.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def environment(path: Path) -> dict[str, str]:
    """Environment variables that make a Streamlit server started with them log its steps to `path`."""
    return {"PYTHONPATH": str(HERE), "VAE_TRACE_FILE": str(path)}


def split(path: Path, changes: list[dict]) -> dict[str, list[float]]:
    """For each change (a `slider_change` result), ms after the browser's commit until the server had the
    change, had finished the script run it started, and had sent its last message before the page
    showed the result: {"received": [...], "run ended": [...], "last sent": [...]}."""
    events = []
    for line in path.read_text().splitlines():
        stamp, what = line.split(" ", 1)
        events.append((float(stamp), what))
    out: dict[str, list[float]] = {"received": [], "run ended": [], "last sent": []}
    for change in changes:
        commit, shown = change.get("commitEpochMs"), change.get("server")
        if commit is None or shown is None:
            continue
        after = [(t - commit, what) for t, what in events if commit - 1 <= t <= commit + shown]
        received = next((t for t, what in after if what == "received rerun_script"), None)
        if received is None:
            continue
        started = next((t for t, what in after if what == "run start" and t >= received), None)
        ended = next((t for t, what in after if what == "run end" and started is not None and t >= started), None)
        sent = [t for t, what in after if what.startswith("sent") and t >= received]
        out["received"].append(received)
        if ended is not None:
            out["run ended"].append(ended)
        if sent:
            out["last sent"].append(max(sent))
    return out
