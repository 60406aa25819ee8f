"""Write a gnnbench-contract model as a metatomic ``AtomisticModel`` in FlashMD's convention.

So that a model trained here runs where the field's learned integrators run: FlashMD's ASE
integrators, LAMMPS ``fix metatomic``, i-PI. The wrapper :class:`ContractAsFlashMD` answers
metatomic's call on a list of ``System`` with one call of the contract model (SUBMISSION.md):

    v_i = p_i T_ASE / m_i            [Å/ps]   p_i: the system's "momentum" data [(eV·u)^½], m_i [u]
    (r', v') = step(r, v, Z, batch, cell, descriptors = 0, Δt = timestep, T = NaN)
    outputs  "position" = r' [Å],  "momentum" = p'_i = m_i v'_i / T_ASE  [(eV·u)^½], per atom

with T_ASE = :data:`gnnbench.units.PS_IN_ASE_TIME` (1 ps in ASE's time unit). As in metatrain's
FlashMD models, the timestep (fs) and the masses (u, indexed by atomic number, NaN where unknown)
are the buffers ``timestep`` and ``masses`` of the wrapped module, which engines read.

Only models that read neither the descriptors nor the thermostat's temperature can be written:
metatomic engines give neither (:func:`check_engine_independent` calls the model twice to make sure).
Needs the optional extra ``pip install "gnnbench[metatomic]"``.
"""

from pathlib import Path
from typing import Dict, List, Optional

import metatomic.torch as mta
import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import ModelOutput, System
from torch import Tensor

from ..units import PS_IN_ASE_TIME


class ContractAsFlashMD(torch.nn.Module):
    """A contract model behind metatomic's interface, with FlashMD's ``position``/``momentum`` outputs."""

    def __init__(self, step: torch.nn.Module, timestep_fs: float, masses_u: Dict[int, float]):
        super().__init__()
        self.step = step
        by_number = torch.full((max(masses_u) + 1,), float("nan"), dtype=torch.float64)
        for z, mass in masses_u.items():
            by_number[z] = mass
        self.register_buffer("timestep", torch.tensor(float(timestep_fs), dtype=torch.float64))
        self.register_buffer("masses", by_number)
        self.ps_in_ase_time = PS_IN_ASE_TIME

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {"momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom")}

    def forward(self, systems: List[System], outputs: Dict[str, ModelOutput],
                selected_atoms: Optional[Labels] = None) -> Dict[str, TensorMap]:
        if selected_atoms is not None:
            raise ValueError("this model moves every atom: selected_atoms (domain decomposition) is not supported")
        positions: List[Tensor] = []
        velocities: List[Tensor] = []
        species: List[Tensor] = []
        batch: List[Tensor] = []
        cells: List[Tensor] = []
        for index, system in enumerate(systems):
            z = system.types.to(torch.int64)
            mass = self.masses[z].unsqueeze(-1)
            momentum = system.get_data("momentum").block().values.squeeze(-1).to(torch.float64)
            positions.append(system.positions.to(torch.float64))
            velocities.append(momentum * self.ps_in_ase_time / mass)
            species.append(z)
            batch.append(torch.full((z.shape[0],), index, dtype=torch.int64, device=z.device))
            cells.append(system.cell.to(torch.float64))
        r = torch.cat(positions)
        n_systems = len(systems)
        answer = self.step(r, torch.cat(velocities), torch.cat(species), torch.cat(batch), torch.stack(cells),
                           torch.zeros((r.shape[0], 5), dtype=torch.float64, device=r.device),
                           self.timestep.repeat(n_systems), torch.full((n_systems,), float("nan"), dtype=torch.float64, device=r.device))
        new_r = answer["positions"]
        new_v = answer["velocities"]
        dtype = systems[0].positions.dtype
        results: Dict[str, TensorMap] = {}
        start = 0
        r_blocks: List[Tensor] = []
        p_blocks: List[Tensor] = []
        for system in systems:
            n = system.positions.shape[0]
            z = system.types.to(torch.int64)
            r_blocks.append(new_r[start:start + n])
            p_blocks.append(self.masses[z].unsqueeze(-1) * new_v[start:start + n] / self.ps_in_ase_time)
            start += n
        if "position" in outputs:
            results["position"] = _joined(r_blocks, "position", dtype)
        if "momentum" in outputs:
            results["momentum"] = _joined(p_blocks, "momentum", dtype)
        return results


def _joined(blocks: List[Tensor], name: str, dtype: torch.dtype) -> TensorMap:
    """One TensorMap over all systems: samples (system, atom), components xyz, one property."""
    values: List[Tensor] = []
    samples: List[Tensor] = []
    for index, block in enumerate(blocks):
        n = block.shape[0]
        values.append(block.to(dtype))
        samples.append(torch.stack([torch.full((n,), index, dtype=torch.int32, device=block.device),
                                    torch.arange(n, dtype=torch.int32, device=block.device)], 1))
    device = values[0].device
    block = TensorBlock(values=torch.cat(values).unsqueeze(-1), samples=Labels(["system", "atom"], torch.cat(samples)),
                        components=[Labels(["xyz"], torch.arange(3, dtype=torch.int32, device=device).reshape(-1, 1))],
                        properties=Labels([name], torch.zeros((1, 1), dtype=torch.int32, device=device)))
    return TensorMap(Labels(["_"], torch.zeros((1, 1), dtype=torch.int32, device=device)), [block])


def check_engine_independent(step: torch.nn.Module) -> None:
    """Refuse a model whose answer depends on the descriptors or the temperature set-point: a metatomic
    engine provides neither. Two calls on one small random crystal-like input must agree exactly."""
    generator = torch.Generator().manual_seed(0)
    n = 32
    cell = torch.eye(3, dtype=torch.float64) * 8.1
    positions = torch.rand((n, 3), generator=generator, dtype=torch.float64) * 8.1
    velocities = torch.randn((n, 3), generator=generator, dtype=torch.float64) * 5.0
    species = torch.full((n,), 13, dtype=torch.int64)
    batch = torch.zeros(n, dtype=torch.int64)
    dt = torch.tensor([10.0], dtype=torch.float64)
    with torch.no_grad():
        a = step(positions, velocities, species, batch, cell[None], torch.zeros((n, 5), dtype=torch.float64), dt,
                 torch.tensor([300.0], dtype=torch.float64))
        b = step(positions, velocities, species, batch, cell[None], torch.rand((n, 5), generator=generator, dtype=torch.float64),
                 dt, torch.tensor([float("nan")], dtype=torch.float64))
    for key in ("positions", "velocities"):
        if key not in a or not torch.equal(a[key], b[key]):
            raise ValueError(f"the model's {key} depend on the descriptors or the temperature set-point (or it returns no "
                             f"{key}): a metatomic engine provides neither, so it cannot be written as a metatomic model")


def save_metatomic(step: torch.nn.Module, path: Path, timestep_fs: float, masses_u: Dict[int, float], name: str,
                   authors: List[str], description: str, interaction_range_A: float) -> Path:
    """Write ``step`` (a contract model) as a metatomic model file at ``path`` with FlashMD's conventions."""
    step = step.eval()
    check_engine_independent(step)
    wrapper = ContractAsFlashMD(step, timestep_fs, masses_u).eval()
    capabilities = mta.ModelCapabilities(
        outputs={"position": ModelOutput(unit="angstrom", sample_kind="atom"),
                 "momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom")},
        atomic_types=sorted(masses_u), interaction_range=float(interaction_range_A), length_unit="angstrom",
        supported_devices=["cpu"], dtype="float64")
    metadata = mta.ModelMetadata(name=name, authors=list(authors), description=description)
    mta.AtomisticModel(wrapper, metadata, capabilities).save(str(path))
    return Path(path)
