"""Transfer strategies: what trains, at which learning rate, in which phases.

A strategy is data, a :class:`StrategySpec` of one or more :class:`Phase` s, so that every
strategy runs through the same engine (:mod:`zoo.transfer`) and costs the same to measure.
What a phase trains is said in terms of the backbone's stages (:func:`zoo.stages`), which is
what lets one strategy apply to a VGG, a GoogLeNet and a ResNet alike:

* ``"head"``: the classifier alone (a linear probe of the pooled features);
* an integer *k*: the top *k* body stages and the classifier side (VGG's fc6/fc7 included);
* ``"all"``: every stage.

A strategy may take options, written after its name: ``partial:k=3`` is ``partial`` with
its top three body stages trained. The variant is a strategy of its own, named in full, so
its cells and results never mix with the default's.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from zoo.backbone import Stage
from zoo.errors import ZooError

CLASSIFIER_SIDE = ("pre_logits", "head")


@dataclass(frozen=True)
class Phase:
    """One stretch of training within a strategy."""

    trainable: int | str = "all"  # "head", "all", or the number of top body stages trained
    share: float = 1.0  # fraction of the cell's epochs this phase gets
    backbone_lr: float = 1.0  # learning-rate multiplier for trained stages below the classifier side
    layer_decay: float | None = None  # each trained body stage d stages below the top gets lr × decay**d
    augment: bool = False  # random translation (and flips where the data allow)

    def frozen_count(self, stage_list: list[Stage]) -> int:
        """How many of the lowest stages stay frozen in this phase."""
        if self.trainable == "all":
            return 0
        if self.trainable == "head":
            return len(stage_list) - 1
        body = sum(1 for s in stage_list if s.name not in CLASSIFIER_SIDE)
        return body - min(int(self.trainable), body)


@dataclass(frozen=True)
class StrategySpec:
    """A registered transfer strategy."""

    name: str  # registry name ("linear_probe")
    description: str  # one line for listings
    phases: tuple[Phase, ...]  # run in order; their shares add up to 1
    pretrained: bool = True  # start from pretrained weights (False: random initialisation)
    quadrants: tuple[str, ...] = ()  # where the size–similarity rule of thumb recommends it
    setup: Callable[[nn.Module], None] | None = None  # adjusts the model before training (re-initialise a block, add dropout…)
    configure: Callable[..., StrategySpec] | None = None  # builds the variant NAME:key=value names (keywords: the options)

    def options(self) -> dict[str, object]:
        """The options ``configure`` takes, with their defaults."""
        if self.configure is None:
            return {}
        return {p.name: p.default for p in inspect.signature(self.configure).parameters.values()}


def _option_value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def resolve_strategy(name: str) -> StrategySpec:
    """The registered strategy ``name``, or the variant ``base:key=value[:key=value…]`` names."""
    import zoo

    base_name, *written = name.split(":")
    base = zoo.get_zoo().strategies.get(base_name)
    if not written:
        return base
    accepted = base.options()
    if not accepted:
        raise ZooError(f"strategy {base_name!r} takes no options; use {base_name!r} alone")
    options = {}
    for item in written:
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in accepted:
            raise ZooError(
                f"bad option {item!r} for strategy {base_name!r}; it takes "
                + ", ".join(f"{k}=VALUE (default {v})" for k, v in accepted.items())
            )
        options[key.strip()] = _option_value(value.strip())
    try:
        variant = base.configure(**options)
    except (TypeError, ValueError) as exc:
        raise ZooError(f"strategy {name!r}: {exc}") from None
    problem = validate_strategy_spec(variant)
    if problem:
        raise ZooError(f"strategy {name!r}: {problem}")
    canonical = ":".join([base_name, *(f"{k}={v}" for k, v in sorted(options.items()))])
    return dataclasses.replace(variant, name=canonical, configure=None)


def validate_strategy_spec(spec: StrategySpec) -> str | None:
    if not spec.phases or not all(isinstance(p, Phase) for p in spec.phases):
        return "phases must be a non-empty tuple of Phase"
    if abs(sum(p.share for p in spec.phases) - 1) > 1e-6:
        return f"phase shares add up to {sum(p.share for p in spec.phases)}, not 1"
    for phase in spec.phases:
        if phase.trainable not in ("head", "all") and not (isinstance(phase.trainable, int) and phase.trainable >= 0):
            return f"trainable must be 'head', 'all' or a count of stages, got {phase.trainable!r}"
    if spec.setup is not None and not callable(spec.setup):
        return "setup must be callable"
    unknown = set(spec.quadrants) - {"Q1", "Q2", "Q3", "Q4"}
    if unknown:
        return f"unknown quadrants {sorted(unknown)}"
    return None
