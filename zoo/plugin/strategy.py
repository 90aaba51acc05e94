"""The strategy kind: what trains, at which learning rate, in which phases.

A strategy is data, a :class:`StrategySpec` of one or more :class:`Phase` s, so that every
strategy runs through the same engine (:mod:`zoo.train.transfer`) and costs the same to measure.
What a phase trains is said in terms of the backbone's stages (:func:`zoo.stages`), which is
what lets one strategy apply to a VGG, a GoogLeNet and a ResNet alike:

* ``"head"``: the classifier alone (a linear probe of the pooled features);
* an integer *k*: the top *k* body stages and the classifier side (VGG's fc6/fc7 included);
* ``"all"``: every stage.

A strategy may take options, written after its name: ``partial:k=3`` is ``partial`` with
its top three body stages trained. The variant is a strategy of its own, named in full, so
its cells and results never mix with the default's.

Finer than stages, a phase may train selections of parameters (:class:`Select`): by stage, by
parameter name and by the kind of module that owns them, several selections adding up. So
``bitfit`` trains ``(Select(names=("bias",)), Select("head"))``: every bias, and the new
classifier. Whatever a phase selects, the lowest stages holding none of it form a frozen
prefix, which the engine caches as it does for ``partial``.

A strategy may add a term to the training loss (``penalty``): ``l2_sp`` pulls the
weights toward their pretrained values with it.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

import torch
from torch import nn

from zoo.errors import ZooError
from zoo.matrix import unknown_quadrants
from zoo.models.backbone import Stage, stage_parameters, stages
from zoo.plugin.registry import Registry

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

CLASSIFIER_SIDE = ("pre_logits", "head")
NORM_STATS = ("batch", "frozen")
# The kinds of module a Select may name; any other name is matched against the module's class
# and its bases ("BatchNorm2d").
MODULE_KINDS = {
    "norm": "normalisation-layer",
    "conv": "convolution",
    "linear": "linear-layer",
}
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.RMSNorm)


def is_norm(module: nn.Module) -> bool:
    """A normalisation layer: torch's, or one named like them (timm's ``EvoNorm2dS0``,
    ``FrozenBatchNorm2d``)."""
    return isinstance(module, _NORM_TYPES) or "Norm" in type(module).__name__


def _is_kind(module: nn.Module, kind: str) -> bool:
    if kind == "norm":
        return is_norm(module)
    if kind == "conv":
        return isinstance(module, nn.modules.conv._ConvNd)
    if kind == "linear":
        return isinstance(module, nn.Linear)
    return any(cls.__name__ == kind for cls in type(module).__mro__)


def frozen_prefix(net: nn.Module, trained: set[str]) -> int:
    """How many of the lowest stages of ``net`` hold none of the ``trained`` parameters."""
    for count, stage in enumerate(stages(net)):
        if trained.intersection(stage_parameters(net, stage)):
            return count
    return len(stages(net))


def _stage_span(stages_: int | str, stage_list: list[Stage]) -> range:
    """The indices of the stages ``stages_`` names ("all", "head", or the top k body stages
    and the classifier side)."""
    if stages_ == "all":
        return range(len(stage_list))
    if stages_ == "head":
        return range(len(stage_list) - 1, len(stage_list))
    body = sum(1 for s in stage_list if s.name not in CLASSIFIER_SIDE)
    return range(body - min(int(stages_), body), len(stage_list))


@dataclass(frozen=True)
class Select:
    """Parameters chosen by stage, name and owning module: those meeting every condition given.

    ``Select("head")`` is the classifier; ``Select(names=("bias",))`` every bias;
    ``Select(2, modules=("norm",))`` the normalisation layers' parameters in the top two body
    stages and the classifier side.
    """

    stages: int | str = "all"  # "all", "head", or the top k body stages and the classifier side
    names: tuple[str, ...] = ()  # shell patterns on the parameter's own name ("bias") or its full one ("layer4.*"); () any
    modules: tuple[str, ...] = ()  # kinds of the module owning it ("norm", "conv", "linear") or class names; () any

    def parameters(self, net: nn.Module) -> list[str]:
        """The full names of the parameters of ``net`` this selects, in the network's order."""
        stage_list = stages(net)
        chosen = []
        for index in _stage_span(self.stages, stage_list):
            for name in stage_parameters(net, stage_list[index]):
                owner_path, _, own = name.rpartition(".")
                if self.names and not any(fnmatchcase(own, p) or fnmatchcase(name, p) for p in self.names):
                    continue
                if self.modules and not any(_is_kind(net.get_submodule(owner_path), k) for k in self.modules):
                    continue
                chosen.append(name)
        return chosen

    def describe(self) -> str:
        top = "top stage" if self.stages == 1 else f"top {self.stages} stages"
        where = {"all": "every stage", "head": "the classifier"}.get(self.stages, f"{top} + classifier side")
        if not self.names and not self.modules:
            return where
        what = " or ".join(MODULE_KINDS.get(k, k) for k in self.modules) + " parameters" if self.modules else "parameters"
        if self.names:
            what += " named " + " or ".join(self.names)
        return f"{what} in {where}"

    def problem(self) -> str | None:
        if self.stages not in ("head", "all") and not (isinstance(self.stages, int) and self.stages >= 0):
            return f"stages must be 'head', 'all' or a count of stages, got {self.stages!r}"
        if not all(isinstance(x, str) for x in (*self.names, *self.modules)):
            return "names and modules must be tuples of strings"
        return None


@dataclass(frozen=True)
class Phase:
    """One stretch of training within a strategy."""

    trainable: int | str | Select | tuple[Select, ...] = "all"  # "head", "all", top k stages, or selections (added up)
    share: float = 1.0  # fraction of the cell's epochs this phase gets
    backbone_lr: float = 1.0  # learning-rate multiplier for every trained stage but the classifier (the pretrained ones)
    layer_decay: float | None = None  # each trained body stage d stages below the top gets lr × decay**d
    augment: bool = False  # random translation (and flips where the data allow)
    backbone_weight_decay: float | None = None  # weight decay of every stage but the classifier; None: the recipe's
    # "batch": normalisation layers above the frozen prefix normalise with each batch's statistics
    # and update their running ones, as in training; "frozen": they keep their running statistics.
    norm_stats: str = "batch"

    def selections(self) -> tuple[Select, ...]:
        """``trainable`` as selections: a stage shorthand is the selection of those stages."""
        if isinstance(self.trainable, Select):
            return (self.trainable,)
        if isinstance(self.trainable, tuple):
            return self.trainable
        return (Select(self.trainable),)

    def trained_parameters(self, net: nn.Module) -> list[str]:
        """The full names of the parameters this phase trains, in the network's order."""
        chosen = {name for select in self.selections() for name in select.parameters(net)}
        return [name for name, _ in net.named_parameters() if name in chosen]

    def frozen_count(self, net: nn.Module) -> int:
        """How many of the lowest stages hold no parameter this phase trains: the frozen prefix."""
        return frozen_prefix(net, set(self.trained_parameters(net)))

    def describe(self) -> str:
        """What trains, and how, in words: ``zoo info``'s line for the phase."""
        trained = " + ".join(select.describe() for select in self.selections())
        pretrained = [f"×{self.backbone_lr} lr"] if self.backbone_lr != 1 else []
        pretrained += [f"weight decay {self.backbone_weight_decay:g}"] if self.backbone_weight_decay is not None else []
        extras = [f"pretrained stages at {', '.join(pretrained)}"] if pretrained else []
        extras += [f"×{self.layer_decay} per stage below"] if self.layer_decay else []
        extras += ["normalisation statistics frozen"] if self.norm_stats == "frozen" else []
        extras += ["augmented"] if self.augment else []
        return trained + (f" ({', '.join(extras)})" if extras else "")


@dataclass(frozen=True)
class StrategySpec:
    """A registered transfer strategy."""

    name: str  # registry name ("linear_probe")
    description: str  # one line for listings
    phases: tuple[Phase, ...]  # run in order; their shares add up to 1
    pretrained: bool = True  # start from pretrained weights (False: random initialisation)
    quadrants: tuple[str, ...] = ()  # where the size–similarity rule of thumb recommends it
    paper: str = ""  # title and link of the paper it comes from, if any
    setup: Callable[[nn.Module], None] | None = None  # adjusts the model before training (re-initialise a block, add dropout…)
    # Given the model as training starts (after setup), the term to add to every training step's
    # loss, as a function of the model: a regulariser such as l2_sp's.
    penalty: Callable[[nn.Module], Callable[[nn.Module], torch.Tensor]] | None = None
    configure: Callable[..., StrategySpec] | None = None  # builds the variant NAME:key=value names (keywords: the options)
    # The learning-rate sweep's centre, times the recipe's rate: training the classifier alone
    # (or little more) wants a rate several times full fine-tuning's, and a sweep that starts
    # from full fine-tuning's ends on its highest rate, the strategy under-tuned.
    lr_scale: float = 1.0

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


def resolve_strategy(strategies: Registry[StrategySpec], name: str) -> StrategySpec:
    """The strategy ``name`` in ``strategies`` (the plugin set's registry), or the variant
    ``base:key=value[:key=value…]`` names."""
    base_name, *written = name.split(":")
    base = strategies.get(base_name)
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
    if isinstance(spec.lr_scale, bool) or not isinstance(spec.lr_scale, int | float) or not spec.lr_scale > 0:
        return f"lr_scale must be a positive number, got {spec.lr_scale!r}"
    if not spec.phases or not all(isinstance(p, Phase) for p in spec.phases):
        return "phases must be a non-empty tuple of Phase"
    if abs(sum(p.share for p in spec.phases) - 1) > 1e-6:
        return f"phase shares add up to {sum(p.share for p in spec.phases)}, not 1"
    for phase in spec.phases:
        if isinstance(phase.trainable, tuple):
            if not phase.trainable or not all(isinstance(select, Select) for select in phase.trainable):
                return f"trainable must be 'head', 'all', a count of stages, or Select(s); got {phase.trainable!r}"
        elif isinstance(phase.trainable, bool) or not isinstance(phase.trainable, int | str | Select):
            return f"trainable must be 'head', 'all', a count of stages, or Select(s); got {phase.trainable!r}"
        for select in phase.selections():
            problem = select.problem()
            if problem:
                return f"trainable: {problem}"
        if phase.norm_stats not in NORM_STATS:
            return f"norm_stats must be one of {', '.join(NORM_STATS)}, got {phase.norm_stats!r}"
    for hook in ("setup", "penalty"):
        if getattr(spec, hook) is not None and not callable(getattr(spec, hook)):
            return f"{hook} must be callable"
    unknown = unknown_quadrants(spec.quadrants)
    if unknown:
        return f"unknown quadrants {unknown}"
    return None


def describe(plugins: PluginSet, spec: StrategySpec, plugin: str) -> dict:
    """What ``zoo info`` reports about a strategy: its phases and where it is recommended."""
    return {
        "name": spec.name,
        "kind": "strategy",
        "plugin": plugin,
        "description": spec.description,
        "pretrained": spec.pretrained,
        "quadrants": list(spec.quadrants),
        "paper": spec.paper,
        "phases": [{**asdict(phase), "trains": phase.describe()} for phase in spec.phases],
        "penalty": spec.penalty is not None,
        "lr_scale": spec.lr_scale,
        "options": {name: default for name, default in spec.options().items()},
    }


def render(info: dict) -> str:
    """``zoo info``'s text for a strategy, from :func:`describe`'s data."""
    lines = [
        f"{info['name']} — {info['description']}",
        f"  plugin:       {info['plugin']}",
        f"  starts from:  {'pretrained weights' if info['pretrained'] else 'random initialisation'}",
        f"  recommended:  {', '.join(info['quadrants']) or 'in no quadrant (a baseline)'}",
    ]
    lines += [f"  paper:        {info['paper']}"] if info["paper"] else []
    lines += ["  loss:         cross-entropy + the strategy's penalty on the weights"] if info["penalty"] else []
    lines += [f"  lr sweep:     centred on ×{info['lr_scale']:g} the recipe's rate"] if info["lr_scale"] != 1 else []
    lines.append("  phases:")
    lines += [f"    {phase['share']:.0%} of epochs: {phase['trains']}" for phase in info["phases"]]
    if info["options"]:
        written = ":".join(f"{k}=VALUE" for k in info["options"])
        defaults = ", ".join(f"{k}={v}" for k, v in info["options"].items())
        lines.append(f"  options:      {info['name']}:{written} (default {defaults})")
    return "\n".join(lines)


def summary(spec: StrategySpec) -> dict:
    """The columns ``zoo list`` shows for a strategy besides its name and plugin."""
    return {"quadrants": ",".join(spec.quadrants) or "-", "description": spec.description}
