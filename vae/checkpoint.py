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
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from vae import files
from vae.config import Config
from vae.history import FILM_STYLES, spread
from vae.model import NUM_CLASSES, ConditionalVAE, parameter_counts
from vae.run import LIVE, RunState, RunView, frozen, saved_state

FORMAT = "vae-explorer-checkpoint"
VERSION = 2  # 2: epoch metrics as one table (`_metric_table`); files of version 1 still load
SUFFIX = ".pt"
SLIM_STEPS = 2000  # a slim file keeps at most this many rows of the step log...
SLIM_ROWS = 20  # ...and this many epoch sample rows, evenly spaced, the last always kept...
SLIM_FILM = 12  # ...and this many film frames, more of them early on (vae.history.spread)...
SLIM_MAPS = 8  # ...and this many epochs' map encodings (the same way)
MAX_UNPACKED = 200_000_000  # bytes a packed array may claim to unpack to (a crafted file could claim more)
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
        "epoch_metrics": _metric_table(run.epoch_metrics),
        "step_metrics": {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in steps.items()},
        # Stored as bytes: a 20-epoch grid is 157 KB instead of 627 KB.
        "sample_rows": torch.as_tensor(np.round(np.asarray(rows) * 255).astype(np.uint8)),
        "sample_epochs": [int(e) for e in epochs],
        "film": _pack(np.asarray(film, np.uint8)),  # zlib: the frames are mostly black, a fifth the bytes
        "film_epochs": [int(e) for e in film_epochs],
        # float16 bytes, packed: a 10-dim model's 1,000 encodings are 20 KB an epoch
        "maps": _pack(np.ascontiguousarray(maps, np.float16).view(np.uint8).reshape(len(maps), -1))
        if len(map_epochs)
        else None,
        "map_shape": list(np.shape(maps)) if len(map_epochs) else None,
        "map_epochs": [int(e) for e in map_epochs],
        "dataset": {k: _plain(v) for k, v in run.dataset.items()},
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


def _plain(v: object) -> object:
    """Numbers, strings and None as themselves; numpy/torch scalars as Python numbers."""
    if isinstance(v, (np.generic, torch.Tensor)):
        return v.item()
    return v


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
        epoch, step = _count(payload.get("epoch", 0)), _count(payload.get("step", 0))
        steps = _steps(payload.get("step_metrics"))
        rows, row_epochs = _rows(payload.get("sample_rows"), payload.get("sample_epochs"))
        film, film_epochs = _film(payload.get("film"), payload.get("film_epochs"))
        maps, map_epochs = _maps(payload.get("maps"), payload.get("map_shape"), payload.get("map_epochs"), config)
        run = RunView(
            config=config,
            model=model.eval().requires_grad_(False),
            label=name_of(path),
            run_id=f"saved-{path.name}-{stamp}",
            state=RunState.FAILED if payload.get("error") else saved_state(config, epoch),
            epoch=epoch,
            step=step,
            epoch_metrics=_epoch_metrics(payload.get("epoch_metrics")),
            steps=steps,
            sample_rows=rows,
            sample_epochs=row_epochs,
            film=film,
            film_epochs=film_epochs,
            maps=maps,
            map_epochs=map_epochs,
            dataset=MappingProxyType(_plain_dict(payload.get("dataset"), "dataset")),
            command=str(payload.get("command", "")),
            error=_error(payload.get("error")),
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
        return {"config": Config.from_dict(payload["config"]), "epoch": _count(payload.get("epoch", 0))}
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


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value


def _steps(saved: object) -> MappingProxyType:
    """Step-log columns, each a 1-D tensor of one common length."""
    saved = saved or {}
    if not isinstance(saved, dict):
        raise ValueError("step_metrics is not a dict")
    columns = {str(k): np.asarray(v, dtype=np.float64) for k, v in saved.items() if isinstance(v, torch.Tensor)}
    if len(columns) != len(saved) or any(c.ndim != 1 for c in columns.values()):
        raise ValueError("step_metrics must hold one 1-D column per metric")
    if len({len(c) for c in columns.values()}) > 1:
        raise ValueError("step_metrics columns differ in length")
    return MappingProxyType({k: frozen(v) for k, v in columns.items()})


def _rows(rows: object, epochs: object) -> tuple[np.ndarray, tuple[int, ...]]:
    """Sample rows (R, 10, 28, 28) in [0, 1] from bytes, and the epoch of each (1, 2, ... if not stored)."""
    if rows is None:
        return frozen(np.zeros((0, NUM_CLASSES, 28, 28), np.float32)), ()
    if not isinstance(rows, torch.Tensor) or tuple(rows.shape[1:]) != (NUM_CLASSES, 28, 28):
        raise ValueError(f"sample_rows must be (rows, {NUM_CLASSES}, 28, 28)")
    array = rows.numpy().astype(np.float32) / 255.0
    if epochs is None:
        epochs = list(range(1, len(array) + 1))
    if not isinstance(epochs, list) or len(epochs) != len(array) or not all(isinstance(e, int) for e in epochs):
        raise ValueError("sample_epochs must list one epoch number per sample row")
    return frozen(array), tuple(epochs)


def _pack(array: np.ndarray) -> dict:
    """A uint8 array as {"zlib": its compressed bytes (a uint8 tensor), "shape": [...]} (loads safely)."""
    data = np.frombuffer(zlib.compress(np.ascontiguousarray(array).tobytes(), 6), np.uint8)
    return {"zlib": torch.from_numpy(data.copy()), "shape": list(array.shape)}


def _unpack(packed: object, row_shape: tuple[int, ...]) -> np.ndarray:
    """The array `_pack` packed, whose rows must have `row_shape` (ValueError if not, or if it would be
    larger than MAX_UNPACKED bytes: a few bytes of zlib can claim gigabytes)."""
    if not isinstance(packed, dict) or not isinstance(packed.get("zlib"), torch.Tensor):
        raise ValueError("a packed array must hold its zlib bytes")
    shape = packed.get("shape")
    if not isinstance(shape, list) or tuple(shape[1:]) != row_shape or not all(isinstance(n, int) for n in shape):
        raise ValueError(f"a packed array must have rows of shape {row_shape}, got {shape!r}")
    size = int(np.prod(shape))
    if not 0 <= size <= MAX_UNPACKED:
        raise ValueError(f"a packed array claims {size:,} bytes")
    try:
        data = zlib.decompressobj().decompress(packed["zlib"].numpy().tobytes(), size + 1)
    except zlib.error as exc:  # bytes that are no zlib stream: a crafted or damaged file
        raise ValueError(f"a packed array is damaged ({exc})") from None
    if len(data) != size:
        raise ValueError("a packed array does not hold what its shape says")
    return np.frombuffer(data, np.uint8).reshape(shape)


def _film(packed: object, epochs: object) -> tuple[np.ndarray, tuple[int, ...]]:
    """Film frames (F, S, 10, 28, 28) uint8 and their epochs; none in a file from before films."""
    if packed is None:
        return frozen(np.zeros((0, FILM_STYLES, NUM_CLASSES, 28, 28), np.uint8)), ()
    film = _unpack(packed, (FILM_STYLES, NUM_CLASSES, 28, 28))
    if not isinstance(epochs, list) or len(epochs) != len(film) or not all(isinstance(e, int) for e in epochs):
        raise ValueError("film_epochs must list one epoch number per film frame")
    return frozen(film.copy()), tuple(epochs)


def _maps(packed: object, shape: object, epochs: object, config: Config) -> tuple[np.ndarray, tuple[int, ...]]:
    """Map encodings (M, N, z_dim) float16 and their epochs; none in a file from before them."""
    if packed is None:
        return frozen(np.zeros((0, 0, config.z_dim), np.float16)), ()
    if not isinstance(shape, list) or len(shape) != 3 or shape[2] != config.z_dim:
        raise ValueError(f"map_shape must be [epochs, images, z_dim {config.z_dim}], got {shape!r}")
    raw = _unpack(packed, (shape[1] * shape[2] * 2,) if all(isinstance(n, int) for n in shape) else ())
    maps = raw.view(np.float16).reshape(shape)
    if not isinstance(epochs, list) or len(epochs) != len(maps) or not all(isinstance(e, int) for e in epochs):
        raise ValueError("map_epochs must list one epoch number per map")
    return frozen(maps.copy()), tuple(epochs)


def _error(saved: object) -> str | None:
    """Why a saved run failed (a file from before errors were kept has none)."""
    if saved is None or saved == "":
        return None
    if not isinstance(saved, str):
        raise ValueError("error must be a string")
    return saved


# A cell of the metric table: no such metric that epoch, a float, an int, None.
_ABSENT, _FLOAT, _INT, _NONE = range(4)


def _metric_table(metrics: Sequence[Mapping]) -> dict | list:
    """Per-epoch metrics as one table, {"columns": names, "values": float64 (E, K), "kinds": packed
    uint8 (E, K) of _ABSENT/_FLOAT/_INT/_NONE}: a 1,000-epoch run's in 110 KB, where a list of dicts
    pickles to 330 KB (a slim file must stay under 2 MB). Metrics holding text keep the list form."""
    rows = [{k: _plain(v) for k, v in m.items()} for m in metrics]
    if any(isinstance(v, str) for m in rows for v in m.values()):
        return rows
    names = list(dict.fromkeys(k for m in rows for k in m))
    values = np.zeros((len(rows), len(names)))
    kinds = np.zeros((len(rows), len(names)), np.uint8)
    for i, m in enumerate(rows):
        for j, name in enumerate(names):
            if name in m:
                v = m[name]
                kinds[i, j] = _NONE if v is None else _INT if isinstance(v, int) else _FLOAT
                values[i, j] = 0.0 if v is None else v
    return {"columns": names, "values": torch.from_numpy(values), "kinds": _pack(kinds)}


def _from_table(table: dict) -> list[dict]:
    """The list of dicts `_metric_table` made its table of; ValueError for a table that is not one."""
    names, values = table.get("columns"), table.get("values")
    if (
        not isinstance(names, list)
        or not all(isinstance(n, str) for n in names)
        or not isinstance(values, torch.Tensor)
        or values.dtype != torch.float64
        or values.ndim != 2
        or values.shape[1] != len(names)
    ):
        raise ValueError("epoch_metrics' table must hold one float64 column per named metric")
    kinds = _unpack(table.get("kinds"), (len(names),))
    array = values.numpy()
    if kinds.shape != array.shape or (kinds > _NONE).any() or not np.isfinite(array[kinds == _INT]).all():
        raise ValueError("epoch_metrics' table does not say what each of its cells holds")
    cast = {_FLOAT: float, _INT: int, _NONE: lambda v: None}
    return [
        {n: cast[k](v) for n, v, k in zip(names, row, row_kinds, strict=True) if k != _ABSENT}
        for row, row_kinds in zip(array.tolist(), kinds.tolist(), strict=True)
    ]


def _epoch_metrics(saved: object) -> tuple[MappingProxyType, ...]:
    if saved is None:
        return ()
    if isinstance(saved, dict):
        saved = _from_table(saved)
    if not isinstance(saved, list) or not all(isinstance(m, dict) for m in saved):
        raise ValueError("epoch_metrics must be a list of dicts")
    return tuple(MappingProxyType(_plain_dict(m, "epoch_metrics")) for m in saved)


def _plain_dict(d: object, what: str) -> dict:
    """A dict of names to numbers, strings or None (as checkpoints store metrics and summaries)."""
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ValueError(f"{what} is not a dict")
    for k, v in d.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, (str, int, float))):
            raise ValueError(f"{what} holds {k!r}: {type(v).__name__}")
    return dict(d)


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
