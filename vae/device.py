"""Where tensors live: a GPU when one is present (CUDA, or Apple's MPS), the CPU otherwise."""

from __future__ import annotations

import os

import torch

KINDS = ("cpu", "cuda", "mps")


def default_device() -> torch.device:
    """CUDA, then MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """`name` ("cpu", "cuda", "cuda:1", "mps"), else `$VAE_DEVICE`, else `default_device()`.

    Raises ValueError, naming where the value came from, for a device torch does not know or this
    machine does not have: a typo must not surface as a traceback from deep inside torch."""
    if isinstance(name, torch.device):
        return name
    said = f"device {name!r}" if name else f"VAE_DEVICE={os.environ.get('VAE_DEVICE')!r}"
    name = name or os.environ.get("VAE_DEVICE")
    if not name:
        return default_device()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{said} is not a device: use one of {', '.join(KINDS)}") from None
    if device.type not in KINDS:
        raise ValueError(f"{said} is not supported: use one of {', '.join(KINDS)}")
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"{said}: this machine has no such CUDA GPU (or torch was built without CUDA); use cpu")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"{said}: Apple's MPS is not available on this machine; use cpu")
    return device


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def to_cpu(obj: object) -> object:
    """Every tensor in nested dicts and lists (an optimizer's state) on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_cpu(v) for v in obj]
    return obj
