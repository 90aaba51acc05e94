"""Names and shell patterns: how entries are sorted and chosen by ``--arch 'resnet*'``.

Shared by the registries, the rule of thumb's order of preference and every listing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders ``resnet18`` before ``resnet101`` (timm's ``_natural_key``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower())]


def match_names(
    names: Iterable[str],
    include: str | Iterable[str] = "",
    exclude: str | Iterable[str] = (),
) -> list[str]:
    """Names matching any ``include`` and no ``exclude`` shell pattern, naturally sorted.

    Patterns are comma-separated or iterables of patterns; an empty include keeps everything.
    """
    includes = split_names(include)
    excludes = split_names(exclude)
    kept = [
        name
        for name in names
        if (not includes or any(fnmatch.fnmatchcase(name, p) for p in includes))
        and not any(fnmatch.fnmatchcase(name, p) for p in excludes)
    ]
    return sorted(kept, key=natural_key)


def split_names(spec: str | Iterable[str]) -> list[str]:
    """Names or patterns from ``"a,b"``, or from several such strings (a repeated option)."""
    parts = [spec] if isinstance(spec, str) else list(spec)
    return [name.strip() for part in parts for name in part.split(",") if name.strip()]
