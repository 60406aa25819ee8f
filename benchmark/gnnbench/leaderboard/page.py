"""``leaderboard/index.html``: the leaderboard as one static page, sortable and filterable, no server.

The tables are plain HTML (readable without JavaScript); each entry's name links to its own page
(``entries/<name>.html``, :mod:`.entry_page`). A short inline script makes every column header
sortable (click; click again to reverse; missing values always last) and filters rows by kind
(learned / baseline), by whether the model predicts velocities, and to the ablations of one
entry. The view is kept in the address (``#kind=learned&velocities=yes&sort=rmse_10&dir=asc``),
so it can be linked, and applied on load. The accuracy-vs-cost figure is inlined as SVG so its
points link to the entry pages; the error-vs-Δt figures are SVG files beside the page. On load
the script records on ``<html>`` that it ran (``data-sortable="ready"``), how many rows each
table shows (``data-shown``) and how many images loaded (``data-plots-loaded="2/2"``); the
browser test reads those.
"""

from __future__ import annotations

import re

from ..untrusted import html_escape
from .entries import (
    COLUMNS,
    DATE_HEADER,
    HEADLINE_SPLIT,
    SCORER_NOTE,
    SKILL_DT_FS,
    SPLITS,
    TABLES,
    Entry,
    group_title,
    ranked,
    seed_spread,
    split_caption,
    table_cells,
    table_layout,
    verdict,
)
from .markdown import MAX_EXCLUDED_SHOWN
from .plot import entry_page_link

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
img, svg { max-width: 100%; height: auto; }
figure.accuracy-vs-cost { margin: 0.5rem 0; }
figure.accuracy-vs-cost svg { width: 100%; max-width: 72rem; }
form.filters { margin: 0.5rem 0 1rem; display: flex; gap: 1.2rem; flex-wrap: wrap; font-size: 0.9rem; }
tr.hidden { display: none; }
p.constant { font-size: 0.85rem; color: #444; }
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
  var form = document.querySelector("form.filters");
  var state = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  function keep() {  // the view, in the address, so it can be linked
    var text = state.toString();
    history.replaceState(null, "", text ? "#" + text : window.location.pathname);
  }
  function visible(row) {
    var kind = state.get("kind"), velocities = state.get("velocities"), ablation = state.get("ablation");
    if (kind && row.getAttribute("data-kind") !== kind) return false;
    if (velocities && row.getAttribute("data-velocities") !== velocities) return false;
    if (ablation === "none" && row.getAttribute("data-ablation-of")) return false;
    if (ablation && ablation.indexOf("of:") === 0) {
      var of = ablation.slice(3);
      if (row.getAttribute("data-kind") !== "baseline" && row.getAttribute("data-entry") !== of
          && row.getAttribute("data-ablation-of") !== of) return false;
    }
    return true;
  }
  function filter() {
    var shown = [];
    tables.forEach(function (table) {
      var n = 0;
      Array.prototype.slice.call(table.tBodies[0].rows).forEach(function (row) {
        var show = visible(row);
        row.classList.toggle("hidden", !show);
        n += show ? 1 : 0;
      });
      shown.push(n);
    });
    document.documentElement.setAttribute("data-shown", shown.join(","));
  }
  tables.forEach(function (table) {
    Array.prototype.slice.call(table.tHead.rows[0].cells).forEach(function (th) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "desc" : "asc";
        tables.forEach(function (t) { sortTable(t, th.getAttribute("data-key"), dir); });
        state.set("sort", th.getAttribute("data-key"));
        state.set("dir", dir);
        keep();
      });
    });
  });
  if (form) {
    Array.prototype.slice.call(form.elements).forEach(function (select) {
      if (state.get(select.name) !== null) select.value = state.get(select.name);
      select.addEventListener("change", function () {
        if (select.value) state.set(select.name, select.value); else state.delete(select.name);
        keep();
        filter();
      });
    });
  }
  if (state.get("sort")) tables.forEach(function (table) { sortTable(table, state.get("sort"), state.get("dir") || "asc"); });
  filter();
  document.documentElement.setAttribute("data-sortable", "ready");
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var loaded = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
    document.documentElement.setAttribute("data-plots-loaded", loaded + "/" + images.length);
  });
})();
"""


def inline_markdown(text: str) -> str:
    """Escape ``text`` (:func:`~gnnbench.untrusted.html_escape`: invisible and control characters shown as their
    escapes) and turn its Markdown `code` and **bold** into HTML."""
    escaped = html_escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _sort_value(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) else str(value)


def _table(entries: list[Entry], split: str, columns) -> str:
    shown, constant = table_layout(entries, split, columns)
    titles = {c.key: c.definition for c in columns} | {"scored": "UTC date the scorer wrote into scores.json"}
    heads = [("rank", "#"), *shown.items()]
    head_html = "".join(f'<th data-key="{key}" aria-sort="none" title="{html_escape(titles.get(key, ""))}">{html_escape(text)}</th>'
                        for key, text in heads)
    rows = []
    for rank, entry in enumerate(ranked(entries, split), start=1):
        cells = [f'<td data-value="{rank}">{rank}</td>']
        for key, text, value in table_cells(entry, split, columns):
            if key not in shown:
                continue
            content = (f'<a href="{html_escape(entry_page_link(entry.name))}">{html_escape(text)}</a>' if key == "entry"
                       else html_escape(text))
            cells.append(f'<td data-value="{html_escape(_sort_value(value))}">{content}</td>')
        kind = "baseline" if entry.is_baseline else "learned"
        rows.append(f'<tr class="{kind}" data-entry="{html_escape(entry.name)}" data-kind="{kind}" '
                    f'data-velocities="{"yes" if entry.predicts_velocities else "no"}" '
                    f'data-ablation-of="{html_escape(entry.ablation_of or "")}">{"".join(cells)}</tr>')
    note = ("<p class=\"constant\">The same for every entry of this table: "
            + "; ".join(f"{html_escape(header)} {html_escape(text)}" for header, text in constant.items()) + ".</p>") if constant else ""
    return (f'<table class="leaderboard" data-split="{split}">\n<thead><tr>{head_html}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>" + note)


def _filters(entries: list[Entry]) -> str:
    """The filter controls; their state lives in the address (see SCRIPT)."""
    parents = sorted({e.ablation_of for e in entries if e.ablation_of})
    ablation_options = ('<option value="">all entries</option><option value="none">no ablations</option>'
                        + "".join(f'<option value="of:{html_escape(p)}">ablations of {html_escape(p)} (with it and the baselines)</option>'
                                  for p in parents)) if parents else '<option value="">all entries (no ablation entries yet)</option>'
    return ('<form class="filters" onsubmit="return false">'
            '<label>kind <select name="kind"><option value="">all</option><option value="learned">learned</option>'
            '<option value="baseline">baseline</option></select></label>'
            '<label>predicts velocities <select name="velocities"><option value="">any</option><option value="yes">yes</option>'
            '<option value="no">no (velocities from the displacement)</option></select></label>'
            f'<label>ablations <select name="ablation"{"" if parents else " disabled"}>{ablation_options}</select></label>'
            "</form>")


def inline_svg(svg: bytes) -> str:
    """An SVG file's markup without its XML declaration and doctype, to place inside HTML."""
    text = svg.decode()
    return text[text.index("<svg"):]


def render_page(groups: dict[tuple, list[Entry]], figures: dict[tuple, dict], excluded: dict[str, list[str]]) -> str:
    """``figures[group]`` holds "error_vs_dt" (an SVG file name) and "accuracy_vs_cost" (its SVG bytes)."""
    every = [e for entries in groups.values() for e in entries]
    body = [
        "<h1>gnnbench leaderboard</h1>",
        "<p>Learned molecular-dynamics integrators on <code>gnnmd/al-eam</code>, beside the baselines they must beat: "
        "zero displacement, constant velocity r + vΔt, and velocity-Verlet with the true EAM forces. "
        "Click a column header to sort, an entry for its page. Rows start in rank order: entries usable at their stride first "
        "(they pass every usability check: survival, energy, temperature, structure, dynamics, stride accuracy; see the "
        "leaderboard README for the bounds and why), then by how much they fail; a learned entry that fails a physical check never "
        f"ranks above a baseline that passes it; within a tier by RMSE at Δt = {SKILL_DT_FS} fs. Grey rows are baselines. "
        f"The headline table is split <code>{HEADLINE_SPLIT}</code> ({html_escape(SPLITS[HEADLINE_SPLIT])}). "
        f"{inline_markdown(SCORER_NOTE)} Generated by <code>gnnbench leaderboard</code>; do not edit by hand.</p>",
        _filters(every),
    ]
    for key, entries in groups.items():
        body.append(f"<section>\n<h2>{inline_markdown(group_title(key))}</h2>")
        body.append("<h3>Accuracy against cost</h3>\n<p>Each point is an entry (click it for its page), with its 95 % CI. "
                    "The grey line joins velocity-Verlet with the true EAM forces at 8, 4, 2 and 1 steps per stride: a learned model "
                    "is worth running only below and to the right of it (more accurate for the same speed, or faster for the same "
                    "accuracy). Entries without a value are left out of a panel (no rollout survived to measure it).</p>")
        body.append(f'<figure class="accuracy-vs-cost">{inline_svg(figures[key]["accuracy_vs_cost"])}</figure>')
        for split, columns in TABLES:
            label = "Headline: split" if split == HEADLINE_SPLIT else "Split"
            body.append(f"<h3>{label} <code>{split}</code> ({html_escape(SPLITS[split])}; {html_escape(split_caption(entries, split))})</h3>")
            body.append(_table(entries, split, columns))
            body.append(f"<p>Verdicts, in rank order: usability at the entry's stride, then the baselines computed on the same frames "
                        f"(split <code>{split}</code>):</p>\n<ul>"
                        + "".join(f'<li><a href="{html_escape(entry_page_link(e.name))}"><strong>{html_escape(e.name)}</strong></a> '
                                  f"{inline_markdown(verdict(e, entries, split))}</li>" for e in ranked(entries, split))
                        + "</ul>")
            headers, rows = seed_spread(entries, split)
            if rows:
                body.append(f"<p>Spread over training seeds (the same recipe trained with different seeds; split <code>{split}</code>):</p>\n"
                            "<table><thead><tr>" + "".join(f"<th>{html_escape(h)}</th>" for h in headers) + "</tr></thead><tbody>"
                            + "".join("<tr>" + "".join(f"<td>{html_escape(c)}</td>" for c in row) + "</tr>" for row in rows)
                            + "</tbody></table>")
        body.append(f'<img src="{html_escape(figures[key]["error_vs_dt"])}" alt="RMSE of the per-atom displacement vector against the stride, '
                    f'split {HEADLINE_SPLIT}, every entry of this section">\n</section>')
    body.append("<h2>Column definitions</h2>\n<dl>" + "".join(
        f"<dt>{html_escape(c.header)}</dt><dd>{html_escape(c.definition)}.</dd>" for c in COLUMNS)
        + f"<dt>{DATE_HEADER['scored']}</dt><dd>UTC date the scorer wrote into the entry's scores.json.</dd></dl>")
    if excluded:
        shown = list(excluded.items())[:MAX_EXCLUDED_SHOWN]
        body.append("<h2>Not listed</h2>\n<p>Folders under <code>submissions/</code> that <code>gnnbench validate</code> rejects:</p>\n<ul>"
                    + "".join(f"<li><code>{html_escape(n)}</code>: {html_escape('; '.join(p))}</li>" for n, p in shown)
                    + (f"<li>and {len(excluded) - len(shown)} more folders</li>" if len(excluded) > len(shown) else "")
                    + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>gnnbench leaderboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
