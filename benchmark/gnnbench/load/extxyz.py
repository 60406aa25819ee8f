"""The dataset as extended XYZ for the field's trainers (ASE, metatrain's FlashMD trainer).

One frame per anchor of the chosen split, at one stride Δt: the start state and its NVE-branch
target (the Hamiltonian flow, DATASET_CARD.md). ASE's conventions, so ``ase.io.read`` gives
``get_positions()``, ``get_momenta()`` and ``get_velocities()`` right, and metatrain reads the
targets by key:

============================ ============================================= ==================
ASE field                    what it is                                    unit (ASE)
============================ ============================================= ==================
positions, cell, pbc         anchor state; cell rows a, b, c; periodic     Å
momenta (per atom)           p = m v at the anchor                         (eV·u)^½
future_positions (per atom)  r(t + Δt) = r + NVE-target displacement       Å
future_momenta (per atom)    m v(t + Δt) of the NVE target                 (eV·u)^½
info: dt_fs                  the stride Δt                                 fs
info: trajectory_id, time_fs, thermostat_temperature_K                     —, fs, K
============================ ============================================= ==================

Masses are ASE's (aluminium 26.9815385 u, the mass LAMMPS integrates with in the recipe); momenta
convert from the data's Å/ps as p = m v / T_ASE with T_ASE = 1 ps in ASE's time unit
(``1000 * ase.units.fs`` = 98.2269…). metatrain's FlashMD options for these keys are
:func:`flashmd_options`.
"""

from __future__ import annotations

from pathlib import Path

import ase
import ase.io
import ase.units
import numpy as np
import yaml

from .frames import SplitFrames

PS_IN_ASE_TIME = 1000.0 * ase.units.fs  # v[Å / ASE time] = v[Å/ps] / PS_IN_ASE_TIME


def frames_at_stride(split: SplitFrames, dt_fs: int) -> list[ase.Atoms]:
    """One ``ase.Atoms`` per anchor: the start state, its momenta and its NVE target at ``dt_fs``."""
    strides = [int(round(d)) for d in split.dt_fs]
    if dt_fs not in strides:
        raise ValueError(f"the data has no Δt = {dt_fs} fs (it has {strides})")
    k = strides.index(dt_fs)
    frames = []
    for row in range(split.n_anchors):
        atoms = ase.Atoms(numbers=split.species[row], positions=split.positions[row], cell=split.cell[row], pbc=True)
        masses = atoms.get_masses()[:, None]
        atoms.set_momenta(masses * split.velocities[row] / PS_IN_ASE_TIME)
        atoms.arrays["future_positions"] = split.positions[row] + split.nve_target_displacement[row, k].astype(np.float64)
        atoms.arrays["future_momenta"] = masses * split.nve_target_velocities[row, k].astype(np.float64) / PS_IN_ASE_TIME
        atoms.info.update(dt_fs=dt_fs, trajectory_id=str(split.trajectory_id[row]), time_fs=float(split.time_fs[row]),
                          thermostat_temperature_K=float(split.thermostat_temperature_K[row]))
        frames.append(atoms)
    return frames


def flashmd_options(xyz_name: str, dt_fs: int, epochs: int = 25, batch_size: int = 8) -> dict:
    """``mtt train`` options for metatrain's FlashMD architecture on a file from :func:`write_extxyz`
    (metatrain 2026.3 names the targets ``position`` and ``momentum``)."""
    target = {"quantity": None, "unit": None, "type": {"cartesian": {"rank": 1}}, "per_atom": True}
    return {
        "seed": 0,
        "architecture": {"name": "experimental.flashmd",
                         "training": {"timestep": dt_fs, "batch_size": batch_size, "num_epochs": epochs, "loss": "mse"}},
        "training_set": {
            "systems": {"read_from": xyz_name, "length_unit": "A"},
            "targets": {"position": {**target, "key": "future_positions", "quantity": "length", "unit": "A"},
                        "momentum": {**target, "key": "future_momenta", "quantity": "momentum", "unit": "(eV*u)^(1/2)"}},
        },
        "validation_set": 0.1,
        "test_set": 0.0,
    }


def write_extxyz(split: SplitFrames, dt_fs: int, out: Path, options: bool = True) -> list[Path]:
    """Write ``out`` (extended XYZ) and, with ``options``, ``options-flashmd.yaml`` beside it; the paths written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(out, frames_at_stride(split, dt_fs), format="extxyz")
    written = [out]
    if options:
        path = out.with_name("options-flashmd.yaml")
        path.write_text(yaml.safe_dump(flashmd_options(out.name, dt_fs), sort_keys=False))
        written.append(path)
    return written
