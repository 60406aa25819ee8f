"""The paper's reference attention-GNN integrator (reference-paper.txt section 2.2, Tables 2 and 3).

One call moves B periodic systems forward by their Δt: six blocks of message passing + graph
attention, each predicting a displacement that is added to the positions before the graph is
rebuilt for the next block. ``forward`` has the submission signature (predict/SUBMISSION.md), so
``torch.jit.script(ReferenceGNN())`` is directly a valid submission.

Sizes (Table 2 / Table 3, default arguments)
--------------------------------------------
node input x_i        198 = r_i 3 + v_i 3 + h_static 192
h_static              192 = species embedding 64 + RBF(Δt) 32 + RBF(T) 32 + GELU(Linear(5 -> 64))
edge feature e_ij      96 = RBF(|r_j - r_i|) 32 + MLP(v_j - v_i) 64
hidden 128, heads 8 x 16, FFN 512, blocks 6, cutoff 6.287 Å, species table size 1, output 3

Readings (where the paper is silent or ambiguous; paper-notes.md is followed where it speaks)
-------------------------------------------------------------------------------------------
1.  Block input. "At the input of each block, the current atomic positions are concatenated with
    atomic velocities and static node features to form the node feature vector": every block
    receives x_i = [r_i || v_i || h_static_i] (198) built from the *current* positions. No hidden
    state is carried from one block to the next; blocks communicate only through the positions.
2.  Node state inside a block. The only projection of x_i the paper names is the "Linear(x_i)" of
    h = LayerNorm(Linear(x_i) + m_i). We use that one Linear(198 -> 128) (``node_in``, one per
    block) both as the node state h_i fed to message passing and as the residual term.
3.  Message passing: m_ij = MLP_m([h_i || h_j || e_ij]) with MLP_m = Linear(352, 128), GELU,
    Linear(128, 128); a_i = mean_j m_ij (0 for an atom with no neighbour);
    h'_i = MLP_u([h_i || a_i]) with MLP_u = Linear(256, 128), GELU, Linear(128, 128).
    The hidden width of every "two-layer" MLP is its output width.
4.  Attention (8 heads x 16): q_i = W_q h'_i, k_ij = W_k^h h'_j + W_k^e e_ij,
    v_ij = W_v^h h'_j + W_v^e e_ij, all five matrices bias-free as written in the paper;
    scores q_i.k_ij / sqrt(16) per head, softmax over the neighbours j of i; m_i = sum_j a_ij v_ij,
    heads concatenated (128). No output projection after the heads (the paper has none).
5.  h = LayerNorm(Linear(x_i) + m_i); h = LayerNorm(h + FFN(h)), FFN = Linear(128, 512), GELU,
    Linear(512, 128); both LayerNorms with affine parameters.
6.  Δr = W_out h with a bias-free Linear(128, 3), one per block (the paper writes W_out inside the
    per-block update; blocks are "identical" in structure, each with its own weights).
7.  Graph: every ordered pair (j -> i) of distinct atoms of the same system closer than the cutoff
    (periodic images included; ``baselines.common.graph.radius_graph_pbc``, an O(N) cell list),
    rebuilt from the updated positions before every block, including the first.
8.  Edge features use the distance only (Table 2); Table 3's "raw edge input 6" (relative R_ij and
    v_ij) is read as the raw quantities the 96-dim embedding is computed from. ψ_vel =
    Linear(3, 64), GELU, Linear(64, 64), shared by all blocks (it is feature construction, like
    h_static, not part of a block). Edge features are recomputed per block (the edges change).
9.  RBFs: 32 centres evenly spaced, γ = 1/spacing², exp(-γ (x - c_k)²). Distance on [0, cutoff];
    Δt on [dt_range] (default [1, 10] fs, the paper's training strides); T on [temperature_range]
    (default [5, 800] K, the paper's training temperatures). No learnable parameters.
10. Descriptors (CSP, CNA, Q4, Q6, CN, in the order of the submission contract) enter
    Linear(5, 64) + GELU raw, without normalisation (the paper names none).
11. Species: Table 3's embedding table has one row. Atomic numbers are mapped to rows through
    ``species`` (default [13] = Al); an atomic number not in the list raises an error.
12. Coordinates are fed raw, as the submission contract delivers them (unwrapped Cartesian Å, no
    wrapping into the cell; the paper's own dumps were probably wrapped). Raw coordinates make the
    model NOT translation invariant; tests/test_reference_gnn.py records this.
13. Precision: inputs are cast to the parameter dtype; the graph is built from float64-accurate
    positions (input dtype); the output is positions_in + accumulated displacement, summed in the
    input dtype, so small displacements are not quantised by float32 absolute coordinates.
14. Table 3's "T_cutoff 10 fs, temporal lookback cutoff for node history" describes nothing in the
    text (the model is per-timestep, section 2.2.3) and is not implemented.
15. Initialisation (the paper gives none): every block's W_out (and the velocity head) starts at
    zero (``init="zero"``, the default), so the untrained model predicts exactly zero displacement
    (and v(t+Δt) = v(t)); all other layers keep PyTorch's default initialisation. Why: with
    PyTorch's default everywhere (``init="default"``, kept as the ablation
    ``ablations/mini/default-init.yaml``) each block's LayerNorm output has |h|² ≈ 128, so W_out moves
    atoms ≈ 1 Å per block, 1.4-2.7 Å RMS after six blocks depending on the seed (issue #10: 2.2-2.7;
    the 256-atom test system: 2.2 and 1.4 Å for seeds 0 and 1), against true displacements of 6e-3 Å
    at 1 fs; those moves also scramble the graphs the later blocks see. In an equal-budget test on a
    reduced copy (issue #10), zero W_out reached a best validation loss of 5.2e-5 Å² against
    4.7e-4 Å² for the default. At step 0 only W_out receives gradient (the blocks' outputs are
    multiplied by it); after the first update every parameter does (tests/test_reference_gnn.py).
    This is a reading, not a change of architecture.

Not from the paper (our extension)
----------------------------------
``predict_velocities=True`` adds a bias-free Linear(128, 3) ``velocity_out`` after the last block:
v(t+Δt) = v(t) + W_v h (Å/ps), W_v zero at initialisation with ``init="zero"`` (reading 15).
Ablations: ``use_descriptors=False`` drops the descriptor embedding (h_static 128, node input 134);
``use_attention=False`` drops the attention sub-layer (m_i = h'_i, the message-passing output);
``init="default"`` keeps PyTorch's initialisation of W_out (reading 15). Everything else is unchanged.
Three switches make the variant of ours (``variant_mini.yaml``, issue #10), labelled as such
wherever it is scored; each is off by default and none changes the paper's sizes:
``start="constant_velocity"``: the displacement starts at v(t)Δt instead of 0, so the first block's
graph and coordinates are those of r + vΔt and the blocks predict the correction to constant
velocity; with zero output heads the untrained model is exactly the constant-velocity baseline.
``geometry="relative"``: the node input drops the raw coordinates r_i (node input 195) and the edge
input gains R_ij / cutoff (edge input 99), Table 3's "raw edge features (relative R_ij and v_ij)"
read literally; the model becomes translation invariant (tests/test_reference_gnn.py).
``correction="edge_force"``: each block's output is a force F_i = Σ_j w_ij r̂_ij (eV/Å), with
w_ij = Linear(128, 1)(m_ij) on the block's edge message (``edge_out``, bias-free, zero at
initialisation like W_out, which stays in the model unused), and the block adds ½ (F_i/m_i) Δt²
(masses from ``masses_amu``, metal units: × ftm2v). Why: the paper's blocks see directions only
through raw coordinates, which periodic images break, and W_out h must span 1e-4 to 1e-2 Å over
1-10 fs; on mini, 160 steps of a 2-block, width-64 copy reached a validation loss of 3.9e-6 Å²
with all three switches, against 2.8e-5 with the first alone or the first two (constant
velocity: 2.8e-5). One Linear(128, 1) per block (+128 parameters each).

Parameter count (defaults): 2,062,336 =
  species embedding 64 + descriptor Linear(5,64) 384 + ψ_vel 256 + 4,160
  + 6 blocks x 342,912, a block being node_in 25,472 + MLP_m 45,184 + 16,512
  + MLP_u 32,896 + 16,512 + attention 5 x 128 x 128 - 2 x 32 x 128 = 73,728 (W_q, W_k^h, W_v^h
  128x128; W_k^e, W_v^e 96x128) + LayerNorms 2 x 256 + FFN 66,048 + 65,664 + W_out 384.
  With predict_velocities: +384.
"""

import math

import torch
from torch import Tensor, nn

from baselines.common.graph import radius_graph_pbc
from gnnbench.units import FTM2V, PAPER_CUTOFF_A, PS_PER_FS


class RBF(nn.Module):
    """exp(-γ (x - c_k)²), ``n`` centres evenly spaced on [low, high], γ = 1/spacing²."""

    def __init__(self, low: float, high: float, n: int = 32):
        super().__init__()
        if n < 2 or not high > low:
            raise ValueError("RBF needs n >= 2 centres and high > low")
        self.n = n
        spacing = (high - low) / (n - 1)
        self.gamma = 1.0 / (spacing * spacing)
        self.register_buffer("centers", torch.linspace(low, high, n, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        d = x.unsqueeze(-1) - self.centers.to(x.dtype)
        return torch.exp(-self.gamma * d * d)


class Block(nn.Module):
    """Message passing, graph attention, two residual LayerNorms, FFN, displacement head."""

    use_attention: torch.jit.Final[bool]
    edge_head: torch.jit.Final[bool]

    def __init__(self, node_dim: int, edge_dim: int, hidden: int, heads: int, head_dim: int, ffn: int,
                 use_attention: bool, edge_head: bool = False):
        super().__init__()
        self.use_attention = use_attention
        self.edge_head = edge_head
        self.heads = heads
        self.head_dim = head_dim
        self.node_in = nn.Linear(node_dim, hidden)  # "Linear(x_i)"
        self.msg1 = nn.Linear(2 * hidden + edge_dim, hidden)  # MLP_m, first layer on [h_i, h_j, e_ij]
        self.msg2 = nn.Linear(hidden, hidden)
        self.upd1 = nn.Linear(2 * hidden, hidden)  # MLP_u on [h_i, a_i]
        self.upd2 = nn.Linear(hidden, hidden)
        attn = heads * head_dim
        if use_attention:
            if attn != hidden:
                raise ValueError("heads * head_dim must equal hidden (Table 3: D_head = D_hidden / N_heads)")
            self.w_q = nn.Linear(hidden, attn, bias=False)
            self.w_k_h = nn.Linear(hidden, attn, bias=False)
            self.w_k_e = nn.Linear(edge_dim, attn, bias=False)
            self.w_v_h = nn.Linear(hidden, attn, bias=False)
            self.w_v_e = nn.Linear(edge_dim, attn, bias=False)
        self.norm1 = nn.LayerNorm(hidden)
        self.ffn1 = nn.Linear(hidden, ffn)
        self.ffn2 = nn.Linear(ffn, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, 3, bias=False)  # W_out
        if edge_head:  # ours: a scalar per edge message, Σ_j w_ij r̂_ij
            self.edge_out = nn.Linear(hidden, 1, bias=False)
        self.act = nn.GELU()

    def forward(self, x: Tensor, edge_attr: Tensor, src: Tensor, dst: Tensor, edge_unit: Tensor) -> tuple[Tensor, Tensor]:
        """x [N, node_dim], edge_attr [E, edge_dim], edge j=src -> i=dst, edge_unit [E, 3] = r̂_ij.
        Returns (h [N, hidden], the block's output [N, 3]: W_out h, or Σ_j w_ij r̂_ij with the edge head)."""
        n = x.shape[0]
        hidden = self.msg2.out_features
        h = self.node_in(x)
        # MLP_m([h_i, h_j, e_ij]): the first Linear is applied blockwise (same weights, same result,
        # far fewer FLOPs: the node parts are computed per node, then gathered per edge).
        w = self.msg1.weight
        part_i = h @ w[:, :hidden].t()
        part_j = h @ w[:, hidden:2 * hidden].t()
        pre = part_i.index_select(0, dst) + part_j.index_select(0, src) + edge_attr @ w[:, 2 * hidden:].t()
        msg = self.msg2(self.act(pre + self.msg1.bias))
        count = torch.zeros(n, dtype=x.dtype, device=x.device).index_add(
            0, dst, torch.ones_like(dst, dtype=x.dtype))
        agg = torch.zeros(n, hidden, dtype=x.dtype, device=x.device).index_add(0, dst, msg)
        agg = agg / count.clamp(min=1.0).unsqueeze(1)
        h_mp = self.upd2(self.act(self.upd1(torch.cat([h, agg], dim=1))))

        if self.use_attention:
            heads = self.heads
            d = self.head_dim
            q = self.w_q(h_mp).view(n, heads, d)
            k = (self.w_k_h(h_mp).index_select(0, src) + self.w_k_e(edge_attr)).view(-1, heads, d)
            v = (self.w_v_h(h_mp).index_select(0, src) + self.w_v_e(edge_attr)).view(-1, heads, d)
            score = (q.index_select(0, dst) * k).sum(-1) / math.sqrt(d)  # [E, heads]
            dst_h = dst.unsqueeze(1).expand(-1, heads)
            smax = torch.full((n, heads), -math.inf, dtype=x.dtype, device=x.device).scatter_reduce(
                0, dst_h, score.detach(), reduce="amax", include_self=True)
            ex = torch.exp(score - smax.index_select(0, dst))
            denom = torch.zeros(n, heads, dtype=x.dtype, device=x.device).index_add(0, dst, ex)
            alpha = ex / denom.index_select(0, dst)
            m = torch.zeros(n, heads, d, dtype=x.dtype, device=x.device).index_add(
                0, dst, alpha.unsqueeze(-1) * v).reshape(n, heads * d)
        else:
            m = h_mp
        h = self.norm1(h + m)
        h = self.norm2(h + self.ffn2(self.act(self.ffn1(h))))
        if self.edge_head:
            out = torch.zeros(n, 3, dtype=x.dtype, device=x.device).index_add(0, dst, self.edge_out(msg) * edge_unit)
            return h, out
        return h, self.out(h)


class ReferenceGNN(nn.Module):
    """The paper's attention-GNN (see the module docstring for every reading taken)."""

    use_descriptors: torch.jit.Final[bool]
    predict_velocities: torch.jit.Final[bool]
    start_from_constant_velocity: torch.jit.Final[bool]
    relative_geometry: torch.jit.Final[bool]
    correction_is_force: torch.jit.Final[bool]
    ps_per_fs: torch.jit.Final[float]
    ftm2v: torch.jit.Final[float]

    def __init__(self, hidden: int = 128, n_blocks: int = 6, heads: int = 8, head_dim: int = 16, ffn: int = 512,
                 cutoff: float = PAPER_CUTOFF_A, use_descriptors: bool = True, use_attention: bool = True,
                 predict_velocities: bool = False, n_rbf: int = 32,
                 dt_range: tuple[float, float] = (1.0, 10.0),
                 temperature_range: tuple[float, float] = (5.0, 800.0),
                 species: tuple[int, ...] = (13,), masses_amu: tuple[float, ...] = (26.9815385,),
                 init: str = "zero", start: str = "zero", geometry: str = "absolute", correction: str = "plain"):
        super().__init__()
        if n_blocks < 1:
            raise ValueError("n_blocks must be >= 1")
        if init not in ("zero", "default"):
            raise ValueError(f"init must be 'zero' (W_out and the velocity head start at zero) or 'default', not {init!r}")
        if start not in ("zero", "constant_velocity"):
            raise ValueError(f"start must be 'zero' (the paper) or 'constant_velocity' (ours: blocks correct r + vΔt), not {start!r}")
        if geometry not in ("absolute", "relative"):
            raise ValueError(f"geometry must be 'absolute' (the paper) or 'relative' (ours: R_ij on edges, no r_i), not {geometry!r}")
        if correction not in ("plain", "edge_force"):
            raise ValueError(f"correction must be 'plain' (the paper: Δr = W_out h in Å) or 'edge_force' (ours: ½ (F/m) Δt², "
                             f"F = Σ_j w_ij r̂_ij), not {correction!r}")
        if len(masses_amu) != len(species):
            raise ValueError("masses_amu must give one mass (amu) per entry of species")
        self.start_from_constant_velocity = start == "constant_velocity"
        self.relative_geometry = geometry == "relative"
        self.correction_is_force = correction == "edge_force"
        self.ps_per_fs = PS_PER_FS  # an attribute: TorchScript cannot read a module-level float
        self.ftm2v = FTM2V
        self.cutoff = float(cutoff)
        self.hidden = hidden
        self.use_descriptors = use_descriptors
        self.use_attention = use_attention
        self.predict_velocities = predict_velocities
        self.species_embedding = nn.Embedding(len(species), 64)
        z_to_index = torch.full((119,), -1, dtype=torch.long)
        for i, z in enumerate(species):
            z_to_index[z] = i
        self.register_buffer("z_to_index", z_to_index)
        # a constant of the constructor, not a learned state: kept out of state_dict, so checkpoints
        # written before it existed still load (TorchScript saves it with the module all the same)
        self.register_buffer("masses_amu", torch.tensor(masses_amu, dtype=torch.float64), persistent=False)
        self.rbf_dt = RBF(dt_range[0], dt_range[1], n_rbf)
        self.rbf_temperature = RBF(temperature_range[0], temperature_range[1], n_rbf)
        self.rbf_distance = RBF(0.0, self.cutoff, n_rbf)
        static_dim = self.species_embedding.embedding_dim + 2 * n_rbf
        if use_descriptors:
            self.descriptor_embedding = nn.Linear(5, 64)
            static_dim += self.descriptor_embedding.out_features
        self.static_dim = static_dim
        self.node_dim = (3 if self.relative_geometry else 6) + static_dim
        self.vel_mlp1 = nn.Linear(3, 64)  # ψ_vel
        self.vel_mlp2 = nn.Linear(64, 64)
        self.edge_dim = n_rbf + self.vel_mlp2.out_features + (3 if self.relative_geometry else 0)
        self.act = nn.GELU()
        self.blocks = nn.ModuleList([
            Block(self.node_dim, self.edge_dim, hidden, heads, head_dim, ffn, use_attention, correction == "edge_force")
            for _ in range(n_blocks)
        ])
        if predict_velocities:  # our extension, not the paper's
            self.velocity_out = nn.Linear(hidden, 3, bias=False)
        if init == "zero":  # reading 15: the untrained model predicts zero displacement
            for block in self.blocks:
                nn.init.zeros_(block.out.weight)
                if correction == "edge_force":
                    nn.init.zeros_(block.edge_out.weight)
            if predict_velocities:
                nn.init.zeros_(self.velocity_out.weight)

    def static_features(self, species: Tensor, batch: Tensor, descriptors: Tensor, dt_fs: Tensor,
                        temperature_K: Tensor) -> Tensor:
        """h_static [N, 192] = [ψ_emb(z) || ψ_rbf(Δt) || ψ_rbf(T) || GELU(Linear(descriptors))]."""
        dtype = self.species_embedding.weight.dtype
        index = self.z_to_index.index_select(0, species)
        if bool((index < 0).any()):
            raise ValueError("ReferenceGNN: an atomic number is not in the model's species list")
        parts = [
            self.species_embedding(index),
            self.rbf_dt(dt_fs.to(dtype).index_select(0, batch)),
            self.rbf_temperature(temperature_K.to(dtype).index_select(0, batch)),
        ]
        if self.use_descriptors:
            parts.append(self.act(self.descriptor_embedding(descriptors.to(dtype))))
        return torch.cat(parts, dim=1)

    def edge_features(self, edge_vec: Tensor, dist: Tensor, velocities: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        """e_ij [E, 96] = [ψ_rbf(|r_j - r_i|) || ψ_vel(v_j - v_i)] (|| R_ij / cutoff with geometry="relative");
        edge_vec, its length dist and velocities in parameter dtype."""
        dv = velocities.index_select(0, src) - velocities.index_select(0, dst)
        parts = [self.rbf_distance(dist), self.vel_mlp2(self.act(self.vel_mlp1(dv)))]
        if self.relative_geometry:  # R_ij / cutoff, dimensionless, |.| < 1
            parts.append(edge_vec / self.cutoff)
        return torch.cat(parts, dim=1)

    def forward(self, positions: Tensor, velocities: Tensor, species: Tensor, batch: Tensor, cell: Tensor,
                descriptors: Tensor, dt_fs: Tensor, temperature_K: Tensor) -> dict[str, Tensor]:
        dtype = self.species_embedding.weight.dtype
        vel = velocities.to(dtype)
        static = self.static_features(species, batch, descriptors, dt_fs, temperature_K)
        displacement = torch.zeros(positions.shape[0], 3, dtype=positions.dtype, device=positions.device)
        if self.start_from_constant_velocity:  # v (Å/ps) · Δt (fs) · 1e-3 ps/fs
            displacement = velocities * (dt_fs.index_select(0, batch) * self.ps_per_fs).unsqueeze(1)
        scale = torch.ones(positions.shape[0], 1, dtype=positions.dtype, device=positions.device)
        if self.correction_is_force:  # Δr = ½ (F/m) Δt² with F = Σ_j w_ij r̂_ij in eV/Å: Å per (eV/Å)
            dt_ps = dt_fs.to(positions.dtype).index_select(0, batch) * self.ps_per_fs
            mass = self.masses_amu.to(positions.dtype).index_select(0, self.z_to_index.index_select(0, species))
            scale = (0.5 * self.ftm2v * dt_ps * dt_ps / mass).unsqueeze(1)
        h = torch.zeros(positions.shape[0], self.hidden, dtype=dtype, device=positions.device)
        for block in self.blocks:
            current = positions + displacement  # input dtype (float64 from the scorer)
            edge_index, edge_vec = radius_graph_pbc(current, cell, batch, self.cutoff)
            src = edge_index[0]
            dst = edge_index[1]
            if self.relative_geometry:
                x = torch.cat([vel, static], dim=1)
            else:  # raw coordinates: not translation invariant
                x = torch.cat([current.to(dtype), vel, static], dim=1)
            vec = edge_vec.to(dtype)
            dist = torch.linalg.vector_norm(vec, dim=1)
            e = self.edge_features(vec, dist, vel, src, dst)
            unit = vec / dist.unsqueeze(1) if self.correction_is_force else vec  # r̂_ij only where the force head uses it
            h, dr = block(x, e, src, dst, unit)
            displacement = displacement + scale * dr.to(positions.dtype)
        out: dict[str, Tensor] = {"positions": positions + displacement}
        if self.predict_velocities:
            out["velocities"] = velocities + self.velocity_out(h).to(velocities.dtype)
        return out
