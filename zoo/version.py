"""The installed distribution's version, stamped into every result and weights file."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
