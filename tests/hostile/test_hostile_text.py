"""Clear errors, never tracebacks, and inert text (issue #21): YAML that says two things, strides no baseline
supports, invisible characters in generated files, and ``score --out`` into another submission.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml
from hostile_corpus import MESSAGE_LIMIT, VALID, changed, copy_valid, edit_metadata, tree

import gnnbench
from conftest import run_cli
from gnnbench.generate.config import load_config
from gnnbench.leaderboard.build import write_leaderboard
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.predict.submission import SCHEMA_PATH, SubmissionError, load_metadata


def one_problem(folder) -> str:
    report = validate_submission_dir(folder)
    assert not report.ok and len(report.problems) == 1, report.problems
    problem = report.problems[0]
    assert "\n" not in problem and len(problem) < MESSAGE_LIMIT and "Traceback" not in problem
    return problem


# -------------------------------------------------------------------------- YAML duplicates and merges

YAML_ATTACKS = {
    "a duplicate key": ("parameter_count: 0\n", "duplicate key 'parameter_count' at line"),
    "a duplicate key quoted": ("'parameter_count': 0\n", "duplicate key 'parameter_count' at line"),
    "a duplicate nested key": ("training_data: {dataset: a/b, revision: v1, config: mini, config: full, splits: [train]}\n",
                               "duplicate key"),
    "a dangling merge key": ("<<: *missing\n", "YAML merge keys (<<) are not allowed"),
    "a merge of a scalar": ("<<: 5\n", "YAML merge keys (<<) are not allowed"),
    "a merge of a list": ("<<: [1, 2]\n", "YAML merge keys (<<) are not allowed"),
    "a merge of a mapping": ("<<: {parameter_count: 0}\n", "YAML merge keys (<<) are not allowed"),
}


@pytest.mark.parametrize("attack", YAML_ATTACKS, ids=list(YAML_ATTACKS))
def test_yaml_that_says_two_things_is_refused_in_one_line_naming_the_file(tmp_path, attack):
    """PyYAML keeps the last of two equal keys and fills a merge from elsewhere: a reader of the file and the
    scorer could see different values. Both are refused, by validate and by the scorer's loader alike."""
    text, expected = YAML_ATTACKS[attack]
    folder = copy_valid(tmp_path / "submissions")
    with open(folder / "metadata.yaml", "a") as handle:
        handle.write(text)
    problem = one_problem(folder)
    assert problem.startswith(f"{folder / 'metadata.yaml'}: not valid YAML (") and expected in problem
    with pytest.raises(SubmissionError, match="metadata.yaml: not valid YAML"):
        load_metadata(folder / "metadata.yaml")
    result = run_cli("score", str(folder), "--data", str(tmp_path / "no-data"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "metadata.yaml: not valid YAML" in result.stderr


# ---------------------------------------------------------------------------------- rollout strides

@pytest.mark.parametrize("stride", [100000, 100, 60, 7, 0, -10])
def test_a_rollout_stride_outside_the_datas_strides_is_refused_before_scoring(tmp_path, stride):
    """rollout_stride_fs: 100000 crashed (a horizon of 0) and 100 ended in LAMMPS "Lost atoms" in the scorer's own
    Verlet rollout baseline; at 60 fs one Verlet step from an 800 K state loses atoms. The schema allows only the
    Δt at which the data has stride targets (the usability verdict compares the entry there)."""
    folder = copy_valid(tmp_path / "submissions")
    edit_metadata(folder, lambda m: m.update(rollout_stride_fs=stride, strides_fs=sorted({*m["strides_fs"], abs(stride) or 1})))
    problem = one_problem(folder)
    assert "metadata.yaml: does not follow the metadata schema: rollout_stride_fs:" in problem and "is not one of" in problem
    result = run_cli("score", str(folder), "--data", str(tmp_path / "no-data"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "rollout_stride_fs" in result.stderr


def test_the_allowed_rollout_strides_are_the_datas_own():
    """The schema's list is the dt_fs of every recipe the package ships (mini and full): a recipe that changes
    its Δt must change the schema with it."""
    allowed = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]["rollout_stride_fs"]["enum"]
    recipes = sorted((Path(gnnbench.__file__).parent / "configs").glob("*.yaml"))
    assert {p.stem for p in recipes} >= {"mini", "full"}
    for recipe in recipes:
        assert sorted(load_config(recipe).dt_fs) == allowed, recipe
    assert max(allowed) == 50


# ------------------------------------------------------------------------------ invisible characters

BIDI_AND_ZERO_WIDTH = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
HIDDEN = "safe\u202e}lave{\u2066 model\u200b \u2069\u200d\ufeff"


@pytest.mark.slow  # renders a leaderboard
def test_bidi_overrides_and_zero_width_characters_reach_no_generated_file(tmp_path):
    """Bidirectional overrides and isolates reorder how text around them is shown ("Trojan Source"), zero-width
    characters make two names look alike; they reached the entry pages raw. In every generated file they are
    now shown as their escapes."""
    submissions = tmp_path / "submissions"
    copy_valid(submissions)
    folder = copy_valid(submissions, VALID, "invisible")
    edit_metadata(folder, lambda m: m.update(description=HIDDEN, authors=[HIDDEN, "B\u200bob"], license=HIDDEN, hardware=HIDDEN,
                                             ablation=HIDDEN, code_url="https://example.org/\u202ecod"))
    assert validate_submission_dir(folder).ok  # text is escaped, not refused: some scripts need a joiner in a name
    out = tmp_path / "leaderboard"
    before = tree(tmp_path)
    write_leaderboard(submissions, out)
    assert all((tmp_path / name).is_relative_to(out) for name in changed(before, tree(tmp_path)))
    generated = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in generated} >= {"README.md", "index.html", "invisible.html"}
    for path in generated:
        text = path.read_text(encoding="utf-8")
        found = sorted({f"U+{ord(c):04X}" for c in text if c in BIDI_AND_ZERO_WIDTH or unicodedata.category(c) == "Cf"})
        assert not found, f"{path.name}: {found}"
    page = (out / "entries" / "invisible.html").read_text()
    assert "safe\\u202e}lave{\\u2066 model\\u200b \\u2069\\u200d\\ufeff" in page and "B\\u200bob" in page


# ------------------------------------------------------------------------------------ score --out

def test_score_out_inside_another_submission_is_refused_and_writes_nothing(tmp_path):
    """``gnnbench score mine --out <another submission>/plots`` wrote inside another entry."""
    submissions = tmp_path / "submissions"
    mine, other = copy_valid(submissions, VALID, "mine"), copy_valid(submissions, "constant-velocity")
    (tmp_path / "link").symlink_to(other / "plots")
    attempts = {
        "its plots": ["score", str(mine), "--out", str(other / "plots")],
        "a new folder in it": ["score", str(mine), "--out", str(other / "new" / "deeper")],
        "through a symbolic link": ["score", str(mine), "--out", str(tmp_path / "link" / "x")],
        "a built-in baseline": ["score", "--baseline", "verlet-eam-k1", "--out", str(other / "plots")],
        "two submissions": ["score", str(mine), str(submissions / VALID), "--out", str(other / "plots")],
    }
    copy_valid(submissions)
    before = tree(tmp_path)
    for label, args in attempts.items():
        result = run_cli(*args, "--data", str(tmp_path / "no-data"), check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, label
        assert f"inside {other}, the folder of another submission" in result.stderr and "nothing was scored" in result.stderr, label
    assert changed(before, tree(tmp_path)) == []


def test_score_out_inside_its_own_folder_is_allowed_past_the_check(tmp_path):
    """Its own folder is not another submission's: the command goes on (and stops at the missing data)."""
    folder = copy_valid(tmp_path / "submissions", VALID, "mine")
    result = run_cli("score", str(folder), "--out", str(folder / "again"), "--data", str(tmp_path / "no-data"), check=False)
    assert "the folder of another submission" not in result.stderr and "Traceback" not in result.stderr
