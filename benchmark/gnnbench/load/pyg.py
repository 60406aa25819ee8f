"""PyTorch Geometric view of al-eam: one graph per (anchor, Δt) sample.

``AnchorStrideGraphs(hf_split)`` wraps a split loaded with ``datasets.load_dataset`` and
yields :class:`torch_geometric.data.Data` objects that the standard
``torch_geometric.loader.DataLoader`` batches (``cell`` [B,3,3], ``dt_fs`` [B],
``temperature_K`` [B] after batching). Fields, with units:

=================  ========  ==========================================================
``pos``            [N,3]     unwrapped positions at the anchor, Å
``vel``            [N,3]     velocities at the anchor, Å/ps
``species``        [N]       atomic number (int64)
``descriptors``    [N,5]     CSP (Å²), CNA, Q4, Q6, CN — the paper's per-atom features
``cell``           [1,3,3]   cell, rows are lattice vectors, Å
``dt_fs``          [1]       stride Δt, fs
``temperature_K``  [1]       thermostat set-point of the trajectory, K
``edge_index``     [2,E]     periodic neighbour pairs within ``cutoff`` (row 0 = source j,
                             row 1 = target i, PyG's convention); both directions present
``edge_shift``     [E,3]     cell shift, Å: r_j − r_i + edge_shift is the minimum-image
                             vector; a model that moves atoms recomputes edges from it
``edge_vec``       [E,3]     r_j − r_i + edge_shift at the anchor, Å
``y_displacement`` [N,3]     r(t+Δt) − r(t), Å
``y_velocity``     [N,3]     v(t+Δt), Å/ps
=================  ========  ==========================================================

Neighbour lists come from vesin (periodic, any cell shape).
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from ..units import PAPER_CUTOFF_A

DESCRIPTOR_NAMES = ("csp", "cna", "q4", "q6", "cn")


def periodic_edges(positions: np.ndarray, cell: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Full periodic neighbour list: (edge_index [2,E] as (j, i), shift [E,3] in Å).

    The minimum-image vector of an edge is ``positions[j] - positions[i] + shift``.
    """
    from vesin import NeighborList

    i, j, shifts = NeighborList(cutoff=cutoff, full_list=True, sorted=True).compute(
        points=positions, box=cell, periodic=True, quantities="ijS"
    )
    return np.stack([j, i]).astype(np.int64), shifts @ cell


class AnchorStrideGraphs(torch.utils.data.Dataset):
    """(anchor, Δt) samples of one split as PyG graphs.

    ``strides_fs`` restricts the Δt values (default: all the dataset has). Sample ``k`` is
    anchor ``k // K`` at stride index ``k % K``. ``targets`` picks ``y_displacement`` and
    ``y_velocity`` from the NVE branch (``"nve"``, default) or the NPT continuation (``"npt"``). ``dtype`` applies to all float tensors;
    use float64 where positions must keep sub-1e-6 Å precision.
    """

    def __init__(self, split, strides_fs=None, cutoff: float = PAPER_CUTOFF_A, dtype: torch.dtype = torch.float32,
                 targets: str = "nve"):
        if targets not in ("nve", "npt"):
            raise ValueError(f"targets must be 'nve' (the NVE branch, default) or 'npt' (the NPT continuation), not {targets!r}")
        self.targets = targets
        self.rows = split.with_format("numpy")
        available = [int(v) for v in self.rows[0]["dt_fs"]] if len(self.rows) else []
        wanted = list(strides_fs) if strides_fs is not None else available
        missing = sorted(set(wanted) - set(available))
        if missing:
            raise ValueError(f"strides {missing} fs are not in this dataset (it has {available})")
        self.stride_index = [available.index(dt) for dt in wanted]
        self.strides_fs = wanted
        self.cutoff = cutoff
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.rows) * len(self.stride_index)

    def __getitem__(self, sample: int) -> Data:
        row = self.rows[sample // len(self.stride_index)]
        k = self.stride_index[sample % len(self.stride_index)]
        positions = np.stack(row["positions"]).astype(np.float64)
        cell = np.stack(row["cell"]).astype(np.float64)
        edge_index, shift = periodic_edges(positions, cell, self.cutoff)
        edge_vec = positions[edge_index[0]] - positions[edge_index[1]] + shift
        tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=self.dtype)  # noqa: E731
        return Data(
            pos=tensor(positions),
            vel=tensor(np.stack(row["velocities"])),
            species=torch.as_tensor(row["species"], dtype=torch.int64),
            descriptors=tensor(np.stack([row[name] for name in DESCRIPTOR_NAMES], axis=1)),
            cell=tensor(cell).unsqueeze(0),
            dt_fs=tensor([row["dt_fs"][k]]),
            temperature_K=tensor([row["thermostat_temperature_K"]]),
            edge_index=torch.as_tensor(edge_index),
            edge_shift=tensor(shift),
            edge_vec=tensor(edge_vec),
            y_displacement=tensor(np.stack(row[f"{self.targets}_target_displacement"][k])),
            y_velocity=tensor(np.stack(row[f"{self.targets}_target_velocities"][k])),
            num_nodes=len(positions),
        )
