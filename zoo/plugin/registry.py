"""Name → entry registries, filled by plugins and queried by everything else.

A :class:`Registry` holds one kind of entry (architectures, later strategies, data sets and
suites). Plugins never touch it directly: each registration hook receives a
:class:`PluginRegistry`, a view that stamps every entry with the plugin that added it and
collects rejections instead of letting one bad entry take the plugin down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from zoo.errors import PluginError, UnknownNameError
from zoo.names import match_names

T = TypeVar("T")

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Rejection:
    """An entry a plugin tried to register and why it was refused."""

    plugin: str
    name: str
    reason: str


class Registry(Generic[T]):
    """Entries of one kind, by name, each remembering the plugin that registered it.

    :param kind: singular noun used in messages ("architecture").
    :param entry_type: the class every entry must be an instance of.
    :param validate: extra checks on an entry; returns a reason string when it is malformed.
    :param plural: the kind's plural, as ``zoo list --kind`` takes it.
    """

    def __init__(self, kind: str, entry_type: type[T], validate: Callable[[T], str | None], plural: str | None = None):
        self.kind = kind
        self.plural = plural or kind + "s"
        self.entry_type = entry_type
        self._validate = validate
        self._entries: dict[str, T] = {}
        self._owners: dict[str, str] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> T:
        """The entry called ``name``; unknown names raise with the close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries, listing=f"zoo list --kind {self.plural}") from None

    def plugin_of(self, name: str) -> str:
        """Name of the plugin that registered ``name``."""
        self.get(name)
        return self._owners[name]

    def names(self, include: str | Iterable[str] = "", exclude: str | Iterable[str] = ()) -> list[str]:
        """Registered names filtered by shell patterns, in natural order."""
        return match_names(self._entries, include, exclude)

    def check(self, entry: object, plugin: str) -> str | None:
        """Why ``entry`` cannot be registered by ``plugin``, or None when it can."""
        if not isinstance(entry, self.entry_type):
            return f"expected an instance of {self.entry_type.__name__}, got {type(entry).__name__}"
        name = getattr(entry, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            return f"invalid name {name!r}: use lowercase letters, digits and underscores"
        if name in self._entries:
            return f"an entry is already registered under the name {name!r} by plugin {self._owners[name]!r}"
        return self._validate(entry)

    def add(self, entry: T, plugin: str) -> None:
        """Register ``entry`` for ``plugin``; raises :class:`PluginError` when it is refused."""
        reason = self.check(entry, plugin)
        if reason:
            raise PluginError(f"plugin {plugin!r} cannot register {self.kind} {getattr(entry, 'name', entry)!r}: {reason}")
        self._entries[entry.name] = entry  # type: ignore[attr-defined]
        self._owners[entry.name] = plugin  # type: ignore[attr-defined]

    def remove_plugin(self, plugin: str) -> None:
        """Withdraw every entry ``plugin`` registered (its hook raised half-way)."""
        for name in [n for n, owner in self._owners.items() if owner == plugin]:
            del self._entries[name], self._owners[name]


class PluginRegistry(Generic[T]):
    """What a registration hook receives: a registry seen through one plugin.

    ``add`` never raises for a bad entry: the entry is refused, the refusal recorded for
    ``zoo plugins``, and the plugin's other entries still count.
    """

    def __init__(self, registry: Registry[T], plugin: str):
        self._registry = registry
        self.plugin = plugin
        self.rejections: list[Rejection] = []

    @property
    def kind(self) -> str:
        return self._registry.kind

    def add(self, entry: T) -> None:
        """Register one entry under this plugin's name."""
        reason = self._registry.check(entry, self.plugin)
        if reason:
            self.rejections.append(Rejection(self.plugin, str(getattr(entry, "name", entry)), reason))
        else:
            self._registry.add(entry, self.plugin)

    def __contains__(self, name: object) -> bool:
        return name in self._registry
