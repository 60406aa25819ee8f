"""Submissions and leaderboard: `gnnbench validate`, `gnnbench leaderboard`, and the page in a real browser."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import pickle
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from gnnbench import DATASET_VERSION
from gnnbench.leaderboard import validate as validate_module
from gnnbench.leaderboard.build import check_leaderboard, render_leaderboard, write_leaderboard
from gnnbench.leaderboard.entries import COLUMNS, collect_entries, seed_spread, table_layout
from gnnbench.leaderboard.plot import accuracy_vs_cost_svg
from gnnbench.leaderboard.validate import validate_submission_dir
from gnnbench.predict.export import builtin_baseline_sha256
from hostile.hostile_corpus import fake_dataset, own_model_file, rescale_stride

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = REPO / "submissions"
LEADERBOARD = REPO / "leaderboard"
# Every baseline of the baselines issue that was trained or scored on mini.
ISSUE_4_BASELINES = ["zero-displacement", "constant-velocity", "verlet-eam-k1", "verlet-eam-k4",
                     "gns-mini-seed0", "reference-gnn-mini", "reference-gnn-velocity-mini"]
# Scored by scorer 2.1 on dataset 2.0 and never rescored: their model files (8 MB) were not committed,
# so rescoring them with scorer 3.0 needs them retrained first (their READMEs give the commands). The
# leaderboard lists them under "Not listed" with validate's reason; nothing else may be missing.


def copy_submission(name: str, tmp_path: Path, new_name: str | None = None) -> Path:
    target = tmp_path / "submissions" / (new_name or name)
    shutil.copytree(SUBMISSIONS / name, target, ignore=shutil.ignore_patterns("submission.pt") if name.startswith("reference-gnn") else None)
    return target


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# ---------------------------------------------------------------------------------------- validate

@pytest.mark.parametrize("name", sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir()))
def test_every_committed_submission_validates(name):
    report = validate_submission_dir(SUBMISSIONS / name)
    assert report.ok, report.problems


def test_an_entry_scored_by_an_older_scorer_is_refused_with_the_reason(tmp_path):
    folder = copy_submission("constant-velocity", tmp_path)
    scores = json.loads((folder / "scores.json").read_text())
    scores["scorer_version"] = "2.1.0"
    (folder / "scores.json").write_text(json.dumps(scores))
    problems = " ".join(validate_submission_dir(folder).problems)
    assert "written by scorer 2.1.0, the current scorer is 3.0.0; rescore it" in problems


def test_the_leaderboard_covers_every_baseline_of_the_baselines_issue():
    # new entries may join; these must stay, and every committed folder is listed
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}
    assert set(ISSUE_4_BASELINES) <= folders
    assert readme_entries() == folders
    assert "## Not listed" not in (LEADERBOARD / "README.md").read_text()


def test_committed_files_keep_the_size_limits():
    """A leaderboard entry's model file may be committed up to 10 MiB (so anyone can re-score it); any other file up to 5 MiB."""
    tracked = subprocess.run(["git", "ls-files", "submissions", "ablations"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert tracked
    for path in tracked:
        limit = validate_module.MAX_COMMITTED_BYTES if path.endswith("/submission.pt") else 5 * 2**20
        assert (REPO / path).stat().st_size <= limit, f"{path} is over {limit / 2**20:g} MiB"


def test_builtin_baseline_checksum_is_the_one_the_scorer_writes():
    metadata = yaml.safe_load((SUBMISSIONS / "verlet-eam-k4" / "metadata.yaml").read_text())
    assert metadata["submission_sha256"] == builtin_baseline_sha256("verlet-eam-k4") == hashlib.sha256(b"verlet-eam-k4").hexdigest()


def test_validate_accepts_a_copy_and_names_each_problem(tmp_path):
    folder = copy_submission("constant-velocity", tmp_path)
    assert validate_submission_dir(folder).ok

    def problems_after(change) -> str:
        broken = tmp_path / "broken" / "constant-velocity"
        shutil.rmtree(broken.parent, ignore_errors=True)
        shutil.copytree(folder, broken)
        change(broken)
        report = validate_submission_dir(broken)
        assert not report.ok
        return " ".join(report.problems)

    assert "written by scorer 0.9.0, the current scorer is" in problems_after(
        lambda f: edit_json(f / "scores.json", lambda s: s.update(scorer_version="0.9.0")))
    assert f"scored on gnnmd/al-eam 0.9.0, the current revision is gnnmd/al-eam {DATASET_VERSION}" in problems_after(
        lambda f: edit_json(f / "scores.json", lambda s: s["dataset"].update(version="0.9.0")))
    assert "changed after scoring (description)" in problems_after(
        lambda f: edit_yaml(f / "metadata.yaml", lambda m: m.update(description="better than it was")))
    text = problems_after(lambda f: (f / "submission.pt").write_bytes((f / "submission.pt").read_bytes().replace(b"constant", b"Constant", 1)))
    assert "submission.pt" in text and ("sha256" in text or "not a zip" in text)
    assert "a Python pickle" in problems_after(lambda f: (f / "submission.pt").write_bytes(pickle.dumps({"weights": [1.0]})))
    assert "missing, and metadata.yaml gives no submission_url" in problems_after(lambda f: (f / "submission.pt").unlink())
    assert "scores.json: not valid JSON" in problems_after(lambda f: (f / "scores.json").write_text('{"truncated": '))
    assert "does not follow the scores schema" in problems_after(lambda f: edit_json(f / "scores.json", lambda s: s.pop("stride_accuracy")))
    assert "nve rollouts were skipped" in problems_after(
        lambda f: edit_json(f / "scores.json", lambda s: s["rollouts"].update(nve={"skipped": "--no-rollouts"})))
    assert "plots/rdf.png: missing" in problems_after(lambda f: (f / "plots" / "rdf.png").unlink())
    # a number edited by hand no longer gives the verdict the file states: with Verlet k=1 at 0.5 Å, constant velocity would pass its stride check
    assert "its usability verdict is not what its own numbers give" in problems_after(lambda f: edit_json(
        f / "scores.json", lambda s: s["stride_accuracy"]["nve"]["test"]["overall"]["10"]["verlet_eam_k1"].update(rmse_A=0.5)))
    assert "metadata.yaml: does not follow the metadata schema" in problems_after(
        lambda f: edit_yaml(f / "metadata.yaml", lambda m: m.update(trained_on_test=True)))

    renamed = tmp_path / "submissions" / "renamed"
    shutil.copytree(folder, renamed)
    assert "differs from the folder name 'renamed'" in " ".join(validate_submission_dir(renamed).problems)


def test_validate_allows_a_url_added_after_scoring_but_not_a_large_file_without_one(tmp_path, monkeypatch):
    folder = copy_submission("gns-mini-seed0", tmp_path)
    monkeypatch.setattr(validate_module, "MAX_COMMITTED_BYTES", 1000)
    assert "over the 0.000953674 MiB a committed model may have" in " ".join(validate_submission_dir(folder).problems)
    edit_yaml(folder / "metadata.yaml", lambda m: m.update(submission_url="https://example.org/gns-mini-seed0.pt"))
    report = validate_submission_dir(folder)
    assert report.ok, report.problems
    (folder / "submission.pt").unlink()
    report = validate_submission_dir(folder)
    assert report.ok and any("its submission_url is https://example.org/gns-mini-seed0.pt" in n for n in report.notes)


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server over ``tmp_path / 'served'`` (the test cannot reach the internet)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)  # shutdown() waits a poll
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# The command line fetches only https from public addresses; the local test server is http on 127.0.0.1,
# so the download path is tested under a looser policy passed as an argument (no submitter can set it).
LOCAL_TEST_SERVER = validate_module.FetchPolicy(schemes=("http",), allow_private_hosts=True)


def test_validate_fetch_downloads_and_checks_the_sha256(tmp_path, http_server):
    served, base = http_server
    folder = copy_submission("gns-mini-seed0", tmp_path)
    shutil.move(folder / "submission.pt", served / "good.pt")
    (served / "bad.pt").write_bytes((served / "good.pt").read_bytes()[:-10])

    edit_yaml(folder / "metadata.yaml", lambda m: m.update(submission_url=f"{base}/bad.pt"))
    report = validate_submission_dir(folder, fetch=True, fetch_policy=LOCAL_TEST_SERVER)
    assert not report.ok and "not kept" in " ".join(report.problems)
    assert not (folder / "submission.pt").exists() and not list(folder.glob("*.part")) and not list(folder.glob(".*"))  # nothing kept

    edit_yaml(folder / "metadata.yaml", lambda m: m.update(submission_url=f"{base}/good.pt"))
    report = validate_submission_dir(folder, fetch=True, fetch_policy=LOCAL_TEST_SERVER)
    assert report.ok, report.problems
    assert (folder / "submission.pt").read_bytes() == (served / "good.pt").read_bytes()


def test_validate_with_data_compares_the_dataset_build(tmp_path):
    """Another build of mini (stand-in shards that follow the recipe): every file checks out, the digest differs."""
    folder = copy_submission("zero-displacement", tmp_path)
    report = validate_submission_dir(folder, data_root=fake_dataset(tmp_path / "al-eam"))
    recorded = json.loads((folder / "scores.json").read_text())["dataset"]["data_sha256"]
    assert not report.ok and f"scored on dataset build {recorded[:12]}" in " ".join(report.problems)


def test_rescore_reproduces_honest_numbers_and_catches_edited_ones(tmp_path, mini_dataset):
    folder = copy_submission("constant-velocity", tmp_path)
    result = run_cli("score", str(folder), "--data", str(mini_dataset), "--config", "mini", "--no-progress")
    assert result.returncode == 0
    ok = run_cli("validate", str(folder), "--data", str(mini_dataset), "--rescore", "--no-fresh-seed")  # fresh seed: test_hostile_memoriser
    assert "every accuracy and rollout number reproduced" in ok.stdout and "OK:" in ok.stdout

    # an edit made consistent with the file's own records (every stride error of the submission scaled, the skills,
    # force calls and verdict that follow: else validate refuses it before rescoring): only rescoring catches it
    edit_json(folder / "scores.json", lambda s: rescale_stride(
        s, "submission", 1e-4 / s["stride_accuracy"]["nve"]["test"]["overall"]["10"]["submission"]["rmse_A"]))
    assert validate_submission_dir(folder).ok
    bad = run_cli("validate", str(folder), "--data", str(mini_dataset), "--rescore", "--no-fresh-seed", check=False)
    assert bad.returncode == 1
    assert "the scorer does not reproduce it: stride_accuracy/" in bad.stderr and "submission/" in bad.stderr
    assert "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------------- leaderboard

def test_committed_leaderboard_regenerates_without_a_diff():
    assert check_leaderboard(SUBMISSIONS, LEADERBOARD) == []


@pytest.mark.slow  # two CLI subprocesses
def test_regenerating_is_byte_identical_and_follows_a_change(tmp_path):
    submissions = tmp_path / "submissions"
    for name in ("zero-displacement", "constant-velocity", "verlet-eam-k1", "gns-mini-seed0"):
        copy_submission(name, tmp_path)
    out = tmp_path / "leaderboard"
    changed, excluded, n = write_leaderboard(submissions, out)
    assert n == 4 and not excluded and set(changed) >= {"README.md", "index.html", "entries/gns-mini-seed0.html"}
    assert sum(1 for _ in out.glob("accuracy_vs_cost-*.svg")) == 1 and len(list(out.glob("entries/*.html"))) == 4
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert write_leaderboard(submissions, out)[0] == []  # nothing to rewrite
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert run_cli("leaderboard", "--submissions", str(submissions), "--out", str(out), "--check").returncode == 0

    # an entry leaves -> its page goes with it
    shutil.rmtree(submissions / "constant-velocity")
    assert "entries/constant-velocity.html" in write_leaderboard(submissions, out)[0]
    assert not (out / "entries" / "constant-velocity.html").exists()

    # a learned entry's numbers change (all of them, consistently) -> the tables change, and --check says so
    edit_json(submissions / "gns-mini-seed0" / "scores.json",
              lambda s: rescale_stride(s, "submission", 0.5 / s["stride_accuracy"]["nve"]["test"]["overall"]["10"]["submission"]["rmse_A"]))
    stale = run_cli("leaderboard", "--submissions", str(submissions), "--out", str(out), "--check", check=False)
    assert stale.returncode == 1 and "README.md" in stale.stderr and "index.html" in stale.stderr
    files, _, _ = render_leaderboard(submissions, out)
    assert b"5.00e-01" in files["README.md"]


def test_leaderboard_tables_mark_baselines_name_the_headline_split_and_say_who_loses():
    readme = (LEADERBOARD / "README.md").read_text()
    assert "### Headline: split `test` (held-out time windows at the training temperatures; 70 anchors × 256 atoms per Δt)" in readme
    assert "### Split `test_temperature` (held-out temperatures" in readme
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\|\s*\d+\s*\|\s*\[([a-z0-9.-]+)\]\(\.\./submissions/\1/\)\s*\|.*$", readme, re.M)}
    for name in ("zero-displacement", "constant-velocity", "verlet-eam-k1", "verlet-eam-k4"):
        assert "| baseline " in rows[name]
    assert "| learned " in rows["gns-mini-seed0"]
    for header in ("usable at its stride", "Verlet force calls matched 10 fs", "RMSE 1 fs (Å)", "RMSE 10 fs (Å)", "RMSE 50 fs (Å)",
                   "skill vs const. vel. 10 fs", "NVE rollout survival", "NVE time to failure (fs)", "NVE T − MD (K)",
                   "NVE energy drift (meV/atom/ps)", "NVE VDOS error", "NVE RDF error (Å)", "thermostatted survival",
                   "thermostatted RDF error (Å)", "speed-up vs LAMMPS"):
        assert header in readme
    assert "## What \"usable at stride Δt\" means" in readme and "- **energy** (physical): NVE total-energy drift" in readme
    # the verdict is computed, not written by hand: gns-mini-seed0 really is worse than Verlet k=1 at 10 fs
    scores = json.loads((SUBMISSIONS / "gns-mini-seed0" / "scores.json").read_text())["stride_accuracy"]["nve"]["test"]["overall"]["10"]
    assert scores["submission"]["rmse_A"] > scores["verlet_eam_k1"]["rmse_A"]
    assert re.search(r"\*\*gns-mini-seed0\*\* \*\*not usable at 10 fs: fails survival \(nve 0/16 survive.*\*\*loses\*\* "
                     r"to verlet-eam-k1 at [0-9, and]*10 fs", readme)
    # an entry that wins somewhere and loses elsewhere gets both halves, each from its scores
    scores = json.loads((SUBMISSIONS / "gns-mini-seed0" / "scores.json").read_text())["stride_accuracy"]["nve"]["test"]["overall"]
    assert scores["50"]["submission"]["rmse_A"] < scores["50"]["verlet_eam_k1"]["rmse_A"]
    assert re.search(r"\*\*gns-mini-seed0\*\* .*It beats .*verlet-eam-k1 at 50 fs", readme)
    # the usable baselines rank first; a learned entry that fails a physical check is below every baseline passing it
    order = [m.group(1) for m in re.finditer(r"^\|\s*\d+\s*\|\s*\[([a-z0-9.-]+)\]", readme[:readme.index("### Split `test_temperature`")], re.M)]
    assert order[:4] == ["verlet-eam-k8", "verlet-eam-k4", "verlet-eam-k2", "verlet-eam-k1"]


def test_a_column_that_is_the_same_for_every_entry_is_stated_once_not_repeated(tmp_path):
    for name in ("zero-displacement", "constant-velocity", "gns-mini-seed0"):
        copy_submission(name, tmp_path)
    entries = collect_entries(tmp_path / "submissions")[0]
    shown, constant = table_layout(entries, "test", COLUMNS)
    assert "speedup" in shown and "rmse_10" in shown and not {"speed-up vs LAMMPS"} & set(constant)
    for entry in entries:  # every entry now reports the same speed-up and date
        entry.scores["cost"]["speedup_vs_lammps"] = 2.5
        entry.scores["scored_on"] = "2026-11-24"
    shown, constant = table_layout(entries, "test", COLUMNS)
    assert "speedup" not in shown and constant["speed-up vs LAMMPS"] == "2.5" and constant["date scored"] == "2026-11-24"
    assert {"entry", "kind", "params", "rmse_10"} <= set(shown)  # leading columns always stay
    assert table_layout(entries[:1], "test", COLUMNS)[1] == {}  # one entry: nothing to compare, nothing dropped


def test_entries_trained_with_different_seeds_show_their_spread(tmp_path):
    """Three seeds of one recipe (metadata seed_group, written by gnnbench train --seed) give one
    spread row: the mean RMSE over seeds and its min–max, here at known values 1, 2 and 6 mÅ."""
    copy_submission("constant-velocity", tmp_path)
    for seed, rmse in enumerate((0.001, 0.002, 0.006)):
        folder = copy_submission("gns-mini-seed0", tmp_path, f"gns-mini-seed{seed}")
        changes = {"name": f"gns-mini-seed{seed}", "seed": seed, "seed_group": "gns-mini"}
        edit_yaml(folder / "metadata.yaml", lambda m, changes=changes: m.update(changes))
        edit_json(folder / "scores.json", lambda s, changes=changes, rmse=rmse: (
            s["submission"].update(name=changes["name"]), s["submission"]["metadata"].update(changes),
            rescale_stride(s, "submission", rmse / s["stride_accuracy"]["nve"]["test"]["overall"]["10"]["submission"]["rmse_A"])))
        if seed:
            own_model_file(folder)  # three copies of one file would be one model under three names
    for seed in range(3):
        report = validate_submission_dir(tmp_path / "submissions" / f"gns-mini-seed{seed}")
        assert report.ok, report.problems
    entries = collect_entries(tmp_path / "submissions")[0]
    headers, rows = seed_spread(entries, "test")
    assert len(rows) == 1 and rows[0][:2] == ["gns-mini", "gns-mini-seed0, gns-mini-seed1, gns-mini-seed2"]
    assert rows[0][headers.index("RMSE 10 fs (Å): mean (min–max)")] == "0.003 (0.001–0.006)"
    files = render_leaderboard(tmp_path / "submissions", tmp_path / "leaderboard")[0]
    assert "Spread over training seeds" in files["README.md"].decode() and "0.003 (0.001–0.006)" in files["README.md"].decode()
    assert "0.003 (0.001–0.006)" in files["index.html"].decode()
    assert seed_spread(entries[:2], "test")[1] == []  # one seed: no spread to show


@pytest.mark.slow  # draws the committed entries' figures
def test_accuracy_vs_cost_figure_joins_the_verlet_frontier_and_links_each_point(tmp_path):
    for name in ("verlet-eam-k1", "verlet-eam-k4", "gns-mini-seed0", "constant-velocity"):
        copy_submission(name, tmp_path)
    entries = collect_entries(tmp_path / "submissions")[0]
    svg = accuracy_vs_cost_svg(entries, "test", "title").decode()
    assert "Verlet-EAM frontier" in svg and "MD noise floor" in svg
    for name in ("verlet-eam-k1", "verlet-eam-k4", "gns-mini-seed0", "constant-velocity"):
        assert svg.count(f'xlink:href="entries/{name}.html"') >= 2 * 2  # marker and label, in both panels
    assert accuracy_vs_cost_svg(entries, "test", "title").decode() == svg  # reproducible


# ----------------------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (no browser download): clicks, the address, screenshots."""
    from playwright import sync_api  # the test extra installs it; the browser is Debian's
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for this test: apt-get install chromium (the README's test command installs it)"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def rows_of(page) -> list[list[str]]:
    """Entry names per leaderboard table, in DOM order, of the rows the filters leave visible."""
    return page.eval_on_selector_all("table.leaderboard", """tables => tables.map(t =>
        Array.from(t.tBodies[0].rows).filter(r => r.offsetParent !== null).map(r => r.dataset.entry))""")


def readme_entries() -> set[str]:
    return set(re.findall(r"^\|\s*\d+\s*\|\s*\[([a-z0-9._-]+)\]", (LEADERBOARD / "README.md").read_text(), re.M))


@pytest.mark.slow  # Chromium
def test_index_html_renders_every_entry_sorts_and_filters_in_headless_chromium(browser, tmp_path):
    index = (LEADERBOARD / "index.html").resolve().as_uri()
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(index)
    html_attrs = page.evaluate("Object.assign({}, document.documentElement.dataset)")
    assert html_attrs.get("sortable") == "ready", "the page's script did not run"
    loaded, total = html_attrs["plotsLoaded"].split("/")
    assert int(total) >= 1 and loaded == total, "the error-vs-Δt plot did not load from disk"
    tables = rows_of(page)
    assert len(tables) == 2  # headline split test, then test_temperature
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}
    for table in tables:
        assert set(table) == readme_entries() <= folders and set(ISSUE_4_BASELINES) <= set(table)
    page.screenshot(path=tmp_path / "leaderboard.png", full_page=True)
    assert (tmp_path / "leaderboard.png").stat().st_size > 50_000

    # the accuracy-vs-cost figure is inline SVG whose points link to every entry's page
    links = set(page.eval_on_selector_all("figure.accuracy-vs-cost a", "as => as.map(a => a.getAttribute('xlink:href') || a.getAttribute('href'))"))
    assert {f"entries/{name}.html" for name in ("gns-mini-seed0", "verlet-eam-k1", "verlet-eam-k4")} <= links

    # sorted by RMSE at 50 fs, descending, through the address (what a click does)
    page.goto(index + "#sort=rmse_50&dir=desc")
    page.reload()
    shown = rows_of(page)[0]
    at_50 = {name: json.loads((SUBMISSIONS / name / "scores.json").read_text())["stride_accuracy"]["nve"]["test"]["overall"]["50"]
             for name in shown}
    rmse_50 = {name: at["submission"]["rmse_A"] for name, at in at_50.items() if "submission" in at}  # none: scored at its own Δt only
    with_value = [name for name in shown if name in rmse_50]
    assert with_value == sorted(with_value, key=lambda n: -rmse_50[n])
    assert shown[len(with_value):] == [name for name in shown if name not in rmse_50], "entries without a value go last"
    assert shown != tables[0], "sorting changed nothing: the test would not notice a broken sort"

    # a click on a header sorts and writes the view into the address
    page.click('table.leaderboard[data-split="test"] th[data-key="params"]')
    assert "sort=params" in page.url and "dir=" in page.url

    # filters: from the address on load, and from the controls into the address
    page.goto(index + "#kind=learned")
    page.reload()
    learned = {name for name in folders if not yaml.safe_load((SUBMISSIONS / name / "metadata.yaml").read_text()).get("baseline")}
    assert set(rows_of(page)[0]) == learned & readme_entries() and "gns-mini-seed0" in learned
    page.select_option('form.filters select[name="kind"]', "baseline")
    assert "kind=baseline" in page.url and "verlet-eam-k1" in rows_of(page)[0] and "gns-mini-seed0" not in rows_of(page)[0]
    page.select_option('form.filters select[name="kind"]', "")
    page.select_option('form.filters select[name="velocities"]', "yes")
    assert "velocities=yes" in page.url and "kind=" not in page.url
    assert set(rows_of(page)[0]) == {n for n in readme_entries()
                                     if yaml.safe_load((SUBMISSIONS / n / "metadata.yaml").read_text())["predicts_velocities"]}


@pytest.mark.slow  # Chromium
def test_a_row_link_opens_the_entry_page_with_its_plots(browser, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto((LEADERBOARD / "index.html").resolve().as_uri())
    page.click('table.leaderboard[data-split="test"] tr[data-entry="gns-mini-seed0"] a')
    page.wait_for_load_state("load")
    assert page.url.endswith("/leaderboard/entries/gns-mini-seed0.html")
    assert page.inner_text("h1") == "gns-mini-seed0"
    images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
    plots = sorted(p.name for p in (SUBMISSIONS / "gns-mini-seed0" / "plots").glob("*.png"))
    assert sorted(src.rsplit("/", 1)[1] for src, _ in images) == plots and all(ok for _, ok in images), images
    text = page.inner_text("body")
    for needle in ("Stride accuracy", "NVE-branch targets", "NPT-continuation targets", "Rollouts", "Cost", "How to reproduce",
                   "gnnbench score submissions/gns-mini-seed0", "Verlet k=1"):
        assert needle in text, needle
    # its files are linked and exist
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    for name in ("metadata.yaml", "scores.json", "submission.pt"):
        target = next(h for h in hrefs if h.endswith(f"/submissions/gns-mini-seed0/{name}"))
        assert Path(target.removeprefix("file://")).is_file()
    page.screenshot(path=tmp_path / "entry.png", full_page=True)
    assert (tmp_path / "entry.png").stat().st_size > 50_000
