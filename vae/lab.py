"""The lab: one live training run per server process, and the folder of saved checkpoints.

The app keeps exactly one `Lab` (`pages/ui/state.lab`); every browser reads the same run.
Pure Python, no UI: the pages call these methods and draw what they return.
"""

from __future__ import annotations

import threading
from pathlib import Path

from vae import memory
from vae.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from vae.config import Config
from vae.data import Dataset, load_dataset
from vae.device import resolve_device
from vae.trainer import Trainer

AUTOSAVE_NAME = "live-run.pt"


class Lab:
    def __init__(self, checkpoint_dir: str | Path = "checkpoints", data_dir: str | Path = "data") -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()  # one start or resume at a time
        self._data_lock = threading.Lock()  # its own: a start that waits for the old run to stop must not hold up pages
        self._datasets: dict[str, Dataset] = {}
        self.trainer: Trainer | None = None

    @property
    def autosave_path(self) -> Path:
        """Each epoch of the live run is saved here (atomically), to resume after a crash."""
        return self.checkpoint_dir / "autosave" / AUTOSAVE_NAME

    def dataset(self, name: str) -> Dataset:
        """Load once per process; concurrent callers share one load."""
        with self._data_lock:
            if name not in self._datasets:
                # The app never downloads (a page must not wait on the network); the CLI does.
                self._datasets[name] = load_dataset(name, self.data_dir, download=False)
            return self._datasets[name]

    def start(self, config: Config, resume: Checkpoint | None = None) -> Trainer:
        """Stop any live run and start a new one (or continue `resume`) in a background thread."""
        dataset = self.dataset(config.dataset)
        # Refuse a model too large for this machine before stopping the run everyone is watching,
        # counting the memory that run gives back when it is replaced.
        old = self.trainer
        freed = memory.held_bytes(old.config, len(old.dataset.train_y)) if old is not None else 0
        memory.check_fits(config, len(dataset.train_y), resolve_device(None), freed)
        with self._lock:
            old = self.trainer
            if old is not None and old.alive:
                old.stop()
                old.join(30)
            what = f"resumed from {resume.name}" if resume is not None else "started"
            self.trainer = Trainer(
                config,
                dataset,
                resume=resume,
                autosave_path=str(self.autosave_path),
                command=f"VAE Explorer app, Train page ({what})",
                freed_bytes=freed,
            )
            # A server lives for a whole lesson: give freed memory back as epochs go by.
            self.trainer.add_callback("on_epoch_end", lambda _: memory.trim())
            self.trainer.start()
            return self.trainer

    def resume_autosave(self) -> Trainer:
        """Continue the live run saved by the last autosave (e.g. after the server was killed)."""
        ckpt = load_checkpoint(self.autosave_path)
        return self.start(ckpt.config, resume=ckpt)

    def autosave_to_offer(self) -> Checkpoint | None:
        """The last autosave when no run is live and it has epochs left to train, else None. Raises
        CheckpointError when there is one but it cannot be read (the owner says so: a silently
        ignored autosave would look like a crash that lost the run)."""
        try:
            if self.trainer is not None or not self.autosave_path.exists():
                return None
        except OSError as exc:  # a folder this process may not look into
            raise CheckpointError(f"{self.autosave_path} cannot be read ({exc.strerror}).") from None
        ckpt = load_checkpoint(self.autosave_path)
        return ckpt if ckpt.epoch < ckpt.config.epochs else None

    def checkpoints(self) -> list[Path]:
        return list_checkpoints(self.checkpoint_dir)

    def save(self, name: str, overwrite: bool = False) -> Path:
        """Save the live run's current weights as `name`; never replaces a file unless asked."""
        if self.trainer is None:
            raise CheckpointError("There is no live run to save: start training first.")
        path = checkpoint_path(name, self.checkpoint_dir)
        if path.exists() and not overwrite:
            raise CheckpointError(f"A checkpoint named {path.stem!r} exists already: choose another name.")
        return save_checkpoint(path, self.trainer.to_checkpoint())

    def delete(self, name: str) -> None:
        path = checkpoint_path(name, self.checkpoint_dir)
        if not path.exists():
            raise CheckpointError(f"No checkpoint named {path.stem!r}.")
        try:
            path.unlink()
        except OSError as exc:
            raise CheckpointError(f"Could not delete {path}: {exc.strerror or type(exc).__name__}.") from None
