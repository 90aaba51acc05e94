"""Discovering plugins and letting them fill the registries.

Every plugin, built-in or not, is a module named by an entry point in the ``zoo.plugins``
group. Loading is fault-isolated per plugin, as pytest's ``import_plugin`` reports but does
not hide failures: a plugin that cannot be imported, implements an unknown hook, raises in a
hook or registers something malformed is recorded in its :class:`PluginReport` with the
reason, and every other plugin keeps working.

``ZOO_DISABLE_PLUGINS=name,other`` skips plugins by entry-point name (pytest's ``-p no:name``).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from zoo.bench.suites import SuiteSpec, validate_suite_spec
from zoo.data.images import DatasetSpec, validate_dataset_spec
from zoo.errors import PluginError, ZooError
from zoo.models.architectures import ArchitectureSpec, validate_spec
from zoo.plugin import hookspecs
from zoo.plugin.hookspecs import DISABLE_ENV, ENTRY_POINT_GROUP
from zoo.plugin.registry import PluginRegistry, Registry, split_names
from zoo.train.strategies import StrategySpec, validate_strategy_spec


@dataclass
class PluginReport:
    """What happened to one plugin, for ``zoo plugins``."""

    name: str  # entry-point name, the plugin's name everywhere in zoo
    module: str  # what the entry point points at
    distribution: str | None = None  # the installed package that declares it
    version: str | None = None
    status: str = "loaded"  # "loaded", "failed" (nothing it registered is kept), "disabled"
    errors: list[str] = field(default_factory=list)  # one line each, naming what went wrong
    traceback: str | None = None  # of an import or hook failure, kept for --verbose/--json
    registered: dict[str, list[str]] = field(default_factory=dict)  # kind -> names

    def fail(self, message: str, exc: BaseException | None = None) -> None:
        self.status = "failed"
        self.errors.append(message)
        if exc is not None:
            self.traceback = "".join(traceback.format_exception(exc))


class Zoo:
    """The loaded plugin set: one registry per kind, and a report per plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("zoo")
        self.pm.add_hookspecs(hookspecs)
        self.architectures: Registry[ArchitectureSpec] = Registry("architecture", ArchitectureSpec, validate_spec)
        self.strategies: Registry[StrategySpec] = Registry("strategy", StrategySpec, validate_strategy_spec, plural="strategies")
        self.datasets: Registry[DatasetSpec] = Registry("dataset", DatasetSpec, validate_dataset_spec)
        self.suites: Registry[SuiteSpec] = Registry("suite", SuiteSpec, self._validate_suite)
        self.reports: dict[str, PluginReport] = {}
        self.warnings: list[str] = []  # about the set as a whole, such as a misspelt ZOO_DISABLE_PLUGINS entry
        self._entry_points: list[importlib.metadata.EntryPoint] = []

    @property
    def registries(self) -> dict[str, Registry]:
        """Registries by the plural used on the command line (``--kind architectures``)."""
        return {
            "architectures": self.architectures,
            "strategies": self.strategies,
            "datasets": self.datasets,
            "suites": self.suites,
        }

    def registration_hooks(self) -> dict[str, Registry]:
        """Hooks in the order they run: suites last, as they refer to data sets."""
        return {
            "zoo_register_architectures": self.architectures,
            "zoo_register_strategies": self.strategies,
            "zoo_register_datasets": self.datasets,
            "zoo_register_suites": self.suites,
        }

    def _validate_suite(self, suite: SuiteSpec) -> str | None:
        used = [suite.source.dataset] if suite.source else []
        used += [task.data.dataset for task in suite.tasks]
        missing = sorted({name for name in used if name not in self.datasets})
        if missing:
            return f"it uses data sets no plugin registered: {', '.join(missing)}"
        return validate_suite_spec(suite)

    def load(self, entry_points: Iterable[importlib.metadata.EntryPoint], disabled: Iterable[str] = ()) -> None:
        """Import and register each entry point's module, then run the registration hooks."""
        disabled = set(disabled)
        self._entry_points += entry_points
        for ep in entry_points:
            self._register_entry_point(ep, disabled)
        names = {ep.name for ep in self._entry_points}
        for name in sorted(disabled - names):
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the plugins are {', '.join(sorted(names))}"
            self.warnings.append(f"{DISABLE_ENV} names {name!r}, which is no installed plugin: {hint}")
        self._drop_unknown_hooks()
        for hook_name, registry in self.registration_hooks().items():
            self._run_registration_hook(hook_name, registry)

    def warning_lines(self) -> list[str]:
        """What every command but ``zoo plugins`` warns of: the set's warnings, then each
        plugin's errors."""
        errors = [f"{error} (see `zoo plugins`)" for report in self.reports.values() for error in report.errors]
        return self.warnings + errors

    def disabled_owner(self, name: str) -> str | None:
        """The disabled plugin that registers ``name`` when it is enabled, or None: for the
        error of a name that is unknown only because its plugin was disabled. Loads the
        plugins again with none disabled, so it is for error paths only."""
        off = {report.name for report in self.reports.values() if report.status == "disabled"}
        if not off:
            return None
        every = Zoo()
        every.load(self._entry_points)
        for registry in every.registries.values():
            if name in registry and registry.plugin_of(name) in off:
                return registry.plugin_of(name)
        return None

    def folder_reader(self) -> DatasetSpec:
        """The registered data set that reads a team's own image folders (``reads_folders``),
        which ``zoo recommend`` and ``zoo bench --data`` load folders with. The core asks for
        the kind, not a name, so a plugin may provide it in place of the built-in one."""
        readers = [spec for spec in self.datasets if spec.reads_folders]
        if readers:
            return readers[0]
        off = {report.name for report in self.reports.values() if report.status == "disabled"}
        providers = []
        if off:  # which disabled plugin would provide one: load them again, none disabled (an error path only)
            every = Zoo()
            every.load(self._entry_points)
            providers = sorted({every.datasets.plugin_of(spec.name) for spec in every.datasets if spec.reads_folders} & off)
        if providers:
            hint = f"plugin {providers[0]!r} provides one but is disabled: remove it from {DISABLE_ENV}"
        else:
            hint = "install a plugin that registers a DatasetSpec with reads_folders=True"
        raise ZooError(f"no registered data set reads image folders, which `zoo recommend` and `zoo bench --data` need; {hint}")

    def add_plugin(self, plugin: object, name: str) -> None:
        """Register an in-process plugin object (tests, notebooks), then run its hooks."""
        if name in self.reports:
            raise PluginError(f"a plugin named {name!r} is already loaded; give this one another name")
        report = PluginReport(name, module=getattr(plugin, "__name__", type(plugin).__name__))
        self.reports[name] = report
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            report.fail(f"plugin {name!r} was refused by the plugin manager: {exc}", exc)
            return
        self._drop_unknown_hooks()
        for hook_name, registry in self.registration_hooks().items():
            self._run_registration_hook(hook_name, registry, only=name)

    def _register_entry_point(self, ep: importlib.metadata.EntryPoint, disabled: set[str]) -> None:
        dist = getattr(ep, "dist", None)
        report = PluginReport(ep.name, ep.value, dist and dist.metadata["Name"], dist and dist.version)
        previous = self.reports.get(ep.name)
        if previous is not None:
            if (previous.module, previous.distribution) != (report.module, report.distribution):
                previous.errors.append(
                    f"plugin name {ep.name!r} is also declared by {report.distribution} ({report.module}); "
                    "that one was ignored: rename one of the entry points"
                )
            return
        self.reports[ep.name] = report
        if ep.name in disabled:
            report.status = "disabled"
            return
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not end zoo
            report.fail(f"Error importing plugin {ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}", exc)
            return
        try:
            self.pm.register(module, name=ep.name)
        except pluggy.PluginValidationError as exc:
            report.fail(f"plugin {ep.name!r} was refused: {exc}", exc)

    def _drop_unknown_hooks(self) -> None:
        """pluggy's ``check_pending``, attributing each unknown hook to its plugin."""
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin)
                self.pm.unregister(exc.plugin)
                known = ", ".join(sorted(h for h in dir(hookspecs) if h.startswith("zoo_")))
                self.reports[name].fail(f"plugin {name!r} implements an unknown hook: {exc}; known hooks: {known}")

    def _run_registration_hook(self, hook_name: str, registry: Registry, only: str | None = None) -> None:
        """Call each implementation on its own, so a failure is pinned on its plugin."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if only is not None and impl.plugin_name != only:
                continue
            report = self.reports[impl.plugin_name]
            if impl.hookwrapper or impl.wrapper:
                report.fail(f"plugin {impl.plugin_name!r}: {hook_name} cannot be a wrapper; drop wrapper=True")
                continue
            view = PluginRegistry(registry, impl.plugin_name)
            try:
                impl.function(**{arg: view for arg in impl.argnames})  # pluggy lets a hook omit arguments
            except Exception as exc:
                registry.remove_plugin(impl.plugin_name)
                report.fail(f"plugin {impl.plugin_name!r} raised in {hook_name}: {type(exc).__name__}: {exc}", exc)
                continue
            for rejection in view.rejections:
                report.errors.append(f"plugin {impl.plugin_name!r}: {registry.kind} {rejection.name!r} refused: {rejection.reason}")
            names = [n for n in registry.names() if registry.plugin_of(n) == impl.plugin_name]
            if names:
                report.registered[registry.plural] = names


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
    return split_names(os.environ.get(DISABLE_ENV, ""))


def load_zoo() -> Zoo:
    """A zoo with every installed plugin loaded, minus those disabled in the environment."""
    zoo = Zoo()
    zoo.load(discover_entry_points(), disabled_from_env())
    return zoo
