"""Stored per-atom descriptors equal OVITO's analysis of the same stored frame."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from gnnbench.generate.config import load_config


def ovito_csp_and_cna(positions: np.ndarray, cell: np.ndarray, origin: np.ndarray, cna_cutoff: float):
    from ovito.data import DataCollection
    from ovito.modifiers import CentroSymmetryModifier, CommonNeighborAnalysisModifier
    from ovito.pipeline import Pipeline, StaticSource

    data = DataCollection()
    matrix = np.zeros((3, 4))
    matrix[:, :3] = cell.T  # OVITO: columns are the cell vectors, last column the origin
    matrix[:, 3] = origin
    data.create_cell(matrix, pbc=(True, True, True))
    particles = data.create_particles(count=len(positions))
    particles.create_property("Position", data=positions)
    pipeline = Pipeline(source=StaticSource(data=data))
    pipeline.modifiers.append(CentroSymmetryModifier(num_neighbors=12, mode=CentroSymmetryModifier.Mode.Conventional))
    pipeline.modifiers.append(CommonNeighborAnalysisModifier(mode=CommonNeighborAnalysisModifier.Mode.FixedCutoff, cutoff=cna_cutoff))
    out = pipeline.compute()
    return np.asarray(out.particles["Centrosymmetry"]), np.asarray(out.particles["Structure Type"])


@pytest.mark.parametrize("shard", ["test-T0005K", "test-T0800K", "test_temperature-T0750K"])
def test_stored_csp_and_cna_equal_ovito_on_the_same_frame(mini_dataset, shard):
    config = load_config("mini")
    rows = pq.read_table(mini_dataset / "data" / "mini" / f"{shard}.parquet").to_pylist()
    for row in (rows[0], rows[-1]):
        cell = np.asarray(row["cell"])
        origin = np.asarray(row["cell_origin"])
        positions = np.asarray(row["positions"])
        wrapped = origin + np.mod(positions - origin, np.diag(cell))  # OVITO wants atoms inside the cell
        csp, cna = ovito_csp_and_cna(wrapped, cell, origin, config.descriptor_cutoff_A)
        np.testing.assert_allclose(np.asarray(row["csp"]), csp, rtol=1e-5, atol=1e-5)
        # LAMMPS: 0 unknown (not 12 or 14 neighbours), 1 fcc, 2 hcp, 3 bcc, 4 ico, 5 other;
        # OVITO folds unknown and other into 0 ("Other")
        lammps_cna = np.asarray(row["cna"])
        np.testing.assert_array_equal(np.where(lammps_cna == 5, 0, lammps_cna), cna)
        assert np.std(csp) > 0  # a thermal frame, not a perfect lattice
