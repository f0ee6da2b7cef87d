import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from vae.checkpoint import (
    CheckpointError,
    check_writable,
    list_checkpoints,
    load_checkpoint,
    name_of,
    new_checkpoint_path,
    path_of,
    read_summary,
    save_checkpoint,
)
from vae.config import preset
from vae.model import ConditionalVAE
from vae.run import RunState, RunView


def _ckpt(config=None) -> RunView:
    config = config or preset("tiny")
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = ConditionalVAE(config)
    return RunView(
        config=config,
        model=model,
        label="test",
        run_id="test",
        epoch=2,
        step=80,
        epoch_metrics=({"epoch": 1, "test_loss": 300.5}, {"epoch": 2, "test_loss": np.float32(290.25)}),
        steps={"step": np.arange(1, 81, dtype=np.float32), "loss": np.linspace(400, 300, 80)},
        sample_rows=np.random.default_rng(0).random((2, 10, 28, 28)).astype(np.float32),
        sample_epochs=(1, 2),
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
    np.testing.assert_allclose(loaded.steps["loss"], original.steps["loss"], rtol=1e-6)
    np.testing.assert_allclose(loaded.sample_rows, original.sample_rows, atol=0.5 / 255 + 1e-6)
    assert loaded.dataset == original.dataset and not loaded.model.training
    assert loaded.optimizer_state is not None
    # a saved run reads like a live one: the same type, named after its file, finished (2 of 2 epochs)
    assert loaded.label == "a" and loaded.path == path and loaded.state is RunState.FINISHED and not loaded.live
    assert loaded.sample_epochs == (1, 2)


def test_slim_save_omits_the_optimizer_and_thins_long_logs(tmp_path):
    ckpt = _ckpt(preset("seed")).but(
        steps={"step": np.arange(1, 24_001, dtype=np.float32), "loss": np.linspace(400, 200, 24_000)},
        sample_rows=np.random.default_rng(0).random((600, 10, 28, 28)).astype(np.float32),
        sample_epochs=tuple(range(1, 601)),
    )
    path = save_checkpoint(tmp_path / "a.pt", ckpt, slim=True)
    loaded = load_checkpoint(path)
    assert loaded.optimizer_state is None
    assert path.stat().st_size < 2_000_000
    assert len(loaded.steps["step"]) <= 2000 and loaded.steps["step"][-1] == 24_000
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
        new_checkpoint_path(name, tmp_path)


@pytest.mark.parametrize("name", ["", " "])
def test_an_empty_name_is_asked_for(tmp_path, name):
    with pytest.raises(CheckpointError, match="Type a name for the checkpoint first"):
        new_checkpoint_path(name, tmp_path)


@pytest.mark.parametrize("name", ["x.pt", "seed-mnist.PT", ".pt"])
def test_a_new_name_ending_in_pt_is_refused_with_what_to_type(tmp_path, name):
    with pytest.raises(CheckpointError, match="Leave out the .pt"):
        new_checkpoint_path(name, tmp_path)


@pytest.mark.parametrize("file", ["seed-mnist.pt.pt", "x.pt.pt.pt", "Live run.pt", "two\nlines.pt", "<b>bold<b>.pt"])
def test_every_listed_name_maps_back_to_its_own_file(tmp_path, file):
    """A listed name opens and deletes exactly its own file (it once stripped a second .pt, so deleting
    the listed "seed-mnist.pt" removed the shipped seed-mnist.pt)."""
    save_checkpoint(tmp_path / "seed-mnist.pt", _ckpt())
    save_checkpoint(tmp_path / file, _ckpt())
    names = [name_of(p) for p in list_checkpoints(tmp_path)]
    assert sorted(path_of(n, tmp_path).name for n in names) == sorted(["seed-mnist.pt", file])


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden"])
def test_a_name_that_is_no_file_of_the_folder_is_refused(tmp_path, name):
    with pytest.raises(CheckpointError, match="No checkpoint named"):
        path_of(name, tmp_path)


def test_names_and_listing(tmp_path):
    assert new_checkpoint_path("my run-2", tmp_path) == tmp_path / "my run-2.pt"
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


def test_a_crafted_file_with_the_right_marker_but_wrong_fields_is_a_clear_error(tmp_path):
    """Shapes are checked at load, so no page draws from them and fails with a traceback."""
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    good = torch.load(path, weights_only=True)
    forged = {
        "sample_rows": torch.zeros(3, 5, dtype=torch.uint8),
        "epoch_metrics": [1, 2, 3],
        "sample_epochs": "1, 2",
        "step_metrics": {"loss": torch.zeros(3, 3)},
        "epoch": -1,
        "dataset": {"name": object},
    }
    for field, value in forged.items():
        payload = {**good, field: value}
        torch.save({k: v for k, v in payload.items() if not (k == "dataset" and field == "dataset")}, path)
        if field == "dataset":
            continue  # weights_only cannot even save a class: covered by the pickle test
        _assert_clear_error(path, match="does not match its own config or format")


def test_a_config_that_claims_a_huge_model_is_refused_before_it_is_built(tmp_path, monkeypatch):
    """A 1.7 MB file whose config claims 8 x 4,096 layers cost seconds and gigabytes on every render."""
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    payload["config"]["encoder_layers"] = [4096] * 8
    torch.save(payload, path)
    built, init = [], ConditionalVAE.__init__

    def recording_init(self, config):
        built.append(torch.empty(0).device.type)  # "meta" inside parameter_counts: nothing is allocated
        init(self, config)

    monkeypatch.setattr(ConditionalVAE, "__init__", recording_init)
    _assert_clear_error(path, match="describes .* weights but the file holds")
    assert built == ["meta"]


def test_the_summary_reads_config_and_epoch_only(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    summary = read_summary(path)
    assert summary["epoch"] == 2 and summary["config"] == preset("tiny")
    path.write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        read_summary(path)


def test_the_film_round_trips_packed_and_a_slim_file_keeps_the_early_frames(tmp_path):
    from vae.history import FILM_STYLES

    rng = np.random.default_rng(0)
    film = (rng.random((300, FILM_STYLES, 10, 28, 28)) < 0.2).astype(np.uint8) * 255
    run = _ckpt(preset("seed")).but(film=film, film_epochs=tuple(range(1, 301)))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "a.pt", run))
    assert np.array_equal(loaded.film, film) and loaded.film_epochs == tuple(range(1, 301))
    slim = load_checkpoint(save_checkpoint(tmp_path / "b.pt", run, slim=True))
    assert len(slim.film) == len(slim.film_epochs) <= 16
    assert slim.film_epochs[0] == 1 and slim.film_epochs[-1] == 300
    assert sum(e <= 10 for e in slim.film_epochs) >= 3  # early epochs change most: evenly spaced would keep 1
    assert np.array_equal(slim.film[-1], film[-1])


def test_a_file_from_before_films_loads_without_one(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    del payload["film"], payload["film_epochs"]
    torch.save(payload, path)
    loaded = load_checkpoint(path)
    assert len(loaded.film) == 0 and loaded.film_epochs == ()


@pytest.mark.parametrize("shape", [[1, 4, 10, 28, 28], [10**9, 4, 10, 28, 28], [1, 3, 10, 28, 28]])
def test_a_packed_film_that_lies_about_its_size_is_refused(tmp_path, shape):
    """A zlib bomb, or bytes that do not fill the shape they claim: a clear error, never gigabytes."""
    import zlib

    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    data = np.frombuffer(zlib.compress(bytes(100)), np.uint8).copy()
    payload["film"], payload["film_epochs"] = {"zlib": torch.from_numpy(data), "shape": shape}, [1]
    torch.save(payload, path)
    _assert_clear_error(path, match="does not match its own config or format")


def test_the_maps_over_training_round_trip_and_a_slim_file_keeps_a_few(tmp_path):
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((40, 1000, 2)).astype(np.float16)
    run = _ckpt().but(maps=maps, map_epochs=tuple(range(1, 41)))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "a.pt", run))
    assert np.array_equal(loaded.maps, maps) and loaded.map_epochs == tuple(range(1, 41))
    slim = load_checkpoint(save_checkpoint(tmp_path / "b.pt", run, slim=True))
    assert len(slim.maps) == len(slim.map_epochs) <= 8 and slim.map_epochs[-1] == 40
    payload = torch.load(tmp_path / "a.pt", weights_only=True)
    payload["map_shape"] = [40, 1000, 3]  # not this model's z_dim
    torch.save(payload, tmp_path / "a.pt")
    _assert_clear_error(tmp_path / "a.pt", match="does not match its own config or format")


def test_a_failed_run_is_saved_with_why_and_reads_as_failed(tmp_path):
    """A run the NaN guard stopped (the lesson kit ships one if it happens) says so when it is read back."""
    why = "The loss became nan at epoch 3, step 97: training stopped and the last good weights were restored."
    loaded = load_checkpoint(save_checkpoint(tmp_path / "a.pt", _ckpt().but(error=why), slim=True))
    assert loaded.error == why and loaded.state is RunState.FAILED
    ok = load_checkpoint(save_checkpoint(tmp_path / "b.pt", _ckpt()))
    assert ok.error is None and ok.state is RunState.FINISHED
    payload = torch.load(tmp_path / "b.pt", weights_only=True)
    payload["error"] = 42
    torch.save(payload, tmp_path / "b.pt")
    _assert_clear_error(tmp_path / "b.pt", match="does not match its own config or format")


def test_slimmed_keeps_as_few_as_asked_the_last_of_each_always(tmp_path):
    from vae.checkpoint import slimmed

    rng = np.random.default_rng(0)
    run = _ckpt().but(
        film=np.zeros((100, 4, 10, 28, 28), np.uint8),
        film_epochs=tuple(range(1, 101)),
        maps=rng.standard_normal((40, 50, 2)).astype(np.float16),
        map_epochs=tuple(range(1, 41)),
        sample_rows=rng.random((100, 10, 28, 28)).astype(np.float32),
        sample_epochs=tuple(range(1, 101)),
    )
    light = load_checkpoint(save_checkpoint(tmp_path / "a.pt", slimmed(run, steps=10, rows=4, film=5, maps=3), True))
    assert len(light.steps["step"]) == 10 and light.steps["step"][-1] == 80
    assert light.sample_epochs[-1] == light.film_epochs[-1] == 100 and light.map_epochs[-1] == 40
    assert (len(light.sample_epochs), len(light.film_epochs), len(light.map_epochs)) == (4, 5, 3)
    assert len(light.film) == 5 and len(light.maps) == 3 and len(light.sample_rows) == 4


def test_epoch_metrics_round_trip_as_a_table_with_ints_none_nan_and_missing_keys(tmp_path):
    metrics = (
        {"epoch": 1, "step": 40, "test_loss": 300.125, "judged_acc": None, "train_acc": float("nan")},
        {"epoch": 2, "step": 80, "test_loss": 290.0625, "judged_acc": 0.875},  # no train_acc this epoch
    )
    path = save_checkpoint(tmp_path / "a.pt", _ckpt().but(epoch_metrics=metrics))
    assert isinstance(torch.load(path, weights_only=True)["epoch_metrics"], dict)  # the compact form
    loaded = load_checkpoint(path).epoch_metrics
    assert loaded[0]["epoch"] == 1 and type(loaded[0]["step"]) is int and loaded[0]["judged_acc"] is None
    assert np.isnan(loaded[0]["train_acc"]) and "train_acc" not in loaded[1]
    assert [dict(m) for m in loaded][1] == metrics[1]


def test_a_version_1_file_with_its_metrics_as_a_list_of_dicts_still_loads(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    payload["version"] = 1
    payload["epoch_metrics"] = [{"epoch": 1, "test_loss": 300.5}, {"epoch": 2, "test_loss": 290.25}]
    torch.save(payload, path)
    assert [m["test_loss"] for m in load_checkpoint(path).epoch_metrics] == [300.5, 290.25]


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.update(columns=["epoch"]),  # fewer names than columns
        lambda t: t.update(values=t["values"].float()),
        lambda t: t["values"].__setitem__((0, 0), float("inf")),  # an int cell that is no number
        lambda t: t.update(kinds={"zlib": torch.zeros(3, dtype=torch.uint8), "shape": [2, 2]}),
    ],
)
def test_a_crafted_metric_table_is_a_clear_error(tmp_path, change):
    path = save_checkpoint(tmp_path / "a.pt", _ckpt())
    payload = torch.load(path, weights_only=True)
    change(payload["epoch_metrics"])
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="epoch_metrics|packed"):
        load_checkpoint(path)
