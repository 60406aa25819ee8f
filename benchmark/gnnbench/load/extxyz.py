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
(:data:`gnnbench.units.PS_IN_ASE_TIME` = 98.2269…). metatrain's FlashMD options for these keys are
:func:`flashmd_options`: trained on the exported split, validated on the dataset's own validation
split at the same stride (a later time window of the same trajectories, not a random tenth of the
training frames, whose neighbours in time it would share).
"""

from __future__ import annotations

from pathlib import Path

import ase
import ase.io
import numpy as np
import yaml

from ..units import PS_IN_ASE_TIME
from .frames import SplitFrames


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


FLASHMD_CPU_MODEL = {"d_pet": 32, "d_head": 32, "d_node": 64, "d_feedforward": 64, "num_heads": 4, "num_attention_layers": 1,
                     "num_gnn_layers": 2, "cutoff": 4.5, "predict_momenta_as_difference": True}
"""FlashMD sized for a CPU: 201,740 parameters (metatrain 2026.3.1 prints the count). metatrain's
defaults (d_pet 128, d_head 128, d_node 512, d_feedforward 256, 8 heads, 2 attention layers, 3 GNN
layers) are its GPU size, 12.6 M parameters with only d_pet and the GNN layers made smaller.
Momenta are learned as the change over the step (as positions always are): on mini at 10 fs this
took the validation position RMSE after 13 epochs from 4.3e-3 to 3.0e-3 Å (metatrain's per-component figure)."""


def flashmd_options(xyz_name: str, dt_fs: int, validation_name: str | None = None, epochs: int = 25, batch_size: int = 8,
                    model: dict | None = None) -> dict:
    """``mtt train`` options for metatrain's FlashMD architecture on files from :func:`write_extxyz`
    (metatrain 2026.3 names the targets ``position`` and ``momentum``); without ``validation_name``,
    a random tenth of the training frames validates. The masses are left to metatrain (ASE's, which
    are the recipe's): setting them in the options crashes metatrain 2026.3.1's final evaluation."""
    target = {"quantity": None, "unit": None, "type": {"cartesian": {"rank": 1}}, "per_atom": True}

    def dataset(name: str) -> dict:
        return {"systems": {"read_from": name, "length_unit": "A"},
                "targets": {"position": {**target, "key": "future_positions", "quantity": "length", "unit": "A"},
                            "momentum": {**target, "key": "future_momenta", "quantity": "momentum", "unit": "(eV*u)^(1/2)"}}}

    return {
        "seed": 0,
        "architecture": {"name": "experimental.flashmd", "model": dict(FLASHMD_CPU_MODEL if model is None else model),
                         "training": {"timestep": dt_fs, "batch_size": batch_size, "num_epochs": epochs, "loss": "mse"}},
        "training_set": dataset(xyz_name),
        "validation_set": dataset(validation_name) if validation_name else 0.1,
        "test_set": 0.0,
    }


def write_extxyz(split: SplitFrames, dt_fs: int, out: Path, options: bool = True, validation: SplitFrames | None = None) -> list[Path]:
    """Write ``out`` (extended XYZ) and, with ``options``, ``options-flashmd.yaml`` beside it (with
    ``validation``, that split too, as ``<out stem>-validation.xyz``); the paths written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = frames_at_stride(split, dt_fs)  # first: a missing stride writes nothing
    validation_frames = frames_at_stride(validation, dt_fs) if validation is not None else None
    ase.io.write(out, frames, format="extxyz")
    written = [out]
    validation_path = None
    if validation_frames is not None:
        validation_path = out.with_name(f"{out.stem}-validation.xyz")
        ase.io.write(validation_path, validation_frames, format="extxyz")
        written.append(validation_path)
    if options:
        path = out.with_name("options-flashmd.yaml")
        path.write_text(yaml.safe_dump(flashmd_options(out.name, dt_fs, validation_path.name if validation_path else None), sort_keys=False))
        written.append(path)
    return written
