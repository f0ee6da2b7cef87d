"""Keep a long-running server's memory flat on glibc (Linux); every function is a no-op elsewhere.

glibc keeps memory that the program has freed (tensors of the trainer's snapshots and autosaves,
buffers of finished page runs) instead of returning it to the OS, and gives each thread that
contends for malloc an arena of its own (up to 8 per core). Measured with the seed preset training
on Fashion-MNIST: RSS grew 21 MB in 40 epochs and `malloc_trim(0)` gave back all of it. (This
does not account for all of a busy classroom server's growth: see BENCHMARKS.md.)
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time

M_ARENA_MAX = -8  # mallopt's parameter number, as the MALLOC_ARENA_MAX environment variable
_TRIM_EVERY = 10.0  # seconds: at most this often, however short the epochs
_last_trim = 0.0
_trim_lock = threading.Lock()


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def cap_malloc_arenas(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas for threads started from now on (Streamlit runs each
    browser session's script in a thread of its own).

    Called from the app's first script run, this comes after Streamlit's server threads have made
    arenas of their own: setting `MALLOC_ARENA_MAX=2` in the environment of the server process, as
    `make run` does, caps them from the start and halved a 10-browser soak's growth (+123 and
    +113 MB without it, +57 and +36 MB with it, 4 minutes each; BENCHMARKS.md). This call is the
    fallback for a server started some other way."""
    if (libc := _glibc()) is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


def trim() -> bool:
    """Return freed memory to the OS (`malloc_trim(0)`), at most once every 10 s; True if it ran."""
    global _last_trim
    libc = _glibc()
    if libc is None:
        return False
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim < _TRIM_EVERY:
            return False
        _last_trim = now
    libc.malloc_trim(0)
    return True
