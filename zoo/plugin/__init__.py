"""The plugin contract: the kinds of entry declared once, each kind's spec type and how it is
described, the hooks a plugin implements, the registries they fill, and discovering and
loading plugins."""
