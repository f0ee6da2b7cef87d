"""Typed configs for the model and its training, with named presets.

`ModelConfig` is the network and its objective (what a checkpoint's weights fit), `TrainConfig` how it
is trained; `Config` is both, flat. The CLI, the app and every checkpoint use it: a checkpoint stores
`Config.to_dict()` and is rebuilt with `Config.from_dict()`, which validates every field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

ACTIVATIONS = ("sigmoid", "relu", "tanh", "elu", "leaky_relu", "gelu")
LIKELIHOODS = ("gaussian", "bernoulli")
DATASETS = ("mnist", "fashion-mnist")
MAX_HIDDEN = 4096


@dataclass(frozen=True)
class ModelConfig:
    """The model: its network and the objective it is trained on. A checkpoint's weights fit only this,
    so resuming a run can never change it (nanoGPT keeps its `model_args` apart the same way).
    Defaults are the `seed` preset's."""

    z_dim: int = 10
    """Size of the latent vector z (1..64)."""
    encoder_layers: tuple[int, ...] = (128,)
    """Hidden layer widths of the encoder MLP, image -> (mu, var)."""
    decoder_layers: tuple[int, ...] = (128,)
    """Hidden layer widths of the decoder MLP, (z, digit) -> image."""
    classifier_layers: tuple[int, ...] = (128,)
    """Hidden layer widths of the digit classifier MLP, image -> 10 logits."""
    activation: str = "sigmoid"
    """Hidden-layer activation of all three MLPs."""
    likelihood: str = "gaussian"
    """p(x|z): 'gaussian' with std `decoder_std`, or 'bernoulli'."""
    decoder_std: float = 0.5
    """The fixed sigma of the Gaussian likelihood N(f(z), sigma^2 I)."""
    beta: float = 1.0
    """Weight of the KL term (1.0 is the plain ELBO)."""
    classification_weight: float = 10.0
    """Weight of the digit classifier's cross-entropy; 0 turns the classifier off."""

    def __post_init__(self) -> None:
        for name in LAYER_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        validate(self)

    @property
    def conditional(self) -> bool:
        """True when a digit classifier feeds its softmax to the decoder."""
        return self.classification_weight > 0


@dataclass(frozen=True)
class TrainConfig:
    """How the model is trained: the data, the optimiser and the length of the run. A resumed run
    may change any of these."""

    learning_rate: float = 1e-3
    batch_size: int = 100
    epochs: int = 20
    seed: int = 42
    dataset: str = "mnist"
    """Training data: 'mnist' or 'fashion-mnist'."""
    augment: float = 0.0
    """Strength of the random warps of each training image (vae.augment: at 1, rotation up to 10 degrees,
    zoom 10 %, shift 2 px); 0: the images as they are."""
    elastic: float = 0.0
    """Elastic distortion of the warps in pixels at strength 1 (vae.augment.Warps.elastic); needs augment > 0."""
    kl_start: float = 1.0
    """The KL term's weight at the first step, going linearly to `beta` over `kl_ramp` epochs."""
    kl_ramp: int = 0
    """Epochs of that ramp; 0: the KL weight is `beta` throughout (the reference objective)."""

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class Config(TrainConfig, ModelConfig):
    """A run's whole config: every field of `ModelConfig` and of `TrainConfig`, flat (the CLI, the
    form and the checkpoint file all use the flat names). `model` and `training` give the two parts."""

    def __post_init__(self) -> None:
        ModelConfig.__post_init__(self)  # lists to tuples, then both parts' checks

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(**{name: getattr(self, name) for name in MODEL_FIELDS})

    @property
    def training(self) -> TrainConfig:
        return TrainConfig(**{name: getattr(self, name) for name in TRAIN_FIELDS})

    @classmethod
    def of(cls, model: ModelConfig, training: TrainConfig) -> Config:
        """The run config of a model config and a training config."""
        return cls(**_fields(model), **_fields(training))

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for name in LAYER_FIELDS:
            d[name] = list(d[name])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        if not isinstance(d, dict):
            raise ValueError(f"config must be a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(MODEL_FIELDS) - set(TRAIN_FIELDS))
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**d)


LAYER_FIELDS = ("encoder_layers", "decoder_layers", "classifier_layers")
MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _fields(obj: object) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be {lo}..{hi}, got {value}")


def _check_float(name: str, value: object, lo: float, hi: float, lo_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (value <= lo if lo_open else value < lo) or value > hi:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be in {bracket}{lo:g}, {hi:g}], got {value:g}")


def _check_layers(name: str, value: object) -> None:
    if not isinstance(value, tuple) or len(value) > 8:
        raise ValueError(f"{name} must be a list of 0..8 layer widths, got {value!r}")
    for width in value:
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_HIDDEN:
            raise ValueError(f"{name} widths must be integers 1..{MAX_HIDDEN}, got {value!r}")


def validate(c: ModelConfig | TrainConfig) -> None:
    """Raise ValueError with a readable message for the first invalid field (a Config has both parts)."""
    if isinstance(c, ModelConfig):
        _validate_model(c)
    if isinstance(c, TrainConfig):
        _validate_training(c)


def _validate_model(c: ModelConfig) -> None:
    _check_int("z_dim", c.z_dim, 1, 64)
    for name in LAYER_FIELDS:
        _check_layers(name, getattr(c, name))
    if c.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {c.activation!r}")
    if c.likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {c.likelihood!r}")
    _check_float("decoder_std", c.decoder_std, 0.0, 10.0, lo_open=True)
    _check_float("beta", c.beta, 0.0, 100.0)
    _check_float("classification_weight", c.classification_weight, 0.0, 1000.0)


def _validate_training(c: TrainConfig) -> None:
    _check_float("learning_rate", c.learning_rate, 0.0, 10.0, lo_open=True)
    _check_int("batch_size", c.batch_size, 1, 60000)
    _check_int("epochs", c.epochs, 1, 1000)
    _check_int("seed", c.seed, 0, 2**31 - 1)
    if c.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {c.dataset!r}")
    _check_float("augment", c.augment, 0.0, 2.0)
    _check_float("elastic", c.elastic, 0.0, 8.0)
    _check_float("kl_start", c.kl_start, 0.0, 100.0)
    _check_int("kl_ramp", c.kl_ramp, 0, 1000)
    if c.kl_ramp > c.epochs:
        raise ValueError(
            f"kl_ramp ({c.kl_ramp} epochs) is longer than the run ({c.epochs} epochs): the KL weight would never "
            f"reach beta. Make it at most {c.epochs}, or 0 for beta from the start."
        )


PRESETS: dict[str, Config] = {
    # The tutorial's reference model: sigmoid MLPs of 128, Gaussian likelihood (sigma 0.5),
    # z_dim 10, classifier weight 10, Adam 1e-3, batch 100, 20 epochs, seed 42.
    "seed": Config(),
    # The common PyTorch reference VAE (pytorch/examples vae/main.py): 784-400-20 ReLU,
    # Bernoulli likelihood, no classifier, batch 128.
    "classic": Config(
        z_dim=20,
        encoder_layers=(400,),
        decoder_layers=(400,),
        classifier_layers=(),
        activation="relu",
        likelihood="bernoulli",
        classification_weight=0.0,
        batch_size=128,
        epochs=10,
        seed=1,
    ),
    # Small and quick, for tests and for a first look in the app.
    "tiny": Config(
        z_dim=2,
        encoder_layers=(64,),
        decoder_layers=(64,),
        classifier_layers=(32,),
        activation="relu",
        batch_size=100,
        epochs=2,
        seed=0,
    ),
}


# One line per preset, for the app's preset picker and `python -m vae info`.
PRESET_NOTES = {
    "seed": "the tutorial's model: sigmoid MLPs of 128, z_dim 10, 20 epochs",
    "classic": "PyTorch's example VAE: ReLU 400, Bernoulli pixels, no classifier",
    "tiny": "z_dim 2, small layers: trains in seconds",
}


# The Train page's default run of `seed` on the 4,000-digit offline subset: OFFLINE_EPOCHS passes (fewer
# images than the tutorial's 20 epochs of 60,000 show), with the KL weight starting at OFFLINE_KL_START and
# easing down to beta over the whole run. A heavier KL term early makes the decoder lean on the digit
# input rather than on z, so the digit picker works within a minute on two cores (bench/live_run.py,
# BENCHMARKS.md "A live run on the offline subset"); at the end the objective is the tutorial's own.
OFFLINE_EPOCHS = 150
OFFLINE_KL_START = 3.0


def offline_recipe(config: Config, epochs: int = OFFLINE_EPOCHS) -> Config:
    """`config` as the Train page runs it on the offline subset: `epochs` passes, KL weight from
    OFFLINE_KL_START down to beta over all of them."""
    return config.replace(epochs=epochs, kl_start=OFFLINE_KL_START, kl_ramp=epochs)


def preset(name: str) -> Config:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "LIKELIHOODS",
    "PRESETS",
    "PRESET_NOTES",
    "Config",
    "ModelConfig",
    "TrainConfig",
    "offline_recipe",
    "preset",
    "validate",
]
