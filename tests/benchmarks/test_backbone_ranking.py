"""Do LogME and the other transferability estimators rank backbones as fine-tuning does?

``zoo recommend`` picks the backbone with the highest LogME, so LogME's agreement with
measured accuracy is checked where both are known: on each mini task, every backbone with
mini weights is scored by LogME, H-score, NCE and LEEP (forward passes over the task's
training images) and fine-tuned by the strategies that start from its weights; Kendall's τ
between each estimator and the best fine-tuned mean top-1 says how well it ranks them
(:func:`zoo.studies.agreement.logme_agreement`). τ can reach p < 0.05 only from five backbones on.

The default run's backbones come with their cells in ``leaderboards/`` (``zoo bench``'s
default grid); every other backbone with mini weights is benched here with the pretrained
strategies into ``runs/ranking/`` (resumable). Each backbone with weights in the local store
is scored into ``runs/ranking/transferability.json``, keyed by its weights' sha256, so that
backbones pretrained on different machines (in different sessions) meet in one report: the
scores of the file each backbone's cells started from. Writes ``leaderboards/ranking.{json,md}``.
Needs stored mini weights and trains: ``make ranking``.
"""

import json
import os
import time
from pathlib import Path

import pytest
from test_heldout import OUT, footer, machine, zoo_home  # noqa: F401 (zoo_home: the user's own, with the weights)

import zoo
from zoo.bench.features import available_architectures
from zoo.cli.bench import DEFAULT_ARCHS, DEFAULT_STRATEGIES
from zoo.cli.main import main
from zoo.studies.agreement import logme_agreement, pooled_agreement

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUN = ROOT / "leaderboards"
RUNS = ROOT / "runs" / "ranking"
SCORES = RUNS / "transferability.json"

pytestmark = pytest.mark.skipif(
    os.environ.get("ZOO_RANKING") != "1", reason="needs stored mini weights and trains: set ZOO_RANKING=1 (make ranking)"
)


def test_estimators_rank_backbones_as_fine_tuning_does(benchmark):
    started = time.perf_counter()
    suite = zoo.get_zoo().suites.get("mini")
    archs = available_architectures(zoo.get_zoo(), suite)
    others = [a for a in archs if a not in DEFAULT_ARCHS]
    pretrained = [name for name in DEFAULT_STRATEGIES if zoo.get_zoo().strategies.get(name).pretrained]
    if others:
        # 1: some cells failed (a swept rate that diverges is an outcome, stored and shown, and
        # not retried: a diverged rate diverges again), not an error
        argv = ["bench", "--arch", ",".join(others), "--strategy", ",".join(pretrained), "--out", str(RUNS), "--no-retry"]
        assert main(argv) in (0, 1)
    databases = [d / "results.sqlite" for d in (DEFAULT_RUN, RUNS) if (d / "results.sqlite").is_file()]
    report = benchmark.pedantic(lambda: logme_agreement(zoo.get_zoo(), suite, databases, SCORES), rounds=1, iterations=1)
    result = {
        "backbones": sorted({arch for t in report for arch in t["architectures"]}),
        "scores": str(SCORES.relative_to(ROOT)),
        "results": [str(d.relative_to(ROOT)) for d in databases],
        "tasks": report,
        "pooled": pooled_agreement(report),
        "seconds": round(time.perf_counter() - started, 1),
        **machine(),
    }
    (OUT / "ranking.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (OUT / "ranking.md").write_text(render(result))
    assert report, "no mini task has two backbones both fine-tuned and with weights"


def render(result: dict) -> str:
    estimators = list(result["tasks"][0]["kendall_tau"]) if result["tasks"] else []
    lines = [
        "# Transferability estimators against fine-tuning\n",
        "Kendall's τ between each estimator's scores and the best fine-tuned mean top-1 (over the strategies that "
        "start from the backbone's weights, at the learning rate each sweep chose), per mini task; p is the "
        "two-sided p-value. With n backbones, τ can reach p < 0.05 only from n = 5 on. `zoo recommend` ranks "
        f"backbones by LogME. Cells from {', '.join(f'`{r}`' for r in result['results'])}; each backbone scored on "
        f"the weights its cells started from (`{result['scores']}`, by sha256); `make ranking` writes this page.\n",
        "| task | quadrant | backbones | " + " | ".join(f"{e} τ (p)" for e in estimators) + " |",
        "|---|---|---:|" + "---|" * len(estimators),
    ]
    for t in result["tasks"]:
        cells = " | ".join(f"{t['kendall_tau'][e]:+.2f} ({t['p_value'][e]:.2f})" for e in estimators)
        lines.append(f"| {t['task']} | {t['quadrant']} | {len(t['architectures'])} | {cells} |")
    if result["pooled"]:
        pooled = result["pooled"]
        first = next(iter(pooled.values()))
        cells = " | ".join(f"**{pooled[e]['tau']:+.2f} ({pooled[e]['p_value']:.2f})**" for e in estimators)
        lines += [f"| mean over the {first['tasks']} tasks | | {len(first['backbones'])} | {cells} |", "",
                  "The last row pools the tasks: the mean of their τ, its p-value from shuffling the backbones' scores "
                  f"jointly across tasks ({'every' if first['exact'] else 'a sample of'} ordering"
                  f"{'' if first['exact'] else 's'} of the {len(first['backbones'])} backbones), so that a backbone "
                  "that is scored high and fine-tunes well everywhere counts as one piece of evidence, not one per task."]  # fmt: skip
    lines += render_sources(result)
    lines += ["", "Per backbone: best fine-tuned top-1 (strategy) and each estimator's score.", ""]
    for t in result["tasks"]:
        lines += [f"**{t['task']}**", "", "| backbone | best top-1 | strategy | " + " | ".join(estimators) + " |",
                  "|---|---:|---|" + "---:|" * len(estimators)]  # fmt: skip
        for i, arch in enumerate(t["architectures"]):
            scores = " | ".join(f"{t['scores'][e][i]:.3f}" for e in estimators)
            lines.append(f"| {arch} | {100 * t['best_top1'][i]:.1f} | {t['best_strategy'][i]} | {scores} |")
        lines += [""] + [f"Left out: {arch}, {why}." for arch, why in t["left_out"].items()] + [""] * bool(t["left_out"])
    return "\n".join([*lines, footer(result)])


def render_sources(result: dict) -> list[str]:
    """The source model each backbone's cells started from, and what stopped its training."""
    lines = ["", "Source models (the weights each backbone's cells started from):", "",
             "| backbone | sha256 | source test top-1 | epochs (cap) | best epoch | stopped by |",
             "|---|---|---:|---|---:|---|"]  # fmt: skip
    sources = {arch: (sha, source) for t in result["tasks"] for arch, sha, source in zip(t["architectures"], t["sha256"], t["source"])}
    for arch, (sha, s) in sorted(sources.items()):
        top1 = "—" if s["source_test_accuracy"] is None else f"{100 * s['source_test_accuracy']:.2f}%"
        stopped = "its validation plateau" if s["stopped_early"] else f"**its epoch cap**, {s['decays_spent']} learning-rate decays spent"
        lines.append(f"| {arch} | {sha[:8]}… | {top1} | {s['epochs']} ({s['epoch_cap']}) | {s['best_epoch']} | {stopped} |")
    return lines
