"""Run the grid's cells as Ray tasks: ``zoo bench --executor ray`` (needs ``pip install 'zoo[ray]'``).

Each cell is one Ray task that builds a :class:`~zoo.bench.runner.CellRunner` on its worker and
returns the cell's row. The driver (the ``zoo bench`` process) keeps the results database:
it stores each row as its task completes, so the database never has a writer on a worker
(SQLite over a network file system, or from many processes, is where databases get lost),
and a killed driver resumes exactly as with the local executor.

Workers are ordinary Python processes: they find zoo's plugins through the ``zoo.plugins``
entry points, like any process. What makes a worker see the same plugins, weights and data
as the driver is forwarded with each task (see :func:`worker_environment`).
"""

from __future__ import annotations

import importlib.metadata
import os
import site
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import torch

from zoo.bench.grid import Cell, EpochCallback
from zoo.bench.runner import CellRunner
from zoo.errors import ZooError
from zoo.plugin.discovery import DISABLE_ENV, ENTRY_POINT_GROUP
from zoo.plugin.manager import load_plugins
from zoo.results.schema import CellResult
from zoo.version import __version__

# What a worker must share with the driver for a cell to mean the same thing there: where
# weights and data live (pretrained weights, the torch and Hugging Face caches), whether the
# hub may be asked, and which plugins are switched off. Forwarded only when set on the driver.
FORWARDED_ENV = ("ZOO_HOME", DISABLE_ENV, "TORCH_HOME", "HF_HOME", "HF_HUB_OFFLINE")

MISSING_RAY = "the Ray executor needs Ray: pip install 'zoo[ray]'"


class RayExecutor:
    """Runs cells as Ray tasks, one GPU each when the cluster has GPUs, else one CPU each.

    :param device: the device cells use on a worker that was not given a GPU (a worker that
        was given one uses CUDA): what the user asked for, as with the local executor.
    :param address: the Ray cluster to run on, as for ``ray.init``: ``None`` uses
        ``$RAY_ADDRESS``, else the cluster of the last ``ray start`` on this machine, else
        starts a local instance for this process; ``"local"`` always starts one. If this
        process is already connected to Ray (a notebook, a test), that connection is used.
    :param max_retries: how often Ray reruns a task whose worker died (a lost node, the
        kernel's OOM killer). Exceptions in a cell are never retried: the cell runner turns
        them into rows. Kept low because a cell that kills its worker usually does so again,
        and each attempt costs a whole cell.
    """

    name = "ray"

    def __init__(self, device: torch.device | str, address: str | None = None, *, max_retries: int = 1):
        try:
            import ray
        except ImportError:  # raised here, before the grid or the database is touched
            raise ZooError(MISSING_RAY) from None
        self._ray = ray
        self.device = str(device)
        self.address = address if address is not None else os.environ.get("RAY_ADDRESS") or None
        self.max_retries = max_retries
        self._started_here = False
        if not ray.is_initialized():
            _check_reachable(self.address)  # a typo fails now, before the grid and the database

    def connect(self) -> None:
        """Connect to the cluster, unless this process already is; run() calls this."""
        ray = self._ray
        if ray.is_initialized():
            return
        try:
            ray.init(address=self.address)
        except ConnectionError as exc:
            where = f"at {self.address}" if self.address else "(no address given)"
            raise ZooError(f"cannot connect to the Ray cluster {where}: {str(exc).strip().splitlines()[0]}") from None
        self._started_here = True

    def close(self) -> None:
        """Disconnect, if this executor connected (a local instance it started stops with it)."""
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
        self._started_here = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def run(self, cells: list[Cell], on_epoch: EpochCallback | None = None) -> Iterator[tuple[Cell, CellResult]]:
        """Each cell with its result row, as each task completes (not in grid order).
        Cells train in other processes, so ``on_epoch`` is never called.

        A task that fails in a way the cell runner cannot record (its worker died, or an
        exception escaped the runner) still yields a row, with status ``error`` and Ray's
        error as the reason, so the driver stores it and the grid goes on.

        The first cell that starts from a given pretrained variant runs before the other
        cells that need it: it pretrains (or downloads) the weights once, and the rest find
        them stored, instead of every worker training the same backbone at the same time
        and racing to write the same files.
        """
        if not cells:  # everything already stored: do not start or join a cluster
            return
        ray = self._ray
        self.connect()
        remote = ray.remote(**self.task_options())(_run_cell)
        threads = self.threads
        waiting = list(cells)
        warming: set[str] = set()  # weights whose first cell is running
        warm: set[str] = set()  # weights whose first cell has finished, however it ended
        running: dict = {}  # ObjectRef -> (cell, started, clock)

        def submit_what_can_run() -> None:
            held = []
            for cell in waiting:
                if cell.weights is not None and cell.weights not in warm:
                    if cell.weights in warming:
                        held.append(cell)
                        continue
                    warming.add(cell.weights)
                ref = remote.remote(cell, self.device, threads)
                running[ref] = (cell, datetime.now(timezone.utc), time.perf_counter())
            waiting[:] = held

        try:
            submit_what_can_run()
            while running:
                [ref], _ = ray.wait(list(running), num_returns=1)
                cell, started, clock = running.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    row = self._failed_row(cell, _reason(exc), started, clock)
                if cell.weights in warming:
                    warming.discard(cell.weights)
                    warm.add(cell.weights)
                submit_what_can_run()  # before the driver stores this row, so workers stay busy
                yield cell, row
        finally:  # the driver was interrupted, or stopped reading: stop what is still running
            for ref in running:
                ray.cancel(ref, force=True)

    @property
    def threads(self) -> int:
        """The intra-op threads each task computes with: the driver's own, so that a cell
        computes as it would in a local run. A different count reorders floating-point
        reductions (seen on a CPU with AVX-512: a validation loss 2e-6 apart), and a cell's
        result would then depend on the executor, not on its config alone. Fewer where no
        node has that many CPUs, or the tasks could never be scheduled; each row's
        ``environment`` records the count."""
        node_cpus = [node["Resources"].get("CPU", 0) for node in self._ray.nodes() if node.get("Alive")]
        return max(1, min(torch.get_num_threads(), int(max(node_cpus, default=1))))

    def task_options(self) -> dict:
        """Resources, retries and environment of each cell's task."""
        gpus = self._ray.cluster_resources().get("GPU", 0) > 0
        # One GPU per task when there are GPUs: Ray then gives each task a fresh worker
        # (max_calls=1 for GPU tasks), so no worker keeps a CUDA context of another task's GPU.
        # On CPUs, a task reserves as many CPUs as it runs threads, so tasks never share a core.
        resources = {"num_gpus": 1} if gpus else {"num_cpus": self.threads}
        return {**resources, "max_retries": self.max_retries, "runtime_env": {"env_vars": worker_environment()}}

    def _failed_row(self, cell: Cell, reason: str, started: datetime, clock: float) -> CellResult:
        """The result of a cell whose task failed outside the cell runner; timed from submission."""
        return cell.result(
            environment={"executor": "ray", "ray": self._ray.__version__, "zoo": __version__},
            started=started.isoformat(timespec="seconds"), status="error", reason=reason,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"), wall_seconds=round(time.perf_counter() - clock, 2),
        )  # fmt: skip


def _check_reachable(address: str | None, timeout: float = 5) -> None:
    """Fail at once if nothing listens at a ``host:port`` (or ``ray://host:port``) address.

    Ray's own client retries an unreachable address for many minutes without a word (ten
    minutes and counting with Ray 2.60), which looks like a hung ``zoo bench``.
    """
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.partition("://")[2].rpartition(":") if "://" in address else address.rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port; let Ray judge it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ZooError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start one with `ray start --head`, "
            "or leave --ray-address and $RAY_ADDRESS unset for a local instance"
        ) from None


def _reason(exc: BaseException) -> str:
    """One line naming Ray's error and, for an exception raised in the task, that exception."""
    cause = getattr(exc, "cause", None)  # RayTaskError: what the task raised
    detail = str(cause) if cause is not None else str(exc)
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return f"{type(exc).__name__} from Ray: {lines[0] if lines else 'no message'}"


def worker_environment() -> dict[str, str]:
    """Environment variables each task sets on its worker so it sees what the driver sees.

    Plugins: a worker loads plugins through the ``zoo.plugins`` entry points, so it needs
    every directory that holds zoo or a plugin's distribution on its ``sys.path``. Those in
    the interpreter's own site-packages a worker finds by itself (local workers run this
    interpreter); any other directory on the driver's path (``PYTHONPATH``, ``sys.path``
    added to at run time) is put in front of the worker's ``PYTHONPATH``. Ray expands
    ``${PYTHONPATH}`` on the worker, so a cluster node's own path is kept, not replaced. On a
    remote cluster, plugins must be installed on the nodes; a directory that does not exist
    there is skipped by Python.

    Files: ``ZOO_HOME`` and the caches in :data:`FORWARDED_ENV` go along, so a local worker
    reads and writes the same pretrained weights as the driver, whatever environment the
    Ray instance was started with.
    """
    env = {name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)}
    paths = _code_paths()
    if paths:
        env["PYTHONPATH"] = os.pathsep.join([*paths, "${PYTHONPATH}"])
    return env


def _code_paths() -> list[str]:
    """Directories on this process's path holding a distribution with zoo plugins (zoo itself
    declares its built-in ones) that a worker running this interpreter would not search by itself."""
    own = {os.path.realpath(p) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    found = []
    for dist in importlib.metadata.distributions():
        if any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points):
            found.append(Path(dist.locate_file("")).resolve())
    paths: list[str] = []
    for path in map(str, found):
        if os.path.realpath(path) not in own and path not in paths:
            paths.append(path)
    return paths


_runners: dict[str, CellRunner] = {}  # per worker process: what cells share, as in one local run


def _run_cell(cell: Cell, device: str, threads: int) -> CellResult:
    """The task: a cell's row, computed on a Ray worker with the driver's ``threads``.

    The runner is kept for the worker's later cells, so they share pretrained weights,
    cached frozen prefixes and speed figures as cells do in one local run. The worker loads
    its own plugin set, from the entry points and ``ZOO_DISABLE_PLUGINS`` the driver's
    environment gave it (:func:`worker_environment`).
    """
    import ray

    torch.set_num_threads(threads)
    if ray.get_gpu_ids() and torch.cuda.is_available():
        device = "cuda"  # the GPU Ray gave this task: the only one CUDA_VISIBLE_DEVICES shows
    runner = _runners.get(device)
    if runner is None:
        runner = _runners[device] = CellRunner(load_plugins(), torch.device(device))
    row = runner.run(cell)
    row.environment.update(executor="ray", host=socket.gethostname())
    return row
