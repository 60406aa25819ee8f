"""``leaderboard/index.html``: the leaderboard as one static page, sortable, no server needed.

The tables are plain HTML (readable without JavaScript). A short inline script makes every
column header sortable (click; click again to reverse; missing values always last) and applies
``#sort=<column>&dir=asc|desc`` from the address on load, so a sorted view can be linked. The
error-vs-Δt plots are the SVG files beside the page, referenced by relative path, so the page
works opened straight from disk. On load the script records on ``<html>`` that sorting is ready
(``data-sortable="ready"``) and how many plots loaded (``data-plots-loaded="2/2"``); the
browser test reads those.
"""

from __future__ import annotations

import html
import re

from .entries import (COLUMNS, HEADLINE_SPLIT, SCORER_NOTE, TABLES, SKILL_DT_FS, SPLITS, Entry, group_title,
                      ranked, split_caption, table_cells, verdict)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 96rem; padding: 0 1rem; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: right; white-space: nowrap; }
td:nth-child(2), td:nth-child(3), th:nth-child(2), th:nth-child(3) { text-align: left; }
th { background: #f2f2f2; cursor: pointer; user-select: none; white-space: normal; vertical-align: bottom; min-width: 4rem; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
tr.baseline td { background: #f7f7f7; color: #555; }
dt { font-weight: 600; margin-top: 0.4rem; }
img { max-width: 100%; }
code { background: #f2f2f2; padding: 0 0.2rem; }
"""

SCRIPT = """
(function () {
  function cellValue(row, index) {
    var raw = row.cells[index].getAttribute("data-value");
    if (raw === null || raw === "") return null;
    var number = Number(raw);
    return isNaN(number) ? raw : number;
  }
  function sortTable(table, key, dir) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.findIndex(function (th) { return th.getAttribute("data-key") === key; });
    if (index < 0) return false;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === null) return y === null ? 0 : 1;
      if (y === null) return -1;
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return dir === "desc" ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (th, i) {
      th.setAttribute("aria-sort", i === index ? (dir === "desc" ? "descending" : "ascending") : "none");
    });
    return true;
  }
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.leaderboard"));
  tables.forEach(function (table) {
    Array.prototype.slice.call(table.tHead.rows[0].cells).forEach(function (th) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "desc" : "asc";
        sortTable(table, th.getAttribute("data-key"), dir);
      });
    });
  });
  var match = /sort=([A-Za-z0-9_]+)(?:&dir=(asc|desc))?/.exec(window.location.hash);
  if (match) tables.forEach(function (table) { sortTable(table, match[1], match[2] || "asc"); });
  document.documentElement.setAttribute("data-sortable", "ready");
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
    document.documentElement.setAttribute("data-plots-loaded", loaded + "/" + images.length);
  });
})();
"""


def _inline(text: str) -> str:
    """Escape ``text`` and turn its Markdown `code` and **bold** into HTML."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _table(entries: list[Entry], split: str, columns) -> str:
    heads = [("rank", "#"), ("entry", "entry"), ("kind", "kind"), ("params", "parameters")]
    heads += [(c.key, c.header) for c in columns]
    titles = {c.key: c.definition for c in columns}
    head_html = "".join(f'<th data-key="{key}" aria-sort="none" title="{html.escape(titles.get(key, ""))}">{html.escape(text)}</th>'
                        for key, text in heads)
    rows = []
    for rank, entry in enumerate(ranked(entries, split), start=1):
        cells = [f'<td data-value="{rank}">{rank}</td>']
        for _, text, value in table_cells(entry, split, columns):
            sort_value = "" if value is None or (isinstance(value, float) and value != value) else (
                repr(float(value)) if isinstance(value, (int, float)) else str(value))
            cells.append(f'<td data-value="{html.escape(sort_value)}">{html.escape(text)}</td>')
        kind = "baseline" if entry.is_baseline else "learned"
        rows.append(f'<tr class="{kind}" data-entry="{html.escape(entry.name)}">{"".join(cells)}</tr>')
    return (f'<table class="leaderboard" data-split="{split}">\n<thead><tr>{head_html}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>")


def render_page(groups: dict[tuple, list[Entry]], plots: dict[tuple, str], excluded: dict[str, list[str]]) -> str:
    body = [
        "<h1>gnnbench leaderboard</h1>",
        "<p>Learned molecular-dynamics integrators on <code>gnnmd/al-eam</code>, beside the baselines they must beat: "
        "zero displacement, constant velocity r + vΔt, and velocity-Verlet with the true EAM forces. "
        f"Click a column header to sort. Rows start ordered by RMSE at Δt = {SKILL_DT_FS} fs; grey rows are baselines. "
        f"The headline table is split <code>{HEADLINE_SPLIT}</code> ({html.escape(SPLITS[HEADLINE_SPLIT])}). "
        f"{_inline(SCORER_NOTE)} Generated by <code>gnnbench leaderboard</code>; do not edit by hand.</p>",
    ]
    for key, entries in groups.items():
        body.append(f"<section>\n<h2>{_inline(group_title(key))}</h2>")
        for split, columns in TABLES:
            label = "Headline: split" if split == HEADLINE_SPLIT else "Split"
            body.append(f"<h3>{label} <code>{split}</code> ({html.escape(SPLITS[split])}; {html.escape(split_caption(entries, split))})</h3>")
            body.append(_table(entries, split, columns))
            learned = [e for e in ranked(entries, split) if not e.is_baseline]
            if learned:
                body.append(f"<p>Learned models against the baselines computed on the same frames (split <code>{split}</code>):</p>\n<ul>"
                            + "".join(f"<li><strong>{html.escape(e.name)}</strong> {_inline(verdict(e, entries, split))}</li>" for e in learned)
                            + "</ul>")
        body.append(f'<img src="{html.escape(plots[key])}" alt="RMSE of the per-atom displacement vector against the stride, '
                    f'split {HEADLINE_SPLIT}, every entry of this section">\n</section>')
    body.append("<h2>Column definitions</h2>\n<dl>" + "".join(
        f"<dt>{html.escape(c.header)}</dt><dd>{html.escape(c.definition)}.</dd>" for c in COLUMNS) + "</dl>")
    if excluded:
        body.append("<h2>Not listed</h2>\n<p>Folders under <code>submissions/</code> that <code>gnnbench validate</code> rejects:</p>\n<ul>"
                    + "".join(f"<li><code>{html.escape(n)}</code>: {html.escape('; '.join(p))}</li>" for n, p in excluded.items())
                    + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>gnnbench leaderboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
