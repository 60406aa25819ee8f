"""metatomic: an ``AtomisticModel`` as ``mtt export`` writes it (FlashMD's convention).

How the field's learned integrators reach MD engines (LAMMPS ``fix metatomic``, ASE, i-PI). The
file is a TorchScript archive with metatomic's ``extra/`` members. The model advances positions
and momenta by its own, fixed timestep; gnnbench scores it at that stride only.

One call of gnnbench's contract becomes one call of the model on B ``System`` objects:

    System(types = Z, positions = r [Å], cell [Å, rows a b c], pbc = (True, True, True))
    momentum  p_i = m_i v_i / T_ASE        [(eV·u)^½],  T_ASE = 1 ps in ASE's time unit Å·(u/eV)^½ = 98.2269…
    mass      m_i = the model's own masses by atomic number [u]
    outputs   "position" [Å] and "momentum" [(eV·u)^½], absolute values at t + Δt, per atom
    back      v_i(t+Δt) = p_i(t+Δt) T_ASE / m_i                      [Å/ps]

with the neighbour lists the model asks for (``requested_neighbor_lists``) from vesin, as
FlashMD's own ASE integrator builds them. T_ASE is ``1000 * ase.units.fs``'s inverse, read from ASE.

What is checked, and where:

* in the scorer, statically: ``extra/extensions`` and ``extra/extensions-deps`` name no native
  library but metatensor's and metatomic's own (metatomic's loader would ``dlopen`` any library
  they name before anything else is checked);
* in the worker: the model's timestep (``module.timestep``, fs) gives ``strides_fs``; a call at
  another Δt fails. Its masses (``module.masses``, u, by atomic number) go back to the scorer, which
  refuses the model if they differ from the dataset's (a FlashMD model is not transferable to
  other masses).

``metatomic-torch``, ``metatensor-torch`` and ``vesin`` come with gnnbench's optional extra
``pip install "gnnbench[metatomic]"``; only the worker imports them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from . import torchscript

NAME = "metatomic"
ALLOWED_EXTENSIONS = {"metatensor_torch", "metatomic_torch"}


def matches(members: frozenset[str]) -> bool:
    """TorchScript with metatomic's version stamp (``extra/metatomic-version``, metatomic's own test)."""
    return torchscript.matches(members) and "extra/metatomic-version" in members


def check(path: Path, members: frozenset[str]) -> None:
    """TorchScript's checks, and no native library to load but metatomic's own."""
    torchscript.check(path, members)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            inner = info.filename.split("/", 1)[-1]
            if inner not in ("extra/extensions", "extra/extensions-deps"):
                continue
            if info.file_size > 2**20:
                raise ValueError(f"refused, its {inner} is {info.file_size:,} bytes (a list of libraries is a few hundred)")
            try:
                listed = json.loads(archive.read(info) or b"[]")
                names = {entry["name"] for entry in listed}
            except (ValueError, TypeError, KeyError) as err:
                raise ValueError(f"refused, its {inner} is not metatomic's list of extensions ({err})") from None
            foreign = sorted(names - ALLOWED_EXTENSIONS)
            if foreign:
                raise ValueError(f"refused, its {inner} asks to load the native libraries {foreign}: gnnbench runs metatomic "
                                 "models that need no extension beyond metatensor and metatomic")


def count_parameters(path: Path) -> int:
    return torchscript.count_parameters(path)


class MetatomicStep:
    """gnnbench's call -> the AtomisticModel's call on B Systems -> gnnbench's answer (units above)."""

    def __init__(self, model, device):
        import ase.units
        import metatomic.torch as mta
        import torch
        import vesin.metatomic

        self.torch, self.mta = torch, mta
        self.model = model
        self.device = device
        self.dtype = getattr(torch, model.capabilities().dtype)
        self.timestep_fs = float(model.module.timestep)
        self.masses_u = model.module.masses.to(torch.float64)
        self.ps_in_ase_time = 1000.0 * ase.units.fs  # 1 ps in ASE's time unit: v[Å/ASE time] = v[Å/ps] / this
        outputs = model.capabilities().outputs
        self.position_key = "position" if "position" in outputs else "positions"
        self.momentum_key = "momentum" if "momentum" in outputs else "momenta"
        self.options = mta.ModelEvaluationOptions(length_unit="Angstrom", outputs={
            self.position_key: mta.ModelOutput(sample_kind="atom"), self.momentum_key: mta.ModelOutput(sample_kind="atom")})
        self.neighbor_lists = vesin.metatomic.neighbor_lists_for_model("angstrom", model)

    def _per_atom(self, values, name: str, n: int):
        from metatensor.torch import Labels, TensorBlock, TensorMap

        torch = self.torch
        samples = Labels(["system", "atom"], torch.stack([torch.zeros(n, dtype=torch.int32), torch.arange(n, dtype=torch.int32)], 1))
        components = [Labels("xyz", torch.arange(3, dtype=torch.int32).reshape(-1, 1))] if values.dim() == 3 else []
        block = TensorBlock(values=values, samples=samples, components=components, properties=Labels(name, torch.tensor([[0]])))
        return TensorMap(Labels.single(), [block])

    def __call__(self, positions, velocities, species, batch, cell, descriptors, dt_fs, temperature_K):
        torch = self.torch
        off = dt_fs.to(torch.float64) - self.timestep_fs
        if bool((off.abs() > 1e-9).any()):
            raise ValueError(f"this metatomic model's timestep is {self.timestep_fs:g} fs; it was called at Δt {dt_fs.tolist()} fs")
        systems, index = [], []
        for b in range(cell.shape[0]):
            atoms = torch.nonzero(batch == b).flatten()
            types = species[atoms].to(torch.int32)
            masses = self.masses_u[species[atoms]]
            momenta = masses.unsqueeze(-1) * velocities[atoms] / self.ps_in_ase_time
            system = self.mta.System(types=types.to(self.device), positions=positions[atoms].to(self.dtype).to(self.device),
                                     cell=cell[b].to(self.dtype).to(self.device),
                                     pbc=torch.ones(3, dtype=torch.bool, device=self.device))
            system.add_data("momentum", self._per_atom(momenta.to(self.dtype).unsqueeze(-1).to(self.device), "momentum", len(atoms)))
            system.add_data("mass", self._per_atom(masses.to(self.dtype).unsqueeze(-1).to(self.device), "mass", len(atoms)))
            for calculator in self.neighbor_lists:
                calculator.add_neighbor_list(system)
            systems.append(system)
            index.append(atoms)
        out = self.model(systems, self.options, check_consistency=False)
        new_positions = out[self.position_key].block().values.squeeze(-1).to(torch.float64).cpu()
        new_momenta = out[self.momentum_key].block().values.squeeze(-1).to(torch.float64).cpu()
        order = torch.cat(index)
        r = torch.empty_like(positions)
        v = torch.empty_like(velocities)
        r[order] = new_positions
        v[order] = new_momenta * self.ps_in_ase_time / self.masses_u[species[order]].unsqueeze(-1)
        return {"positions": r, "velocities": v}


def load(path: str, device):
    """(a callable answering gnnbench's contract, info); in the sandboxed worker only.

    The archive is loaded with ``torch.jit.load`` after ``import metatomic.torch`` (which registers
    metatensor's and metatomic's TorchScript classes), not with ``load_atomistic_model``, whose first
    step loads the native extensions the file lists (refused statically by :func:`check` anyway).
    """
    import metatomic.torch as mta
    import torch

    scripted = torch.jit.load(path, map_location=device)
    model = mta.AtomisticModel(scripted, scripted.metadata(), scripted.capabilities()).eval()
    step = MetatomicStep(model, device)
    known = {int(z): float(m) for z, m in enumerate(step.masses_u.tolist()) if m == m}  # NaN: no mass stored for that Z
    return step, {"strides_fs": [step.timestep_fs], "masses_u": known}
