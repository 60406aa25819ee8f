"""The trivial baselines as TorchScript submissions, so they take the same scorer path as any model.

* ``ZeroDisplacement``:   r(t+Δt) = r(t),            v(t+Δt) = v(t)
* ``ConstantVelocity``:   r(t+Δt) = r(t) + v(t) Δt,  v(t+Δt) = v(t)

Δt arrives in fs and velocities in Å/ps, hence the factor ``PS_PER_FS``.
"""

from __future__ import annotations

import torch

from ..units import PS_PER_FS


class ZeroDisplacement(torch.nn.Module):
    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"positions": positions.clone(), "velocities": velocities.clone()}


class ConstantVelocity(torch.nn.Module):
    __constants__ = ["ps_per_fs"]  # TorchScript inlines a constant attribute; it cannot read a module-level float
    ps_per_fs = PS_PER_FS

    def forward(self, positions: torch.Tensor, velocities: torch.Tensor, species: torch.Tensor, batch: torch.Tensor,
                cell: torch.Tensor, descriptors: torch.Tensor, dt_fs: torch.Tensor, temperature_K: torch.Tensor) -> dict[str, torch.Tensor]:
        dt_ps = (dt_fs * self.ps_per_fs).to(positions.dtype)[batch].unsqueeze(-1)
        return {"positions": positions + velocities * dt_ps, "velocities": velocities.clone()}
