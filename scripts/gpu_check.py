#!/usr/bin/env python3
"""zoo's GPU check: one command that verifies zoo's CUDA path on a GPU machine and writes
what it measured under one folder.

Here, once, collect what the GPU machine lacks (the data sets, timm's ``benchmark.py`` when
``ZOO_TIMM_BENCHMARK`` points at a copy) into a folder git ignores, to carry::

    python3 scripts/gpu_check.py --pack .gpu-check

There (no network, its own torch)::

    python3 scripts/gpu_check.py --data .gpu-check --out "$OUT"

Anywhere, the same steps on the CPU at toy sizes (``make gpu-check REHEARSE=1``; the tests
run it)::

    python3 scripts/gpu_check.py --rehearse --out /tmp/gpu-check

The steps, in order, each in a child process given its share of ``--budget``:

1. install zoo against the torch already there (``pip install --no-deps``, into a folder put
   on ``PYTHONPATH``), nothing downloaded;
2. the environment: device, torch, CUDA and cuDNN versions, the CPU;
3. the CUDA-only tests (``tests/test_cuda.py``);
4. ``zoo speed`` of one network per family at 224×224, batch 256: images/s per phase;
5. each seed strategy's training-step memory on the GPU's allocator against the prediction
   zoo makes for it on a CPU, at the sizes mini trains at;
6. timm's ``benchmark.py`` on resnet18 at the settings of step 4, when a copy was carried;
7. mini on the GPU: ``zoo pretrain`` resnet18, then ``zoo bench`` of its cells until the
   budget ends; the cells finished are kept (``results.sqlite``) and counted per minute.

A step that runs out of time is stopped (SIGINT, then SIGKILL) and what it finished is kept;
the figures are rewritten after every step (``check.json``, and the page ``README.md``), so an
interrupted check still leaves them. It writes five plain files in one folder, few and small
enough to copy back from a machine that is lent for minutes. Exit status: 0 when every step that ran passed (the grid
stopped by the budget counts as passed), 1 when one failed, 2 when the check cannot start
(a package or the data missing, no CUDA device without ``--rehearse``), said in one line.

Only the standard library is imported before those checks, so that a missing package is
that one line and not a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS_PLUGIN = REPO / "tests" / "harness_plugin" / "zoo_harness_test.py"
# Import names of what zoo and its CUDA tests need, with the distribution pip installs each from.
REQUIRED = {
    "torch": "torch", "torchvision": "torchvision", "timm": "timm", "pluggy": "pluggy", "safetensors": "safetensors",
    "numpy": "numpy", "pandas": "pandas", "PIL": "pillow", "rich": "rich", "matplotlib": "matplotlib",
    "sklearn": "scikit-learn", "scipy": "scipy", "pytest": "pytest", "pytest_benchmark": "pytest-benchmark",
    "setuptools": "setuptools", "pip": "pip",
}  # fmt: skip
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)  # fmt: skip
TIMM_BENCHMARK = "timm_benchmark.py"  # the carried copy's name in the data folder
REVISION = "revision.txt"  # the commit --pack ran at, for a machine the tree arrives at without .git
DEFAULT_BUDGET = 420  # seconds: well inside the eight minutes the whole check must end in
STOP_GRACE = 10  # seconds a stopped step has to end after SIGINT before SIGKILL
EXIT_CANNOT_START = 2


class CannotStart(Exception):
    """The check cannot start here: said in one line, exit status 2."""


@dataclass(frozen=True)
class Plan:
    """What the check runs: the GPU's sizes, or the rehearsal's toy ones on the CPU."""

    device: str
    speed_archs: tuple[str, ...]
    speed_batch: int
    speed_size: int
    speed_steps: tuple[int, int]  # warm-up and timed steps
    memory: tuple[tuple[str, int, int], ...]  # (architecture, batch, side) whose step memory is measured and predicted
    memory_strategies: tuple[str, ...]
    strategies: tuple[str, ...]  # the grid's
    suite: str
    grid_arch: str
    caps: dict = field(default_factory=dict)  # seconds each step may take at most (the grid: what is left)


GPU = Plan(
    device="cuda",
    speed_archs=("resnet18", "vgg11_bn", "googlenet", "mobilenetv3_large_100", "efficientnet_lite0"),
    speed_batch=256,
    speed_size=224,
    speed_steps=(10, 40),  # timm benchmark.py's defaults, as zoo speed's
    # mini's own sizes (batch 128, 32×32) and an ImageNet-sized fine-tune
    memory=(("resnet18", 128, 32), ("vgg11_bn", 128, 32), ("efficientnet_lite0", 32, 224)),
    memory_strategies=("linear_probe", "partial", "full"),  # scratch's step is full's
    strategies=("scratch", "linear_probe", "partial", "full"),
    suite="mini",
    grid_arch="resnet18",
    caps={"install": 60, "environment": 60, "tests": 150, "speed": 90, "memory": 120, "timm": 60},
)
REHEARSAL = Plan(
    device="cpu",
    speed_archs=("resnet18",),
    speed_batch=4,
    speed_size=32,
    speed_steps=(1, 5),  # timm benchmark.py logs every fifth of its steps: five at least
    memory=(("simple_cnn", 8, 32),),
    memory_strategies=("linear_probe", "full"),
    strategies=("linear_probe", "full"),
    suite="tiny",  # tests/harness_plugin's suite: a few images per class, one epoch
    grid_arch="simple_cnn",
    caps={"install": 60, "environment": 60, "tests": 90, "speed": 60, "memory": 60, "timm": 60},
)


# ---------------------------------------------------------------------------- starting


def missing_packages() -> list[str]:
    """The distributions to install before the check can run, by pip's names."""
    return [dist for module, dist in REQUIRED.items() if importlib.util.find_spec(module) is None]


def data_folder(given: str | None) -> Path | None:
    """The data folder to read: ``--data``, else ``$ZOO_DATA``, else ``.gpu-check`` when it
    exists; None: the Debian packages' own paths."""
    if given:
        return Path(given).resolve()
    if os.environ.get("ZOO_DATA"):
        return Path(os.environ["ZOO_DATA"]).resolve()
    carried = REPO / ".gpu-check"
    return carried if carried.is_dir() else None


def installed_data() -> tuple[Path, Path]:
    """Where the data sets plugin reads Fashion-MNIST and ``digits.png`` without ``--data``."""
    sys.path.insert(0, str(REPO))  # the checkout's own plugin, installed or not
    from zoo_plugins.datasets import digits_png, fashion_mnist_dir

    return fashion_mnist_dir(), digits_png()


def check_data(folder: Path | None) -> None:
    if folder is None:
        fashion, digits = installed_data()
        wanted = [fashion / name for name in FASHION_MNIST_FILES] + [digits]
        remedy = "install them (scripts/install-data.sh as root), or give --data a folder made by --pack"
    else:
        if not folder.is_dir():
            raise CannotStart(f"the data folder {folder} does not exist: make it with `python3 scripts/gpu_check.py --pack {folder}` "
                              "on a machine with the data sets, and carry it")  # fmt: skip
        wanted = [folder / "fashion-mnist" / name for name in FASHION_MNIST_FILES] + [folder / "digits.png"]
        remedy = f"make the folder again with `python3 scripts/gpu_check.py --pack {folder}`"
    absent = [str(path) for path in wanted if not path.is_file()]
    if absent:
        raise CannotStart(f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} missing: {remedy}")


def check_device(plan: Plan) -> None:
    import torch

    if plan.device == "cuda" and not torch.cuda.is_available():
        raise CannotStart(f"no CUDA device here (torch {torch.__version__} sees none): run it on a GPU machine, "
                          "or with --rehearse to run the same steps on the CPU")  # fmt: skip


def pack(folder: Path, timm_benchmark: str | None) -> None:
    """Copy the data sets (and timm's ``benchmark.py``) into ``folder``, with the revision."""
    check_data(None)
    fashion, digits = installed_data()
    (folder / "fashion-mnist").mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES:
        shutil.copy2(fashion / name, folder / "fashion-mnist" / name)
    shutil.copy2(digits, folder / "digits.png")
    if timm_benchmark:
        if not Path(timm_benchmark).is_file():
            raise CannotStart(f"timm's benchmark.py is not at {timm_benchmark}: point --timm-benchmark at a copy")
        shutil.copy2(timm_benchmark, folder / TIMM_BENCHMARK)
    (folder / REVISION).write_text(git_revision() + "\n")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"gpu-check: packed {folder} ({size / 2**20:.1f} MiB){'' if timm_benchmark else '; no timm benchmark.py (--timm-benchmark)'}")


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


# ---------------------------------------------------------------------------- running a step


@dataclass
class StepResult:
    status: str  # "ok", "failed", "stopped at the budget" or "skipped"
    seconds: float
    stdout: str = ""
    returncode: int | None = None
    note: str = ""


class Log:
    """Everything the children print, on the terminal as it comes and in ``log.txt``."""

    def __init__(self, path: Path):
        self.file = path.open("a", encoding="utf-8")
        self.lock = threading.Lock()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()

    def line(self, text: str, echo=sys.stdout) -> None:
        with self.lock:
            echo.write(text if text.endswith("\n") else text + "\n")
            echo.flush()
            self.file.write(text if text.endswith("\n") else text + "\n")
            self.file.flush()


def run_step(argv: list[str], seconds: float, log: Log, env: dict | None = None) -> StepResult:
    """Run ``argv`` for at most ``seconds``: its stderr streamed to the log, its stdout kept
    (and logged). Past its time it is sent SIGINT, then SIGKILL after :data:`STOP_GRACE`,
    with every process it started."""
    started = time.monotonic()
    if seconds <= 0:
        return StepResult("stopped at the budget", 0.0, note="no time was left for it")
    child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                             start_new_session=True)  # fmt: skip
    kept: list[str] = []

    def pump(stream, keep: bool) -> None:
        for text in stream:
            if keep:
                kept.append(text)
            log.line(text, sys.stdout if keep else sys.stderr)

    readers = [threading.Thread(target=pump, args=(child.stdout, True)), threading.Thread(target=pump, args=(child.stderr, False))]
    for reader in readers:
        reader.start()
    stopped = False
    try:
        child.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        stopped = True
        _signal_group(child, signal.SIGINT)
        try:
            child.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()
    except BaseException:  # the check itself was interrupted: its child goes with it
        _signal_group(child, signal.SIGKILL)
        raise
    for reader in readers:
        reader.join()
    child.stdout.close()
    child.stderr.close()
    elapsed = time.monotonic() - started
    if stopped:
        return StepResult("stopped at the budget", elapsed, "".join(kept), child.returncode, f"stopped after {seconds:.0f} s")
    return StepResult("ok" if child.returncode == 0 else "failed", elapsed, "".join(kept), child.returncode)


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------- the check


class Check:
    """The steps of one check, their figures in ``check.json`` and the page ``README.md``."""

    def __init__(self, plan: Plan, out: Path, data: Path | None, home: Path, budget: float, timm: Path | None, rehearse: bool):
        self.plan, self.out, self.data, self.home, self.timm, self.rehearse = plan, out, data, home, timm, rehearse
        self.deadline = time.monotonic() + budget
        self.spent: dict[str, float] = {}  # seconds each step has taken, over its calls
        self.log = Log(out / "log.txt")
        self.site = home / "site"
        self.figures: dict = {
            "check": "rehearsal on the CPU at toy sizes" if rehearse else "GPU check",
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "budget_seconds": budget,
            "revision": self._revision(),
            "steps": {},
        }

    def _revision(self) -> str:
        revision = git_revision()
        if revision == "unknown" and self.data is not None and (self.data / REVISION).is_file():
            return (self.data / REVISION).read_text().strip() + " (as packed)"
        return revision

    # The environment every child runs in: zoo from the install step, the carried data, a
    # weights store of the check's own, the plan's precision.
    def env(self) -> dict:
        env = {**os.environ, "ZOO_HOME": str(self.home / "zoo-home"), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(self.site), *filter(None, [os.environ.get("PYTHONPATH")])])}  # fmt: skip
        if self.data is not None:
            env["ZOO_DATA"] = str(self.data)
        if self.rehearse:
            env["ZOO_PRECISION"] = "bf16"  # autocast on the CPU: the GPU run's precision, through the same code
        return env

    def zoo(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "zoo.cli.main", *args]

    def remaining(self, step: str) -> float:
        """Seconds ``step`` may still take: what is left of its cap (over all its calls) and of the budget."""
        left = self.deadline - time.monotonic()
        return min(left, self.plan.caps.get(step, left) - self.spent.get(step, 0.0))

    def step(self, name: str, argv: list[str]) -> StepResult:
        left = max(0.0, self.deadline - time.monotonic())
        self.log.line(f"\n== gpu-check: {name} ({max(0.0, self.remaining(name)):.0f} s at most, {left:.0f} s left)")
        result = run_step(argv, self.remaining(name), self.log, self.env())
        self.spent[name] = self.spent.get(name, 0.0) + result.seconds
        self.record(name, result)
        return result

    def record(self, name: str, result: StepResult, **figures) -> None:
        """A step's status (a failure in one of its calls stays), seconds and figures."""
        entry = self.figures["steps"].setdefault(name, {})
        status = "failed" if entry.get("status") == "failed" and result.status == "ok" else result.status
        entry.update({"status": status, "seconds": round(self.spent.get(name, result.seconds), 1)})
        if result.note:
            entry["note"] = result.note
        entry.update(figures)
        self.write()

    def write(self) -> None:
        (self.out / "check.json").write_text(json.dumps(self.figures, indent=2) + "\n")
        (self.out / "README.md").write_text(render(self.figures))

    def run(self) -> int:
        try:
            if self.install():  # nothing else can run without zoo
                for step in (self.environment, self.tests, self.speed, self.memory, self.timm_benchmark, self.grid):
                    step()
        finally:
            self.figures["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.write()
            failed, stopped = ([name for name, step in self.figures["steps"].items() if step["status"] == status]
                               for status in ("failed", "stopped at the budget"))  # fmt: skip
            verdict = f"failed: {', '.join(failed)}" if failed else "passed"
            verdict += f"; stopped at the budget: {', '.join(stopped)}" if stopped else ""
            self.log.line(f"\n== gpu-check: {verdict}; figures in {self.out}")
            self.log.file.close()
        return 1 if failed else 0

    def gone_wrong(self, name: str, arch: str, result: StepResult) -> bool:
        """Note which network's call of a step did not finish; True when the step's time is up."""
        entry = self.figures["steps"][name]
        entry["note"] = "; ".join(filter(None, [entry.get("note"), f"{arch}: {result.status} (see log.txt)"]))
        self.write()
        return result.status == "stopped at the budget"

    def install(self) -> bool:
        """zoo into a folder of its own, against the packages already here; the test plugin's
        tiny suite beside it when rehearsing. False when it failed."""
        shutil.rmtree(self.site, ignore_errors=True)
        argv = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-build-isolation",
                "--no-index", "--target", str(self.site), str(REPO)]  # fmt: skip
        result = self.step("install", argv)
        if result.status == "ok" and self.rehearse:
            (self.site / HARNESS_PLUGIN.name).write_text(HARNESS_PLUGIN.read_text())
            info = self.site / "zoo_harness_test-0.0.0.dist-info"
            info.mkdir()
            (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-harness-test\nVersion: 0.0.0\n")
            (info / "entry_points.txt").write_text("[zoo.plugins]\nharness_test = zoo_harness_test\n")
        return result.status == "ok"

    def environment(self) -> None:
        result = self.step("environment", [sys.executable, str(Path(__file__).resolve()), "--describe", self.plan.device])
        if result.status == "ok":
            self.figures["environment"] = json.loads(result.stdout)
            self.write()

    def tests(self) -> None:
        report = self.home / "tests.xml"
        argv = [sys.executable, "-m", "pytest", "tests/test_cuda.py", "-p", "no:cacheprovider", "-q", "-rs", f"--junitxml={report}"]
        result = self.step("tests", argv)
        counts = junit_counts(report) if report.exists() else {}
        if counts:
            shutil.copy2(report, self.out / "tests.xml")
        self.record("tests", result, **counts)

    def speed(self) -> None:
        """One network per child, so that those timed before the step's time ran out are kept;
        in channels_last everywhere: zoo's default on CUDA, and what step 6 asks of timm."""
        p = self.plan
        keys = ("architecture", "input_size", "batch_size", "precision", "train_images_per_second", "infer_images_per_second",
                "latency_ms_p50", "train_peak_bytes", "infer_peak_bytes", "memory_method", "params", "macs")  # fmt: skip
        reports = []
        for arch in p.speed_archs:
            argv = self.zoo("speed", "--arch", arch, "--device", p.device, "--batch-size", str(p.speed_batch), "--img-size",
                            str(p.speed_size), "--warmup", str(p.speed_steps[0]), "--steps", str(p.speed_steps[1]),
                            "--channels-last", "--json")  # fmt: skip
            result = self.step("speed", argv)
            if result.status != "ok":
                if self.gone_wrong("speed", arch, result):
                    return
                continue
            reports += [{k: r[k] for k in keys} for r in json.loads(result.stdout)]
            self.record("speed", result, reports=reports)

    def memory(self) -> None:
        rows = []
        for arch, batch, side in self.plan.memory:
            argv = self.zoo("speed", "--arch", arch, "--device", self.plan.device, "--batch-size", str(batch), "--img-size", str(side),
                            "--warmup", "1", "--steps", "2", "--strategy", ",".join(self.plan.memory_strategies), "--json")  # fmt: skip
            result = self.step("memory", argv)
            if result.status != "ok":
                if self.gone_wrong("memory", arch, result):
                    return
                continue
            (report,) = json.loads(result.stdout)
            for strategy, m in report["strategies"].items():
                rows.append({"architecture": arch, "batch_size": batch, "input_size": report["input_size"], "strategy": strategy,
                             "measured_bytes": m["peak_bytes"], "predicted_bytes": m["cuda_prediction_bytes"],
                             "error": m.get("cuda_prediction_error"), "method": m["method"]})  # fmt: skip
            self.record("memory", result, rows=rows, prediction_method=m["cuda_prediction_method"])

    def timm_benchmark(self) -> None:
        if self.timm is None:
            self.record("timm", StepResult("skipped", 0.0, note=f"no copy of timm's benchmark.py was carried ({TIMM_BENCHMARK} in the data folder)"))
            return
        p, arch = self.plan, self.plan.speed_archs[0]
        argv = [sys.executable, str(self.timm), "--model", arch, "--bench", "both", "--device", p.device, "--batch-size",
                str(p.speed_batch), "--img-size", str(p.speed_size), "--num-warm-iter", str(p.speed_steps[0]),
                "--num-bench-iter", str(p.speed_steps[1]), "--amp", "--amp-dtype", "bfloat16", "--channels-last"]  # fmt: skip
        result = self.step("timm", argv)
        if result.status != "ok" or "--result" not in result.stdout:
            return
        timm = json.loads(result.stdout.split("--result", 1)[1])
        ours = next((r for r in self.figures["steps"].get("speed", {}).get("reports", []) if r["architecture"] == arch), None)
        figures = {"architecture": arch, "timm_infer_images_per_second": timm.get("infer_samples_per_sec"),
                   "timm_train_images_per_second": timm.get("train_samples_per_sec")}  # fmt: skip
        if ours is not None and figures["timm_infer_images_per_second"] and figures["timm_train_images_per_second"]:
            figures["zoo_over_timm_infer"] = ours["infer_images_per_second"] / figures["timm_infer_images_per_second"]
            figures["zoo_over_timm_train"] = ours["train_images_per_second"] / figures["timm_train_images_per_second"]
        self.record("timm", result, **figures)

    def grid(self) -> None:
        p = self.plan
        pretrain = self.step("pretrain", self.zoo("pretrain", "--suite", p.suite, "--arch", p.grid_arch, "--device", p.device, "--json"))
        if pretrain.status == "ok":
            (entry,) = json.loads(pretrain.stdout)
            self.record("pretrain", pretrain, **{k: entry[k] for k in ("variant", "trained_now", "epochs", "seconds", "source_test_accuracy")})
        else:
            return
        folder = self.home / "grid"  # a check run again on the same machine goes on from the cells stored
        started = time.monotonic()
        bench = self.step("bench", self.zoo("bench", "--suite", p.suite, "--arch", p.grid_arch, "--strategy", ",".join(p.strategies),
                                            "--device", p.device, "--out", str(folder), "--no-leaderboard"))  # fmt: skip
        cells = copy_cells(folder / "results.sqlite", self.out / "results.sqlite")
        minutes = (time.monotonic() - started) / 60
        ok = [c for c in cells if c["status"] == "ok"]
        self.record("bench", bench, cells=cells, cells_ok=len(ok), cells_per_minute=len(ok) / minutes if minutes else None)


def copy_cells(path: Path, copy: Path) -> list[dict]:
    """The cells a bench stored at ``path``, copied whole into the one file ``copy`` (SQLite's
    backup: no ``-wal`` or lock files beside it) and listed, with the standard library alone
    (the check's own process imports nothing of zoo's)."""
    if not path.exists():
        return []
    columns = ("task", "quadrant", "strategy", "seed", "lr", "status", "top1", "trained_epochs", "stopped_early", "train_seconds")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        have = {row[1] for row in source.execute("PRAGMA table_info(cells)")}
        wanted = [c for c in columns if c in have]
        rows = source.execute(f"SELECT {', '.join(wanted)} FROM cells ORDER BY finished").fetchall()
        copy.unlink(missing_ok=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
    return [dict(zip(wanted, row)) for row in rows]


def junit_counts(path: Path) -> dict:
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    reasons = {case.find("skipped").get("message", "") for case in suite.iter("testcase") if case.find("skipped") is not None}
    if reasons:
        counts["skip_reasons"] = sorted(reasons)
    return counts


def describe(device_type: str) -> dict:
    """The environment the figures were measured in (run in a child, with zoo installed)."""
    import torch

    import zoo
    from zoo.device import device_name, precision, select_device

    device = select_device(device_type)
    described = {
        "device": str(device), "device_name": device_name(device), "precision": precision(device),
        "cpu": device_name(torch.device("cpu")), "python": platform.python_version(), "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "zoo": zoo.__version__, "plugins": sorted(zoo.get_zoo().reports),
    }  # fmt: skip
    import timm

    described["timm"] = timm.__version__
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        described.update(memory_bytes=props.total_memory, capability=f"{props.major}.{props.minor}",
                         multiprocessors=props.multi_processor_count, bf16=torch.cuda.is_bf16_supported())  # fmt: skip
    return described


# ---------------------------------------------------------------------------- the page


def render(f: dict) -> str:
    """``check.json`` as a short page: what ran, what held, what differed from the CPU's predictions."""
    env = f.get("environment", {})
    steps = f["steps"]
    lines = [f"# {f['check']}: {env.get('device_name', 'device not yet described')}", ""]
    lines += [f"- started {f['started']}, budget {f['budget_seconds']:.0f} s" + (f", finished {f['finished']}" if "finished" in f else ""),
              f"- zoo revision {f['revision']}"]  # fmt: skip
    if env:
        lines.append(f"- torch {env['torch']}, CUDA {env.get('cuda')}, cuDNN {env.get('cudnn')}, timm {env.get('timm')}, "
                     f"Python {env['python']}; computing in {env['precision']}")  # fmt: skip
        lines.append(f"- CPU: {env['cpu']}")
    lines += ["", "| step | status | seconds | note |", "|---|---|---:|---|"]
    lines += [f"| {name} | {s['status']} | {s['seconds']:.1f} | {s.get('note', '')} |" for name, s in steps.items()]
    if "tests" in steps and "tests" in steps["tests"]:
        t = steps["tests"]
        lines += ["", f"CUDA tests (`tests/test_cuda.py`): {t['passed']} passed, {t['failures']} failed, {t['errors']} errors, "
                      f"{t['skipped']} skipped" + (f" ({'; '.join(t['skip_reasons'])})" if t.get("skip_reasons") else "") + "."]  # fmt: skip
    if steps.get("speed", {}).get("reports"):
        lines += ["", "## Speed (`zoo speed`)", "", "| network | input | batch | precision | train img/s | inference img/s | "
                  "batch-1 p50 ms | train peak MiB |", "|---|---|---:|---|---:|---:|---:|---:|"]  # fmt: skip
        for r in steps["speed"]["reports"]:
            lines.append(f"| {r['architecture']} | {'×'.join(map(str, r['input_size'][1:]))} | {r['batch_size']} | {r['precision']} | "
                         f"{r['train_images_per_second']:,.1f} | {r['infer_images_per_second']:,.1f} | {r['latency_ms_p50']:.2f} | "
                         f"{r['train_peak_bytes'] / 2**20:,.0f} |")  # fmt: skip
    if steps.get("timm", {}).get("timm_train_images_per_second"):
        t = steps["timm"]
        lines += ["", f"timm's benchmark.py on {t['architecture']} at the same settings: {t['timm_train_images_per_second']:,.1f} "
                      f"train and {t['timm_infer_images_per_second']:,.1f} inference images/s"
                  + (f"; zoo speed reads {t['zoo_over_timm_train']:.2f}× and {t['zoo_over_timm_infer']:.2f}× those."
                     if "zoo_over_timm_train" in t else ".")]  # fmt: skip
    if steps.get("memory", {}).get("rows"):
        lines += ["", "## Training-step memory: measured against the CPU's prediction", "",
                  "| network | input | batch | strategy | measured MiB | predicted MiB | error |", "|---|---|---:|---|---:|---:|---:|"]  # fmt: skip
        for r in steps["memory"]["rows"]:
            error = f"{r['error']:+.0%}" if r["error"] is not None else "n/a (not a GPU)"
            lines.append(f"| {r['architecture']} | {'×'.join(map(str, r['input_size'][1:]))} | {r['batch_size']} | {r['strategy']} | "
                         f"{(r['measured_bytes'] or 0) / 2**20:,.0f} | {r['predicted_bytes'] / 2**20:,.0f} | {error} |")  # fmt: skip
        lines += ["", f"Measured: {steps['memory']['rows'][0]['method']}. Predicted: {steps['memory']['prediction_method']}."]
    if "pretrain" in steps and "epochs" in steps["pretrain"]:
        p = steps["pretrain"]
        lines += ["", "## The grid", "", f"Pretraining {p['variant']}: {p['epochs']} epoch{'s' * (p['epochs'] != 1)} in {p['seconds']:.0f} s, source test "
                  f"top-1 {p['source_test_accuracy']:.1%}" + ("" if p["trained_now"] else " (already stored: not trained now)") + "."]  # fmt: skip
    if "bench" in steps and "cells" in steps["bench"]:
        b = steps["bench"]
        rate = f", {b['cells_per_minute']:.1f} per minute" if b.get("cells_per_minute") else ""
        lines += ["", f"Cells finished ok: {b['cells_ok']} of {len(b['cells'])} stored{rate} ({b['status']}).", "",
                  "| task | strategy | seed | lr | status | top-1 | epochs |", "|---|---|---:|---:|---|---:|---:|"]  # fmt: skip
        for c in b["cells"]:
            top1 = f"{c['top1']:.1%}" if c.get("top1") is not None else ""
            lr = f"{c['lr']:.3g}" if c.get("lr") is not None else ""
            lines.append(f"| {c['task']} | {c['strategy']} | {c['seed']} | {lr} | {c['status']} | {top1} | {c.get('trained_epochs') or ''} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for the figures (check.json, README.md, log.txt, tests.xml, results.sqlite)")
    parser.add_argument("--data", help="the carried data folder (default: $ZOO_DATA, else .gpu-check, else the Debian packages' paths)")
    parser.add_argument("--home", help="the check's own zoo home and install folder (default: a folder under the system's temp)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds the whole check may take (default: %(default)s)")
    parser.add_argument("--timm-benchmark", help="timm's benchmark.py (default: the data folder's timm_benchmark.py, if any)")
    parser.add_argument("--rehearse", action="store_true", help="the same steps on the CPU at toy sizes")
    parser.add_argument("--pack", metavar="DIR", help="copy the data sets (and --timm-benchmark or $ZOO_TIMM_BENCHMARK) into DIR to carry")
    parser.add_argument("--describe", metavar="DEVICE", help=argparse.SUPPRESS)  # the environment step's child
    args = parser.parse_args(argv)
    try:
        missing = missing_packages()
        if missing:
            raise CannotStart(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}: "
                              f"pip install {' '.join(missing)}, or carry their wheels")  # fmt: skip
        if args.describe:
            print(json.dumps(describe(args.describe)))
            return 0
        if args.pack:
            pack(Path(args.pack).resolve(), args.timm_benchmark or os.environ.get("ZOO_TIMM_BENCHMARK"))
            return 0
        if not args.out:
            raise CannotStart("--out is required: the folder the figures go to")
        plan = REHEARSAL if args.rehearse else GPU
        data = data_folder(args.data)
        check_data(data)
        check_device(plan)
        timm = Path(args.timm_benchmark) if args.timm_benchmark else (data / TIMM_BENCHMARK if data else None)
        if timm is not None and not timm.is_file():
            if args.timm_benchmark:
                raise CannotStart(f"timm's benchmark.py is not at {timm}")
            timm = None
    except CannotStart as exc:
        print(f"gpu-check: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(args.home).resolve() if args.home else Path(tempfile.gettempdir()) / "zoo-gpu-check"
    home.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a `timeout` around the check still leaves its figures
    return Check(plan, out, data, home, args.budget, timm, args.rehearse).run()


if __name__ == "__main__":
    sys.exit(main())
