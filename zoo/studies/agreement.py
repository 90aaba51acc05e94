"""Does LogME rank backbones as fine-tuning does? Each estimator's agreement with measured accuracy.

``zoo recommend`` picks the backbone with the highest LogME (:mod:`zoo.recommend.advice`);
this is where that choice is checked, on the suite's own tasks where both are known: each
transferability estimator's scores (LogME and those of :mod:`zoo.studies.transferability`)
against the best fine-tuned mean top-1 of each backbone, by Kendall's τ with its p-value.
``make ranking`` writes the report (``leaderboards/ranking.md``).

An estimator must score the very weights the cells fine-tuned, and pretrained weights are
rebuilt bit for bit only on the machine that made them: another CPU's kernels round
differently and make another network under the same fingerprint. So the scores are kept in
a file beside the results (:class:`ScoreFile`), keyed by the weights' sha256 and the task's
images: each backbone is scored while its weights are at hand, and the report pairs every
backbone's cells with the scores of the file they started from, whichever machine made it.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from scipy.stats import kendalltau

from zoo.bench.features import SuiteBackbone, available_architectures, load_backbone
from zoo.device import precision, select_device
from zoo.errors import ZooError
from zoo.leaderboard.tables import accuracy_rows, reported_cells
from zoo.plugin.suite import SuiteSpec, TaskSpec, load_selection
from zoo.recommend.logme import logme
from zoo.results.read import read_results
from zoo.results.schema import weights_sha256
from zoo.studies.transferability import ESTIMATORS, VERSION

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

SCORED_SEED = 0  # the draw of the task's training images every backbone is scored on


class ScoreFile:
    """Transferability scores of pretrained weights on a suite's tasks, as a JSON file.

    One record per (weights sha256, suite, task, the task's data selection, the estimators'
    :data:`~zoo.studies.transferability.VERSION`): the scores depend on those alone, so a
    record is computed once, on whichever machine holds those weights, and read on any other.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: list[dict] = json.loads(self.path.read_text()) if self.path.is_file() else []

    def get(self, sha256: str, suite: SuiteSpec, task: TaskSpec) -> dict | None:
        """The record of these weights on ``task`` as ``suite`` now defines it, if scored."""
        wanted = (sha256, suite.name, task.name, _selection(task), VERSION)
        return next(
            (r for r in self.records if (r["sha256"], r["suite"], r["task"], r["selection"], r.get("version")) == wanted), None
        )

    def add(self, record: dict) -> None:
        self.records.append(record)
        self.records.sort(key=lambda r: (r["suite"], r["task"], r["architecture"], r["sha256"]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.records, indent=1, ensure_ascii=False) + "\n")


def _selection(task: TaskSpec) -> dict:
    """The task's data selection as its JSON record holds it (tuples read back as lists)."""
    return json.loads(json.dumps(asdict(task.data)))


def score(plugins: PluginSet, backbone: SuiteBackbone, task: TaskSpec) -> dict:
    """Every estimator's score of ``backbone`` on ``task``'s training images (seed 0's draw):
    forward passes only."""
    train, _ = load_selection(plugins.datasets, task.data, seed=SCORED_SEED)
    features = backbone.features(train)
    scores = {"logme": logme(features.pooled, train.labels)}
    for name, (reads, estimator) in ESTIMATORS.items():
        scores[name] = estimator(getattr(features, reads), train.labels)
    return {
        "architecture": backbone.arch.name, "variant": backbone.variant, "sha256": backbone.checksum,
        "suite": backbone.suite.name, "task": task.name, "selection": _selection(task), "seed": SCORED_SEED,
        "images": len(train), "version": VERSION, "scores": {name: round(float(value), 6) for name, value in scores.items()},
    }  # fmt: skip


def _source_model(pretraining: dict) -> dict:
    """What a reader weighs a backbone's scores by: its source model's test top-1, and whether
    it stopped by its validation plateau or at its epoch cap, and then how many learning-rate
    decays it had spent (a source capped in its last stage is all but converged; one capped
    before its first decay is a weaker network than its architecture makes)."""
    keys = ("source_test_accuracy", "epochs", "epoch_cap", "best_epoch", "stopped_early")
    factors = [epoch["lr_factor"] for epoch in pretraining.get("curve") or []]
    decays = sum(later < earlier for earlier, later in zip(factors, factors[1:])) if factors else None
    return {**{key: pretraining.get(key) for key in keys}, "decays_spent": decays}


def logme_agreement(
    plugins: PluginSet,
    suite: SuiteSpec | str,
    results: Path | Sequence[Path],
    scores: Path,
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
) -> list[dict]:
    """Kendall's τ, per task of ``suite``, between each transferability estimator (LogME and
    those of :mod:`zoo.studies.transferability`) and measured fine-tuned accuracy.

    First every backbone with weights in the local store (of ``archs``, if given) is scored
    on every task where ``scores`` (a :class:`ScoreFile`) lacks it. Then, for every task with
    at least two architectures both measured and scored: each architecture's scores, those of
    the weights file its cells started from, against its best mean top-1 over the strategies
    that start from pretrained weights. τ = 1 means the estimator ranks the backbones exactly
    as fine-tuning did; with n backbones, τ can reach p < 0.05 (two-sided) only from n = 5
    on, so the p-value is reported beside it. A measured architecture without scores for its
    weights, or whose cells started from more than one file, is listed as left out. Each
    backbone's source model comes beside its scores (:func:`_source_model`).
    ``results`` is one results database or several (a cell stored in more than one counts once).
    """
    suite = plugins.suites.get(suite) if isinstance(suite, str) else suite
    databases = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    for database in databases:
        if not database.is_file():
            raise ZooError(f"no results database at {database}; run `zoo bench` first")
    fine_tuned = {s.name for s in plugins.strategies if s.pretrained}
    stored = {r.key: r for database in databases for r in read_results(database)}
    cells, _ = reported_cells(r for r in stored.values() if r.suite == suite.name and r.strategy in fine_tuned)
    if archs:
        cells = [c for c in cells if c.architecture in archs]
    measured_with: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    source: dict[str, dict] = {}  # sha256 -> how its source model was trained, as its cells recorded it
    for cell in cells:
        weights = weights_sha256(cell) or cell.weights
        measured_with[cell.task, cell.architecture].add(weights)
        if weights not in source:
            source[weights] = _source_model(cell.pretraining or {})
    best: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
    for row in accuracy_rows(cells):
        task, arch, mean = row["task"], row["architecture"], row["top1_mean_pct"] / 100
        if mean > best[task].get(arch, (-1.0, ""))[0]:
            best[task][arch] = (mean, row["strategy"])

    score_file = ScoreFile(scores)
    device = device or select_device()
    local = [a for a in available_architectures(plugins, suite, precision=precision(device)) if not archs or a in archs]
    for arch in local:
        backbone = load_backbone(suite, plugins.architectures.get(arch), device)
        for task in suite.tasks:
            if score_file.get(backbone.checksum, suite, task) is None:
                score_file.add(score(plugins, backbone, task))

    report = []
    for task in suite.tasks:
        paired, left_out = {}, {}
        for arch in sorted(best.get(task.name, {})):
            shas = measured_with[task.name, arch]
            record = score_file.get(next(iter(shas)), suite, task) if len(shas) == 1 else None
            if record is not None:
                paired[arch] = record
            else:
                left_out[arch] = (
                    f"its cells started from {len(shas)} weights files" if len(shas) > 1
                    else f"no scores for its weights (sha256 {str(next(iter(shas)))[:8]}…) in {score_file.path}"
                )
        if len(paired) < 2:
            continue
        names = list(paired)
        accuracy = [best[task.name][a][0] for a in names]
        estimators = list(paired[names[0]]["scores"])
        values = {e: [paired[a]["scores"][e] for a in names] for e in estimators}
        agreement = {e: kendalltau(values[e], accuracy) for e in estimators}
        report.append(
            {
                "task": task.name,
                "quadrant": task.quadrant,
                "architectures": names,
                "sha256": [paired[a]["sha256"] for a in names],
                "best_top1": [round(v, 4) for v in accuracy],
                "best_strategy": [best[task.name][a][1] for a in names],
                "source": [source[paired[a]["sha256"]] for a in names],
                "scores": {e: [round(v, 4) for v in values[e]] for e in estimators},
                "kendall_tau": {e: float(result.statistic) for e, result in agreement.items()},
                "p_value": {e: float(result.pvalue) for e, result in agreement.items()},
                "left_out": left_out,
            }
        )
    return report


EXACT_UP_TO = 7  # backbones whose every ordering the pooled test enumerates (7! = 5,040); more are sampled
SAMPLED = 5_000


def pooled_agreement(report: list[dict]) -> dict[str, dict]:
    """Each estimator's mean Kendall's τ over the tasks of ``report`` (:func:`logme_agreement`),
    on the backbones every task has, with a permutation p-value.

    One task's τ over five backbones cannot reach p < 0.05 short of a perfect ranking; the
    suite's tasks together can. The null shuffles the backbones' scores *jointly* across
    tasks (one ordering for all of them): a backbone that scores high and fine-tunes well on
    every task counts once, not once per task, as independent shuffles per task would have it.
    Two-sided: the share of orderings whose mean |τ| reaches the observed one.
    """
    if not report:
        return {}
    common = sorted(set.intersection(*(set(t["architectures"]) for t in report)))
    if len(common) < 2:
        return {}
    tasks = []
    for t in report:
        index = [t["architectures"].index(a) for a in common]
        tasks.append(([t["best_top1"][i] for i in index], {e: [v[i] for i in index] for e, v in t["scores"].items()}))

    def mean_tau(estimator: str, order: Sequence[int]) -> float:
        return sum(kendalltau([scores[estimator][i] for i in order], accuracy).statistic for accuracy, scores in tasks) / len(tasks)

    n = len(common)
    if n <= EXACT_UP_TO:
        orders = list(itertools.permutations(range(n)))
    else:
        draw = random.Random(0)
        orders = [tuple(range(n))] + [tuple(draw.sample(range(n), n)) for _ in range(SAMPLED - 1)]
    pooled = {}
    for estimator in tasks[0][1]:
        observed = mean_tau(estimator, range(n))
        reached = sum(abs(mean_tau(estimator, order)) >= abs(observed) - 1e-12 for order in orders)
        pooled[estimator] = {"tau": observed, "p_value": reached / len(orders), "tasks": len(tasks), "backbones": common,
                             "exact": n <= EXACT_UP_TO}  # fmt: skip
    return pooled
