"""The physical baseline: velocity-Verlet with the dataset's true EAM forces, run by LAMMPS.

One stride Δt is k steps of size h = Δt/k of LAMMPS's ``fix nve`` (NVE, cell held fixed):

    v ← v + (h/2) F(r)/m ;  r ← r + h v ;  v ← v + (h/2) F(r)/m

Each step costs one EAM force evaluation. ``Baseline.VERLET_EXACT`` (h = the recipe's
``nve_timestep_fs``) is the integrator that made the NVE-branch targets, so it reproduces them to storage precision: that is the check
that the targets are the Hamiltonian flow (tests/test_targets.py), and against the NPT
continuation it shows the barostat floor no integrator can go below.

A :class:`VerletEam` holds one LAMMPS system. Continuing from the state it returned last (with
velocities possibly rescaled by a thermostat) needs no new LAMMPS set-up, so a rollout keeps one
instance per trajectory; any other state is copied in first.
"""

from __future__ import annotations

import numpy as np
import torch

from ..generate.config import BuildConfig
from ..generate.simulate import copy_state_in, system_with_potential
from ..predict.export import builtin_baseline_sha256, trivial_metadata
from ..units import PS_PER_FS
from .baselines import Baseline

IMAGE_BITS, IMAGE_MAX = 10, 512  # LAMMPS's packing of image flags in a 32-bit imageint


def unpack_images(image: np.ndarray) -> np.ndarray:
    """LAMMPS packed image flags [N] -> integer periodic images [N, 3]."""
    mask = (1 << IMAGE_BITS) - 1
    image = np.asarray(image, np.int64)
    return np.stack([(image & mask), (image >> IMAGE_BITS) & mask, image >> 2 * IMAGE_BITS], axis=1) - IMAGE_MAX


class VerletEam:
    """One LAMMPS system integrated with ``fix nve`` and the dataset's EAM potential."""

    def __init__(self, config: BuildConfig, n_atoms: int):
        self.n_atoms = n_atoms
        self.lmp = system_with_potential(config, n_atoms)
        if self.lmp.extract_setting("imageint") != 4:
            raise RuntimeError("this LAMMPS build packs image flags in 64 bits; VerletEam expects the default 32")
        for command in ["fix integrate all nve", "thermo_style custom step pe", "thermo 1000000000"]:
            self.lmp.command(command)
        self.force_calls = 0
        self._timestep_fs: float | None = None
        self._needs_setup = True
        self._last: np.ndarray | None = None   # the positions returned last (unwrapped)
        self._offset = np.zeros((n_atoms, 3))  # unwrapped − (wrapped + image · L) of the state copied in

    def close(self) -> None:
        self.lmp.close()

    def set_state(self, positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray) -> None:
        """Copy a state in: unwrapped positions (Å), velocities (Å/ps), orthogonal cell (Å)."""
        self._offset = positions - copy_state_in(self.lmp, positions, velocities, cell)
        self.lmp.numpy.extract_atom("image")[: self.n_atoms] = (IMAGE_MAX << 2 * IMAGE_BITS) | (IMAGE_MAX << IMAGE_BITS) | IMAGE_MAX
        self._lengths = np.diag(cell)
        self._needs_setup = True

    def run(self, steps: int, timestep_fs: float) -> tuple[np.ndarray, np.ndarray]:
        """Integrate ``steps`` steps of ``timestep_fs``; return (unwrapped positions, velocities)."""
        if timestep_fs != self._timestep_fs:
            self.lmp.command(f"timestep {timestep_fs * PS_PER_FS!r}")
            self._timestep_fs = timestep_fs
            self._needs_setup = True  # fix nve reads the timestep at set-up
        self.lmp.command(f"run {steps} pre {'yes' if self._needs_setup else 'no'} post no")
        self.force_calls += steps + self._needs_setup
        self._needs_setup = False
        images = unpack_images(self.lmp.numpy.extract_atom("image")[: self.n_atoms])
        positions = np.array(self.lmp.numpy.extract_atom("x")[: self.n_atoms]) + images * self._lengths + self._offset
        self._last = positions
        return positions, np.array(self.lmp.numpy.extract_atom("v")[: self.n_atoms])

    def potential_energy(self) -> float:
        """EAM potential energy (eV) of the state after the last ``run``."""
        return float(self.lmp.get_thermo("pe"))

    def advance(self, positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray, dt_fs: float, substeps: int):
        """(r, v) after Δt = ``dt_fs`` in ``substeps`` steps. Continues without a new set-up when
        ``positions`` is the array this instance returned last (only the velocities are copied)."""
        if self._last is not None and positions is self._last:
            self.lmp.numpy.extract_atom("v")[: self.n_atoms] = velocities
        else:
            self.set_state(positions, velocities, cell)
        return self.run(substeps, dt_fs / substeps)

    def along(self, positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray, dts_fs, timestep_fs: float = 1.0):
        """States at every Δt of ``dts_fs`` (ascending) along one run of ``timestep_fs`` steps."""
        self.set_state(positions, velocities, cell)
        states, done = [], 0
        for dt in dts_fs:
            steps = round(dt / timestep_fs) - done
            states.append(self.run(steps, timestep_fs))
            done += steps
        return states


class VerletEamSubmission:
    """A Verlet baseline behind the same ``predict`` door as a TorchScript submission, so it can
    be scored as its own leaderboard entry (``gnnbench score --baseline verlet-eam-k4``)."""

    device = torch.device("cpu")

    def __init__(self, config: BuildConfig, n_atoms: int, baseline: Baseline, rollout_stride_fs: int = 10):
        self.integrator = VerletEam(config, n_atoms)
        self.baseline = baseline
        self.lammps_steps_per_stride = baseline.substeps(rollout_stride_fs)  # cost: that many LAMMPS steps per stride
        self.metadata = {
            **trivial_metadata(baseline.entry_name, f"{baseline.description}; NVE, fixed cell", rollout_stride_fs),
            "parameter_count": 0,
            "submission_sha256": builtin_baseline_sha256(baseline.entry_name),
        }

    @property
    def name(self) -> str:
        return self.metadata["name"]

    def close(self) -> None:
        self.integrator.close()

    def predict(self, inputs: dict, context: str, allow_nonfinite: bool = False, phase: str = "other") -> dict:
        del context, allow_nonfinite, phase  # the suite's own code: no sandbox, no timing of its own (cost counts LAMMPS steps)
        n_graphs = inputs["cell"].shape[0]
        r = inputs["positions"].numpy().reshape(n_graphs, -1, 3)
        v = inputs["velocities"].numpy().reshape(n_graphs, -1, 3)
        out_r, out_v = np.empty_like(r), np.empty_like(v)
        for g in range(n_graphs):
            dt = float(inputs["dt_fs"][g])
            out_r[g], out_v[g] = self.integrator.advance(r[g], v[g], inputs["cell"][g].numpy(), dt, self.baseline.substeps(dt))
        return {"positions": torch.from_numpy(out_r.reshape(-1, 3)), "velocities": torch.from_numpy(out_v.reshape(-1, 3))}
