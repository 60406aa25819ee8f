"""The trivial baselines as TorchScript submissions, so they take the same scorer path as any model.

* ``ZeroDisplacement``:   r(t+Δt) = r(t),            v(t+Δt) = v(t)
* ``ConstantVelocity``:   r(t+Δt) = r(t) + v(t) Δt,  v(t+Δt) = v(t)

Δt arrives in fs and velocities in Å/ps, hence the factor 1e-3 ps/fs.
"""

from __future__ import annotations

from typing import Dict

import torch


class ZeroDisplacement(torch.nn.Module):
    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"positions": positions.clone(), "velocities": velocities.clone()}


class ConstantVelocity(torch.nn.Module):
    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> Dict[str, torch.Tensor]:
        dt_ps = (dt_fs * 1e-3).to(positions.dtype)[batch].unsqueeze(-1)
        return {"positions": positions + velocities * dt_ps, "velocities": velocities.clone()}
