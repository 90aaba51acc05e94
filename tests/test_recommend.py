"""``zoo recommend``: each mini task, exported as an image folder, lands in its own quadrant.

The backbone is simple_cnn pretrained on the real mini source once per module (the real
backbones take minutes each); its weights and calibration live in a module-wide zoo home.
"""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import zoo
from zoo import similarity
from zoo.cli import main
from zoo.data import ImageSet
from zoo.pretrain import pretrain
from zoo.recommend import logme_agreement, measure_quadrant, rule_of_thumb
from zoo.results import ResultsStore
from zoo.suites import load_selection
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(
    not (offline.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists() or not offline.DIGITS_PNG.exists(),
    reason="mini's data are not installed: run `make test` as root, or scripts/install-data.sh",
)

CPU = torch.device("cpu")
MINI = "mini"


def export_imagefolder(images: ImageSet, root: Path) -> Path:
    """Write ``images`` as PNG files, one sub-folder per class (``/`` in a name becomes ``-``)."""
    for i, (image, label) in enumerate(zip(images.images, images.labels.tolist())):
        folder = root / images.classes[label].replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = image.permute(1, 2, 0).squeeze(-1).numpy()
        Image.fromarray(pixels).save(folder / f"{i:05d}.png")
    return root


@pytest.fixture(scope="module")
def mini_home(tmp_path_factory) -> Path:
    """A zoo home holding simple_cnn pretrained on mini's source (and, once measured, its
    similarity calibration)."""
    home = tmp_path_factory.mktemp("mini-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        suite = zoo.get_zoo().suites.get(MINI)
        pretrain(suite, zoo.get_zoo().architectures.get("simple_cnn"), device=CPU)
    return home


@pytest.fixture
def pretrained(zoo_home, mini_home, monkeypatch) -> Path:
    """This test runs in the module's zoo home, with the pretrained simple_cnn."""
    monkeypatch.setenv("ZOO_HOME", str(mini_home))
    return mini_home


@pytest.fixture(scope="module")
def task_folders(tmp_path_factory) -> dict[str, Path]:
    """Every mini task's training images as an image folder."""
    root = tmp_path_factory.mktemp("tasks")
    suite = zoo.get_zoo().suites.get(MINI)
    return {task.name: export_imagefolder(load_selection(task.data, seed=0)[0], root / task.name) for task in suite.tasks}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["recommend", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("task", [t.name for t in zoo.get_zoo().suites.get(MINI).tasks])
def test_every_mini_task_lands_in_its_declared_quadrant(task, task_folders, pretrained, tmp_path, capsys):
    declared = zoo.get_zoo().suites.get(MINI).task(task)
    code, out, err = run(capsys, task_folders[task], "--arch", "simple_cnn", "--json", "--results", tmp_path / "none.sqlite")
    assert code == 0, err
    report = json.loads(out)
    assert report["quadrant"] == declared.quadrant
    assert report["size"]["verdict"] == declared.size and report["similarity"]["verdict"] == declared.similarity
    assert report["recommendation"]["strategy"] == rule_of_thumb(declared.quadrant)[0]
    assert report["recommendation"]["architecture"] == "simple_cnn"
    reading = report["similarity"]["backbones"][0]
    assert reading["calibration_separates_tasks"]
    assert {p["task"] for p in reading["calibration"]} == {t.name for t in zoo.get_zoo().suites.get(MINI).tasks}
    assert report["measured"] is None and not out.count("zoo:")  # progress stays on stderr


def test_json_has_the_measurements_behind_the_recommendation(task_folders, pretrained, tmp_path, capsys):
    code, out, _ = run(capsys, task_folders["digits_small"], "--arch", "simple_*", "--json", "--results", tmp_path / "no.sqlite")
    report = json.loads(out)
    assert code == 0
    assert set(report) >= {"data", "images", "classes", "quadrant", "size", "similarity", "transferability", "recommendation", "measured", "reasons"}
    assert report["size"]["small_threshold"] == 100 and "mini suite" in report["size"]["threshold_from"]
    assert report["size"]["per_class"] == {str(d): 8 for d in range(10)}  # 10 per class, 80% of them to train
    assert report["transferability"]["score"] == "LogME"
    [score] = report["transferability"]["backbones"]
    assert score["variant"].startswith("simple_cnn.mini-") and isinstance(score["logme"], float)
    assert report["recommendation"]["weights"] == score["variant"]
    assert set(report["recommendation"]["alternatives"]) == {"gradual_unfreeze"}
    assert all(isinstance(reason, str) and reason for reason in report["reasons"])


def test_small_threshold_overrides_the_suite(task_folders, pretrained, tmp_path, capsys):
    code, out, _ = run(capsys, task_folders["fashion_footwear_large"], "--arch", "simple_cnn",
                       "--small-threshold", "1000", "--results", tmp_path / "none.sqlite")  # fmt: skip
    assert code == 0
    assert "quadrant:  Q4 (small, similar)" in out and "strategy:  linear_probe" in out
    assert "against a threshold of 1000 (given with --small-threshold)" in out


def test_measured_winner_checks_the_rule_of_thumb(task_folders, pretrained, tmp_path, capsys):
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = [("linear_probe", 0, 0.70), ("linear_probe", 1, 0.72), ("partial", 0, 0.80), ("full", 0, 0.60)]
    for i, (strategy, seed, top1) in enumerate(rows):
        store.record({"key": str(i), "suite": MINI, "task": "fashion_footwear_small", "quadrant": "Q4",
                      "architecture": "resnet18", "strategy": strategy, "seed": seed, "status": "ok", "top1": top1})  # fmt: skip
    store.record({"key": "q1", "suite": MINI, "task": "digits_large", "quadrant": "Q1", "architecture": "resnet18",
                  "strategy": "scratch", "seed": 0, "status": "ok", "top1": 0.99})  # fmt: skip
    code, out, _ = run(capsys, task_folders["fashion_footwear_small"], "--arch", "simple_cnn", "--results", store.path)
    assert code == 0
    assert "strategy:  partial" in out
    assert "partial won, which disagrees, so partial is recommended" in out
    behind = out.split("measured in Q4")[1].splitlines()
    assert [line.split() for line in behind if "linear_probe" in line] == [["fashion_footwear_small", "resnet18", "linear_probe", "71.00%", "2"]]
    assert not any("digits_large" in line for line in behind)


def test_measure_quadrant_places_an_image_set(pretrained):
    suite = zoo.get_zoo().suites.get(MINI)
    train, _ = load_selection(suite.task("digits_large").data, seed=1)
    placement = measure_quadrant(train, MINI, archs=["simple_cnn"], device=CPU)
    assert placement.quadrant == "Q1" and placement.position > 0
    assert placement.as_dict()["size"]["median_per_class"] == suite.task("digits_large").data.train_per_class


def test_the_calibration_is_computed_once(pretrained, monkeypatch):
    suite = zoo.get_zoo().suites.get(MINI)
    train, _ = load_selection(suite.task("fashion_footwear_small").data, seed=0)
    first = measure_quadrant(train, MINI, archs=["simple_cnn"], device=CPU)
    [stored] = (pretrained / "similarity" / MINI).glob("simple_cnn.mini-*.json")
    assert json.loads(stored.read_text())["points"] == [vars(p) for p in first.similarity[0].calibration.points]

    def no_more_tasks(selection, seed, *args, **kwargs):
        if selection.dataset == "digits":
            raise AssertionError("the calibration was measured again")
        return load_selection(selection, seed, *args, **kwargs)

    monkeypatch.setattr(similarity, "load_selection", no_more_tasks)
    again = measure_quadrant(train, MINI, archs=["simple_cnn"], device=CPU)
    assert again.similarity[0].calibration == first.similarity[0].calibration


def test_missing_weights_say_how_to_make_them(task_folders, capsys):
    code, out, err = run(capsys, task_folders["digits_small"])
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "zoo: error: no backbone has mini weights in the weights store yet; run "
        "`zoo pretrain --suite mini --arch resnet18,vgg11_bn,googlenet` (or `zoo bench`) first"
    ]
    code, _, err = run(capsys, task_folders["digits_small"], "--arch", "resnet18")
    assert code == 2 and "run `zoo pretrain --suite mini --arch resnet18` first" in err


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    code, out, err = run(capsys, tmp_path / "nowhere", "--arch", "simple_cnn")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith(f"zoo: error: image folder {tmp_path / 'nowhere'} does not exist")


def test_a_corrupt_image_is_named_unless_skipped(pretrained, tmp_path, capsys):
    suite = zoo.get_zoo().suites.get(MINI)
    folder = export_imagefolder(load_selection(suite.task("fashion_footwear_small").data, seed=0)[0], tmp_path / "mine")
    broken = folder / "Bag" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, out, err = run(capsys, folder, "--arch", "simple_cnn", "--results", tmp_path / "none.sqlite")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert str(broken) in line and "--skip-corrupt" in line
    code, out, _ = run(capsys, folder, "--arch", "simple_cnn", "--skip-corrupt", "--results", tmp_path / "none.sqlite")
    assert code == 0 and "quadrant:  Q4" in out


def test_hub_suites_have_no_source_images_to_compare_with(task_folders, pretrained):
    with pytest.raises(zoo.errors.ZooError, match="no images of its source"):
        measure_quadrant(task_folders["digits_small"], "imagenet", archs=["resnet18"], device=CPU)


def test_logme_agreement_needs_a_results_database(pretrained, tmp_path):
    with pytest.raises(zoo.errors.ZooError, match="run `zoo bench` first"):
        logme_agreement(MINI, tmp_path / "absent.sqlite")


def test_bench_runs_a_team_folder_as_one_more_task_in_its_measured_quadrant(task_folders, pretrained, tmp_path, capsys):
    folder = task_folders["digits_small"]
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe", "--task", "fashion_footwear_small",
            "--seeds", "1", "--data", str(folder), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "task data_digits_small in Q3" in err
    rows = {r["task"]: r for r in ResultsStore(tmp_path / "out" / "results.sqlite").rows()}
    assert set(rows) == {"fashion_footwear_small", "data_digits_small"}
    team = rows["data_digits_small"]
    assert team["status"] == "ok" and team["quadrant"] == "Q3" and team["config"]["data_root"] == str(folder.resolve())
    assert (tmp_path / "out" / "leaderboard.md").read_text().count("data_digits_small") >= 1

    assert main(argv) == 0
    assert "2 cells: 0 run, 2 already stored" in capsys.readouterr().out
    (folder / "0" / "00000.png").touch()  # the folder changed: its cells are new, the suite's are not
    assert main(argv) == 0
    assert "2 cells: 1 run, 1 already stored" in capsys.readouterr().out


def test_bench_data_that_is_not_a_folder_is_one_line(pretrained, tmp_path, capsys):
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe", "--data", str(tmp_path / "nowhere")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "nowhere" in err and len(err.strip().splitlines()) == 1
