"""Units of the benchmark, and the one length it takes from the reference paper.

Everything inside the data, the models and the scorer is in LAMMPS ``metal`` units: lengths in
Å, times in ps, energies in eV, velocities in Å/ps, temperatures in K, pressures in bar. Strides
Δt are given in fs at the API (a submission's ``dt_fs``), as are the configs' ``*_fs`` fields, so
a ballistic displacement is ``v [Å/ps] · Δt [fs] · PS_PER_FS``.
"""

PS_PER_FS = 1e-3
"""ps per fs: converts an API time (fs) to the metal-unit time (ps)."""

PAPER_CUTOFF_A = 6.287
"""The reference paper's graph cutoff R_cutoff (Å; its Table 3 and section 2.2): the default
neighbour radius of the PyG view and of the reference model, and why a dataset's box must be
wider than twice it (minimum image)."""

FTM2V = 1.0 / 1.0364269e-4
"""(Å/ps²) per (eV/Å/amu): converts force / mass to an acceleration in metal units, LAMMPS's
``force->ftm2v`` (= 1/mvv2e, ≈ 9648.5)."""

PS_IN_ASE_TIME = 98.22694788464063
"""1 ps in ASE's time unit Å·(u/eV)^½ (``1000 * ase.units.fs``, CODATA 2014; tests/test_extxyz.py checks it
against ASE): ASE and metatomic momenta are p = m v / PS_IN_ASE_TIME in (eV·u)^½ with v in Å/ps and m in u."""
