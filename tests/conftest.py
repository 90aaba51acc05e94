"""Shared fixtures: every test runs offline, with its own empty zoo home."""

import os

# Before huggingface_hub is imported (by timm): a hub look-up fails at once instead of
# retrying for most of a minute on a machine without network.
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def zoo_home(tmp_path, monkeypatch):
    """A fresh ``$ZOO_HOME`` and torch hub cache, so no test sees another's weights."""
    home = tmp_path / "zoo-home"
    monkeypatch.setenv("ZOO_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return home
