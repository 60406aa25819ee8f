"""Build configurations: one YAML file per dataset config (``mini``, ``full``).

A config fixes everything that determines the data: system size, potential, thermostat,
run lengths, anchor spacing, strides, temperatures, split fractions and the random seed.
Two builds from the same config file produce byte-identical shards.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..units import PAPER_CUTOFF_A, PS_PER_FS

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class BuildConfig:
    """One dataset config. Lengths in Å, times in fs or ps as the field name says."""

    name: str
    description: str
    cells: tuple[int, int, int]
    lattice_constant_A: float
    potential: str
    pair_style: str
    mass_amu: float
    timestep_fs: float
    nve_timestep_fs: float
    thermostat_damping_fs: float
    barostat_damping_fs: float
    pressure_bar: float
    initial_velocity_factor: float
    equilibration_ps: float
    production_ps: float
    anchor_interval_fs: int
    dt_fs: tuple[int, ...]
    train_temperatures_K: tuple[float, ...]
    held_out_temperatures_K: tuple[float, ...]
    split_fractions: dict
    split_gap_fs: int
    descriptor_cutoff_A: float
    nve_window_ps: float
    nve_window_interval_fs: int
    seed: int
    rows_per_row_group: int
    source_text: str = dataclasses.field(default="", compare=False, repr=False)
    path: Path | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def n_atoms(self) -> int:
        """FCC: 4 atoms per conventional cell."""
        return 4 * self.cells[0] * self.cells[1] * self.cells[2]

    @property
    def temperatures_K(self) -> tuple[float, ...]:
        return tuple(sorted(self.train_temperatures_K + self.held_out_temperatures_K))

    @property
    def equilibration_steps(self) -> int:
        return round(self.equilibration_ps / PS_PER_FS / self.timestep_fs)

    @property
    def production_steps(self) -> int:
        return round(self.production_ps / PS_PER_FS / self.timestep_fs)

    @property
    def nve_window_steps(self) -> int:
        return round(self.nve_window_ps / PS_PER_FS / self.timestep_fs)

    @property
    def nve_substeps(self) -> int:
        """NVE-branch steps (of ``nve_timestep_fs``) per production step (of ``timestep_fs``)."""
        return round(self.timestep_fs / self.nve_timestep_fs)

    @property
    def sha256(self) -> str:
        """Hash of the config file's text: the card and manifest record which recipe was used."""
        return hashlib.sha256(self.source_text.encode()).hexdigest()

    def seed_for(self, temperature_K: float) -> int:
        """Velocity seed of one trajectory (LAMMPS needs a positive int)."""
        return self.seed + int(round(temperature_K * 10))

    def is_held_out(self, temperature_K: float) -> bool:
        return temperature_K in self.held_out_temperatures_K


def load_config(name_or_path: str | Path) -> BuildConfig:
    """Load a packaged config by name (``mini``, ``full``) or any YAML file by path.

    Unknown or missing keys are errors, so a typo cannot silently fall back to a default.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no dataset config {str(name_or_path)!r} (packaged configs: {known})")
    text = path.read_text()
    raw = yaml.safe_load(text)
    fields = {f.name for f in dataclasses.fields(BuildConfig)} - {"source_text", "path"}
    unknown, missing = set(raw) - fields, fields - set(raw)
    if unknown or missing:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    for key in ("cells", "dt_fs", "train_temperatures_K", "held_out_temperatures_K"):
        raw[key] = tuple(raw[key])
    config = BuildConfig(**raw, source_text=text, path=path.resolve())
    _check(config, path)
    return config


def _check(config: BuildConfig, path: Path) -> None:
    if set(config.train_temperatures_K) & set(config.held_out_temperatures_K):
        raise ValueError(f"{path}: a temperature is both a training and a held-out temperature")
    if max(config.dt_fs) >= config.anchor_interval_fs:
        raise ValueError(f"{path}: the largest Δt must be shorter than the anchor interval")
    if abs(sum(config.split_fractions.values()) - 1) > 1e-9:
        raise ValueError(f"{path}: split fractions must add up to 1")
    if config.nve_timestep_fs <= 0 or abs(config.timestep_fs / config.nve_timestep_fs - config.nve_substeps) > 1e-9:
        raise ValueError(f"{path}: nve_timestep_fs must divide timestep_fs into a whole number of steps")
    if config.nve_window_interval_fs > 10 or config.nve_window_ps < 2:
        raise ValueError(f"{path}: the NVE reference window must cover at least 2 ps at 10 fs resolution or finer")
    if min(config.cells) * config.lattice_constant_A < 2 * PAPER_CUTOFF_A:
        raise ValueError(f"{path}: the box is smaller than twice the {PAPER_CUTOFF_A} Å model cutoff")
