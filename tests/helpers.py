"""Helpers shared by the app tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

HOME = str(Path(__file__).resolve().parent.parent / "explorer_app.py")


def open_page(page: str, timeout: float = 90):
    """AppTest of `page` (e.g. "pages/2_Generate.py") entered through the home page, as a browser
    would: the sidebar's page links resolve only relative to the entry point."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(HOME, default_timeout=timeout).run()
    return at.switch_page(page).run()


def start_run_in_browser(page, epochs: int, batch_size: int) -> None:
    """On an open Train page: pick the tiny preset, set epochs and batch size, press Start."""
    from playwright.sync_api import expect

    page.get_by_text("⚙️ Settings").first.click()  # the settings panel is closed: it sums them up in its title
    page.locator("[data-testid='stSelectbox']").filter(has_text="Start from a preset").click()
    page.get_by_role("option", name="tiny").click()
    expect(page.get_by_role("spinbutton", name="Latent size z_dim")).to_have_value("2")  # the preset filled the form
    for label, value in (("Epochs", epochs), ("Batch size", batch_size)):
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(str(value))
        field.press("Tab")
    # The panel's title is the server's: once it names the epochs, the server has the fields.
    expect(page.get_by_text(f"· {epochs} epochs", exact=False).first).to_be_visible(timeout=120_000)
    page.get_by_role("button", name="Start training").click()


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def write_idx(path: Path, array) -> None:
    """`array` (uint8 values) as a gzipped IDX file, the format of MNIST's original files."""
    import gzip
    import struct

    import numpy as np

    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist_stand_in(data_dir: Path, n_train: int = 30, n_test: int = 20) -> None:
    """Small random stand-ins for the four files torchvision keeps in <data_dir>/MNIST/raw/ (labels
    0..9 in turn): what full MNIST on disk looks like to vae.data."""
    import numpy as np

    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{stem}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def sample_grid_height(n_rows: int, names: tuple[str, ...] | None = None) -> int:
    """Pixel height of the Train page's sample grid with `n_rows` epochs (digit names by default)."""
    from io import BytesIO

    import numpy as np
    from PIL import Image

    from ui.train_charts import sample_grid_png
    from vae.data import DIGIT_NAMES

    png, _ = sample_grid_png(np.zeros((n_rows, 10, 28, 28), np.float32), names or DIGIT_NAMES)
    return Image.open(BytesIO(png)).height


def record_messages(page, received: list[bytes] | None = None) -> list[bytes]:
    """`received` (default: a new list), collecting every message the server sends `page` (its websockets'
    frames) from now on: call it before `page.goto` to see the page's first run too."""
    received = [] if received is None else received
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(data)))
    return received


def deltas(received: list[bytes]) -> list:
    """The page changes ("delta" ForwardMsgs) among recorded messages, each with its metadata.delta_path
    (its first index: 0 the main area, 1 the sidebar) and delta.fragment_id (set when a fragment drew it)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msgs = (ForwardMsg.FromString(data) for data in received if isinstance(data, bytes))
    return [m for m in msgs if m.WhichOneof("type") == "delta"]
