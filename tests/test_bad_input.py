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
    payload = torch.load(good, weights_only=True)
    payload["model"]["decoder.0.weight"].fill_(float("nan"))
    torch.save(payload, folder / "nan.pt")
    return {
        "truncated": "not a readable",
        "noise": "not a readable",
        "pickle": "not a readable",
        "shapes": "does not match",
        "future": "newer than this VAE Explorer",
        "nan": "NaN or infinite",
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
    assert [w.value for w in at.sidebar.warning] == ["“gone” is no longer on this server: showing “tiny-test”."]
    at.run()
    assert not at.sidebar.warning  # said once


def test_a_checkpoints_folder_that_cannot_be_read_says_so_on_every_page(app_env, fresh_streamlit_caches, monkeypatch):
    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    scandir = os.scandir

    def refuse(path):  # what a folder without read permission does (the tests run as root)
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    at = AppTest.from_file(HOME, default_timeout=90).run()
    for page in (None, "pages/1_Train.py", "pages/2_Generate.py"):
        if page:
            at.switch_page(page).run()
        assert not at.exception, page
        errors = " ".join(e.value for e in at.sidebar.error)
        assert f"The checkpoints in {folder} cannot be read (Permission denied)" in errors, page


def test_a_checkpoint_without_its_dataset_record_still_shows(app_env, fresh_streamlit_caches):
    """Written by other code, say: `load_checkpoint` accepts it, and the sidebar must too."""
    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    payload = torch.load(folder / "tiny-test.pt", weights_only=True)
    del payload["dataset"]
    torch.save(payload, folder / "bare.pt")
    at = AppTest.from_file(HOME, default_timeout=90).run()
    at.sidebar.selectbox(key="sidebar_model").select("bare").run()
    assert not at.exception
    assert "mnist · training images not recorded" in [c.value for c in at.sidebar.caption]


def test_the_history_of_a_checkpoint_deleted_meanwhile_is_still_drawn(app_env, fresh_streamlit_caches):
    """A page holds the run it shows as one value: a file deleted mid-page (by another browser) cannot
    take half of it away (it once read the history from the file again, and found nothing)."""
    from ui import state

    shown = state.shown("tiny-test")
    (Path(app_env["VAE_CHECKPOINT_DIR"]) / "tiny-test.pt").unlink()
    assert len(shown.sample_rows) == len(shown.sample_epochs) == len(shown.epoch_metrics) == 3


def test_a_test_split_smaller_than_a_page_shows_what_there_is(app_env, fresh_streamlit_caches):
    """MNIST-format files with only 20 test images (a custom dataset, say): every page draws them."""
    from tests.helpers import write_mnist_stand_in
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.data import load_dataset
    from vae.trainer import Trainer

    write_mnist_stand_in(Path(app_env["VAE_DATA_DIR"]), n_train=30, n_test=20)
    three = Trainer(preset("tiny").replace(z_dim=3, epochs=1), load_dataset("mnist", app_env["VAE_DATA_DIR"]), "cpu")
    three.run()  # z_dim 3: the latent map offers t-SNE
    save_checkpoint(Path(app_env["VAE_CHECKPOINT_DIR"]) / "three.pt", three.to_checkpoint())
    at = AppTest.from_file(HOME, default_timeout=90).run()
    at.sidebar.selectbox(key="sidebar_model").select("three").run()
    for page in ("pages/4_Reconstruct.py", "pages/5_Theory.py", "pages/3_Latent_space.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.radio(key="lat_method").set_value("t-SNE").run()  # computed at once, 20 points: a moment
    assert not at.exception and not at.error


def test_mnist_missing_with_no_network_says_so(app_env, fresh_streamlit_caches):
    at = AppTest.from_file(HOME, default_timeout=90).run()
    assert not at.exception
    notices = [e.proto.body for e in at.sidebar.get("caption")]
    assert any("offline subset" in n for n in notices)


def test_a_model_whose_data_is_not_on_this_machine_says_how_to_get_it(
    app_env, fresh_streamlit_caches, mnist, monkeypatch
):
    """A Fashion-MNIST model on a machine that never fetched Fashion-MNIST (no Debian package, and
    the app never downloads): every page says what to run instead of failing."""
    import vae.data
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.data import Dataset
    from vae.trainer import Trainer

    # Stand-in weights: one epoch on MNIST digits filed under the other dataset's name.
    elsewhere = Dataset("fashion-mnist", mnist.train_x[:500], mnist.train_y[:500], mnist.test_x, mnist.test_y, "test")
    trainer = Trainer(preset("tiny").replace(epochs=1, dataset="fashion-mnist"), elsewhere, device="cpu")
    trainer.run()
    save_checkpoint(Path(app_env["VAE_CHECKPOINT_DIR"]) / "clothes.pt", trainer.to_checkpoint())
    monkeypatch.setattr(vae.data, "DEBIAN_FASHION_DIR", Path(app_env["VAE_DATA_DIR"]) / "no-debian-package")
    fetch = "python -m vae data --dataset fashion-mnist"

    at = AppTest.from_file(HOME, default_timeout=90).run()
    at.sidebar.selectbox(key="sidebar_model").select("clothes").run()
    assert not at.exception and not at.error  # the home page draws from the weights alone

    at.switch_page("pages/2_Generate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(fetch in w.value for w in at.warning), [w.value for w in at.warning]
    assert any("Download this image" in b.proto.label for b in at.get("download_button"))  # the sliders still draw
    for page in ("pages/3_Latent_space.py", "pages/4_Reconstruct.py", "pages/5_Theory.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any(fetch in e.value and "apt-get install" in e.value for e in at.error), page
