"""How much of the handwriting's slant and thickness (`vae.style`) the shipped models' z holds, and along
which axes of the latent map: what "colour by slant" shows a student.

Run: `.venv/bin/python -m bench.style_axes`. For each shipped model, over its test split: the correlation
of each measure with the map's two axes (z itself for z_dim 2, else the PCA plane), and the share of
the measure's variance a linear fit explains from all of z (R^2, 5-fold cross-validated), beside the
share the true label explains alone (a conditional model's z should hold the style, not the label).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score

from vae.checkpoint import load_checkpoint
from vae.data import load_dataset
from vae.projection import encode_means, pca_plane
from vae.style import slant, thickness

MODELS = (
    ("mnist", "checkpoints/seed-mnist.pt"),
    ("mnist", "checkpoints/seed2d-mnist.pt"),
    ("fashion-mnist", "checkpoints/seed-fashion-mnist.pt"),
)


def r2(x: np.ndarray, y: np.ndarray) -> float:
    folds = KFold(5, shuffle=True, random_state=0)  # shuffled: a test split may be sorted by label
    return float(cross_val_score(LinearRegression(), x, y, cv=folds, scoring="r2").mean())


def main() -> None:
    torch.set_num_threads(1)
    for dataset, path in MODELS:
        run = load_checkpoint(path)
        data = load_dataset(dataset, "data", download=False)
        x = data.test_x.numpy()
        mu = encode_means(run.model, data.test_x)
        xy = pca_plane(mu).to_map(mu)
        one_hot = np.eye(10)[data.test_y.numpy()]
        print(f"{path} (z_dim {mu.shape[1]}, {len(x):,} test images):")
        for name, values in (("slant", slant(x)), ("thickness", thickness(x))):
            ok = np.isfinite(values)
            corr = [np.corrcoef(values[ok], xy[ok, j])[0, 1] for j in range(2)]
            print(
                f"  {name:>9}: correlation with the map's axes {corr[0]:+.2f}, {corr[1]:+.2f}; "
                f"R^2 from z {r2(mu[ok], values[ok]):.2f}, from the label alone {r2(one_hot[ok], values[ok]):.2f}"
            )


if __name__ == "__main__":
    main()
