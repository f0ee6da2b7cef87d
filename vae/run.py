"""A run's history as one immutable value, the same for a live run and a saved one.

The trainer *publishes* a new `RunView` by swapping one reference (at each epoch end, every few
hundred milliseconds of steps, and whenever its state changes); `load_checkpoint` returns the same
type for a file. A page reads one value: no locks, no callables, no live/saved branches, and a shipped
model's history is drawn exactly as it was seen live because it *is* the same type.

Arrays in a view are never written again once published: the trainer appends beyond their end
(`vae.steplog.GrowingArray`), so a view shares the trainer's memory without copying it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from vae.config import Config
from vae.model import NUM_CLASSES, ConditionalVAE

LIVE = "Live run"  # what the app calls the live run (a checkpoint may not be named so)
_NO_ROWS = np.zeros((0, NUM_CLASSES, 28, 28), np.float32)
_NO_ROWS.flags.writeable = False
_NO_FILM = np.zeros((0, 4, NUM_CLASSES, 28, 28), np.uint8)
_NO_FILM.flags.writeable = False
_NO_MAPS = np.zeros((0, 0, 0), np.float16)
_NO_MAPS.flags.writeable = False


class RunState(enum.Enum):
    """idle -> running <-> paused -> finished | stopped | failed."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def live(self) -> bool:
        """Still training, or paused and able to go on."""
        return self in (RunState.RUNNING, RunState.PAUSED)


@dataclass(frozen=True)
class Progress:
    """Where a live run is within its epochs (a saved run has none)."""

    step_in_epoch: int
    steps_per_epoch: int
    steps_per_sec: float  # smoothed; 0 while not running
    eta_seconds: float | None  # None while the rate is unknown or the run is not running


@dataclass(frozen=True, eq=False)
class RunView:
    """Everything a page may show of one run.

    `model` is an eval-mode copy on the CPU, never the weights being trained: while a run trains it
    holds the weights of the last finished epoch (pictures change once per epoch), once it pauses or
    ends the weights it stopped with. `steps` columns are (S,) arrays of the step log; `sample_rows`
    (R, 10, 28, 28) in [0, 1] are the tutorial's picture, one row per epoch in `sample_epochs` (a new
    random style each); `film` frames are the same few styles drawn at each epoch in `film_epochs`
    (0-255), so the same digits sharpen from frame to frame; `maps` are the encoder's means of fixed test
    images (`vae.history.map_index`) at the epochs in `map_epochs`, for the latent map over training.
    See `vae.history`.
    """

    config: Config
    model: ConditionalVAE
    label: str  # LIVE, or the checkpoint's name
    run_id: str  # names this run (a saved one: its file and that file's modification time)
    state: RunState = RunState.FINISHED
    epoch: int = 0  # finished epochs
    step: int = 0  # optimizer steps so far
    epoch_metrics: tuple[Mapping, ...] = ()
    steps: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    sample_rows: np.ndarray = field(default_factory=lambda: _NO_ROWS)
    sample_epochs: tuple[int, ...] = ()
    film: np.ndarray = field(default_factory=lambda: _NO_FILM)  # (F, S, 10, 28, 28) uint8: the same styles each epoch
    film_epochs: tuple[int, ...] = ()
    maps: np.ndarray = field(default_factory=lambda: _NO_MAPS)  # (M, N, z_dim) float16: see vae.history.map_index
    map_epochs: tuple[int, ...] = ()  # the epoch of each of `maps`
    dataset: Mapping = field(default_factory=lambda: MappingProxyType({}))  # Dataset.summary()
    progress: Progress | None = None
    error: str | None = None  # why a failed run failed
    command: str = ""
    created: str = ""
    version: int = 0  # grows with every view the run publishes
    weights_version: int = 0  # grows whenever `model` holds other weights
    live: bool = False  # from the server's live run (whatever its state) rather than a file
    path: Path | None = None  # the file of a saved run
    optimizer_state: dict | None = None  # only in a view made to be saved (see Trainer.to_checkpoint)

    @property
    def key(self) -> str:
        """Changes whenever the weights do: key caches of anything computed from the model with it."""
        return f"{self.run_id}-{self.weights_version}"

    @property
    def dataset_name(self) -> str:
        """The data the model was trained on ("mnist" or "fashion-mnist")."""
        return str(self.dataset.get("name", self.config.dataset))

    @property
    def total_steps(self) -> int | None:
        """The steps of the whole run, when known (a live run knows its steps per epoch)."""
        return None if self.progress is None else self.config.epochs * self.progress.steps_per_epoch

    @property
    def logged_steps(self) -> int:
        """Rows of the step log (a slim file keeps only some of the steps)."""
        return len(next(iter(self.steps.values()), ()))

    def but(self, **changes: object) -> RunView:
        """A copy with `changes` (a view is never changed in place)."""
        return replace(self, **changes)


def saved_state(config: Config, epoch: int) -> RunState:
    """A saved run is finished once it reached its epochs; before that it was stopped."""
    return RunState.FINISHED if epoch >= config.epochs else RunState.STOPPED


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view of `array` (the data is shared, not copied)."""
    view = array.view()
    view.flags.writeable = False
    return view
