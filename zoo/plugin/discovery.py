"""Where plugins are found: the ``zoo.plugins`` entry-point group, and the variable that turns
some off.

Kept free of torch and of the plugin kinds, so that ``zoo list`` answers from its snapshot
(:mod:`zoo.plugin.snapshot`) and a Ray worker forwards the environment without loading either.
"""

from __future__ import annotations

import importlib.metadata
import os

from zoo.names import split_names

ENTRY_POINT_GROUP = "zoo.plugins"  # where plugins are discovered, the built-in ones included
DISABLE_ENV = "ZOO_DISABLE_PLUGINS"  # comma-separated plugin names to skip


def discover_entry_points() -> list[importlib.metadata.EntryPoint]:
    """Entry points of the ``zoo.plugins`` group: zoo's own first, then by distribution and name.

    The order decides who keeps a contested name, so it must not depend on ``sys.path`` or
    the file system: a built-in's name can never be taken over by an installed package.
    """

    def order(ep: importlib.metadata.EntryPoint) -> tuple[bool, str, str]:
        dist = ep.dist.metadata["Name"] if ep.dist else ""
        return (dist != "zoo", dist.lower(), ep.name)

    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=order)


def disabled_from_env() -> list[str]:
    """The plugin names ``ZOO_DISABLE_PLUGINS`` turns off."""
    return split_names(os.environ.get(DISABLE_ENV, ""))
