"""ShadowVerlet: velocity-Verlet at the full stride Δt with forces from a learned, Δt-dependent energy.

PairForce (model.py) learns the stride map directly; nothing in it stops a trained model from
gaining or losing energy a little every stride. This variant is built so that it cannot drift:

    v_½       = v + ½ Δt a(r)
    r(t+Δt)   = r + Δt v_½                              a_i(r) = −(1/m_i) ∂E_θ(r; Δt)/∂r_i · FTM2V   (Å/ps²)
    v(t+Δt)   = v_½ + ½ Δt a(r(t+Δt))

One velocity-Verlet step is symplectic and time-reversible for *any* conservative force, so the
model conserves a shadow energy close to E_θ + kinetic energy over long rollouts (no systematic
heating or cooling), whatever it learned. What it learns is the energy that makes one Verlet step
of size Δt follow the true flow (a "shadow potential"): true-force Verlet's O(Δt²) error is what
the training removes. It reads Δt, so each stride has its own potential, each one conservative.

The energy is EAM-shaped, with learned functions (eV):

    E_θ(r; Δt) = Σ_i F_θ(ρ_i, Δt) + ½ Σ_i Σ_{j≠i} φ_θ(r_ij, Δt) f_c(r_ij)
    ρ_i = W_ρ Σ_j RBF(r_ij) f_c(r_ij)           (K learned density channels)
    f_c(r) = ½ (cos(π r / r_c) + 1), r < r_c

Untrained (last layers of F_θ and φ_θ at zero) the force is zero and the model is exactly
r + vΔt with v unchanged. Equivariant, translation invariant and momentum conserving (forces are
a gradient of a function of distances). Cost: two energy gradients (one per half kick) per
stride, each a neighbour list and an MLP per atom and per pair; the contract is stateless, so the
force at r(t+Δt) is not carried over to the next stride.

Masses come from ASE's table by atomic number (aluminium: 26.9815 u).
"""

from __future__ import annotations

import math

import torch
from ase.data import atomic_masses
from torch import Tensor, nn

from baselines.common.graph import radius_graph_pbc
from baselines.common.layers import GaussianRBF, mlp
from gnnbench.units import FTM2V, PS_PER_FS


class ShadowVerlet(nn.Module):
    __constants__ = ["ps_per_fs", "ftm2v", "cutoff"]
    ps_per_fs = PS_PER_FS
    ftm2v = FTM2V

    def __init__(self, cutoff: float = 6.0, n_rbf: int = 16, density_channels: int = 16, hidden: int = 64,
                 dt_range_fs: tuple[float, float] = (1.0, 10.0)):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("masses", torch.tensor(atomic_masses, dtype=torch.float32))  # u, by atomic number
        self.distance_rbf = GaussianRBF(0.0, cutoff, n_rbf)
        self.dt_rbf = GaussianRBF(dt_range_fs[0], dt_range_fs[1], 8)
        self.density = nn.Linear(n_rbf, density_channels, bias=False)       # W_ρ
        self.embedding_energy = mlp(density_channels + 8 + 1, hidden, 1)    # F_θ(ρ, Δt)
        self.pair_energy = mlp(n_rbf + 8 + 1, hidden, 1)                    # φ_θ(r, Δt)
        for last in (self.embedding_energy[-1], self.pair_energy[-1]):      # untrained: no force, exactly r + vΔt
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def energy(self, pos: Tensor, cell: Tensor, batch: Tensor, dt_atom: Tensor) -> Tensor:
        """E_θ summed over all systems (eV): its gradient is every atom's −force, since systems do not interact."""
        edge_index, edge_vec = radius_graph_pbc(pos, cell, batch, self.cutoff)
        i = edge_index[1]
        length = torch.linalg.vector_norm(edge_vec, dim=-1)
        envelope = 0.5 * (torch.cos(math.pi * length / self.cutoff) + 1.0)
        radial = self.distance_rbf(length) * envelope.unsqueeze(-1)
        dt_features = torch.cat([self.dt_rbf(dt_atom), (dt_atom / 10.0).unsqueeze(-1)], dim=-1)
        rho = torch.zeros(pos.shape[0], radial.shape[1], dtype=pos.dtype, device=pos.device).index_add_(0, i, radial)
        embedding = self.embedding_energy(torch.cat([self.density(rho), dt_features], dim=-1)).sum()
        pair = (self.pair_energy(torch.cat([radial, dt_features[i]], dim=-1)).squeeze(-1) * envelope).sum()
        return embedding + 0.5 * pair

    def acceleration(self, pos: Tensor, cell: Tensor, batch: Tensor, dt_atom: Tensor, inverse_mass: Tensor) -> Tensor:
        """a = −∇E_θ / m in Å/ps² (FTM2V converts eV/Å/u)."""
        was_enabled = torch.is_grad_enabled()  # the scorer calls under no_grad; TorchScript has no enable_grad block
        torch.set_grad_enabled(True)
        if not pos.requires_grad:
            pos = pos.detach().requires_grad_(True)
        energy = self.energy(pos, cell, batch, dt_atom)
        inputs: list[Tensor] = [pos]
        outputs: list[Tensor] = [energy]
        gradient: list[Tensor | None] = torch.autograd.grad(outputs, inputs, create_graph=self.training, allow_unused=True)
        torch.set_grad_enabled(was_enabled)
        grad = gradient[0]
        if grad is None:
            return torch.zeros_like(pos)
        return -grad * inverse_mass * self.ftm2v

    def forward(self, positions: Tensor, velocities: Tensor, species: Tensor, batch: Tensor, cell: Tensor,
                descriptors: Tensor, dt_fs: Tensor, temperature_K: Tensor) -> dict[str, Tensor]:
        dtype = self.density.weight.dtype
        pos = positions.to(dtype)
        vel = velocities.to(dtype)
        box = cell.to(dtype)
        dt_atom = dt_fs.to(dtype)[batch]
        dt_ps = (dt_atom * self.ps_per_fs).unsqueeze(-1)
        inverse_mass = (1.0 / self.masses[species]).to(dtype).unsqueeze(-1)
        half_kick = vel + 0.5 * dt_ps * self.acceleration(pos, box, batch, dt_atom, inverse_mass)
        new_pos = pos + dt_ps * half_kick
        new_vel = half_kick + 0.5 * dt_ps * self.acceleration(new_pos, box, batch, dt_atom, inverse_mass)
        displacement = new_pos - pos
        return {"positions": positions + displacement.to(positions.dtype), "velocities": new_vel.to(positions.dtype)}
