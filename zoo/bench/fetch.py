"""What a suite needs on disk before a cell runs: its data sets, and for a suite without a
source of its own, its backbones' hub weights.

``zoo fetch SUITE`` downloads them where the data sets' and hubs' own libraries keep them
(torchvision's files under ``$ZOO_HOME/data``, timm's and torchvision's weight caches), each
read once after it arrives so that a broken download shows now. ``zoo bench`` checks the data
first (:func:`missing_data`): a data set that is not here is bad input, said in one line with
the command that fetches it, before any cell runs or anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from zoo.errors import ZooError
from zoo.models.architectures import create_model
from zoo.plugin.suite import DataSelection, SuiteSpec, TaskSpec, load_selection

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet


def selections(suite: SuiteSpec, tasks: Iterable[TaskSpec]) -> list[DataSelection]:
    """The data the tasks train and test on, and the suite's source, each once. A task on a
    team's own folder (``root`` set) is the team's, not something to fetch."""
    wanted = [suite.source] if suite.source else []
    wanted += [task.data for task in tasks if task.root is None]
    return list(dict.fromkeys(wanted))


def missing_data(plugins: PluginSet, suite: SuiteSpec, tasks: Iterable[TaskSpec], archs: Sequence[str]) -> None:
    """Raise :class:`ZooError` for the first of the tasks' (and the source's) data sets that
    cannot be loaded here, naming it and ``zoo fetch``. They load at the size the first
    architecture's cells read them at, and loaded splits stay in the process's cache, so
    those cells do not read them again."""
    size = _size(plugins, suite, archs)
    for selection in selections(suite, tasks):
        try:
            load_selection(plugins.datasets, selection, seed=0, size=size)
        except ZooError as exc:
            raise ZooError(f"{exc}; `zoo fetch {suite.name}` downloads the suite's data sets (needs internet)") from None


def fetch_plan(plugins: PluginSet, suite: SuiteSpec, tasks: Iterable[TaskSpec], archs: Sequence[str]) -> list[tuple[str, Callable[[], object]]]:
    """What ``zoo fetch`` does for ``suite``'s ``tasks`` and ``archs``, item by item: a label and
    the call that fetches it. Each data set's splits (read once as they arrive), and, for a suite
    whose backbones start from hub weights, each architecture's default weights."""
    size = _size(plugins, suite, archs)
    plan: list[tuple[str, Callable[[], object]]] = []
    for selection in selections(suite, tasks):
        spec = plugins.datasets.get(selection.dataset)
        plan += [(f"data set {spec.name} ({split})", partial(spec.load, split, download=True, size=size)) for split in spec.splits]
    if suite.source is None:
        for arch in map(plugins.architectures.get, archs):
            if arch.default_weights is not None:
                label = f"weights {arch.name}.{arch.default_weights.tag} ({arch.default_weights.hub})"
                plan.append((label, partial(create_model, arch, pretrained=True)))
    return plan


def fetch_item(label: str, run: Callable[[], object]) -> None:
    """Carry out one item of :func:`fetch_plan`; a failed download is a :class:`ZooError` naming it."""
    try:
        run()
    except ZooError:
        raise
    except Exception as exc:  # DNS, HTTP, checksum and archive errors alike: the download failed
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ZooError(f"cannot fetch {label}: {type(exc).__name__}: {reason}; `zoo fetch` needs the internet") from None


def _size(plugins: PluginSet, suite: SuiteSpec, archs: Sequence[str]) -> int | None:
    """The side the first architecture's cells read the suite's data sets at."""
    return suite.data_side(plugins.architectures.get(archs[0])) if archs else None
