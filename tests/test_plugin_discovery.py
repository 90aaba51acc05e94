"""Plugin discovery through real entry points, and the rules the registry applies to plugins.

The first part installs the small distributions kept under ``tests/plugin_dists/`` (one pip
install per session, into a temporary ``--target`` directory, never into the environment) and
runs ``python -m zoo.cli.main`` with that directory on ``PYTHONPATH``, so that zoo finds them the
way it finds any installed plugin: through the entry points of their ``.dist-info``.

Each run spends seconds importing torch, so the few runs are made once per session, side by
side, and shared by the tests. There are two scenarios:

* ``main``: every test plugin but ``duplicate``: ``tinynet`` (a good plugin), ``broken_import``,
  ``raising_hook``, ``malformed`` and ``unknown_hook``, next to the built-ins;
* ``contested``: ``duplicate``, which registers the built-in name ``resnet18``, with ``tinynet``
  and ``broken_import`` disabled through ``ZOO_DISABLE_PLUGINS``.

The second part drives :class:`zoo.plugin.manager.PluginSet` in process with throwaway plugin
objects; the last tests install the example plugins of ``CONTRIBUTING.md``, so that they cannot rot.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import zoo
from zoo.data.images import ImageSet
from zoo.data.preprocess import prepare
from zoo.plugin.architecture import ArchitectureSpec
from zoo.plugin.discovery import discover_entry_points
from zoo.plugin.kinds import Kind
from zoo.plugin.manager import PluginSet
from zoo.plugin.recipe import Recipe
from zoo.train.transfer import run_strategy

TESTS = Path(__file__).resolve().parent
PLUGIN_DISTS = TESTS / "plugin_dists"
CONTRIBUTING = TESTS.parent / "CONTRIBUTING.md"

TEST_PLUGINS = {"tinynet", "broken_import", "raising_hook", "malformed", "duplicate", "unknown_hook"}
EXAMPLE_ARCHITECTURE = "lenet5"  # what the example of CONTRIBUTING.md registers

# ---------------------------------------------------------------------------- helpers


def pip_install(sources: Sequence[Path], workdir: Path) -> Path:
    """Build and install source trees into ``workdir/site`` with ``pip --target``; return it.

    Each tree is copied first, so that setuptools' ``build/`` and ``*.egg-info`` land in
    ``workdir``, not in the repository.
    """
    copies = []
    for source in sources:
        copy = workdir / "src" / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        copies.append(str(copy))
    site = workdir / "site"
    command = [
        sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
        "--no-cache-dir", "--disable-pip-version-check", "--quiet", "--target", str(site), *copies,
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}"
    return site


@dataclass(frozen=True)
class Run:
    """One ``zoo`` command, run as a subprocess."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        assert self.returncode == 0, f"zoo {' '.join(self.args)} exited {self.returncode}:\n{self.stderr}"
        return json.loads(self.stdout)

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("zoo: warning: ")]


def run_zoo(site: Path, home: Path, args: Sequence[str], disabled: Sequence[str] = ()) -> Run:
    """``python -m zoo.cli.main ARGS`` seeing the distributions installed in ``site``."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ZOO_DISABLE_PLUGINS", "ZOO_HOME"}}
    env.update(PYTHONPATH=str(site), ZOO_HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    if disabled:
        env["ZOO_DISABLE_PLUGINS"] = ",".join(disabled)
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.cli.main", *args], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class Scenario:
    """``zoo plugins --json`` and ``zoo list --json`` (and maybe ``zoo info``) of one setup."""

    plugins: Run
    list: Run
    info: Run | None = None

    @property
    def reports(self) -> dict[str, dict]:
        return {report["name"]: report for report in self.plugins.json()}

    @property
    def listing(self) -> dict[str, str]:
        """Architecture name -> plugin, checking that no name is listed twice."""
        names = [row["name"] for row in self.list.json()]
        assert len(names) == len(set(names)), names
        return {row["name"]: row["plugin"] for row in self.list.json()}


def report_dict(name, module, distribution, version, status, registered=(), errors=(), traceback=None) -> dict:
    return {
        "name": name,
        "module": module,
        "distribution": distribution,
        "version": version,
        "status": status,
        "errors": list(errors),
        "traceback": traceback,
        "registered": {"architectures": list(registered)} if registered else {},
    }


def without(report: dict, *keys: str) -> dict:
    return {k: v for k, v in report.items() if k not in keys}


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def installed() -> PluginSet:
    """The plugins of the environment itself (the built-ins), loaded in process: the reference."""
    for name in TEST_PLUGINS:
        assert importlib.util.find_spec(f"zoo_test_{name}") is None, f"zoo_test_{name} is installed in the environment"
    loaded = PluginSet()
    loaded.load(discover_entry_points())
    assert not set(loaded.reports) & TEST_PLUGINS
    return loaded


@pytest.fixture(scope="session")
def builtin_reports(installed) -> dict[str, dict]:
    """Each built-in plugin's report, as ``zoo plugins --json`` prints it."""
    return {name: json.loads(json.dumps(vars(report), default=str)) for name, report in installed.reports.items()}


@pytest.fixture(scope="session")
def builtin_listing(installed) -> dict[str, str]:
    return {name: installed.architectures.plugin_of(name) for name in installed.architectures.names()}


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """Every distribution of ``tests/plugin_dists``, installed with one pip call."""
    sources = sorted(path.parent for path in PLUGIN_DISTS.glob("*/pyproject.toml"))
    assert {source.name for source in sources} == TEST_PLUGINS
    return pip_install(sources, tmp_path_factory.mktemp("plugin_dists"))


SCENARIOS = {"main": ("duplicate",), "contested": ("tinynet", "broken_import")}
RUNS = {
    ("main", "plugins"): ("plugins", "--json"),
    ("main", "list"): ("list", "--json"),
    ("main", "info"): ("info", "tinynet", "--json"),
    ("contested", "plugins"): ("plugins", "--json"),
    ("contested", "list"): ("list", "--json"),
}


@pytest.fixture(scope="session")
def scenarios(plugin_site, tmp_path_factory) -> dict[str, Scenario]:
    home = tmp_path_factory.mktemp("zoo_home")
    workers = min(len(RUNS), max(2, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        futures = {
            key: pool.submit(run_zoo, plugin_site, home, args, SCENARIOS[key[0]]) for key, args in RUNS.items()
        }
    runs = {key: future.result() for key, future in futures.items()}
    return {
        name: Scenario(**{command: run for (scenario, command), run in runs.items() if scenario == name})
        for name in SCENARIOS
    }


@pytest.fixture(scope="session")
def main(scenarios) -> Scenario:
    return scenarios["main"]


@pytest.fixture(scope="session")
def contested(scenarios) -> Scenario:
    return scenarios["contested"]


# ---------------------------------------------------------------------------- a good plugin


def test_good_plugin_architecture_is_listed_under_its_plugin_name(main):
    assert main.list.returncode == 0
    assert [row for row in main.list.json() if row["name"] == "tinynet"] == [
        {
            "name": "tinynet",
            "plugin": "tinynet",
            "family": "tinynet",
            "description": "two convolutions, for zoo's plugin discovery tests",
        }
    ]


def test_good_plugin_report_names_its_distribution_and_version(main):
    assert main.plugins.returncode == 0
    assert main.reports["tinynet"] == report_dict(
        "tinynet", "zoo_test_tinynet", "zoo-test-tinynet", "1.2.3", "loaded", registered=["tinynet"]
    )


def test_good_plugin_architecture_is_described_by_zoo_info(main):
    info = main.info.json()
    assert (info["name"], info["plugin"], info["family"], info["params"]) == ("tinynet", "tinynet", "tinynet", 18392)
    assert info["stages"] == [
        {"name": "stem", "modules": ["conv1"], "params": 3 * 8 * 9 + 8},
        {"name": "stage1", "modules": ["conv2"], "params": 8 * 16 * 9 + 16},
        {"name": "head", "modules": ["pre_logits", "head"], "params": 16 * 1000 + 1000},
    ]


def test_builtin_plugins_load_unchanged_beside_external_ones(main, builtin_reports, builtin_listing):
    assert {name: main.reports[name] for name in builtin_reports} == builtin_reports
    assert main.listing == {
        **builtin_listing,
        "tinynet": "tinynet",
        "malformed_ok_first": "malformed",
        "malformed_ok_last": "malformed",
    }


def test_every_plugin_error_is_one_warning_of_the_other_commands(main):
    errors = [error for report in main.reports.values() for error in report["errors"]]
    # broken_import, raising_hook, unknown_hook, and malformed's three
    assert sum(len(main.reports[name]["errors"]) for name in TEST_PLUGINS) == 6
    assert main.plugins.warnings() == []  # `zoo plugins` reports them on stdout instead
    for run in (main.list, main.info):
        assert run.returncode == 0
        assert len(run.warnings()) == len(errors)
        for error in errors:
            assert len([w for w in run.warnings() if error in w]) == 1, (error, run.warnings())


# ---------------------------------------------------------------------------- a plugin that cannot be imported


def test_plugin_failing_at_import_is_reported_failed(main):
    report = main.reports["broken_import"]
    assert without(report, "errors", "traceback") == without(
        report_dict("broken_import", "zoo_test_broken_import", "zoo-test-broken-import", "0.1.0", "failed"),
        "errors",
        "traceback",
    )
    [error] = report["errors"]
    assert "'broken_import'" in error
    assert "RuntimeError: zoo_test_broken_import is broken on purpose" in error
    assert report["traceback"].endswith("RuntimeError: zoo_test_broken_import is broken on purpose\n")


def test_plugin_failing_at_import_leaves_the_other_commands_working(main, builtin_listing):
    assert builtin_listing.items() <= main.listing.items()
    for run in (main.list, main.info):
        assert run.returncode == 0
        assert run.json()
        [warning] = [w for w in run.warnings() if "'broken_import'" in w]
        assert "RuntimeError: zoo_test_broken_import is broken on purpose" in warning


# ---------------------------------------------------------------------------- a hook that raises


def test_plugin_whose_hook_raises_is_failed_and_keeps_nothing(main):
    report = main.reports["raising_hook"]
    assert without(report, "errors", "traceback") == without(
        report_dict("raising_hook", "zoo_test_raising_hook", "zoo-test-raising-hook", "0.1.0", "failed"),
        "errors",
        "traceback",
    )
    [error] = report["errors"]
    assert "'raising_hook'" in error and "zoo_register_architectures" in error
    assert "ValueError: zoo_test_raising_hook fails half-way on purpose" in error
    assert report["traceback"].endswith("ValueError: zoo_test_raising_hook fails half-way on purpose\n")
    assert "raising_hook_net" not in main.listing  # registered before the hook raised, then withdrawn


# ---------------------------------------------------------------------------- malformed entries

MALFORMED = [  # (name as reported, part of the reason), in the order the plugin registers them
    ("\"{'name': 'malformed_dict'}\"", "expected an instance of ArchitectureSpec, got dict"),
    ("'Malformed-Name'", "invalid name 'Malformed-Name'"),
    ("'malformed_size'", "default_input_size must be a (channels, height, width) tuple of positive ints"),
]


def test_malformed_entries_are_refused_and_valid_ones_kept(main):
    report = main.reports["malformed"]
    assert without(report, "errors") == without(
        report_dict(
            "malformed", "zoo_test_malformed", "zoo-test-malformed", "0.1.0", "loaded",
            registered=["malformed_ok_first", "malformed_ok_last"],
        ),
        "errors",
    )  # fmt: skip
    assert len(report["errors"]) == len(MALFORMED)
    for error, (name, reason) in zip(report["errors"], MALFORMED):
        assert name in error and "refused" in error and reason in error
    assert {name for name, plugin in main.listing.items() if plugin == "malformed"} == {
        "malformed_ok_first",
        "malformed_ok_last",
    }


def test_malformed_refusals_name_the_plugin(main):
    for error in main.reports["malformed"]["errors"]:
        assert "'malformed'" in error
    warnings = [w for w in main.list.warnings() if any(name in w for name, _ in MALFORMED)]
    assert len(warnings) == len(MALFORMED)
    for warning in warnings:
        assert "'malformed'" in warning


# ---------------------------------------------------------------------------- an unknown hook


def test_plugin_implementing_an_unknown_hook_is_reported_failed(main):
    report = main.reports["unknown_hook"]
    assert without(report, "errors") == without(
        report_dict("unknown_hook", "zoo_test_unknown_hook", "zoo-test-unknown-hook", "0.1.0", "failed"), "errors"
    )
    [error] = report["errors"]
    assert "'unknown_hook'" in error and "zoo_register_architecturez" in error
    assert "unknown_hook_net" not in main.listing  # its valid hook does not run either
    assert [w for w in main.list.warnings() if "'unknown_hook'" in w] == [f"zoo: warning: {error} (see `zoo plugins`)"]


# ---------------------------------------------------------------------------- a built-in's name


def test_contested_name_is_registered_once_and_the_refusal_reported(contested):
    assert contested.listing["duplicate_ok"] == "duplicate"  # the plugin's other entry is kept
    assert "resnet18" in contested.listing
    assert (contested.reports["duplicate"]["status"], contested.reports["resnet"]["status"]) == ("loaded", "loaded")
    refusals = [e for report in contested.reports.values() for e in report["errors"] if "'resnet18'" in e]
    assert len(refusals) == 1 and "already registered" in refusals[0]


def test_plugin_cannot_take_a_name_a_builtin_registered(contested, builtin_reports):
    assert contested.listing["resnet18"] == "resnet"
    assert contested.reports["resnet"] == builtin_reports["resnet"]
    report = contested.reports["duplicate"]
    assert report["registered"] == {"architectures": ["duplicate_ok"]}
    assert len(report["errors"]) == 1
    assert "'resnet18'" in report["errors"][0] and "'resnet'" in report["errors"][0]


def test_contested_name_refusal_names_both_plugins(contested):
    errors = contested.reports["duplicate"]["errors"]
    assert len(errors) == 1
    assert "'duplicate'" in errors[0] and "'resnet'" in errors[0]
    warnings = [w for w in contested.list.warnings() if "'resnet18'" in w]
    assert len(warnings) == 1
    assert "'duplicate'" in warnings[0] and "'resnet'" in warnings[0]


# ---------------------------------------------------------------------------- ZOO_DISABLE_PLUGINS


def test_disabled_plugins_are_reported_disabled_and_register_nothing(contested, main):
    assert contested.reports["tinynet"] == report_dict(
        "tinynet", "zoo_test_tinynet", "zoo-test-tinynet", "1.2.3", "disabled"
    )
    # disabled before it is imported: no failure, and no warning
    assert contested.reports["broken_import"] == report_dict(
        "broken_import", "zoo_test_broken_import", "zoo-test-broken-import", "0.1.0", "disabled"
    )
    assert contested.list.returncode == 0
    assert "tinynet" not in contested.listing
    assert [w for w in contested.list.warnings() if "broken_import" in w] == []
    assert main.reports["duplicate"]["status"] == "disabled" and "duplicate_ok" not in main.listing


# ---------------------------------------------------------------------------- in process


def _build(num_classes: int = 1000) -> nn.Module:
    return nn.Linear(3, num_classes)


def spec(name: str, **changes) -> ArchitectureSpec:
    fields = dict(
        name=name,
        family="inprocess",
        build=_build,
        default_input_size=(3, 32, 32),
        min_input_size=(3, 8, 8),
        paper="none",
    )
    return ArchitectureSpec(**(fields | changes))


class Registers:
    """A throwaway plugin that registers ``entries``, then raises ``error`` if given."""

    def __init__(self, *entries: object, error: Exception | None = None):
        self.entries = entries
        self.error = error

    @zoo.hookimpl
    def zoo_register_architectures(self, registry):
        for entry in self.entries:
            registry.add(entry)
        if self.error is not None:
            raise self.error


class MisspelledHook:
    @zoo.hookimpl
    def zoo_register_architecturez(self, registry):
        raise AssertionError("an unknown hook is never called")

    @zoo.hookimpl
    def zoo_register_architectures(self, registry):
        registry.add(spec("misspelled_net"))


def test_inprocess_plugin_entries_are_stamped_with_its_name():
    loaded = PluginSet()
    loaded.add_plugin(Registers(spec("alpha"), spec("beta")), "first")
    assert loaded.architectures.names() == ["alpha", "beta"]
    assert [loaded.architectures.plugin_of(n) for n in ("alpha", "beta")] == ["first", "first"]
    assert vars(loaded.reports["first"]) == report_dict("first", "Registers", None, None, "loaded", ["alpha", "beta"])


def test_inprocess_duplicate_name_is_refused_and_the_first_plugin_keeps_it():
    loaded = PluginSet()
    loaded.add_plugin(Registers(spec("shared", description="first's")), "first")
    loaded.add_plugin(Registers(spec("shared", description="second's"), spec("own")), "second")
    assert loaded.architectures.plugin_of("shared") == "first"
    assert loaded.architectures.get("shared").description == "first's"
    assert vars(loaded.reports["first"]) == report_dict("first", "Registers", None, None, "loaded", ["shared"])
    second = loaded.reports["second"]
    assert (second.status, second.registered) == ("loaded", {"architectures": ["own"]})
    [error] = second.errors
    assert "'shared'" in error and "already registered" in error and "'first'" in error


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        pytest.param("not_a_spec", "expected an instance of ArchitectureSpec, got str", id="not-a-spec"),
        pytest.param(spec("ResNet"), "invalid name 'ResNet'", id="uppercase-name"),
        pytest.param(spec("1net"), "invalid name '1net'", id="leading-digit"),
        pytest.param(spec("dash-net"), "invalid name 'dash-net'", id="dash-in-name"),
        pytest.param(spec(""), "invalid name ''", id="empty-name"),
        pytest.param(spec("zero", default_input_size=(3, 0, 32)), "default_input_size must be", id="zero-height"),
        pytest.param(spec("two", default_input_size=(32, 32)), "default_input_size must be", id="two-dims"),
        pytest.param(spec("listed", default_input_size=[3, 32, 32]), "default_input_size must be", id="list-size"),
        pytest.param(spec("floats", min_input_size=(3, 8.0, 8)), "min_input_size must be", id="float-size"),
        pytest.param(spec("big", min_input_size=(3, 64, 64)), "min_input_size is larger", id="min-above-default"),
        pytest.param(spec("inert", build="SimpleCNN"), "build is not callable", id="build-not-callable"),
        pytest.param(spec("hub", hub_weights=("resnet18.tv_in1k",)), "hub_weights must hold", id="bad-hub-weights"),
    ],
)
def test_inprocess_malformed_entry_is_refused_alone(entry, reason):
    loaded = PluginSet()
    loaded.add_plugin(Registers(spec("before"), entry, spec("after")), "sloppy")
    report = loaded.reports["sloppy"]
    assert (report.status, report.registered) == ("loaded", {"architectures": ["after", "before"]})
    [error] = report.errors
    assert "refused" in error and reason in error
    assert loaded.architectures.names() == ["after", "before"]


def test_inprocess_raising_plugin_entries_are_withdrawn_and_others_kept():
    loaded = PluginSet()
    loaded.add_plugin(Registers(spec("kept")), "steady")
    loaded.add_plugin(Registers(spec("half"), spec("kept"), spec("way"), error=RuntimeError("boom")), "flaky")
    assert {n: loaded.architectures.plugin_of(n) for n in loaded.architectures.names()} == {"kept": "steady"}
    flaky = loaded.reports["flaky"]
    assert (flaky.status, flaky.registered) == ("failed", {})
    [error] = flaky.errors
    assert "'flaky'" in error and "zoo_register_architectures" in error and "RuntimeError: boom" in error
    assert flaky.traceback.endswith("RuntimeError: boom\n")
    # the withdrawn names are free again
    loaded.add_plugin(Registers(spec("half")), "later")
    assert loaded.architectures.plugin_of("half") == "later"
    assert loaded.reports["later"].errors == []


def test_inprocess_unknown_hook_is_reported_failed():
    loaded = PluginSet()
    loaded.add_plugin(MisspelledHook(), "typo")
    report = loaded.reports["typo"]
    assert (report.status, report.registered) == ("failed", {})
    [error] = report.errors
    assert "'typo'" in error and "zoo_register_architecturez" in error
    assert len(loaded.architectures) == 0


def test_inprocess_refusals_name_the_refused_plugin():
    loaded = PluginSet()
    loaded.add_plugin(Registers(spec("shared")), "first")
    loaded.add_plugin(Registers(spec("shared"), spec("Bad")), "second")
    errors = loaded.reports["second"].errors
    assert len(errors) == 2
    assert "'second'" in errors[0] and "'first'" in errors[0]  # 'shared', owned by first
    assert "'second'" in errors[1]  # 'Bad'


# ---------------------------------------------------------------------------- CONTRIBUTING.md's example

# A line naming a file, then (after at most one blank line) the fenced block holding it.
EXAMPLE_FILE = re.compile(r"^`(?P<path>[\w.-]+(?:/[\w.-]+)+)`:\n\n?```[\w-]*\n(?P<body>.*?)^```$", re.M | re.S)


def contributing_example_projects() -> dict[str, dict[str, str]]:
    """CONTRIBUTING.md's example files (path → text), by project (their first directory)."""
    projects: dict[str, dict[str, str]] = {}
    for match in EXAMPLE_FILE.finditer(CONTRIBUTING.read_text(encoding="utf-8")):
        projects.setdefault(match["path"].split("/")[0], {})[match["path"]] = match["body"]
    return projects


@pytest.fixture(scope="module")
def contributing_sites(tmp_path_factory) -> dict[str, tuple[Path, str, str]]:
    """Each example project, written out as the text gives it and installed: project → (site,
    plugin name, module name)."""
    sites = {}
    for project, files in contributing_example_projects().items():
        assert f"{project}/pyproject.toml" in files and any(path.endswith(".py") for path in files)
        pyproject = tomllib.loads(files[f"{project}/pyproject.toml"])
        [(plugin, module)] = pyproject["project"]["entry-points"]["zoo.plugins"].items()
        tmp = tmp_path_factory.mktemp(project)
        for path, body in files.items():
            (tmp / "doc" / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "doc" / path).write_text(body, encoding="utf-8")
        site = pip_install([tmp / "doc" / project], tmp)
        assert (site / f"{module}.py").is_file() or (site / module).is_dir()
        sites[project] = (site, plugin, module)
    return sites


def test_contributing_has_an_example_project_per_section():
    assert sorted(contributing_example_projects()) == ["zoo-lenet", "zoo-shapes"]


def test_contributing_example_plugin_installs_and_is_described(contributing_sites, builtin_reports):
    site, plugin, _ = contributing_sites["zoo-lenet"]
    run = run_zoo(site, site.parent, ["info", EXAMPLE_ARCHITECTURE, "--json"])
    assert run.returncode == 0, run.stderr
    # the example loads cleanly: the only warnings are the environment's own, if any
    assert len(run.warnings()) == sum(len(report["errors"]) for report in builtin_reports.values())
    info = run.json()
    assert (info["name"], info["plugin"]) == (EXAMPLE_ARCHITECTURE, plugin)
    assert info["params"] > 0 and info["macs"] > 0
    assert [stage["name"] for stage in info["stages"]] == ["stem", "stage1", "pre_logits", "head"]  # as the text says
    assert all(stage["params"] > 0 for stage in info["stages"])
    assert sum(stage["params"] for stage in info["stages"]) == info["params"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("shapes", {"kind": "dataset", "per_class_counts": {"train": [200] * 5, "test": [50] * 5}}),
        ("probe_then_biases", {"kind": "strategy", "quadrants": ["Q4"], "options": {"probe": 0.5}}),
    ],
)
def test_contributing_data_set_and_strategy_examples_install_and_are_described(contributing_sites, name, expected):
    site, plugin, _ = contributing_sites["zoo-shapes"]
    info = run_zoo(site, site.parent, ["info", name, "--json"]).json()
    assert info["plugin"] == plugin and expected.items() <= info.items()
    if name == "probe_then_biases":  # as the text says: a linear probe, then every bias with the classifier
        assert [phase["trains"] for phase in info["phases"]] == [
            "the classifier", "parameters named bias in every stage + the classifier",
        ]  # fmt: skip


def example_strategy(site: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, site / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    strategies = []
    module.zoo_register_strategies(registry=type("Collect", (), {"add": staticmethod(strategies.append)})())
    [strategy] = strategies
    return strategy


def test_contributing_example_suite_benches_its_strategy_storing_exactly_what_trained(contributing_sites):
    """One small ``zoo bench`` with all three examples: it pretrains on the suite's source
    (the data set's first three shapes), sweeps the strategy's rate on the small task and
    stores as trainable exactly the biases and the classifier."""
    site, _, _ = contributing_sites["zoo-shapes"]
    out = site.parent / "bench"
    run = run_zoo(site, site.parent, ["bench", "--suite", "shapes_suite", "--arch", "simple_cnn", "--strategy",
                                      "probe_then_biases", "--task", "shapes_small", "--seeds", "1", "--epochs", "2",
                                      "--out", str(out), "--no-leaderboard"])  # fmt: skip
    assert run.returncode == 0, run.stderr
    model = zoo.create_model("simple_cnn", num_classes=2)
    selected = sum(p.numel() for name, p in model.named_parameters() if name.endswith("bias") or name.startswith("head."))
    with sqlite3.connect(out / "results.sqlite") as db:
        rows = db.execute("SELECT status, trainable_params, params FROM cells").fetchall()
    assert len(rows) >= 3 and {row[:2] for row in rows} == {("ok", selected)} and rows[0][2] == sum(
        p.numel() for p in model.parameters()
    )


def test_contributing_example_strategy_leaves_what_it_does_not_select_bit_identical(contributing_sites):
    site, _, module_name = contributing_sites["zoo-shapes"]
    torch.manual_seed(0)
    model = zoo.create_model("simple_cnn", num_classes=3)
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    images = torch.randint(0, 256, (24, 1, 32, 32), dtype=torch.uint8)
    data = prepare(ImageSet(images, torch.arange(24) % 3, ("a", "b", "c"), "toy"), (3, 32, 32), (0.5,) * 3, (0.25,) * 3)
    runs = run_strategy(model, example_strategy(site, module_name), data, Recipe(epochs=2, batch_size=8), seed=0,
                        device=torch.device("cpu"))  # fmt: skip
    assert [run.frozen_stages for run in runs] == [3, 0]
    changed = {name for name, param in model.named_parameters() if not torch.equal(param, before[name])}
    assert changed == {name for name in before if name.endswith("bias") or name.startswith("head.")}


# ---------------------------------------------------------------------------- a new kind


@dataclass(frozen=True)
class WidgetSpec:
    name: str
    description: str
    teeth: int


WIDGETS = Kind(
    "widget", "widgets", WidgetSpec,
    lambda spec, plugins: None if spec.teeth > 0 else f"teeth must be positive, got {spec.teeth}",
    lambda plugins, spec, plugin: {"name": spec.name, "kind": "widget", "plugin": plugin, "teeth": spec.teeth},
    lambda info: f"{info['name']}: a widget with {info['teeth']} teeth",
    lambda spec: {"description": spec.description},
    "Register widgets by calling ``registry.add(WidgetSpec(...))``.",
)  # fmt: skip


class WidgetPlugin:
    @zoo.hookimpl
    def zoo_register_widgets(self, registry):
        registry.add(WidgetSpec("cog", "a toothed wheel", 12))
        registry.add(WidgetSpec("blank", "a wheel without teeth", 0))


def test_a_kind_declared_once_is_registered_listed_and_described(monkeypatch, capsys):
    """A new kind is its spec, its functions and one Kind: the plugin set gains its registry and
    hook, zoo list its listing and zoo info its entries, with nothing else edited."""
    from zoo.cli.main import main
    from zoo.plugin.kinds import KINDS
    from zoo.plugin.snapshot import listing_of

    loaded = PluginSet((*KINDS, WIDGETS))
    loaded.load(discover_entry_points())
    loaded.add_plugin(WidgetPlugin(), "widgets")
    assert loaded.widgets.names() == ["cog"] and loaded.widgets.plugin_of("cog") == "widgets"
    assert loaded.reports["widgets"].registered == {"widgets": ["cog"]}
    assert "widget 'blank' refused: teeth must be positive, got 0" in loaded.reports["widgets"].errors[0]
    assert listing_of(loaded)["kinds"]["widgets"] == [{"name": "cog", "plugin": "widgets", "description": "a toothed wheel"}]
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    assert main(["info", "cog"]) == 0
    assert capsys.readouterr().out == "cog: a widget with 12 teeth\n"
    assert main(["info", "cog", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"name": "cog", "kind": "widget", "plugin": "widgets", "teeth": 12}
    assert main(["list", "--kind", "widgets"]) == 0
    assert "cog" in capsys.readouterr().out


def test_the_built_in_kinds_hooks_are_the_declared_ones():
    from zoo.plugin import hookspecs
    from zoo.plugin.kinds import KINDS

    assert [kind.hook for kind in KINDS] == ["zoo_register_architectures", "zoo_register_strategies", "zoo_register_datasets", "zoo_register_suites"]
    assert all(callable(getattr(hookspecs, kind.hook)) and getattr(hookspecs, kind.hook).__doc__ == kind.hook_doc for kind in KINDS)
