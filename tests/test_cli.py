import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _vae(*args, cwd):
    """`python -m vae ...` run from another folder, as a user would from the repo (PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "vae", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by the CLI itself, on the offline subset."""
    root = tmp_path_factory.mktemp("cli")
    out = root / "tiny.pt"
    r = _vae("train", "--preset", "tiny", "--epochs", "1", "--data-dir", root / "data", "--out", out, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "offline subset" in r.stderr and "saved" in r.stdout
    assert "1 epoch of these 4,000 images" in r.stderr and "--epochs 150 --kl-start 3 --kl-ramp 150" in r.stderr
    assert "no judge kept at" in r.stderr  # none in this folder's checkpoints/judges: said, and trained anyway
    return out


def test_train_charts_the_judged_accuracy_with_a_kept_judge(tmp_path):
    """With the shipped judge in ./checkpoints/judges, a run records how often it draws the digit asked for."""
    from vae.checkpoint import load_checkpoint

    (tmp_path / "checkpoints" / "judges").mkdir(parents=True)
    for judge in (ROOT / "checkpoints" / "judges").glob("judge-mnist-*.pt"):
        (tmp_path / "checkpoints" / "judges" / judge.name).symlink_to(judge)
    out = tmp_path / "x.pt"
    r = _vae("train", "--preset", "tiny", "--epochs", "1", "--data-dir", tmp_path / "data", "--out", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no judge kept" not in r.stderr and "draws the digit asked for" in r.stdout
    assert 0 <= load_checkpoint(out).epoch_metrics[-1]["judged_acc"] <= 1


def test_train_writes_a_checkpoint_with_its_command(trained):
    from vae.checkpoint import load_checkpoint

    ckpt = load_checkpoint(trained)
    assert ckpt.epoch == 1 and "train --preset tiny" in ckpt.command
    assert ckpt.dataset["name"] == "mnist" and ckpt.dataset["notice"]


def test_sample_writes_a_png(trained, tmp_path):
    from PIL import Image

    r = _vae("sample", trained, "--digit", "3", "--n", "16", "--out", tmp_path / "s.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "s.png").size[0] > 28 * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "missing.pt"], "No checkpoint"),
        (["evaluate", "missing.pt", "--seeds", "0"], "--seeds and --n-per-class must be >= 1"),
        (["evaluate", "missing.pt", "--temperature", "nan"], "--temperature must be a number > 0"),
        (["sample", "BAD", "--out", "x.png"], "No checkpoint"),
        (["train", "--preset", "tiny", "--epochs", "0"], "epochs must be"),
        (["train", "--preset", "tiny", "--resume", "missing.pt"], "No checkpoint"),
        (["train", "--preset", "tiny", "--device", "gpu"], "device 'gpu' is not a device: use one of cpu, cuda, mps"),
        (["train", "--preset", "tiny", "--device", "cuda:63"], "no such CUDA GPU"),
    ],
)
def test_errors_are_one_clear_line(tmp_path, args, message):
    r = _vae(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_resuming_with_another_z_dim_is_one_clear_line(trained, tmp_path):
    r = _vae("train", "--resume", trained, "--z-dim", "3", "--out", tmp_path / "t.pt", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"error: --z-dim 3 cannot resume {trained}: its model was built with z_dim 2. Leave --z-dim out, "
        "or train a new model without --resume."
    )


def test_a_run_whose_save_fails_at_the_end_is_kept_in_the_temporary_folder(tmp_path, monkeypatch, capsys):
    """The disk filled up while it trained: the finished run is not thrown away."""
    from vae import cli
    from vae.checkpoint import CheckpointError, load_checkpoint

    out, real_save = tmp_path / "runs" / "t.pt", cli.save_checkpoint

    def full_disk(path, ckpt, slim=False):
        if Path(path) == out:
            raise CheckpointError(f"Could not write {out}: No space left on device.")
        return real_save(path, ckpt, slim=slim)

    monkeypatch.setattr(cli, "save_checkpoint", full_disk)
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    args = ["train", "--preset", "tiny", "--epochs", "1", "--data-dir", tmp_path / "data", "--out", out]
    assert cli.main(list(map(str, args))) == 0
    (rescued,) = (tmp_path / "tmp").glob("t-rescued-*.pt")
    assert load_checkpoint(rescued).epoch == 1 and not out.exists()
    err = capsys.readouterr().err
    assert f"No space left on device. The run was saved to {rescued} instead" in err


def test_list_says_when_there_is_nothing_to_list(tmp_path):
    r = _vae("list", tmp_path / "nothing-here", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith(f"No checkpoints in {tmp_path / 'nothing-here'}: train one")


def test_corrupt_checkpoint_and_bad_digit(trained, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    r = _vae("sample", bad, "--digit", "1", "--out", tmp_path / "x.png", cwd=tmp_path)
    assert r.returncode == 2 and "not a readable" in r.stderr and "Traceback" not in r.stderr
    r = _vae("sample", trained, "--digit", "12", "--out", tmp_path / "x.png", cwd=tmp_path)
    assert r.returncode == 2 and "--digit must be 0..9" in r.stderr


def test_a_diverging_learning_rate_is_reported_and_the_good_weights_saved(tmp_path):
    out = tmp_path / "nan.pt"
    r = _vae("train", "--preset", "seed", "--learning-rate", "10", "--epochs", "5", "--out", out, cwd=tmp_path)
    assert r.returncode != 0
    assert "loss became" in r.stderr and "Lower the learning rate" in r.stderr and "Traceback" not in r.stderr
    from vae.checkpoint import load_checkpoint

    weights = load_checkpoint(out).model.state_dict().values()
    assert all(w.isfinite().all() for w in weights)


def test_an_unwritable_out_is_refused_before_training(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    r = _vae("train", "--preset", "tiny", "--out", tmp_path / "a-file" / "x.pt", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"error: Could not write {tmp_path / 'a-file' / 'x.pt'}: {tmp_path / 'a-file'} is a file, not a folder. "
        "Check that its folder can be written to and the disk has room, or save somewhere else."
    )  # one line, and no epoch was trained


def test_train_never_replaces_a_checkpoint_unless_asked(trained, tmp_path):
    before = trained.read_bytes()
    r = _vae("train", "--preset", "tiny", "--epochs", "1", "--out", trained, cwd=tmp_path)
    assert r.returncode == 2 and "exists already" in r.stderr and "--overwrite" in r.stderr
    assert trained.read_bytes() == before
    # the default name of the seed preset is the shipped model's: refused the same way
    shipped = tmp_path / "checkpoints" / "seed-mnist.pt"
    shipped.parent.mkdir()
    shipped.write_bytes(before)
    r = _vae("train", "--preset", "seed", cwd=tmp_path)
    assert r.returncode == 2 and "seed-mnist.pt exists already" in r.stderr and shipped.read_bytes() == before


def test_data_fetches_into_the_data_dir_or_says_what_to_do(tmp_path, monkeypatch, capsys, no_network):
    import vae.data
    from tests.helpers import write_mnist_stand_in
    from vae.cli import main

    assert main(["data", "--dataset", "mnist", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert no_network and "MNIST could not be downloaded" in err and "offline subset" in err

    monkeypatch.setattr(vae.data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    assert main(["data", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in err and "python -m vae data --dataset fashion-mnist" in err

    write_mnist_stand_in(tmp_path / "full", n_train=30, n_test=20)  # what a finished download leaves
    assert main(["data", "--dataset", "mnist", "--data-dir", str(tmp_path / "full")]) == 0
    assert "30 training and 20 test images, ready" in capsys.readouterr().out


def test_a_device_from_the_environment_is_checked_too(monkeypatch):
    import torch

    from vae.device import resolve_device

    monkeypatch.setenv("VAE_DEVICE", "gpu")
    with pytest.raises(ValueError, match="VAE_DEVICE='gpu' is not a device"):
        resolve_device()
    monkeypatch.setenv("VAE_DEVICE", "cpu")
    assert resolve_device() == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")


def test_evaluate_prints_both_judges_and_keeps_them_in_their_own_folder(trained, tmp_path, monkeypatch, capsys):
    from vae import cli
    from vae import judge as judge_module
    from vae.checkpoint import list_checkpoints

    monkeypatch.setattr(judge_module, "train_judge", lambda data, **kw: (judge_module.Judge().eval(), 0.5))
    args = ["evaluate", trained, "--data-dir", tmp_path / "data", "--k", "2", "--seeds", "2", "--n-per-class", "5"]
    assert cli.main(list(map(str, args))) == 0
    out = capsys.readouterr().out
    assert "over 2 z seeds x 5 images per class, temperature 1" in out
    for row in ("all judges, generated", "all judges, real test", "cnn, generated", "knn, real test"):
        assert row in out
    assert list((trained.parent / "judges").glob("judge-mnist-*.pt"))
    assert list_checkpoints(trained.parent) == [trained]
