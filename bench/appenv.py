"""The app as the benchmarks run it: a temporary copy of the shipped models, a live run that outlasts
the benchmark, a server started over them, and what the server's log says about the rerun guard.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.harness import ROOT, StreamlitServer


def app_env(workdir: Path) -> tuple[dict[str, str], list[str]]:
    """Environment for a benchmark server: a copy of the repo's checkpoints/ in `workdir` (the live
    run's autosave goes there, never into the repo) and an empty data folder (MNIST is the offline
    subset; Fashion-MNIST comes from Debian's package). Returns (env, notes for the report)."""
    ckpt_dir, data_dir = workdir / "checkpoints", workdir / "data"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(exist_ok=True)
    for path in sorted((ROOT / "checkpoints").glob("*.pt")):  # not autosave/ or runs/: no stale run
        shutil.copy2(path, ckpt_dir / path.name)
    if (ROOT / "checkpoints" / "judges").is_dir():  # the judges: the Train page's "draws the digit asked for"
        shutil.copytree(ROOT / "checkpoints" / "judges", ckpt_dir / "judges")
    if (ROOT / "checkpoints" / "kit").is_dir():  # the lesson kit: the Compare page's questions
        shutil.copytree(ROOT / "checkpoints" / "kit", ckpt_dir / "kit")
    notes = []
    from ui.state import DEFAULT_CHECKPOINT

    if not (ckpt_dir / f"{DEFAULT_CHECKPOINT}.pt").exists():
        notes.append(
            f"checkpoints/{DEFAULT_CHECKPOINT}.pt is not in the repo yet: trained a stand-in (seed preset, "
            "2 epochs, offline subset) in the temporary copy, so the app opens on the same kind of model."
        )
        train_stand_in(ckpt_dir / f"{DEFAULT_CHECKPOINT}.pt", data_dir)
    env = {
        "VAE_CHECKPOINT_DIR": str(ckpt_dir),
        "VAE_DATA_DIR": str(data_dir),
        "VAE_DEVICE": "cpu",
        "VAE_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    return env, notes


@contextlib.contextmanager
def app_server(
    prefix: str, notes: list[str] | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[StreamlitServer, dict[str, str]]]:
    """The app for a benchmark: `app_env` in a temporary folder, plus `env`. Prints app_env's notes,
    then `notes`, one `note:` line each, and yields (the running server, its environment)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server_env, env_notes = app_env(Path(tmp))
        server_env.update(env or {})
        for note in [*env_notes, *(notes or [])]:
            print(f"note: {note}")
        with StreamlitServer("explorer_app.py", env=server_env) as server:
            yield server, server_env


def dropped_reruns(server: StreamlitServer) -> str:
    """The line that says how many late fragment reruns the rerun guard dropped in `server`'s log."""
    from ui import rerun_guard

    count = rerun_guard.drops_in(server.log())
    return f"late fragment reruns for a page already left, dropped by ui/rerun_guard.py: {count}"


def long_run_dataset() -> tuple[str, str]:
    """The dataset for a live run that outlasts a benchmark, and a note saying why.

    The Train form allows 1,000 epochs at most: on the offline MNIST subset (40 steps per epoch) the
    seed preset finishes 40,000 steps in about 4 minutes on an idle machine. Fashion-MNIST (60,000
    images, 600 steps per epoch, like full MNIST in class) runs for hours."""
    from vae.data import DEBIAN_FASHION_DIR

    if (DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return (
            "fashion-mnist",
            "live run: seed preset on Fashion-MNIST (60,000 images, 600 steps per epoch), 1000 epochs",
        )
    return "mnist", (
        "live run: seed preset on the offline MNIST subset, 1000 epochs (40,000 steps: may finish within a few "
        "minutes; `apt-get install dataset-fashion-mnist` gives a run that outlasts the benchmark)"
    )


def train_stand_in(path: Path, data_dir: Path, epochs: int = 2) -> None:
    import torch

    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.data import load_dataset
    from vae.trainer import Trainer

    torch.set_num_threads(1)
    trainer = Trainer(preset("seed").replace(epochs=epochs), load_dataset("mnist", data_dir, download=False), "cpu")
    trainer.run()
    save_checkpoint(path, trainer.to_checkpoint())
