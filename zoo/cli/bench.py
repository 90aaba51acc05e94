"""``zoo bench`` runs the grid into a results database; ``zoo leaderboard`` writes the
leaderboards of one. Each imports what it uses when it runs.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Sequence
from pathlib import Path

import zoo
from zoo.cli import console
from zoo.cli.commands import EXIT_FAILED, expand_names
from zoo.errors import UnknownNameError, ZooError
from zoo.matrix import NAMES, unknown_quadrants
from zoo.names import split_names

DEFAULT_ARCHS = ("resnet18", "vgg11_bn", "googlenet")  # one per family
DEFAULT_STRATEGIES = ("scratch", "linear_probe", "partial", "full")  # the seed strategies


# ---------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from zoo.bench.fetch import missing_data
    from zoo.bench.grid import expand_grid
    from zoo.bench.harness import LocalExecutor, forget
    from zoo.device import precision, select_device
    from zoo.results.store import ResultsStore

    if args.ray_address and args.executor != "ray":
        raise ZooError("--ray-address goes with --executor ray")
    if args.keep_weights and not args.data:
        raise ZooError("--keep-weights keeps the best model of each --data folder: give the folder with --data PATH")
    plugins = zoo.get_zoo()
    suite = plugins.suites.get(args.suite)
    archs = expand_names(plugins.architectures, args.arch or suite.architectures or DEFAULT_ARCHS)
    strategies = expand_names(plugins.strategies, args.strategy or DEFAULT_STRATEGIES)
    # A team benching its folder wants its folder measured, not hours of the suite around it.
    tasks = _select_tasks(suite, args.task, args.quadrant) if args.task or args.quadrant or not args.data else []
    device = select_device(args.device)
    if args.executor == "ray":  # imported only when asked for: Ray is an optional extra
        from zoo.bench.ray_executor import RayExecutor

        executor = RayExecutor(device, address=args.ray_address)
    else:
        executor = LocalExecutor(plugins, device)
    tasks += [_folder_task(folder, suite, archs, device) for folder in args.data or ()]
    missing_data(plugins, suite, tasks, archs)
    groups = expand_grid(plugins, suite, archs, strategies, tasks, args.seeds, args.epochs, precision(device))
    store = ResultsStore(args.out / "results.sqlite")
    with store.lock(args.wait, on_wait=lambda holder: print(f"zoo: waiting for {holder} to finish", file=sys.stderr)):
        if args.fresh:
            forget(store, groups)
        code = _run_bench(args, suite, groups, store, executor, device)
        if args.keep_weights:
            runner = executor.runner if args.executor == "local" else LocalExecutor(plugins, device).runner
            _keep_weights(args.keep_weights, groups, store, runner)
        return code


def _keep_weights(out: Path, groups, store, runner) -> None:
    """Each folder task's best cell, trained again and kept in ``out`` (zoo.bench.keep)."""
    from zoo.bench.keep import keep_best

    rows = list(store.rows())
    for task in dict.fromkeys(g.base.task for g in groups if g.base.data_root is not None):
        path, card = keep_best(runner, [g for g in groups if g.base.task == task], rows, out)
        print(f"{task}: kept {card['architecture']} with {card['strategy']} (test top-1 {card['test_top1']:.2%}) as {path}")


def _run_bench(args: argparse.Namespace, suite, groups, store, executor, device) -> int:
    """The grid's cells not yet stored, then the summary and the leaderboards; the exit status."""
    from zoo.bench.harness import fill_step_memory, run_grid
    from zoo.progress import progress
    from zoo.results.schema import FAILED, CellResult

    def status(row: CellResult | None) -> str:
        if row is None:
            return "stored"
        if row.status == "ok":
            return f"top-1 {row.top1:.2%} in {row.wall_seconds:.0f} s"
        return f"{row.status}: {row.reason}"

    stored = []

    def on_cell(cell, row: CellResult | None, done: int, total: int) -> None:
        if row is None:
            stored.append(cell)
        bar.update(done, f"{cell.label}: {status(row)}", total)

    with progress(f"bench {suite.name}", sum(group.size for group in groups)) as bar:
        rows = run_grid(
            groups, store, executor, on_cell=on_cell, on_epoch=lambda cell, done, total: bar.inner(f"  {cell.label}", done, total),
            retry=not args.no_retry,
        )  # fmt: skip
    filled = fill_step_memory(zoo.get_zoo(), store, device)
    failed = [r for r in rows if r.status != "ok"]
    statuses = store.statuses()
    kept = [cell for cell in stored if statuses.get(cell.key) in FAILED]
    cells = bar.total  # the sweeps that went past their edges included
    unrun = cells - len(rows) - len(stored)
    if args.json:
        console.print_json([r.row() for r in rows])
    else:
        skipped = f", {unrun} not run because their learning-rate sweep failed" if unrun else ""
        print(
            f"{cells} cells: {len(rows)} run, {len(stored)} already stored, {len(failed)} failed{skipped}; "
            f"results in {store.path}"
        )
        for row in failed:
            print(f"  failed: {row.architecture}/{row.strategy}/{row.task}/seed{row.seed}: {row.status}: {row.reason}")
        for cell in kept:
            print(f"  failed in an earlier run, kept (--no-retry): {cell.label}")
        if filled:
            print(f"step memory measured for {filled} stored cells that lacked it")
    if not args.no_leaderboard:
        _write_bench_leaderboards(args.out, args.json)
    broken = [r.name for r in zoo.get_zoo().reports.values() if r.errors]
    return EXIT_FAILED if failed or kept or unrun or broken else 0


def _folder_task(folder: Path, suite, archs: Sequence[str], device):
    from zoo.recommend.folder_task import folder_task

    task = folder_task(zoo.get_zoo(), folder, suite, archs, device)
    print(f"{folder}: task {task.name} in {task.quadrant} ({task.why})", file=sys.stderr)
    return task


def _select_tasks(suite, names: Sequence[str] | None, quadrants: Sequence[str] | None) -> list:
    """The suite's tasks matching ``--task`` patterns and ``--quadrant`` names."""
    tasks = list(suite.tasks)
    if names:
        patterns = split_names(names)
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(t.name, pattern) for t in tasks):
                raise UnknownNameError("task", pattern, [t.name for t in tasks], listing=f"zoo info {suite.name}")
        tasks = [t for t in tasks if any(fnmatch.fnmatchcase(t.name, p) for p in patterns)]
    if quadrants:
        wanted = {q.upper() for q in split_names(quadrants)}
        unknown = unknown_quadrants(wanted)
        if unknown:
            raise ZooError(f"unknown quadrant {', '.join(unknown)}: use {', '.join(NAMES[:-1])} or {NAMES[-1]}")
        tasks = [t for t in tasks if t.quadrant in wanted]
    return tasks


# ---------------------------------------------------------------------------- fetch


def cmd_fetch(args: argparse.Namespace) -> int:
    from zoo.bench.fetch import fetch_item, fetch_plan
    from zoo.progress import progress

    plugins = zoo.get_zoo()
    suite = plugins.suites.get(args.suite)
    archs = expand_names(plugins.architectures, args.arch or suite.architectures or DEFAULT_ARCHS)
    plan = fetch_plan(plugins, suite, _select_tasks(suite, args.task, args.quadrant), archs)
    with progress(f"zoo fetch {suite.name}", len(plan)) as bar:
        for done, (label, run) in enumerate(plan):
            bar.update(done, label)
            fetch_item(label, run)
        bar.update(len(plan), "done")
    labels = [label for label, _ in plan]
    if args.json:
        console.print_json(labels)
    else:
        print("\n".join(labels) if labels else f"suite {suite.name}: nothing to fetch")
    return 0


# ---------------------------------------------------------------------------- leaderboard

def cmd_leaderboard(args: argparse.Namespace) -> int:
    from zoo.leaderboard.writers import HEADLINE, fill_readme, headline_columns, write_leaderboards

    written = write_leaderboards(zoo.get_zoo(), args.out)
    if args.readme:
        written.files.append(fill_readme(args.readme, written.leaderboard))
    if args.json:
        console.print_json(written.combined)
    else:
        for name in HEADLINE:
            table = written.leaderboard.table(name)
            columns = headline_columns(table)
            print(f"{table.title}\n")
            console.print_table([{c.header: c.format(row.get(c.key)) for c in columns} for row in table.rows], [c.header for c in columns])
            print()
    _report_written(written, args.out, args.json)
    return 0


def _report_written(written: zoo.leaderboard.writers.WrittenLeaderboards, out: Path, as_json: bool) -> None:
    notes = [n for board in written.leaderboard.boards for n in board.notes]
    notes += [s["note"] for s in written.leaderboard.environment["suites"] if not s["registered"]]
    stream = sys.stderr if as_json else sys.stdout
    for note in notes:
        print(f"note: {note}", file=stream)
    print(f"{len(written.files)} leaderboard files written to {out} (open {out / 'index.html'})", file=stream)


def _write_bench_leaderboards(out: Path, as_json: bool) -> None:
    """After a bench run: the leaderboards of everything its output directory holds."""
    from zoo.leaderboard.writers import write_leaderboards
    from zoo.results.read import NoResultsError

    try:
        written = write_leaderboards(zoo.get_zoo(), out)
    except NoResultsError as exc:
        print(f"zoo: note: {exc}; no leaderboards written", file=sys.stderr)
        return
    _report_written(written, out, as_json)
