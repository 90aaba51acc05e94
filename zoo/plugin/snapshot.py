"""A cached listing of the registries, so that ``zoo list`` answers without importing every
plugin, and torch and timm with them (``make benchmark`` times both, in
tests/benchmarks/test_cli_startup.py).

The listing is what ``zoo list`` shows (per kind, each entry's name, plugin and summary) and
the warnings loading the plugins gave. It is stored under ``$ZOO_HOME/registry/`` in a file
named by a fingerprint of everything it depends on: the ``zoo.plugins`` entry points with
their distributions and versions, the size and modification time of every Python file of zoo
and of each plugin's package, and ``ZOO_DISABLE_PLUGINS``. Installing, upgrading, editing or
disabling a plugin changes the fingerprint, and the next ``zoo list`` loads the plugins and
writes a new snapshot. A process that has loaded the plugins already lists them directly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from zoo.paths import zoo_home
from zoo.plugin.discovery import DISABLE_ENV, ENTRY_POINT_GROUP


def listing(plugins: Callable[[], object], loaded: bool) -> dict:
    """``{"kinds": {kind: [row, …]}, "warnings": [line, …]}``: from the snapshot when it is
    current, else from the plugin set ``plugins()`` loads (then stored for the next call).
    A process that has ``loaded`` the set already lists it directly."""
    if loaded:
        return listing_of(plugins())
    path = zoo_home() / "registry" / f"{fingerprint()}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    fresh = listing_of(plugins())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
            json.dump(fresh, tmp)
        os.replace(tmp.name, path)
    except OSError:  # a read-only home: list without caching
        pass
    return fresh


def listing_of(loaded) -> dict:
    """The listing of a loaded plugin set (a :class:`zoo.plugin.manager.PluginSet`): each
    kind's entries with the columns its declaration's ``summary`` gives."""
    kinds = {
        kind.plural: [
            {"name": name, "plugin": registry.plugin_of(name), **kind.summary(registry.get(name))} for name in registry.names()
        ]
        for kind in loaded.kinds
        for registry in [loaded.registries[kind.plural]]
    }
    return {"kinds": kinds, "warnings": loaded.warning_lines()}


def fingerprint() -> str:
    """A digest of what the listing depends on (see the module docstring)."""
    digest = hashlib.sha256(os.environ.get(DISABLE_ENV, "").encode())
    files = set(_source_files("zoo"))
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = ep.dist.metadata["Name"] if ep.dist else ""
        version = ep.dist.version if ep.dist else ""
        digest.update(f"{ep.name}={ep.value} {dist} {version}\n".encode())
        files.update(_source_files(ep.module.partition(".")[0]))
    for file in sorted(files):
        stat = file.stat()
        digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _source_files(module: str) -> list[Path]:
    """The Python files of a top-level package, or the file of a top-level module, found
    without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None or spec.origin is None or not Path(spec.origin).exists():
        return []
    if spec.submodule_search_locations:
        return [f for folder in spec.submodule_search_locations for f in Path(folder).rglob("*.py")]
    return [Path(spec.origin)]
