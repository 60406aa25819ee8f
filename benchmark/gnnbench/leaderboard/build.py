"""Regenerate ``leaderboard/`` from ``submissions/*/scores.json``, or check that it is up to date.

The output depends only on the submissions (no dates, stable order, reproducible SVG), so
regenerating an unchanged set of submissions leaves no diff; ``check_leaderboard`` is that test.
"""

from __future__ import annotations

from pathlib import Path

from .entries import HEADLINE_SPLIT, SPLITS, collect_entries, group_entries, group_title, plot_filename, ranked
from .markdown import render_markdown
from .page import render_page
from .plot import error_vs_dt_svg

GENERATED = ("README.md", "index.html", "error_vs_dt-*.svg")


def render_leaderboard(submissions_dir: Path) -> tuple[dict[str, bytes], dict[str, list[str]], int]:
    """The leaderboard's files by name, the excluded folders with their problems, and the entry count."""
    entries, excluded = collect_entries(submissions_dir)
    groups = group_entries(entries)
    plots = {key: plot_filename(key) for key in groups}
    files = {
        plots[key]: error_vs_dt_svg(ranked(members, HEADLINE_SPLIT), HEADLINE_SPLIT,
                                    f"{group_title(key).replace('`', '')}\nsplit {HEADLINE_SPLIT}: {SPLITS[HEADLINE_SPLIT]}, NVE-branch targets")
        for key, members in groups.items()
    }
    files["README.md"] = render_markdown(groups, plots, excluded).encode()
    files["index.html"] = render_page(groups, plots, excluded).encode()
    return files, excluded, len(entries)


def _stale(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Generated files in ``out_dir`` that this generation would not write (e.g. a config now gone)."""
    return sorted(p for pattern in GENERATED for p in Path(out_dir).glob(pattern) if p.name not in files)


def write_leaderboard(submissions_dir: Path, out_dir: Path) -> tuple[list[str], dict[str, list[str]], int]:
    """Write the leaderboard; returns the names of files that changed, the excluded folders, the entry count."""
    files, excluded, n_entries = render_leaderboard(submissions_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in files.items():
        path = out_dir / name
        if not path.is_file() or path.read_bytes() != content:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
            changed.append(name)
    for path in _stale(out_dir, files):
        path.unlink()
        changed.append(path.name)
    return changed, excluded, n_entries


def check_leaderboard(submissions_dir: Path, out_dir: Path) -> list[str]:
    """Names of files in ``out_dir`` that differ from what ``write_leaderboard`` would write (empty: up to date)."""
    files, _, _ = render_leaderboard(submissions_dir)
    differ = [name for name, content in files.items()
              if not (Path(out_dir) / name).is_file() or (Path(out_dir) / name).read_bytes() != content]
    return differ + [p.name for p in _stale(Path(out_dir), files)]
