"""zoo's built-in plugins, one module per architecture family.

Each is declared in ``pyproject.toml`` under the ``zoo.plugins`` entry-point group and loads
exactly as a third-party plugin does; they double as reference examples for contributors.
"""
