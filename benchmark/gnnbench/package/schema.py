"""The columns of an al-eam row: one row per anchor frame, with its targets at every Δt.

Two kinds of target per (anchor, Δt), named by prefix so nobody confuses them:
``nve_target_*`` (the NVE branch from the exact anchor state: the Hamiltonian flow a learned
integrator must learn; the headline) and ``npt_target_*`` (the NPT continuation: the paper's
protocol, carrying the barostat's unpredictable box breathing).

These tables are the single source for the Arrow schemas of the shards and for the field
tables in the dataset card. N = atoms in the frame, K = number of strides Δt.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Field:
    name: str
    type: pa.DataType
    shape: str
    unit: str
    description: str


vec3_f64 = pa.list_(pa.float64(), 3)
vec3_f32 = pa.list_(pa.float32(), 3)
mat33_f64 = pa.list_(vec3_f64, 3)

FIELDS: tuple[Field, ...] = (
    Field("trajectory_id", pa.string(), "", "", "trajectory name, e.g. 'T0300K' (one NPT run per temperature)"),
    Field("split", pa.string(), "", "", "train, validation, test or test_temperature"),
    Field("thermostat_temperature_K", pa.float64(), "", "K", "Nosé–Hoover set-point of the trajectory"),
    Field("anchor_index", pa.int32(), "", "", "index of the anchor in the trajectory (anchor time / anchor interval)"),
    Field("step", pa.int64(), "", "steps", "production timestep of the anchor (1 step = 1 fs)"),
    Field("time_fs", pa.float64(), "", "fs", "production time of the anchor"),
    Field("n_atoms", pa.int32(), "", "", "number of atoms N"),
    Field("atom_id", pa.list_(pa.int32()), "[N]", "", "LAMMPS atom id; rows of every per-atom field are sorted by it"),
    Field("species", pa.list_(pa.int8()), "[N]", "", "atomic number Z (13 for Al)"),
    Field("positions", pa.list_(vec3_f64), "[N,3]", "Å", "unwrapped Cartesian positions at the anchor"),
    Field("velocities", pa.list_(vec3_f64), "[N,3]", "Å/ps", "velocities at the anchor"),
    Field("csp", pa.list_(pa.float32()), "[N]", "Å²", "centro-symmetry parameter, LAMMPS `compute centro/atom fcc`"),
    Field("cna", pa.list_(pa.int8()), "[N]", "",
          "common neighbour analysis, LAMMPS `compute cna/atom` "
          "(0 unknown: not 12 or 14 neighbours within the cutoff, 1 fcc, 2 hcp, 3 bcc, 4 ico, 5 other)"),
    Field("q4", pa.list_(pa.float32()), "[N]", "",
          "Steinhardt Q4, column 1 of LAMMPS `compute orientorder/atom` (12 nearest neighbours); the paper's MYQ[1]"),
    Field("q6", pa.list_(pa.float32()), "[N]", "", "Steinhardt Q6, column 2 of `compute orientorder/atom`; the paper's MYQ[2]"),
    Field("cn", pa.list_(pa.int16()), "[N]", "", "coordination number, LAMMPS `compute coord/atom` within the descriptor cutoff"),
    Field("cell", mat33_f64, "[3,3]", "Å", "simulation cell, rows are the lattice vectors a, b, c"),
    Field("cell_origin", vec3_f64, "[3]", "Å", "cell corner (xlo, ylo, zlo)"),
    Field("temperature_K", pa.float64(), "", "K", "instantaneous temperature at the anchor (LAMMPS `temp`)"),
    Field("pressure_bar", pa.float64(), "", "bar", "instantaneous pressure at the anchor (LAMMPS `press`)"),
    Field("volume_A3", pa.float64(), "", "Å³", "cell volume at the anchor"),
    Field("potential_energy_eV", pa.float64(), "", "eV", "total potential energy at the anchor (EAM)"),
    Field("kinetic_energy_eV", pa.float64(), "", "eV", "total kinetic energy at the anchor"),
    Field("dt_fs", pa.list_(pa.int32()), "[K]", "fs", "strides Δt of the targets, ascending"),
    Field("target_time_fs", pa.list_(pa.float64()), "[K]", "fs", "production time of each target frame (time_fs + Δt)"),
    # The headline targets: the NVE branch, i.e. the Hamiltonian flow from the exact anchor state.
    Field("nve_target_displacement", pa.list_(pa.list_(vec3_f32)), "[K,N,3]", "Å",
          "NVE branch: r(t+Δt) − r(t), the anchor state integrated with velocity-Verlet at 0.1 fs (the recipe's `nve_timestep_fs`) "
          "under `fix nve` (cell fixed); "
          "float32 keeps it to < 1e-7 Å"),
    Field("nve_target_velocities", pa.list_(pa.list_(vec3_f32)), "[K,N,3]", "Å/ps", "NVE branch: velocities at t+Δt"),
    Field("nve_target_temperature_K", pa.list_(pa.float64()), "[K]", "K", "NVE branch: instantaneous temperature at t+Δt"),
    Field("nve_target_potential_energy_eV", pa.list_(pa.float64()), "[K]", "eV", "NVE branch: EAM potential energy at t+Δt"),
    Field("nve_target_kinetic_energy_eV", pa.list_(pa.float64()), "[K]", "eV",
          "NVE branch: kinetic energy at t+Δt (PE + KE is conserved along the branch)"),
    # The paper's protocol: the NPT continuation, which carries the barostat's box breathing.
    Field("npt_target_displacement", pa.list_(pa.list_(vec3_f32)), "[K,N,3]", "Å",
          "NPT continuation: r(t+Δt) − r(t) from unwrapped positions, including the barostat's affine rescaling about the box centre; float32"),
    Field("npt_target_velocities", pa.list_(pa.list_(vec3_f32)), "[K,N,3]", "Å/ps", "NPT continuation: velocities at t+Δt"),
    Field("npt_target_cell", pa.list_(mat33_f64), "[K,3,3]", "Å", "NPT continuation: cell at t+Δt"),
    Field("npt_target_temperature_K", pa.list_(pa.float64()), "[K]", "K", "NPT continuation: instantaneous temperature at t+Δt"),
    Field("npt_target_pressure_bar", pa.list_(pa.float64()), "[K]", "bar", "NPT continuation: pressure at t+Δt"),
    Field("npt_target_volume_A3", pa.list_(pa.float64()), "[K]", "Å³", "NPT continuation: volume at t+Δt"),
    Field("npt_target_potential_energy_eV", pa.list_(pa.float64()), "[K]", "eV", "NPT continuation: potential energy at t+Δt"),
    Field("npt_target_kinetic_energy_eV", pa.list_(pa.float64()), "[K]", "eV", "NPT continuation: kinetic energy at t+Δt"),
)

SCHEMA = pa.schema([pa.field(f.name, f.type) for f in FIELDS])

# The NVE reference window of a test / test_temperature trajectory: one row per frame, every
# ``nve_window_interval_fs`` for ``nve_window_ps`` from the trajectory's first test anchor.
WINDOW_FIELDS: tuple[Field, ...] = (
    Field("trajectory_id", pa.string(), "", "", "trajectory name, e.g. 'T0300K'"),
    Field("split", pa.string(), "", "", "test or test_temperature (the split of the anchor the window starts from)"),
    Field("thermostat_temperature_K", pa.float64(), "", "K", "Nosé–Hoover set-point of the NPT trajectory the window branches from"),
    Field("start_time_fs", pa.float64(), "", "fs", "production time of the window's first frame (the trajectory's first test anchor)"),
    Field("time_fs", pa.float64(), "", "fs", "time since the window's first frame"),
    Field("n_atoms", pa.int32(), "", "", "number of atoms N"),
    Field("positions", pa.list_(vec3_f32), "[N,3]", "Å", "unwrapped positions, sorted by atom id (float32; frame 0 is the anchor)"),
    Field("cell", mat33_f64, "[3,3]", "Å", "cell (fixed under NVE: the anchor's)"),
    Field("temperature_K", pa.float64(), "", "K", "instantaneous temperature"),
    Field("potential_energy_eV", pa.float64(), "", "eV", "EAM potential energy"),
    Field("kinetic_energy_eV", pa.float64(), "", "eV", "kinetic energy"),
)

WINDOW_SCHEMA = pa.schema([pa.field(f.name, f.type) for f in WINDOW_FIELDS])
