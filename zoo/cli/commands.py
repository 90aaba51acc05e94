"""The ``zoo`` commands that list, describe, pretrain, time and recommend (``zoo bench`` and
``zoo leaderboard`` are in :mod:`zoo.cli.bench`). Each imports what it uses when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import zoo
from zoo.cli import console, paths
from zoo.errors import UnknownNameError, ZooError
from zoo.names import split_names

EXIT_FAILED = 1  # the command finished, but a cell failed or a plugin did not load


# ---------------------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace) -> int:
    if args.pretrained:
        return _list_pretrained(args)
    from zoo.names import match_names
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


def _list_pretrained(args: argparse.Namespace) -> int:
    """``zoo list --pretrained``: the weights that load here, architecture by architecture."""
    from zoo.plugin.architecture import present_weights

    if args.kind != "architectures":
        raise ZooError(f"--pretrained lists architectures' weights; leave out --kind {args.kind}")
    plugins = zoo.get_zoo()
    rows = [row for name in plugins.architectures.names(args.pattern, args.exclude) for row in present_weights(plugins.architectures.get(name))]
    if args.json:
        console.print_json(rows)
    elif rows:
        console.print_table(rows, ["variant", "source", "location"])
    else:
        print(f"no pretrained weights here for architectures matching {args.pattern or '*'!r}: `zoo pretrain` "
              "builds some, and the hubs' download when online", file=sys.stderr)  # fmt: skip
    return 0


# ---------------------------------------------------------------------------- info


def cmd_info(args: argparse.Namespace) -> int:
    plugins = zoo.get_zoo()
    name = args.name.partition(".")[0]
    found = [(kind, plugins.registries[kind.plural]) for kind in plugins.kinds if name in plugins.registries[kind.plural]]
    if not found:
        owner = plugins.disabled_owner(name)
        if owner:
            raise ZooError(f"{name!r} is registered by plugin {owner!r}, which is disabled: remove it from ZOO_DISABLE_PLUGINS")
        every = [n for r in plugins.registries.values() for n in r.names()]
        raise UnknownNameError("name", name, every, listing="zoo list")
    kind, registry = found[0]
    if args.weights and kind.plural != "architectures":
        raise ZooError(f"--weights goes with an architecture, and {name!r} is a {kind.singular}")
    info = kind.describe(plugins, registry.get(name), registry.plugin_of(name))
    if args.weights:
        model = zoo.create_model(name, weights_file=args.weights)
        info["weights_file"] = {"path": args.weights, "tensors": len(model.state_dict()), "num_classes": model.num_classes}
    if args.json:
        console.print_json(info)
    else:
        print(kind.render(info))
    return 0


# ---------------------------------------------------------------------------- pretrain


def cmd_pretrain(args: argparse.Namespace) -> int:
    from zoo.bench.pretraining import pretrain
    from zoo.device import precision, select_device

    plugins = zoo.get_zoo()
    suite = plugins.suites.get(args.suite)
    names = expand_names(plugins.architectures, args.arch)
    device = select_device(args.device)
    results = []
    for name in names:
        arch = plugins.architectures.get(name)
        entry, trained = pretrain(plugins.datasets, suite, arch, device=device, force=args.force, precision=precision(device))
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


def expand_names(registry, specs: Sequence[str]) -> list[str]:
    """Registry names for comma-separated names and patterns; unknown plain names are errors.
    A strategy with options (``partial:k=3``) is kept as written once it resolves."""
    from zoo.plugin.strategy import resolve_strategy

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


# ---------------------------------------------------------------------------- speed


def cmd_speed(args: argparse.Namespace) -> int:
    from zoo.bench.memory import CUDA_PREDICTION_METHOD, predict_cuda, step_memory
    from zoo.bench.speed import measure_speed
    from zoo.device import precision, select_device
    from zoo.plugin.strategy import resolve_strategy

    plugins = zoo.get_zoo()
    registry = plugins.architectures
    strategies = [resolve_strategy(plugins.strategies, written).name for written in split_names(args.strategy or ())]
    device = select_device(args.device)
    reports = []
    for name in expand_names(registry, args.arch):
        spec = registry.get(name)
        size = None
        if args.img_size:
            channels, min_h, min_w = spec.min_input_size
            if args.img_size < max(min_h, min_w):
                raise ZooError(f"--img-size {args.img_size} is below {name}'s minimum input size {min_h}×{min_w}")
            size = (channels, args.img_size, args.img_size)
        report = measure_speed(
            plugins, spec, device, args.batch_size, size, steps=args.steps, warmup=args.warmup, timing=args.timing,
            channels_last=args.channels_last,
        ).as_dict()
        report["strategies"] = {}
        size = tuple(report["input_size"])
        for strategy in strategies:
            memory = step_memory(plugins, name, strategy, args.batch_size, size, device, precision(device))
            record = report["strategies"][strategy] = memory.record(args.batch_size)  # as a cell stores it
            # Without a GPU: what a team needs to plan for one. On one: the prediction beside the
            # allocator's peak, so that its error is seen where it can be measured.
            mode = precision(device) if device.type == "cuda" else "bf16"
            record["cuda_prediction_bytes"] = predict_cuda(plugins, name, strategy, args.batch_size, size, mode)
            record["cuda_prediction_method"] = CUDA_PREDICTION_METHOD
            if device.type == "cuda" and memory.peak_bytes:
                record["cuda_prediction_error"] = record["cuda_prediction_bytes"] / memory.peak_bytes - 1
        reports.append(report)
        if not args.json:
            console.print_speed(report)
    if args.json:
        console.print_json(reports)
    return 0


# ---------------------------------------------------------------------------- recommend


RESULTS_FILE = paths.file_to_read("--results", "a results database written by `zoo bench`")


def cmd_recommend(args: argparse.Namespace) -> int:
    from zoo.device import select_device
    from zoo.recommend.advice import default_results, recommend

    plugins = zoo.get_zoo()
    suite = plugins.suites.get(args.suite)
    archs = expand_names(plugins.architectures, args.arch) if args.arch else None
    results = args.results or RESULTS_FILE(str(default_results(suite)))  # the default is checked as a given path is
    try:
        result = recommend(
            plugins,
            args.path,
            suite,
            archs=archs,
            device=select_device(args.device),
            small_threshold=args.small_threshold,
            skip_corrupt=args.skip_corrupt,
            results=results,
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
    if args.html:
        from zoo.recommend.report import render_report

        args.html.write_text(render_report(result, suite), encoding="utf-8")
    if args.json:
        console.print_json(result.as_dict())
    else:
        console.print_recommendation(result)
        if args.html:
            print(f"\nreport: {args.html} (open {args.html.resolve().as_uri()})")
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
