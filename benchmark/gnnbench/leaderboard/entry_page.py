"""``leaderboard/entries/<name>.html``: everything about one entry on one static page.

Its metadata, its verdict against the baselines, every stride and rollout number with its 95 %
CI beside the baselines scored on the same frames, its cost, every plot the scorer drew, links
to its files (metadata.yaml, scores.json, the model, its README) and the commands that
reproduce it. Files of the submission folder are linked by relative path, so the page works
opened from disk inside the repository, like index.html.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..predict.formats import MODEL_FILE_NAMES, model_file
from ..score.baselines import SUBMISSION, Baseline
from ..score.rollout import AGGREGATES, RolloutMode
from ..untrusted import html_escape
from .entries import SPLITS, TABLE_DT_FS, Entry, verdict
from .page import STYLE, inline_markdown
from .validate import PLOTS

TARGET_KINDS = {
    "nve": "NVE-branch targets (the Hamiltonian flow from the exact anchor state: the headline)",
    "npt": "NPT-continuation targets (the paper's protocol; carry the barostat's box breathing, a floor no integrator goes below)",
}
STRIDE_COLUMNS = (SUBMISSION, *(b.value for b in Baseline))
MODE_NOTES = {
    "nve": "NVE: the model alone, from an MD state, against the 2 ps NVE reference window.",
    "thermostatted": "thermostatted: the scorer applies a Bussi thermostat between strides; compared with the NPT MD at that temperature.",
}


def _fmt(value, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec)


def _with_ci(summary: dict, key: str, spec: str = ".3g") -> str:
    value, ci = summary.get(key), summary.get(f"{key}_ci95")
    text = _fmt(value, spec)
    if value is not None and ci and None not in ci:
        text += f" [{format(ci[0], spec)}, {format(ci[1], spec)}]"
    return text


def _table(headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f"<th>{html_escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{html_escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    caption_html = f"<caption>{html_escape(caption)}</caption>" if caption else ""
    return f'<table class="detail">{caption_html}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'


def _label(scores: dict, who: str) -> str:
    return "this entry" if who == SUBMISSION else scores["baselines"].get(who, {}).get("label", who)


def stride_section(entry: Entry) -> str:
    scores = entry.scores
    parts = ["<h2>Stride accuracy</h2>",
             "<p>RMSE of the per-atom displacement vector after one stride, sqrt(mean over anchors and atoms of "
             "|Δr_pred − Δr_true|²), in Å, with its 95 % bootstrap CI over anchors, beside every baseline on the same frames.</p>"]
    for kind, description in TARGET_KINDS.items():
        for split, split_text in SPLITS.items():
            result = scores["stride_accuracy"].get(kind, {}).get(split)
            if not result or result.get("failed"):
                parts.append(f"<p>{html_escape(kind)} / {html_escape(split)}: not scored.</p>")
                continue
            present = [who for who in STRIDE_COLUMNS if any(who in result["overall"][str(dt)] for dt in result["dt_fs"])]
            rows = [[str(dt)] + [_with_ci(result["overall"][str(dt)].get(who, {}), "rmse_A", ".2e") for who in present]
                    for dt in result["dt_fs"]]
            caption = (f"{description}; split {split} ({split_text}; {result['n_anchors']} anchors × {result['n_atoms']} atoms)")
            parts.append(_table(["Δt (fs)"] + [_label(scores, who) for who in present], rows, caption))
    return "\n".join(parts)


def rollout_section(entry: Entry) -> str:
    scores = entry.scores
    parts = ["<h2>Rollouts</h2>"]
    for mode in RolloutMode:
        result = scores["rollouts"].get(mode.value)
        if not result or not result.get("models"):
            parts.append(f"<p>{mode.value} rollouts: not run.</p>")
            continue
        models = result["models"]
        rows = [[aggregate.label] + [_with_ci(models[who], aggregate.key) if not models[who].get("failed") else "failed"
                                     for who in models]
                for aggregate in AGGREGATES[mode]]
        caption = (f"{MODE_NOTES[mode.value]} {result['n_rollouts']} rollouts at {result['stride_fs']} fs strides over "
                   f"{result['horizon_fs']} fs; mean over trajectories [95 % bootstrap CI over trajectories]")
        parts.append(_table(["metric"] + [_label(scores, who) for who in models], rows, caption))
        mine = models.get(SUBMISSION, {})
        if mine.get("per_trajectory"):
            rows = [[name, _fmt(t.get("thermostat_temperature_K"), "g"), "yes" if t["survived"] else "no",
                     _fmt(t.get("time_to_failure_fs"), "g"), t.get("failure_reason") or ""]
                    for name, t in mine["per_trajectory"].items()]
            parts.append("<details><summary>this entry's rollouts one by one</summary>"
                         + _table(["trajectory", "T set-point (K)", "survived", "failed at (fs)", "why"], rows) + "</details>")
    return "\n".join(parts)


def cost_section(entry: Entry) -> str:
    cost = entry.scores.get("cost") or {}
    if not cost.get("submission"):
        return "<h2>Cost</h2>\n<p>Not measured.</p>"
    mine, lammps = cost["submission"], cost.get("lammps_eam", {})
    rows = [["this entry", f"{mine['stride_fs']} fs stride", _fmt(mine.get("seconds_per_stride")), _fmt(mine.get("us_per_atom_stride")),
             _fmt(mine.get("ns_per_day"))],
            ["LAMMPS EAM NPT", f"{_fmt(lammps.get('timestep_fs'), 'g')} fs step", _fmt(lammps.get("seconds_per_step")),
             _fmt(lammps.get("us_per_atom_step")), _fmt(lammps.get("ns_per_day"))]]
    hardware = ", ".join(f"{k} {v}" for k, v in (cost.get("hardware") or {}).items())
    return ("<h2>Cost</h2>\n" + _table(["who", "per call", "seconds per call", "µs per atom per call", "simulated ns/day"], rows)
            + f"<p>speed-up over LAMMPS: <strong>{_fmt(cost.get('speedup_vs_lammps'))}×</strong> ({html_escape(cost.get('definition', ''))}). "
            f"Hardware: {html_escape(hardware)}.</p>")


def _metadata_rows(metadata: dict) -> list[list[str]]:
    def text(value):
        if isinstance(value, dict):
            return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value)

    return [[key, text(value)] for key, value in metadata.items()]


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")  # files of a submission folder a page links
MAX_LINKED_FILES = 40  # of each kind (extra plots, rollout files): a folder cannot flood its page


def plots_of(folder: Path) -> list[str]:
    """The entry's plot files (relative to its folder): the scorer's fixed set first, then any other
    (plainly named regular files only, at most MAX_LINKED_FILES)."""
    found = sorted(p.name for p in (folder / "plots").glob("*.png") if _linkable(p)) if (folder / "plots").is_dir() else []
    others = [p for p in found if p not in PLOTS][:MAX_LINKED_FILES]
    return [f"plots/{name}" for name in [*(p for p in PLOTS if p in found), *others]]


def rollout_files_of(folder: Path, scores: dict) -> list[str]:
    """The pictured trajectory's rollout files (relative to the folder): the ones a repository keeps.

    The scorer writes every trajectory's pair but pictures the last trajectory it lists (the
    hottest held-out temperature), and only those files are committed (.gitignore); linking what
    happens to lie on disk would make the page depend on the machine that generated it.
    """
    found = []
    for mode, result in sorted(scores.get("rollouts", {}).items()):
        listed = result.get("rollout_files") if isinstance(result, dict) else None
        if not isinstance(listed, dict) or not listed:
            continue
        pair = listed[list(listed)[-1]]
        for name in sorted(pair.values()) if isinstance(pair, dict) else []:
            path = folder / str(name)
            if str(name).startswith(f"rollouts/{mode}/") and path.is_file() and _linkable(path) and _linkable(path.parent):
                found.append(path.relative_to(folder).as_posix())
    return found[:MAX_LINKED_FILES]


def _linkable(path: Path) -> bool:
    return bool(FILE_NAME.match(path.name)) and not path.is_symlink()


def entry_model_file(folder: Path) -> Path:
    """The entry's model file (validate has refused a folder with two)."""
    try:
        return model_file(folder)
    except ValueError:
        return folder / MODEL_FILE_NAMES[0]


def reproduce_commands(entry: Entry) -> str:
    dataset = entry.scores["dataset"]
    folder = f"submissions/{entry.name}"
    builtin = entry.model_format == "built-in"
    score = (f"gnnbench score --baseline {entry.name} --data datasets/al-eam --config {dataset['config']} --out {folder}" if builtin
             else f"gnnbench score {folder} --data datasets/al-eam --config {dataset['config']}")
    fetch = ["gnnbench validate --fetch " + folder + "   # downloads the model file from submission_url, checked by its sha256"] \
        if entry.metadata.get("submission_url") and not builtin else []
    return "\n".join([
        f"gnnbench data build --config {dataset['config']}   # dataset {dataset['version']}, build {dataset['data_sha256'][:12]}",
        *fetch,
        score,
        f"gnnbench validate {folder} --data datasets/al-eam --rescore   # scores again and compares every number",
    ])


def render_entry_page(entry: Entry, group: list[Entry], page_dir: Path) -> str:
    """The page of ``entry``; ``page_dir`` is where it will be written (links are relative to it)."""
    folder = os.path.relpath(entry.folder.resolve(), Path(page_dir).resolve())

    def link(name: str, text: str | None = None) -> str:
        return f'<a href="{html_escape(folder + "/" + name)}">{html_escape(text or name)}</a>'

    meta = entry.metadata
    files = [link("metadata.yaml"), link("scores.json")]
    if (entry.folder / "README.md").is_file():
        files.append(link("README.md", "README.md (how it was trained)"))
    model_file = entry_model_file(entry.folder)
    if model_file.is_file() and not meta.get("submission_url"):  # committed; a hosted one is not in a checkout
        files.append(link(model_file.name, f"{model_file.name} (the model, {entry.model_format})"))
    if meta.get("submission_url"):
        files.append(f'<a href="{html_escape(meta["submission_url"])}">the model file at its release URL</a>')
    if meta.get("code_url"):
        files.append(f'<a href="{html_escape(meta["code_url"])}">code</a>')
    kind = "baseline" if entry.is_baseline else "learned model"
    plots = "\n".join(f'<figure><img src="{html_escape(folder + "/" + p)}" alt="{html_escape(p)} of {html_escape(entry.name)}">'
                      f"<figcaption>{html_escape(p)}</figcaption></figure>" for p in plots_of(entry.folder))
    readme = (entry.folder / "README.md").is_file()  # linked, never copied into the page
    body = [
        '<p><a href="../index.html">← leaderboard</a></p>',
        f"<h1>{html_escape(entry.name)}</h1>",
        f"<p>{html_escape(meta.get('description', ''))} ({kind}, format {html_escape(entry.model_format)}"
        + (f", scored at its own timestep {', '.join(map(str, entry.own_strides_fs))} fs only" if entry.own_strides_fs else "")
        + f"; scored {html_escape(entry.date_scored or 'on an unrecorded date')} "
        f"by gnnbench scorer {html_escape(entry.scores['scorer_version'])} on {html_escape(entry.scores['dataset']['name'])} "
        f"v{html_escape(entry.scores['dataset']['version'])}, config <code>{html_escape(entry.scores['dataset']['config'])}</code>).</p>",
        f"<p><strong>Verdict</strong> (split test, Δt {', '.join(map(str, TABLE_DT_FS))} fs): {inline_markdown(verdict(entry, group))}</p>"
        if not entry.is_baseline else "",
        "<p>Files: " + " · ".join(files) + "</p>",
        "<h2>Metadata</h2>", _table(["field", "value"], _metadata_rows(meta)),
        stride_section(entry), rollout_section(entry), cost_section(entry),
        f'<h2>Plots</h2>\n<div class="plots">{plots or "<p>none</p>"}</div>',
        rollout_files_section(entry.folder, entry.scores, link),
        "<h2>How to reproduce</h2>",
        f"<pre><code>{chr(10).join(html_escape(line) for line in reproduce_commands(entry).splitlines())}</code></pre>",
        f"<p>How the model itself was made: {link('README.md', 'its README')}.</p>" if readme else "",
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html_escape(entry.name)} · gnnbench leaderboard</title>\n<style>{STYLE}{ENTRY_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(part for part in body if part) + "\n</body>\n</html>\n")


def rollout_files_section(folder: Path, scores: dict, link) -> str:
    files = rollout_files_of(folder, scores)
    if not files:
        return ""
    return ("<h2>Rollout files</h2>\n<p>The pictured rollouts as extended XYZ (gzipped; OVITO and ASE open them as they are): the "
            "model's frames and MD's at the same times, with velocities (Å/ps) and each atom's distance from its MD position (Å). "
            "<code>gnnbench score</code> writes one pair per trajectory and mode into <code>rollouts/</code>; the repository keeps "
            "the pictured trajectory's.</p>\n<ul>" + "".join(f"<li>{link(f)}</li>" for f in files) + "</ul>")


ENTRY_STYLE = """
table.detail caption { caption-side: top; text-align: left; font-size: 0.85rem; color: #444; padding: 0.2rem 0; }
table.detail th { cursor: default; }
table.detail td:first-child { text-align: left; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(28rem, 1fr)); gap: 1rem; }
figure { margin: 0; } figcaption { font-size: 0.8rem; color: #555; }
pre { background: #f2f2f2; padding: 0.6rem; overflow-x: auto; }
"""
