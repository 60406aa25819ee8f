"""``gnnbench data convert`` on dumps it cannot trust: duplicate atom ids, atom ids that change between
frames, non-finite positions, velocities or box, non-integer ids or types. Each is refused naming
the file, the frame and its timestep, and nothing is written."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gnnbench.cli import main

HEADER = "ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 {box}\n0 10\n0 10\nITEM: ATOMS id type xu yu zu vx vy vz\n"


def convert(tmp_path, frames: list[tuple[int, list[str]]], box: str = "10"):
    dump = tmp_path / "hostile.dump"
    dump.write_text("".join(HEADER.format(step=step, n=len(lines), box=box) + "".join(f"{line}\n" for line in lines)
                            for step, lines in frames))
    result = CliRunner().invoke(main, ["data", "convert", str(dump), "-o", str(tmp_path / "out")])
    return result, dump


GOOD = ["1 1 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"]


@pytest.mark.parametrize("frames, box, message", [
    ([(0, ["1 1 1 1 1 0 0 0", "1 1 2 2 2 0 0 0"])], "10", "frame 0 (timestep 0) has duplicate atom ids: 1"),
    ([(0, GOOD), (10, ["1 1 1 1 1 0 0 0", "3 1 2 2 2 0 0 0"])], "10",
     "frame 1 (timestep 10) has other atom ids than frame 0 (1 gone: 2; 1 new: 3)"),
    ([(0, GOOD), (10, GOOD[:1])], "10", "frame 1 (timestep 10) has other atom ids than frame 0 (1 gone: 2; 0 new: none)"),
    ([(0, GOOD), (10, ["1 1 nan 1 1 0 0 0", "2 1 2 2 2 0 0 0"])], "10", "frame 1 (timestep 10) has non-finite positions (NaN or inf) "
                                                                       "(atom ids 1)"),
    ([(0, ["1 1 1 1 1 0 0 0", "2 1 2 2 2 0 inf 0"])], "10", "frame 0 (timestep 0) has non-finite velocities (NaN or inf) (atom ids 2)"),
    ([(0, GOOD)], "nan", "frame 0 (timestep 0) has non-finite box (NaN or inf)"),
    ([(0, ["1 nan 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"])], "10", "frame 0 (timestep 0) has a non-integer or non-finite atom type"),
    ([(0, ["1.5 1 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"])], "10", "frame 0 (timestep 0) has a non-integer or non-finite atom id"),
])
def test_data_convert_refuses_a_dump_it_cannot_trust(tmp_path, frames, box, message):
    result, dump = convert(tmp_path, frames, box)
    assert result.exit_code == 1, result.output
    assert f"{dump}: {message}" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing written, not even the folder


def test_data_convert_still_converts_a_good_dump(tmp_path):
    result, _ = convert(tmp_path, [(0, GOOD), (10, GOOD[::-1])])
    assert result.exit_code == 0 and "2 frames" in result.output
    rows = pq.read_table(tmp_path / "out" / "hostile.dump.parquet").to_pylist()
    assert [r["atom_id"] for r in rows] == [[1, 2], [1, 2]]
    np.testing.assert_allclose(rows[1]["positions"], [[1, 1, 1], [2, 2, 2]])
