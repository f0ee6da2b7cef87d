"""A memory probe for a running app server: where its memory is, every N seconds, in a log file.

Python imports `sitecustomize` at start-up from the first folder on its path that has one, so
putting this folder first on the server's PYTHONPATH loads the probe into it:

    .venv/bin/python -m bench.classroom_soak --minutes 4 \\
        --env PYTHONPATH=bench/memprobe:. --env VAE_MEMPROBE=bench/out/memprobe.log

Each line: RSS; glibc's heap (`mallinfo2`: bytes in use, bytes freed but kept); Python objects;
torch tensor storages reachable from Python; strings and bytes over 4 KB reachable from Python
objects, grouped by their first characters (so a cache of images or pickles shows up by its
prefix, and the type of what holds the largest of each group is named); urllib's urlsplit cache;
Streamlit sessions (all / connected) and media files. A full `gc.collect()` and a walk over every
object each time: a few hundred ms of the server's time per sample, so do not time a run with it.
"""

from __future__ import annotations

import os
import threading
import time

LOG = os.environ.get("VAE_MEMPROBE")
EVERY = float(os.environ.get("VAE_MEMPROBE_EVERY", "30"))


def _sample(out, t0: float) -> None:
    import collections
    import ctypes
    import gc
    import sys
    import urllib.parse

    import torch
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (n, ctypes.c_size_t)
            for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
        ] + [("keepcost", ctypes.c_size_t)]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    mb = 2**20
    gc.collect()
    objs = gc.get_objects()
    storages: dict[int, int] = {}
    big: dict[int, str | bytes | bytearray] = {}
    for o in objs:
        if isinstance(o, torch.Tensor):
            try:
                storage = o.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
            except RuntimeError:
                pass
        for r in gc.get_referents(o):
            if isinstance(r, (str, bytes, bytearray)) and len(r) > 4096:
                big[id(r)] = r
    groups: collections.Counter = collections.Counter()
    largest: dict[tuple, str | bytes | bytearray] = {}
    for r in big.values():
        key = (type(r).__name__, r[:14] if isinstance(r, str) else r[:7].hex())
        groups[key] += len(r)
        if len(r) > len(largest.get(key, "")):
            largest[key] = r
    top = []
    for key, size in groups.most_common(5):
        holders = {type(h).__name__ for h in gc.get_referrers(largest[key]) if h is not big and h is not largest}
        top.append(f"{key[0]} {key[1]!r}: {size / mb:.1f} MB in {sorted(holders)}")
    m = libc.mallinfo2()
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))
    runtime = Runtime.instance()
    sessions = runtime._session_mgr  # noqa: SLF001 - a probe reads what it can
    out.write(
        f"t={time.monotonic() - t0:5.0f} s  rss {rss:.0f} MB  malloc in use {m.uordblks / mb:.0f} MB, "
        f"freed but kept {m.fordblks / mb:.0f} MB, mmapped {m.hblkhd / mb:.0f} MB  "
        f"python objects {len(objs):,} ({sys.getallocatedblocks():,} blocks)  "
        f"tensors {sum(storages.values()) / mb:.0f} MB in {len(storages)}  "
        f"sessions {len(sessions.list_sessions())}/{len(sessions.list_active_sessions())}  "
        f"media files {len(runtime.media_file_mgr._file_metadata)}  "  # noqa: SLF001
        f"urlsplit cache {urllib.parse.urlsplit.cache_info().currsize}  threads {threading.active_count()}\n"
    )
    out.write(f"   strings/bytes over 4 KB: {len(big)}, {sum(groups.values()) / mb:.1f} MB; largest groups: {top}\n")
    out.flush()


def _loop() -> None:
    t0 = time.monotonic()
    with open(LOG, "a") as out:
        while True:
            time.sleep(EVERY)
            try:
                _sample(out, t0)
            except Exception as exc:  # noqa: BLE001 - a probe must not take the server down
                out.write(f"probe failed: {exc!r}\n")
                out.flush()


if LOG:
    threading.Thread(target=_loop, name="memprobe", daemon=True).start()
