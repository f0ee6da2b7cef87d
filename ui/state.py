"""What every page shares: the one Lab of this server, cached saved runs, and the run on show.

A page shows a `RunView`: the live run's latest (`Lab.trainer.view`) or a saved checkpoint's, read
once per version of its file (`st.cache_resource`); the pages stay thin.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st
import torch

from vae import memory
from vae.checkpoint import CheckpointError, load_checkpoint
from vae.lab import Lab
from vae.run import LIVE, RunView

LIVE_CHOICE = "/live"  # the model picker's value for the live run: no checkpoint's name has a slash
DEFAULT_CHECKPOINT = "seed-mnist"  # the shipped model the app opens on


_lab: Lab | None = None
_lab_lock = threading.Lock()


def lab() -> Lab:
    """The server's only Lab: one training run shared by every browser.

    Kept in this module, not in `st.cache_resource`: "Clear caches" in Streamlit's menu (or its
    keyboard shortcut, C) empties that for every user, and a Lab dropped from it would leave its
    run training in a thread that no page could reach any more, nor stop."""
    global _lab
    with _lab_lock:
        if _lab is None:
            memory.cap_malloc_arenas()
            memory.keep_trimming()  # memory freed between runs goes back to the machine, not only at epochs
            # One torch thread for the whole server: the training thread keeps one core busy and
            # leaves the other to Streamlit and the pages. With torch's default (all cores) its
            # spinning workers fight the page reruns for the CPU and both slow down many-fold on a
            # 2-core machine.
            torch.set_num_threads(int(os.environ.get("VAE_TORCH_THREADS", "1")))
            _lab = Lab(os.environ.get("VAE_CHECKPOINT_DIR", "checkpoints"), os.environ.get("VAE_DATA_DIR", "data"))
        return _lab


@st.cache_resource(max_entries=16)
def _load(path: str, stamp: int) -> RunView | CheckpointError:
    """The file read once per version (the stamp in the key: a re-saved file is read again). A file
    that cannot be read is cached too: a crafted one could cost seconds on every render."""
    try:
        return load_checkpoint(path)
    except CheckpointError as exc:
        return exc


def saved(name: str) -> RunView:
    """A saved checkpoint by its listed name, cached; raises CheckpointError."""
    return saved_file(lab().path(name), name)


def saved_file(path: Path, name: str) -> RunView:
    """The checkpoint at `path` (called `name` in messages), cached; raises CheckpointError."""
    try:
        stamp = path.stat().st_mtime_ns  # once: the run's key names the very file read
    except OSError:
        raise CheckpointError(f"“{name}” is gone: it was deleted or moved.") from None
    run = _load(str(path), stamp)
    if isinstance(run, CheckpointError):
        raise run
    return run


def choices() -> list[str]:
    """The live run (if any) and the saved checkpoints' names; an st.error when the folder cannot be read."""
    try:
        names = lab().checkpoints()
    except CheckpointError as exc:
        st.error(str(exc))
        names = []
    return ([LIVE_CHOICE] if lab().trainer is not None else []) + names


def label(choice: str) -> str:
    """How the model picker shows a choice (a saved file may be called "Live run" too)."""
    return f"● {LIVE}" if choice == LIVE_CHOICE else choice


def default_choice(options: list[str]) -> str | None:
    if DEFAULT_CHECKPOINT in options:
        return DEFAULT_CHECKPOINT
    return options[0] if options else None


def shown(choice: str | None) -> RunView | None:
    """Resolve a picker choice to the run it names; None (and an st.error) when it cannot be read."""
    if choice == LIVE_CHOICE:
        trainer = lab().trainer
        return trainer.view if trainer is not None else None
    if choice is None:
        return None
    try:
        return saved(choice)
    except CheckpointError as exc:
        st.error(f"{exc}")
        return None
