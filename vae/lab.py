"""The lab: one live training run per server process, and the folder of saved checkpoints.

The app keeps exactly one `Lab` (`ui/state.lab`); every browser reads the same run. The Lab adds
to the trainer what a long-lived server needs, as epoch-end callbacks: each epoch is autosaved
(to resume after a crash) and freed memory is given back to the operating system.
Pure Python, no UI: the pages call these methods and draw what they return.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from torch import nn

from vae import files, kit, memory
from vae.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    name_of,
    new_checkpoint_path,
    path_of,
    read_summary,
    save_checkpoint,
)
from vae.config import Config
from vae.data import Dataset, load_dataset
from vae.device import resolve_device
from vae.judge import kept_judge
from vae.run import RunView
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
        self._saved: tuple[str, int] | None = None  # (run id, step) of the live run's last save
        self.autosave_error: str | None = None  # why the last autosave failed; None once one succeeds
        self._offer: tuple[int, dict | CheckpointError] | None = None  # (autosave mtime, its summary)
        # Writers killed mid-write (a crash, kill -9) leave temporary files as large as a checkpoint.
        for folder in (self.checkpoint_dir, self.autosave_path.parent):
            files.remove_stale_temporaries(folder)

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

    def start(self, config: Config, resume: RunView | None = None) -> Trainer:
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
            # The old run must go with its last reference (`tests/test_hardening.py` checks with the collector
            # off): the server runs without Streamlit's collection after each page (`postScriptGC = false`),
            # and a run kept in a reference cycle held its memory for minutes while `check_fits` counted it freed.
            self.trainer = None
            del old
            what = f"resumed from {resume.label}" if resume is not None else "started"
            command = f"VAE Explorer app, Train page ({what})"
            trainer = Trainer(config, dataset, resume=resume, command=command, judge=self.judge(dataset))
            trainer.add_callback("on_epoch_end", self._autosave)
            # A server lives for a whole lesson: give freed memory back as epochs go by.
            trainer.add_callback("on_epoch_end", lambda _: memory.trim())
            self.trainer, self.autosave_error = trainer, None
            trainer.start()
            return trainer

    def judge(self, dataset: Dataset) -> nn.Module | None:
        """The kept judge of `dataset` (`vae.judge.kept_judge`), or None: a Start never trains one."""
        return kept_judge(dataset, self.checkpoint_dir)

    def _autosave(self, trainer: Trainer) -> None:
        """Save the run for a restart. A failure (a full disk, say) is reported, not fatal: the run in
        memory is fine, and stopping it would lose more than the autosave protects."""
        try:
            save_checkpoint(self.autosave_path, trainer.to_checkpoint())
        except CheckpointError as exc:
            self.autosave_error = f"Epoch {trainer.epoch} could not be autosaved: {exc}"
        else:
            self.autosave_error = None

    def resume_autosave(self) -> Trainer:
        """Continue the live run saved by the last autosave (e.g. after the server was killed)."""
        run = load_checkpoint(self.autosave_path)
        return self.start(run.config, resume=run)

    def autosave_to_offer(self) -> dict | None:
        """{"config", "epoch"} of the last autosave when no run is live and it has epochs left to train,
        else None. Only the file's small header is read, once per version of the file (every render of
        every browser asks). Raises CheckpointError when there is one but it cannot be read (the owner
        says so: a silently ignored autosave would look like a crash that lost the run)."""
        if self.trainer is not None:
            return None
        try:
            stamp = self.autosave_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        except OSError as exc:  # a folder this process may not look into
            raise CheckpointError(f"{self.autosave_path} cannot be read ({exc.strerror}).") from None
        if self._offer is None or self._offer[0] != stamp:
            try:
                summary: dict | CheckpointError = read_summary(self.autosave_path)
            except CheckpointError as exc:
                summary = exc
            self._offer = (stamp, summary)
        summary = self._offer[1]
        if isinstance(summary, CheckpointError):
            raise summary
        return summary if summary["epoch"] < summary["config"].epochs else None

    def checkpoints(self) -> list[str]:
        """The names of the saved checkpoints, newest first (CheckpointError if the folder cannot be read)."""
        return [name_of(p) for p in list_checkpoints(self.checkpoint_dir)]

    def path(self, name: str) -> Path:
        """The file of the saved checkpoint `name` (as `checkpoints()` lists it)."""
        return path_of(name, self.checkpoint_dir)

    @property
    def kit_dir(self) -> Path:
        """The lesson kit's models (`vae.kit`): shipped with the repo, apart from the saved checkpoints."""
        return self.checkpoint_dir / kit.FOLDER

    def kit_models(self) -> list[str]:
        """The names of the kit's models on disk, in the kit's order (any other file in the folder after
        them); CheckpointError if the folder cannot be read."""
        order = {m.name: i for i, m in enumerate(kit.KIT)}
        names = [name_of(p) for p in list_checkpoints(self.kit_dir)]
        return sorted(names, key=lambda n: (order.get(n, len(order)), n))

    def kit_path(self, name: str) -> Path:
        return path_of(name, self.kit_dir)

    def save(self, name: str, overwrite: bool = False) -> Path:
        """Save the live run as `name`; never replaces a file unless asked."""
        if self.trainer is None:
            raise CheckpointError("There is no live run to save: start training first.")
        path = new_checkpoint_path(name, self.checkpoint_dir)
        if path.exists() and not overwrite:
            raise CheckpointError(f"A checkpoint named {name_of(path)!r} exists already: choose another name.")
        trainer = self.trainer
        saved = save_checkpoint(path, trainer.to_checkpoint())
        self._saved = (trainer.run_id, trainer.step)
        return saved

    def unsaved(self) -> RunView | None:
        """The run that a Start would throw away unasked: one that has ended (finished, stopped, failed)
        with steps trained since it was last saved; None when there is none."""
        trainer = self.trainer
        if trainer is None or trainer.view.state.live or trainer.step == 0:
            return None
        return None if self._saved == (trainer.run_id, trainer.step) else trainer.view

    def delete(self, name: str) -> None:
        path = self.path(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise CheckpointError(f"No checkpoint named {name!r}.") from None
        except OSError as exc:
            raise CheckpointError(f"Could not delete {path}: {exc.strerror or type(exc).__name__}.") from None
