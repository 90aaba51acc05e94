"""The ``zoo`` command line.

Every listing and report has ``--json``. Exit status: 0 when everything asked for finished
``ok``; 1 when a command finished but a cell failed or a plugin did not load (``zoo bench``,
``zoo plugins --strict``); 2 for a user error (an unknown name, a bad file, a broken plugin
asked for by name), printed as one ``zoo: error: …`` line on stderr, no traceback.

This module imports only what parsing needs; each command imports what it uses, so that
``zoo --help``, ``zoo COMMAND --help`` and argument errors answer without importing torch.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Sequence
from pathlib import Path

import zoo
from zoo.cli import console
from zoo.errors import UnknownNameError, ZooError
from zoo.plugin.registry import split_names

EXIT_FAILED = 1  # the command finished, but a cell failed or a plugin did not load
EXIT_USER_ERROR = 2
DEFAULT_ARCHS = ("resnet18", "vgg11_bn", "googlenet")  # one per family
DEFAULT_STRATEGIES = ("scratch", "linear_probe", "partial", "full")  # the seed strategies


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _warn_about_failed_plugins(args)
        return args.run(args) or 0
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `zoo list | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="zoo: pick a backbone and a transfer-learning strategy for your images, by measurement."
    )
    parser.add_argument("--version", action="version", version=f"zoo {zoo.__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    cmd = commands.add_parser("list", help="list registered architectures (and other kinds)")
    cmd.add_argument("pattern", nargs="?", default="", help="shell-style filter(s), comma-separated, e.g. 'resnet*'")
    cmd.add_argument("--exclude", default="", help="shell-style pattern(s) to leave out")
    cmd.add_argument("--kind", default="architectures", help="architectures (default), strategies, datasets or suites")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_list)

    cmd = commands.add_parser("info", help="describe one registered name")
    cmd.add_argument("name")
    cmd.add_argument("--weights", metavar="PATH", help="check that a weights file loads into this architecture")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_info)

    cmd = commands.add_parser("pretrain", help="pretrain backbones on a suite's source data set")
    cmd.add_argument("--suite", default="mini", help="suite whose source to train on (default: %(default)s)")
    cmd.add_argument("--arch", action="append", required=True, metavar="NAMES",
                     help="architectures, comma-separated or repeated; shell-style wildcards allowed")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--force", action="store_true", help="train again even if matching weights are stored")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_pretrain)

    cmd = commands.add_parser("bench", help="run the grid of architectures × strategies × tasks and store the results")
    cmd.add_argument("--suite", default="mini", help="suite to run (default: %(default)s)")
    cmd.add_argument("--arch", action="append", metavar="NAMES", help=f"architectures (default: {','.join(DEFAULT_ARCHS)})")
    cmd.add_argument("--strategy", action="append", metavar="NAMES", help=f"strategies (default: {','.join(DEFAULT_STRATEGIES)})")
    cmd.add_argument("--task", action="append", metavar="NAMES", help="tasks of the suite (default: all)")
    cmd.add_argument("--quadrant", action="append", metavar="Q", help="only tasks in these quadrants (Q1…Q4)")
    cmd.add_argument("--data", action="append", type=Path, metavar="PATH",
                     help="a team's image folder (one sub-folder per class) to run as a task; its quadrant "
                          "is measured as `zoo recommend` measures it. Only the folders run, unless --task or "
                          "--quadrant also selects the suite's tasks")
    cmd.add_argument("--epochs", type=_positive, help="epochs per cell (default: each task's own budget)")
    cmd.add_argument("--seeds", type=_positive, help="seeds per cell (default: each task's own, e.g. 3 on mini's small tasks)")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--out", type=Path, default=Path("leaderboards"), help="output directory (default: %(default)s)")
    cmd.add_argument("--fresh", action="store_true", help="forget the stored results of the cells selected (their learning-rate "
                     "sweeps included) and run them again; the database's other cells stay")
    cmd.add_argument("--wait", action="store_true",
                     help="if another zoo bench is writing to --out, wait for it to finish instead of stopping")
    cmd.add_argument("--no-retry", action="store_true",
                     help="keep cells stored as error, oom or diverged instead of running them again")
    cmd.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="run cells one by one in this process, or as Ray tasks (needs zoo[ray]) (default: %(default)s)")
    cmd.add_argument("--ray-address", metavar="ADDRESS",
                     help="Ray cluster for --executor ray (default: $RAY_ADDRESS, else the last `ray start` here, "
                          "else a new local instance; 'local' always starts one)")
    cmd.add_argument("--json", action="store_true", help="print the new results as JSON")
    cmd.set_defaults(run=cmd_bench)

    cmd = commands.add_parser("leaderboard", help="write the accuracy, speed, memory and verdict leaderboards of a bench run")
    cmd.add_argument("--out", type=Path, default=Path("leaderboards"),
                     help="directory holding results.sqlite; the leaderboards are written there (default: %(default)s)")
    cmd.add_argument("--readme", type=Path, metavar="FILE",
                     help="also put the verdict and accuracy tables into FILE, between its "
                          "<!-- zoo leaderboard: verdict --> (or accuracy) and <!-- /zoo leaderboard --> comments")
    cmd.add_argument("--json", action="store_true", help="print the combined leaderboard JSON")
    cmd.set_defaults(run=cmd_leaderboard)

    from zoo.bench.timing import STEPS as SPEED_STEPS
    from zoo.bench.timing import TIMINGS
    from zoo.bench.timing import WARMUP as SPEED_WARMUP

    cmd = commands.add_parser(
        "speed", help="training and inference speed and memory of architectures",
        description="Training and inference throughput, batch-1 latency and peak memory, timed as timm's benchmark.py times them.",
        epilog="--timing timm (the default) is timm benchmark.py's method: warm-up steps, then the timed steps' loop timed "
               "as a whole; inference first, on a network that has not trained yet, then training. --timing after-training "
               "is zoo's earlier method: training first, then inference in the same process, each step timed alone and "
               "summed. On the CPU its inference reads about 1.2-1.3x faster, not because of the timer but because a "
               "process that has trained keeps its activation memory mapped, where a fresh one page-faults it back in "
               "every step; it is not comparable with timm's figures. See zoo/bench/speed.py.",
    )
    cmd.add_argument("--arch", action="append", required=True, metavar="NAMES",
                     help="architectures, comma-separated or repeated; shell-style wildcards allowed")
    cmd.add_argument("--batch-size", type=_positive, default=128, help="images per timed step (default: %(default)s)")
    cmd.add_argument("--img-size", type=_positive, help="side length (default: each architecture's own)")
    cmd.add_argument("--timing", choices=TIMINGS, default="timm",
                     help="timm: timm benchmark.py's method; after-training: zoo's earlier, faster-reading one "
                          "(see below) (default: %(default)s)")
    cmd.add_argument("--warmup", type=_non_negative, default=SPEED_WARMUP,
                     help="untimed steps before each measurement (default: %(default)s, timm's)")
    cmd.add_argument("--steps", type=_positive, default=SPEED_STEPS, help="timed steps (default: %(default)s, timm's)")
    cmd.add_argument("--strategy", action="append", metavar="NAMES",
                     help="also measure each strategy's training step memory (the step it really runs: frozen "
                          "stages, gradients, optimizer state), with its parts")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_speed)

    cmd = commands.add_parser("recommend", help="recommend a backbone and a transfer strategy for your image folder")
    cmd.add_argument("path", type=Path, help="a folder of class sub-folders (ROOT/<class>/<image>), or with train/ and test/")
    cmd.add_argument("--suite", default="mini", help="suite whose pretrained backbones and tasks to measure with (default: %(default)s)")
    cmd.add_argument("--arch", action="append", metavar="NAMES",
                     help="backbones to consider, comma-separated, wildcards allowed (default: all with weights for the suite)")
    cmd.add_argument("--small-threshold", type=_positive, metavar="N",
                     help="training images per class below which the data are small (default: the suite's)")
    cmd.add_argument("--results", type=Path, default=Path("leaderboards/results.sqlite"),
                     help="results database whose measured winners check the rule of thumb (default: %(default)s)")
    cmd.add_argument("--skip-corrupt", action="store_true", help="leave out images that cannot be read instead of stopping")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_recommend)

    cmd = commands.add_parser("plugins", help="show the plugins loaded, their versions, and failures")
    cmd.add_argument("--verbose", "-v", action="store_true", help="show the traceback of each failure")
    cmd.add_argument("--strict", action="store_true", help="exit with status 1 if any plugin failed to load")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_plugins)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _warn_about_failed_plugins(args: argparse.Namespace) -> None:
    if args.run in (cmd_plugins, cmd_list):  # `zoo plugins` reports them; `zoo list` warns from its snapshot
        return
    for warning in zoo.get_zoo().warning_lines():
        print(f"zoo: warning: {warning}", file=sys.stderr)


# ---------------------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace) -> int:
    from zoo.plugin.registry import match_names
    from zoo.plugin.snapshot import listing

    info = getattr(zoo.get_zoo, "cache_info", None)  # loaded already (or given by a test): list it directly
    known = listing(zoo.get_zoo, loaded=info is None or info().currsize > 0)
    for warning in known["warnings"]:
        print(f"zoo: warning: {warning}", file=sys.stderr)
    if args.kind not in known["kinds"]:
        raise UnknownNameError("kind", args.kind, known["kinds"], listing="zoo list --help")
    entries = {row["name"]: row for row in known["kinds"][args.kind]}
    rows = [entries[name] for name in match_names(entries, args.pattern, args.exclude)]
    if args.json:
        console.print_json(rows)
    elif rows:
        console.print_table(rows, list(rows[0]))
    else:
        print(f"no {args.kind} match {args.pattern!r}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- info


def cmd_info(args: argparse.Namespace) -> int:
    from zoo.plugin import info as describe

    name = args.name.partition(".")[0]
    found = [(kind, r) for kind, r in zoo.get_zoo().registries.items() if name in r]
    if not found:
        owner = zoo.get_zoo().disabled_owner(name)
        if owner:
            raise ZooError(f"{name!r} is registered by plugin {owner!r}, which is disabled: remove it from ZOO_DISABLE_PLUGINS")
        every = [n for r in zoo.get_zoo().registries.values() for n in r.names()]
        raise UnknownNameError("name", name, every, listing="zoo list")
    kind, registry = found[0]
    entry, plugin = registry.get(name), registry.plugin_of(name)
    if args.weights and kind != "architectures":
        raise ZooError(f"--weights goes with an architecture, and {name!r} is a {registry.kind}")
    if kind == "architectures":
        info = describe.architecture_info(entry, plugin)
        if args.weights:
            model = zoo.create_model(name, weights_file=args.weights)
            info["weights_file"] = {"path": args.weights, "tensors": len(model.state_dict()), "num_classes": model.num_classes}
        show = console.print_architecture
    elif kind == "strategies":
        info, show = describe.strategy_info(entry, plugin), console.print_strategy
    elif kind == "datasets":
        info, show = describe.dataset_info(entry, plugin), console.print_dataset
    else:
        info, show = describe.suite_info(zoo.get_zoo().datasets, entry, plugin), console.print_suite
    if args.json:
        console.print_json(info)
    else:
        show(info)
    return 0


# ---------------------------------------------------------------------------- pretrain


def cmd_pretrain(args: argparse.Namespace) -> int:
    from zoo.bench.pretrain import pretrain
    from zoo.train.loop import precision, select_device

    registry = zoo.get_zoo()
    suite = registry.suites.get(args.suite)
    names = _expand(registry.architectures, args.arch)
    device = select_device(args.device)
    results = []
    for name in names:
        arch = registry.architectures.get(name)
        entry, trained = pretrain(registry.datasets, suite, arch, device=device, force=args.force, precision=precision(device))
        meta = entry.metadata
        results.append(
            {
                "architecture": name,
                "variant": f"{name}.{entry.tag}",
                "trained_now": trained,
                "source_test_accuracy": meta["source_test_accuracy"],
                "epochs": meta["epochs"],
                "seconds": meta["seconds"],
                "path": str(entry.path),
            }
        )
        if not args.json:
            verb = "trained" if trained else "already stored"
            print(
                f"{name}.{entry.tag}: {verb}; source test accuracy {meta['source_test_accuracy']:.2%} "
                f"after {meta['epochs']} epochs (best {meta.get('best_epoch')}) in {meta['seconds']:.0f} s ({entry.path})"
            )
    if args.json:
        console.print_json(results)
    return 0


def _expand(registry, specs: Sequence[str]) -> list[str]:
    """Registry names for comma-separated names and patterns; unknown plain names are errors.
    A strategy with options (``partial:k=3``) is kept as written once it resolves."""
    from zoo.train.strategies import resolve_strategy

    names: list[str] = []
    for pattern in split_names(specs):
        if registry.kind == "strategy" and ":" in pattern:
            names.append(resolve_strategy(registry, pattern).name)
            continue
        matched = registry.names(pattern)
        if not matched:
            if any(c in pattern for c in "*?["):
                raise ZooError(f"no {registry.kind} matches {pattern!r} (see `zoo list --kind {registry.plural}`)")
            registry.get(pattern)  # raises with close matches
        names += [n for n in matched if n not in names]
    return names


# ---------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from zoo.bench.grid import expand_grid
    from zoo.bench.harness import LocalExecutor, forget
    from zoo.bench.results import ResultsStore
    from zoo.train.loop import precision, select_device

    if args.ray_address and args.executor != "ray":
        raise ZooError("--ray-address goes with --executor ray")
    registry = zoo.get_zoo()
    suite = registry.suites.get(args.suite)
    archs = _expand(registry.architectures, args.arch or DEFAULT_ARCHS)
    strategies = _expand(registry.strategies, args.strategy or DEFAULT_STRATEGIES)
    # A team benching its folder wants its folder measured, not hours of the suite around it.
    tasks = _select_tasks(suite, args.task, args.quadrant) if args.task or args.quadrant or not args.data else []
    device = select_device(args.device)
    if args.executor == "ray":  # imported only when asked for: Ray is an optional extra
        from zoo.bench.ray_executor import RayExecutor

        executor = RayExecutor(device, address=args.ray_address)
    else:
        executor = LocalExecutor(registry, device)
    tasks += [_folder_task(folder, suite, archs, device) for folder in args.data or ()]
    groups = expand_grid(registry, suite, archs, strategies, tasks, args.seeds, args.epochs, precision(device))
    store = ResultsStore(args.out / "results.sqlite")
    with store.lock(args.wait, on_wait=lambda holder: print(f"zoo: waiting for {holder} to finish", file=sys.stderr)):
        if args.fresh:
            forget(store, groups)
        return _run_bench(args, suite, groups, store, executor, device)


def _run_bench(args: argparse.Namespace, suite, groups, store, executor, device) -> int:
    """The grid's cells not yet stored, then the summary and the leaderboards; the exit status."""
    from zoo.bench.harness import fill_step_memory, run_grid
    from zoo.bench.results import FAILED, CellResult
    from zoo.progress import progress

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
        unknown = wanted - {"Q1", "Q2", "Q3", "Q4"}
        if unknown:
            raise ZooError(f"unknown quadrant {', '.join(sorted(unknown))}: use Q1, Q2, Q3 or Q4")
        tasks = [t for t in tasks if t.quadrant in wanted]
    return tasks


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
    from zoo.leaderboard.writers import NoResultsError, write_leaderboards

    try:
        written = write_leaderboards(zoo.get_zoo(), out)
    except NoResultsError as exc:
        print(f"zoo: note: {exc}; no leaderboards written", file=sys.stderr)
        return
    _report_written(written, out, as_json)


# ---------------------------------------------------------------------------- speed


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text}")
    return value


def cmd_speed(args: argparse.Namespace) -> int:
    from zoo.bench.memory import CUDA_PREDICTION_METHOD, predict_cuda, step_memory
    from zoo.bench.speed import measure_speed
    from zoo.train.loop import precision, select_device
    from zoo.train.strategies import resolve_strategy

    plugins = zoo.get_zoo()
    registry = plugins.architectures
    strategies = [resolve_strategy(plugins.strategies, written).name for written in split_names(args.strategy or ())]
    device = select_device(args.device)
    reports = []
    for name in _expand(registry, args.arch):
        spec = registry.get(name)
        size = None
        if args.img_size:
            channels, min_h, min_w = spec.min_input_size
            if args.img_size < max(min_h, min_w):
                raise ZooError(f"--img-size {args.img_size} is below {name}'s minimum input size {min_h}×{min_w}")
            size = (channels, args.img_size, args.img_size)
        report = measure_speed(
            plugins, spec, device, args.batch_size, size, steps=args.steps, warmup=args.warmup, timing=args.timing
        ).as_dict()
        report["strategies"] = {}
        size = tuple(report["input_size"])
        for strategy in strategies:
            memory = step_memory(plugins, name, strategy, args.batch_size, size, device, precision(device))
            report["strategies"][strategy] = memory.record(args.batch_size)  # as a cell stores it
            if device.type != "cuda":  # what a team without a GPU at hand needs to plan for one
                report["strategies"][strategy]["cuda_prediction_bytes"] = predict_cuda(plugins, name, strategy, args.batch_size, size)
                report["strategies"][strategy]["cuda_prediction_method"] = CUDA_PREDICTION_METHOD
        reports.append(report)
        if not args.json:
            console.print_speed(report)
    if args.json:
        console.print_json(reports)
    return 0


# ---------------------------------------------------------------------------- recommend


def cmd_recommend(args: argparse.Namespace) -> int:
    from zoo.recommend.advice import recommend
    from zoo.train.loop import select_device

    registry = zoo.get_zoo()
    suite = registry.suites.get(args.suite)
    archs = _expand(registry.architectures, args.arch) if args.arch else None
    try:
        result = recommend(
            registry,
            args.path,
            suite,
            archs=archs,
            device=select_device(args.device),
            small_threshold=args.small_threshold,
            skip_corrupt=args.skip_corrupt,
            results=args.results,
        )
    except ZooError as exc:
        corrupt = getattr(exc, "paths", None)  # the imagefolder plugin's CorruptImagesError lists them
        if not corrupt:
            raise
        shown = ", ".join(map(str, corrupt[:3])) + (f" and {len(corrupt) - 3} more" if len(corrupt) > 3 else "")
        raise ZooError(
            f"{len(corrupt)} images in {args.path} cannot be read: {shown}; replace or delete them, "
            "or pass --skip-corrupt to leave them out"
        ) from None
    if args.json:
        console.print_json(result.as_dict())
    else:
        console.print_recommendation(result)
    return 0


# ---------------------------------------------------------------------------- plugins


def cmd_plugins(args: argparse.Namespace) -> int:
    reports = sorted(zoo.get_zoo().reports.values(), key=lambda r: r.name)
    if args.json:
        console.print_json([vars(r) for r in reports])
        return EXIT_FAILED if args.strict and any(r.errors for r in reports) else 0
    rows = [
        {
            "plugin": r.name,
            "distribution": f"{r.distribution}-{r.version}" if r.distribution else "(in-process)",
            "module": r.module,
            "status": r.status,
            "registered": ", ".join(f"{k}: {len(v)}" for k, v in r.registered.items()) or "-",
        }
        for r in reports
    ]
    console.print_table(rows, ["plugin", "distribution", "module", "status", "registered"])
    for report in reports:
        for error in report.errors:
            print(f"\n{report.name}: {error}")
        if args.verbose and report.traceback:
            print(report.traceback)
    return EXIT_FAILED if args.strict and any(r.errors for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
