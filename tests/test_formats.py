"""Submission formats (gnnbench.predict.formats): the same PairForce weights written as TorchScript, as a
torch.export program and as a metatomic model (FlashMD's convention) are detected from their content,
count the same stored elements, answer alike in the sandbox and get the same scores.

The metatomic tests need the optional extra (``pip install -e ".[metatomic]"``) and are skipped
without it; ``scripts/check_metatomic_extra.sh`` runs them where it is installed.
"""

import importlib.util

import pytest
import torch

from gnnbench.generate.config import load_config
from gnnbench.predict import formats
from gnnbench.predict.export import CONTRACT_INPUTS, example_inputs, save_torch_export, save_torchscript, trivial_metadata, write_submission
from gnnbench.predict.limits import SandboxLimits
from gnnbench.predict.sandbox import load_sandboxed
from gnnbench.score.run import ScoreOptions, load_model, score
from test_pairforce import fcc_inputs, trained_like

OWN_USE = {"dt_fs": [1, 5, 10], "dataset": "gnnmd/al-eam", "revision": "v2.1.0", "config": "mini"}
AL_MASS = 26.9815
needs_metatomic = pytest.mark.skipif(importlib.util.find_spec("metatomic") is None,
                                     reason="the metatomic extra is not installed (pip install -e '.[metatomic]')")


def write_all(model, folder, metatomic: bool = False) -> dict:
    """{format name: model file} of the same weights."""
    paths = {"torchscript": folder / "model.pt", "torch-export": folder / "model.pt2"}
    save_torchscript(model, paths["torchscript"])
    save_torch_export(trained_like_copy(model), paths["torch-export"])
    if metatomic:
        from gnnbench.predict.metatomic_export import save_metatomic

        paths["metatomic"] = folder / "metatomic.pt"
        save_metatomic(model, paths["metatomic"], 10.0, {13: AL_MASS}, name="pairforce-test", authors=["gnnbench tests"],
                       description="PairForce with random last-layer weights", interaction_range_A=model.cutoff)
    return paths


def trained_like_copy(model):
    """The same weights in a fresh module: save_torch_export switches the copy to its traceable neighbour search."""
    copy = trained_like()
    copy.load_state_dict(model.state_dict())
    return copy


def test_formats_are_detected_from_content_and_counted_alike(tmp_path):
    paths = write_all(trained_like(), tmp_path)
    renamed = tmp_path / "submission.pt"
    renamed.write_bytes(paths["torch-export"].read_bytes())  # the name does not decide
    assert formats.detect(paths["torchscript"]).NAME == "torchscript"
    assert formats.detect(renamed).NAME == "torch-export"
    model = trained_like()
    stored = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    counts = {name: formats.detect(path).count_parameters(path) for name, path in paths.items()}
    assert counts == {"torchscript": stored, "torch-export": stored}


def test_example_inputs_follow_the_contract():
    inputs = example_inputs(n_cells=2, systems=3)
    assert tuple(inputs) == CONTRACT_INPUTS
    assert inputs["positions"].shape == (96, 3) and inputs["cell"].shape == (3, 3, 3) and inputs["dt_fs"].shape == (3,)
    assert int(inputs["batch"].max()) == 2 and inputs["species"].dtype == torch.int64


def sandboxed_answers(paths: dict, inputs: dict) -> dict:
    answers = {}
    for name, path in paths.items():
        submission = load_sandboxed(path, own_use=OWN_USE, limits=SandboxLimits(memory_gib=4.0))
        try:
            assert submission.model_format == name
            answers[name] = submission.predict(inputs, "test call")
        finally:
            submission.close()
    return answers


@pytest.mark.slow
def test_the_same_weights_answer_alike_in_every_format_in_the_sandbox(tmp_path):
    answers = sandboxed_answers(write_all(trained_like(), tmp_path), fcc_inputs(systems=2, seed=3))
    for key in ("positions", "velocities"):
        torch.testing.assert_close(answers["torch-export"][key], answers["torchscript"][key], rtol=0, atol=1e-12)


@needs_metatomic
def test_metatomic_model_reports_its_timestep_and_masses_and_answers_as_the_contract(tmp_path):
    paths = write_all(trained_like(), tmp_path, metatomic=True)
    assert formats.detect(paths["metatomic"]).NAME == "metatomic"
    counted = {name: formats.detect(path).count_parameters(path) for name, path in paths.items()}
    assert counted["metatomic"] >= counted["torchscript"]  # plus the wrapper's timestep and masses buffers
    inputs = fcc_inputs(systems=2, seed=3)
    inputs["dt_fs"] = torch.full((2,), 10.0, dtype=torch.float64)  # a metatomic model takes its own timestep only
    answers = sandboxed_answers({k: paths[k] for k in ("torchscript", "metatomic")}, inputs)
    torch.testing.assert_close(answers["metatomic"]["positions"], answers["torchscript"]["positions"], rtol=0, atol=1e-9)
    # velocities go through p = m v / T_ASE and back: equal to rounding
    torch.testing.assert_close(answers["metatomic"]["velocities"], answers["torchscript"]["velocities"], rtol=1e-12, atol=1e-9)
    submission = load_sandboxed(paths["metatomic"], own_use=OWN_USE, limits=SandboxLimits(memory_gib=4.0))
    try:
        assert submission.model_info["strides_fs"] == [10.0]
        assert submission.model_info["masses_u"] == {"13": AL_MASS}
        inputs["dt_fs"] = torch.full((2,), 5.0, dtype=torch.float64)
        with pytest.raises(Exception, match="timestep is 10 fs"):
            submission.predict(inputs, "a call at 5 fs")
    finally:
        submission.close()


@pytest.mark.slow
def test_the_same_weights_score_alike_in_every_format(mini_dataset, tmp_path):
    """Scored at 10 fs, the Δt every format takes, on the mini test splits: the same RMSE to 1e-6 Å."""
    model = trained_like()
    mass = load_config(mini_dataset / "recipes" / "mini.yaml").mass_amu
    written = {}
    wanted = ["torchscript", "torch-export"] + (["metatomic"] if importlib.util.find_spec("metatomic") else [])
    for model_format in wanted:
        metadata = {**trivial_metadata(f"pairforce-{model_format}", "PairForce, random last layer"), "strides_fs": [10],
                    "predicts_velocities": True}
        source = trained_like_copy(model)
        written[model_format] = write_submission(source, metadata, tmp_path / model_format, model_format=model_format,
                                                 timestep_fs=10.0, masses_u={13: mass})
    results = {}
    for model_format, path in written.items():
        loaded = load_model(path.parent)
        try:
            scores = score(loaded, mini_dataset, "mini", path.parent, ScoreOptions(rollouts=False, cost=False, quiet=True))
        finally:
            loaded.close()
        assert scores["submission"]["format"] == model_format
        results[model_format] = {split: r["overall"]["10"]["submission"]["rmse_A"] for split, r in scores["stride_accuracy"]["nve"].items()}
    reference = results["torchscript"]
    for model_format, by_split in results.items():
        for split, rmse in by_split.items():
            assert abs(rmse - reference[split]) <= 1e-6, (model_format, split, rmse, reference[split])


@needs_metatomic
def test_a_gnnbench_model_runs_in_flashmds_ase_integrator(tmp_path):
    """A PairForce written with --format metatomic runs in FlashMD's own ASE integrator: one step equals the
    contract's answer, and 300 steps of the untrained model (exactly r + vΔt) are ballistic motion."""
    pytest.importorskip("flashmd")
    import ase
    import ase.units
    import metatomic.torch as mta
    import numpy as np
    from flashmd.ase.velocity_verlet import VelocityVerlet

    from baselines.pairforce.model import PairForce
    from gnnbench.predict.metatomic_export import save_metatomic
    from gnnbench.units import PS_IN_ASE_TIME

    def atoms_of(inputs):
        atoms = ase.Atoms(numbers=inputs["species"].numpy(), positions=inputs["positions"].numpy(), cell=inputs["cell"][0].numpy(), pbc=True)
        atoms.set_masses(np.full(len(atoms), AL_MASS))
        atoms.set_velocities(inputs["velocities"].numpy() / PS_IN_ASE_TIME)  # Å/ps -> Å per ASE time unit
        return atoms

    def flashmd(model, name, atoms, steps):
        path = tmp_path / f"{name}.pt"
        save_metatomic(model, path, 10.0, {13: AL_MASS}, name=name, authors=["gnnbench tests"], description=name,
                       interaction_range_A=model.cutoff)
        VelocityVerlet(atoms, 10.0 * ase.units.fs, mta.load_atomistic_model(str(path)), device="cpu", rescale_energy=False).run(steps)
        return atoms

    inputs = example_inputs(n_cells=4, systems=1)
    inputs["dt_fs"] = torch.tensor([10.0], dtype=torch.float64)
    trained = trained_like()
    with torch.no_grad():
        expected = trained(**inputs)
    atoms = flashmd(trained, "trained-like", atoms_of(inputs), steps=1)
    np.testing.assert_allclose(atoms.get_positions(), expected["positions"].numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(atoms.get_velocities() * PS_IN_ASE_TIME, expected["velocities"].numpy(), rtol=0, atol=1e-9)

    untrained = PairForce(cutoff=5.5).double().eval()
    start = atoms_of(inputs)
    r0, v0 = start.get_positions(), start.get_velocities()
    atoms = flashmd(untrained, "ballistic", start, steps=300)
    np.testing.assert_allclose(atoms.get_velocities(), v0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(atoms.get_positions(), r0 + v0 * 300 * 10.0 * ase.units.fs, rtol=0, atol=1e-8)
