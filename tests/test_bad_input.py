"""Bad input in the app: each gives a readable message, the app keeps running, nothing is overwritten."""

import hashlib
import os
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "explorer_app.py")


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_files(folder: Path, good: Path) -> dict[str, str]:
    """Write one broken checkpoint of each kind; returns name -> expected words in the message."""
    data = good.read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 3])
    (folder / "noise.pt").write_bytes(os.urandom(4096))
    torch.save(
        {"format": "vae-explorer-checkpoint", "version": 1, "x": _Exploit(str(folder / "PWNED"))}, folder / "pickle.pt"
    )
    payload = torch.load(good, weights_only=True)
    payload["config"]["z_dim"] = 7
    torch.save(payload, folder / "shapes.pt")
    payload = torch.load(good, weights_only=True)
    payload["version"] = 42
    torch.save(payload, folder / "future.pt")
    return {
        "truncated": "not a readable",
        "noise": "not a readable",
        "pickle": "not a readable",
        "shapes": "does not match",
        "future": "newer than this VAE Explorer",
    }


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_broken_checkpoints_in_the_picker_give_clear_messages(app_env, fresh_streamlit_caches):
    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    expected = _bad_files(folder, folder / "tiny-test.pt")
    before = _digests(folder)
    at = AppTest.from_file(HOME, default_timeout=90).run()
    assert not at.exception
    for name, words in expected.items():
        at.sidebar.selectbox(key="sidebar_model").select(name).run()
        assert not at.exception, name
        errors = " ".join(e.value for e in at.error)
        assert words in errors and name in errors, (name, errors)
        assert "Traceback" not in errors
    at.sidebar.selectbox(key="sidebar_model").select("tiny-test").run()
    assert not at.exception and not at.error
    assert _digests(folder) == before
    assert not (folder / "PWNED").exists()


def test_a_checkpoint_deleted_while_shown(app_env, fresh_streamlit_caches):
    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    extra = folder / "gone.pt"
    extra.write_bytes((folder / "tiny-test.pt").read_bytes())
    at = AppTest.from_file(HOME, default_timeout=90).run()
    at.sidebar.selectbox(key="sidebar_model").select("gone").run()
    extra.unlink()
    at.run()
    assert not at.exception


def test_mnist_missing_with_no_network_says_so(app_env, fresh_streamlit_caches):
    at = AppTest.from_file(HOME, default_timeout=90).run()
    assert not at.exception
    notices = [e.proto.body for e in at.sidebar.get("caption")]
    assert any("offline subset" in n for n in notices)
