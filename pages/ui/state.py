"""What every page shares: the one Lab of this server, cached checkpoints, and the model on show.

Heavy objects are cached at this edge (`st.cache_resource`); the pages stay thin.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from vae import memory
from vae.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from vae.config import Config
from vae.lab import Lab
from vae.model import ConditionalVAE

LIVE = "Live run"
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
            # One torch thread for the whole server: the training thread keeps one core busy and
            # leaves the other to Streamlit and the pages. With torch's default (all cores) its
            # spinning workers fight the page reruns for the CPU and both slow down many-fold on a
            # 2-core machine.
            torch.set_num_threads(int(os.environ.get("VAE_TORCH_THREADS", "1")))
            _lab = Lab(os.environ.get("VAE_CHECKPOINT_DIR", "checkpoints"), os.environ.get("VAE_DATA_DIR", "data"))
        return _lab


@st.cache_resource(max_entries=16)
def _load(path: str, stamp: int) -> Checkpoint:
    return load_checkpoint(path)  # the stamp in the key: a re-saved file is read again


def _stamp(path: Path) -> int:
    """The file's modification time (ns): what tells one save of a checkpoint from the next."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        raise CheckpointError(f"{path.name} is gone: it was deleted or moved.") from None


def checkpoint(path: Path) -> Checkpoint:
    """A checkpoint from disk, cached; raises CheckpointError."""
    return _load(str(path), _stamp(path))


@dataclass
class Shown:
    """The model a page is showing, with what to say about it."""

    label: str
    model: ConditionalVAE  # eval mode, never the live training model
    config: Config
    dataset: dict  # name, source, notice, n_train, n_test
    epoch: int
    key: str  # changes whenever the weights change: use it to key caches
    live: bool
    state: str | None = None  # the live run's state

    @property
    def dataset_name(self) -> str:
        """The data the model was trained on ("mnist" or "fashion-mnist")."""
        return self.dataset.get("name", self.config.dataset)


def choices() -> list[str]:
    """The live run (if any) and the saved checkpoints; an st.error when the folder cannot be read."""
    try:
        names = [p.stem for p in lab().checkpoints()]
    except CheckpointError as exc:
        st.error(str(exc))
        names = []
    return ([LIVE] if lab().trainer is not None else []) + names


def default_choice(options: list[str]) -> str | None:
    if DEFAULT_CHECKPOINT in options:
        return DEFAULT_CHECKPOINT
    return options[0] if options else None


def shown(choice: str | None) -> Shown | None:
    """Resolve a picker choice to a model; None (and an st.error) when it cannot be read."""
    if choice is None:
        return None
    if choice == LIVE:
        trainer = lab().trainer
        if trainer is None:
            return None
        version, model = trainer.shown_snapshot()
        return Shown(
            label=LIVE,
            model=model,
            config=trainer.config,
            dataset=trainer.dataset.summary(),
            epoch=trainer.epoch,
            key=f"live-{trainer.run_id}-{version}",
            live=True,
            state=trainer.state,
        )
    path = lab().checkpoint_dir / f"{choice}.pt"
    try:
        stamp = _stamp(path)  # once: the key below names the very file read
        ckpt = _load(str(path), stamp)
    except CheckpointError as exc:
        st.error(f"{exc}")
        return None
    return Shown(
        label=choice,
        model=ckpt.model,
        config=ckpt.config,
        dataset=ckpt.dataset,
        epoch=ckpt.epoch,
        key=f"ckpt-{choice}-{stamp}",
        live=False,
    )
