"""The lesson kit: `python -m vae kit` and the models shipped in checkpoints/kit/."""

from __future__ import annotations

from pathlib import Path

import pytest

from vae import cli
from vae.checkpoint import load_checkpoint
from vae.kit import EPOCHS, KIT, LIGHT, QUESTIONS, kit_model
from vae.run import RunState

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "kit"
MB = 1_000_000


def test_the_kit_command_trains_a_model_and_stores_the_command_that_made_it(tmp_path, capsys):
    assert cli.main(["kit", "--out", str(tmp_path), "--only", "beta-4", "--epochs", "2"]) == 0
    run = load_checkpoint(tmp_path / "beta-4.pt")
    assert run.config == kit_model("beta-4").config.replace(epochs=2) and run.config.beta == 4
    assert run.command == "python -m vae kit --only beta-4 --epochs 2"
    assert run.epoch == 2 and run.state is RunState.FINISHED and run.dataset["n_train"] == 4000
    assert "judged_acc" in run.epoch_metrics[-1]  # the shipped judge scored every epoch
    assert (tmp_path / "beta-4.pt").stat().st_size < MB
    out = capsys.readouterr().out
    assert "β 4: finished 2 epochs" in out and "1 kit model" in out
    # it never replaces a file unless asked
    assert cli.main(["kit", "--out", str(tmp_path), "--only", "beta-4", "--epochs", "1"]) == 2
    assert "exists already" in capsys.readouterr().err and load_checkpoint(tmp_path / "beta-4.pt").epoch == 2
    assert cli.main(["kit", "--out", str(tmp_path), "--only", "beta-4", "--epochs", "1", "--overwrite"]) == 0
    assert load_checkpoint(tmp_path / "beta-4.pt").epoch == 1


def test_an_unknown_kit_model_is_refused_before_any_training(tmp_path, capsys):
    assert cli.main(["kit", "--out", str(tmp_path), "--only", "beta-3"]) == 2
    err = capsys.readouterr().err
    assert "no kit model named 'beta-3'" in err and "beta-0.2" in err and not list(tmp_path.iterdir())


def test_a_kit_model_the_nan_guard_stops_is_kept_with_why(tmp_path, monkeypatch, mnist):
    """The learning-rate lesson is whatever really happens: a run that diverges is saved, failed, with why."""
    from vae.guard import NanGuard
    from vae.kit import train_kit_model

    real = NanGuard.flush
    calls = []

    def diverge_later(self, log):
        calls.append(1)
        return (len(calls) * 20, float("nan")) if len(calls) > 3 else real(self, log)  # in epoch 2

    monkeypatch.setattr(NanGuard, "flush", diverge_later)
    run, path, _ = train_kit_model(kit_model("lr-0.1"), mnist, tmp_path, epochs=3)
    saved = load_checkpoint(path)
    assert saved.state is RunState.FAILED and "The loss became nan" in saved.error
    assert saved.epoch < 3 and saved.command == "python -m vae kit --only lr-0.1 --epochs 3"


def test_the_shipped_kit_is_what_the_code_says_each_under_1_mb_all_under_8():
    sizes = []
    for model in KIT:
        path = SHIPPED / f"{model.name}.pt"
        run = load_checkpoint(path)
        assert run.config == model.config, model.name  # made by this code's kit, unchanged since
        assert run.command == model.command
        assert run.epoch == EPOCHS or run.state is RunState.FAILED
        assert len(run.film_epochs) <= LIGHT["film"] and len(run.sample_epochs) <= LIGHT["rows"]
        sizes.append(path.stat().st_size)
        assert sizes[-1] < MB, (model.name, sizes[-1])
    assert sum(sizes) < 8 * MB
    assert {name for q in QUESTIONS for name in q.models} <= {m.name for m in KIT}


@pytest.mark.parametrize("name", ["beta-0.2", "beta-1", "beta-4", "zdim-2", "plain", "lr-0.1"])
def test_each_kit_model_differs_from_the_reference_in_one_setting(name):
    reference = kit_model("beta-1").config.to_dict()
    changed = {k for k, v in kit_model(name).config.to_dict().items() if reference[k] != v}
    assert len(changed) == (0 if name == "beta-1" else 1), changed
