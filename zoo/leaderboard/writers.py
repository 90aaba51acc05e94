"""Writing the leaderboards of an output directory: Markdown, CSV, JSON, PNG and one HTML page.

``write_leaderboards(DIR)`` reads ``DIR/results.sqlite`` (read-only checks first: a missing
or foreign file is one clear error and is left untouched), asks the registry what it knows
(each strategy's quadrants, the suites' per-class counts and thresholds, the plugins and
their versions), builds the tables of :mod:`zoo.leaderboard.tables` and writes, into ``DIR``:

=============================== ===========================================================
``leaderboard.md``              the headline tables, environment, suite and plugins, plots
``index.html``                  everything, sortable, self-contained (:mod:`zoo.leaderboard.html`)
``leaderboard.json``            everything, for programs
``accuracy.md`` ``.json``       accuracy per task, architecture and strategy; failed cells
``speed.md`` ``.json``          inference per architecture, training per strategy
``memory.md`` ``.json``         peak memory and parameters; each strategy's training step
                                memory and its parts; trainable parameters; the Pareto front
                                of accuracy against that memory
``verdict.md`` ``.json``        the quadrant verdict (margin, 95% interval, decisive) and the
                                Pareto front
``<table>.csv``                 one per table: accuracy, accuracy_failed, speed_inference,
                                speed_training, memory, memory_step, memory_trainable,
                                memory_pareto, verdict, pareto, …
``plots/*.png``                 per suite: the size–similarity matrix with each quadrant's
                                measured winner (the pages open with it); per task: accuracy
                                against speed and against training memory, a heatmap,
                                learning curves; pretraining curves
=============================== ===========================================================

``fill_readme`` puts the headline tables into a README between marker comments, so the
results a README shows are the harness's, never typed in.

Nothing written depends on the time of writing, so the files change only when the results do.
Each file is written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from zoo.errors import ZooError
from zoo.leaderboard.boards import Board, Leaderboard, build_leaderboard
from zoo.leaderboard.html import render_html
from zoo.leaderboard.plots import Plot, leaderboard_plots
from zoo.leaderboard.tables import Column, Table
from zoo.plugin.suite import describe as describe_suite
from zoo.results.read import NoResultsError, read_results

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

RESULTS_FILE = "results.sqlite"
PLOTS_DIR = "plots"
PLOT_PREFIXES = ("matrix_", "accuracy_speed_", "accuracy_memory_", "heatmap_", "learning_curves_", "pretraining_")  # files under plots/ this module owns, replaced on every write


@dataclass
class WrittenLeaderboards:
    """What :func:`write_leaderboards` produced."""

    leaderboard: Leaderboard
    files: list[Path]  # every file written, plots included
    combined: dict  # the content of leaderboard.json


# ---------------------------------------------------------------------------- what the registry knows


def strategy_rule(plugins: PluginSet) -> dict[str, tuple[str, ...]]:
    """Each strategy ``plugins`` registers → the quadrants the rule of thumb recommends it in."""
    return {spec.name: tuple(spec.quadrants) for spec in plugins.strategies}


def suite_summaries(plugins: PluginSet, names: Iterable[str]) -> list[dict]:
    """Per suite: its threshold and each task's per-class counts (``zoo info SUITE``), or,
    for a suite ``plugins`` no longer registers, a note saying they are omitted."""
    registry = plugins.suites
    summaries = []
    for name in sorted(set(names)):
        if name not in registry:
            summaries.append({"name": name, "registered": False,
                              "note": f"suite {name!r} is not registered any more: its per-class counts and threshold are omitted"})  # fmt: skip
            continue
        info = describe_suite(plugins, registry.get(name), registry.plugin_of(name))
        keep = ("dataset", "classes", "train_per_class", "test_per_class", "train_per_class_budget", "test_per_class_budget", "unavailable")
        summaries.append(
            {
                "name": name,
                "registered": True,
                "description": info["description"],
                "source": info["source_description"],
                "small_threshold": info["small_threshold"],
                "image_size": info["image_size"],
                "tasks": [{k: t[k] for k in ("name", "quadrant", "size", "similarity", *keep)} for t in info["tasks"]],
                "notes": info["notes"],
            }
        )
    return summaries


def plugin_summaries(plugins: PluginSet) -> list[dict]:
    """The plugins of the set with their distributions, versions and status (``zoo plugins``)."""
    return [
        {"name": r.name, "distribution": r.distribution, "version": r.version, "status": r.status}
        for r in sorted(plugins.reports.values(), key=lambda r: r.name)
    ]


# ---------------------------------------------------------------------------- context tables


def _values(values: Sequence) -> str:
    return ", ".join(map(str, values)) or "not recorded"


def environment_table(env: Mapping) -> Table:
    """Where and when the cells ran, as item/value rows."""
    dates = f"{env['first_started']} to {env['last_finished']}" if env["first_started"] else "not recorded"
    items = [
        ("device", _values(env["devices"])),
        ("precision", _values(env["precision"])),
        ("CPU threads", _values(env["threads"])),
        ("torch", _values(env["torch"])),
        ("zoo", _values(env["zoo"])),
        ("git revision", _values(env["git_revisions"])),
        ("cells", f"{env['cells']} ({env['ok']} ok)"),
        ("dates (UTC)", dates),
    ]
    return Table("environment", "Environment", (Column("item", "item"), Column("value", "value")),
                 [{"item": k, "value": v} for k, v in items])  # fmt: skip


def _per_class(counts: list[int] | None, budget: object) -> str:
    if counts is None:
        return f"{budget} (data not here)"
    return str(counts[0]) if len(set(counts)) == 1 else ", ".join(map(str, counts))


def suite_tables(env: Mapping) -> tuple[list[Table], list[str]]:
    """A table of tasks and per-class counts per registered suite; notes for the others."""
    tables, notes = [], []
    for suite in env["suites"]:
        if not suite["registered"]:
            notes.append(suite["note"])
            continue
        rows = [
            {
                "quadrant": t["quadrant"], "task": t["name"], "size": t["size"], "similarity": t["similarity"],
                "dataset": t["dataset"], "classes": t["classes"] if isinstance(t["classes"], str) else ", ".join(t["classes"]),
                "train_per_class": _per_class(t["train_per_class"], t["train_per_class_budget"]),
                "test_per_class": _per_class(t["test_per_class"], t["test_per_class_budget"]),
            }  # fmt: skip
            for t in suite["tasks"]
        ]
        columns = tuple(Column(k, k.replace("_", " ")) for k in rows[0]) if rows else ()
        note = f"Small: fewer than {suite['small_threshold']} training images per class. Source: {suite['source']}."
        tables.append(Table(f"suite_{suite['name']}", f"Suite {suite['name']}: {suite['description']}", columns, rows, note))
    return tables, notes


def plugins_table(env: Mapping) -> Table:
    columns = (Column("name", "plugin"), Column("distribution", "distribution"), Column("version", "version"), Column("status", "status"))
    return Table("plugins", "Plugins", columns, list(env["plugins"]))


def provenance(env: Mapping) -> str:
    """One line naming the environment and the plugins, for the foot of every leaderboard."""
    plugins = ", ".join(f"{p['name']} {p['version'] or '(in-process)'}" for p in env["plugins"]) or "none recorded"
    return (
        f"Measured on {_values(env['devices'])} with torch {_values(env['torch'])}, zoo {_values(env['zoo'])} "
        f"(git {_values(env['git_revisions'])}), {env['first_started']} to {env['last_finished']}. Plugins: {plugins}."
    )


# ---------------------------------------------------------------------------- Markdown, CSV, JSON


def _md(text: object) -> str:
    """Text that shows as itself in a Markdown table cell (names are data, not markup)."""
    escaped = html.escape(str(text), quote=False).replace("\n", " ")
    for char in "\\`*[]|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def markdown_table(table: Table) -> str:
    """A GitHub-flavoured Markdown table, numbers right-aligned, under its title and above its note."""
    if not table.rows:
        return f"## {_md(table.title)}\n\nnone\n"
    df = table.frame()
    is_number = lambda v: isinstance(v, int | float) and not isinstance(v, bool)  # noqa: E731
    shown = pd.concat([df[c.key].map(lambda v, c=c: _md(c.format(v))) for c in table.columns], axis=1)
    lines = [
        "| " + " | ".join(_md(c.header) for c in table.columns) + " |",
        "|" + "|".join("---:" if df[c.key].map(is_number).any() else "---" for c in table.columns) + "|",
        *("| " + " | ".join(cells) + " |" for cells in shown.itertuples(index=False)),
    ]
    note = f"\n{_md(table.note)}\n" if table.note else ""
    return f"## {_md(table.title)}\n\n" + "\n".join(lines) + "\n" + note


def board_markdown(board: Board, footer: str) -> str:
    parts = [f"# {_md(board.title)}\n"]
    parts += [f"- {_md(note)}" for note in board.notes]
    if board.notes:
        parts.append("")
    parts += [markdown_table(t) for t in board.tables]
    parts.append(f"---\n{_md(footer)}\n")
    return "\n".join(parts)


def csv_text(table: Table) -> str:
    """The table's records; a missing value is an empty field."""
    return table.frame().to_csv(index=False, lineterminator="\n")


def board_json(board: Board) -> dict:
    return {
        "title": board.title,
        "notes": board.notes,
        "tables": {t.name: {"title": t.title, "note": t.note, "rows": t.records()} for t in board.tables},
    }


def combined_json(leaderboard: Leaderboard, plots: Sequence[Plot]) -> dict:
    """leaderboard.json: the environment, every board, and the plot files."""
    return {
        "cells": leaderboard.cells,
        "environment": leaderboard.environment,
        **{b.name: board_json(b) for b in leaderboard.boards},
        "plots": [f"{PLOTS_DIR}/{p.filename}" for p in plots],
    }


def _dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def leaderboard_markdown(leaderboard: Leaderboard, plots: Sequence[Plot]) -> str:
    """The README of the output directory: the matrix, verdict and headline tables, context, plots."""
    env = leaderboard.environment
    suites, suite_notes = suite_tables(env)
    parts = [
        "# zoo leaderboard\n",
        f"{env['cells']} cells ({env['ok']} ok). Open `index.html` for every table, sortable, with the plots. "
        "Per board: `accuracy.md`, `speed.md`, `memory.md`, `verdict.md` (and `.json`, and a `.csv` per table).\n",
        *[f"![{_md(p.title)}]({PLOTS_DIR}/{p.filename})\n" for p in plots if p.section == "answer"],
        markdown_table(leaderboard.table("verdict")),
        *[f"- {_md(note)}" for note in leaderboard.board("verdict").notes],
        "",
        markdown_table(leaderboard.table("accuracy")),
        markdown_table(leaderboard.table("speed_inference")),
        markdown_table(leaderboard.table("memory")),
        markdown_table(environment_table(env)),
        *[markdown_table(t) for t in suites],
        *[f"- {_md(note)}\n" for note in suite_notes],
        markdown_table(plugins_table(env)),
        "## Plots\n",
        *[f"![{_md(p.title)}]({PLOTS_DIR}/{p.filename})\n" for p in plots if p.section != "answer"],
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- writing


def _write(path: Path, data: str | bytes) -> Path:
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(data, str):
        temporary.write_text(data, encoding="utf-8")
    else:
        temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def load_leaderboard(plugins: PluginSet, out_dir: Path) -> Leaderboard:
    """The leaderboards of ``out_dir/results.sqlite``, with what ``plugins`` knows of them."""
    path = Path(out_dir) / RESULTS_FILE
    rows = read_results(path)
    if not rows:
        raise NoResultsError(f"{path} holds no cells yet: run `zoo bench --out {out_dir}` to fill it")
    summaries = suite_summaries(plugins, {r.suite for r in rows})
    return build_leaderboard(rows, strategy_rule(plugins), summaries, plugin_summaries(plugins))


def write_leaderboards(plugins: PluginSet, out_dir: Path) -> WrittenLeaderboards:
    """Read ``out_dir/results.sqlite`` and write every leaderboard file into ``out_dir``
    (see the module docstring), with what ``plugins`` (the loaded set) knows of the suites,
    strategies and plugins. Raises :class:`ZooError` for a missing or foreign database and
    :class:`NoResultsError` for an empty one."""
    out_dir = Path(out_dir)
    leaderboard = load_leaderboard(plugins, out_dir)
    plots = leaderboard_plots(leaderboard)
    env = leaderboard.environment
    footer = provenance(env)
    files = []
    for board in leaderboard.boards:
        files.append(_write(out_dir / f"{board.name}.md", board_markdown(board, footer)))
        files.append(_write(out_dir / f"{board.name}.json", _dumps(board_json(board) | {"environment": env})))
        files += [_write(out_dir / f"{table.name}.csv", csv_text(table)) for table in board.tables]
    plot_dir = out_dir / PLOTS_DIR
    plot_dir.mkdir(exist_ok=True)
    for stale in plot_dir.glob("*.png"):
        if stale.name.startswith(PLOT_PREFIXES):
            stale.unlink()
    files += [_write(plot_dir / plot.filename, plot.png) for plot in plots]
    combined = combined_json(leaderboard, plots)
    files.append(_write(out_dir / "leaderboard.json", _dumps(combined)))
    files.append(_write(out_dir / "leaderboard.md", leaderboard_markdown(leaderboard, plots)))
    suites, suite_notes = suite_tables(env)
    context = [environment_table(env), *suites, plugins_table(env)]
    summary = f"{env['cells']} cells ({env['ok']} ok). {footer}"
    files.append(_write(out_dir / "index.html", render_html(leaderboard.boards, plots, context, summary, suite_notes)))
    return WrittenLeaderboards(leaderboard, files, combined)


# The columns of each table a README shows (fill_readme); the CLI prints the same ones.
HEADLINE = {
    "verdict": ("quadrant", "task", "scope", "measured", "recommended", "verdict"),
    "accuracy": ("quadrant", "task", "architecture", "strategy", "seeds", "top1_mean_pct", "top1_std_pct", "failed"),
}
README_SECTION = re.compile(r"(<!-- zoo leaderboard: (\w+) -->\n).*?(<!-- /zoo leaderboard -->)", re.DOTALL)


def headline_columns(table: Table) -> list[Column]:
    return [c for key in HEADLINE[table.name] for c in table.columns if c.key == key]


def fill_readme(path: Path, leaderboard: Leaderboard) -> Path:
    """Replace each ``<!-- zoo leaderboard: NAME -->`` … ``<!-- /zoo leaderboard -->``
    section of the file at ``path`` with table NAME's headline columns (``verdict`` or
    ``accuracy``); the rest of the file is left as it is."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZooError(f"cannot read {path} for --readme: {exc.strerror}") from None

    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in HEADLINE:
            raise ZooError(f"{path}: no leaderboard table {name!r} to put there; sections name one of {', '.join(HEADLINE)}")
        table = leaderboard.table(name)
        shown = Table(table.name, table.title, tuple(headline_columns(table)), table.rows)
        body = markdown_table(shown).split("\n", 2)[2]  # without its "## title" line
        return f"{match.group(1)}{body}{match.group(3)}"

    filled, sections = README_SECTION.subn(fill, text)
    if not sections:
        raise ZooError(f"{path} has no section to fill: mark one with <!-- zoo leaderboard: verdict --> and <!-- /zoo leaderboard -->")
    return _write(path, filled)
