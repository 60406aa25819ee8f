"""Turn one simulated trajectory (dumps + thermo) into parquet shards, one per split.

Shard names follow the Hugging Face layout ``data/<config>/<split>-T<temperature>K.parquet``,
so the dataset card's ``data_files`` globs (``data/mini/train-*.parquet``) pick them up. The NVE
reference windows are a second card config: ``data/<config>/nve_window/<split>-T<temperature>K.parquet``.
Shards are written to a temporary name and renamed, so a killed build never leaves a
half-written shard under its final name. Writing is deterministic: the same frames give the
same bytes (no timestamps; fixed row groups, compression and encodings).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..generate.config import BuildConfig
from ..generate.dump_reader import LammpsDumpReader
from .schema import SCHEMA, WINDOW_SCHEMA
from .splits import SPLITS, split_of, target_offsets

ALUMINIUM_Z = 13
DESCRIPTOR_COLUMNS = {"csp": "c_csp", "cna": "c_cna", "q4": "c_q[1]", "q6": "c_q[2]", "cn": "c_cn"}


def trajectory_id(temperature_K: float) -> str:
    return f"T{int(round(temperature_K)):04d}K"


def shard_path(config: BuildConfig, split: str, temperature_K: float) -> str:
    """Path of a shard relative to the dataset root."""
    return f"data/{config.name}/{split}-{trajectory_id(temperature_K)}.parquet"


def read_thermo(path: Path) -> dict[int, dict[str, float]]:
    """{step: {quantity: value}} of a thermo CSV written by the simulation."""
    with open(path, newline="") as handle:
        return {int(row["step"]): {k: float(v) for k, v in row.items() if k not in ("step", "anchor_step")}
                for row in csv.DictReader(handle)}


def _frames_after(anchor, dump: LammpsDumpReader, offsets: list[int], steps_per_step: int = 1) -> list:
    """The frames of ``dump`` at anchor + each offset (production steps), checked to hold the anchor's
    atoms. ``steps_per_step``: the dump's TIMESTEP counts that many of its steps per production step
    (the NVE targets' ``config.nve_substeps``)."""
    frames = [dump[dump.index_of((anchor.timestep + o) * steps_per_step)] for o in offsets]
    for frame in frames:
        if not np.array_equal(frame.ids, anchor.ids):
            raise ValueError(f"{dump.path}: atom ids at step {frame.timestep} differ from the anchor's")
    return frames


def trajectory_rows(config: BuildConfig, temperature_K: float, work_dir: Path) -> dict[str, list[dict]]:
    """Rows (dicts following :data:`SCHEMA`) of one trajectory, grouped by split."""
    anchors = LammpsDumpReader(work_dir / "anchors.dump", required=("id", "type", "positions", "vx", *DESCRIPTOR_COLUMNS.values()))
    npt_targets = LammpsDumpReader(work_dir / "targets.dump", required=("id", "positions", "vx", "vy", "vz"))
    nve_targets = LammpsDumpReader(work_dir / "nve_targets.dump", required=("id", "positions", "vx", "vy", "vz"))
    thermo = read_thermo(work_dir / "thermo.csv")
    nve_thermo = read_thermo(work_dir / "nve_thermo.csv")
    offsets = target_offsets(config)
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for anchor in anchors:
        split = split_of(config, temperature_K, anchor.timestep)
        if split is None:
            raise ValueError(f"{anchors.path}: frame at step {anchor.timestep} belongs to no split")
        r0 = anchor.unwrapped_positions()
        npt = _frames_after(anchor, npt_targets, offsets)
        nve = _frames_after(anchor, nve_targets, offsets, config.nve_substeps)
        th0 = thermo[anchor.timestep]
        th = [thermo[f.timestep] for f in npt]
        nve_th = [nve_thermo[anchor.timestep + o] for o in offsets]  # its step column is in production steps
        row = {
            "trajectory_id": trajectory_id(temperature_K),
            "split": split,
            "thermostat_temperature_K": float(temperature_K),
            "anchor_index": anchor.timestep // round(config.anchor_interval_fs / config.timestep_fs),
            "step": anchor.timestep,
            "time_fs": anchor.timestep * config.timestep_fs,
            "n_atoms": len(r0),
            "atom_id": anchor.ids.astype(np.int32),
            "species": np.full(len(r0), ALUMINIUM_Z, np.int8),
            "positions": r0,
            "velocities": anchor.velocities(),
            "csp": anchor.column("c_csp").astype(np.float32),
            "cna": anchor.column("c_cna").astype(np.int8),
            "q4": anchor.column("c_q[1]").astype(np.float32),
            "q6": anchor.column("c_q[2]").astype(np.float32),
            "cn": anchor.column("c_cn").astype(np.int16),
            "cell": anchor.cell,
            "cell_origin": anchor.origin,
            "temperature_K": th0["temp"],
            "pressure_bar": th0["press"],
            "volume_A3": th0["vol"],
            "potential_energy_eV": th0["pe"],
            "kinetic_energy_eV": th0["ke"],
            "dt_fs": np.asarray(config.dt_fs, np.int32),
            "target_time_fs": [f.timestep * config.timestep_fs for f in npt],
            "nve_target_displacement": np.stack([f.unwrapped_positions() - r0 for f in nve]).astype(np.float32),
            "nve_target_velocities": np.stack([f.velocities() for f in nve]).astype(np.float32),
            "nve_target_temperature_K": [t["temp"] for t in nve_th],
            "nve_target_potential_energy_eV": [t["pe"] for t in nve_th],
            "nve_target_kinetic_energy_eV": [t["ke"] for t in nve_th],
            "npt_target_displacement": np.stack([f.unwrapped_positions() - r0 for f in npt]).astype(np.float32),
            "npt_target_velocities": np.stack([f.velocities() for f in npt]).astype(np.float32),
            "npt_target_cell": np.stack([f.cell for f in npt]),
            "npt_target_temperature_K": [t["temp"] for t in th],
            "npt_target_pressure_bar": [t["press"] for t in th],
            "npt_target_volume_A3": [t["vol"] for t in th],
            "npt_target_potential_energy_eV": [t["pe"] for t in th],
            "npt_target_kinetic_energy_eV": [t["ke"] for t in th],
        }
        rows[split].append(row)
    return rows


def window_rows(config: BuildConfig, temperature_K: float, work_dir: Path) -> tuple[str, list[dict]]:
    """(split, rows following :data:`WINDOW_SCHEMA`) of this trajectory's NVE reference window."""
    window = LammpsDumpReader(work_dir / "nve_window.dump", required=("id", "positions"))
    thermo = read_thermo(work_dir / "nve_window.csv")
    start = window[0]
    split = split_of(config, temperature_K, start.timestep)
    rows = []
    for frame in window:
        if not np.array_equal(frame.ids, start.ids):
            raise ValueError(f"{window.path}: atom ids at step {frame.timestep} differ from the window's first frame")
        th = thermo[frame.timestep]
        rows.append({
            "trajectory_id": trajectory_id(temperature_K),
            "split": split,
            "thermostat_temperature_K": float(temperature_K),
            "start_time_fs": start.timestep * config.timestep_fs,
            "time_fs": (frame.timestep - start.timestep) * config.timestep_fs,
            "n_atoms": len(frame.ids),
            "positions": frame.unwrapped_positions().astype(np.float32),
            "cell": frame.cell,
            "temperature_K": th["temp"],
            "potential_energy_eV": th["pe"],
            "kinetic_energy_eV": th["ke"],
        })
    return split, rows


def rows_to_table(rows: list[dict], schema: pa.Schema = SCHEMA) -> pa.Table:
    """Arrow table with ``schema``; numpy arrays become (nested) lists column by column."""
    columns = {}
    for field in schema:
        values = [row[field.name] for row in rows]
        columns[field.name] = pa.array([v.tolist() if isinstance(v, np.ndarray) else v for v in values], type=field.type)
    return pa.table(columns, schema=schema)


def window_shard_path(config: BuildConfig, split: str, temperature_K: float) -> str:
    """Path of an NVE reference window shard relative to the dataset root."""
    return f"data/{config.name}/nve_window/{split}-{trajectory_id(temperature_K)}.parquet"


def write_shard(table: pa.Table, path: Path, rows_per_row_group: int) -> None:
    """Write deterministically, to a temporary name first, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(
        table,
        tmp,
        row_group_size=rows_per_row_group,
        compression="zstd",
        compression_level=9,
        use_dictionary=["trajectory_id", "split"],
        use_byte_stream_split=[f.name for f in table.schema if _is_float(f.type)],
        write_statistics=False,
    )
    os.replace(tmp, path)


def _is_float(arrow_type: pa.DataType) -> bool:
    while pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_floating(arrow_type)


def write_trajectory_shards(config: BuildConfig, temperature_K: float, work_dir: Path, root: Path) -> dict[str, int]:
    """Write this trajectory's shards under ``root``; return {relative path: row count}."""
    written = {}
    for split, rows in trajectory_rows(config, temperature_K, work_dir).items():
        if not rows:
            continue
        relative = shard_path(config, split, temperature_K)
        write_shard(rows_to_table(rows), root / relative, config.rows_per_row_group)
        written[relative] = len(rows)
    if (work_dir / "nve_window.dump").is_file():
        split, rows = window_rows(config, temperature_K, work_dir)
        relative = window_shard_path(config, split, temperature_K)
        write_shard(rows_to_table(rows, WINDOW_SCHEMA), root / relative, config.rows_per_row_group)
        written[relative] = len(rows)
    return written
