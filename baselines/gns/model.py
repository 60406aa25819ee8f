"""GNS-style encode–process–decode baseline (no attention, no descriptors).

After Sanchez-Gonzalez et al. (2020), "Learning to simulate complex physics with graph
networks", adapted to periodic atoms and a variable stride Δt:

* graph: periodic radius graph (cutoff 5 Å by default), built once from r(t);
* encoder: node  h_i = MLP([v_i, emb(Z_i), RBF(Δt)]),
           edge  e_ij = MLP([d_ij / r_c, |d_ij| / r_c, RBF(|d_ij|)]), d_ij = r_j − r_i (minimum image);
* processor: M interaction-network steps with residuals,
           e_ij ← e_ij + MLP([e_ij, h_i, h_j]),  h_i ← h_i + MLP([h_i, Σ_j e_ij]);
* decoder: MLP(h_i) -> (a_i, b_i) ∈ R³ × R³, read as physical corrections to ballistic motion:

      Δr_i = v_i Δt + a_i · s_r (Δt / 10 fs)²,     v_i(t+Δt) = v_i + b_i · s_v (Δt / 10 fs)

  with s_r = 0.01 Å and s_v = 1 Å/ps, so the network learns an acceleration-like term and
  constant velocity is the zero-output model.

Relative vectors only: translation invariant (unlike the reference model). Not rotation
equivariant. Forward follows the submission contract (SUBMISSION.md).

Initialisation: PyTorch's default (``init="default"``), unlike the reference model, whose W_out
starts at zero (baselines/reference_gnn, reading 15). The reference model's problem, an untrained
model moving atoms by ~1 Å per block, does not arise here: the decoder's outputs are multiplied by
s_r (Δt / 10 fs)² and s_v (Δt / 10 fs), so the untrained GNS corrects constant velocity by about a
quarter of the true correction (measured on mini's validation split, seed 0: RMS 1.6e-3 Å against
6.9e-3 Å at 10 fs, 0.31 against 1.37 Å/ps for the velocity) and its error is within 3 % of the
constant-velocity baseline at 1-10 fs (6 % at 50 fs). ``init="zero"`` (zero weight and bias of the decoder's
last layer) makes the untrained model exactly the constant-velocity baseline; it is not the
default so that ``mini.yaml`` still trains the published gns-mini.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from baselines.common.graph import radius_graph_pbc
from baselines.common.layers import GaussianRBF, mlp
from gnnbench.units import PS_PER_FS


class InteractionStep(nn.Module):
    def __init__(self, latent: int):
        super().__init__()
        self.edge_mlp = mlp(3 * latent, latent, latent, layer_norm=True)
        self.node_mlp = mlp(2 * latent, latent, latent, layer_norm=True)

    def forward(self, h: Tensor, e: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        j, i = edge_index[0], edge_index[1]
        e = e + self.edge_mlp(torch.cat([e, h[i], h[j]], dim=-1))
        aggregated = torch.zeros_like(h).index_add_(0, i, e)
        h = h + self.node_mlp(torch.cat([h, aggregated], dim=-1))
        return h, e


class GNS(nn.Module):
    __constants__ = ["ps_per_fs"]  # TorchScript inlines a constant attribute; it cannot read a module-level float
    ps_per_fs = PS_PER_FS

    def __init__(self, latent: int = 64, steps: int = 4, cutoff: float = 5.0, n_rbf: int = 16, max_species: int = 100,
                 dt_range_fs: tuple[float, float] = (1.0, 10.0), init: str = "default"):
        super().__init__()
        if init not in ("zero", "default"):
            raise ValueError(f"init must be 'default' or 'zero' (the decoder's last layer starts at zero), not {init!r}")
        self.cutoff = cutoff
        self.species_embedding = nn.Embedding(max_species, 16)
        self.dt_rbf = GaussianRBF(dt_range_fs[0], dt_range_fs[1], 8)
        self.distance_rbf = GaussianRBF(0.0, cutoff, n_rbf)
        self.node_encoder = mlp(3 + 16 + 8, latent, latent, layer_norm=True)
        self.edge_encoder = mlp(3 + 1 + n_rbf, latent, latent, layer_norm=True)
        self.processor = nn.ModuleList([InteractionStep(latent) for _ in range(steps)])
        self.decoder = mlp(latent, latent, 6)
        if init == "zero":  # the untrained model is exactly constant velocity
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)

    def forward(self, positions: Tensor, velocities: Tensor, species: Tensor, batch: Tensor, cell: Tensor,
                descriptors: Tensor, dt_fs: Tensor, temperature_K: Tensor) -> dict[str, Tensor]:
        dtype = self.decoder[0].weight.dtype
        pos = positions.to(dtype)
        vel = velocities.to(dtype)
        dt_atom = dt_fs.to(dtype)[batch]
        edge_index, edge_vec = radius_graph_pbc(pos, cell.to(dtype), batch, self.cutoff)
        length = torch.linalg.vector_norm(edge_vec, dim=-1)
        h = self.node_encoder(torch.cat([vel, self.species_embedding(species), self.dt_rbf(dt_atom)], dim=-1))
        e = self.edge_encoder(torch.cat([edge_vec / self.cutoff, (length / self.cutoff).unsqueeze(-1), self.distance_rbf(length)], dim=-1))
        for step in self.processor:
            h, e = step(h, e, edge_index)
        out = self.decoder(h)
        scale = (dt_atom / 10.0).unsqueeze(-1)
        displacement = vel * (dt_atom * self.ps_per_fs).unsqueeze(-1) + out[:, :3] * 0.01 * scale**2
        new_velocities = vel + out[:, 3:] * scale
        return {"positions": positions + displacement.to(positions.dtype), "velocities": new_velocities.to(positions.dtype)}
