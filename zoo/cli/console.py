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
                + (f"; predicted from the CPU {_mib(m['cuda_prediction_bytes'])} ({m['cuda_prediction_error']:+.0%})"
                   if "cuda_prediction_error" in m else f"; on a CUDA GPU about {_mib(m['cuda_prediction_bytes'])}")
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
        print_table([_verdict_line(e.verdict) for e in rec.measured.verdicts], ["task", "scope", "won", "rule", "margin", "95% CI", "decisive"])


def _verdict_line(verdict) -> dict:
    """A leaderboard verdict (:class:`zoo.leaderboard.verdict.Verdict`) as ``zoo recommend``
    prints it: points, interval, decisive."""
    from zoo.leaderboard.tables import Column

    known = verdict.ci_low_points is not None
    return {
        "task": verdict.task,
        "scope": verdict.scope,
        "won": verdict.measured,
        "rule": Column("recommended", "").format(verdict.recommended),
        "margin": Column("margin_points", "", ".2f").format(verdict.margin_points),
        "95% CI": f"{verdict.ci_low_points:.2f} to {verdict.ci_high_points:.2f}" if known else "unknown",
        "decisive": Column("decisive", "").format(verdict.decisive),
    }
