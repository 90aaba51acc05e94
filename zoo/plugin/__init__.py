"""Plugins: the hooks a plugin implements, discovering and loading plugins, the registries
they fill, and the descriptions ``zoo list`` and ``zoo info`` print."""
