"""Shared fixtures. Browser tests start a real Streamlit server and drive a real Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import StreamlitServer, chromium, chromium_path

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if chromium_path() is None:
        pytest.fail("Chromium is required for browser tests: `make test` installs it (apt-get install chromium)")
    with chromium() as b:
        yield b


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[StreamlitServer]:
    """The real app on a free port, with its own empty checkpoint folder for autosaves and saves."""
    env = {"VAE_CHECKPOINT_DIR": str(tmp_path / "checkpoints"), "VAE_DATA_DIR": str(tmp_path / "data")}
    with StreamlitServer("explorer_app.py", env=env) as server:
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
