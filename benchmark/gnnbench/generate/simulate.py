"""Run one temperature's trajectory in LAMMPS and write its dump files.

Protocol (paper section 2.1, readings in shared/paper-notes.md): FCC Al, lattice constant a0,
NPT with a Nosé–Hoover thermostat and isotropic barostat (P = 0), velocity-Verlet with a 1 fs
timestep (the recipe's ``timestep_fs``), equilibration, then production with the timestep
counter reset to 0.

During production only the frames a split uses are written:

* ``anchors.dump``  at every kept anchor step: id, type, unwrapped positions (Å), velocities
  (Å/ps) and the per-atom descriptors CSP, CNA, Q4, Q6, CN computed by LAMMPS;
* ``targets.dump``  the NPT continuation at anchor + Δt for every Δt: id, unwrapped positions,
  velocities; ``thermo.csv`` at every NPT frame: T (K), P (bar), V (Å³), PE and KE (eV);
* ``nve_targets.dump`` / ``nve_thermo.csv``  the NVE branch of every anchor at anchor + Δt;
* ``nve_floor.csv``  the NVE targets' own discretisation error, measured at the rollout-start
  anchor (below);
* ``nve_window.dump`` / ``nve_window.csv``  for the trajectory's first test anchor (where
  rollouts start), an NVE run of ``nve_window_ps`` written every ``nve_window_interval_fs``.

The NVE branches are the Hamiltonian flow from the exact anchor state: a second LAMMPS instance
(:class:`NveBranch`) receives a bit-for-bit copy of the anchor's box, positions, image flags and
velocities and integrates it with ``fix nve`` (velocity-Verlet). The NPT instance is only read,
never modified, so its trajectory is the same with or without branches (``unfix``/``fix npt`` in
place would reset the Nosé–Hoover state and change it).

Time steps of the branches (dataset 2.1.0):

* **targets** (``nve_targets.dump``) integrate at the recipe's ``nve_timestep_fs`` (0.1 fs: ten
  steps per production step), so anchor + Δt is reached after Δt / ``nve_timestep_fs`` steps.
  Verlet's own error at the 1 fs of dataset 2.0.0 (Verlet at 0.25 fs differs from it by 1.5e-6 Å
  at Δt = 1 fs) was within 4× of good learned models; at 0.1 fs it is 100× smaller (error ∝ h²).
* **the floor** (``nve_floor.csv``): at each trajectory's rollout-start anchor the branch is
  integrated once more at ``nve_timestep_fs`` / :data:`FLOOR_REFINEMENT`, and per Δt the RMSE of
  the per-atom displacement vector between the two, sqrt(mean over atoms |r_target − r_finer|²)
  in Å (float64, before the float32 storage), is written as ``anchor_step, dt_fs, rmse_A``.
  Packaging carries it into the manifest (:func:`gnnbench.package.manifest.target_floor_A`).
* **the reference window** (``nve_window.dump``, 2 ps every 10 fs) stays at the production
  ``timestep_fs`` (1 fs). It is the rollout reference for statistics (RDF, temperature, energy,
  vibrational spectrum), not for per-atom positions: Verlet at 1 fs conserves energy to about
  2e-4 meV/atom/ps, far below any bound the scorer uses, and 0.1 fs there would cost 20,000
  steps per test trajectory, 10× the window's share of the `mini` build.

Clocks: ``nve_thermo.csv``'s ``step`` column is the production step (of ``timestep_fs``) of the
target frame, as in ``thermo.csv``. LAMMPS's own clock in the branch counts branch steps: it is
reset to anchor step × steps per production step when a branch starts, so the TIMESTEP of a
frame in ``nve_targets.dump`` is its production step × ``config.nve_substeps`` (packaging divides;
``nve_window.dump`` steps 1 fs, so its TIMESTEP is the production step).

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
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..package.splits import frame_steps, rollout_start_step, target_offsets
from ..units import PS_PER_FS
from .config import BuildConfig
from .lammps_runtime import lammps_version, new_lammps, potential_path, sha256_file

ANCHOR_COLUMNS = "id type xu yu zu vx vy vz c_csp c_cna c_q[1] c_q[2] c_cn"
TARGET_COLUMNS = "id xu yu zu vx vy vz"
THERMO_KEYS = ("temp", "press", "vol", "pe", "ke")
NVE_THERMO_KEYS = ("temp", "pe", "ke")
FLOOR_FILE = "nve_floor.csv"
FLOOR_COLUMNS = ("anchor_step", "dt_fs", "rmse_A")
FLOOR_REFINEMENT = 4  # the floor's reference branch steps nve_timestep_fs / 4
DUMP_FORMAT = "modify append yes sort id format float %.17g"
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
        f"velocity all create {t * config.initial_velocity_factor} {config.seed_for(t)} "
        "mom yes rot yes dist gaussian loop geom",
        *npt_commands(config, t),
        "thermo_style custom step temp press vol pe ke",
        "thermo 1000",
        f"run {config.equilibration_steps}",
        "reset_timestep 0",
        *descriptor_commands(config),
        "run 0",
    ]


def npt_commands(config: BuildConfig, temperature_K: float) -> list[str]:
    """The dataset's integrator: velocity-Verlet at the config's timestep with a Nosé–Hoover
    thermostat at ``temperature_K`` and an isotropic barostat at ``pressure_bar`` (shared by
    generation and the scorer's cost timing, so the timed MD is the dataset's)."""
    t, p = float(temperature_K), config.pressure_bar
    return [
        f"timestep {config.timestep_fs * PS_PER_FS}",
        f"fix integrate all npt temp {t} {t} {config.thermostat_damping_fs * PS_PER_FS} "
        f"iso {p} {p} {config.barostat_damping_fs * PS_PER_FS}",
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


class NveBranch:
    """A second LAMMPS instance that integrates copies of NPT states under ``fix nve``.

    ``start_from(npt, step, timestep_fs)`` copies the box (``change_box`` with the bounds as
    round-trip decimal strings, so the doubles are the same), and per atom id the wrapped
    positions, image flags and velocities, as raw doubles and ints: the branch starts from exactly
    the state the NPT run holds. Atoms are never sorted here, so the atom with id i sits at index i − 1.

    ``step`` counts production steps (of ``config.timestep_fs``); a branch integrating at a finer
    ``timestep_fs`` runs ``substeps`` LAMMPS steps per production step, and LAMMPS's clock counts
    those (it starts at ``step × substeps``).
    """

    def __init__(self, config: BuildConfig, n_atoms: int):
        self.n_atoms = n_atoms
        self.production_timestep_fs = config.timestep_fs
        self.lmp = system_with_potential(config, n_atoms)
        for command in ["fix integrate all nve", "thermo_style custom step temp pe ke", "thermo 1000000"]:
            self.lmp.command(command)
        self.step = 0
        self.substeps = 1
        self.timestep_fs: float | None = None
        self._needs_setup = True

    def close(self) -> None:
        self.lmp.close()

    def start_from(self, npt, step: int, timestep_fs: float) -> None:
        """Copy the NPT instance's current state, to be integrated in steps of ``timestep_fs``
        (which must divide the production timestep); the branch's clock starts at production ``step``."""
        substeps = round(self.production_timestep_fs / timestep_fs)
        if substeps < 1 or abs(substeps * timestep_fs - self.production_timestep_fs) > 1e-9 * self.production_timestep_fs:
            raise ValueError(f"an NVE branch step of {timestep_fs} fs does not divide the {self.production_timestep_fs} fs timestep")
        if timestep_fs != self.timestep_fs:
            self.lmp.command(f"timestep {timestep_fs * PS_PER_FS!r}")  # as the scorer's VerletEam writes it: the same double
            self.timestep_fs = timestep_fs
        boxlo, boxhi, xy, yz, xz, _, _ = npt.extract_box()
        if xy or yz or xz:
            raise NotImplementedError("NveBranch copies orthogonal boxes (the al-eam data is NPT iso)")
        bounds = " ".join(f"{axis} final {lo!r} {hi!r}" for axis, lo, hi in zip("xyz", boxlo, boxhi, strict=True))
        self.lmp.command(f"change_box all {bounds} units box")
        source_ids = npt.numpy.extract_atom("id")[: self.n_atoms].astype(np.int64)
        order = np.argsort(source_ids)
        for name in ("x", "v", "image"):
            source = np.array(npt.numpy.extract_atom(name)[: self.n_atoms])
            self.lmp.numpy.extract_atom(name)[: self.n_atoms] = source[order]
        self.lmp.command(f"reset_timestep {step * substeps}")
        self.step = step
        self.substeps = substeps
        self._needs_setup = True  # also makes fix nve read the new timestep

    def run_to(self, step: int) -> None:
        """Integrate to production ``step`` (a ``run 0`` right after ``start_from`` evaluates the start state)."""
        if step > self.step or self._needs_setup:
            self.lmp.command(f"run {(step - self.step) * self.substeps} pre {'yes' if self._needs_setup else 'no'} post no")
            self._needs_setup = False
            self.step = step

    def positions(self) -> np.ndarray:
        """A copy of the current wrapped positions [N, 3] (Å), atom id i at row i − 1."""
        return np.array(self.lmp.numpy.extract_atom("x")[: self.n_atoms])

    def box_lengths(self) -> np.ndarray:
        boxlo, boxhi, *_ = self.lmp.extract_box()
        return np.asarray(boxhi) - np.asarray(boxlo)

    def write_frame(self, dump: Path, thermo: csv.writer, anchor_step: int) -> None:
        self.lmp.command(f"write_dump all custom {dump} {TARGET_COLUMNS} {DUMP_FORMAT}")
        thermo.writerow([anchor_step, self.step] + [repr(self.lmp.get_thermo(k)) for k in NVE_THERMO_KEYS])


def system_with_potential(config: BuildConfig, n_atoms: int):
    """A LAMMPS instance holding ``n_atoms`` atoms of the dataset's species with its potential,
    for states copied in from outside (the NVE branch, the scorer's Verlet and evaluator).

    Atoms are never sorted, so the atom with id i stays at index i − 1 of every per-atom array.
    """
    lmp = new_lammps()
    for command in ["units metal", "boundary p p p", "atom_style atomic", "atom_modify map array sort 0 0.0",
                    "region box block 0 1 0 1 0 1", "create_box 1 box"]:
        lmp.command(command)
    lmp.create_atoms(n_atoms, list(range(1, n_atoms + 1)), [1] * n_atoms, [0.5] * (3 * n_atoms))
    for command in potential_commands(config):
        lmp.command(command)
    return lmp


def copy_state_in(lmp, positions: np.ndarray, velocities: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Copy a state into a :func:`system_with_potential` instance: orthogonal ``cell`` (Å),
    ``positions`` (Å, wrapped into the cell here) and ``velocities`` (Å/ps) of atoms 1…N in id
    order. Returns the wrapped positions; image flags are left as they are (zero in a new instance).
    """
    if np.count_nonzero(cell - np.diag(np.diag(cell))):
        raise NotImplementedError("the LAMMPS systems here have orthogonal cells (the al-eam data is NPT iso)")
    lengths = np.diag(cell)
    lmp.command("change_box all " + " ".join(f"{a} final 0 {float(L)!r}" for a, L in zip("xyz", lengths, strict=True)) + " units box")
    wrapped = np.mod(positions, lengths)
    n_atoms = len(positions)
    lmp.numpy.extract_atom("x")[:n_atoms] = wrapped
    lmp.numpy.extract_atom("v")[:n_atoms] = velocities
    return wrapped


def simulate_temperature(
    config: BuildConfig,
    temperature_K: float,
    work_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    branches: bool = True,
) -> dict:
    """Run one trajectory into ``work_dir`` (emptied first) and return its summary.

    ``progress(done, total)`` is called as production frames are written. ``branches=False``
    runs the NPT trajectory alone (the test that branching leaves it unchanged uses this).
    """
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    commands = lammps_input(config, temperature_K)
    (work_dir / "in.lammps").write_text("\n".join(commands) + "\n")
    anchors, targets = frame_steps(config, temperature_K)
    anchor_set = set(anchors)
    frames = sorted(anchor_set | set(targets))
    window_start = rollout_start_step(config, temperature_K)

    started = time.perf_counter()
    lmp = new_lammps()
    branch = NveBranch(config, config.n_atoms) if branches else None
    branch_seconds = floor_seconds = 0.0
    try:
        for command in commands:
            lmp.command(command)
        equilibrated = time.perf_counter()
        current = 0
        with ExitStack() as files:
            csv_writer = lambda name, header: _csv_writer(files.enter_context(open(work_dir / name, "w", newline="")), header)  # noqa: E731
            thermo = csv_writer("thermo.csv", ("step",) + THERMO_KEYS)
            nve_thermo = csv_writer("nve_thermo.csv", ("anchor_step", "step") + NVE_THERMO_KEYS) if branch else None
            floor = csv_writer(FLOOR_FILE, FLOOR_COLUMNS) if branch else None
            for done, step in enumerate(frames, 1):
                if step > current:
                    lmp.command(f"run {step - current} pre no post no")
                    current = step
                thermo.writerow([step] + [repr(lmp.get_thermo(k)) for k in THERMO_KEYS])
                if step in anchor_set:
                    lmp.command(f"write_dump all custom {work_dir / 'anchors.dump'} {ANCHOR_COLUMNS} {DUMP_FORMAT}")
                    if branch is not None:
                        branch_started = time.perf_counter()
                        targets_at = _branch_targets(branch, lmp, step, config, work_dir, nve_thermo)
                        if step == window_start:
                            floor_started = time.perf_counter()
                            _branch_floor(branch, lmp, step, config, targets_at, floor)
                            floor_seconds += time.perf_counter() - floor_started
                            _branch_window(branch, lmp, step, config, work_dir, csv_writer)
                        branch_seconds += time.perf_counter() - branch_started
                else:
                    lmp.command(f"write_dump all custom {work_dir / 'targets.dump'} {TARGET_COLUMNS} {DUMP_FORMAT}")
                if progress is not None:
                    progress(done, len(frames))
    finally:
        lmp.close()
        if branch is not None:
            branch.close()
    finished = time.perf_counter()
    summary = {
        "temperature_K": temperature_K,
        "n_atoms": config.n_atoms,
        "equilibration_steps": config.equilibration_steps,
        "production_steps_run": current,
        "anchor_frames": len(anchors),
        "target_frames": len(targets),
        "nve_branches": len(anchors) if branches else 0,
        "nve_window_start_step": window_start if branches else None,
        "nve_timestep_fs": config.nve_timestep_fs,
        "nve_floor_timestep_fs": config.nve_timestep_fs / FLOOR_REFINEMENT,
        "nve_floor_anchor_steps": [window_start] if branches and window_start is not None else [],
        "lammps_version": lammps_version(),
        "potential": config.potential,
        "potential_sha256": sha256_file(potential_path(config.potential)),
        "wall_seconds": {"equilibration": equilibrated - started, "production": finished - equilibrated,
                         "of_which_nve_branches": branch_seconds, "of_which_nve_floor": floor_seconds},
    }
    (work_dir / DONE_MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _csv_writer(handle, header: tuple[str, ...]):
    writer = csv.writer(handle)
    writer.writerow(header)
    return writer


def _branch_targets(branch: NveBranch, npt, anchor_step: int, config: BuildConfig, work_dir: Path, thermo) -> list[np.ndarray]:
    """The NVE continuation of one anchor at ``nve_timestep_fs``, written at anchor + every Δt;
    returns the wrapped positions at every Δt (for the floor)."""
    branch.start_from(npt, anchor_step, config.nve_timestep_fs)
    positions = []
    for offset in target_offsets(config):
        branch.run_to(anchor_step + offset)
        branch.write_frame(work_dir / "nve_targets.dump", thermo, anchor_step)
        positions.append(branch.positions())
    return positions


def _branch_floor(branch: NveBranch, npt, anchor_step: int, config: BuildConfig, targets_at: list[np.ndarray], floor) -> None:
    """The targets' own error at this anchor: the same branch at ``nve_timestep_fs / FLOOR_REFINEMENT``;
    per Δt one row ``anchor_step, dt_fs, rmse_A`` with rmse_A = sqrt(mean over atoms |r_target − r_finer|²) (Å)."""
    branch.start_from(npt, anchor_step, config.nve_timestep_fs / FLOOR_REFINEMENT)
    lengths = branch.box_lengths()  # the cell is fixed along a branch and the same in both (copied from the anchor)
    for dt, offset, target in zip(config.dt_fs, target_offsets(config), targets_at, strict=True):
        branch.run_to(anchor_step + offset)
        difference = target - branch.positions()
        difference -= lengths * np.round(difference / lengths)  # wrapped positions: one atom may sit across the boundary in one only
        floor.writerow([anchor_step, dt, repr(float(np.sqrt((difference**2).sum(axis=1).mean())))])


def _branch_window(branch: NveBranch, npt, anchor_step: int, config: BuildConfig, work_dir: Path, csv_writer) -> None:
    """The NVE reference window from the rollout start: ``nve_window_ps`` every ``nve_window_interval_fs``."""
    thermo = csv_writer("nve_window.csv", ("anchor_step", "step") + NVE_THERMO_KEYS)
    interval = round(config.nve_window_interval_fs / config.timestep_fs)
    branch.start_from(npt, anchor_step, config.timestep_fs)  # 1 fs: a statistical reference (module docstring)
    for step in range(anchor_step, anchor_step + config.nve_window_steps + 1, interval):
        branch.run_to(step)
        branch.write_frame(work_dir / "nve_window.dump", thermo, anchor_step)


def is_simulated(work_dir: Path) -> bool:
    """True if a previous run finished writing this trajectory's dumps."""
    return (work_dir / DONE_MARKER).is_file()
