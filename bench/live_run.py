"""The Train page's default run, as the app trains it on the offline MNIST subset (no browser): its
time, and whether the digit picker works at the end.

Run: `.venv/bin/python -m bench.live_run [--epochs 150] [--seeds 42 1 2] [--overhead] [--plain]`. Each run
trains the preset as the Train page does offline (`vae.config.offline_recipe`: the KL weight from 3
down to beta over the run; `--plain`: the preset's own objective, as the tutorial trains) and goes
through `vae.lab.Lab` as the Train page's Start does: one torch thread (the app's `VAE_TORCH_THREADS`
default), an autosave after every epoch, the epoch's test evaluation, sample row, film frame, map
encodings and (with the repo's judge) its judged accuracy. It prints the wall time, the steps per
second, the test loss and classifier accuracy it ended with and its conditional accuracy (does it
draw the digit it is asked for: both judges of `vae.judge.judges_for` must say so, 5 z seeds x 200
images per digit; the CNN judge alone in brackets), per training seed and their spread.

The cost of the Train page's "draws the digit asked for" curve is measured twice: every run counts
the seconds spent inside the per-epoch judge (`vae.history.judged_accuracy`) as a share of its wall
time, and `--overhead` also times each run without that judge (the same seed, one after the other)
and prints the ratio (noisier: two runs on a shared machine differ by several per cent by chance).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.harness import ROOT
from vae import history
from vae.config import OFFLINE_EPOCHS, offline_recipe, preset
from vae.judge import judges_for
from vae.judging import conditional_accuracy
from vae.lab import Lab
from vae.run import RunState


class _Timed:
    """`vae.history.judged_accuracy`, counting the seconds spent in it (the per-epoch judge's cost,
    measured inside the run rather than as the difference of two noisy runs)."""

    def __init__(self) -> None:
        self.seconds, self.calls, self._real = 0.0, 0, history.judged_accuracy

    def __call__(self, *args, **kwargs) -> float:
        start = time.perf_counter()
        try:
            return self._real(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def live_run(name: str, epochs: int, seed: int, judge: bool = True, plain: bool = False) -> dict:
    timed = history.judged_accuracy = _Timed()
    try:
        return {
            **_live_run(name, epochs, seed, judge, plain),
            "judge_seconds": timed.seconds,
            "judge_calls": timed.calls,
        }
    finally:
        history.judged_accuracy = timed._real


def _live_run(name: str, epochs: int, seed: int, judge: bool, plain: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        if judge:  # the judges shipped beside the models: the Lab hands the trainer the CNN one
            shutil.copytree(ROOT / "checkpoints" / "judges", Path(tmp) / "checkpoints" / "judges")
        lab = Lab(f"{tmp}/checkpoints", f"{tmp}/data")  # an empty data folder: the offline subset
        start = time.perf_counter()
        config = preset(name).replace(seed=seed)
        trainer = lab.start(config.replace(epochs=epochs) if plain else offline_recipe(config, epochs))
        trainer.join()
        seconds = time.perf_counter() - start
        assert trainer.state is RunState.FINISHED, trainer.error
        last = trainer.view.epoch_metrics[-1]
        judged = conditional_accuracy(trainer.view.model, judges_for(trainer.dataset, ROOT / "checkpoints"))
        return {
            "seconds": seconds,
            "steps": trainer.step,
            "images": trainer.step * trainer.config.batch_size,
            "test_loss": last["test_loss"],
            "test_acc": last["test_acc"],
            "judged_curve": last.get("judged_acc"),
            "conditional": judged["overall"] if judged is not None else float("nan"),
            "conditional_cnn": judged["judges"]["cnn"]["overall"] if judged is not None else float("nan"),
            "source": trainer.dataset.source,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seed")
    parser.add_argument("--epochs", type=int, nargs="+", default=[OFFLINE_EPOCHS])
    parser.add_argument("--plain", action="store_true", help="the preset's own objective (no KL ramp)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="training seeds (42: the preset's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    parser.add_argument("--overhead", action="store_true", help="also time each run without the per-epoch judge")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for epochs in args.epochs:
        results, ratios = [], []
        for seed in args.seeds:
            r = live_run(args.preset, epochs, seed, plain=args.plain)
            results.append(r)
            curve = f", last judged point {r['judged_curve']:.0%}" if r["judged_curve"] is not None else ""
            if r["judge_calls"]:
                curve += (
                    f"; the per-epoch judge took {r['judge_seconds']:.2f} s in {r['judge_calls']} calls, "
                    f"{r['judge_seconds'] / r['seconds']:.1%} of the run"
                )
            print(
                f"{args.preset}{' (plain)' * args.plain} seed {seed}, {epochs:4d} epochs on {r['source']}: {r['seconds']:5.1f} s "
                f"({r['steps']:,} steps, {r['steps'] / r['seconds']:.0f} steps/s, {r['images']:,} images)  "
                f"test loss {r['test_loss']:.1f}, classifier {r['test_acc']:.1%}, conditional accuracy "
                f"{r['conditional']:.1%} (CNN judge alone {r['conditional_cnn']:.1%}){curve}",
                flush=True,
            )
            if args.overhead:
                bare = live_run(args.preset, epochs, seed, judge=False, plain=args.plain)
                ratios.append(r["seconds"] / bare["seconds"])
                print(f"    without the per-epoch judge: {bare['seconds']:5.1f} s (with / without: {ratios[-1]:.3f})")
        accs, secs = [r["conditional"] for r in results], [r["seconds"] for r in results]
        spread = f" (min {min(accs):.1%}, max {max(accs):.1%})" if len(accs) > 1 else ""
        print(
            f"=> {epochs} epochs, {len(accs)} seed(s): conditional accuracy mean {statistics.mean(accs):.1%}{spread}; "
            f"time mean {statistics.mean(secs):.1f} s"
            + (f"; the per-epoch judge costs x{statistics.mean(ratios):.3f} of the run's time" if ratios else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
