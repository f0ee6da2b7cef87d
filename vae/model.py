"""The conditional VAE: an MLP encoder q(z|x), a digit classifier, and an MLP decoder p(x|z, digit).

The decoder reads `concat(z, digit_prob)`: during training `digit_prob` is the classifier's
softmax; to generate, pass a one-hot vector (pick a digit) or any probability vector (a mix).
With `classification_weight == 0` there is no classifier and the decoder reads z alone.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

from vae.config import Config

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


def decoder_input_dim(config: Config) -> int:
    """The decoder reads z and, when the model is conditional, the 10 digit probabilities."""
    return config.z_dim + (NUM_CLASSES if config.conditional else 0)


def _mlp_parameters(sizes: list[int]) -> int:
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def parameter_counts(config: Config) -> dict[str, int]:
    """How many weights (and biases) each part of `ConditionalVAE(config)` has, without building it."""
    enc = [IMAGE_PIXELS, *config.encoder_layers]
    return {
        "encoder": _mlp_parameters(enc) + 2 * (enc[-1] * config.z_dim + config.z_dim),  # body, mu and var heads
        "classifier": (
            _mlp_parameters([IMAGE_PIXELS, *config.classifier_layers, NUM_CLASSES]) if config.conditional else 0
        ),
        "decoder": _mlp_parameters([decoder_input_dim(config), *config.decoder_layers, IMAGE_PIXELS]),
    }


class ConditionalVAE(nn.Module):
    def __init__(self, config: Config) -> None:
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
