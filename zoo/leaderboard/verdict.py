"""The verdict: which strategy won each task setting, does the rule of thumb agree, and how sure is it.

Per task setting, once per architecture and once overall:

- *measured*: the strategy with the highest mean top-1; a tie goes to the strategy the rule
  recommends, then to the name that sorts first;
- *recommended*: the rule of thumb's pick among the strategies present
  (:func:`zoo.matrix.rule_of_thumb`);
- *margin*: in points, the winner's mean top-1 minus the recommended strategy's when they
  disagree, or minus the runner-up's when they agree (how clearly the rule's pick won), over
  the seeds both have;
- *interval*: a 95% confidence interval of that margin, paired, over the seeds and the test
  images, widened for the choice of the winner among the strategies measured
  (:mod:`zoo.leaderboard.confidence`); the verdict is *decisive* only when it lies above zero;
- the *overall* line takes, per strategy, the mean of its mean top-1 over the architectures
  measured, and speaks for those architectures alone.

The full account is in :mod:`zoo.leaderboard.tables`' docstring.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from zoo.leaderboard.confidence import Interval, SeedRun, margin_interval
from zoo.leaderboard.tables import TASK_FIELDS, group_of, task_key, task_order
from zoo.matrix import RULE, rule_of_thumb
from zoo.names import natural_key
from zoo.results.codec import decode_correct
from zoo.results.schema import CellResult
from zoo.results.sweep import group_key

# Seeds both strategies need before a verdict can be decisive. With two, the interval's t on one
# degree of freedom still let equally good strategies be called decisive 6.2-9.7% of the time;
# with three, 3.0-4.0% on the committed run's four task shapes (`make benchmark`:
# tests/benchmarks/test_verdict_calibration.py, leaderboards/calibration.md).
MIN_SEEDS = 3
OVERALL = "all architectures"  # the scope of a verdict's overall line
VERDICT_RULE = (  # shown under the verdict table
    "Won: the highest mean top-1. Rule: the strategy whose registered quadrants name the task's quadrant "
    "(the rule of thumb: Q1 full, Q2 partial, Q3 partial or deeper, Q4 linear_probe; the seed strategies first). "
    "The margin is the winner's lead over the rule's pick when they disagree, over the runner-up when they agree, "
    "on the seeds both have, with a 95% confidence interval: paired Student's t over the seeds both strategies have, "
    "with the test images' sampling variance added (Welch-Satterthwaite degrees of freedom), each tail 5% divided by "
    "the number of strategies the winner was chosen among, so that equally good strategies are called decisive at most "
    f"5% of the time; it is decisive only when the interval lies above zero and rests on {MIN_SEEDS} seeds or more. "
    "Without per-image results the interval is over the seeds alone, and with a single seed there is none. The overall line compares each strategy's mean over "
    "the architectures measured: it speaks for those architectures, not for others."
)


@dataclass(frozen=True)
class Contender:
    """One strategy's accuracy in one verdict's scope."""

    strategy: str
    mean: float  # mean top-1, percent
    seeds: int
    runs: tuple[Mapping[int, SeedRun], ...] = ()  # per architecture of the scope (one for an architecture's own verdict): seed → its run
    # The architectures whose learning-rate sweep chose the highest or lowest rate tried, with
    # that edge: its best rate may lie beyond, so a verdict about it is never called decisive.
    untuned: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Decision:
    """The verdict in one scope: who won, the rule's pick, and how sure the margin between them is."""

    measured: str  # the winner: the highest mean top-1
    measured_top1_pct: float
    recommended: str | None  # the rule of thumb's pick among the strategies present; None: none names the quadrant
    recommended_top1_pct: float | None
    agree: bool | None  # the winner is the rule's pick (None: the rule picks none of them)
    compared_with: str | None  # the rule's pick when they disagree, the runner-up when they agree
    margin_points: float | None  # the winner's lead over compared_with, over the seeds both have
    ci_low_points: float | None  # its 95% interval
    ci_high_points: float | None
    decisive: bool | None  # the interval lies above zero (None: it cannot be called)
    seeds: int
    test_images: int | None
    verdict: str  # all of it in words


@dataclass(frozen=True)
class Verdict(Decision):
    """A verdict row of the leaderboard: a task setting, the scope it speaks for (an
    architecture, or :data:`OVERALL`), and its :class:`Decision`."""

    suite: str
    task: str
    quadrant: str
    epochs: int | None
    scope: str

    @property
    def setting(self) -> tuple:
        """The task setting it belongs to: (suite, task, quadrant, epochs), as :func:`task_key`."""
        return tuple(getattr(self, f) for f in TASK_FIELDS)

    def row(self) -> dict:
        """The verdict table's row: the task setting and scope first, as the board shows them."""
        fields = asdict(self)
        return {name: fields[name] for name in (*TASK_FIELDS, "scope", *Decision.__dataclass_fields__)}


def decide(
    contenders: Sequence[Contender], quadrant: str, rule: Mapping[str, Sequence[str]], wins: Mapping[str, int] | None = None
) -> Decision:
    """The verdict for one scope: the measured winner, the rule's pick, the margin between
    them (or to the runner-up when they agree), its 95% confidence interval and whether it
    is decisive (the interval lies above zero).

    :param wins: for a scope of several architectures, on how many of them each strategy was
        the best: the verdict then says it is a mean over these architectures, won on k of N.
    """
    recommended, _ = rule_of_thumb(quadrant, rule, [c.strategy for c in contenders])
    ranked = sorted(contenders, key=lambda c: (-c.mean, c.strategy != recommended, natural_key(c.strategy)))
    winner = ranked[0]
    pick = next((c for c in contenders if c.strategy == recommended), None)
    other = (ranked[1] if len(ranked) > 1 else None) if pick is winner else pick
    interval = margin_interval(winner.runs, other.runs, contenders=len(contenders)) if other else None
    # Paired, as the interval is: over the seeds both strategies have (every seed, once each
    # cell of the setting has all of them).
    margin = (interval.estimate if interval.estimate is not None else winner.mean - other.mean) if other else None
    untuned = [(c.strategy, arch, edge) for c in (winner, other) if c is not None for arch, edge in c.untuned]
    called = interval is not None and interval.known and interval.seeds >= MIN_SEEDS and not untuned
    decisive = interval.low > 0 if called else None
    return Decision(
        measured=winner.strategy,
        measured_top1_pct=winner.mean,
        recommended=recommended,
        recommended_top1_pct=pick.mean if pick else None,
        agree=None if recommended is None else winner is pick,
        compared_with=other.strategy if other else None,
        margin_points=margin,
        ci_low_points=interval.low if interval else None,
        ci_high_points=interval.high if interval else None,
        decisive=decisive,
        seeds=interval.seeds if interval else winner.seeds,
        test_images=interval.images if interval else None,
        verdict=_verdict_text(winner, pick, other, quadrant, margin, interval, decisive, wins, untuned),
    )


def _verdict_text(winner, pick, other, quadrant, margin, interval: Interval | None, decisive, wins, untuned) -> str:
    if other is None:
        return f"only {winner.strategy} was measured"
    if pick is None:
        head = f"no strategy measured here is the rule's pick for {quadrant}; {winner.strategy} led {other.strategy}"
    elif pick is winner:
        head = f"agree: {winner.strategy} led {other.strategy}"
    else:
        head = f"disagree: {winner.strategy} beat the rule's {pick.strategy}"
    head += f" by {margin:.2f} points"
    if wins is not None:
        archs = len(winner.runs)
        head += f", a mean over these {archs} architectures; the best on {wins.get(winner.strategy, 0)} of {archs}"
    if not interval.known:
        if interval.seeds == 0:
            return head + "; no seed measured for both: interval unknown"
        return head + "; one seed: interval unknown"
    over = "" if interval.images else ", seeds alone: no per-image results"
    if interval.seeds < max(winner.seeds, other.seeds):
        over += f", on the {interval.seeds} seeds both have"
    if interval.seeds < MIN_SEEDS:
        return head + f" (95% CI {interval.low:.2f} to {interval.high:.2f}{over}): {interval.seeds} seeds, too few to call it decisive"
    if untuned:
        where = "; ".join(f"{strategy} on {arch} at the {edge.split()[0]} rate tried" for strategy, arch, edge in untuned)
        return head + f" (95% CI {interval.low:.2f} to {interval.high:.2f}{over}): {where}, perhaps under-tuned: not called decisive"
    return head + f" (95% CI {interval.low:.2f} to {interval.high:.2f}{over}): {'decisive' if decisive else 'not decisive'}"


def seed_runs(cells: Iterable[CellResult]) -> dict[tuple, dict[int, SeedRun]]:
    """The ``ok`` cells by (task setting, architecture, strategy): seed → its top-1 and, where
    stored, its per-image correctness (``test_correct`` over ``test_images``)."""
    runs: dict[tuple, dict[int, SeedRun]] = defaultdict(dict)
    for cell in (c for c in cells if c.status == "ok"):
        stored = cell.test_correct and cell.test_images
        try:
            correct = decode_correct(cell.test_correct, cell.test_images) if stored else None
        except ValueError:  # unreadable: the interval falls back to the seeds, and says so
            correct = None
        runs[group_of(cell)][cell.seed] = SeedRun(cell.top1, correct)
    return runs


def verdict_rows(
    accuracy: Sequence[Mapping], cells: Iterable[CellResult], rule: Mapping[str, Sequence[str]], edges: Mapping[str, str] | None = None
) -> tuple[list[Verdict], list[str]]:
    """Per task setting: one verdict per architecture, then the overall one; and notes on
    strategies the overall line had to leave out. ``cells`` are the rows ``accuracy`` was
    computed from, for the intervals; ``edges`` marks the sweep groups whose rate is on the
    edge of those tried (:func:`zoo.results.sweep.edges`)."""
    cells, edges = list(cells), edges or {}
    runs = seed_runs(cells)
    marked = {group_of(c): edges[group_key(c.config)] for c in cells if group_key(c.config) in edges}
    by_task: dict[tuple, dict[str, dict[str, Contender]]] = defaultdict(lambda: defaultdict(dict))
    for row in accuracy:
        key = (*task_key(row), row["architecture"], row["strategy"])
        untuned = ((row["architecture"], marked[key]),) if key in marked else ()
        by_task[task_key(row)][row["architecture"]][row["strategy"]] = Contender(
            row["strategy"], row["top1_mean_pct"], row["seeds"], (runs.get(key, {}),), untuned
        )
    verdicts, notes = [], []
    for key in sorted(by_task, key=task_order):
        quadrant = key[2]
        task = dict(zip(TASK_FIELDS, key, strict=True))
        archs = by_task[key]
        ordered = sorted(archs, key=lambda a: natural_key(str(a)))
        for arch in ordered:
            verdicts.append(Verdict(**asdict(decide(list(archs[arch].values()), quadrant, rule)), **task, scope=arch))
        if len(archs) < 2:
            continue
        everywhere = set.intersection(*(set(s) for s in archs.values()))
        left_out = set.union(*(set(s) for s in archs.values())) - everywhere
        if left_out:
            notes.append(
                f"{key[1]} ({key[0]}): the overall verdict leaves out {', '.join(sorted(left_out, key=natural_key))}, "
                "not measured on every architecture"
            )
        if everywhere:
            overall = [_overall(name, [archs[a][name] for a in ordered]) for name in everywhere]
            wins = Counter(v.measured for v in verdicts if v.setting == key and v.scope != OVERALL)
            verdicts.append(Verdict(**asdict(decide(overall, quadrant, rule, wins)), **task, scope=OVERALL))
    return verdicts, notes


def deciding_verdicts(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Per task setting, the verdict that answers it: the one over all architectures, or,
    where a single architecture was measured, that architecture's own."""
    by_setting: dict[tuple, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        by_setting[verdict.setting].append(verdict)
    deciding = []
    for scoped in by_setting.values():
        deciding += [v for v in scoped if v.scope == OVERALL] or (scoped if len(scoped) == 1 else [])
    return deciding


def _overall(strategy: str, per_arch: Sequence[Contender]) -> Contender:
    """A strategy over architectures: the mean of its means, and every architecture's runs."""
    return Contender(
        strategy,
        statistics.fmean(c.mean for c in per_arch),
        min(c.seeds for c in per_arch),
        tuple(run for c in per_arch for run in c.runs),
        tuple(mark for c in per_arch for mark in c.untuned),
    )


def registration_notes(strategies: Iterable[str], rule: Mapping[str, Sequence[str]]) -> list[str]:
    """A note for each strategy in the results that no plugin registers any more."""
    notes = []
    for name in sorted(set(strategies), key=natural_key):
        base = name.partition(":")[0]
        if base in rule:
            continue
        if name in RULE:
            notes.append(f"strategy {name!r} is no longer registered; it keeps the rule of thumb's place for it ({', '.join(RULE[name])})")
        else:
            notes.append(f"strategy {name!r} is no longer registered; the rule of thumb recommends it nowhere")
    return notes
