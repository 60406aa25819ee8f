"""Print the barostat-floor table of DATASET_CARD.md, measured on a built dataset.

    python scripts/barostat_floor.py [--data datasets/al-eam] [--config mini] [--splits test,test_temperature]

For every anchor of the chosen splits and Δt in {1, 10, 50} fs it compares, as the RMSE of the
per-atom displacement vector sqrt(mean_i |e_i|²) in Å over all anchors:

* the affine (barostat) part of the NPT-continuation target, (r − c)(L_target / L − 1) for the
  isotropic, orthogonal cell of the data (c = the box centre, about which LAMMPS rescales);
* velocity-Verlet with the true EAM forces, one step of Δt (k = 1) and the exact integrator (steps of the
  recipe's nve_timestep_fs, the targets' own),
  against the NPT continuation, the NPT continuation minus its affine part, and the NVE branch;
* constant velocity r + vΔt against the NVE branch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tabulate import tabulate

from gnnbench.generate.config import load_config
from gnnbench.load.frames import read_split
from gnnbench.package.manifest import read_manifest
from gnnbench.score.verlet import VerletEam
from gnnbench.units import PS_PER_FS

DTS = (1, 10, 50)


def rmse(squared_errors: list[float]) -> str:
    return f"{np.sqrt(np.mean(squared_errors)):.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("datasets/al-eam"))
    parser.add_argument("--config", default="mini")
    parser.add_argument("--splits", default="train,validation,test,test_temperature")
    args = parser.parse_args()
    started = time.perf_counter()
    config = load_config(args.data / "recipes" / f"{args.config}.yaml")
    rows = ("affine", "k1_npt", "k1_npt_minus_affine", "k1_nve", "exact_npt", "exact_npt_minus_affine", "exact_nve", "cv_nve")
    squared = {(name, dt): [] for name in rows for dt in DTS}
    n_anchors, n_atoms = 0, 0
    for split in args.splits.split(","):
        frames = read_split(args.data, args.config, split)
        cells = _target_cells(args.data, read_manifest(args.data)["configs"][args.config]["splits"][split]["files"])  # not in SplitFrames
        verlet = VerletEam(config, frames.n_atoms)
        dt_index = {dt: list(frames.dt_fs).index(dt) for dt in DTS}
        for row in range(frames.n_anchors):
            r0, v0, cell = frames.positions[row], frames.velocities[row], frames.cell[row]
            key = (frames.trajectory_id[row], float(frames.time_fs[row]))
            centre = np.asarray(cells[key]["origin"]) + np.diag(cell) / 2
            exact = dict(zip(DTS, verlet.along(r0, v0, cell, DTS, timestep_fs=config.nve_timestep_fs), strict=True))
            for dt in DTS:
                k = dt_index[dt]
                strain = np.diag(np.asarray(cells[key]["target_cells"][k])) / np.diag(cell) - 1.0
                affine = (r0 - centre) * strain
                npt, nve = frames.npt_target_displacement[row, k], frames.nve_target_displacement[row, k]
                one_step = verlet.advance(r0, v0, cell, float(dt), 1)[0] - r0
                err = lambda a, b: float(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).sum(-1).mean())  # noqa: E731
                squared[("affine", dt)].append(err(affine, 0.0))
                squared[("k1_npt", dt)].append(err(one_step, npt))
                squared[("k1_npt_minus_affine", dt)].append(err(one_step, npt - affine))
                squared[("k1_nve", dt)].append(err(one_step, nve))
                squared[("exact_npt", dt)].append(err(exact[dt][0] - r0, npt))
                squared[("exact_npt_minus_affine", dt)].append(err(exact[dt][0] - r0, npt - affine))
                squared[("exact_nve", dt)].append(err(exact[dt][0] - r0, nve))
                squared[("cv_nve", dt)].append(err(v0 * dt * PS_PER_FS, nve))
        verlet.close()
        n_anchors += frames.n_anchors
        n_atoms = frames.n_atoms
    labels = {
        "affine": "affine (barostat) part of the NPT-continuation target",
        "k1_npt": "Verlet k=1 (one step of Δt, true EAM) vs NPT continuation",
        "k1_npt_minus_affine": "Verlet k=1 vs NPT continuation minus its affine part",
        "k1_nve": "Verlet k=1 vs NVE branch",
        "exact_npt": f"Verlet at {config.nve_timestep_fs:g} fs (exact integrator) vs NPT continuation",
        "exact_npt_minus_affine": f"Verlet at {config.nve_timestep_fs:g} fs vs NPT continuation minus its affine part",
        "exact_nve": f"Verlet at {config.nve_timestep_fs:g} fs vs NVE branch",
        "cv_nve": "constant velocity r + vΔt vs NVE branch",
    }
    print(f"{args.config} ({n_anchors} anchors × {n_atoms} atoms, splits {args.splits}): "
          "RMSE of the per-atom displacement vector, sqrt(mean_i |e_i|²), in Å")
    print(tabulate([[labels[name]] + [rmse(squared[(name, dt)]) for dt in DTS] for name in rows],
                   headers=["Δt"] + [f"{dt} fs" for dt in DTS], tablefmt="github", disable_numparse=True))
    print(f"({time.perf_counter() - started:.0f} s)")


def _target_cells(root: Path, files: list[str]) -> dict:
    """{(trajectory, anchor time): {"origin": cell origin, "target_cells": NPT cells at every Δt}}."""
    out = {}
    for name in files:
        table = pq.read_table(root / name, columns=["trajectory_id", "time_fs", "cell_origin", "npt_target_cell"]).to_pylist()
        for row in table:
            out[(row["trajectory_id"], float(row["time_fs"]))] = {"origin": row["cell_origin"], "target_cells": row["npt_target_cell"]}
    return out


if __name__ == "__main__":
    main()
