"""The kind of path each ``zoo`` path option wants, checked while the command line is parsed.

A file where a folder is wanted, a folder where a file is wanted, or a place that cannot be
written is bad input: one ``zoo: error:`` line and exit 2 before anything is read, created or
trained, rather than a traceback from deep inside a command that may already have written
something. Each kind is an argparse ``type=``: it turns the text into a :class:`~pathlib.Path`
once the path is of the right kind, and raises :class:`PathKindError` (which the command line
prints as ``zoo: error: …``) when it is not. A string default goes through it too.

The checks only look (``stat`` and ``access``); they create and change nothing. A path that
does not exist yet is left to the command, whose own message says what to put there, except
where nothing could ever be there (it is under a file) or where the command would find out
only after writing other files (:func:`file_to_rewrite`).

Standard library only: ``zoo --help`` builds the parser, and must stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Problem = tuple[str, str]  # what is wrong with the path, what to name instead


class PathKindError(Exception):
    """A path option names a path of the wrong kind; the message names the option, the path,
    what the option wants and what to do."""


class PathOption:
    """The argparse ``type=`` of one path option: ``option`` is how the user writes it
    (``--out``, ``PATH``) and ``wants`` what it wants, both for the message."""

    def __init__(self, option: str, wants: str, check: Callable[[Path], Problem | None]):
        self.option, self.wants, self.check = option, wants, check

    def __call__(self, text: str) -> Path:
        path = Path(text)
        problem = self.check(path)
        if problem:
            what, fix = problem
            raise PathKindError(f"{self.option} {text} {what}; {self.option} wants {self.wants}: {fix}")
        return path


def folder_to_read(option: str, wants: str) -> PathOption:
    """An existing folder the command reads (an image folder). A missing one is the
    command's to explain: it knows the layout wanted."""

    def check(path: Path) -> Problem | None:
        if not path.exists():
            return _under_a_file(path, "a folder")
        return None if path.is_dir() else (_is(path), "name a folder")

    return PathOption(option, wants, check)


def file_to_read(option: str, wants: str) -> PathOption:
    """An existing file the command reads (weights, a results database). A missing one is the
    command's to explain, or to do without."""

    def check(path: Path) -> Problem | None:
        if not path.exists():
            return _under_a_file(path, "a file")
        return None if path.is_file() else (_is(path), "name a file")

    return PathOption(option, wants, check)


def folder_to_write(option: str, wants: str) -> PathOption:
    """A folder the command writes into, created if it does not exist yet: it must be a
    folder that can be written, or else its nearest existing ancestor must be one."""

    def check(path: Path) -> Problem | None:
        if path.exists():
            if not path.is_dir():
                return _is(path), "name a folder"
            return None if _writable(path) else ("is a folder that cannot be written", "name one you can write to")
        ancestor = _nearest_existing(path)
        if not ancestor.is_dir():
            return _blocked_by(ancestor), "name a folder elsewhere"
        return None if _writable(ancestor) else (f"cannot be created: {ancestor} cannot be written", "name a folder you can write to")

    return PathOption(option, wants, check)


def file_to_write(option: str, wants: str) -> PathOption:
    """A file the command writes, replacing one there: not a folder, and in a folder that
    exists and can be written."""

    def check(path: Path) -> Problem | None:
        if path.exists() and not path.is_file():
            return _is(path), "name a file"
        folder = path.parent
        if not folder.exists():
            return _under_a_file(path, "a file") or (f"cannot be written: its folder {folder} does not exist", "create it first")
        if not folder.is_dir():
            return _blocked_by(folder), "name a file elsewhere"
        return None if _writable(folder) else (f"cannot be written: its folder {folder} cannot be written", "name a file in a folder you can write to")

    return PathOption(option, wants, check)


def file_to_rewrite(option: str, wants: str) -> PathOption:
    """An existing file the command reads and then replaces (``--readme``). It is checked
    before the command starts because the command gets to it last, after writing everything
    else; replacing it writes a temporary file beside it, so its folder must be writable."""

    def check(path: Path) -> Problem | None:
        if not path.exists():
            return _under_a_file(path, "a file") or ("does not exist", "name a file that exists")
        if not path.is_file():
            return _is(path), "name a file"
        folder = path.parent
        return None if _writable(folder) else (f"cannot be replaced: its folder {folder} cannot be written", "name a file in a folder you can write to")

    return PathOption(option, wants, check)


def _is(path: Path) -> str:
    """What an existing path of the wrong kind is, for the message."""
    if path.is_dir():
        return "is a folder"
    return "is a file" if path.is_file() else "is neither a file nor a folder"


def _under_a_file(path: Path, noun: str) -> Problem | None:
    """The problem with a missing path when one of its ancestors is a file, so that nothing
    can ever be there; None when it could simply be created or put there later."""
    ancestor = _nearest_existing(path)
    return None if ancestor.is_dir() else (_blocked_by(ancestor), f"name {noun} elsewhere")


def _blocked_by(ancestor: Path) -> str:
    return f"cannot be there: {ancestor} is a file, not a folder"


def _nearest_existing(path: Path) -> Path:
    """The closest ancestor of a missing ``path`` that exists (``.`` or ``/`` at the latest)."""
    return next(parent for parent in path.parents if parent.exists())


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder``: it needs write and search permission."""
    return os.access(folder, os.W_OK | os.X_OK)
