"""Exceptions that reach the user as one line and exit code 2.

Everything a user can get wrong (a name, a file, a plugin) raises a :class:`ZooError`
subclass whose message already says what is wrong and what to do; the command line prints
it without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """A problem with the user's input, files or plugins, explained in the message."""


class UnknownNameError(ZooError, KeyError):
    """A name that no plugin registered; the message lists the close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str], listing: str | None = None):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        if close:
            hint = f"did you mean {', '.join(close)}?"
        elif len(known) <= 8:
            hint = f"known: {', '.join(known) or 'none'}"
        else:
            hint = f"{len(known)} are registered"
        listing = listing or f"zoo list --kind {kind}s"
        super().__init__(f"unknown {kind} {name!r}: {hint} (see `{listing}`)")
        self.kind, self.name, self.close_matches = kind, name, close

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class PluginError(ZooError):
    """A plugin failed to import, raised in a hook, or registered something malformed."""


class WeightsError(ZooError):
    """Weights that cannot be found, verified or loaded; nothing was loaded."""
