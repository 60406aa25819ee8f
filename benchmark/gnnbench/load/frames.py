"""Read one split of a built dataset into stacked numpy arrays (the scorer's view).

The scorer reads the shards listed in ``manifest.json`` directly with pyarrow — the same
files ``load_dataset`` reads — so it can record exactly which dataset revision it scored.
All rows of a config have the same atom count N and strides K, so arrays stack:
R anchors -> ``positions`` [R,N,3], ``nve_target_displacement`` [R,K,N,3], ...
:func:`read_nve_windows` reads the NVE reference windows the same way, one
:class:`NveWindow` per trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..package.manifest import read_manifest

DESCRIPTOR_NAMES = ("csp", "cna", "q4", "q6", "cn")


class TargetKind(str, Enum):
    """The two target sets of every (anchor, Δt) pair (DATASET_CARD.md, "Two kinds of target")."""

    NVE = "nve"  # the NVE branch from the exact anchor state: the Hamiltonian flow (headline)
    NPT = "npt"  # the NPT continuation: the paper's protocol, with the barostat's box breathing

    @property
    def label(self) -> str:
        return {"nve": "NVE-branch targets (Hamiltonian flow; headline)",
                "npt": "NPT-continuation targets (the paper's protocol; carry the barostat's box breathing)"}[self.value]


@dataclass
class SplitFrames:
    """Anchors of one split, in (trajectory, time) order. Units as in DATASET_CARD.md."""

    split: str
    trajectory_id: np.ndarray        # [R] str
    thermostat_temperature_K: np.ndarray  # [R]
    time_fs: np.ndarray              # [R]
    species: np.ndarray              # [R,N] int64
    positions: np.ndarray            # [R,N,3] Å, float64
    velocities: np.ndarray           # [R,N,3] Å/ps, float64
    descriptors: np.ndarray          # [R,N,5] CSP, CNA, Q4, Q6, CN
    cell: np.ndarray                 # [R,3,3] Å
    temperature_K: np.ndarray        # [R]
    volume_A3: np.ndarray            # [R]
    potential_energy_eV: np.ndarray  # [R]
    kinetic_energy_eV: np.ndarray    # [R]
    dt_fs: np.ndarray                # [K]
    nve_target_displacement: np.ndarray  # [R,K,N,3] Å, float32
    nve_target_velocities: np.ndarray    # [R,K,N,3] Å/ps, float32
    nve_target_total_energy_eV: np.ndarray  # [R,K] PE + KE along the NVE branch
    npt_target_displacement: np.ndarray  # [R,K,N,3] Å, float32
    npt_target_velocities: np.ndarray    # [R,K,N,3] Å/ps, float32

    def targets(self, kind: TargetKind) -> tuple[np.ndarray, np.ndarray]:
        """(displacement [R,K,N,3], velocities [R,K,N,3]) of one target kind."""
        kind = TargetKind(kind)
        return getattr(self, f"{kind.value}_target_displacement"), getattr(self, f"{kind.value}_target_velocities")

    @property
    def n_anchors(self) -> int:
        return len(self.time_fs)

    @property
    def n_atoms(self) -> int:
        return self.positions.shape[1]

    def trajectories(self) -> list[str]:
        return sorted(set(self.trajectory_id.tolist()), key=lambda t: (float(t[1:-1]), t))

    def rows_of(self, trajectory: str) -> np.ndarray:
        """Row indices of one trajectory, in time order."""
        rows = np.flatnonzero(self.trajectory_id == trajectory)
        return rows[np.argsort(self.time_fs[rows], kind="stable")]


def _stack(column: pa.ChunkedArray, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Flatten a (nested) list column into one array of ``shape`` (leading dim = rows)."""
    values = column.combine_chunks()
    while pa.types.is_list(values.type) or pa.types.is_fixed_size_list(values.type):
        values = values.flatten()
    return values.to_numpy(zero_copy_only=False).astype(dtype, copy=False).reshape(shape)


def read_split(root: Path, config: str, split: str) -> SplitFrames:
    """Load ``split`` of ``config`` from the dataset directory ``root``."""
    manifest = read_manifest(Path(root))
    if config not in manifest["configs"]:
        raise ValueError(f"{root}: config {config!r} is not built (built: {', '.join(sorted(manifest['configs']))})")
    files = manifest["configs"][config]["splits"][split]["files"]
    if not files:
        raise ValueError(f"{root}: config {config!r} has no {split!r} shards")
    table = pa.concat_tables([pq.read_table(Path(root) / name) for name in files])
    order = np.lexsort((table.column("time_fs").to_numpy(), table.column("thermostat_temperature_K").to_numpy()))
    table = table.take(order)
    rows = table.num_rows
    n_atoms = int(table.column("n_atoms")[0].as_py())
    n_strides = len(table.column("dt_fs")[0].as_py())
    if any(n != n_atoms for n in table.column("n_atoms").to_pylist()):
        raise ValueError(f"{root}: {config}/{split} mixes frames with different atom counts")
    col = table.column
    return SplitFrames(
        split=split,
        trajectory_id=np.asarray(col("trajectory_id").to_pylist()),
        thermostat_temperature_K=col("thermostat_temperature_K").to_numpy(),
        time_fs=col("time_fs").to_numpy(),
        species=_stack(col("species"), (rows, n_atoms), np.int64),
        positions=_stack(col("positions"), (rows, n_atoms, 3), np.float64),
        velocities=_stack(col("velocities"), (rows, n_atoms, 3), np.float64),
        descriptors=np.stack([_stack(col(name), (rows, n_atoms), np.float64) for name in DESCRIPTOR_NAMES], axis=-1),
        cell=_stack(col("cell"), (rows, 3, 3), np.float64),
        temperature_K=col("temperature_K").to_numpy(),
        volume_A3=col("volume_A3").to_numpy(),
        potential_energy_eV=col("potential_energy_eV").to_numpy(),
        kinetic_energy_eV=col("kinetic_energy_eV").to_numpy(),
        dt_fs=np.asarray(col("dt_fs")[0].as_py()),
        nve_target_displacement=_stack(col("nve_target_displacement"), (rows, n_strides, n_atoms, 3), np.float32),
        nve_target_velocities=_stack(col("nve_target_velocities"), (rows, n_strides, n_atoms, 3), np.float32),
        nve_target_total_energy_eV=(_stack(col("nve_target_potential_energy_eV"), (rows, n_strides), np.float64)
                                    + _stack(col("nve_target_kinetic_energy_eV"), (rows, n_strides), np.float64)),
        npt_target_displacement=_stack(col("npt_target_displacement"), (rows, n_strides, n_atoms, 3), np.float32),
        npt_target_velocities=_stack(col("npt_target_velocities"), (rows, n_strides, n_atoms, 3), np.float32),
    )


@dataclass
class NveWindow:
    """The NVE reference window of one trajectory (frames every ``nve_window_interval_fs``)."""

    trajectory_id: str
    split: str
    thermostat_temperature_K: float
    start_time_fs: float             # production time of frame 0 (the trajectory's first test anchor)
    time_fs: np.ndarray              # [F] since frame 0
    positions: np.ndarray            # [F,N,3] Å, unwrapped
    cell: np.ndarray                 # [3,3] Å
    temperature_K: np.ndarray        # [F]
    potential_energy_eV: np.ndarray  # [F]
    kinetic_energy_eV: np.ndarray    # [F]

    @property
    def total_energy_eV(self) -> np.ndarray:
        return self.potential_energy_eV + self.kinetic_energy_eV


def read_nve_windows(root: Path, config: str, split: str) -> dict[str, NveWindow]:
    """{trajectory_id: NveWindow} of one rollout split (test or test_temperature)."""
    manifest = read_manifest(Path(root))
    files = manifest["configs"][config].get("nve_window", {}).get(split, {}).get("files", [])
    if not files:
        raise ValueError(f"{root}: config {config!r} has no NVE reference windows for {split!r} (a dataset older than 2.0.0?)")
    windows = {}
    for name in files:
        table = pq.read_table(Path(root) / name)
        table = table.take(np.argsort(table.column("time_fs").to_numpy(), kind="stable"))
        frames, n_atoms = table.num_rows, int(table.column("n_atoms")[0].as_py())
        col = table.column
        trajectory = col("trajectory_id")[0].as_py()
        windows[trajectory] = NveWindow(
            trajectory_id=trajectory, split=col("split")[0].as_py(),
            thermostat_temperature_K=col("thermostat_temperature_K")[0].as_py(), start_time_fs=col("start_time_fs")[0].as_py(),
            time_fs=col("time_fs").to_numpy(), positions=_stack(col("positions"), (frames, n_atoms, 3), np.float64),
            cell=_stack(col("cell"), (frames, 3, 3), np.float64)[0], temperature_K=col("temperature_K").to_numpy(),
            potential_energy_eV=col("potential_energy_eV").to_numpy(), kinetic_energy_eV=col("kinetic_energy_eV").to_numpy(),
        )
    return windows
