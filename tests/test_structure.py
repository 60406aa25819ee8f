"""OVITO structure analysis (gnnbench.score.structure) against the code it replaced: the RDF
against a vesin pair histogram, the FCC fraction against LAMMPS compute cna/atom."""

from __future__ import annotations

import numpy as np
import pytest

from gnnbench.score.structure import FCC, fcc_fraction, mean_rdf, minimum_image_radius_A, rdf, structure_types

CUTOFF_A = 3.46  # the dataset's descriptor_cutoff_A (configs/mini.yaml)
RNG = np.random.default_rng(3)


def fcc_lattice(cells: int = 4, a0: float = 4.05):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    lattice = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    return ((lattice[:, None, :] + basis[None]) * a0).reshape(-1, 3), np.eye(3) * a0 * cells


def vesin_rdf(positions, cell, r_max, n_bins):
    """The scorer's previous RDF (gnnbench 2.0.0 metrics.radial_distribution), kept as the reference:
    g(r) = n(r) / (N ρ 4π/3 ((r+dr)³ − r³)), n(r) the ordered pairs (all periodic images) in the bin."""
    from vesin import NeighborList

    distances = NeighborList(cutoff=r_max, full_list=True).compute(points=positions, box=cell, periodic=True, quantities="d")[0]
    edges = np.linspace(0.0, r_max, n_bins + 1)
    counts, _ = np.histogram(distances, bins=edges)
    density = len(positions) / abs(np.linalg.det(cell))
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (len(positions) * density * shell)


@pytest.mark.parametrize("sigma_A", [0.0, 0.1, 0.3])
def test_ovito_rdf_equals_the_vesin_histogram_within_1e_9(sigma_A):
    """Perfect and thermally displaced (Gaussian σ = 0.1, 0.3 Å, ~300 K and far beyond) 256-atom
    FCC crystals, unwrapped positions: bins equal, max |Δg| < 1e-9 (measured ~1e-13)."""
    positions, cell = fcc_lattice()
    positions = positions + RNG.normal(scale=sigma_A, size=positions.shape) + 7.0  # some atoms outside the cell
    r, g = rdf(positions, cell, r_max_A=8.0, n_bins=160)
    r_ref, g_ref = vesin_rdf(positions, cell, 8.0, 160)
    np.testing.assert_allclose(r, r_ref, rtol=0, atol=1e-12)
    assert np.abs(g - g_ref).max() < 1e-9


def test_rdf_normalisation_g_tends_to_one_for_an_ideal_gas_and_counts_12_first_neighbours():
    """Same convention as before: ∫ρ g 4πr² dr over the first shell = 12 in FCC; g → 1 (±5 %)
    at large r for 4000 uniform random atoms."""
    positions, cell = fcc_lattice()
    r, g = rdf(positions, cell, r_max_A=6.0, n_bins=600)
    density, dr = len(positions) / np.linalg.det(cell), r[1] - r[0]
    assert (4 * np.pi * r**2 * density * g * dr)[r < 3.4].sum() == pytest.approx(12, abs=0.05)
    assert r[np.argmax(g)] == pytest.approx(4.05 / np.sqrt(2), abs=dr)
    gas_cell = np.eye(3) * 30.0
    r, g = mean_rdf(RNG.uniform(0, 30.0, size=(3, 4000, 3)), gas_cell, r_max_A=12.0, n_bins=12)
    assert np.abs(g[3:] - 1.0).max() < 0.05


def test_rdf_inputs_are_checked():
    positions, cell = fcc_lattice()
    assert minimum_image_radius_A(cell) == pytest.approx(8.1)
    with pytest.raises(ValueError, match="exceeds the cell's minimum-image radius 8.1000"):
        rdf(positions, cell, r_max_A=8.2, n_bins=10)
    with pytest.raises(TypeError):
        rdf(positions, cell, 6.0, 10)  # keyword-only
    bad = positions.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="not finite for 1 atoms"):
        rdf(bad, cell, r_max_A=6.0, n_bins=10)
    with pytest.raises(ValueError, match="n_bins must be a positive finite integer"):
        rdf(positions, cell, r_max_A=6.0, n_bins=10.0)
    with pytest.raises(ValueError, match="cell has no volume"):
        fcc_fraction(positions, np.zeros((3, 3)), cutoff_A=CUTOFF_A)
    with pytest.raises(ValueError, match="cutoff_A must be a positive"):
        fcc_fraction(positions, cell, cutoff_A=-1.0)


def test_fcc_fraction_is_one_for_a_crystal_and_about_zero_for_a_gas():
    positions, cell = fcc_lattice()
    assert fcc_fraction(positions, cell, cutoff_A=CUTOFF_A) == 1.0
    assert fcc_fraction(positions + RNG.normal(scale=0.05, size=positions.shape), cell, cutoff_A=CUTOFF_A) == 1.0
    gas = RNG.uniform(0, cell[0, 0], size=positions.shape)
    assert fcc_fraction(gas, cell, cutoff_A=CUTOFF_A) < 0.01


def test_fcc_fraction_equals_lammps_cna_atom_on_dataset_frames(tiny_dataset):
    """OVITO's fixed-cutoff CNA against LAMMPS compute cna/atom (lammps_eval.EamEvaluator) on the
    first and last frame of every test trajectory of the tiny data (300 K and 650 K): the same
    label for every atom (LAMMPS 0 unknown and 5 other are OVITO's 0), so |Δ FCC fraction| = 0.
    Also equal to the CNA stored in the dataset."""
    from gnnbench.generate.config import load_config
    from gnnbench.load.frames import read_split
    from gnnbench.score import lammps_eval
    from gnnbench.score.lammps_eval import EamEvaluator

    config = load_config(tiny_dataset / "recipes" / "tiny.yaml")
    assert config.descriptor_cutoff_A == CUTOFF_A
    evaluator = EamEvaluator(config, 256)
    compared = 0
    try:
        for split in ("test", "test_temperature"):
            frames = read_split(tiny_dataset, "tiny", split)
            for trajectory in frames.trajectories():
                for row in frames.rows_of(trajectory)[[0, -1]]:
                    positions, cell = frames.positions[row], frames.cell[row]
                    lammps = evaluator.evaluate(positions, cell, descriptors=True)["descriptors"][:, 1].astype(int)
                    ovito = structure_types(positions, cell, cutoff_A=config.descriptor_cutoff_A)
                    np.testing.assert_array_equal(np.where(lammps == 5, 0, lammps), ovito)
                    np.testing.assert_array_equal(lammps, frames.descriptors[row, :, 1])
                    assert fcc_fraction(positions, cell, cutoff_A=CUTOFF_A) == np.mean(lammps == lammps_eval.FCC)
                    assert FCC == lammps_eval.FCC
                    compared += 1
    finally:
        evaluator.close()
    assert compared == 4
