"""The checkpoint format: one file per model, written atomically, loaded without unpickling code.

A checkpoint is a plain dict of numbers, strings, lists, dicts and tensors saved with `torch.save`
and read back with `torch.load(weights_only=True)`, which refuses any other pickled object.
Every failure to read one raises `CheckpointError` with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vae.config import Config
from vae.model import ConditionalVAE

FORMAT = "vae-explorer-checkpoint"
VERSION = 1
SUFFIX = ".pt"
SLIM_STEPS = 2000  # a slim file keeps at most this many rows of the step log...
SLIM_ROWS = 30  # ...and this many epoch sample rows, evenly spaced, the last always kept
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class CheckpointError(Exception):
    """A checkpoint cannot be read, written or named; the message says why and what to do."""


@dataclass
class Checkpoint:
    config: Config
    model: ConditionalVAE  # in eval mode, on the CPU
    epoch: int = 0
    step: int = 0
    epoch_metrics: list[dict] = field(default_factory=list)
    step_metrics: dict[str, np.ndarray] = field(default_factory=dict)  # column -> (steps,) array
    sample_rows: np.ndarray | None = None  # (rows, 10, 28, 28) float32 in [0, 1]
    sample_epochs: list[int] | None = None  # the epoch of each row; None: rows are epochs 1, 2, ...
    dataset: dict = field(default_factory=dict)  # Dataset.summary(): name, source, notice, sizes
    command: str = ""
    created: str = ""
    optimizer_state: dict | None = None
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "unsaved"

    def row_epochs(self) -> list[int]:
        """The epoch of each sample row ([] when there are none)."""
        if self.sample_rows is None:
            return []
        return list(self.sample_epochs or range(1, len(self.sample_rows) + 1))


def checkpoint_path(name: str, directory: str | os.PathLike) -> Path:
    """The file for a user-chosen checkpoint name; rejects anything that could leave `directory`."""
    name = name.strip()
    if name.endswith(SUFFIX):
        name = name[: -len(SUFFIX)]
    if not name:
        raise CheckpointError("Type a name for the checkpoint first (e.g. my-first-vae).")
    if not _NAME.match(name) or ".." in name:
        raise CheckpointError(
            f"Invalid checkpoint name {name!r}: use 1-64 of the letters a-z and A-Z, digits, spaces, "
            "hyphens, underscores or single dots, starting with a letter or digit (no slashes)."
        )
    return Path(directory) / f"{name}{SUFFIX}"


def _thin(n: int, keep: int) -> np.ndarray:
    """Indices of at most `keep` of n items, evenly spaced, always including the last."""
    if n <= keep:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, keep)).astype(int))


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint, slim: bool = False) -> Path:
    """Write `ckpt` to `path` atomically: a temporary file in the same folder, fsync, then rename.

    `slim` (for models shipped in the repo): no optimizer state, and long logs thinned to
    SLIM_STEPS step rows and SLIM_ROWS sample rows. Training can still resume from it.
    """
    path = Path(path)
    steps, rows = ckpt.step_metrics, ckpt.sample_rows
    epochs = ckpt.row_epochs() if rows is not None else None
    if slim:
        n = len(next(iter(steps.values()), []))
        steps = {k: np.asarray(v)[_thin(n, SLIM_STEPS)] for k, v in steps.items()}
        if rows is not None:
            keep = _thin(len(rows), SLIM_ROWS)
            rows, epochs = np.asarray(rows)[keep], [epochs[i] for i in keep]
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": ckpt.config.to_dict(),
        "model": {k: v.detach().cpu().clone() for k, v in ckpt.model.state_dict().items()},
        "optimizer": None if slim else ckpt.optimizer_state,
        "epoch": int(ckpt.epoch),
        "step": int(ckpt.step),
        "epoch_metrics": [{k: _plain(v) for k, v in m.items()} for m in ckpt.epoch_metrics],
        "step_metrics": {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in steps.items()},
        # Stored as bytes: a 20-epoch grid is 157 KB instead of 627 KB.
        "sample_rows": None if rows is None else torch.as_tensor(np.round(np.asarray(rows) * 255).astype(np.uint8)),
        "sample_epochs": epochs,
        "dataset": {k: _plain(v) for k, v in ckpt.dataset.items()},
        "command": ckpt.command,
        "created": ckpt.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # e.g. the disk is full: the file that was there is untouched
            raise CheckpointError(_cannot_write(path, exc)) from None
        raise
    return path


def check_writable(path: str | os.PathLike) -> None:
    """Raise CheckpointError now if `save_checkpoint(path, ...)` could not create its file (e.g. before
    a long training run whose result would otherwise be lost)."""
    fd, tmp = _temporary_beside(Path(path))
    os.close(fd)
    os.unlink(tmp)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder (made if needed), for an atomic rename onto `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CheckpointError(_cannot_write(path, exc)) from None


def _cannot_write(path: Path, exc: OSError) -> str:
    folder = path.parent
    why = f"{folder} is a file, not a folder" if folder.is_file() else exc.strerror or type(exc).__name__
    return (
        f"Could not write {path}: {why}. Check that its folder can be written to and the disk has room, "
        "or save somewhere else."
    )


def _plain(v: object) -> object:
    """Numbers, strings and None as themselves; numpy/torch scalars as Python numbers."""
    if isinstance(v, (np.generic, torch.Tensor)):
        return v.item()
    return v


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint; any problem raises CheckpointError. The model comes back in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: check the path, or list them with `python -m vae list`.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path.name} is not a readable VAE Explorer checkpoint (corrupt, truncated, or contains code, "
            f"which is never run): {type(exc).__name__}. Delete it or pick another file."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a VAE Explorer checkpoint (no '{FORMAT}' marker).")
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path.name} has format version {version!r}, newer than this VAE Explorer reads ({VERSION}). "
            "Update VAE Explorer to open it."
        )
    try:
        config = Config.from_dict(payload["config"])
        model = ConditionalVAE(config)
        model.load_state_dict(payload["model"], strict=True)
        rows = payload.get("sample_rows")
        ckpt = Checkpoint(
            config=config,
            model=model.eval(),
            epoch=int(payload.get("epoch", 0)),
            step=int(payload.get("step", 0)),
            epoch_metrics=list(payload.get("epoch_metrics") or []),
            step_metrics={k: v.numpy() for k, v in (payload.get("step_metrics") or {}).items()},
            sample_rows=None if rows is None else rows.numpy().astype(np.float32) / 255.0,
            sample_epochs=payload.get("sample_epochs"),
            dataset=dict(payload.get("dataset") or {}),
            command=str(payload.get("command", "")),
            created=str(payload.get("created", "")),
            optimizer_state=payload.get("optimizer"),
            path=path,
        )
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path.name} does not match its own config or format: {first_line}") from None
    broken = [name for name, w in model.state_dict().items() if not torch.isfinite(w).all()]
    if broken:  # every picture would be NaN; the trainer never saves such weights (its NaN guard)
        raise CheckpointError(
            f"{path.name} holds weights that are NaN or infinite ({', '.join(broken[:3])}"
            f"{', …' if len(broken) > 3 else ''}), so it cannot draw anything: the file is damaged or comes from "
            "a run that diverged. Delete it, or train the model again with a lower learning rate."
        )
    return ckpt


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Checkpoint files in `directory` (not recursive), newest first; [] when there is no such folder.

    A file deleted while the folder is read is left out; a folder (or file) this process may not
    read raises CheckpointError, saying so, rather than looking empty."""
    directory = Path(directory)
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
                    continue
                try:
                    if entry.is_file():
                        found.append((entry.stat().st_mtime, Path(entry.path)))
                except FileNotFoundError:
                    continue  # deleted (by another browser, say) while we looked
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise CheckpointError(
            f"The checkpoints in {directory} cannot be read ({exc.strerror or type(exc).__name__}): "
            "fix the folder's permissions."
        ) from None
    return [path for _, path in sorted(found, key=lambda f: f[0], reverse=True)]
