"""Build the submission's batched inputs (SUBMISSION.md) from stacked frames."""

from __future__ import annotations

import numpy as np
import torch


def batch_inputs(positions: np.ndarray, velocities: np.ndarray, species: np.ndarray, cell: np.ndarray,
                 descriptors: np.ndarray | None, dt_fs: np.ndarray, temperature_K: np.ndarray) -> dict[str, torch.Tensor]:
    """Concatenate B graphs: positions [B,N,3] -> [B·N,3], ``batch`` [B·N], cell [B,3,3], dt_fs [B], ...

    Float tensors are float64; a submission may cast. ``descriptors=None`` sends zeros (for a
    submission whose metadata says it does not use them).
    """
    n_graphs, n_atoms = positions.shape[:2]
    if descriptors is None:
        descriptors = np.zeros((n_graphs, n_atoms, 5))
    f64 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731  (a copy: inputs may be read-only views)
    return {
        "positions": f64(positions.reshape(-1, 3)),
        "velocities": f64(velocities.reshape(-1, 3)),
        "species": torch.as_tensor(species.reshape(-1), dtype=torch.int64),
        "batch": torch.arange(n_graphs, dtype=torch.int64).repeat_interleave(n_atoms),
        "cell": f64(cell),
        "descriptors": f64(descriptors.reshape(-1, 5)),
        "dt_fs": f64(np.broadcast_to(dt_fs, (n_graphs,))),
        "temperature_K": f64(temperature_K),
    }
