"""The checkpoint format: one file per run, written atomically, loaded without unpickling code.

A checkpoint is a plain dict of numbers, strings, lists, dicts and tensors saved with `torch.save`
and read back with `torch.load(weights_only=True)`, which refuses any other pickled object. It
loads as a `RunView`, the very type the live run publishes. Every failure to read one raises
`CheckpointError` with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from vae import fields, files
from vae.config import Config
from vae.history import spread
from vae.model import ConditionalVAE, parameter_counts
from vae.run import LIVE, RunState, RunView, saved_state

FORMAT = "vae-explorer-checkpoint"
VERSION = 2  # 2: epoch metrics as one table (`vae.fields.metric_table`); files of version 1 still load
SUFFIX = ".pt"
SLIM_STEPS = 2000  # a slim file keeps at most this many rows of the step log...
SLIM_ROWS = 20  # ...and this many epoch sample rows, evenly spaced, the last always kept...
SLIM_FILM = 12  # ...and this many film frames, more of them early on (vae.history.spread)...
SLIM_MAPS = 8  # ...and this many epochs' map encodings (the same way)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class CheckpointError(Exception):
    """A checkpoint cannot be read, written or named; the message says why and what to do."""


# --- names and files: one mapping, both ways ----------------------------------------------------


def name_of(path: str | os.PathLike) -> str:
    """A checkpoint's name: its file name without the one `.pt` that `path_of` adds."""
    return Path(path).name[: -len(SUFFIX)]


def path_of(name: str, directory: str | os.PathLike) -> Path:
    """The file of the checkpoint called `name` (as `list_checkpoints` names it), verbatim: a name
    that itself ends in .pt is a file ending in .pt.pt. Refuses anything that could leave `directory`."""
    if not name or "/" in name or "\\" in name or "\0" in name or name.startswith(".") or name in ("..", "."):
        raise CheckpointError(f"No checkpoint named {name!r}.")
    return Path(directory) / f"{name}{SUFFIX}"


def new_checkpoint_path(name: str, directory: str | os.PathLike) -> Path:
    """The file for a name a user typed to save a run under: checked against the naming rules."""
    name = name.strip()
    if not name:
        raise CheckpointError("Type a name for the checkpoint first (e.g. my-first-vae).")
    if name.lower().endswith(SUFFIX):
        raise CheckpointError(f"Leave out the {SUFFIX} at the end: “{name[: -len(SUFFIX)]}” is saved as one.")
    if not _NAME.match(name) or ".." in name:
        raise CheckpointError(
            f"Invalid checkpoint name {name!r}: use 1-64 of the letters a-z and A-Z, digits, spaces, "
            "hyphens, underscores or single dots, starting with a letter or digit (no slashes)."
        )
    if name.casefold() == LIVE.casefold():
        raise CheckpointError(f"“{LIVE}” is the sidebar's name for the run itself: choose another.")
    return path_of(name, directory)


def _thin(n: int, keep: int) -> np.ndarray:
    """Indices of at most `keep` of n items, evenly spaced, always including the last."""
    if n <= keep:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, keep)).astype(int))


def save_checkpoint(path: str | os.PathLike, run: RunView, slim: bool = False) -> Path:
    """Write `run` to `path` atomically (see `vae.files.atomic_write`); CheckpointError if it cannot.

    `slim` (for models shipped in the repo): no optimizer state, and long logs thinned as `slimmed`
    thins them by default. Training can still resume from it.
    """
    payload = _payload(run, slim)
    try:
        return files.atomic_write(path, lambda f: torch.save(payload, f))
    except files.WriteError as exc:  # e.g. the disk is full: the file that was there is untouched
        raise CheckpointError(str(exc)) from None


def checkpoint_bytes(run: RunView) -> bytes:
    """The file `save_checkpoint` would write, made in memory (a download needs no disk space)."""
    buffer = io.BytesIO()
    torch.save(_payload(run, slim=False), buffer)
    return buffer.getvalue()


def slimmed(
    run: RunView, steps: int = SLIM_STEPS, rows: int = SLIM_ROWS, film: int = SLIM_FILM, maps: int = SLIM_MAPS
) -> RunView:
    """`run` with its logs thinned: at most `steps` rows of the step log and `rows` sample rows, evenly
    spaced, and `film` frames and `maps` map encodings, more of them early on (`vae.history.spread`);
    the last of each always kept. A slim file keeps the defaults; the lesson kit keeps fewer."""
    keep_steps = _thin(run.logged_steps, steps)
    keep_rows = _thin(len(run.sample_rows), rows)
    keep_film = spread(len(run.film), film)
    keep_maps = spread(len(run.map_epochs), maps)
    return run.but(
        steps=MappingProxyType({k: np.asarray(v)[keep_steps] for k, v in run.steps.items()}),
        sample_rows=np.asarray(run.sample_rows)[keep_rows],
        sample_epochs=tuple(run.sample_epochs[i] for i in keep_rows),
        film=np.asarray(run.film)[keep_film],
        film_epochs=tuple(run.film_epochs[i] for i in keep_film),
        maps=np.asarray(run.maps)[keep_maps],
        map_epochs=tuple(run.map_epochs[i] for i in keep_maps),
    )


def _payload(run: RunView, slim: bool) -> dict:
    if slim:
        run = slimmed(run)
    steps, rows, epochs = dict(run.steps), run.sample_rows, list(run.sample_epochs)
    film, film_epochs = run.film, list(run.film_epochs)
    maps, map_epochs = run.maps, list(run.map_epochs)
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": run.config.to_dict(),
        # No copy of the weights: a view's model is already a copy that nothing trains.
        "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
        "optimizer": None if slim else run.optimizer_state,
        "epoch": int(run.epoch),
        "step": int(run.step),
        "epoch_metrics": fields.metric_table(run.epoch_metrics),
        "step_metrics": {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in steps.items()},
        # Stored as bytes: a 20-epoch grid is 157 KB instead of 627 KB.
        "sample_rows": torch.as_tensor(np.round(np.asarray(rows) * 255).astype(np.uint8)),
        "sample_epochs": [int(e) for e in epochs],
        "film": fields.pack(np.asarray(film, np.uint8)),  # zlib: the frames are mostly black, a fifth the bytes
        "film_epochs": [int(e) for e in film_epochs],
        # float16 bytes, packed: a 10-dim model's 1,000 encodings are 20 KB an epoch
        "maps": fields.pack(np.ascontiguousarray(maps, np.float16).view(np.uint8).reshape(len(maps), -1))
        if len(map_epochs)
        else None,
        "map_shape": list(np.shape(maps)) if len(map_epochs) else None,
        "map_epochs": [int(e) for e in map_epochs],
        "dataset": {k: fields.plain(v) for k, v in run.dataset.items()},
        "command": run.command,
        "error": run.error,  # why a run that failed (its NaN guard, say) stopped; None for the others
        "created": run.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def check_writable(path: str | os.PathLike) -> None:
    """Raise CheckpointError now if `save_checkpoint(path, ...)` could not create its file (e.g. before
    a long training run whose result would otherwise be lost)."""
    try:
        files.check_writable(path)
    except files.WriteError as exc:
        raise CheckpointError(str(exc)) from None


def load_checkpoint(path: str | os.PathLike) -> RunView:
    """Read a checkpoint as a RunView; any problem raises CheckpointError. The model is in eval mode."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    if stamp is None or not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: check the path, or list them with `python -m vae list`.")
    payload = _read(path)
    try:
        config = Config.from_dict(payload["config"])
        _check_sizes(config, payload["model"])  # before building: a forged config could ask for gigabytes
        model = ConditionalVAE(config)
        model.load_state_dict(payload["model"], strict=True)
        epoch, step = fields.count(payload.get("epoch", 0)), fields.count(payload.get("step", 0))
        steps = fields.step_columns(payload.get("step_metrics"))
        rows, row_epochs = fields.sample_rows(payload.get("sample_rows"), payload.get("sample_epochs"))
        film, film_epochs = fields.film_frames(payload.get("film"), payload.get("film_epochs"))
        maps, map_epochs = fields.map_encodings(
            payload.get("maps"), payload.get("map_shape"), payload.get("map_epochs"), config
        )
        run = RunView(
            config=config,
            model=model.eval().requires_grad_(False),
            label=name_of(path),
            run_id=f"saved-{path.name}-{stamp}",
            state=RunState.FAILED if payload.get("error") else saved_state(config, epoch),
            epoch=epoch,
            step=step,
            epoch_metrics=fields.epoch_metrics(payload.get("epoch_metrics")),
            steps=steps,
            sample_rows=rows,
            sample_epochs=row_epochs,
            film=film,
            film_epochs=film_epochs,
            maps=maps,
            map_epochs=map_epochs,
            dataset=MappingProxyType(fields.plain_dict(payload.get("dataset"), "dataset")),
            command=str(payload.get("command", "")),
            error=fields.error_text(payload.get("error")),
            created=str(payload.get("created", "")),
            optimizer_state=payload.get("optimizer") if isinstance(payload.get("optimizer"), dict) else None,
            path=path,
        )
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path.name} does not match its own config or format: {first_line}") from None
    broken = [name for name, w in model.state_dict().items() if not torch.isfinite(w).all()]
    if broken:  # every picture would be NaN; the trainer never saves such weights (its NaN guard)
        raise CheckpointError(
            f"{path.name} holds weights that are NaN or infinite ({', '.join(broken[:3])}"
            f"{', …' if len(broken) > 3 else ''}), so it cannot draw anything: the file is damaged or comes from "
            "a run that diverged. Delete it, or train the model again with a lower learning rate."
        )
    return run


def read_summary(path: str | os.PathLike) -> dict:
    """A checkpoint's config and epoch without reading its weights and logs (memory-mapped: the
    tensors are never touched), e.g. to offer an autosave of a huge model on every page render.
    Returns {"config": Config, "epoch": int}; CheckpointError as `load_checkpoint`."""
    path = Path(path)
    payload = _read(path, mmap=True)
    try:
        return {"config": Config.from_dict(payload["config"]), "epoch": fields.count(payload.get("epoch", 0))}
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path.name} does not match its own config or format: {exc}") from None


def _read(path: Path, mmap: bool = False) -> dict:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except FileNotFoundError:
        raise CheckpointError(f"{path.name} is gone: it was deleted or moved.") from None
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
    return payload


def _check_sizes(config: Config, state: object) -> None:
    """The weights in the file must be as many as the config's model has (ValueError if not)."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the model's weights are not a dict of tensors")
    stored, expected = sum(v.numel() for v in state.values()), sum(parameter_counts(config.model).values())
    if stored != expected:
        raise ValueError(f"its config describes {expected:,} weights but the file holds {stored:,}")


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
