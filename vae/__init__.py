"""VAE Explorer's library: the conditional VAE, its objective, data, trainer and checkpoints.

This package never imports streamlit; the app in `explorer_app.py` and `pages/` is a thin shell over it.
"""

from vae.config import PRESETS, Config, preset
from vae.model import ConditionalVAE, one_hot

__all__ = ["PRESETS", "Config", "ConditionalVAE", "one_hot", "preset"]
