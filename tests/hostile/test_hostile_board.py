"""Entries that alter other entries (issue #21): seed groups, ablations, a copied model file, forged baselines.

Each attack is a folder beside committed entries in a temporary ``submissions/``; ``gnnbench validate``
refuses it with one line naming its file (checked against the folders beside it), and the leaderboard
leaves it out, so it joins no group (gnnbench.leaderboard.board).
"""

from __future__ import annotations

import json

from hostile_corpus import copy_valid, edit_metadata, edit_scores, problems, rescale_stride

from conftest import run_cli
from gnnbench.leaderboard.build import render_leaderboard
from gnnbench.leaderboard.entries import collect_entries, seed_spread
from gnnbench.leaderboard.validate import validate_submission_dir

SEEDS = ("gns-mini-seed0", "gns-mini-seed1", "gns-mini-seed2")
MALLORY = {"authors": ["Mallory"], "code_url": "https://example.org/mallory"}


def gns_board(tmp_path):
    submissions = tmp_path / "submissions"
    for name in SEEDS:
        copy_valid(submissions, name)
    return submissions


def spread_row(submissions) -> list[str]:
    entries, _ = collect_entries(submissions)
    rows = seed_spread(entries, "test")[1]
    assert len(rows) == 1
    return rows[0]


# ------------------------------------------------------------------------------------- seed groups

def test_an_entry_cannot_join_another_authors_seed_group(tmp_path):
    """The issue's attack: any entry set seed_group: gns-mini and entered the spread of the three GNS seeds
    (its mean moved from 2.76e-3 to 1.1e-2 Å). Now it is refused and the spread is the three seeds'."""
    submissions = gns_board(tmp_path)
    honest = spread_row(submissions)
    intruder = copy_valid(submissions, "constant-velocity", "intruder")
    edit_metadata(intruder, lambda m: m.update(seed_group="gns-mini", seed=7, **MALLORY))

    text = problems(intruder)
    assert "intruder/metadata.yaml: seed_group 'gns-mini': it is held by gns-mini-seed0, gns-mini-seed1, gns-mini-seed2" in text
    assert "authors Mallory" in text and "joins only entries of the same authors and code_url" in text
    for name in SEEDS:  # the group's own members stay valid
        assert validate_submission_dir(submissions / name).ok
    entries, excluded = collect_entries(submissions)
    assert "intruder" in excluded and "intruder" not in {e.name for e in entries}
    assert spread_row(submissions) == honest and honest[1] == ", ".join(SEEDS)
    result = run_cli("validate", *(str(submissions / n) for n in (*SEEDS, "intruder")), check=False)
    assert result.returncode == 1 and "1 of 4 folder(s) invalid" in result.stderr and "Traceback" not in result.stderr


def test_the_same_authors_with_another_code_url_is_another_recipe(tmp_path):
    submissions = gns_board(tmp_path)
    other_code = copy_valid(submissions, "gns-mini-seed0", "gns-mini-seed5")
    edit_metadata(other_code, lambda m: m.update(seed=5, code_url="https://example.org/fork"))
    assert "seed_group 'gns-mini'" in problems(other_code) and "code_url https://example.org/fork" in problems(other_code)


def test_a_seed_group_without_a_majority_refuses_every_member(tmp_path):
    """One seed each: the files cannot tell the owner from the intruder, so neither joins (nor is listed)."""
    submissions = tmp_path / "submissions"
    copy_valid(submissions, "gns-mini-seed0")
    intruder = copy_valid(submissions, "constant-velocity", "intruder")
    edit_metadata(intruder, lambda m: m.update(seed_group="gns-mini", **MALLORY))
    for folder in (submissions / "gns-mini-seed0", intruder):
        assert "none holds a majority" in problems(folder)
    entries, excluded = collect_entries(submissions)
    assert entries == [] and set(excluded) == {"gns-mini-seed0", "intruder"}


def test_a_seed_of_the_same_authors_and_code_joins(tmp_path):
    """The rule in the other direction: a fourth seed by the group's own authors and code_url is a member."""
    submissions = gns_board(tmp_path)
    fourth = copy_valid(submissions, "gns-mini-seed0", "gns-mini-seed3")
    edit_metadata(fourth, lambda m: m.update(seed=3))
    assert validate_submission_dir(fourth).ok
    assert spread_row(submissions)[1] == "gns-mini-seed0, gns-mini-seed1, gns-mini-seed2, gns-mini-seed3"


# ----------------------------------------------------------------------------------------- ablations

def test_ablation_of_needs_the_bases_authors_or_its_listing(tmp_path):
    submissions = tmp_path / "submissions"
    copy_valid(submissions, "gns-mini-seed0")
    variant = copy_valid(submissions, "constant-velocity", "variant")
    edit_metadata(variant, lambda m: m.update(ablation_of="gns-mini-seed0", ablation="no network at all", **MALLORY))
    text = problems(variant)
    assert "variant/metadata.yaml: ablation_of 'gns-mini-seed0'" in text and "does not list variant under its ablations" in text
    entries, excluded = collect_entries(submissions)
    assert "variant" in excluded
    page = render_leaderboard(submissions, tmp_path / "leaderboard")[0]["index.html"].decode()
    assert "ablations of gns-mini-seed0" not in page and 'data-ablation-of="gns-mini-seed0"' not in page

    # the base names it: listing ablations is who may join, not what was scored, so no rescoring is needed
    edit_metadata(submissions / "gns-mini-seed0", lambda m: m.update(ablations=["variant"]), scores_too=False)
    assert validate_submission_dir(submissions / "gns-mini-seed0").ok
    assert validate_submission_dir(variant).ok
    page = render_leaderboard(submissions, tmp_path / "leaderboard")[0]["index.html"].decode()
    assert 'data-ablation-of="gns-mini-seed0"' in page


def test_ablation_of_an_entry_of_the_same_authors_and_code_needs_no_listing(tmp_path):
    submissions = tmp_path / "submissions"
    copy_valid(submissions, "gns-mini-seed0")
    variant = copy_valid(submissions, "gns-mini-seed1", "gns-mini-variant")
    edit_metadata(variant, lambda m: (m.update(ablation_of="gns-mini-seed0"), m.pop("seed_group")))
    assert validate_submission_dir(variant).ok


def test_ablation_of_a_missing_entry_or_of_itself_is_refused(tmp_path):
    submissions = tmp_path / "submissions"
    ghost = copy_valid(submissions, "constant-velocity", "ghost-variant")
    edit_metadata(ghost, lambda m: m.update(ablation_of="no-such-entry"))
    assert "ablation_of 'no-such-entry': no such entry on the board beside it" in problems(ghost)
    edit_metadata(ghost, lambda m: m.update(ablation_of="ghost-variant"))
    assert "ablation_of names the entry itself" in problems(ghost)


# --------------------------------------------------------------------------------------- model files

def test_another_entrys_model_under_a_new_name_is_refused(tmp_path):
    """The issue's attack: another entry's submission.pt and sha256 under a new name were accepted."""
    submissions = tmp_path / "submissions"
    original = copy_valid(submissions, "gns-mini-seed0")
    copy = copy_valid(submissions, "gns-mini-seed0", "my-own-model", same_file=True)
    edit_metadata(copy, lambda m: (m.update(authors=["Mallory"]), m.pop("seed_group"), m.pop("seed")))
    assert (copy / "submission.pt").read_bytes() == (original / "submission.pt").read_bytes()
    assert "my-own-model/metadata.yaml: its model (sha256 a4b0a460f41c…) is also on the board as gns-mini-seed0" in problems(copy)
    assert "also on the board as my-own-model" in problems(original)  # which came first, the files cannot tell

    result = run_cli("validate", str(original), str(copy), check=False)
    assert result.returncode == 1 and "2 of 2 folder(s) invalid" in result.stderr and "Traceback" not in result.stderr
    entries, excluded = collect_entries(submissions)
    assert entries == [] and set(excluded) == {"gns-mini-seed0", "my-own-model"}


def test_a_copy_with_its_own_bytes_is_another_file(tmp_path):
    """The rule is about the file: a model file of its own (here a zip comment) is an entry of its own."""
    submissions = tmp_path / "submissions"
    copy_valid(submissions, "gns-mini-seed0")
    copy = copy_valid(submissions, "gns-mini-seed0", "gns-mini-seed9")
    edit_metadata(copy, lambda m: m.update(seed=9))
    assert validate_submission_dir(copy).ok


# ------------------------------------------------------------------------------------ baseline numbers

def test_forged_baseline_numbers_are_refused_beside_the_others(tmp_path):
    """Verlet k = 1's stride errors × 100, made consistent with the file's own records (skills, force calls and
    verdict recomputed: the entry now passes its stride check): only the other entries of its dataset build,
    whose Verlet k = 1 numbers come from the same data, show the forgery."""
    submissions = tmp_path / "submissions"
    for name in ("constant-velocity", "zero-displacement"):
        copy_valid(submissions, name)
    forged = copy_valid(submissions, "gns-mini-seed0")
    before = json.loads((forged / "scores.json").read_text())
    edit_scores(forged, lambda s: rescale_stride(s, "verlet_eam_k1", 100.0))
    after = json.loads((forged / "scores.json").read_text())
    assert [c["passed"] for c in after["usability"] if c["check"] == "stride"] == [True]
    assert [c["passed"] for c in before["usability"] if c["check"] == "stride"] == [False]
    assert validate_submission_dir(forged, board=False).ok  # consistent with itself
    text = problems(forged)
    assert "gns-mini-seed0/scores.json: numbers that come from the data alone differ from those of the 2 other entries" in text
    assert "verlet_eam_k1/mae_A" in text
    assert validate_submission_dir(submissions / "constant-velocity").ok  # the majority keeps its place
    assert "gns-mini-seed0" in collect_entries(submissions)[1]
