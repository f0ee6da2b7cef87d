"""The conditional VAE: an MLP encoder q(z|x), a digit classifier, and an MLP decoder p(x|z, digit).

The decoder reads `concat(z, digit_prob)`: during training `digit_prob` is the classifier's
softmax; to generate, pass a one-hot vector (pick a digit) or any probability vector (a mix).
With `classification_weight == 0` there is no classifier and the decoder reads z alone.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from vae.config import ModelConfig

IMAGE_PIXELS = 784
NUM_CLASSES = 10
VAR_FLOOR = 1e-5  # var = 1e-5 + exp(.), as in the reference, keeps var away from 0

_ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01 (PyTorch's default)
    "gelu": nn.GELU,  # exact erf form
}


def mlp(sizes: list[int], activation: str, last_activation: bool = False) -> nn.Sequential:
    """Linear layers of `sizes` with `activation` between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if last_activation or i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def decoder_input_dim(config: ModelConfig) -> int:
    """The decoder reads z and, when the model is conditional, the 10 digit probabilities."""
    return config.z_dim + (NUM_CLASSES if config.conditional else 0)


def parameter_counts(config: ModelConfig) -> dict[str, int]:
    """How many weights (and biases) each part of `ConditionalVAE(config)` has: counted on a model built
    on PyTorch's "meta" device, which allocates nothing (an 8 x 4,096-unit model costs no memory), once
    per config (building it is most of a millisecond, and pages ask on every rerun)."""
    return dict(_parameter_counts(config))


@functools.lru_cache(maxsize=256)
def _parameter_counts(config: ModelConfig) -> dict[str, int]:
    with torch.device("meta"):
        model = ConditionalVAE(config)
    parts = {"encoder": (model.encoder_body, model.mu_head, model.var_head), "decoder": (model.decoder,)}
    parts["classifier"] = (model.classifier,) if model.classifier is not None else ()
    return {name: sum(p.numel() for m in modules for p in m.parameters()) for name, modules in parts.items()}


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd inside; each module's train/eval mode is restored afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


class ConditionalVAE(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        act = config.activation
        enc = [IMAGE_PIXELS, *config.encoder_layers]
        self.encoder_body = mlp(enc, act, last_activation=True)  # (B, 784) -> (B, enc[-1])
        self.mu_head = nn.Linear(enc[-1], config.z_dim)
        self.var_head = nn.Linear(enc[-1], config.z_dim)
        self.classifier = (
            mlp([IMAGE_PIXELS, *config.classifier_layers, NUM_CLASSES], act) if config.conditional else None
        )
        # Outputs logits; the image (the mean of p(x|z)) is sigmoid(logits).
        self.decoder = mlp([self.decoder_input_dim, *config.decoder_layers, IMAGE_PIXELS], act)

    @property
    def decoder_input_dim(self) -> int:
        return decoder_input_dim(self.config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, 784) in [0, 1] -> mu (B, z_dim), var (B, z_dim)."""
        h = self.encoder_body(x)
        return self.mu_head(h), VAR_FLOOR + torch.exp(self.var_head(h))

    def classify(self, x: torch.Tensor) -> torch.Tensor | None:
        """x: (B, 784) -> digit logits (B, 10), or None when the model has no classifier."""
        return self.classifier(x) if self.classifier is not None else None

    @staticmethod
    def reparameterize(mu: torch.Tensor, var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + sqrt(var) * eps, eps ~ N(0, I): the sample is a differentiable function of mu, var."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + var.sqrt() * eps

    def decode_logits(self, z: torch.Tensor, digit: torch.Tensor | None = None) -> torch.Tensor:
        """z: (B, z_dim), digit: (B, 10) probabilities or None -> pixel logits (B, 784)."""
        if self.config.conditional:
            if digit is None:
                raise ValueError("this model is conditional: decode needs a digit vector of 10 probabilities")
            z = torch.cat([z, digit], dim=1)
        return self.decoder(z)

    def decode(self, z: torch.Tensor, digit: torch.Tensor | None = None) -> torch.Tensor:
        """The generated image: the mean of p(x|z, digit), (B, 784) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, digit))

    def digit_probs(self, x: torch.Tensor) -> torch.Tensor | None:
        """What the decoder reads beside z in training: the classifier's softmax of x (B, 784) -> (B, 10),
        or None for a plain VAE."""
        logits = self.classify(x)
        return F.softmax(logits, dim=1) if logits is not None else None

    def digit_row(self, z: torch.Tensor) -> torch.Tensor:
        """Each style z (S, z_dim) drawn as each of the ten digits: (S * 10, 784), style by style.

        A plain VAE has no digit input: it draws each z once, (S, 784)."""
        if not self.config.conditional:
            return self.decode(z)
        s = len(z)
        digits = one_hot(list(range(NUM_CLASSES)) * s, z.device)  # (S * 10, 10)
        return self.decode(z.repeat_interleave(NUM_CLASSES, dim=0), digits)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The deterministic reconstruction of x (B, 784): decode the encoder's mean with the classifier's
        softmax, the path an image takes in training minus the sampling noise. -> (B, 784), (B, 10) | None."""
        mu, _ = self.encode(x)
        probs = self.digit_probs(x)
        return self.decode(mu, probs), probs

    def cpu_copy(self) -> ConditionalVAE:
        """An eval-mode copy on the CPU, without gradients: what other threads may read while this one trains."""
        copied = ConditionalVAE(self.config)
        copied.load_state_dict({k: v.detach().to("cpu", copy=True) for k, v in self.state_dict().items()})
        return copied.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor | None]:
        """One pass image -> (mu, var) -> z -> reconstruction, plus the classifier's view."""
        mu, var = self.encode(x)
        z = self.reparameterize(mu, var, generator)
        logits = self.classify(x)
        digit = F.softmax(logits, dim=1) if logits is not None else None
        return {"mu": mu, "var": var, "z": z, "class_logits": logits, "recon_logits": self.decode_logits(z, digit)}


def one_hot(digits: torch.Tensor | list[int] | int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Digit labels -> (B, 10) one-hot float vectors."""
    t = torch.as_tensor(digits, device=device).reshape(-1).long()
    return F.one_hot(t, NUM_CLASSES).float()


def decoder_layers(model: ConditionalVAE) -> list[dict]:
    """The decoder as plain float32 arrays, in order: [{'weight': (out, in), 'bias': (out,)}, ...].

    Hidden layers use `model.config.activation`; the last is followed by a sigmoid. This is what a
    re-implementation of the decoder (e.g. in the browser) needs.
    """
    return [
        {"weight": m.weight.detach().float().cpu().numpy(), "bias": m.bias.detach().float().cpu().numpy()}
        for m in model.decoder
        if isinstance(m, nn.Linear)
    ]
