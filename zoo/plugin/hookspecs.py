"""Hook specifications: every hook a zoo plugin can implement.

Plugins are modules (or objects) whose functions carry the :data:`zoo.hookimpl` marker and
are named after the hooks below. They are discovered through the ``zoo.plugins`` entry-point
group, the built-in ones included (see ``pyproject.toml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from zoo.plugin.registry import PluginRegistry

hookspec = pluggy.HookspecMarker("zoo")

ENTRY_POINT_GROUP = "zoo.plugins"  # where plugins are discovered, the built-in ones included
DISABLE_ENV = "ZOO_DISABLE_PLUGINS"  # comma-separated plugin names to skip

# -------------------------------------------------------------------------
# Registration hooks: called once per plugin when the zoo is loaded.
# -------------------------------------------------------------------------


@hookspec
def zoo_register_architectures(registry: PluginRegistry) -> None:
    """Register architectures by calling ``registry.add(ArchitectureSpec(...))``.

    :param registry: the architecture registry, seen through this plugin, so that every
        entry is recorded with the plugin that added it.

    Called for every plugin; return values are ignored. Each call runs on its own: if it
    raises, everything it added is withdrawn and the plugin is reported as failed, while the
    other plugins' entries stay. An entry that is malformed, or whose name another plugin
    already registered, is rejected alone and reported with both plugins' names.
    """


@hookspec
def zoo_register_datasets(registry: PluginRegistry) -> None:
    """Register data sets by calling ``registry.add(DatasetSpec(...))``.

    :param registry: the data set registry, seen through this plugin.

    Called for every plugin, with the same isolation as :func:`zoo_register_architectures`.
    Loading images happens later, in ``DatasetSpec.load``; registering must stay cheap.
    """


@hookspec
def zoo_register_suites(registry: PluginRegistry) -> None:
    """Register suites by calling ``registry.add(SuiteSpec(...))``.

    :param registry: the suite registry, seen through this plugin.

    Called for every plugin after all data sets are registered, so a suite whose source or
    tasks name a data set no plugin registered is refused with that reason.
    """


@hookspec
def zoo_register_strategies(registry: PluginRegistry) -> None:
    """Register transfer strategies by calling ``registry.add(StrategySpec(...))``.

    :param registry: the strategy registry, seen through this plugin.

    Called for every plugin, with the same isolation as :func:`zoo_register_architectures`.
    A strategy is data (its phases); the training engine in :mod:`zoo.train.transfer` carries it out.
    """
