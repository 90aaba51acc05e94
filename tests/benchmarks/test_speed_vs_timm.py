"""``zoo speed`` against timm's ``benchmark.py``: the same network, batch, resolution, threads
and precision, each tool at its own defaults, in fresh processes.

timm's ``benchmark.py`` is not part of the timm package. Point ``ZOO_TIMM_BENCHMARK`` at a
copy (from https://github.com/huggingface/pytorch-image-models) to run this::

    ZOO_TIMM_BENCHMARK=/tmp/timm_benchmark.py pytest tests/benchmarks/test_speed_vs_timm.py --benchmark-only

Inference of resnet18 at batch 32, 224×224, fp32 on the CPU, three pairs, the order within a
pair alternated; asserts that the median of zoo's images/s over timm's is within ±5%. zoo's
side is :func:`zoo.bench.speed.measure_inference`, the figure ``zoo speed`` reports, which it
measures first, before training. Each run takes a minute or more on a 2-core CPU.
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TIMM_BENCHMARK = os.environ.get("ZOO_TIMM_BENCHMARK", "")
ARCH, BATCH, SIZE, PAIRS = "resnet18", 32, 224, 3

pytestmark = pytest.mark.skipif(
    not TIMM_BENCHMARK or not Path(TIMM_BENCHMARK).is_file(),
    reason="set ZOO_TIMM_BENCHMARK to the path of timm's benchmark.py (github.com/huggingface/pytorch-image-models) "
    "to compare zoo speed with it",
)

ZOO_SIDE = """
import json, sys
import torch
import zoo
from zoo.bench.speed import measure_inference
spec = zoo.get_zoo().architectures.get(sys.argv[1])
size = int(sys.argv[3])
print(json.dumps(measure_inference(spec, torch.device("cpu"), int(sys.argv[2]), (3, size, size))))
"""


def environment() -> dict:
    """Both tools on the same number of threads, in fp32, offline."""
    threads = os.environ.get("OMP_NUM_THREADS") or str(torch.get_num_threads())
    return {**os.environ, "OMP_NUM_THREADS": threads, "ZOO_PRECISION": "fp32", "HF_HUB_OFFLINE": "1"}


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=environment(), check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def zoo_images_per_second() -> float:
    return json.loads(run([sys.executable, "-c", ZOO_SIDE, ARCH, str(BATCH), str(SIZE)]).strip().splitlines()[-1])


def timm_images_per_second() -> float:
    out = run([sys.executable, TIMM_BENCHMARK, "--model", ARCH, "--bench", "inference", "--batch-size", str(BATCH),
               "--img-size", str(SIZE), "--device", "cpu", "--precision", "float32"])  # fmt: skip
    return json.loads(out.split("--result", 1)[1])["infer_samples_per_sec"]


def test_zoo_speed_agrees_with_timm_benchmark(benchmark):
    zoo_figures, timm_figures = [], []

    def pairs() -> None:
        for pair in range(PAIRS):  # zoo first, then timm first, ...: drift on a shared machine falls on both
            first, second = (zoo_images_per_second, timm_images_per_second)[:: 1 if pair % 2 == 0 else -1]
            a, b = first(), second()
            zoo_figure, timm_figure = (a, b) if pair % 2 == 0 else (b, a)
            zoo_figures.append(zoo_figure)
            timm_figures.append(timm_figure)

    benchmark.pedantic(pairs, rounds=1, iterations=1)
    ratios = [z / t for z, t in zip(zoo_figures, timm_figures)]
    ratio = statistics.median(ratios)
    benchmark.extra_info.update(
        zoo_images_per_second=zoo_figures,
        timm_images_per_second=timm_figures,
        ratios=[round(r, 3) for r in ratios],
        ratio=round(ratio, 3),
        threads=environment()["OMP_NUM_THREADS"],
    )
    print(f"zoo/timm images/s: {', '.join(f'{z}/{t}' for z, t in zip(zoo_figures, timm_figures))}; "
          f"ratios {', '.join(f'{r:.3f}' for r in ratios)}; median {ratio:.3f}")  # fmt: skip
    assert 0.95 <= ratio <= 1.05, f"zoo speed reads {ratio:.2f}× timm's benchmark.py (pairs: {ratios})"
