"""(anchor, Δt) training samples as PyG graphs, from a split held in memory.

Each sample carries exactly the submission inputs (SUBMISSION.md) plus the targets, so a model
is trained through the same ``forward`` it is scored with:

    positions [N,3] Å, velocities [N,3] Å/ps, species [N], descriptors [N,5], cell [1,3,3] Å,
    dt_fs [1], temperature_K [1] (set-point), y_displacement [N,3] Å, y_velocity [N,3] Å/ps

The targets are the NVE-branch ones (the Hamiltonian flow, what the scorer's headline measures)
unless ``targets="npt"`` asks for the NPT continuation (the paper's protocol).

The models build their own periodic graphs, so no edges are stored here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from ..load.frames import SplitFrames, TargetKind


class StrideSamples(torch.utils.data.Dataset):
    def __init__(self, frames: SplitFrames, strides_fs: list[int], targets: TargetKind | str = TargetKind.NVE):
        available = [int(dt) for dt in frames.dt_fs]
        missing = sorted(set(strides_fs) - set(available))
        if missing:
            raise ValueError(f"strides {missing} fs are not in the dataset (it has {available})")
        self.frames = frames
        self.target_displacement, self.target_velocities = frames.targets(TargetKind(targets))
        self.stride_index = [available.index(dt) for dt in strides_fs]

    def __len__(self) -> int:
        return self.frames.n_anchors * len(self.stride_index)

    def __getitem__(self, sample: int) -> Data:
        f = self.frames
        row, k = divmod(sample, len(self.stride_index))
        k = self.stride_index[k]
        f64 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
        return Data(
            positions=f64(f.positions[row]),
            velocities=f64(f.velocities[row]),
            species=torch.as_tensor(f.species[row], dtype=torch.int64),
            descriptors=f64(f.descriptors[row]),
            cell=f64(f.cell[row]).unsqueeze(0),
            dt_fs=f64([f.dt_fs[k]]),
            temperature_K=f64([f.thermostat_temperature_K[row]]),
            y_displacement=f64(self.target_displacement[row, k]),
            y_velocity=f64(self.target_velocities[row, k]),
            num_nodes=f.n_atoms,
        )
