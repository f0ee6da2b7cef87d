import math
import os
import sys
import threading
import time

import numpy as np
import pytest
import torch

from tests.helpers import wait_until
from vae.checkpoint import load_checkpoint, save_checkpoint
from vae.config import preset
from vae.model import one_hot
from vae.run import RunState
from vae.trainer import Trainer
from vae.worker import BACKGROUND_NICENESS


def test_a_few_hundred_steps_lower_the_loss_and_learn_the_digits(mnist, device):
    trainer = Trainer(preset("seed").replace(epochs=8), mnist, device=device)  # 320 steps
    trainer.run()
    assert trainer.state is RunState.FINISHED, trainer.error
    view = trainer.view
    assert view.steps["loss"][-20:].mean() < 0.8 * view.steps["loss"][:20].mean()
    epochs = view.epoch_metrics
    assert len(epochs) == 8 and epochs[-1]["test_loss"] < epochs[0]["test_loss"]
    assert epochs[-1]["test_acc"] >= 0.85
    assert view.sample_rows.shape == (8, 10, 28, 28) and view.sample_epochs == tuple(range(1, 9))


def test_same_seed_same_weights(mnist, device):
    runs = []
    for _ in range(2):
        t = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
        t.run()
        runs.append(t.view.model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_resume_at_an_epoch_boundary_replays_exactly(mnist, device, tmp_path):
    config = preset("tiny").replace(epochs=2)
    whole = Trainer(config, mnist, device=device)
    whole.run()
    first = Trainer(config.replace(epochs=1), mnist, device=device)
    first.run()
    saved = load_checkpoint(save_checkpoint(tmp_path / "auto.pt", first.to_checkpoint()))
    second = Trainer(config, mnist, device=device, resume=saved)
    second.run()
    a, b = whole.view.model.state_dict(), second.view.model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [m["epoch"] for m in second.view.epoch_metrics] == [1, 2]
    assert second.step == whole.step


def test_a_recipe_run_with_warps_and_a_kl_ramp_resumes_exactly(mnist, device, tmp_path):
    # The warps are drawn per epoch from the run's seed, and the KL weight is a function of the step:
    # a run resumed at an epoch boundary ends with the same weights as one that never stopped.
    config = preset("tiny").replace(epochs=2, augment=0.5, elastic=2.0, kl_start=3.0, kl_ramp=2)
    whole = Trainer(config, mnist, device=device)
    whole.run()
    first = Trainer(config, mnist, device=device)
    first.add_callback("on_epoch_end", lambda t: t.stop())  # stopped after epoch 1 of 2, mid-ramp
    first.run()
    assert first.epoch == 1
    second = Trainer(
        config, mnist, device=device, resume=load_checkpoint(save_checkpoint(tmp_path / "a.pt", first.to_checkpoint()))
    )
    second.run()
    a, b = whole.view.model.state_dict(), second.view.model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    plain = Trainer(config.replace(augment=0.0, elastic=0.0, kl_start=1.0, kl_ramp=0), mnist, device=device)
    plain.run()
    assert not torch.allclose(plain.view.model.state_dict()["decoder.0.weight"], a["decoder.0.weight"])


def test_the_kl_weight_ramps_from_kl_start_to_beta(mnist, monkeypatch):
    import vae.trainer

    weights = []
    real_step = vae.trainer.train_step

    def spy(*args, **kwargs):
        weights.append(args[6])
        return real_step(*args, **kwargs)

    monkeypatch.setattr(vae.trainer, "train_step", spy)
    config = preset("tiny").replace(epochs=3, kl_start=3.0, kl_ramp=2, beta=0.5)
    t = Trainer(config, mnist)
    t.run()
    per_epoch = t.steps_per_epoch
    assert weights[0] == 3.0
    assert weights[per_epoch] == pytest.approx(3.0 + (0.5 - 3.0) / 2)  # half-way down after one of two epochs
    assert weights[2 * per_epoch :] == [0.5] * per_epoch  # beta after the ramp
    assert all(a > b for a, b in zip(weights[: 2 * per_epoch - 1], weights[1 : 2 * per_epoch], strict=True))


def test_a_run_resumes_only_with_its_own_model(mnist, tmp_path):
    """Training settings may change on resume; the model (network and objective) may not."""
    first = Trainer(preset("tiny").replace(epochs=1), mnist, device="cpu")
    first.run()
    saved = first.to_checkpoint()
    Trainer(saved.config.replace(epochs=3, learning_rate=3e-4, batch_size=50), mnist, resume=saved)  # fine
    with pytest.raises(ValueError, match="only resume with the model it was saved with"):
        Trainer(saved.config.replace(z_dim=3), mnist, resume=saved)


def test_a_model_trained_on_the_device_reloads_on_the_cpu_and_draws_the_same_digits(mnist, device, tmp_path):
    trainer = Trainer(preset("seed").replace(epochs=1), mnist, device=device)
    trainer.run()
    assert trainer.state is RunState.FINISHED, trainer.error
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
    assert np.abs(load_checkpoint(path).sample_rows - trainer.view.sample_rows).max() <= 0.5 / 255 + 1e-6


def test_pause_resume_stop_in_the_background(mnist, device):
    trainer = Trainer(preset("tiny").replace(epochs=50), mnist, device=device)
    trainer.start()
    assert wait_until(lambda: trainer.step > 5)
    trainer.pause()  # returns once the loop is parked: no step lands after it
    paused_at = trainer.step
    time.sleep(0.3)
    view = trainer.view
    assert trainer.state is RunState.PAUSED and trainer.step == paused_at
    assert view.state is RunState.PAUSED and view.step == paused_at  # published on parking
    live = {k: v.cpu() for k, v in trainer.model.state_dict().items()}  # paused: nothing touches it
    assert all(torch.equal(live[k], w) for k, w in view.model.state_dict().items())  # the weights it paused with
    assert not view.model.training and view.model is not trainer.model
    trainer.resume()
    assert trainer.view.state is RunState.RUNNING
    assert wait_until(lambda: trainer.step > paused_at + 5)
    trainer.stop()
    assert trainer.join(10) and trainer.state is RunState.STOPPED
    assert trainer.view.state is RunState.STOPPED and trainer.view.weights_version > view.weights_version


@pytest.mark.skipif(sys.platform != "linux", reason="threads have nice values of their own on Linux only")
def test_the_training_thread_yields_the_cpu_to_the_threads_that_serve_pages(mnist):
    """On two cores the page runs must not wait behind the training loop: its thread runs at a lower priority."""
    niceness = {}
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist)
    trainer.add_callback("on_epoch_end", lambda t: niceness.setdefault("loop", _thread_niceness()))
    trainer.start()
    assert trainer.join(60) and trainer.state is RunState.FINISHED
    here = _thread_niceness()
    assert niceness["loop"] == min(19, here + BACKGROUND_NICENESS)
    assert _thread_niceness() == here  # the thread that started it keeps its priority


def _thread_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_views_model_is_a_copy(mnist, device):
    trainer = Trainer(preset("tiny"), mnist, device=device)
    snap = trainer.view.model
    before = snap.decoder[0].weight.clone()
    trainer.model.decoder[0].weight.data.add_(1.0)
    assert torch.equal(snap.decoder[0].weight, before)


def test_nan_guard_stops_and_keeps_the_last_good_weights(mnist, device):
    trainer = Trainer(preset("seed").replace(learning_rate=10.0, epochs=5), mnist, device=device)
    trainer.run()
    assert trainer.state is RunState.FAILED and trainer.view.state is RunState.FAILED
    assert "loss became" in trainer.error and "learning rate" in trainer.error and trainer.view.error == trainer.error
    weights = trainer.view.model.state_dict()
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert math.isfinite(trainer.view.steps["loss"][-1])


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
    assert trainer.state is RunState.FAILED and "loss became" in trainer.error
    assert all(torch.isfinite(w).all() for w in trainer.view.model.state_dict().values())


def test_weights_stepped_to_inf_at_the_last_step_of_an_epoch_are_caught_there(mnist, device):
    """No later loss would show it: the epoch's end checks the weights themselves, before its test
    evaluation, sample row, published view and epoch-end callbacks (the autosave)."""
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
    ends = []
    trainer.add_callback("on_epoch_end", ends.append)
    _overflow_at(trainer, trainer.steps_per_epoch - 1)
    trainer.run()
    assert trainer.state is RunState.FAILED and "weights became NaN or infinite at epoch 1" in trainer.error
    assert all(torch.isfinite(w).all() for w in trainer.view.model.state_dict().values())
    assert trainer.epoch == 0 and trainer.view.epoch == 0 and not ends


def test_the_time_left_counts_the_end_of_each_epoch(mnist, device):
    """An epoch ends with a test evaluation (and whatever the owner does then): the estimate of the time
    left must count the epoch ends still to come, not only the steps."""
    trainer = Trainer(preset("tiny").replace(epochs=4), mnist, device=device)
    trainer.add_callback("on_epoch_end", lambda t: time.sleep(0.3))  # a slow end of epoch
    seen = []
    trainer.add_callback(
        "on_step_end", lambda t: seen.append(t.view.progress) if (t.epoch, t.step_in_epoch) == (2, 25) else None
    )
    trainer.run()
    assert seen[0].eta_seconds >= 2 * 0.3  # epochs 3 and 4 still end


def test_callbacks_and_progress(mnist, device):
    trainer = Trainer(preset("tiny").replace(epochs=1), mnist, device=device)
    seen = {"step": 0, "epoch": 0, "finish": 0}
    trainer.add_callback("on_step_end", lambda t: seen.__setitem__("step", seen["step"] + 1))
    trainer.add_callback("on_epoch_end", lambda t: seen.__setitem__("epoch", seen["epoch"] + 1))
    trainer.add_callback("on_finish", lambda t: seen.__setitem__("finish", seen["finish"] + 1))
    trainer.run()
    assert seen == {"step": trainer.steps_per_epoch, "epoch": 1, "finish": 1}
    view = trainer.view
    assert view.step == view.total_steps and view.state is RunState.FINISHED and view.epoch == 1
    assert view.progress.eta_seconds is None and view.progress.steps_per_sec == 0  # not running any more
    with pytest.raises(ValueError):
        trainer.add_callback("on_nothing", print)
    assert np.isfinite(view.steps["kl"]).all()


def test_step_log_grows_and_round_trips():
    from vae.steplog import StepLog

    log = StepLog(("step", "loss"), capacity=4)
    for i in range(1, 11):
        log.append([i, 100.0 / i])
    assert len(log) == 10 and list(log.column("step", 8)) == [9.0, 10.0]
    d = log.view()
    assert list(d["step"]) == list(range(1, 11))
    again = StepLog.from_dict(("step", "loss", "kl"), dict(d))
    assert len(again) == 10 and np.allclose(again.column("loss"), d["loss"])
    assert np.isnan(again.column("kl")).all()  # a column the saved log lacks


def test_a_published_log_never_changes_under_its_reader():
    """A view shares the log's memory: appending, and growing the buffer, must not change what it shows."""
    from vae.steplog import GrowingArray

    rows = GrowingArray((2,), capacity=2)
    rows.append([1, 2])
    seen = rows.view()
    for i in range(100):  # grows the buffer several times
        rows.append([i, i])
    assert seen.tolist() == [[1.0, 2.0]] and len(rows.view()) == 101
    with pytest.raises(ValueError):
        seen[0, 0] = 5  # read-only


def test_each_epoch_draws_the_same_styles_in_its_film_frame(mnist):
    """The film decodes fixed styles every epoch (a student sees the same digits sharpen), unlike the
    tutorial's rows, whose style is new each epoch; a resumed run goes on with the same styles."""
    from vae.history import FILM_STYLES

    trainer = Trainer(preset("tiny").replace(epochs=3), mnist, device="cpu")
    trainer.run()
    view = trainer.view
    assert view.film.shape == (3, FILM_STYLES, 10, 28, 28) and view.film.dtype == np.uint8
    assert view.film_epochs == (1, 2, 3)
    model = view.model  # the last epoch's weights draw the last frame from the run's fixed styles
    styles = trainer._history.styles
    with torch.no_grad():
        again = model.digit_row(styles).reshape(FILM_STYLES, 10, 28, 28).numpy()
    assert np.abs(again * 255 - view.film[-1]).max() <= 0.5 + 1e-3
    resumed = Trainer(preset("tiny").replace(epochs=4), mnist, device="cpu", resume=trainer.to_checkpoint())
    assert torch.equal(resumed._history.styles, styles)


def test_a_judge_scores_each_epoch_on_what_it_draws(mnist):
    """With a judge, each epoch records how often the digits it draws are the digits asked for."""
    from torch import nn

    class SaysThree(nn.Module):  # a judge that calls everything a 3: one class in ten is right
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float() + self.w

    trainer = Trainer(preset("tiny").replace(epochs=2), mnist, device="cpu", judge=SaysThree())
    trainer.run()
    assert [m["judged_acc"] for m in trainer.view.epoch_metrics] == pytest.approx([0.1, 0.1])
    unjudged = Trainer(preset("tiny").replace(epochs=2), mnist, device="cpu")
    unjudged.run()  # judging draws on no random stream of the run's: the same weights without it
    for name, weight in unjudged.model.state_dict().items():
        assert torch.equal(weight, trainer.model.state_dict()[name]), name
    plain = Trainer(preset("classic").replace(epochs=1), mnist, device="cpu", judge=SaysThree())
    plain.run()  # a plain VAE cannot be asked for a digit: nothing to judge
    assert "judged_acc" not in plain.view.epoch_metrics[-1]


def test_the_map_over_training_keeps_every_early_epoch_then_fewer():
    from vae.history import map_epoch

    kept = [e for e in range(1, 1001) if map_epoch(e, 1000)]
    assert kept[:16] == list(range(1, 17)) and kept[-1] == 1000 and len(kept) <= 70
    assert map_epoch(300, 300) and not map_epoch(299, 300)


def test_each_kept_epoch_stores_the_encodings_of_the_same_test_images(mnist):
    trainer = Trainer(preset("tiny").replace(epochs=3), mnist, device="cpu")
    trainer.run()
    view = trainer.view
    assert view.maps.shape == (3, len(mnist.test_y), 2) and view.map_epochs == (1, 2, 3)
    with torch.no_grad():
        mu, _ = view.model.encode(mnist.test_x)
    assert np.allclose(view.maps[-1], mu.numpy(), atol=2e-2)  # float16
