"""What the server process and this machine are doing, read from /proc (psutil is not installed):
memory, CPU time per process tree, how a thread spends its time, the load average."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (psutil is not installed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def sched(pid: int, tid: int) -> tuple[float, float, float]:
    """(wall clock, seconds on a CPU, seconds waiting for a CPU) of one thread, from its schedstat."""
    run_ns, wait_ns, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
    return time.monotonic(), int(run_ns) / 1e9, int(wait_ns) / 1e9


def busiest_thread(pid: int, seconds: float = 2.0) -> int:
    """The thread of `pid` that ran most over the next `seconds` (with no browser connected: the trainer)."""
    tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    before = {tid: sched(pid, tid)[1] for tid in tids}
    time.sleep(seconds)
    used = {}
    for tid in tids:
        with contextlib.suppress(OSError):
            used[tid] = sched(pid, tid)[1] - before[tid]
    return max(used, key=used.get)


def thread_share(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float, float]:
    """Between two `sched` readings: fractions of the time running, waiting for a CPU (the machine is
    busy), and neither (blocked: for the trainer, waiting for Python's GIL or a lock)."""
    wall = b[0] - a[0]
    run, wait = (b[1] - a[1]) / wall, (b[2] - a[2]) / wall
    return run, wait, max(0.0, 1 - run - wait)


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on (the name may hold spaces)


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server, by this process's other children (Playwright's driver and
    Chromium: on this machine the students' browsers share the server's cores), and by the whole machine.
    Children that ended count through their parent's cutime/cstime."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                f = _stat(int(entry.name))
                parent[int(entry.name)] = int(f[1])
                used[int(entry.name)] = sum(int(x) for x in f[11:15]) / tick  # utime stime cutime cstime

    def tree(root: int) -> set[int]:
        found, todo = {root}, [root]
        while todo:
            p = todo.pop()
            kids = [c for c, pp in parent.items() if pp == p and c not in found]
            found.update(kids)
            todo.extend(kids)
        return found

    server = tree(server_pid)
    browsers = tree(os.getpid()) - server - {os.getpid()}
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4)) / tick  # all but idle, iowait
    return {
        "server": sum(used.get(p, 0.0) for p in server),
        "browsers": sum(used.get(p, 0.0) for p in browsers),
        "machine": busy,
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
