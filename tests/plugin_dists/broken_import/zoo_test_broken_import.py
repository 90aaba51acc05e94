"""An external plugin whose module cannot be imported."""

raise RuntimeError("zoo_test_broken_import is broken on purpose")
