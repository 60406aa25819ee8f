"""Hostile submission folders: metadata.yaml, scores.json and folder-name attacks of issue #11.

Each attack is refused by ``gnnbench validate`` with one short line naming the file, or contained
by the leaderboard: the folder is listed as "Not listed" with its name escaped, the generated files
stay small, nothing a submitter wrote is interpreted as Markdown or HTML, and nothing is written
outside the leaderboard's output folder.
"""

from __future__ import annotations

import json
import os
import re
import time

import jsonschema_rs
import pytest
import yaml
from click.testing import CliRunner
from hostile_corpus import (
    MESSAGE_LIMIT,
    SUBMISSIONS,
    VALID,
    billion_laughs,
    changed,
    copy_valid,
    edit_metadata,
    edit_scores,
    tree,
)

from gnnbench.cli import main
from gnnbench.leaderboard.build import write_leaderboard
from gnnbench.leaderboard.entries import Entry
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.score.baselines import Baseline
from gnnbench.score.report import SCHEMA_PATH as SCORES_SCHEMA
from gnnbench.score.report import validate_scores
from gnnbench.untrusted import METADATA_MAX_BYTES, SCORES_MAX_BYTES

NEWLINE_NAME = "evil\n## Injected heading\n[click me](javascript:alert(1))"
HTML_NAME = "<img src=x onerror=alert(1)>"
HTML_TEXT = "<script>alert('desc')</script> | **bold** `code` [x](javascript:alert(2))"
EVIL_URL = 'https://example.org/" onmouseover="alert(3)'
EVIL_PLOT = '"><img src=x onerror=alert(4)>.png'


def problems(folder) -> str:
    report = validate_submission_dir(folder)
    assert not report.ok
    for problem in report.problems:
        assert len(problem) < MESSAGE_LIMIT, f"{len(problem)} characters: {problem[:200]}…"
    return " ".join(report.problems)


# ------------------------------------------------------------------------------------ metadata.yaml

def test_billion_laughs_metadata_is_refused_in_one_short_line(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    (folder / "metadata.yaml").write_text(billion_laughs())
    assert (folder / "metadata.yaml").stat().st_size < 1200
    text = problems(folder)
    assert "metadata.yaml: not valid YAML (YAML anchors and aliases (& and *) are not allowed at line 1" in text


def test_an_alias_in_an_otherwise_valid_metadata_is_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    text = (folder / "metadata.yaml").read_text().replace("authors:\n", "authors: &who\n", 1)
    (folder / "metadata.yaml").write_text(text + "hardware_copy: *who\n")
    assert "anchors and aliases" in problems(folder)


def test_oversized_metadata_is_refused_before_it_is_read(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_metadata(folder, lambda m: m.update(description="x" * (METADATA_MAX_BYTES + 1)), scores_too=False)
    assert "metadata.yaml: " in (text := problems(folder)) and "over the 64 KiB limit" in text


def test_deeply_nested_and_huge_integer_yaml_give_short_errors(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    (folder / "metadata.yaml").write_text("[" * 50_000)
    assert "nested too deeply" in problems(folder)
    (folder / "metadata.yaml").write_text("parameter_count: " + "9" * 20_000 + "\n")
    assert "not acceptable YAML" in problems(folder)


def test_schema_errors_quote_at_most_a_short_piece_of_the_file(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_metadata(folder, lambda m: m.update(version=["v" * 15_000] * 2, license=None, parameter_count="x" * 15_000,
                                             **{f"extra_{i}": i for i in range(20)}), scores_too=False)
    text = problems(folder)
    assert "does not follow the metadata schema" in text and re.search(r"; and \d+ more$", text)


def test_a_symbolic_link_for_metadata_is_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    secret = tmp_path / "outside.yaml"
    secret.write_text((folder / "metadata.yaml").read_text())
    (folder / "metadata.yaml").unlink()
    (folder / "metadata.yaml").symlink_to(secret)
    assert "metadata.yaml: a symbolic link" in problems(folder)


def test_a_learned_model_cannot_declare_itself_a_baseline(tmp_path):
    folder = copy_valid(tmp_path / "submissions", new_name="my-learned-model")
    edit_metadata(folder, lambda m: m.update(baseline=True))  # as zero-displacement's does
    assert "baseline: true is kept for the suite's own baselines" in problems(folder)
    scores = json.loads((folder / "scores.json").read_text())
    assert scores["submission"]["metadata"]["baseline"] is True
    assert not Entry("my-learned-model", folder, scores).is_baseline  # the kind comes from the list in code
    assert Entry(VALID, SUBMISSIONS / VALID, scores).is_baseline


# --------------------------------------------------------------------------------------- scores.json

def miniature_scores() -> dict:
    """A committed scores.json cut down (first two items of every list, first key of every data-keyed
    object) so that each of its numbers can be replaced and validated in milliseconds."""
    scores = json.loads((SUBMISSIONS / VALID / "scores.json").read_text())

    def cut(value, key=""):
        if isinstance(value, list):
            return [cut(v) for v in value[:2]] if not key.endswith("_ci95") else value
        if isinstance(value, dict):
            keys = list(value)
            data_keyed = keys and all(re.fullmatch(r"[0-9.]+|T[0-9]+K", k) for k in keys)
            return {k: cut(value[k], k) for k in (keys[:1] if data_keyed else keys)}
        return value

    return cut(scores)


def number_paths(value, path=()):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from number_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from number_paths(item, (*path, index))


MODELS = {"submission", *(b.value for b in Baseline)}


def test_every_number_of_scores_json_is_typed_in_the_schema():
    base = miniature_scores()
    validate_scores(base)
    validator = jsonschema_rs.Draft202012Validator(yaml.safe_load(SCORES_SCHEMA.read_text()))  # validate_scores' first check
    patterns = {}  # one path per kind of field: list positions and the models' names do not make a new kind
    for path in number_paths(base):
        if path[:2] != ("submission", "metadata"):  # the metadata has its own schema
            patterns.setdefault(tuple("#" if isinstance(k, int) else "*" if k in MODELS else k for k in path), path)
    assert len(patterns) > 100
    untyped = []
    for path in patterns.values():
        parent = base
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]], kept = "not a number", parent[path[-1]]
        if validator.is_valid(base):
            untyped.append("/".join(map(str, path)))
        parent[path[-1]] = kept
    assert not untyped, f"{len(untyped)} number fields accept a string: {untyped[:10]}"


@pytest.mark.parametrize("where, change", [
    ("cost/speedup_vs_lammps", lambda s: s["cost"].update(speedup_vs_lammps="fast")),
    ("cost/submission/ns_per_day", lambda s: s["cost"]["submission"].update(ns_per_day="many")),
    ("hardware/cpu", lambda s: s["hardware"].update(cpu={"nested": "object"})),
    ("rollouts/nve/models/submission/per_trajectory/T0005K/thermostat_temperature_K",
     lambda s: s["rollouts"]["nve"]["models"]["submission"]["per_trajectory"]["T0005K"].update(thermostat_temperature_K="hot")),
    ("stride_accuracy/nve/test/n_anchors", lambda s: s["stride_accuracy"]["nve"]["test"].update(n_anchors="70")),
])
def test_a_string_in_a_number_field_is_refused_with_its_path(tmp_path, where, change):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, change)
    text = problems(folder)
    assert f"scores.json: does not follow the scores schema at {where}" in text


def test_nan_infinity_and_overflowing_numbers_are_not_json(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    original = (folder / "scores.json").read_text()
    for bad in ("NaN", "Infinity", "-Infinity", "1e999"):
        (folder / "scores.json").write_text(original.replace('"wall_seconds": ', f'"wall_seconds": {bad}, "x": ', 1))
        assert "scores.json: not valid JSON" in problems(folder)


def test_oversized_and_deeply_nested_scores_are_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    with open(folder / "scores.json", "r+b") as handle:  # sparse: no need to write the bytes
        handle.truncate(SCORES_MAX_BYTES + 1)
    assert "over the 16 MiB limit" in problems(folder)
    (folder / "scores.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in problems(folder)


def test_a_scores_json_of_millions_of_values_is_refused_before_the_schema_check(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, lambda s: s["rollouts"]["nve"]["reference"]["T0005K"].update(rdf_md=[0] * (SCORES_MAX_BYTES // 4)))
    started = time.perf_counter()
    assert "scores.json: more than 1000000 JSON values" in problems(folder)
    assert time.perf_counter() - started < 30  # the schema check alone would take minutes


def test_free_text_in_scores_json_has_a_length_cap(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, lambda s: s["rollouts"]["nve"]["models"]["submission"]["per_trajectory"]["T0005K"].update(
        survived=False, failure_reason="A" * 100_000))
    assert "failure_reason: 'AAAA" in (text := problems(folder)) and "is too long" in text


def test_a_dataset_config_outside_its_pattern_is_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, lambda s: s["dataset"].update(config="mini`\n## injected\n<script>"))
    assert "does not follow the scores schema at dataset/config" in problems(folder)


def test_scores_whose_strides_disagree_with_dt_fs_are_refused(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, lambda s: s["stride_accuracy"]["nve"]["test"]["overall"].pop("10"))
    assert "scores.json: stride_accuracy/nve/test/overall has Δt" in problems(folder)


def test_many_recorded_errors_give_a_bounded_report(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    edit_scores(folder, lambda s: s.update(errors=["E" * 2000] * 1000))
    report = validate_submission_dir(folder)
    assert len(report.notes) <= 12 and all(len(note) < MESSAGE_LIMIT for note in report.notes)


# -------------------------------------------------------------------------------------- folder names

@pytest.mark.parametrize("name", [NEWLINE_NAME, HTML_NAME, "Capitals", "a" * 65, "-leading-dash", "sp ace", "tab\tname"])
def test_a_folder_name_outside_the_safe_pattern_is_refused_and_shown_escaped(tmp_path, name):
    folder = copy_valid(tmp_path / "submissions", new_name=None)
    folder = folder.rename(folder.with_name(name))
    text = problems(folder)
    assert "not a valid submission folder name" in text and repr(name)[:60] in text
    assert "\n" not in text and "\t" not in text


def test_validate_on_the_command_line_prints_one_short_line_per_problem(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    (folder / "metadata.yaml").write_text(billion_laughs())
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1 and "INVALID" in result.output
    assert max(len(line) for line in result.output.splitlines()) < MESSAGE_LIMIT
    assert "Traceback" not in result.output


def test_a_folder_name_with_terminal_escapes_is_printed_escaped(tmp_path):
    folder = copy_valid(tmp_path / "submissions")
    folder = folder.rename(folder.with_name("\x1b]0;owned\x07\x1b[2J"))
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1 and "\x1b" not in result.output and "\\x1b[2J" in result.output


# -------------------------------------------------------------------------- the leaderboard, contained

@pytest.fixture(scope="module")
def hostile_leaderboard(tmp_path_factory):
    """One valid entry and a folder per attack, rendered once; (root, out, files before and after)."""
    root = tmp_path_factory.mktemp("hostile-leaderboard")
    submissions = root / "submissions"
    copy_valid(submissions)

    (copy_valid(submissions, new_name="billion-laughs") / "metadata.yaml").write_text(billion_laughs())
    for name in (NEWLINE_NAME, HTML_NAME):
        folder = copy_valid(submissions, new_name="renamed-later")
        folder.rename(folder.with_name(name))
    edit_metadata(copy_valid(submissions, new_name="fake-baseline"), lambda m: m.update(baseline=True))
    edit_scores(copy_valid(submissions, new_name="string-in-number"), lambda s: s["cost"].update(speedup_vs_lammps="fast"))
    edit_scores(copy_valid(submissions, new_name="injected-config"), lambda s: s["dataset"].update(config="mini\n## injected"))

    html = copy_valid(submissions, new_name="html-metadata")
    edit_metadata(html, lambda m: m.update(description=HTML_TEXT, authors=[HTML_TEXT], code_url=EVIL_URL, hardware=NEWLINE_NAME,
                                           ablation=HTML_TEXT))
    plots = copy_valid(submissions, new_name="evil-plots")
    (plots / "plots" / EVIL_PLOT).write_bytes(b"\x89PNG")
    os.symlink(submissions / VALID, submissions / "symlinked", target_is_directory=True)

    out = root / "leaderboard"
    before = tree(root)
    written, excluded, n_entries = write_leaderboard(submissions, out)
    after = tree(root)
    return root, out, before, after, excluded, n_entries


@pytest.mark.slow  # renders a leaderboard of seven folders
def test_the_leaderboard_lists_only_the_valid_entries(hostile_leaderboard):
    *_, excluded, n_entries = hostile_leaderboard
    assert n_entries == 3  # zero-displacement, html-metadata, evil-plots
    assert {"billion-laughs", "fake-baseline", "string-in-number", "injected-config", "symlinked",
            repr(NEWLINE_NAME), repr(HTML_NAME)} == set(excluded)


@pytest.mark.slow  # renders a leaderboard of seven folders
def test_nothing_is_written_outside_the_leaderboard_folder(hostile_leaderboard):
    root, out, before, after, *_ = hostile_leaderboard
    outside = [name for name in changed(before, after) if not (root / name).is_relative_to(out)]
    assert outside == []


@pytest.mark.slow  # renders a leaderboard of seven folders
def test_generated_files_stay_small(hostile_leaderboard):
    _, out, *_ = hostile_leaderboard
    assert (out / "README.md").stat().st_size < 100_000
    assert (out / "index.html").stat().st_size < 400_000
    for page in (out / "entries").glob("*.html"):
        assert page.stat().st_size < 400_000


@pytest.mark.slow  # renders a leaderboard of seven folders
def test_a_folder_name_cannot_inject_markdown_or_html(hostile_leaderboard):
    _, out, *_ = hostile_leaderboard
    readme, index = (out / "README.md").read_text(), (out / "index.html").read_text()
    assert not any(line.startswith("## Injected") for line in readme.splitlines())
    assert not re.search(r"(?<!\\)\[click me(?<!\\)\]", readme) and not re.search(r"(?<!\\)<img", readme)
    assert "'\\<img src=x onerror=alert(1)\\>'" in readme  # its repr, escaped
    assert "<img src=x" not in index and "&lt;img src=x onerror=alert(1)&gt;" in index
    assert 'href="javascript' not in index


@pytest.mark.slow  # renders a leaderboard of seven folders
def test_metadata_text_is_escaped_on_every_page(hostile_leaderboard):
    _, out, *_ = hostile_leaderboard
    page = (out / "entries" / "html-metadata.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;desc&#x27;)&lt;/script&gt;" in page
    assert 'onmouseover="alert(3)' not in page and "&quot; onmouseover=&quot;alert(3)" in page
    for name in ("README.md", "index.html"):
        assert "<script>alert" not in (out / name).read_text()


def test_a_self_declared_baseline_and_a_string_in_a_number_do_not_reach_the_tables(hostile_leaderboard):
    _, out, *_, excluded, _ = hostile_leaderboard
    readme = (out / "README.md").read_text()
    assert "[fake-baseline]" not in readme and "[string-in-number]" not in readme
    assert "baseline: true is kept for the suite" in " ".join(excluded["fake-baseline"])
    assert "cost/speedup_vs_lammps" in " ".join(excluded["string-in-number"])
    assert "dataset/config" in " ".join(excluded["injected-config"])
    rows = re.findall(r'<tr class="(\w+)" data-entry="([^"]+)"', (out / "index.html").read_text())
    assert {name for kind, name in rows if kind == "baseline"} == {VALID}


def test_plot_file_names_from_a_submission_are_not_linked(hostile_leaderboard):
    _, out, *_ = hostile_leaderboard
    page = (out / "entries" / "evil-plots.html").read_text()
    assert "onerror" not in page and "rdf.png" in page


def test_a_parameter_count_that_leaves_out_buffers_is_refused(tmp_path):
    """The memorising model's trick: the data as buffers, 0 parameters declared. The count is every
    tensor element the archive stores; gns-mini's 24 RBF centres are buffers, so 180,358 (its
    parameters alone) is refused and 180,382 accepted."""
    folder = copy_valid(tmp_path / "submissions", "gns-mini-seed0")
    assert validate_submission_dir(folder).ok
    edit_metadata(folder, lambda m: m.update(parameter_count=180358))
    found = problems(folder)
    assert "metadata parameter_count 180,358 differs from the model's 180,382" in found
