"""The leaderboards as one self-contained, static HTML page.

The page must open from a file, offline, years later, and must never run what a database
holds: everything it shows is inside it (inline CSS, vanilla JS, plots as ``data:`` URIs),
its Content-Security-Policy forbids loading anything else, and every name and string from
the results goes through :func:`html.escape`. Its tables sort on a click on a header, and
in reverse on a second click, numbers as numbers, missing values last either way.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from zoo.leaderboard.boards import Board
from zoo.leaderboard.plots import Plot
from zoo.leaderboard.tables import Table

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 0 1.5em 3em; color: #222; }
h1 { margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-bottom: .3em; }
nav a { margin-right: 1em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0; width: max-content; }
th, td { border: 1px solid #ddd; padding: .25em .6em; vertical-align: top; }
td { max-width: 40em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f4f4f4; white-space: nowrap; }
th button { all: unset; cursor: pointer; font-weight: bold; }
th button:focus-visible { outline: 2px solid #36c; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tbody tr:nth-child(even) { background: #fafafa; }
p.note { color: #555; margin-top: 0; max-width: 75em; }
ul.notes li { color: #8a4b00; }
figure { display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 12px; max-width: 700px; }
"""

# Sorting: the first click on a header sorts ascending, the next reverses. A column whose
# header says data-type="number" compares numbers; others compare text, digits by value.
# A missing value (empty data-sort) goes last in both directions.
SCRIPT = """
(function () {
  "use strict";
  function sortKey(cell, numeric) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null || raw === "") { return null; }
    return numeric ? parseFloat(raw) : raw;
  }
  function compare(x, y, numeric) {
    if (numeric) { return x - y; }
    return x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
  }
  function sortBy(table, header, index) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var numeric = header.getAttribute("data-type") === "number";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[index], numeric), y = sortKey(b.cells[index], numeric);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var order = compare(x, y, numeric);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.querySelector("button").addEventListener("click", function () { sortBy(table, header, index); });
    });
  });
})();
"""


NUMERIC_CELL = ' class="num"'


def escape(value: object) -> str:
    """``value`` as text in HTML, attributes included: everything the page shows from the results goes through it."""
    return html.escape(str(value), quote=True)


def _sort_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(float(value)) if isinstance(value, int | float) else str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float)  # bools included: they sort as 1 and 0


def table_html(table: Table) -> str:
    """A sortable table: each cell shows the formatted value and sorts by the raw one."""
    numeric = {c.key: all(_is_number(r.get(c.key)) for r in table.rows if r.get(c.key) is not None) for c in table.columns}
    head = "".join(
        f'<th scope="col" aria-sort="none" data-key="{escape(c.key)}" data-type="{"number" if numeric[c.key] else "text"}">'
        f'<button type="button">{escape(c.header)}</button></th>'
        for c in table.columns
    )
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td{NUMERIC_CELL if numeric[c.key] else ""} data-sort="{escape(_sort_value(row.get(c.key)))}">'
            f"{escape(c.format(row.get(c.key)))}</td>"
            for c in table.columns
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<h3 id="{escape(table.name)}">{escape(table.title)}</h3>\n<div class="scroll"><table class="sortable" id="table-{escape(table.name)}">'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>\n{note}"
    )


def _section(anchor: str, title: str, tables: Sequence[Table], notes: Sequence[str] = ()) -> str:
    parts = [f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>']
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    parts += [table_html(t) if t.rows else f"<h3>{escape(t.title)}</h3><p>none</p>" for t in tables]
    parts.append("</section>")
    return "\n".join(parts)


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(plot.title)}">'
        f"<figcaption>{escape(plot.title)}</figcaption></figure>"
    )


FIGURE_SECTIONS = {"answer": "The answer", "heatmaps": "Heatmaps", "plots": "Plots"}  # Plot.section -> heading


def _figures(name: str, plots: Sequence[Plot]) -> str:
    return f'<section id="{name}"><h2>{FIGURE_SECTIONS[name]}</h2>\n' + "\n".join(_figure(p) for p in plots) + "\n</section>"


def render_html(boards: Sequence[Board], plots: Sequence[Plot], context: Sequence[Table], summary: str, notes: Sequence[str] = ()) -> str:
    """The whole page, the answer first: the size–similarity matrix, the heatmaps, the boards
    in the order given, the other plots, then the context tables (environment, suites,
    plugins) with their ``notes``; ``summary`` is the line under the title."""
    figures = {name: [p for p in plots if p.section == name] for name in FIGURE_SECTIONS}
    before = [name for name in ("answer", "heatmaps") if figures[name]]
    links = [(name, FIGURE_SECTIONS[name]) for name in before] + [(b.name, b.title) for b in boards]
    links += [("plots", "Plots"), ("environment", "Environment")]
    nav = " ".join(f'<a href="#{escape(anchor)}">{escape(title)}</a>' for anchor, title in links)
    sections = [_figures(name, figures[name]) for name in before]
    sections += [_section(b.name, b.title, b.tables, b.notes) for b in boards]
    sections.append(_figures("plots", figures["plots"]))
    sections.append(_section("environment", "Environment, suite and plugins", context, notes))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>zoo leaderboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>zoo leaderboard</h1><p>{escape(summary)}</p><nav>{nav}</nav></header>\n"
        + "\n".join(sections)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
