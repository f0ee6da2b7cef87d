"""Where tensors live: a GPU when one is present (CUDA, or Apple's MPS), the CPU otherwise."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """CUDA, then MPS, then CPU. `VAE_DEVICE=cpu` (or any torch device string) overrides."""
    forced = os.environ.get("VAE_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
