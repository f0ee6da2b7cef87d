"""Shared fixtures. Browser tests start a real Streamlit server and drive a real Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from bench.harness import StreamlitServer, chromium, chromium_path

# One intra-op thread: on 2 cores, torch's spinning worker threads fight the Streamlit server and
# Chromium that the browser tests start beside this process, and everything slows down many-fold.
torch.set_num_threads(1)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def device() -> str:
    """Where the trainer tests run: the CPU, or `VAE_TEST_DEVICE` (e.g. `cuda` on a GPU machine)."""
    return os.environ.get("VAE_TEST_DEVICE", "cpu")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if chromium_path() is None:
        pytest.fail("Chromium is required for browser tests: `make test` installs it (apt-get install chromium)")
    with chromium() as b:
        yield b


@pytest.fixture
def app_server(app_env: dict[str, str]) -> Iterator[StreamlitServer]:
    """The real app on a free port, over `app_env` (its own checkpoint folder with the tiny model)."""
    with StreamlitServer("explorer_app.py", env=app_env) as server:
        yield server
        if os.environ.get("VAE_SHOW_SERVER_LOG"):
            print(server.log())


@pytest.fixture
def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def mnist(tmp_path_factory: pytest.TempPathFactory):
    """The offline MNIST subset (4,000 train / 1,000 test real digits), loaded once."""
    from vae.data import load_dataset

    return load_dataset("mnist", tmp_path_factory.mktemp("data"), download=False)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, mnist) -> Path:
    """A `tiny` model (z_dim 2) trained for 3 epochs on the offline subset, saved once per session."""
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.trainer import Trainer

    trainer = Trainer(preset("tiny").replace(epochs=3), mnist, device="cpu", command="tests: tiny_checkpoint")
    trainer.run()
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-test.pt", trainer.to_checkpoint())


@pytest.fixture
def app_env(tmp_path: Path, tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for the app: a fresh checkpoint folder holding the tiny model, and an empty data dir
    (so MNIST falls back to the offline subset). Also applied to this process for AppTest."""
    import shutil

    ckpt_dir = tmp_path / "checkpoints"
    ckpt_dir.mkdir()
    shutil.copy(tiny_checkpoint, ckpt_dir / tiny_checkpoint.name)
    env = {"VAE_CHECKPOINT_DIR": str(ckpt_dir), "VAE_DATA_DIR": str(tmp_path / "data"), "VAE_DEVICE": "cpu"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def fresh_streamlit_caches() -> Iterator[None]:
    """AppTest shares st.cache_resource and the server's Lab across tests: start and end each test
    with clean ones, stopping any live training run first."""
    import streamlit as st

    def clear() -> None:
        from ui import state

        try:
            trainer = state.lab().trainer
        except Exception:  # noqa: BLE001 - no lab was ever made
            trainer = None
        if trainer is not None:
            trainer.stop()
            trainer.join(30)
        state._lab = None  # the next test's Lab reads its own folders (app_env)
        st.cache_resource.clear()
        st.cache_data.clear()

    clear()
    yield
    clear()


@pytest.fixture
def no_network(monkeypatch):
    """Downloads fail as they do offline; returns the list of attempts."""
    import urllib.error
    import urllib.request

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls
