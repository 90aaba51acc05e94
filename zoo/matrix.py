"""The size–similarity matrix: its quadrants, their axes, and the rule of thumb's pick in each.

Transfer learning's rule of thumb sorts a target data set along two axes, its size (images per
class against a threshold) and its similarity to the source domain, and recommends a strategy
for each of the four quadrants:

==== ===================== ==========================================================
Q1   large, different      train the entire model, initialised from the pretrained weights
Q2   large, similar        train the top stages and the classifier, freeze the lower ones
Q3   small, different      train some stages (deeper than in Q2), with data augmentation
Q4   small, similar        freeze the convolutional base, train a new classifier
==== ===================== ==========================================================

Suites tag their tasks with a quadrant, strategies name the quadrants they are recommended
in, the leaderboard's verdict compares the rule's pick with the measured winner, and
``zoo recommend`` places a team's folder in a quadrant: all of them through this module.

One function, :func:`rule_of_thumb`, serves the leaderboard's verdict (among the strategies
measured on a task) and ``zoo recommend`` (among the registered strategies). A strategy is
recommended in the quadrants its registered ``quadrants`` name. When several name the same
quadrant, the seed strategies come first (``full``, ``partial``, ``linear_probe``: each names
its own quadrants, only ``partial`` names two), then the others by natural name order, so a
plugin strategy that also names Q4 never displaces ``linear_probe``.

A seed strategy that is no longer registered keeps the place the table above gives it (Q1
``full``, Q2 and Q3 ``partial``, Q4 ``linear_probe``), so old results keep their verdict; any
other unregistered name, and every variant (``partial:k=3``), is recommended nowhere: the
rule names strategies, not their variants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from zoo.names import natural_key

SIZES = ("large", "small")  # below the suite's small_threshold images per class: small
SIMILARITIES = ("different", "similar")  # to the source domain: do the pretrained features already fit?
QUADRANTS = {
    ("large", "different"): "Q1",
    ("large", "similar"): "Q2",
    ("small", "different"): "Q3",
    ("small", "similar"): "Q4",
}
NAMES = tuple(QUADRANTS.values())  # "Q1" … "Q4"
# Where each quadrant sits when the matrix is drawn as the rule of thumb draws it, (row,
# column): similarity grows to the right, size upwards, so Q1…Q4 read left to right, top to bottom.
POSITIONS = {quadrant: (SIZES.index(size), SIMILARITIES.index(similarity)) for (size, similarity), quadrant in QUADRANTS.items()}


def unknown_quadrants(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are no quadrant, sorted (for messages)."""
    return sorted(set(names) - set(NAMES))


SEED_STRATEGIES = ("full", "partial", "linear_probe")  # preferred, in this order, when several strategies name a quadrant
RULE = {"full": ("Q1",), "partial": ("Q2", "Q3"), "linear_probe": ("Q4",)}  # the table above, for seed strategies no longer registered


def strategy_quadrants(name: str, registered: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Quadrants the rule of thumb recommends ``name`` in: the registered strategy's, else
    the table above for a seed strategy; a variant or an unknown name: none."""
    if name in registered:
        return tuple(registered[name])
    return RULE.get(name, ())


def _preference(name: str) -> tuple:
    seed = SEED_STRATEGIES.index(name) if name in SEED_STRATEGIES else len(SEED_STRATEGIES)
    return (seed, natural_key(name))


def rule_of_thumb(
    quadrant: str, registered: Mapping[str, Sequence[str]], present: Iterable[str] | None = None
) -> tuple[str | None, list[str]]:
    """The strategy the size–similarity rule picks for ``quadrant``, and the alternatives.

    :param registered: each registered strategy's name → the quadrants it names
        (``zoo.leaderboard.writers.strategy_rule()``).
    :param present: the strategies to choose among (those measured on a task); default
        every registered strategy.
    :returns: the pick (None when no candidate names the quadrant) and the other candidates
        naming it, in the rule's order: seed strategies first, then by natural name order.
    """
    candidates = set(registered if present is None else present)
    naming = sorted((s for s in candidates if quadrant in strategy_quadrants(s, registered)), key=_preference)
    return (naming[0] if naming else None), naming[1:]
