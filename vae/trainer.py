"""The training loop, runnable in a background thread, reporting through callbacks and a metrics log.

Images live in one tensor on the device; each epoch slices batches from a seeded random
permutation (no per-item Dataset/DataLoader), which is about 10x faster for these small MLPs.
The owner may read metrics, progress and an eval-mode snapshot of the weights at any time from
another thread: the live model is only touched under `_lock`, and only by the training thread.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import torch

from vae import memory
from vae.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from vae.config import Config
from vae.data import Dataset
from vae.device import resolve_device
from vae.evaluate import evaluate_elbo
from vae.losses import vae_loss
from vae.model import NUM_CLASSES, ConditionalVAE, one_hot
from vae.steplog import StepLog

STEP_COLUMNS = ("step", "epoch", "loss", "recon", "kl", "class", "acc")
PARTS = ("loss", "recon", "kl", "class", "acc")
# Steps whose metrics wait on the device before one read brings them to the log, checked finite, and
# the weights are kept as the last good ones. Reading a value from a GPU waits for all the work
# queued before it: once per step, that wait cost more than the step itself (see BENCHMARKS.md).
GOOD_STATE_EVERY = 25


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good weights were restored."""


def _seeded(seed: int, epoch: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator for one (seed, epoch, stream): resuming at an epoch boundary replays exactly."""
    g = torch.Generator(device)
    g.manual_seed((seed * 1_000_003 + epoch) * 8 + stream)
    return g


class Trainer:
    """Trains one `ConditionalVAE` on one `Dataset`.

    States: idle -> running <-> paused -> finished | stopped | failed.
    Events for `add_callback`: "on_step_end", "on_epoch_end", "on_finish"; each callback gets the trainer.
    """

    def __init__(
        self,
        config: Config,
        dataset: Dataset,
        device: torch.device | str | None = None,
        resume: Checkpoint | None = None,
        autosave_path: str | None = None,
        command: str = "",
        freed_bytes: int = 0,
    ) -> None:
        """`freed_bytes`: memory that a run this one replaces gives back (the caller still holds that
        run, so the operating system does not count it free yet), for the check that the model fits."""
        self.config = config
        self.dataset = dataset
        self.device = resolve_device(device)
        memory.check_fits(config, len(dataset.train_y), self.device, freed_bytes)  # before allocating anything
        self.autosave_path = autosave_path
        self.command = command
        self.run_id = uuid.uuid4().hex[:8]
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
            torch.manual_seed(config.seed)
            self.model = ConditionalVAE(config)
        self.model.to(self.device)
        # fused: one kernel updates every parameter (the same Adam arithmetic; on 2 CPU cores a
        # `seed` step is 12 % faster, a `classic` step 28 %: bench/train_speed.py)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate, fused=True)
        self._train_x = dataset.train_x.to(self.device)
        self._train_y = dataset.train_y.to(self.device)
        self._test_x = dataset.test_x.to(self.device)
        self._test_y = dataset.test_y.to(self.device)

        self._lock = threading.Lock()  # guards the live weights, the metrics log and the state
        self._state_lock = threading.Lock()  # pause/resume against the run's end: no "paused" dead run
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._parked = threading.Event()  # set while the loop waits out a pause
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._callbacks: dict[str, list[Callable[[Trainer], None]]] = defaultdict(list)

        self.state = "idle"
        self.error: str | None = None
        self.autosave_error: str | None = None  # why the last autosave failed; None once one succeeds
        self.epoch = 0  # completed epochs
        self.step = 0  # optimizer steps so far
        self.step_in_epoch = 0
        self._version = 0  # bumped at every weight change; snapshots are cached per version
        self._snapshot: tuple[int, ConditionalVAE] | None = None
        self._epoch_snapshot: tuple[int, ConditionalVAE] | None = None
        self._steps = StepLog(STEP_COLUMNS)
        self._epochs: list[dict] = []
        self._rows: list[np.ndarray] = []  # per epoch (10, 28, 28)
        self._row_epochs: list[int] = []  # the epoch of each row (a slim checkpoint keeps only some)
        self._rate = 0.0  # steps/s, smoothed
        self._epoch_end_seconds = 0.0  # an epoch's test evaluation, sample row and autosave, smoothed
        self._epoch_first_row = 0  # index in the step log where the current epoch begins
        self._good_state = copy.deepcopy(self.model.state_dict())
        self._pending: list[tuple[int, torch.Tensor]] = []  # (step, its PARTS) still on the device
        if resume is not None:
            self._load(resume)
        self._epoch_snapshot = self.snapshot()

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self._train_y) / self.config.batch_size)

    # --- control, from any thread -------------------------------------------------------------
    def add_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        if event not in ("on_step_end", "on_epoch_end", "on_finish"):
            raise ValueError(f"unknown trainer event {event!r}")
        self._callbacks[event].append(fn)

    def start(self) -> None:
        """Train in a daemon thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("this trainer was already started; create a new one to train again")
        self.state = "running"
        self._thread = threading.Thread(target=self.run, name=f"vae-trainer-{self.run_id}", daemon=True)
        self._thread.start()

    def pause(self, timeout: float = 5.0) -> None:
        """Pause after the step in progress. Returns once the loop is parked (or `timeout` passed), so
        the step count and the weights read after a pause do not change until `resume`."""
        with self._state_lock:
            if self.state != "running":
                return
            self._running.clear()
            self.state = "paused"
        deadline = time.monotonic() + timeout
        while self.alive and not self._parked.wait(0.01) and time.monotonic() < deadline:
            pass

    def resume(self) -> None:
        with self._state_lock:
            if self.state == "paused":
                self.state = "running"
                self._running.set()

    def stop(self) -> None:
        """Ask the loop to stop after the current step (also when paused)."""
        self._stop.set()
        self._running.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        """Train to `config.epochs` in the calling thread (start() calls this in a thread)."""
        self.state = "running"
        try:
            self._loop()
            end, error = ("stopped" if self._stop.is_set() and self.epoch < self.config.epochs else "finished"), None
        except TrainingDiverged as exc:
            end, error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the owner, who shows it
            end, error = "failed", f"{type(exc).__name__}: {exc}"
        with self._state_lock:  # a pause or resume racing the end cannot overwrite it
            self.state, self.error = end, error
        self._emit("on_finish")

    def _loop(self) -> None:
        c = self.config
        n = len(self._train_y)
        last = time.perf_counter()
        while self.epoch < c.epochs and not self._stop.is_set():
            perm = torch.randperm(n, generator=_seeded(c.seed, self.epoch, 0)).to(self.device)
            eps_gen = _seeded(c.seed, self.epoch, 1, self.device)  # the reparameterization noise
            self.model.train()
            self._epoch_first_row = len(self._steps)
            self.step_in_epoch = 0
            for start in range(0, n, c.batch_size):
                if not self._running.is_set():
                    self._log_pending()
                    self._parked.set()
                    self._running.wait()
                    self._parked.clear()
                if self._stop.is_set():
                    self._log_pending()
                    return
                idx = perm[start : start + c.batch_size]
                x, y = self._train_x[idx], self._train_y[idx]  # (B, 784), (B,)
                parts = vae_loss(c, x, y, self.model(x, generator=eps_gen))
                self.optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()
                with self._lock:
                    self.optimizer.step()
                    self.step += 1
                    self.step_in_epoch += 1
                    self._version += 1
                self._pending.append((self.step, torch.stack([parts[p].detach() for p in PARTS])))
                if self.step % GOOD_STATE_EVERY == 0:
                    self._log_pending()
                    self._keep_good_state()
                now = time.perf_counter()
                self._rate = (
                    1.0 / max(now - last, 1e-6) if self._rate == 0 else 0.9 * self._rate + 0.1 / max(now - last, 1e-6)
                )
                last = now
                self._emit("on_step_end")
            self._log_pending()
            ended = time.perf_counter()
            self._end_epoch()
            last = time.perf_counter()  # evaluation time is not a training step, but the ETA counts it
            took = last - ended
            self._epoch_end_seconds = (
                took if not self._epoch_end_seconds else 0.7 * self._epoch_end_seconds + 0.3 * took
            )

    def _keep_good_state(self) -> None:
        """Copy the weights as the last good ones, which the NaN guard restores: called only after the
        losses so far were checked finite. A finite loss can still step the weights to inf: those are
        not kept."""
        if self._weights_finite():
            self._good_state = copy.deepcopy(self.model.state_dict())

    def _weights_finite(self) -> bool:
        return bool(torch.stack([torch.isfinite(w).all() for w in self.model.state_dict().values()]).all())

    def _log_pending(self) -> None:
        """Bring the metrics of the steps since the last call from the device (one wait), log them, and
        stop with TrainingDiverged at the first step whose loss is not finite."""
        if not self._pending:
            return
        steps = [step for step, _ in self._pending]
        values = torch.stack([v for _, v in self._pending]).cpu().tolist()  # (k, len(PARTS))
        self._pending.clear()
        bad = next((i for i, row in enumerate(values) if not math.isfinite(row[0])), None)
        with self._lock:
            for step, row in zip(steps[:bad], values[:bad], strict=True):
                self._steps.append([step, self.epoch + 1, *row])
            if bad is not None:
                self.step = steps[bad] - 1  # the last step whose loss was finite
        if bad is not None:
            self._diverged(f"The loss became {values[bad][0]}", steps[bad])

    def _end_epoch(self) -> None:
        if not self._weights_finite():  # a finite loss that stepped the weights to inf, with no step after it
            self._diverged("The weights became NaN or infinite", self.step)
        # Train metrics: the mean over this epoch's steps (training mode, weights changing as they go).
        with self._lock:
            train = {f"train_{p}": float(np.mean(self._steps.column(p, self._epoch_first_row))) for p in PARTS}
        test = evaluate_elbo(
            self.model, self._test_x, self._test_y, generator=_seeded(self.config.seed, self.epoch, 2, self.device)
        )
        row = self.sample_row(self.model, self.config, _seeded(self.config.seed, self.epoch, 3))
        with self._lock:
            self.epoch += 1
            self._epochs.append(
                {"epoch": self.epoch, "step": self.step, **train, **{f"test_{k}": float(v) for k, v in test.items()}}
            )
            self._rows.append(row)
            self._row_epochs.append(self.epoch)
            self._keep_good_state()
        self._epoch_snapshot = self.snapshot()
        if self.autosave_path:
            self._autosave()
        self._emit("on_epoch_end")

    def _autosave(self) -> None:
        """Save the run for a restart. A failure (a full disk, say) is reported, not fatal: the run
        in memory is fine, and stopping it would lose more than the autosave protects."""
        try:
            save_checkpoint(self.autosave_path, self.to_checkpoint())
        except CheckpointError as exc:
            self.autosave_error = f"Epoch {self.epoch} could not be autosaved: {exc}"
        else:
            self.autosave_error = None

    @staticmethod
    @torch.no_grad()
    def sample_row(model: ConditionalVAE, config: Config, generator: torch.Generator) -> np.ndarray:
        """The reference's per-epoch picture: one random style z decoded as each of the ten digits.

        Without a classifier there is no digit input: ten random z instead. Returns (10, 28, 28).
        """
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        if config.conditional:
            z = torch.randn(1, config.z_dim, generator=generator).repeat(NUM_CLASSES, 1)  # (10, z_dim)
            images = model.decode(z.to(device), one_hot(range(NUM_CLASSES), device))
        else:
            images = model.decode(torch.randn(NUM_CLASSES, config.z_dim, generator=generator).to(device))
        model.train(was_training)
        return images.reshape(NUM_CLASSES, 28, 28).cpu().numpy()

    def _diverged(self, what: str, step: int) -> None:
        with self._lock:
            self.model.load_state_dict(self._good_state)
            self._version += 1
        raise TrainingDiverged(
            f"{what} at epoch {self.epoch + 1}, step {step}: training stopped and the "
            f"last good weights were restored. Lower the learning rate (now {self.config.learning_rate:g}) and try again."
        )

    def _emit(self, event: str) -> None:
        for fn in self._callbacks[event]:
            fn(self)

    # --- reading, from any thread --------------------------------------------------------------
    def snapshot(self) -> tuple[int, ConditionalVAE]:
        """(version, an eval-mode CPU copy of the current weights). Never the live model."""
        with self._lock:
            if self._snapshot is not None and self._snapshot[0] == self._version:
                return self._snapshot
            version = self._version
            state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        model = ConditionalVAE(self.config)
        model.load_state_dict(state)
        self._snapshot = (version, model.eval().requires_grad_(False))
        return self._snapshot

    def shown_snapshot(self) -> tuple[int, ConditionalVAE]:
        """What to show while training runs: the weights at the end of the last epoch, so pictures
        change once per epoch; when not running (paused, stopped, ...) the current weights."""
        if self.state == "running" and self._epoch_snapshot is not None:
            return self._epoch_snapshot
        return self.snapshot()

    def step_metrics(self, columns: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Per-step metrics as float32 arrays: every column of STEP_COLUMNS, or `columns` only."""
        with self._lock:
            return self._steps.to_dict(columns)

    def epoch_metrics(self) -> list[dict]:
        with self._lock:
            return [dict(m) for m in self._epochs]

    def sample_epochs(self) -> list[int]:
        """The epoch of each row of `sample_rows()`."""
        with self._lock:
            return list(self._row_epochs)

    def sample_rows(self) -> np.ndarray:
        """(epochs, 10, 28, 28): one row per finished epoch."""
        with self._lock:
            return np.stack(self._rows) if self._rows else np.zeros((0, NUM_CLASSES, 28, 28), np.float32)

    def progress(self) -> dict:
        total = self.config.epochs * self.steps_per_epoch
        rate = self._rate if self.state == "running" else 0.0
        remaining = max(total - self.step, 0)
        return {
            "state": self.state,
            "epoch": min(self.epoch + (1 if self.state in ("running", "paused") else 0), self.config.epochs),
            "epochs": self.config.epochs,
            "step_in_epoch": self.step_in_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "step": self.step,
            "total_steps": total,
            "fraction": self.step / total if total else 0.0,
            "steps_per_sec": rate,
            # the steps left, and the end of each epoch left (its evaluation on every test image: a
            # large share of an epoch when, as offline, there are 4,000 training images to 1,000 test)
            "eta_seconds": remaining / rate + (self.config.epochs - self.epoch) * self._epoch_end_seconds
            if rate > 0
            else None,
            "error": self.error,
        }

    def to_checkpoint(self) -> Checkpoint:
        _, model = self.snapshot()
        with self._lock:
            opt_state = copy.deepcopy(self.optimizer.state_dict())
        return Checkpoint(
            config=self.config,
            model=model,
            epoch=self.epoch,
            step=self.step,
            epoch_metrics=self.epoch_metrics(),
            step_metrics=self.step_metrics(),
            sample_rows=self.sample_rows(),
            sample_epochs=self.sample_epochs(),
            dataset=self.dataset.summary(),
            command=self.command,
            optimizer_state=_to_cpu(opt_state),
        )

    def _load(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint: weights, optimizer, counters, metrics and sample rows."""
        self.model.load_state_dict(ckpt.model.state_dict())
        if ckpt.optimizer_state:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        self.epoch, self.step = ckpt.epoch, ckpt.step
        self._epochs = [dict(m) for m in ckpt.epoch_metrics]
        self._steps = StepLog.from_dict(STEP_COLUMNS, ckpt.step_metrics)
        self._rows = list(ckpt.sample_rows) if ckpt.sample_rows is not None else []
        self._row_epochs = ckpt.row_epochs()
        self._good_state = copy.deepcopy(self.model.state_dict())
        self._version += 1


def _to_cpu(obj: object) -> object:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj
