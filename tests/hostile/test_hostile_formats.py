"""Hostile models in every submission format (issue #20): a torch.export program and a metatomic model
that read a secret, or write or map a file outside their private /tmp, are contained by the sandbox as a
TorchScript one is (tests/test_hostile_models.py), and the static checks refuse what each format's
loader would run before the worker could contain it.

The metatomic cases need the optional extra (``pip install -e ".[metatomic]"``; skipped without it,
run by ``scripts/check_metatomic_extra.sh``). All start sandboxed workers: slow tier.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gnnbench.predict import formats
from gnnbench.predict.export import save_torchscript, trivial_metadata, write_submission
from gnnbench.predict.sandbox import SandboxLimits, load_sandboxed
from gnnbench.predict.submission import SubmissionError, SubmissionOutputError, check_model_file
from gnnbench.score.inputs import batch_inputs

pytestmark = pytest.mark.slow
LIMITS = SandboxLimits(memory_gib=2.0, call_timeout_s=30.0, submission_timeout_s=120.0)
T = torch.Tensor
HAS_METATOMIC = importlib.util.find_spec("metatomic") is not None
FORMATS = ["torch-export", pytest.param("metatomic", marks=pytest.mark.skipif(not HAS_METATOMIC, reason="no metatomic extra"))]


def inputs(n_graphs: int = 2, n_atoms: int = 8) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    return batch_inputs(rng.normal(size=(n_graphs, n_atoms, 3)), rng.normal(size=(n_graphs, n_atoms, 3)), np.full((n_graphs, n_atoms), 13),
                        np.tile(np.eye(3) * 8.1, (n_graphs, 1, 1)), None, np.full(n_graphs, 10.0), np.full(n_graphs, 300.0))


_FROM_FILE_META = []


def trace_from_file() -> None:
    """Let torch.export trace ``aten::from_file`` (it has no Meta kernel, so tracing refuses it): a hostile
    submitter can register one in their own process, and the .pt2 then calls from_file when it runs, in
    any process (checked by hand: a fresh Python read the file). The static check allows ATen operators,
    so only the sandbox stands between such a program and the scorer's files."""
    if not _FROM_FILE_META:
        library = torch.library.Library("aten", "IMPL")
        library.impl("from_file", lambda filename, shared=None, size=0, *, dtype=None, layout=None, device=None, pin_memory=None:
                     torch.empty(size, dtype=dtype or torch.float32, device="meta"), "Meta")
        _FROM_FILE_META.append(library)  # kept: the registration lasts as long as the Library object


def make(module: torch.nn.Module, folder: Path, model_format: str) -> Path:
    """``module`` written in ``model_format`` without the writer's own checks (a hostile submitter skips them)."""
    folder.mkdir(parents=True, exist_ok=True)
    if model_format == "torch-export":
        from torch.export import Dim, export, save

        trace_from_file()

        example = inputs()
        names = list(example)
        n, b = Dim("N", min=2, max=1 << 16), Dim("B", min=1, max=64)
        dynamic = {k: {0: b if k in ("cell", "dt_fs", "temperature_K") else n} for k in names}
        path = folder / "submission.pt2"
        save(export(module, tuple(example[k] for k in names), dynamic_shapes=dynamic, strict=False), str(path))
        return path
    import metatomic.torch as mta
    from metatomic.torch import ModelOutput

    from gnnbench.predict.metatomic_export import ContractAsFlashMD

    path = folder / "submission.pt"
    capabilities = mta.ModelCapabilities(
        outputs={"position": ModelOutput(unit="angstrom", sample_kind="atom"), "momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom")},
        atomic_types=[13], interaction_range=0.0, length_unit="angstrom", supported_devices=["cpu"], dtype="float64")
    mta.AtomisticModel(ContractAsFlashMD(module, 10.0, {13: 26.9815}).eval(), mta.ModelMetadata(name="hostile"), capabilities).save(str(path))
    return path


class Reader(torch.nn.Module):
    """torch.from_file of a file outside the submission, folded into the positions."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        secret = torch.from_file(self.target, False, 16, dtype=torch.uint8)
        return {"positions": positions + 1e-3 * secret.sum().to(positions.dtype), "velocities": velocities}


class Mapper(torch.nn.Module):
    """Maps a file shared (writes reach the file) and overwrites it."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def forward(self, positions: T, velocities: T, species: T, batch: T, cell: T, descriptors: T, dt_fs: T,
                temperature_K: T) -> dict[str, T]:
        mapped = torch.from_file(self.target, True, 16, dtype=torch.uint8)
        mapped.fill_(66)
        return {"positions": positions + 0.0 * mapped.sum().to(positions.dtype), "velocities": velocities}


@pytest.mark.parametrize("model_format", FORMATS)
def test_a_model_in_any_format_cannot_read_a_secret(model_format, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2 " * 8)
    path = make(Reader(str(secret)), tmp_path / "reader", model_format)
    assert formats.detect(path).NAME == model_format
    with zipfile.ZipFile(path) as archive:  # the file really calls from_file (and passes the static check)
        assert any(b"from_file" in archive.read(name) for name in archive.namelist() if name.endswith((".json", ".py")))
    check_model_file(path)
    submission = load_sandboxed(path, own_use={"dt_fs": [10], "dataset": "gnnmd/al-eam", "revision": "v2.1.0", "config": "mini"},
                                limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError, match="No such file"):
            submission.predict(inputs(), "reading")
    finally:
        submission.close()


@pytest.mark.parametrize("model_format", FORMATS)
def test_a_model_in_any_format_cannot_overwrite_a_file(model_format, tmp_path):
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"A" * 16)
    try:
        path = make(Mapper(str(victim)), tmp_path / "mapper", model_format)
    except Exception as err:  # torch.export may refuse to trace the in-place write at all: nothing to contain
        pytest.skip(f"{model_format} cannot express it: {str(err)[:200]}")
    victim.write_bytes(b"A" * 16)  # tracing may have run it here, in the test's own process
    submission = load_sandboxed(path, own_use={"dt_fs": [10], "dataset": "gnnmd/al-eam", "revision": "v2.1.0", "config": "mini"},
                                limits=LIMITS)
    try:
        with pytest.raises(SubmissionOutputError, match="No such file"):
            submission.predict(inputs(), "mapping")
    finally:
        submission.close()
    assert victim.read_bytes() == b"A" * 16


def test_a_pt2_that_unpickles_or_calls_python_is_refused_before_loading(tmp_path):
    """The static check reads the archive's JSON: a pickled weight, or a graph node calling a Python
    function (not an ATen, prims or higher-order operator), is refused before torch.export.load runs."""
    from gnnbench.predict.export import save_torch_export
    from test_pairforce import trained_like

    good = tmp_path / "good.pt2"
    save_torch_export(trained_like(), good)
    check_model_file(good)  # the clean file passes

    def rewritten(name: str, edit) -> Path:
        out = tmp_path / name
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename.endswith("models/model.json"):
                    data = json.dumps(edit(json.loads(data))).encode()
                target.writestr(info, data)
        return out

    def call_python(program):
        node = program["graph_module"]["graph"]["nodes"][0]
        node["target"] = "builtins.exec"
        return program

    with pytest.raises(SubmissionError, match="builtins.exec"):
        check_model_file(rewritten("calls-exec.pt2", call_python))


@pytest.mark.skipif(not HAS_METATOMIC, reason="no metatomic extra")
def test_a_metatomic_model_that_asks_to_load_a_native_library_is_refused(tmp_path):
    """metatomic's loader dlopens every library named in extra/extensions before anything else."""
    from baselines.pairforce.model import PairForce

    path = make(PairForce(cutoff=3.0).double().eval(), tmp_path / "clean", "metatomic")
    check_model_file(path)
    hostile = tmp_path / "extension.pt"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("extra/extensions"):
                data = json.dumps([{"name": "evil", "path": "/tmp/libevil.so"}]).encode()
            target.writestr(info, data)
    with pytest.raises(SubmissionError, match="evil"):
        check_model_file(hostile)


def test_torchscript_is_still_detected_as_torchscript(tmp_path):
    from gnnbench.predict.trivial import ConstantVelocity

    path = tmp_path / "submission.pt"
    save_torchscript(ConstantVelocity(), path)
    assert formats.detect(path).NAME == "torchscript"
    written = write_submission(ConstantVelocity(), trivial_metadata("cv", "constant velocity"), tmp_path / "cv", model_format="torch-export")
    assert written.name == "submission.pt2" and formats.detect(written).NAME == "torch-export"
