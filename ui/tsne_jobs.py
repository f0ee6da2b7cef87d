"""t-SNE maps computed once per model, in the background, with progress any page can show.

A t-SNE of the map's 2,000 points takes seconds (`vae.projection.tsne`). The first page that asks for a
model's map starts one job in a thread; every page that asks meanwhile (another student, the same
student after a click) gets the same job and shows its progress; the result is kept in memory and, for
a saved model, on disk beside its checkpoint (`vae.mapcache`), so a restart reads it back instead of
computing it again. A job keeps running if the page that started it is left. The thread makes no
`st.*` call (Streamlit's rule for threads); openTSNE's C loops release the GIL, so the server keeps
answering other students meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vae.mapcache import cache_path, load_coords, save_coords
from vae.projection import TSNE_ITERS, TSNE_THETA, tsne

KEEP = 8  # finished maps kept in memory (16 KB each for 2,000 points)


@dataclass
class Job:
    """One t-SNE computation. `progress` in [0, 1]; `coords` (N, 2) once done; `error` if it failed."""

    n: int
    started: float = field(default_factory=time.monotonic)
    progress: float = 0.0
    coords: np.ndarray | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def seconds_left(self) -> float | None:
        """Estimated from the time so far, once a tenth is done (the start says little)."""
        if self.progress < 0.1:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed * (1 - self.progress) / self.progress


_lock = threading.Lock()
_jobs: dict[str, Job] = {}
_finished: OrderedDict[str, np.ndarray] = OrderedDict()


def settings(n: int) -> dict[str, float]:
    """What a cached map must have been computed with to be reused."""
    return {"perplexity": perplexity(n), "iterations": float(sum(TSNE_ITERS)), "theta": TSNE_THETA, "seed": 0.0}


def perplexity(n: int) -> float:
    return float(min(30.0, (n - 1) / 3))


def coords(key: str, mu: np.ndarray, index: np.ndarray, checkpoint: Path | None) -> np.ndarray | Job:
    """The t-SNE map of `mu` (N, z_dim) for test images `index`, or the job computing it.

    `key` names the model (its weights); `checkpoint`, the file of a saved model (its map is kept
    beside it), None for the live run (memory only)."""
    with _lock:
        if key in _finished:
            _finished.move_to_end(key)
            return _finished[key]
        if key in _jobs:
            return _jobs[key]
    path = _path(checkpoint)
    if path is not None:
        kept = load_coords(path, index, settings(len(mu)))
        if kept is not None:
            _keep(key, kept)
            return kept
    with _lock:
        if key in _jobs:  # another page started it while we read the disk
            return _jobs[key]
        job = _jobs[key] = Job(len(mu))
    threading.Thread(target=_run, args=(key, job, mu, index, path), name=f"tsne-{key}", daemon=True).start()
    return job


def _path(checkpoint: Path | None) -> Path | None:
    try:
        return cache_path(checkpoint, "tsne") if checkpoint is not None else None
    except OSError:  # the checkpoint was deleted meanwhile: compute, keep in memory only
        return None


def _run(key: str, job: Job, mu: np.ndarray, index: np.ndarray, path: Path | None) -> None:
    try:
        result = tsne(mu, seed=0, perplexity=perplexity(len(mu)), progress=lambda p: setattr(job, "progress", p))
        if path is not None:
            save_coords(path, index, result, settings(len(mu)))
        _keep(key, result)
        job.coords = result
    except Exception as exc:  # noqa: BLE001 - any failure reaches the page as a message, not a dead thread
        job.error = f"{type(exc).__name__}: {exc}"
    finally:
        with _lock:
            _jobs.pop(key, None)
        job.done.set()


def _keep(key: str, result: np.ndarray) -> None:
    with _lock:
        _finished[key] = result
        _finished.move_to_end(key)
        while len(_finished) > KEEP:
            _finished.popitem(last=False)


def forget() -> None:
    """Drop every finished map from memory (tests: the next request reads the disk)."""
    with _lock:
        _finished.clear()
