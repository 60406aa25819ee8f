"""Run one temperature's trajectory in LAMMPS and write its dump files.

Protocol (paper section 2.1, readings in shared/paper-notes.md): FCC Al, lattice constant a0,
NPT with a Nosé–Hoover thermostat and isotropic barostat (P = 0), velocity-Verlet with a 1 fs
timestep, equilibration, then production with the timestep counter reset to 0.

During production only the frames a split uses are written:

* ``anchors.dump``  at every kept anchor step: id, type, unwrapped positions (Å), velocities
  (Å/ps) and the per-atom descriptors CSP, CNA, Q4, Q6, CN computed by LAMMPS;
* ``targets.dump``  at anchor + Δt for every Δt: id, unwrapped positions, velocities;
* ``thermo.csv``    at every written frame: temperature (K), pressure (bar), volume (Å³),
  potential and kinetic energy (eV).

Numbers are written with ``%.17g`` so a double round-trips exactly: text dumps must not
quantise positions (LAMMPS's default ``%g`` keeps only 6 digits).
The run is driven from Python in segments that end exactly on frame steps; a finished run
leaves ``simulation.json`` beside the dumps, which is what makes a build resumable.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path
from typing import Callable

from ..package.splits import frame_steps
from .config import BuildConfig
from .lammps_runtime import lammps_version, new_lammps, potential_path, sha256_file

ANCHOR_COLUMNS = "id type xu yu zu vx vy vz c_csp c_cna c_q[1] c_q[2] c_cn"
TARGET_COLUMNS = "id xu yu zu vx vy vz"
THERMO_KEYS = ("temp", "press", "vol", "pe", "ke")
DONE_MARKER = "simulation.json"


def lammps_input(config: BuildConfig, temperature_K: float) -> list[str]:
    """The LAMMPS commands up to the start of production (also saved as ``in.lammps``)."""
    nx, ny, nz = config.cells
    t = float(temperature_K)
    return [
        "units metal",
        "boundary p p p",
        "atom_style atomic",
        f"lattice fcc {config.lattice_constant_A}",
        f"region box block 0 {nx} 0 {ny} 0 {nz}",
        "create_box 1 box",
        "create_atoms 1 box",
        *potential_commands(config),
        f"timestep {config.timestep_fs / 1000}",
        f"velocity all create {t * config.initial_velocity_factor} {config.seed_for(t)} "
        "mom yes rot yes dist gaussian loop geom",
        f"fix integrate all npt temp {t} {t} {config.thermostat_damping_fs / 1000} "
        f"iso {config.pressure_bar} {config.pressure_bar} {config.barostat_damping_fs / 1000}",
        "thermo_style custom step temp press vol pe ke",
        "thermo 1000",
        f"run {config.equilibration_steps}",
        "reset_timestep 0",
        *descriptor_commands(config),
        "run 0",
    ]


def descriptor_commands(config: BuildConfig) -> list[str]:
    """The paper's per-atom descriptors (CSP, CNA, MYQ[1], MYQ[2], CN) as LAMMPS computes.

    orientorder/atom's default degrees are 4 6 8 10 12 with 12 nearest neighbours, so
    c_q[1] = Q4 and c_q[2] = Q6. The scorer recomputes descriptors with these same commands.
    """
    return [
        "compute csp all centro/atom fcc",
        f"compute cna all cna/atom {config.descriptor_cutoff_A}",
        "compute q all orientorder/atom",
        f"compute cn all coord/atom cutoff {config.descriptor_cutoff_A}",
    ]


def potential_commands(config: BuildConfig) -> list[str]:
    """Mass and EAM potential of the dataset (shared by generation and the scorer's LAMMPS)."""
    return [
        f"mass 1 {config.mass_amu}",
        f"pair_style {config.pair_style}",
        f"pair_coeff * * {potential_path(config.potential)} Al",
    ]


def simulate_temperature(
    config: BuildConfig,
    temperature_K: float,
    work_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run one trajectory into ``work_dir`` (emptied first) and return its summary.

    ``progress(done, total)`` is called as production frames are written.
    """
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    commands = lammps_input(config, temperature_K)
    (work_dir / "in.lammps").write_text("\n".join(commands) + "\n")
    anchors, targets = frame_steps(config, temperature_K)
    anchor_set = set(anchors)
    frames = sorted(anchor_set | set(targets))
    fmt = "modify append yes sort id format float %.17g"

    started = time.perf_counter()
    lmp = new_lammps()
    try:
        for command in commands:
            lmp.command(command)
        equilibrated = time.perf_counter()
        current = 0
        with open(work_dir / "thermo.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("step",) + THERMO_KEYS)
            for done, step in enumerate(frames, 1):
                if step > current:
                    lmp.command(f"run {step - current} pre no post no")
                    current = step
                writer.writerow([step] + [repr(lmp.get_thermo(k)) for k in THERMO_KEYS])
                if step in anchor_set:
                    lmp.command(f"write_dump all custom {work_dir / 'anchors.dump'} {ANCHOR_COLUMNS} {fmt}")
                else:
                    lmp.command(f"write_dump all custom {work_dir / 'targets.dump'} {TARGET_COLUMNS} {fmt}")
                if progress is not None:
                    progress(done, len(frames))
    finally:
        lmp.close()
    finished = time.perf_counter()
    summary = {
        "temperature_K": temperature_K,
        "n_atoms": config.n_atoms,
        "equilibration_steps": config.equilibration_steps,
        "production_steps_run": current,
        "anchor_frames": len(anchors),
        "target_frames": len(targets),
        "lammps_version": lammps_version(),
        "potential": config.potential,
        "potential_sha256": sha256_file(potential_path(config.potential)),
        "wall_seconds": {"equilibration": equilibrated - started, "production": finished - equilibrated},
    }
    (work_dir / DONE_MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def is_simulated(work_dir: Path) -> bool:
    """True if a previous run finished writing this trajectory's dumps."""
    return (work_dir / DONE_MARKER).is_file()
