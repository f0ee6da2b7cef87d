import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from vae.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_writable,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from vae.config import preset
from vae.model import ConditionalVAE


def _ckpt(config=None) -> Checkpoint:
    config = config or preset("tiny")
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = ConditionalVAE(config)
    return Checkpoint(
        config=config,
        model=model,
        epoch=2,
        step=80,
        epoch_metrics=[{"epoch": 1, "test_loss": 300.5}, {"epoch": 2, "test_loss": np.float32(290.25)}],
        step_metrics={"step": np.arange(1, 81, dtype=np.float32), "loss": np.linspace(400, 300, 80)},
        sample_rows=np.random.default_rng(0).random((2, 10, 28, 28)).astype(np.float32),
        dataset={"name": "mnist", "source": "test", "notice": "subset", "n_train": 4000, "n_test": 1000},
        command="python -m vae train --preset tiny",
        optimizer_state=torch.optim.Adam(model.parameters()).state_dict(),
    )


def test_round_trip_is_exact(tmp_path):
    original = _ckpt()
    path = save_checkpoint(tmp_path / "a.pt", original)
    loaded = load_checkpoint(path)
    assert loaded.config == original.config
    for k, v in original.model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k])
    assert (loaded.epoch, loaded.step, loaded.command) == (2, 80, original.command)
    assert loaded.epoch_metrics[1]["test_loss"] == 290.25
    np.testing.assert_allclose(loaded.step_metrics["loss"], original.step_metrics["loss"], rtol=1e-6)
    np.testing.assert_allclose(loaded.sample_rows, original.sample_rows, atol=0.5 / 255 + 1e-6)
    assert loaded.dataset == original.dataset and not loaded.model.training
    assert loaded.optimizer_state is not None


def test_slim_save_omits_the_optimizer_and_thins_long_logs(tmp_path):
    ckpt = _ckpt(preset("seed"))
    ckpt.step_metrics = {"step": np.arange(1, 24_001, dtype=np.float32), "loss": np.linspace(400, 200, 24_000)}
    ckpt.sample_rows = np.random.default_rng(0).random((600, 10, 28, 28)).astype(np.float32)
    path = save_checkpoint(tmp_path / "a.pt", ckpt, slim=True)
    loaded = load_checkpoint(path)
    assert loaded.optimizer_state is None
    assert path.stat().st_size < 2_000_000
    assert len(loaded.step_metrics["step"]) <= 2000 and loaded.step_metrics["step"][-1] == 24_000
    assert len(loaded.sample_rows) == len(loaded.sample_epochs) <= 30
    assert loaded.sample_epochs[0] == 1 and loaded.sample_epochs[-1] == 600
    np.testing.assert_allclose(loaded.sample_rows[-1], ckpt.sample_rows[-1], atol=0.5 / 255 + 1e-6)


def _assert_clear_error(path, match="not a readable"):
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    assert "Traceback" not in str(info.value)


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_clear_error(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(os.urandom(5000))
    _assert_clear_error(path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch notes the attacker's protocol 4
def test_code_executing_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "vae-explorer-checkpoint", "version": 1, "x": _Exploit(str(marker))}, path)
    assert zipfile.is_zipfile(path)
    _assert_clear_error(path)
    assert not marker.exists()
    legacy = tmp_path / "evil-legacy.pt"
    legacy.write_bytes(pickle.dumps(_Exploit(str(marker))))
    _assert_clear_error(legacy)
    assert not marker.exists()


def test_wrong_shapes(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    payload["config"]["z_dim"] = 3  # the weights were made for z_dim 2
    torch.save(payload, path)
    _assert_clear_error(path, match="does not match")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_that_are_not_finite(tmp_path, value):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    payload["model"]["decoder.0.bias"][3] = value  # one number is enough to blank every picture
    torch.save(payload, path)
    _assert_clear_error(path, match=r"NaN or infinite \(decoder.0.bias\), so it cannot draw anything")


def test_a_failed_write_is_a_checkpoint_error_and_leaves_no_file(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(CheckpointError, match="a-file is a file, not a folder"):
        save_checkpoint(tmp_path / "a-file" / "x.pt", _ckpt())
    with pytest.raises(CheckpointError, match="Could not write"):
        check_writable(tmp_path / "a-file" / "x.pt")
    check_writable(tmp_path / "new" / "x.pt")  # a folder that can be made: fine, and nothing is left in it
    assert list((tmp_path / "new").iterdir()) == []


def test_foreign_and_future_files(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    _assert_clear_error(foreign, match="not a VAE Explorer checkpoint")
    future = save_checkpoint(tmp_path / "future.pt", _ckpt())
    payload = torch.load(future, weights_only=True)
    payload["version"] = 99
    torch.save(payload, future)
    _assert_clear_error(future, match="newer")


def test_missing_file(tmp_path):
    _assert_clear_error(tmp_path / "nope.pt", match="No checkpoint")


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", "..", ".hidden", "x" * 65, "a..b", "café"])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(CheckpointError, match="Invalid checkpoint name .*letters a-z and A-Z.*no slashes"):
        checkpoint_path(name, tmp_path)


@pytest.mark.parametrize("name", ["", " ", ".pt"])
def test_an_empty_name_is_asked_for(tmp_path, name):
    with pytest.raises(CheckpointError, match="Type a name for the checkpoint first"):
        checkpoint_path(name, tmp_path)


def test_names_and_listing(tmp_path):
    assert checkpoint_path("my run-2.pt", tmp_path) == tmp_path / "my run-2.pt"
    save_checkpoint(tmp_path / "b.pt", _ckpt())
    (tmp_path / ".b.pt.123.tmp").write_bytes(b"x")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["b.pt"]
    assert list_checkpoints(tmp_path / "missing") == []


def test_a_folder_that_cannot_be_read_is_an_error_not_an_empty_list(tmp_path, monkeypatch):
    import os

    def refuse(path):  # what a folder without read permission does (the tests run as root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(CheckpointError, match=f"The checkpoints in {tmp_path} cannot be read .Permission denied."):
        list_checkpoints(tmp_path)


def test_a_file_deleted_while_the_folder_is_listed_is_left_out(tmp_path, monkeypatch):
    import os

    for name in ("a.pt", "b.pt"):
        save_checkpoint(tmp_path / name, _ckpt())
    scandir = os.scandir

    class Gone:  # b.pt as another browser deletes it between the listing and its stat
        def __init__(self, entry):
            self.name, self.path, self._entry = entry.name, entry.path, entry

        def is_file(self):
            if self.name == "b.pt":
                raise FileNotFoundError(2, "No such file or directory")
            return self._entry.is_file()

        def stat(self):
            return self._entry.stat()

    class Listing:
        def __init__(self, path):
            self._it = scandir(path)

        def __enter__(self):
            return (Gone(e) for e in self._it)

        def __exit__(self, *exc):
            self._it.close()

    monkeypatch.setattr(os, "scandir", Listing)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["a.pt"]
