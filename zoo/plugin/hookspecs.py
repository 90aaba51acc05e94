"""Hook specifications: every hook a zoo plugin can implement.

Plugins are modules (or objects) whose functions carry the :data:`zoo.hookimpl` marker and
are named after the hooks below. They are discovered through the ``zoo.plugins`` entry-point
group, the built-in ones included (see ``pyproject.toml``).

There is one registration hook per kind of entry, ``zoo_register_<kind>(registry)``, made
from the kinds' declaration (:data:`zoo.plugin.kinds.KINDS`): ``zoo_register_architectures``,
``zoo_register_strategies``, ``zoo_register_datasets`` and ``zoo_register_suites``. Each is
called once per plugin when the plugin set is loaded, with a registry seen through that
plugin (:class:`zoo.plugin.registry.PluginRegistry`) to ``add`` entries to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

from zoo.plugin.kinds import KINDS, Kind

if TYPE_CHECKING:
    from zoo.plugin.registry import PluginRegistry

hookspec = pluggy.HookspecMarker("zoo")


def registration_hook(kind: Kind):
    """The hook specification of ``kind``'s registration hook."""

    def hook(registry: PluginRegistry) -> None:
        pass

    hook.__name__ = hook.__qualname__ = kind.hook
    hook.__doc__ = kind.hook_doc
    return hookspec(hook)


def specification(kinds: Iterable[Kind]) -> type:
    """What pluggy reads the hook specifications of a plugin set with ``kinds`` from."""
    return type("Hooks", (), {kind.hook: staticmethod(registration_hook(kind)) for kind in kinds})


# The built-in kinds' hooks as module attributes, for reading and for documentation tools.
globals().update({kind.hook: registration_hook(kind) for kind in KINDS})
