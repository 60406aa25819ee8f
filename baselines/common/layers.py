"""Building blocks the learned baselines share (GNS, PairForce, ShadowVerlet); TorchScript-compatible."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class GaussianRBF(nn.Module):
    """exp(−γ (x − μ_k)²) on n centres μ_k evenly spaced over [low, high], γ = 1 / spacing²."""

    def __init__(self, low: float, high: float, n: int):
        super().__init__()
        centres = torch.linspace(low, high, n)
        self.register_buffer("centres", centres)
        self.gamma = 1.0 / float(centres[1] - centres[0]) ** 2

    def forward(self, x: Tensor) -> Tensor:
        return torch.exp(-self.gamma * (x.unsqueeze(-1) - self.centres) ** 2)


def mlp(n_in: int, hidden: int, n_out: int, layer_norm: bool = False) -> nn.Sequential:
    """Linear → SiLU → Linear → SiLU → Linear (→ LayerNorm, as GNS's encoders and processor use)."""
    layers = [nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, n_out)]
    if layer_norm:
        layers.append(nn.LayerNorm(n_out))
    return nn.Sequential(*layers)
