"""How each field of a checkpoint is stored and checked on the way back in.

Arrays travel as tensors or as zlib-packed bytes (`pack`), per-epoch metrics as one table
(`metric_table`); every reader here checks a field's type and shape and raises ValueError with what
is wrong, so a crafted or damaged file becomes one clear `CheckpointError` (`vae.checkpoint`), never
a traceback or gigabytes of memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import torch

from vae.config import Config
from vae.history import FILM_STYLES
from vae.model import NUM_CLASSES
from vae.run import frozen

MAX_UNPACKED = 200_000_000  # bytes a packed array may claim to unpack to (a crafted file could claim more)


def plain(v: object) -> object:
    """Numbers, strings and None as themselves; numpy/torch scalars as Python numbers."""
    if isinstance(v, (np.generic, torch.Tensor)):
        return v.item()
    return v


def count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a count, got {value!r}")
    return value


def step_columns(saved: object) -> MappingProxyType:
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


def sample_rows(rows: object, epochs: object) -> tuple[np.ndarray, tuple[int, ...]]:
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


def pack(array: np.ndarray) -> dict:
    """A uint8 array as {"zlib": its compressed bytes (a uint8 tensor), "shape": [...]} (loads safely)."""
    data = np.frombuffer(zlib.compress(np.ascontiguousarray(array).tobytes(), 6), np.uint8)
    return {"zlib": torch.from_numpy(data.copy()), "shape": list(array.shape)}


def unpack(packed: object, row_shape: tuple[int, ...]) -> np.ndarray:
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


def film_frames(packed: object, epochs: object) -> tuple[np.ndarray, tuple[int, ...]]:
    """Film frames (F, S, 10, 28, 28) uint8 and their epochs; none in a file from before films."""
    if packed is None:
        return frozen(np.zeros((0, FILM_STYLES, NUM_CLASSES, 28, 28), np.uint8)), ()
    film = unpack(packed, (FILM_STYLES, NUM_CLASSES, 28, 28))
    if not isinstance(epochs, list) or len(epochs) != len(film) or not all(isinstance(e, int) for e in epochs):
        raise ValueError("film_epochs must list one epoch number per film frame")
    return frozen(film.copy()), tuple(epochs)


def map_encodings(packed: object, shape: object, epochs: object, config: Config) -> tuple[np.ndarray, tuple[int, ...]]:
    """Map encodings (M, N, z_dim) float16 and their epochs; none in a file from before them."""
    if packed is None:
        return frozen(np.zeros((0, 0, config.z_dim), np.float16)), ()
    if not isinstance(shape, list) or len(shape) != 3 or shape[2] != config.z_dim:
        raise ValueError(f"map_shape must be [epochs, images, z_dim {config.z_dim}], got {shape!r}")
    raw = unpack(packed, (shape[1] * shape[2] * 2,) if all(isinstance(n, int) for n in shape) else ())
    maps = raw.view(np.float16).reshape(shape)
    if not isinstance(epochs, list) or len(epochs) != len(maps) or not all(isinstance(e, int) for e in epochs):
        raise ValueError("map_epochs must list one epoch number per map")
    return frozen(maps.copy()), tuple(epochs)


def error_text(saved: object) -> str | None:
    """Why a saved run failed (a file from before errors were kept has none)."""
    if saved is None or saved == "":
        return None
    if not isinstance(saved, str):
        raise ValueError("error must be a string")
    return saved


# A cell of the metric table: no such metric that epoch, a float, an int, None.
_ABSENT, _FLOAT, _INT, _NONE = range(4)


def metric_table(metrics: Sequence[Mapping]) -> dict | list:
    """Per-epoch metrics as one table, {"columns": names, "values": float64 (E, K), "kinds": packed
    uint8 (E, K) of _ABSENT/_FLOAT/_INT/_NONE}: a 1,000-epoch run's in 110 KB, where a list of dicts
    pickles to 330 KB (a slim file must stay under 2 MB). Metrics holding text keep the list form."""
    rows = [{k: plain(v) for k, v in m.items()} for m in metrics]
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
    return {"columns": names, "values": torch.from_numpy(values), "kinds": pack(kinds)}


def from_table(table: dict) -> list[dict]:
    """The list of dicts `metric_table` made its table of; ValueError for a table that is not one."""
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
    kinds = unpack(table.get("kinds"), (len(names),))
    array = values.numpy()
    if kinds.shape != array.shape or (kinds > _NONE).any() or not np.isfinite(array[kinds == _INT]).all():
        raise ValueError("epoch_metrics' table does not say what each of its cells holds")
    cast = {_FLOAT: float, _INT: int, _NONE: lambda v: None}
    return [
        {n: cast[k](v) for n, v, k in zip(names, row, row_kinds, strict=True) if k != _ABSENT}
        for row, row_kinds in zip(array.tolist(), kinds.tolist(), strict=True)
    ]


def epoch_metrics(saved: object) -> tuple[MappingProxyType, ...]:
    if saved is None:
        return ()
    if isinstance(saved, dict):
        saved = from_table(saved)
    if not isinstance(saved, list) or not all(isinstance(m, dict) for m in saved):
        raise ValueError("epoch_metrics must be a list of dicts")
    return tuple(MappingProxyType(plain_dict(m, "epoch_metrics")) for m in saved)


def plain_dict(d: object, what: str) -> dict:
    """A dict of names to numbers, strings or None (as checkpoints store metrics and summaries)."""
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ValueError(f"{what} is not a dict")
    for k, v in d.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, (str, int, float))):
            raise ValueError(f"{what} holds {k!r}: {type(v).__name__}")
    return dict(d)
