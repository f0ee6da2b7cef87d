"""The lesson kit's scores as the Compare page shows them (the same test sample, `vae.compare.scores`),
with the spread over z seeds of the two numbers that depend on them.

    .venv/bin/python -m bench.kit_scores                # seeds 0-4
    .venv/bin/python -m bench.kit_scores --seeds 0 1 2

Seed 0 is what the page shows. ELBO and IWAE draw z at random too; the judged share ("asked-for") is
one draw of 30 images per class for each seed.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from vae import compare
from vae.checkpoint import load_checkpoint
from vae.data import mnist_subset
from vae.judge import judge_for
from vae.kit import KIT
from vae.knn_judge import KNNJudge

KIT_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "kit"


def spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = mnist_subset()
    judges = {"cnn": judge_for(dataset, "checkpoints"), "knn": KNNJudge.fit(dataset.train_x, dataset.train_y)}
    x, y = compare.test_sample(dataset)
    print(f"{len(x)} test images, IWAE k={compare.IWAE_K} on {compare.IWAE_IMAGES}, seeds {args.seeds}")
    print(
        f"{'model':<9} {'epochs':>6} {'ELBO':>15} {'IWAE':>15} {'KL':>6} {'unused':>6} {'class.':>6} {'asked-for':>13}"
    )
    for model in KIT:
        run = load_checkpoint(KIT_DIR / f"{model.name}.pt")
        runs = [compare.scores(run.model, x, y, judges, seed=s) for s in args.seeds]
        s = runs[0]
        judged = [100 * r["conditional"] for r in runs if r["conditional"] is not None]
        classifier = "-" if s["acc"] is None else f"{100 * s['acc']:.0f} %"
        asked = spread(judged, "{:.0f}") + " %" if judged else "-"
        print(
            f"{model.name:<9} {run.epoch:>6} {spread([r['elbo'] for r in runs], '{:.1f}'):>15} "
            f"{spread([r['iwae'] for r in runs], '{:.1f}'):>15} {s['kl']:>6.2f} {s['collapsed']:>3} of "
            f"{run.config.z_dim:<2} {classifier:>6} {asked:>13}" + (f"  stopped: {run.error}" if run.error else "")
        )


if __name__ == "__main__":
    main()
