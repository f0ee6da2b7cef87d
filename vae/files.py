"""Writing files so that a crash, a kill or a full disk never leaves half of one behind.

`atomic_write` writes a temporary file in the target's folder, flushes it to the disk (fsync), and
renames it over the target: the old file stays whole until the new one is complete. Every file the
project writes for keeps (checkpoints, judges) goes through it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
STALE_AFTER = 3600.0  # seconds: a temporary file this old belongs to no writer that is still running


class WriteError(OSError):
    """A file could not be written; the message says why and what to do. The old file is untouched."""


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(f)` on a temporary file beside `path`, fsync it, then rename it onto `path`.

    Raises WriteError for any failure to write: an OSError, and also the RuntimeError that
    `torch.save` raises on a full disk ("[enforce fail at inline_container.cc…] unexpected pos").
    """
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, (OSError, RuntimeError)):
            raise WriteError(_cannot_write(path, exc)) from None
        raise
    return path


def check_writable(path: str | os.PathLike) -> None:
    """Raise WriteError now if `atomic_write(path, ...)` could not even create its temporary file (e.g.
    before a long training run whose result would otherwise be lost)."""
    fd, tmp = _temporary_beside(Path(path))
    os.close(fd)
    os.unlink(tmp)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder (made if missing), open: (fd, its path); WriteError if not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise WriteError(_cannot_write(path, exc)) from None


def remove_stale_temporaries(folder: str | os.PathLike, older_than: float = STALE_AFTER) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in `folder` (each can be as large as
    a whole checkpoint); returns them. Files younger than `older_than` seconds may still be written."""
    removed = []
    now = time.time()
    try:
        entries = list(Path(folder).glob(f".*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    for tmp in entries:
        try:
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue  # gone already, or not ours to delete
    return removed


def _cannot_write(path: Path, exc: BaseException) -> str:
    folder = path.parent
    if isinstance(exc, OSError):
        why = f"{folder} is a file, not a folder" if folder.is_file() else exc.strerror or type(exc).__name__
    else:  # torch.save's RuntimeError: nearly always the disk filling up
        why = "writing stopped part-way"
    try:
        free = shutil.disk_usage(folder).free
        if free < 50 * 2**20:
            why += f" (only {free / 2**20:.1f} MB free on that disk)"
    except OSError:
        pass
    return (
        f"Could not write {path}: {why}. Check that its folder can be written to and the disk has room, "
        "or save somewhere else."
    )
