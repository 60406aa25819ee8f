"""Regenerate ``leaderboard/`` from ``submissions/*/scores.json``, or check that it is up to date.

The output depends only on the submissions (no dates, stable order, reproducible SVG), so
regenerating an unchanged set of submissions leaves no diff; ``check_leaderboard`` is that test.
"""

from __future__ import annotations

from pathlib import Path

from ..untrusted import short
from .entries import (
    HEADLINE_SPLIT,
    SPLITS,
    TABLES,
    Entry,
    collect_entries,
    group_entries,
    group_title,
    plot_filename,
    ranked,
    split_caption,
    table_cells,
    verdict,
)
from .entry_page import render_entry_page
from .markdown import render_markdown
from .page import render_page
from .plot import accuracy_vs_cost_svg, entry_page_link, error_vs_dt_svg

GENERATED = ("README.md", "index.html", "error_vs_dt-*.svg", "accuracy_vs_cost-*.svg", "entries/*.html")


def render_leaderboard(submissions_dir: Path, out_dir: Path) -> tuple[dict[str, bytes], dict[str, list[str]], int]:
    """The leaderboard's files by path relative to ``out_dir``, the excluded folders with their
    problems, and the entry count. ``out_dir`` is needed for the entry pages' relative links."""
    entries, excluded = collect_entries(submissions_dir)
    entries = [entry for entry in entries if _renders(entry, Path(out_dir), excluded)]
    excluded = dict(sorted(excluded.items()))
    groups = group_entries(entries)
    files, figures = {}, {}
    for key, members in groups.items():
        title = group_title(key).replace("`", "")
        error_file = plot_filename(key)
        cost_file = error_file.replace("error_vs_dt-", "accuracy_vs_cost-")
        files[error_file] = error_vs_dt_svg(ranked(members, HEADLINE_SPLIT), HEADLINE_SPLIT,
                                            f"{title}\nsplit {HEADLINE_SPLIT}: {SPLITS[HEADLINE_SPLIT]}, NVE-branch targets")
        files[cost_file] = accuracy_vs_cost_svg(members, HEADLINE_SPLIT, title)
        figures[key] = {"error_vs_dt": error_file, "accuracy_vs_cost_file": cost_file, "accuracy_vs_cost": files[cost_file]}
        for entry in members:
            files[entry_page_link(entry.name)] = render_entry_page(entry, members, Path(out_dir) / "entries").encode()
    files["README.md"] = render_markdown(groups, figures, excluded).encode()
    files["index.html"] = render_page(groups, figures, excluded).encode()
    return files, excluded, len(entries)


def _renders(entry: Entry, out_dir: Path, excluded: dict[str, list[str]]) -> bool:
    """Whether ``entry`` renders on its own; if not, it joins ``excluded`` with the reason.

    A schema-valid scores.json can still hold what no table expects; one such file must cost its
    own entry, not the whole leaderboard."""
    try:
        for split, columns in TABLES:
            table_cells(entry, split, columns)
            verdict(entry, [entry], split)
            split_caption([entry], split)
        render_entry_page(entry, [entry], out_dir / "entries")
    except (ArithmeticError, AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
        excluded[entry.name] = [f"scores.json: cannot be shown on the leaderboard ({type(err).__name__}: {short(err, 200)})"]
        return False
    return True


def _stale(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Generated files in ``out_dir`` that this generation would not write (e.g. a config now gone)."""
    return sorted(p for pattern in GENERATED for p in Path(out_dir).glob(pattern)
                  if p.relative_to(out_dir).as_posix() not in files)


def write_leaderboard(submissions_dir: Path, out_dir: Path) -> tuple[list[str], dict[str, list[str]], int]:
    """Write the leaderboard; returns the names of files that changed, the excluded folders, the entry count."""
    out_dir = Path(out_dir)
    files, excluded, n_entries = render_leaderboard(submissions_dir, out_dir)
    changed = []
    for name, content in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
            changed.append(name)
    for path in _stale(out_dir, files):
        path.unlink()
        changed.append(path.relative_to(out_dir).as_posix())
    return changed, excluded, n_entries


def check_leaderboard(submissions_dir: Path, out_dir: Path) -> list[str]:
    """Names of files in ``out_dir`` that differ from what ``write_leaderboard`` would write (empty: up to date)."""
    out_dir = Path(out_dir)
    files, _, _ = render_leaderboard(submissions_dir, out_dir)
    differ = [name for name, content in files.items()
              if not (out_dir / name).is_file() or (out_dir / name).read_bytes() != content]
    return differ + [p.relative_to(out_dir).as_posix() for p in _stale(out_dir, files)]
