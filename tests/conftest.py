"""Shared fixtures: every test runs offline, with its own empty zoo home."""

import os

# Before huggingface_hub is imported (by timm): a hub look-up fails at once instead of
# retrying for most of a minute on a machine without network.
os.environ["HF_HUB_OFFLINE"] = "1"

import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import zoo  # noqa: E402
from zoo.plugin.manager import load_plugins


@pytest.fixture(scope="session")
def step_memory_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("step-memory")


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch, step_memory_cache):
    """A fresh ``$ZOO_HOME`` and torch hub cache, so no test sees another's weights. Step
    memory measurements (a fresh process each) are shared by the session: they depend on the
    configuration alone."""
    home = tmp_path / "zoo-home"
    home.mkdir()
    (home / "memory").symlink_to(step_memory_cache, target_is_directory=True)
    monkeypatch.setenv("ZOO_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return home


HARNESS_PLUGIN = Path(__file__).parent / "harness_plugin" / "zoo_harness_test.py"


@pytest.fixture
def tiny_zoo(monkeypatch):
    """The installed plugins plus ``tests/harness_plugin`` (a tiny suite, failing strategies),
    as the process-wide zoo."""
    spec = importlib.util.spec_from_file_location("zoo_harness_test", HARNESS_PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = load_plugins()
    loaded.add_plugin(module, "harness_test")
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    return loaded


@pytest.fixture
def harness_plugin_site(tmp_path) -> Path:
    """``tests/harness_plugin`` installed as a distribution (its module and a ``.dist-info``)
    in a directory to put on ``PYTHONPATH``: how subprocesses and Ray workers find it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "zoo_harness_test.py").write_text(HARNESS_PLUGIN.read_text())
    info = site / "zoo_harness_test-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-harness-test\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text("[zoo.plugins]\nharness_test = zoo_harness_test\n")
    return site
