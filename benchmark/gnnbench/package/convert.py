"""``gnnbench data convert``: a user's LAMMPS dump -> parquet frames, via the build's reader.

One row per frame: ``timestep``, ``n_atoms``, ``atom_id`` [N], ``type`` [N], unwrapped
``positions`` [N,3] (Å in ``units metal``), ``velocities`` [N,3] (Å/ps) unless
``velocities=False``, ``cell`` [3,3] (rows a, b, c), ``cell_origin`` [3], and every other
per-atom column of the dump as a float64 list named after it (``c_csp`` -> ``c_csp``,
``c_q[1]`` -> ``c_q_1``). The whole file is indexed and checked before anything is written,
and the output appears under its final name only when complete.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..generate.dump_reader import LammpsDumpReader

POSITION_AND_VELOCITY = {"id", "type", "x", "y", "z", "xu", "yu", "zu", "xs", "ys", "zs", "ix", "iy", "iz", "vx", "vy", "vz"}


def _column_name(name: str) -> str:
    return re.sub(r"\[(\d+)\]", r"_\1", name)


def convert_dump(path: Path, out_dir: Path, velocities: bool = True) -> tuple[Path, int]:
    """Convert one dump; return (output path, frame count)."""
    required = ("id", "type", "positions") + (("vx", "vy", "vz") if velocities else ())
    reader = LammpsDumpReader(path, required=required)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{Path(path).name.removesuffix('.gz')}.parquet"
    tmp = target.with_name(target.name + ".tmp")
    writer = None
    try:
        for frame in reader:
            row = {
                "timestep": [frame.timestep],
                "n_atoms": [len(frame.ids)],
                "atom_id": [frame.ids.tolist()],
                "type": [frame.column("type").astype(int).tolist()],
                "positions": [frame.unwrapped_positions().tolist()],
                "cell": [frame.cell.tolist()],
                "cell_origin": [frame.origin.tolist()],
            }
            if velocities:
                row["velocities"] = [frame.velocities().tolist()]
            for name, values in frame.data.items():
                if name not in POSITION_AND_VELOCITY:
                    row[_column_name(name)] = [values.tolist()]
            table = pa.table(row)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            elif table.schema != writer.schema:
                raise ValueError(f"{path}: frame {frame.index} (timestep {frame.timestep}) has different columns from frame 0")
            writer.write_table(table)
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return target, len(reader)
