"""Submission formats (gnnbench.predict.formats): the same PairForce weights as TorchScript and as a torch.export
program give the same answers, each detected from its content and run in the sandbox."""

import warnings

import pytest
import torch
from torch.export import Dim, export, save

from gnnbench.predict import formats
from gnnbench.predict.limits import SandboxLimits
from gnnbench.predict.sandbox import load_sandboxed
from test_pairforce import fcc_inputs, trained_like

INPUTS = ("positions", "velocities", "species", "batch", "cell", "descriptors", "dt_fs", "temperature_K")
OWN_USE = {"dt_fs": [1, 5, 10], "dataset": "gnnmd/al-eam", "revision": "v2.1.0", "config": "mini"}


def write_both(model, folder):
    """(TorchScript file, .pt2 file) of the same weights; the .pt2 with dynamic atom and system counts."""
    inputs = fcc_inputs()
    scripted = folder / "model.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), str(scripted))
    model.export_graph = True  # torch.export cannot trace the cell list's data-dependent branches
    atoms, systems = Dim("N", min=2, max=1 << 20), Dim("B", min=1, max=4096)
    dynamic = {name: {0: systems if name in ("cell", "dt_fs", "temperature_K") else atoms} for name in INPUTS}
    exported = folder / "model.pt2"
    save(export(model, tuple(inputs[n] for n in INPUTS), dynamic_shapes=dynamic, strict=False), str(exported))
    return scripted, exported


def test_formats_are_detected_from_content_and_counted_alike(tmp_path):
    scripted, exported = write_both(trained_like(), tmp_path)
    renamed = tmp_path / "submission.pt"
    renamed.write_bytes(exported.read_bytes())  # the name does not decide
    assert formats.detect(scripted).NAME == "torchscript"
    assert formats.detect(renamed).NAME == "torch-export"
    model = trained_like()
    stored = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert formats.detect(scripted).count_parameters(scripted) == formats.detect(exported).count_parameters(exported) == stored


@pytest.mark.slow
def test_the_same_weights_answer_alike_in_every_format_in_the_sandbox(tmp_path):
    scripted, exported = write_both(trained_like(), tmp_path)
    answers = {}
    for path in (scripted, exported):
        submission = load_sandboxed(path, own_use=OWN_USE, limits=SandboxLimits(memory_gib=4.0))
        try:
            answers[submission.model_format] = submission.predict(fcc_inputs(systems=2, seed=3), "test call")
        finally:
            submission.close()
    assert set(answers) == {"torchscript", "torch-export"}
    for key in ("positions", "velocities"):
        torch.testing.assert_close(answers["torch-export"][key], answers["torchscript"][key], rtol=0, atol=1e-12)
