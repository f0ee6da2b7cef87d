"""Memory: will a model fit before it is built, and keeping a long-running server's memory flat.

`check_fits` refuses, with a message that says what to change, a model that would need more memory
to train than the machine has free: the form allows 8 hidden layers of 4,096 units and batches of
10,000, which would need about 34 GB, and a server that runs out of memory dies with every student's
session in it.

The rest keeps the server's memory flat on glibc (Linux); those functions are no-ops elsewhere.

glibc keeps memory that the program has freed (tensors of the trainer's snapshots and autosaves,
buffers of finished page runs) instead of returning it to the OS, and gives each thread that
contends for malloc an arena of its own (up to 8 per core). Measured with the seed preset training
on Fashion-MNIST: RSS grew 21 MB in 40 epochs and `malloc_trim(0)` gave back all of it. (This
does not account for all of a busy classroom server's growth: see BENCHMARKS.md.)
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path

import torch

from vae.config import Config
from vae.model import IMAGE_PIXELS, parameter_counts

M_ARENA_MAX = -8  # mallopt's parameter number, as the MALLOC_ARENA_MAX environment variable
_TRIM_EVERY = 10.0  # seconds: at most this often, however short the epochs
_last_trim = 0.0
_trim_lock = threading.Lock()
_trimmer: threading.Thread | None = None  # keep_trimming's thread, once started

# Bytes a training run holds per weight, in float32 units: the weights, their gradients, Adam's two
# moments, the last good weights (the NaN guard), the eval snapshots pages read, and the autosave
# being written: bench/memory_estimate.py measured 10-11 for models of 10-60 million weights (it
# varies from run to run with how the allocator reuses freed blocks).
COPIES_PER_WEIGHT = 12  # one more than the most measured, for a margin
# Floats per image in a batch: what the step keeps for the backward pass and its gradients: about
# 10 per pixel measured (the batch, the decoder's output, the loss's terms), 12 with a margin, and 4
# per hidden unit.
FLOATS_PER_PIXEL, FLOATS_PER_UNIT = 12, 4
# Whatever the model: the kernels and buffers torch loads for a first training step (measured about
# 190 MB for a whole run of the seed preset, whose weights take 1.2 MB).
FIRST_STEP_BYTES = 200_000_000
FIT_FRACTION = 0.8  # leave a fifth of the free memory to everything else (the pages, the browsers' runs)


def training_bytes(config: Config, n_train: int) -> int:
    """About how many bytes training `config` on `n_train` images needs beyond the data itself
    (an upper bound in bench/memory_estimate.py's measurements)."""
    weights = sum(parameter_counts(config).values())
    units = sum(config.encoder_layers) + sum(config.decoder_layers)
    units += sum(config.classifier_layers) if config.conditional else 0
    batch = min(config.batch_size, n_train)
    return FIRST_STEP_BYTES + 4 * (
        COPIES_PER_WEIGHT * weights + batch * (FLOATS_PER_PIXEL * IMAGE_PIXELS + FLOATS_PER_UNIT * units)
    )


def available_bytes(device: torch.device) -> int | None:
    """Free memory where training on `device` keeps its tensors; None when this system does not say."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:  # Linux: what can be allocated without swapping, page cache included
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # macOS has no SC_AVPHYS_PAGES
        return None


def size_text(n_bytes: float) -> str:
    """1536 -> '1.5 KB'; decimal units, as the operating system's tools print them."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def held_bytes(config: Config, n_train: int) -> int:
    """About how many bytes a run of `config` gives back when it is replaced (all it needs but the
    kernels and buffers torch keeps loaded for the next run)."""
    return training_bytes(config, n_train) - FIRST_STEP_BYTES


def check_fits(config: Config, n_train: int, device: torch.device, freed: int = 0) -> None:
    """Raise ValueError, saying what to change, when training `config` would not fit in free memory.

    `freed`: bytes that a run being replaced will give back (see `held_bytes`)."""
    need, free = training_bytes(config, n_train), available_bytes(device)
    if free is None or need <= FIT_FRACTION * (free + freed):
        return
    free += freed
    weights = sum(parameter_counts(config).values())
    where = "the GPU" if device.type == "cuda" else "this machine"
    raise ValueError(
        f"this model is too large to train here: {weights / 1e6:,.1f} million weights at batch size "
        f"{min(config.batch_size, n_train):,} need about {size_text(need)} of memory, more than the "
        f"{size_text(FIT_FRACTION * free)} {where} can spare ({FIT_FRACTION:.0%} of its {size_text(free)} free). "
        "Use fewer or narrower hidden layers, or a smaller batch size."
    )


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


def keep_trimming(every: float = 30.0) -> None:
    """Call `trim` every `every` seconds in a daemon thread, once per process (a server's). A live run trims
    at its epochs' ends; with none, what a class's uploads and t-SNEs freed stayed with the process
    (BENCHMARKS.md, "Memory between runs")."""
    global _trimmer
    with _trim_lock:
        if _trimmer is not None:
            return
        _trimmer = threading.Thread(target=_trim_forever, args=(every,), name="vae-memory-trim", daemon=True)
    _trimmer.start()


def _trim_forever(every: float) -> None:
    while _trimmer is threading.current_thread():  # a test that forgets it stops it
        time.sleep(every)
        trim()


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
