"""The second judge: the 10 nearest real training images, compared in a 50-dimensional PCA space.

A CNN and a nearest-neighbour vote fail in different ways: the CNN keys on local strokes and will
call a scribble a 2 if it has a 2's tail; the vote asks which real images the whole picture is
closest to. `vae.evaluate.conditional_accuracy` counts a generated image as right only when both
say the class asked for (why this pair, and not logistic regression or a "none of these" class:
`vae.judge.judges_for`).

Nothing is trained and nothing is saved: the judge is the dataset's training split itself, built
in 0.2 s for the offline MNIST subset and 1.5-2.5 s for Fashion-MNIST's 60,000 images on the
2-core build machine. Measured on the test splits (`bench/judge_choice.py`): 50 PCA dimensions
beat raw pixels (MNIST subset 94.4 % vs 91.7 %, Fashion-MNIST 85.7 % vs 85.1 %) and make the
distances 16 times cheaper.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vae.model import IMAGE_PIXELS, NUM_CLASSES

DIMS = 50
K = 10
CHUNK = 500


class KNNJudge(nn.Module):
    """k-nearest-neighbour vote in PCA space. Buffers only (no parameters): `.to(device)` moves it."""

    def __init__(
        self, mean: torch.Tensor, components: torch.Tensor, features: torch.Tensor, labels: torch.Tensor, k: int
    ) -> None:
        super().__init__()
        if not 1 <= k <= len(labels):
            raise ValueError(f"k must be 1..{len(labels)} (the training images), got {k}")
        self.k = k
        self.register_buffer("mean", mean)  # (784,)
        self.register_buffer("components", components)  # (784, dims)
        self.register_buffer("features", features)  # (N, dims): the training images, projected
        self.register_buffer("labels", labels)  # (N,)

    @classmethod
    def fit(cls, x: torch.Tensor, y: torch.Tensor, dims: int = DIMS, k: int = K) -> KNNJudge:
        """Build the judge from training images x (N, 784) in [0, 1] and labels y (N,)."""
        if x.ndim != 2 or x.shape[1] != IMAGE_PIXELS or len(x) != len(y) or len(x) == 0:
            raise ValueError(f"expected images (N >= 1, 784) and N labels, got {tuple(x.shape)} and {tuple(y.shape)}")
        if not 1 <= dims <= IMAGE_PIXELS:
            raise ValueError(f"dims must be 1..{IMAGE_PIXELS}, got {dims}")
        x = x.float()
        mean = x.mean(dim=0)  # (784,)
        centred = x - mean
        # The principal axes are the covariance's top eigenvectors; eigh (ascending order) in float64
        # is deterministic and exact enough for 784 x 784.
        _, vectors = torch.linalg.eigh((centred.T @ centred).double() / len(x))
        components = vectors[:, -dims:].flip(1).float().contiguous()  # (784, dims), largest variance first
        return cls(mean, components, centred @ components, y.long().clone(), k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 784) -> log of the vote fractions (B, 10): softmax gives the fractions back, argmax
        the class. A tie is broken by the nearer neighbours: the farthest are dropped until one
        class leads (with one neighbour left, one always does)."""
        # 500 rows at a time: the distances to 60,000 training images take 120 MB per chunk.
        return torch.cat([self._vote(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])

    def _vote(self, x: torch.Tensor) -> torch.Tensor:
        q = (x.float() - self.mean) @ self.components  # (B, dims)
        nearest = torch.cdist(q, self.features).topk(self.k, dim=1, largest=False).indices  # (B, k), nearest first
        votes = F.one_hot(self.labels[nearest], NUM_CLASSES).cumsum(dim=1)  # (B, k, 10): votes of the j+1 nearest
        top2 = votes.topk(2, dim=2).values  # (B, k, 2)
        leads = top2[..., 0] > top2[..., 1]  # (B, k): one class ahead when counting the j+1 nearest
        # The largest j at which one class leads (j = 0, a single neighbour, always does).
        j = (leads * torch.arange(1, self.k + 1, device=x.device)).argmax(dim=1)  # (B,)
        counted = votes[torch.arange(len(x), device=x.device), j]  # (B, 10)
        return (counted.float() / (j + 1).unsqueeze(1)).log()
