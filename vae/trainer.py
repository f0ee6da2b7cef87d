"""Training: one step as a function, and a loop that runs in a background thread and publishes views.

Images live in one tensor on the device; each epoch slices batches from a seeded random permutation
(no per-item Dataset/DataLoader), about 10x faster for these small MLPs. Only the training thread
touches the live model; everyone else reads `Trainer.view`, a `RunView` the loop replaces (one
reference swap) at each epoch end, every PUBLISH_EVERY s of steps and at each change of state.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from types import MappingProxyType

import torch
from torch import nn

from vae.augment import Warps, augment
from vae.config import Config
from vae.data import Dataset
from vae.device import resolve_device, to_cpu
from vae.guard import GOOD_STATE_EVERY, NanGuard, TrainingDiverged
from vae.history import BATCHES, NOISE, PARTS, WARPS, History, seeded
from vae.losses import vae_loss
from vae.model import ConditionalVAE
from vae.run import LIVE, Progress, RunState, RunView
from vae.schedule import kl_weight
from vae.worker import Worker

PUBLISH_EVERY = 0.25  # seconds between views that only bring progress and new steps


def train_step(
    model: ConditionalVAE,
    optimizer: torch.optim.Optimizer,
    config: Config,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator | None = None,
    kl_weight: float | None = None,
) -> dict[str, torch.Tensor]:
    """One step of Adam on the loss of a batch x (B, 784), y (B,), with the KL term weighted by `kl_weight`
    (default: config.beta); returns the loss's parts (on the device, not read: reading them waits for
    the device)."""
    parts = vae_loss(config, x, y, model(x, generator=generator), kl_weight)
    optimizer.zero_grad(set_to_none=True)
    parts["loss"].backward()
    optimizer.step()
    return parts


class Trainer(Worker):
    """Trains one `ConditionalVAE` on one `Dataset`, in the calling thread (`run`) or its own (`start`).

    Events for `add_callback`: "on_step_end", "on_epoch_end" (after that epoch's view is published),
    "on_finish"; each callback gets the trainer, in the training thread. A `judge` (vae.judge) adds
    to each epoch's metrics how often the digits it draws are the digits asked for.
    """

    def __init__(
        self,
        config: Config,
        dataset: Dataset,
        device: torch.device | str | None = None,
        resume: RunView | None = None,
        command: str = "",
        judge: nn.Module | None = None,
    ) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        super().__init__(name=f"vae-trainer-{self.run_id}")
        self.config, self.dataset, self.command = config, dataset, command
        self.device = resolve_device(device)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
            torch.manual_seed(config.seed)
            self.model = ConditionalVAE(config).to(self.device)
        # fused: one kernel updates every parameter (the same Adam arithmetic; on 2 CPU cores a
        # `seed` step is 12 % faster, a `classic` step 28 %: bench/train_speed.py)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate, fused=True)
        self._data = [t.to(self.device) for t in (dataset.train_x, dataset.train_y, dataset.test_x, dataset.test_y)]
        self._judge = judge.to(self.device) if judge is not None else None
        self._warps = Warps(elastic=config.elastic)
        self._callbacks: dict[str, list[Callable[[Trainer], None]]] = defaultdict(list)
        self.error: str | None = None
        self.epoch = self.step = self.step_in_epoch = 0  # finished epochs, optimizer steps, steps this epoch
        self._rate = 0.0  # steps/s, smoothed
        self._epoch_end_seconds = 0.0  # an epoch's test evaluation and sample row, smoothed
        if resume is not None:
            self._load(resume)
        self._history = History(config, resume)
        self._guard = NanGuard(self.model)
        self._optimizer_state: dict | None = None
        self._view = RunView(config, self.model.cpu_copy(), label=LIVE, run_id=f"live-{self.run_id}", live=True)
        self._publish(weights=True)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.dataset.train_y) / self.config.batch_size)

    @property
    def view(self) -> RunView:
        """The run as last published: read it from any thread, as often as you like."""
        return self._view

    def add_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        if event not in ("on_step_end", "on_epoch_end", "on_finish"):
            raise ValueError(f"unknown trainer event {event!r}")
        self._callbacks[event].append(fn)

    # --- the loop, in the training thread ------------------------------------------------------
    def run(self) -> None:
        """Train to `config.epochs` in the calling thread (start() calls this in a thread)."""
        self._set_state(RunState.RUNNING)
        try:
            self._loop()
            stopped = self.stopping and self.epoch < self.config.epochs
            end, self.error = (RunState.STOPPED if stopped else RunState.FINISHED), None
        except KeyboardInterrupt:  # Ctrl-C on `python -m vae train`: a stop
            end, self.error = RunState.STOPPED, None
        except TrainingDiverged as exc:
            end, self.error = RunState.FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the owner, who shows it
            end, self.error = RunState.FAILED, f"{type(exc).__name__}: {exc}"
        self._set_state(end, weights=True)  # the weights it ended with (a pause racing the end cannot win)
        self._emit("on_finish")

    def _loop(self) -> None:
        c = self.config
        train_x, train_y, test_x, test_y = self._data
        n = len(train_y)
        last = published = time.perf_counter()
        while self.epoch < c.epochs and not self.stopping:
            perm = torch.randperm(n, generator=seeded(c.seed, self.epoch, BATCHES)).to(self.device)
            eps_gen = seeded(c.seed, self.epoch, NOISE, self.device)  # the reparameterization noise
            warp_gen = seeded(c.seed, self.epoch, WARPS, self.device)  # the warps of the images (c.augment)
            self.model.train()
            first_row, self.step_in_epoch = len(self._history.steps), 0
            for start in range(0, n, c.batch_size):
                if self._checkpoint():
                    self._log_pending()
                    return
                idx = perm[start : start + c.batch_size]
                x = augment(train_x[idx], warp_gen, self._warps, c.augment) if c.augment > 0 else train_x[idx]
                weight = kl_weight(self.step, c.kl_ramp * self.steps_per_epoch, c.kl_start, c.beta)
                parts = train_step(self.model, self.optimizer, c, x, train_y[idx], eps_gen, weight)
                self.step += 1
                self.step_in_epoch += 1
                self._guard.push(self.step, torch.stack([parts[p] for p in PARTS]))
                now = time.perf_counter()
                rate = 1 / max(now - last, 1e-6)
                self._rate, last = (0.9 * self._rate + 0.1 * rate if self._rate else rate), now
                if self.step % GOOD_STATE_EVERY == 0:
                    self._log_pending()
                    self._guard.keep()
                    if now - published >= PUBLISH_EVERY:
                        self._publish(weights=False)
                        published = now
                self._emit("on_step_end")
            self._log_pending()
            ended = time.perf_counter()
            self._end_epoch(first_row, test_x, test_y)
            self._emit("on_epoch_end")  # the owner's work (an autosave, say) is part of the epoch's end
            last = published = time.perf_counter()  # not a training step, but the ETA counts it
            took, smoothed = last - ended, self._epoch_end_seconds
            self._epoch_end_seconds = 0.7 * smoothed + 0.3 * took if smoothed else took

    def _on_park(self) -> None:
        """Before waiting out a pause: log the steps so far and publish the weights it paused with."""
        self._log_pending()
        self._publish(weights=True)

    def _log_pending(self) -> None:
        """Log the steps the NaN guard holds; stop with TrainingDiverged at a loss that is not finite."""
        bad = self._guard.flush(lambda step, parts: self._history.log_step(step, self.epoch + 1, parts))
        if bad is not None:
            self.step = bad[0] - 1  # the last step whose loss was finite
            self._diverged(f"The loss became {bad[1]}", bad[0])

    def _end_epoch(self, first_row: int, test_x: torch.Tensor, test_y: torch.Tensor) -> None:
        """Record the epoch (its tests and pictures) and publish it with a copy of the weights."""
        if not self._guard.weights_finite():  # a finite loss that stepped the weights to inf, no step after it
            self._diverged("The weights became NaN or infinite", self.step)
        self._history.end_epoch(self.model, self.epoch + 1, self.step, first_row, (test_x, test_y), self._judge)
        self.epoch += 1
        self._guard.keep()
        self._publish(weights=True)

    def _diverged(self, what: str, step: int) -> None:
        self._guard.restore()
        raise TrainingDiverged(
            f"{what} at epoch {self.epoch + 1}, step {step}: training stopped and the last good weights were "
            f"restored. Lower the learning rate (now {self.config.learning_rate:g}) and try again."
        )

    def _emit(self, event: str) -> None:
        for fn in self._callbacks[event]:
            fn(self)

    def _changed(self, weights: bool) -> None:  # the Worker's state changed
        self._publish(weights)

    def _publish(self, weights: bool) -> None:
        """Replace the view: progress and logs always, a copy of the weights (and the optimizer's state
        that goes with them) when `weights`: only the training thread, or before it starts, may ask."""
        model = self.model.cpu_copy() if weights else None
        if weights:  # the old copy goes first: two at once would be two more copies of the weights in memory
            self._optimizer_state = None
            self._optimizer_state = to_cpu(copy.deepcopy(self.optimizer.state_dict()))
        with self._lock:
            old, rate = self._view, self._rate if self.state is RunState.RUNNING else 0.0
            left = self.config.epochs * self.steps_per_epoch - self.step
            # the steps left, and the end of each epoch left (its evaluation on every test image: a
            # large share of an epoch when, as offline, there are 4,000 training images to 1,000 test)
            eta = left / rate + (self.config.epochs - self.epoch) * self._epoch_end_seconds if rate > 0 else None
            self._view = old.but(
                model=model or old.model,
                weights_version=old.weights_version + weights,
                version=old.version + 1,
                state=self.state,
                epoch=self.epoch,
                step=self.step,
                **self._history.fields(),
                dataset=MappingProxyType(self.dataset.summary()),
                progress=Progress(self.step_in_epoch, self.steps_per_epoch, rate, eta),
                error=self.error,
                command=self.command,
            )

    def to_checkpoint(self) -> RunView:
        """The view to save: the latest published one, with the optimizer's state that goes with its
        weights (both taken together by the training thread), so a resumed run goes on exactly."""
        with self._lock:
            return self._view.but(optimizer_state=self._optimizer_state)

    def _load(self, run: RunView) -> None:
        """Continue from a saved run: weights, optimizer, counters, metrics and sample rows."""
        if run.config.model != self.config.model:
            raise ValueError("a run can only resume with the model it was saved with: change only training settings")
        self.model.load_state_dict(run.model.state_dict())
        if run.optimizer_state:
            self.optimizer.load_state_dict(run.optimizer_state)
        self.epoch, self.step = run.epoch, run.step
        self.command = self.command or run.command
