"""Loading plugins and letting them fill the registries: the plugin set.

Every plugin, built-in or not, is a module named by an entry point in the ``zoo.plugins``
group (:mod:`zoo.plugin.discovery`). Loading is fault-isolated per plugin, as pytest's ``import_plugin`` reports but does
not hide failures: a plugin that cannot be imported, implements an unknown hook, raises in a
hook or registers something malformed is recorded in its :class:`PluginReport` with the
reason, and every other plugin keeps working.

``ZOO_DISABLE_PLUGINS=name,other`` skips plugins by entry-point name (pytest's ``-p no:name``).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from zoo.errors import PluginError, ZooError
from zoo.plugin import hookspecs
from zoo.plugin.dataset import DatasetSpec
from zoo.plugin.discovery import DISABLE_ENV, disabled_from_env, discover_entry_points
from zoo.plugin.kinds import KINDS, Kind
from zoo.plugin.registry import PluginRegistry, Registry


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


class PluginSet:
    """The loaded plugins: one registry per kind (``plugins.architectures``, ``.strategies``,
    ``.datasets``, ``.suites``: :data:`zoo.plugin.kinds.KINDS`), and a report per plugin."""

    def __init__(self, kinds: Iterable[Kind] = KINDS) -> None:
        self.kinds = tuple(kinds)
        self.pm = pluggy.PluginManager("zoo")
        self.pm.add_hookspecs(hookspecs.specification(self.kinds))
        for kind in self.kinds:
            setattr(self, kind.plural, Registry(kind.singular, kind.spec, self._validator(kind), plural=kind.plural))
        self.reports: dict[str, PluginReport] = {}
        self.warnings: list[str] = []  # about the set as a whole, such as a misspelt ZOO_DISABLE_PLUGINS entry
        self._entry_points: list[importlib.metadata.EntryPoint] = []

    def _validator(self, kind: Kind):
        return lambda entry: kind.validate(entry, self)

    @property
    def registries(self) -> dict[str, Registry]:
        """Registries by the plural used on the command line (``--kind architectures``), in
        registration order."""
        return {kind.plural: getattr(self, kind.plural) for kind in self.kinds}

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
        for kind in self.kinds:
            self._run_registration_hook(kind.hook, self.registries[kind.plural])

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
        every = PluginSet(self.kinds)
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
            every = PluginSet(self.kinds)
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
        for kind in self.kinds:
            self._run_registration_hook(kind.hook, self.registries[kind.plural], only=name)

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
                known = ", ".join(sorted(kind.hook for kind in self.kinds))
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


def load_plugins() -> PluginSet:
    """Every installed plugin loaded, minus those disabled in the environment."""
    plugins = PluginSet()
    plugins.load(discover_entry_points(), disabled_from_env())
    return plugins
