"""``zoo recommend`` on day one: a 1,000-image folder of 10 classes, from an empty ``$ZOO_HOME``
to the printed answer, through the ImageNet backbones that install with zoo.

The benchmark times the command as a team runs it, in a fresh process each round (imports and
all) with a fresh ``$ZOO_HOME``, so every round calibrates the backbones on the suite's tasks
again, as a first run does. One more run, in this process, says where the time goes, part by
part; both go to ``leaderboards/imagenet_offline/day_one.{json,md}``.

The folder: Fashion-MNIST's test images, 100 per class, brought to 256×256 and saved as JPEG
files, so that reading them costs what reading a team's small photographs would.
"""

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

import zoo
import zoo.plugin.suite as suite_module
import zoo.recommend.placement as placement
import zoo.recommend.similarity as similarity
from zoo.bench.features import SuiteBackbone
from zoo.bench.runner import environment
from zoo.cli.main import main
from zoo.device import precision, select_device
from zoo.plugin.suite import DataSelection, load_selection
from zoo.recommend import DEFAULT_SUITE

OUT = Path(__file__).resolve().parents[2] / "leaderboards" / DEFAULT_SUITE
PER_CLASS = 100
SIDE = 256
PARTS = {  # what each timed function does, in the order a run meets them
    "read the folder": (placement, "load_folder"),
    "build the backbones": (placement, "load_backbone"),
    "forward passes of the folder": (SuiteBackbone, "features"),
    "calibrate the similarity on the suite's tasks, their images read included (first run only)": (similarity, "calibrate"),
    "LogME": (placement, "logme"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    images = load_selection(zoo.get_zoo().datasets, DataSelection("fashion_mnist", (), None, PER_CLASS), seed=0)[1]
    for i, (image, label) in enumerate(zip(images.images, images.labels.tolist())):
        directory = root / images.classes[label].replace("/", "-")
        directory.mkdir(exist_ok=True)
        Image.fromarray(image[0].numpy()).convert("RGB").resize((SIDE, SIDE), Image.BILINEAR).save(directory / f"{i:04d}.jpg", quality=90)
    return root


def test_day_one_recommend_of_a_1000_image_folder(benchmark, folder, tmp_path, monkeypatch, capsys):
    homes = iter(range(100))

    def fresh_home():
        home = tmp_path / f"home-{next(homes)}"
        home.mkdir()
        return ([sys.executable, "-m", "zoo.cli.main", "recommend", str(folder), "--json"],), {"home": home}

    def run(argv, home):
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "ZOO_HOME": str(home)})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    report = benchmark.pedantic(run, setup=fresh_home, rounds=3)
    assert report["images"] == 10 * int(PER_CLASS * 0.8) and report["suite"] == DEFAULT_SUITE  # the training 80%

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home-parts"))
    suite_module._load_split.cache_clear()  # the data sets are read from their files again, as in a fresh process
    spent = {part: 0.0 for part in PARTS}
    for part, (owner, name) in PARTS.items():
        monkeypatch.setattr(owner, name, _timed(getattr(owner, name), spent, part))
    started = time.perf_counter()
    assert main(["recommend", str(folder), "--json"]) == 0
    total = time.perf_counter() - started
    capsys.readouterr()
    # calibrate() runs inside read(), which features() does not: the parts do not overlap
    parts = {**{part: round(seconds, 2) for part, seconds in spent.items()}, "the rest": round(total - sum(spent.values()), 2)}
    device = select_device()
    result = {
        "folder": f"{10 * PER_CLASS} Fashion-MNIST test images, 10 classes, {SIDE}×{SIDE} JPEG", "suite": DEFAULT_SUITE,
        "command": "zoo recommend FOLDER --json, from an empty $ZOO_HOME, in a fresh process",
        "seconds": {k: round(benchmark.stats[k], 2) for k in ("min", "median", "max")}, "rounds": 3,
        "in_process_seconds": round(total, 2), "parts": parts,
        "backbones": [b["variant"] for b in report["transferability"]["backbones"]],
        **environment(device, precision(device)), "date": date.today().isoformat(),
    }  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "day_one.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (OUT / "day_one.md").write_text(render(result))


def _timed(function, spent: dict, part: str):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part] += time.perf_counter() - started

    return timed


def render(result: dict) -> str:
    s = result["seconds"]
    lines = [
        "# `zoo recommend` on day one\n",
        f"{result['folder']}, recommended from an empty `$ZOO_HOME` with the backbones installed with zoo "
        f"({', '.join(result['backbones'])}): **{s['median']:.1f} s** from the command to the printed answer (median of "
        f"{result['rounds']} fresh processes, {s['min']:.1f}–{s['max']:.1f} s; `make benchmark`, "
        "tests/benchmarks/test_recommend_day_one.py).\n",
        f"Where the time goes, in one more run in the test's process ({result['in_process_seconds']:.1f} s, without "
        "Python's start and zoo's imports):\n",
        "| part | seconds |",
        "|---|---:|",
        *(f"| {part} | {seconds:.2f} |" for part, seconds in result["parts"].items()),
        "",
        f"Measured on {result['device']} ({result['threads']} threads, {result['device_name']}, {result['precision']}); "
        f"torch {result['torch']}, zoo {result['zoo']}, {result['date']}.",
    ]
    return "\n".join(lines) + "\n"
