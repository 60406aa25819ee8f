"""The physical baseline: velocity-Verlet with the dataset's true EAM forces (LAMMPS).

One stride Δt is k sub-steps of size h = Δt/k (NVE, cell held fixed):

    v ← v + (h/2) F(r)/m ;  r ← r + h v ;  v ← v + (h/2) F(r)/m

with F/m converted to Å/ps² by 1/mvv2e (metal units). Each sub-step costs one EAM force
evaluation; the force at the anchor is cached, so k force calls per stride. This is what a
learned integrator must beat: on this data one Verlet step of size Δt is as accurate as the
paper's model for Δt ≤ 10 fs. The data is NPT: the thermostat and barostat act on every MD
step, and their state (Nosé–Hoover chain variables) is not in the data, so Verlet cannot
reproduce targets exactly even at Δt = 1 fs; the barostat's box dilation sets its floor.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..generate.config import BuildConfig
from ..predict.export import builtin_baseline_sha256, trivial_metadata
from .lammps_eval import EamEvaluator
from .metrics import MVV2E


class VerletEam:
    """Advance frames by Δt with k velocity-Verlet sub-steps and LAMMPS EAM forces."""

    def __init__(self, config: BuildConfig, n_atoms: int, substeps: int = 1):
        self.config = config
        self.substeps = substeps
        self.evaluator = EamEvaluator(config, n_atoms)
        self.force_calls = 0
        self._anchor_forces: dict[bytes, np.ndarray] = {}  # the scorer revisits each anchor once per Δt

    def close(self) -> None:
        self.evaluator.close()

    def _force(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        self.force_calls += 1
        return self.evaluator.evaluate(positions, cell, forces=True)["forces"]

    def _initial_force(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        key = hashlib.sha1(positions.tobytes() + cell.tobytes()).digest()
        if key not in self._anchor_forces:
            if len(self._anchor_forces) >= 1024:  # bounded: ~1024 x N x 3 doubles
                self._anchor_forces.clear()
            self._anchor_forces[key] = self._force(positions, cell)
        return self._anchor_forces[key]

    def advance(self, positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray, dt_fs: float) -> tuple[np.ndarray, np.ndarray]:
        """(r, v) after Δt = ``dt_fs``; positions Å (unwrapped), velocities Å/ps."""
        h = dt_fs * 1e-3 / self.substeps
        to_acceleration = 1.0 / (self.config.mass_amu * MVV2E)
        r, v = positions.copy(), velocities.copy()
        force = self._initial_force(positions, cell)
        for _ in range(self.substeps):
            v = v + 0.5 * h * force * to_acceleration
            r = r + h * v
            force = self._force(r, cell)
            v = v + 0.5 * h * force * to_acceleration
        return r, v


class VerletEamSubmission:
    """The Verlet baseline behind the same ``predict`` door as a TorchScript submission."""

    device = torch.device("cpu")

    def __init__(self, config: BuildConfig, n_atoms: int, substeps: int = 1, rollout_stride_fs: int = 10):
        self.integrator = VerletEam(config, n_atoms, substeps)
        self.lammps_steps_per_stride = substeps  # cost: k LAMMPS steps of size Δt/k
        name = f"verlet-eam-k{substeps}"
        self.metadata = {
            **trivial_metadata(name, f"velocity-Verlet with the true EAM forces (LAMMPS), {substeps} sub-step(s) per stride, NVE, fixed cell",
                               rollout_stride_fs),
            "parameter_count": 0,
            "submission_sha256": builtin_baseline_sha256(name),
        }

    @property
    def name(self) -> str:
        return self.metadata["name"]

    def predict(self, inputs: dict, context: str, allow_nonfinite: bool = False) -> dict:
        del context, allow_nonfinite
        n_graphs = inputs["cell"].shape[0]
        r = inputs["positions"].numpy().reshape(n_graphs, -1, 3)
        v = inputs["velocities"].numpy().reshape(n_graphs, -1, 3)
        out_r, out_v = np.empty_like(r), np.empty_like(v)
        for g in range(n_graphs):
            out_r[g], out_v[g] = self.integrator.advance(r[g], v[g], inputs["cell"][g].numpy(), float(inputs["dt_fs"][g]))
        return {"positions": torch.from_numpy(out_r.reshape(-1, 3)), "velocities": torch.from_numpy(out_v.reshape(-1, 3))}
