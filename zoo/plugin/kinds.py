"""The kinds of entry a plugin registers, declared once.

Each :class:`Kind` names its spec type, its registration hook, how an entry is checked, and
how ``zoo list`` and ``zoo info`` show one. The plugin set (:mod:`zoo.plugin.manager`), the
hook specifications (:mod:`zoo.plugin.hookspecs`), the snapshot ``zoo list`` answers from and
``zoo info`` are all driven by :data:`KINDS`: a new kind is one module of its own (its spec
type, ``validate``, ``describe``, ``render`` and ``summary``) and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.plugin import architecture, dataset, strategy, suite

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet


@dataclass(frozen=True)
class Kind:
    """One kind of registered entry."""

    singular: str  # in messages: "architecture"
    plural: str  # the plugin set's registry attribute and ``zoo list --kind``: "architectures"
    spec: type  # what a plugin registers, e.g. ArchitectureSpec
    validate: Callable[[Any, PluginSet], str | None]  # why an entry is malformed, or None
    describe: Callable[[PluginSet, Any, str], dict]  # ``zoo info``'s data: (plugins, entry, plugin name)
    render: Callable[[dict], str]  # ``zoo info``'s text from that data
    summary: Callable[[Any], dict]  # ``zoo list``'s columns besides name and plugin
    hook_doc: str  # the registration hook's documentation

    @property
    def hook(self) -> str:
        """The registration hook a plugin implements: ``zoo_register_<plural>``."""
        return f"zoo_register_{self.plural}"


ISOLATION = """Called for every plugin; return values are ignored. Each call runs on its own: if it
    raises, everything it added is withdrawn and the plugin is reported as failed, while the
    other plugins' entries stay. An entry that is malformed, or whose name another plugin
    already registered, is rejected alone and reported with both plugins' names."""

# In registration order: suites last, as they name data sets.
KINDS = (
    Kind(
        "architecture", "architectures", architecture.ArchitectureSpec,
        lambda spec, plugins: architecture.validate_spec(spec),
        architecture.describe, architecture.render, architecture.summary,
        f"""Register architectures by calling ``registry.add(ArchitectureSpec(...))``.

    :param registry: the architecture registry, seen through this plugin, so that every
        entry is recorded with the plugin that added it.

    {ISOLATION}
    """,
    ),
    Kind(
        "strategy", "strategies", strategy.StrategySpec,
        lambda spec, plugins: strategy.validate_strategy_spec(spec),
        strategy.describe, strategy.render, strategy.summary,
        f"""Register transfer strategies by calling ``registry.add(StrategySpec(...))``.

    :param registry: the strategy registry, seen through this plugin.

    A strategy is data (its phases); the training engine in :mod:`zoo.train.transfer` carries it
    out. {ISOLATION}
    """,
    ),
    Kind(
        "dataset", "datasets", dataset.DatasetSpec,
        lambda spec, plugins: dataset.validate_dataset_spec(spec),
        dataset.describe, dataset.render, dataset.summary,
        f"""Register data sets by calling ``registry.add(DatasetSpec(...))``.

    :param registry: the data set registry, seen through this plugin.

    Loading images happens later, in ``DatasetSpec.load``; registering must stay cheap.
    {ISOLATION}
    """,
    ),
    Kind(
        "suite", "suites", suite.SuiteSpec,
        suite.validate,
        suite.describe, suite.render, suite.summary,
        f"""Register suites by calling ``registry.add(SuiteSpec(...))``.

    :param registry: the suite registry, seen through this plugin.

    Called after every plugin registered its data sets, so a suite whose source or tasks name
    a data set no plugin registered is refused with that reason. {ISOLATION}
    """,
    ),
)
