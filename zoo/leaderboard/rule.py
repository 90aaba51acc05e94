"""The size–similarity rule of thumb: which strategy it picks for a quadrant.

One function, :func:`rule_of_thumb`, serves the leaderboard's verdict (among the strategies
measured on a task) and ``zoo recommend`` (among the registered strategies). A strategy is
recommended in the quadrants its registered ``quadrants`` name. When several name the same
quadrant, the seed strategies come first (``full``, ``partial``, ``linear_probe``: each names
its own quadrants, only ``partial`` names two), then the others by natural name order, so a
plugin strategy that also names Q4 never displaces ``linear_probe``.

A seed strategy that is no longer registered keeps the place DESIGN's table gives it (Q1
``full``, Q2 and Q3 ``partial``, Q4 ``linear_probe``), so old results keep their verdict; any
other unregistered name, and every variant (``partial:k=3``), is recommended nowhere: the
rule names strategies, not their variants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from zoo.plugin.registry import natural_key

SEED_STRATEGIES = ("full", "partial", "linear_probe")  # preferred, in this order, when several strategies name a quadrant
DESIGN_RULE = {"full": ("Q1",), "partial": ("Q2", "Q3"), "linear_probe": ("Q4",)}  # DESIGN's table, for seed strategies no longer registered


def strategy_quadrants(name: str, registered: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Quadrants the rule of thumb recommends ``name`` in: the registered strategy's, else
    DESIGN's table for a seed strategy; a variant or an unknown name: none."""
    if name in registered:
        return tuple(registered[name])
    return DESIGN_RULE.get(name, ())


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
