"""Computed maps kept on disk beside the checkpoint they came from, so a restart does not redo them.

A saved model's t-SNE map takes seconds; it is written once to `<checkpoints>/cache/<name>-<mtime>-<what>.npz`
(the checkpoint's modification time in nanoseconds: a re-saved file gets a new map). The file holds the
test indices it was computed for and the settings it was computed with; a file that is missing,
unreadable, truncated or computed for other points or settings reads as None and is computed again.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from vae.files import WriteError, atomic_write

CACHE_DIR = "cache"


def cache_path(checkpoint: str | os.PathLike, what: str) -> Path:
    """Where the map `what` (e.g. "tsne") of the checkpoint file `checkpoint` is kept."""
    checkpoint = Path(checkpoint)
    stamp = checkpoint.stat().st_mtime_ns
    return checkpoint.parent / CACHE_DIR / f"{checkpoint.stem}-{stamp}-{what}.npz"


def load_coords(path: str | os.PathLike, index: np.ndarray, settings: dict[str, float]) -> np.ndarray | None:
    """The (N, 2) coordinates kept at `path` for the test images `index` (N,) computed with `settings`,
    or None when there are none that fit (missing, corrupt, other points, other settings)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            coords, kept_index = f["coords"], f["index"]
            kept = {k: float(f[f"setting_{k}"]) for k in settings}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    fits = np.array_equal(kept_index, index) and kept == {k: float(v) for k, v in settings.items()}
    if not fits or coords.shape != (len(index), 2) or not np.isfinite(coords).all():
        return None
    return coords.astype(np.float32)


def save_coords(path: str | os.PathLike, index: np.ndarray, coords: np.ndarray, settings: dict[str, float]) -> bool:
    """Keep `coords` (N, 2) for the test images `index` at `path` (atomically), and remove the same
    checkpoint's maps of earlier versions of its file. False when the folder cannot be written (the
    map is then only kept in memory): a read-only checkpoint folder must not break the page."""
    path = Path(path)
    arrays = {"coords": np.asarray(coords, np.float32), "index": np.asarray(index)}
    arrays |= {f"setting_{k}": np.float64(v) for k, v in settings.items()}
    try:
        atomic_write(path, lambda f: np.savez(f, **arrays))
    except WriteError:
        return False
    name, _, what = path.name.rsplit("-", 2)  # "<name>", "<mtime>", "<what>.npz"
    for old in path.parent.glob(f"{name}-*-{what}"):
        if old != path and old.name.rsplit("-", 2)[0] == name:
            old.unlink(missing_ok=True)
    return True
