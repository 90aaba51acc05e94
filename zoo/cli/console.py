"""What the command line prints for people (``--json`` prints the data instead): tables,
registry entries, speed reports and recommendations, as plain text.

Every function takes the data a command computed (``zoo info``'s dicts, a
:class:`zoo.recommend.advice.Recommendation`) and only formats it, so the command line itself
parses arguments, calls the library and hands the result here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def print_table(rows: list[dict], columns: Sequence[str]) -> None:
    """Left-aligned columns, headed by their names in capitals."""
    cells = [[c.upper() for c in columns]] + [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


def print_architecture(info: dict) -> None:
    size = "×".join(map(str, info["complexity_input_size"][1:]))
    lines = [
        f"{info['name']} — {info['description']}",
        f"  family:             {info['family']} (plugin {info['plugin']})",
        f"  paper:              {info['paper'] or '–'}",
        f"  params:             {info['params']:,}",
        f"  MACs:               {info['macs'] / 1e9:.3f} G at {size} (FLOPs {info['flops'] / 1e9:.3f} G)",
        f"  measured with:      {info['complexity_method']}",
        f"  features:           {info['num_features']}",
        f"  default input size: {tuple(info['default_input_size'])}",
        f"  min input size:     {tuple(info['min_input_size'])}",
    ]
    if info["lr_scale"] != 1:
        lines.append(f"  learning rate:      ×{info['lr_scale']:g} of a recipe's (its reference recipes train it slower)")
    if info["pretrain_epoch_scale"] != 1:
        lines.append(f"  pretraining cap:    ×{info['pretrain_epoch_scale']:g} of a suite's epochs (it learns for longer)")
    if info["reference"]:
        lines.append(f"  torchvision:        {info['reference']}" + (f" — differs: {info['differences']}" if info["differences"] else " (same network)"))
    lines.append("  stages:")
    lines += [f"    {s['name']:<10} {s['params']:>12,}  {', '.join(s['modules'])}" for s in info["stages"]]
    lines.append("  pretrained weights:" + ("" if info["pretrained_weights"] else " none"))
    lines += [
        f"    {w['variant']:<40} {w['source']:<12} {w['dataset']}{'  (default)' if w['default'] else ''}"
        for w in info["pretrained_weights"]
    ]
    if "weights_file" in info:
        w = info["weights_file"]
        lines.append(f"  weights file:       {w['path']} loads ({w['tensors']} tensors, {w['num_classes']} classes)")
    print("\n".join(lines))


def print_strategy(info: dict) -> None:
    lines = [
        f"{info['name']} — {info['description']}",
        f"  plugin:       {info['plugin']}",
        f"  starts from:  {'pretrained weights' if info['pretrained'] else 'random initialisation'}",
        f"  recommended:  {', '.join(info['quadrants']) or 'in no quadrant (a baseline)'}",
    ]
    lines += [f"  paper:        {info['paper']}"] if info["paper"] else []
    lines += ["  loss:         cross-entropy + the strategy's penalty on the weights"] if info["penalty"] else []
    lines.append("  phases:")
    lines += [f"    {phase['share']:.0%} of epochs: {phase['trains']}" for phase in info["phases"]]
    if info["options"]:
        written = ":".join(f"{k}=VALUE" for k in info["options"])
        defaults = ", ".join(f"{k}={v}" for k, v in info["options"].items())
        lines.append(f"  options:      {info['name']}:{written} (default {defaults})")
    print("\n".join(lines))


def print_dataset(info: dict) -> None:
    lines = [
        f"{info['name']} — {info['description']}",
        f"  plugin:       {info['plugin']}",
        f"  source:       {info['source']}",
        f"  images:       {info['channels']} channel(s), "
        + ("×".join(map(str, info["native_size"])) if info["native_size"] else "sizes vary"),
        f"  splits:       {', '.join(info['splits'])}" + (f" ({info['split_note']})" if info["split_note"] else ""),
        f"  classes:      {', '.join(info['classes']) or 'the folder’s sub-folders'}",
    ]
    if info["per_class_counts"]:
        lines += [f"  {split + ':':<13} {counts} per class" for split, counts in info["per_class_counts"].items()]
    if info["unavailable"]:
        lines.append(f"  not available here: {info['unavailable']}")
    print("\n".join(lines))


def _counts(described: dict) -> str:
    if described["unavailable"]:
        return f"budget {described['train_per_class_budget']}/{described['test_per_class_budget']} per class (data not here)"
    train, test = described["train_per_class"], described["test_per_class"]
    if len(set(train)) == 1 and len(set(test)) == 1:
        return f"{train[0]} train / {test[0]} test per class"
    return f"train {train} / test {test} per class"


def print_suite(info: dict) -> None:
    size = f"{info['image_size']}×{info['image_size']}" if info["image_size"] else "each architecture's default"
    lines = [f"{info['name']} — {info['description']}", f"  plugin:          {info['plugin']}"]
    source = info["source"]
    if source:
        lines.append(f"  source:          {info['source_description']}: {source['dataset']} {', '.join(source['classes'])}")
        lines.append(f"                   {_counts(source)}")
        recipe = info["pretrain_recipe"]
        lines.append(
            f"  pretraining:     until a {info['pretrain_validation']:.0%} validation split stops improving, at most "
            f"{recipe['epochs']} epochs; batch {recipe['batch_size']}, lr {recipe['lr']} (zoo pretrain)"
        )
    else:
        lines.append(f"  source:          {info['source_description']}")
    lines.append(f"  image size:      {size}")
    lines.append(f"  small below:     {info['small_threshold']} training images per class")
    if len(info["lr_factors"]) > 1:
        factors = ", ".join(f"×{f:.3g}" for f in info["lr_factors"])
        lines.append(f"  lr sweep:        {factors} the recipe's rate on seed 0; the best on validation trains the other seeds")
        if info["lr_extensions"]:
            lines.append(f"                   while the best is the highest or lowest tried, one step further (at most {info['lr_extensions']})")
    lines.append("  tasks:")
    for task in info["tasks"]:
        classes = task["classes"] if isinstance(task["classes"], str) else ", ".join(task["classes"])
        lines.append(f"    {task['quadrant']}  {task['name']:<24} {task['size']}, {task['similarity']}: {task['dataset']} ({classes})")
        seeds = f", {task['seeds']} seeds" if task["seeds"] > 1 else ""
        lines.append(
            f"        {_counts(task)}; until a {task['validation']:.0%} validation split stops improving "
            f"(patience {task['patience']}), at most {task['epochs']} epochs at batch {task['batch_size']}{seeds}"
        )
        lines.append(f"        {task['why']}")
    if info["notes"]:
        lines += ["  notes:"] + [f"    {line}" for line in info["notes"].splitlines()]
    print("\n".join(lines))


def _mib(value: int | None) -> str:
    return "not measured" if value is None else f"{value / 2**20:,.0f} MiB"


def print_speed(r: dict) -> None:
    size = "×".join(map(str, r["input_size"][1:]))
    print(
        f"{r['architecture']} at {size}, batch {r['batch_size']}, {r['device_name']} ({r['precision']}, {r['threads']} threads)\n"
        f"  timing:     {r['timing']}, {r['warmup']} warm-up and {r['steps']} timed steps\n"
        f"  training:   {r['train_images_per_second']:,.1f} images/s, peak memory {_mib(r['train_peak_bytes'])}\n"
        f"  inference:  {r['infer_images_per_second']:,.1f} images/s, peak memory {_mib(r['infer_peak_bytes'])}\n"
        f"  latency:    {r['latency_ms_p50']:.2f} ms p50, {r['latency_ms_p95']:.2f} ms p95 (batch 1)\n"
        f"  params:     {r['params']:,}; MACs {r['macs'] / 1e9:.3f} G per image\n"
        f"  memory measured as: {r['memory_method']}"
    )
    if r["strategies"]:
        print(f"  training step memory per strategy (batch {r['batch_size']}, its most demanding phase), MiB:")
        for name, m in r["strategies"].items():
            mib = {key: m[key] / 2**20 for key in ("parameters", "gradients", "optimizer", "activations", "inputs")}
            print(
                f"    {name:<16} {_mib(m['peak_bytes'])} measured; estimate {m['estimate'] / 2**20:,.0f} = parameters "
                f"{mib['parameters']:,.0f} + input {mib['inputs']:,.0f} + the larger of activations {mib['activations']:,.0f} "
                f"+ gradients {mib['gradients']:,.0f} and gradients + optimizer state {mib['optimizer']:,.0f}"
                + (f"; on a CUDA GPU about {_mib(m['cuda_prediction_bytes'])}" if "cuda_prediction_bytes" in m else "")
            )
        first = next(iter(r["strategies"].values()))
        print(f"  strategy memory measured as: {first['method']}")
        if "cuda_prediction_method" in first:
            print(f"  on a CUDA GPU: {first['cuda_prediction_method']}")


def print_recommendation(rec) -> None:
    lines = [
        f"{rec.data}: {rec.images} training images in {len(rec.classes)} classes",
        f"  quadrant:  {rec.placement.quadrant} ({rec.placement.size.verdict}, {rec.placement.similarity_verdict})",
        f"  backbone:  {rec.architecture} (weights {rec.variant})",
        f"  strategy:  {rec.strategy}" + (f" (also for {rec.placement.quadrant}: {', '.join(rec.alternatives)})" if rec.alternatives else ""),
        "",
        "why:",
    ]
    lines += [f"  - {reason}" for reason in rec.reasons]
    print("\n".join(lines))
    if rec.measured is not None:
        print(f"\nverdict in {rec.placement.quadrant} ({rec.measured.path}):")
        print_table([_verdict_line(v) for v in rec.measured.verdicts], ["task", "scope", "won", "rule", "margin", "95% CI", "decisive"])


def _verdict_line(verdict: dict) -> dict:
    """A leaderboard verdict row as ``zoo recommend`` prints it: points, interval, decisive."""
    from zoo.leaderboard.tables import Column

    known = verdict["ci_low_points"] is not None
    return {
        "task": verdict["task"],
        "scope": verdict["scope"],
        "won": verdict["measured"],
        "rule": Column("recommended", "").format(verdict["recommended"]),
        "margin": Column("margin_points", "", ".2f").format(verdict["margin_points"]),
        "95% CI": f"{verdict['ci_low_points']:.2f} to {verdict['ci_high_points']:.2f}" if known else "unknown",
        "decisive": Column("decisive", "").format(verdict["decisive"]),
    }
