"""Read one split of a built dataset into stacked numpy arrays (the scorer's view).

The scorer reads the shards listed in ``manifest.json`` directly with pyarrow — the same
files ``load_dataset`` reads — so it can record exactly which dataset revision it scored.
All rows of a config have the same atom count N and strides K, so arrays stack:
R anchors -> ``positions`` [R,N,3], ``target_displacement`` [R,K,N,3], ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..package.manifest import read_manifest

DESCRIPTOR_NAMES = ("csp", "cna", "q4", "q6", "cn")


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
    dt_fs: np.ndarray                # [K]
    target_displacement: np.ndarray  # [R,K,N,3] Å, float32
    target_velocities: np.ndarray    # [R,K,N,3] Å/ps, float32

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
        dt_fs=np.asarray(col("dt_fs")[0].as_py()),
        target_displacement=_stack(col("target_displacement"), (rows, n_strides, n_atoms, 3), np.float32),
        target_velocities=_stack(col("target_velocities"), (rows, n_strides, n_atoms, 3), np.float32),
    )
