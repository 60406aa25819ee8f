"""PairForce: a small, physics-shaped learned integrator (a strong baseline of ours).

The untrained model is exactly constant velocity, r + vΔt; what it learns are corrections built
from pair terms along the interatomic directions, the shape of Newton's equations:

    Δr_i     = v_i Δt + s_r τ² Σ_j [ a_ij û_ij + b_ij w_ij / v_s ]          (Å)
    v_i(t+Δt) = v_i    + s_v τ  Σ_j [ c_ij û_ij + d_ij w_ij / v_s ]          (Å/ps)

with, for every neighbour j of i within the cutoff r_c (periodic images included),

    d_ij = r_j − r_i,  r_ij = |d_ij|,  û_ij = d_ij / r_ij      (Å, unit vector)
    w_ij = v_j − v_i                                              (Å/ps, relative velocity)
    τ = Δt / 10 fs,  s_r = 0.01 Å,  s_v = 1 Å/ps,  v_s = 10 Å/ps (about twice Al's thermal speed at 800 K)

and the coefficients (a, b, c, d)_ij = f_c(r_ij) · MLP(x_ij) read from invariants only:

    x_ij = [ RBF(r_ij) f_c(r_ij),  h_i + h_j,  h_i ⊙ h_j,  (û_ij · w_ij) / v_s,  |w_ij|² / v_s²,  RBF(Δt), τ ]
    h_i  = MLP_ρ(ρ_i),  ρ_i = W_ρ Σ_j RBF(r_ij) f_c(r_ij)      (a learned local density, as in EAM)
    f_c(r) = ½ (cos(π r / r_c) + 1) for r < r_c               (smooth cutoff: no jump when a pair crosses r_c)

Properties by construction (tested in tests/test_pairforce.py):

* rotation and reflection equivariant, translation invariant (only û_ij and w_ij carry direction,
  and their coefficients are invariants);
* permutation equivariant;
* momentum conserving for one species: x_ij is symmetric under i ↔ j while û and w change sign, so
  the pair terms cancel in Σ_i and Σ_i Δv_i = 0 (Newton's third law);
* exactly r + vΔt and v(t+Δt) = v when untrained (the MLP's last layer starts at zero);
* the position correction scales as Δt² (an acceleration) and the velocity correction as Δt.

The temperature set-point and the descriptors are not inputs: the Hamiltonian flow does not depend
on them, and a model that read the thermostat's set-point could learn to steer towards it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from baselines.common.graph import radius_graph_equal_systems, radius_graph_pbc
from baselines.common.layers import GaussianRBF, mlp
from gnnbench.units import PS_PER_FS


class PairForce(nn.Module):
    __constants__ = ["ps_per_fs", "cutoff", "position_scale", "velocity_scale", "relative_velocity_scale", "export_graph"]
    ps_per_fs = PS_PER_FS
    position_scale = 0.01           # s_r, Å
    velocity_scale = 1.0            # s_v, Å/ps
    relative_velocity_scale = 10.0  # v_s, Å/ps

    def __init__(self, cutoff: float = 6.0, n_rbf: int = 16, density_channels: int = 16, hidden: int = 64,
                 dt_range_fs: tuple[float, float] = (1.0, 10.0)):
        super().__init__()
        self.cutoff = cutoff
        self.export_graph = False  # True: radius_graph_equal_systems, which torch.export can trace (set before exporting)
        self.distance_rbf = GaussianRBF(0.0, cutoff, n_rbf)
        self.dt_rbf = GaussianRBF(dt_range_fs[0], dt_range_fs[1], 8)
        self.density = nn.Linear(n_rbf, density_channels, bias=False)  # W_ρ
        self.embedding = mlp(density_channels, hidden // 2, density_channels)  # MLP_ρ
        self.pair = mlp(n_rbf + 2 * density_channels + 2 + 8 + 1, hidden, 4)  # -> (a, b, c, d)
        nn.init.zeros_(self.pair[-1].weight)  # untrained: exactly r + vΔt
        nn.init.zeros_(self.pair[-1].bias)

    @torch.jit.unused
    def prepare_for_export(self) -> None:
        """Before ``torch.export`` (gnnbench.predict.export): the dense neighbour search, which it can trace
        (every system of a call the same size, cutoff under half the box; the cell list has data-dependent branches)."""
        self.export_graph = True

    def forward(self, positions: Tensor, velocities: Tensor, species: Tensor, batch: Tensor, cell: Tensor,
                descriptors: Tensor, dt_fs: Tensor, temperature_K: Tensor) -> dict[str, Tensor]:
        dtype = self.density.weight.dtype
        pos = positions.to(dtype)
        vel = velocities.to(dtype)
        if self.export_graph:
            edge_index, edge_vec = radius_graph_equal_systems(pos, cell.to(dtype), self.cutoff)
        else:
            edge_index, edge_vec = radius_graph_pbc(pos, cell.to(dtype), batch, self.cutoff)
        j, i = edge_index[0], edge_index[1]
        length = torch.linalg.vector_norm(edge_vec, dim=-1)
        direction = edge_vec / length.unsqueeze(-1)
        envelope = 0.5 * (torch.cos(math.pi * length / self.cutoff) + 1.0)
        radial = self.distance_rbf(length) * envelope.unsqueeze(-1)

        rho = torch.zeros(pos.shape[0], radial.shape[1], dtype=dtype, device=pos.device).index_add_(0, i, radial)
        h = self.embedding(self.density(rho))
        relative = (vel[j] - vel[i]) / self.relative_velocity_scale
        radial_speed = (direction * relative).sum(-1, keepdim=True)
        speed_squared = (relative * relative).sum(-1, keepdim=True)
        dt_edge = dt_fs.to(dtype)[batch][i]
        tau = dt_edge / 10.0
        features = torch.cat([radial, h[i] + h[j], h[i] * h[j], radial_speed, speed_squared,
                              self.dt_rbf(dt_edge), tau.unsqueeze(-1)], dim=-1)
        coefficients = self.pair(features) * envelope.unsqueeze(-1)

        position_terms = coefficients[:, 0:1] * direction + coefficients[:, 1:2] * relative
        velocity_terms = coefficients[:, 2:3] * direction + coefficients[:, 3:4] * relative
        position_terms = position_terms * (self.position_scale * tau * tau).unsqueeze(-1)
        velocity_terms = velocity_terms * (self.velocity_scale * tau).unsqueeze(-1)
        position_correction = torch.zeros_like(pos).index_add_(0, i, position_terms)
        velocity_correction = torch.zeros_like(vel).index_add_(0, i, velocity_terms)

        dt_atom = dt_fs.to(dtype)[batch].unsqueeze(-1)
        displacement = vel * dt_atom * self.ps_per_fs + position_correction
        return {"positions": positions + displacement.to(positions.dtype),
                "velocities": (vel + velocity_correction).to(positions.dtype)}
