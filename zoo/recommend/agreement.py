"""Does LogME rank backbones as fine-tuning does? Each estimator's agreement with measured accuracy.

``zoo recommend`` picks the backbone with the highest LogME (:mod:`zoo.recommend.advice`);
this is where that choice is checked, on the suite's own tasks where both are known: each
transferability estimator's scores (LogME and those of :mod:`zoo.recommend.transferability`)
against the best fine-tuned mean top-1 of each backbone, by Kendall's τ with its p-value.
``make ranking`` writes the report (``leaderboards/ranking.md``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from scipy.stats import kendalltau

from zoo.bench.pretrained import SuiteBackbone, load_backbone, stored_architectures
from zoo.bench.results import ResultsStore
from zoo.bench.suites import SuiteSpec, load_selection
from zoo.errors import ZooError
from zoo.leaderboard.tables import accuracy_rows, reported_cells
from zoo.recommend.logme import logme
from zoo.recommend.transferability import ESTIMATORS
from zoo.train.loop import precision, select_device

if TYPE_CHECKING:
    from zoo.plugin.manager import Zoo


def logme_agreement(
    plugins: Zoo,
    suite: SuiteSpec | str,
    results: Path | Sequence[Path],
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
) -> list[dict]:
    """Kendall's τ, per task of ``suite``, between each transferability estimator (LogME and
    those of :mod:`zoo.recommend.transferability`) and measured fine-tuned accuracy.

    For every task with at least two architectures measured: each architecture's scores on
    the task's training images (seed 0), against its best mean top-1 over the strategies
    that start from pretrained weights. τ = 1 means the estimator ranks the backbones
    exactly as fine-tuning did; with n backbones, τ can reach p < 0.05 (two-sided) only
    from n = 5 on, so the p-value is reported beside it. ``results`` is one results database
    or several (a cell stored in more than one counts once); ``archs`` defaults to those in
    the results with stored weights.
    """
    suite = plugins.suites.get(suite) if isinstance(suite, str) else suite
    databases = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    for database in databases:
        if not database.is_file():
            raise ZooError(f"no results database at {database}; run `zoo bench` first")
    fine_tuned = {s.name for s in plugins.strategies if s.pretrained}
    stored = {r.key: r for database in databases for r in ResultsStore(database).rows()}
    cells, _ = reported_cells(r for r in stored.values() if r.suite == suite.name and r.strategy in fine_tuned)
    measured_with: dict[str, set[str]] = defaultdict(set)
    for cell in cells:
        measured_with[cell.architecture].add((cell.pretraining or {}).get("sha256"))
    best: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
    for row in accuracy_rows(cells):
        task, arch, mean = row["task"], row["architecture"], row["top1_mean_pct"] / 100
        if mean > best[task].get(arch, (-1.0, ""))[0]:
            best[task][arch] = (mean, row["strategy"])
    device = device or select_device()
    wanted = set(archs) if archs else set(stored_architectures(plugins, suite, precision=precision(device)))
    backbones: dict[str, SuiteBackbone] = {}
    report = []
    for task in suite.tasks:
        measured_archs = sorted(a for a in best.get(task.name, {}) if a in wanted)
        if len(measured_archs) < 2:
            continue
        train, _ = load_selection(plugins.datasets, task.data, seed=0)
        scores: dict[str, list[float]] = defaultdict(list)
        for arch in measured_archs:
            if arch not in backbones:
                backbones[arch] = same_weights(load_backbone(suite, plugins.architectures.get(arch), device), measured_with[arch])
            features = backbones[arch].features(train)
            scores["logme"].append(logme(features.pooled, train.labels))
            for name, (reads, estimator) in ESTIMATORS.items():
                scores[name].append(estimator(getattr(features, reads), train.labels))
        accuracy = [best[task.name][a][0] for a in measured_archs]
        agreement = {name: kendalltau(values, accuracy) for name, values in scores.items()}
        report.append(
            {
                "task": task.name,
                "quadrant": task.quadrant,
                "architectures": measured_archs,
                "best_top1": [round(v, 4) for v in accuracy],
                "best_strategy": [best[task.name][a][1] for a in measured_archs],
                "scores": {name: [round(v, 4) for v in values] for name, values in scores.items()},
                "kendall_tau": {name: float(result.statistic) for name, result in agreement.items()},
                "p_value": {name: float(result.pvalue) for name, result in agreement.items()},
            }
        )
    return report


def same_weights(backbone: SuiteBackbone, measured_with: set[str | None]) -> SuiteBackbone:
    """``backbone``, when its weights are the file its fine-tuned cells started from.

    Scoring other weights than the ones fine-tuned compares two networks, not an estimator
    with its ground truth: a store rebuilt on another machine (whose kernels round
    differently) holds a different network under the same fingerprint.
    """
    if backbone.suite.source is not None and measured_with != {backbone.checksum}:
        shown = ", ".join(sorted(f"{sha[:8]}…" if sha else "unrecorded" for sha in measured_with))
        raise ZooError(
            f"{backbone.variant}: the local weights store holds sha256 {backbone.checksum[:8]}…, but its fine-tuned "
            f"cells were measured with {shown}; measure them again with these weights (`zoo bench --arch "
            f"{backbone.arch.name} --fresh --out DIR`, DIR the one holding them) or restore the file they started from"
        )
    return backbone
