"""``gnnbench score --out``: two submissions that would write into one folder, and writes into a
folder that holds another submission, are refused before anything is loaded or written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hostile_corpus import changed, copy_valid, fake_dataset, tree

from gnnbench.cli import main
from gnnbench.predict.submission import load_metadata
from gnnbench.score import run as run_module
from gnnbench.score.baselines import Baseline
from gnnbench.score.outputs import OutputError, plan_outputs


def score_cli(*args: str):
    return CliRunner().invoke(main, ["score", *args, "--no-progress"])



def test_two_submissions_with_the_same_folder_name_are_refused(tmp_path):
    first, second = copy_valid(tmp_path / "a"), copy_valid(tmp_path / "b")
    result = score_cli(str(first), str(second), "--out", str(tmp_path / "out"), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "would both write their scores into" in result.output and "nothing was scored" in result.output
    assert not (tmp_path / "out").exists()


def test_the_same_submission_twice_is_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    with pytest.raises(OutputError, match="would both write"):
        plan_outputs([folder, folder / "submission.pt"], tmp_path / "out", None)


def test_several_submission_files_go_to_folders_named_after_their_folders(tmp_path):
    a, b = copy_valid(tmp_path / "s", new_name="model-a"), copy_valid(tmp_path / "s", new_name="model-b")
    out = tmp_path / "out"
    assert plan_outputs([a / "submission.pt", b / "submission.pt"], out, None) == [out / "model-a", out / "model-b"]
    assert plan_outputs([a], None, None) == [a]  # its own folder
    assert plan_outputs([a], a, None) == [a]


def test_baseline_scoring_never_replaces_a_submissions_metadata(tmp_path):
    folder = copy_valid(tmp_path / "submissions", name="gns-mini-seed0")
    result = score_cli("--baseline", "verlet-eam-k1", "--out", str(folder), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "holds another submission's submission.pt" in result.output
    (folder / "submission.pt").unlink()
    before = tree(tmp_path)
    result = score_cli("--baseline", "verlet-eam-k1", "--out", str(folder), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "metadata.yaml: belongs to gns-mini-seed0, not to the one being scored" in result.output
    assert changed(before, tree(tmp_path)) == []


def test_a_baseline_may_be_rescored_into_its_own_folder(tmp_path):
    folder = copy_valid(tmp_path / "submissions", name="verlet-eam-k1")
    assert plan_outputs([], folder, Baseline.VERLET_K1) == [folder]
    with pytest.raises(OutputError, match="belongs to verlet-eam-k1"):
        plan_outputs([], folder, Baseline.VERLET_K4)


def test_scoring_never_writes_into_another_submissions_folder(tmp_path):
    mine, theirs = copy_valid(tmp_path / "s", new_name="mine"), copy_valid(tmp_path / "s", name="gns-mini-seed0")
    before = tree(tmp_path)
    result = score_cli(str(mine), "--out", str(theirs), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "holds another submission's submission.pt" in result.output
    (theirs / "submission.pt").unlink()
    result = score_cli(str(mine), "--out", str(theirs), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "metadata.yaml: belongs to gns-mini-seed0" in result.output
    (theirs / "metadata.yaml").write_text("a: &x [1]\nb: *x\n")
    result = score_cli(str(mine), "--out", str(theirs), "--data", str(tmp_path / "none"))
    assert result.exit_code == 1 and "metadata.yaml: unreadable" in result.output
    assert changed(before, tree(tmp_path)) == ["s/gns-mini-seed0/metadata.yaml", "s/gns-mini-seed0/submission.pt"]  # only the test's own edits
    assert plan_outputs([mine], copy_valid(tmp_path / "copy", new_name="mine"), None)  # a copy of the same submission is fine


def test_a_baseline_metadata_is_written_only_once_its_scoring_succeeded(tmp_path, monkeypatch):
    root = fake_dataset(tmp_path / "al-eam")
    shard = root / "data/mini/test-T0005K.parquet"
    shard.write_bytes(shard.read_bytes()[:-1])
    out = tmp_path / "out"
    result = score_cli("--baseline", "verlet-eam-k4", "--data", str(root), "--out", str(out))
    assert result.exit_code == 1 and "nothing was scored" in result.output and not out.exists()

    def scored(model, data_root, config_name, target, options):  # a stand-in for a scoring run that succeeds
        (target / "plots").mkdir(parents=True)
        return {"errors": [], "submission": {"name": model.name, "metadata": model.metadata}}

    monkeypatch.setattr(run_module, "score", scored)
    result = score_cli("--baseline", "verlet-eam-k4", "--data", str(fake_dataset(tmp_path / "clean")), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert load_metadata(out / "metadata.yaml")["name"] == "verlet-eam-k4"
    assert sorted(p.name for p in out.iterdir()) == ["metadata.yaml", "plots"]
