"""Seconds for the latent map's t-SNE (`vae.projection.tsne`) on the shipped models' map points.

Run: `.venv/bin/python -m bench.tsne_speed [--seeds 0 1 2] [--sklearn]`. For each shipped model with
z_dim > 2: its map's test images (`vae.history.map_points`: 2,000 of Fashion-MNIST's 10,000, all 1,000
of the offline MNIST subset) through the encoder, then t-SNE with each seed on one thread; prints wall
and CPU seconds (the machine is shared: the load average is printed beside them) and how often a
point's 10 nearest neighbours on the map share its label, against the same in z itself (a
neighbourhood check, not a score). `--sklearn` times scikit-learn's Barnes-Hut t-SNE, the map's
method before, on the same points once.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from vae.checkpoint import load_checkpoint
from vae.data import load_dataset
from vae.history import map_points
from vae.projection import encode_means, tsne

MODELS = (("mnist", "checkpoints/seed-mnist.pt"), ("fashion-mnist", "checkpoints/seed-fashion-mnist.pt"))


def same_label_neighbours(xy: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """The share of each point's k nearest neighbours that have its label."""
    from sklearn.neighbors import NearestNeighbors

    near = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
    return float((labels[near] == labels[:, None]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn's t-SNE once")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for dataset, path in MODELS:
        run = load_checkpoint(path)
        data = load_dataset(dataset, args.data_dir, download=False)
        index = map_points(len(data.test_y))
        mu = encode_means(run.model, data.test_x[torch.from_numpy(index)])
        labels = data.test_y.numpy()[index]
        print(
            f"{path}: {len(mu):,} points, z_dim {mu.shape[1]}; same-label 10-NN in z: {same_label_neighbours(mu, labels):.3f}"
        )
        with threadpool_limits(1):
            for seed in args.seeds:
                load = os.getloadavg()[0]
                wall, cpu = time.perf_counter(), time.process_time()
                xy = tsne(mu, seed=seed, perplexity=min(30.0, (len(mu) - 1) / 3))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(
                    f"  openTSNE seed {seed}: {wall:5.1f} s wall, {cpu:5.1f} s CPU (load {load:.1f}); "
                    f"same-label 10-NN on the map: {same_label_neighbours(xy, labels):.3f}"
                )
            if args.sklearn:
                from sklearn.manifold import TSNE

                load = os.getloadavg()[0]
                wall, cpu = time.perf_counter(), time.process_time()
                xy = TSNE(2, perplexity=30, init="pca", random_state=0).fit_transform(mu)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(
                    f"  scikit-learn (before): {wall:5.1f} s wall, {cpu:5.1f} s CPU (load {load:.1f}); "
                    f"same-label 10-NN on the map: {same_label_neighbours(xy, labels):.3f}"
                )


if __name__ == "__main__":
    main()
