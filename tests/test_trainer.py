import math
import time

import numpy as np
import pytest
import torch

from tests.helpers import wait_until
from vae.checkpoint import load_checkpoint, save_checkpoint
from vae.config import preset
from vae.model import one_hot
from vae.trainer import Trainer


def test_a_few_hundred_steps_lower_the_loss_and_learn_the_digits(mnist, device):
    trainer = Trainer(preset("seed").replace(epochs=8), mnist, device=device)  # 320 steps
    trainer.run()
    assert trainer.state == "finished", trainer.error
    steps = trainer.step_metrics()
    assert steps["loss"][-20:].mean() < 0.8 * steps["loss"][:20].mean()
    epochs = trainer.epoch_metrics()
    assert len(epochs) == 8 and epochs[-1]["test_loss"] < epochs[0]["test_loss"]
    assert epochs[-1]["test_acc"] >= 0.85
    assert trainer.sample_rows().shape == (8, 10, 28, 28)


def test_same_seed_same_weights(mnist, device):
    runs = []
    for _ in range(2):
        t = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
        t.run()
        runs.append(t.snapshot()[1].state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_resume_at_an_epoch_boundary_replays_exactly(mnist, device, tmp_path):
    config = preset("tiny").replace(epochs=2)
    whole = Trainer(config, mnist, device=device)
    whole.run()
    first = Trainer(config.replace(epochs=1), mnist, device=device, autosave_path=str(tmp_path / "auto.pt"))
    first.run()
    ckpt = load_checkpoint(tmp_path / "auto.pt")
    second = Trainer(config, mnist, device=device, resume=ckpt)
    second.run()
    a, b = whole.snapshot()[1].state_dict(), second.snapshot()[1].state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [m["epoch"] for m in second.epoch_metrics()] == [1, 2]
    assert second.step == whole.step


def test_a_model_trained_on_the_device_reloads_on_the_cpu_and_draws_the_same_digits(mnist, device, tmp_path):
    trainer = Trainer(preset("seed").replace(epochs=1), mnist, device=device)
    trainer.run()
    assert trainer.state == "finished", trainer.error
    path = save_checkpoint(tmp_path / "on-device.pt", trainer.to_checkpoint())
    model = load_checkpoint(path).model
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    z = torch.randn(10, model.config.z_dim, generator=torch.Generator().manual_seed(0))
    digits = one_hot(range(10), "cpu")
    live = trainer.model.eval()  # finished: nothing else touches it now
    assert next(live.parameters()).device.type == torch.device(device).type
    with torch.no_grad():
        here = model.decode(z, digits)
        there = live.decode(z.to(trainer.device), digits.to(trainer.device)).cpu()
    assert torch.allclose(here, there, atol=1e-5)
    assert np.abs(load_checkpoint(path).sample_rows - trainer.sample_rows()).max() <= 0.5 / 255 + 1e-6


def test_pause_resume_stop_in_the_background(mnist, device):
    trainer = Trainer(preset("tiny").replace(epochs=50), mnist, device=device)
    trainer.start()
    assert wait_until(lambda: trainer.step > 5)
    trainer.pause()  # returns once the loop is parked: no step lands after it
    paused_at = trainer.step
    time.sleep(0.3)
    assert trainer.state == "paused" and trainer.step == paused_at
    version, snap = trainer.snapshot()
    assert not snap.training and snap is not trainer.model
    trainer.resume()
    assert wait_until(lambda: trainer.step > paused_at + 5)
    trainer.stop()
    assert trainer.join(10) and trainer.state == "stopped"
    assert trainer.snapshot()[0] > version


def test_snapshot_is_a_copy(mnist, device):
    trainer = Trainer(preset("tiny"), mnist, device=device)
    _, snap = trainer.snapshot()
    before = snap.decoder[0].weight.clone()
    trainer.model.decoder[0].weight.data.add_(1.0)
    assert torch.equal(snap.decoder[0].weight, before)


def test_nan_guard_stops_and_keeps_the_last_good_weights(mnist, device):
    trainer = Trainer(preset("seed").replace(learning_rate=10.0, epochs=5), mnist, device=device)
    trainer.run()
    assert trainer.state == "failed"
    assert "loss became" in trainer.error and "learning rate" in trainer.error
    weights = trainer.snapshot()[1].state_dict()
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert math.isfinite(trainer.step_metrics()["loss"][-1])


def _overflow_at(trainer: Trainer, update: int) -> None:
    """Make the trainer's `update`-th optimizer step (counting from 0) set one weight to inf, though
    the loss that led to it was finite."""
    step = trainer.optimizer.step

    def poisoned_step(*args, **kwargs):
        out = step(*args, **kwargs)
        if trainer.step == update:  # trainer.step counts the updates before this one
            trainer.model.decoder[0].weight.data[0, 0] = math.inf
        return out

    trainer.optimizer.step = poisoned_step


def test_weights_stepped_to_inf_by_a_finite_loss_are_never_kept_as_good(mnist, device):
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
    _overflow_at(trainer, 24)  # the 25th update: the good weights are kept right after it
    trainer.run()
    assert trainer.state == "failed" and "loss became" in trainer.error
    assert all(torch.isfinite(w).all() for w in trainer.snapshot()[1].state_dict().values())


def test_weights_stepped_to_inf_at_the_last_step_of_an_epoch_are_caught_there(mnist, device, tmp_path):
    """No later loss would show it: the epoch's end checks the weights themselves, before its test
    evaluation, sample row, snapshot and autosave."""
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist, device=device, autosave_path=str(tmp_path / "a.pt"))
    _overflow_at(trainer, trainer.steps_per_epoch - 1)
    trainer.run()
    assert trainer.state == "failed" and "weights became NaN or infinite at epoch 1" in trainer.error
    assert all(torch.isfinite(w).all() for w in trainer.snapshot()[1].state_dict().values())
    assert trainer.epoch == 0 and not (tmp_path / "a.pt").exists()


def test_an_autosave_that_cannot_be_written_is_reported_and_the_run_goes_on(mnist, device, tmp_path):
    """A full disk or a broken folder must not end the run everyone is watching: the weights in memory
    are fine. The trainer says why, and clears it once an autosave succeeds again."""
    blocker = tmp_path / "autosave"
    blocker.write_text("a file where the autosave folder should be")
    trainer = Trainer(preset("tiny").replace(epochs=2), mnist, device=device, autosave_path=str(blocker / "a.pt"))
    seen = []

    def after_epoch(t: Trainer) -> None:
        seen.append(t.autosave_error)
        blocker.unlink()  # fixed: the next epoch's autosave can make its folder

    trainer.add_callback("on_epoch_end", lambda t: after_epoch(t) if t.epoch == 1 else None)
    trainer.run()
    assert trainer.state == "finished" and trainer.epoch == 2
    assert (
        seen[0].startswith("Epoch 1 could not be autosaved: Could not write") and "is a file, not a folder" in seen[0]
    )
    assert trainer.autosave_error is None and load_checkpoint(blocker / "a.pt").epoch == 2


def test_the_time_left_counts_the_end_of_each_epoch(mnist, device):
    """An epoch ends with a test evaluation (and whatever the owner does then): the estimate of the time
    left must count the epoch ends still to come, not only the steps."""
    trainer = Trainer(preset("tiny").replace(epochs=4), mnist, device=device)
    trainer.add_callback("on_epoch_end", lambda t: time.sleep(0.3))  # a slow end of epoch
    seen = []
    trainer.add_callback(
        "on_step_end", lambda t: seen.append(t.progress()) if (t.epoch, t.step_in_epoch) == (2, 1) else None
    )
    trainer.run()
    assert seen[0]["eta_seconds"] >= 2 * 0.3  # epochs 3 and 4 still end


def test_callbacks_and_progress(mnist, device):
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
    seen = {"step": 0, "epoch": 0, "finish": 0}
    trainer.add_callback("on_step_end", lambda t: seen.__setitem__("step", seen["step"] + 1))
    trainer.add_callback("on_epoch_end", lambda t: seen.__setitem__("epoch", seen["epoch"] + 1))
    trainer.add_callback("on_finish", lambda t: seen.__setitem__("finish", seen["finish"] + 1))
    trainer.run()
    assert seen == {"step": trainer.steps_per_epoch, "epoch": 1, "finish": 1}
    p = trainer.progress()
    assert p["fraction"] == 1.0 and p["state"] == "finished" and p["epoch"] == 1
    with pytest.raises(ValueError):
        trainer.add_callback("on_nothing", print)
    assert np.isfinite(trainer.step_metrics()["kl"]).all()


def test_step_log_grows_and_round_trips():
    from vae.steplog import StepLog

    log = StepLog(("step", "loss"), capacity=4)
    for i in range(1, 11):
        log.append([i, 100.0 / i])
    assert len(log) == 10 and list(log.column("step", 8)) == [9.0, 10.0]
    d = log.to_dict()
    assert d["step"].dtype == np.float32 and list(d["step"]) == list(range(1, 11))
    again = StepLog.from_dict(("step", "loss", "kl"), d)
    assert len(again) == 10 and np.allclose(again.column("loss"), d["loss"])
    assert np.isnan(again.column("kl")).all()  # a column the saved log lacks
    assert list(log.to_dict(("loss",))) == ["loss"] and np.array_equal(log.to_dict(("loss",))["loss"], d["loss"])
