"""``zoo recommend``: each mini task, exported as an image folder, lands in its own quadrant.

The backbone is simple_cnn pretrained on the real mini source once per module (the real
backbones take minutes each); its weights and calibration live in a module-wide zoo home.
"""

import dataclasses
import json
import statistics
from pathlib import Path

import pytest
import torch
from PIL import Image
from scipy.stats import kendalltau

import zoo
import zoo.models.weights
from zoo.bench.features import SuiteBackbone
from zoo.bench.pretraining import pretrain
from zoo.cli.main import main
from zoo.data.images import ImageSet
from zoo.data.preprocess import prepare
from zoo.leaderboard.verdict import OVERALL
from zoo.leaderboard.writers import strategy_rule
from zoo.matrix import rule_of_thumb
from zoo.plugin.manager import load_plugins
from zoo.plugin.strategy import Phase, StrategySpec
from zoo.plugin.suite import DataSelection, load_selection
from zoo.recommend import similarity
from zoo.recommend.advice import measured
from zoo.recommend.placement import Placement, SizeReading, measure_quadrant
from zoo.recommend.similarity import Calibration, CalibrationPoint, SimilarityReading
from zoo.results.schema import CellResult
from zoo.results.store import ResultsStore
from zoo.studies.agreement import logme_agreement, pooled_agreement
from zoo.studies.heldout import FOLDERS, write_folder
from zoo.studies.transferability import VERSION
from zoo.train.loop import evaluate
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(
    not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists() or not offline.digits_png().exists(),
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


QUICK_PRETRAINING = 3  # epochs: enough for simple_cnn's features to tell clothing from digits
QUICK_SOURCE = 2000  # images per clothing class, of the 6,000 the default run pretrains on


def quick_zoo():
    """The installed plugins, with mini's pretraining cut to a third of the source for a few
    epochs and no learning-rate sweep: the suite as the default run uses it would pretrain
    for many minutes."""
    loaded = load_plugins()
    mini = loaded.suites.get(MINI)
    plugin = loaded.suites.plugin_of(MINI)
    others = [loaded.suites.get(name) for name in loaded.suites.names() if loaded.suites.plugin_of(name) == plugin and name != MINI]
    loaded.suites.remove_plugin(plugin)
    recipe = dataclasses.replace(mini.pretrain_recipe, epochs=QUICK_PRETRAINING)
    source = dataclasses.replace(mini.source, train_per_class=QUICK_SOURCE)
    for spec in [dataclasses.replace(mini, source=source, pretrain_recipe=recipe, lr_factors=(1.0,)), *others]:
        loaded.suites.add(spec, plugin)
    return loaded


@pytest.fixture(scope="module", autouse=True)
def quick_mini():
    """This module's tests see :func:`quick_zoo`."""
    loaded = quick_zoo()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "get_zoo", lambda: loaded)
        yield loaded


@pytest.fixture(scope="module")
def mini_home(tmp_path_factory, quick_mini, step_memory_cache) -> Path:
    """A zoo home holding simple_cnn pretrained on mini's source (and, once measured, its
    similarity calibration), with the session's step memory figures."""
    home = tmp_path_factory.mktemp("mini-home")
    (home / "memory").symlink_to(step_memory_cache, target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        suite = zoo.get_zoo().suites.get(MINI)
        pretrain(zoo.get_zoo().datasets, suite, zoo.get_zoo().architectures.get("simple_cnn"), device=CPU)
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
    return {task.name: export_imagefolder(load_selection(zoo.get_zoo().datasets, task.data, seed=0)[0], root / task.name) for task in suite.tasks}


def run(capsys, *argv) -> tuple[int, str, str]:
    """``zoo recommend ARGV --suite mini``: this module's suite, not the command's default."""
    code = main(["recommend", *map(str, argv), "--suite", MINI])
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
    assert report["recommendation"]["strategy"] == rule_of_thumb(declared.quadrant, strategy_rule(zoo.get_zoo()))[0]
    assert report["recommendation"]["strategy_from"] == "rule of thumb"
    assert report["recommendation"]["architecture"] == "simple_cnn"
    reading = report["similarity"]["backbones"][0]
    assert reading["calibration_separates_tasks"]
    assert {p["task"] for p in reading["calibration"]} == {t.name for t in zoo.get_zoo().suites.get(MINI).tasks}
    assert report["measured"] is None and not out.count("zoo:")  # progress stays on stderr


@pytest.mark.parametrize("name", ["shapes", "gratings"])
def test_a_generated_folder_of_another_domain_is_not_placed_as_similar(name, pretrained, tmp_path, capsys):
    heldout = next(h for h in FOLDERS if h.name == name)
    folder = write_folder(zoo.get_zoo().datasets, dataclasses.replace(heldout, train_per_class=30), tmp_path)
    code, out, _ = run(capsys, folder, "--arch", "simple_cnn", "--json")
    assert code == 0
    assert json.loads(out)["quadrant"] in ("Q1", "Q3")


def test_json_has_the_measurements_behind_the_recommendation(task_folders, pretrained, tmp_path, capsys):
    code, out, _ = run(capsys, task_folders["digits_small"], "--arch", "simple_*", "--json", "--results", tmp_path / "no.sqlite")
    report = json.loads(out)
    assert code == 0
    assert set(report) >= {"data", "images", "classes", "quadrant", "size", "similarity", "transferability", "recommendation", "measured", "reasons"}
    assert report["size"]["small_threshold"] == 100 and "mini suite" in report["size"]["threshold_from"]
    assert report["size"]["per_class"] == {str(d): 16 for d in range(10)}  # 20 per class, 80% of them to train
    assert report["transferability"]["score"] == "LogME"
    [score] = report["transferability"]["backbones"]
    assert score["variant"].startswith("simple_cnn.mini-") and isinstance(score["logme"], float)
    assert report["recommendation"]["weights"] == score["variant"]
    strategies = zoo.get_zoo().strategies
    naming_q3 = {name for name in strategies.names() if "Q3" in strategies.get(name).quadrants}
    assert report["quadrant"] == "Q3" and set(report["recommendation"]["alternatives"]) == naming_q3 - {"partial"}
    assert all(isinstance(reason, str) and reason for reason in report["reasons"])


def test_small_threshold_overrides_the_suite(task_folders, pretrained, tmp_path, capsys):
    code, out, _ = run(capsys, task_folders["fashion_footwear_large"], "--arch", "simple_cnn",
                       "--small-threshold", "1000", "--results", tmp_path / "none.sqlite")  # fmt: skip
    assert code == 0
    assert "quadrant:  Q4 (small, similar)" in out and "strategy:  linear_probe" in out
    assert "against a threshold of 1000 (given with --small-threshold)" in out


def store_cells(path: Path, cells) -> Path:
    """A results database of finished cells: (task, quadrant, architecture, strategy, seed, top-1)."""
    store = ResultsStore(path)
    for i, (task, quadrant, arch, strategy, seed, top1) in enumerate(cells):
        store.record(CellResult(key=str(i), suite=MINI, task=task, quadrant=quadrant, architecture=arch,
                                strategy=strategy, seed=seed, status="ok", top1=top1))  # fmt: skip
    return store.path


def test_an_undecided_verdict_leaves_the_rule_of_thumb(task_folders, pretrained, tmp_path, capsys):
    path = store_cells(tmp_path / "results.sqlite", [
        *[("fashion_footwear_small", "Q4", "resnet18", s, seed, top1)
          for s, seed, top1 in [("linear_probe", 0, 0.70), ("linear_probe", 1, 0.72), ("partial", 0, 0.80), ("full", 0, 0.60)]],
        ("digits_large", "Q1", "resnet18", "scratch", 0, 0.99),
    ])  # fmt: skip
    code, out, _ = run(capsys, task_folders["fashion_footwear_small"], "--arch", "simple_cnn", "--results", path)
    assert code == 0
    assert "strategy:  linear_probe" in out
    assert (
        f"Measured on fashion_footwear_small ({path}) on resnet18, the only architecture measured: disagree: partial beat "
        "the rule's linear_probe by 10.00 points; one seed: interval unknown." in out
    )  # on seed 0, the one both have: 80 - 70
    assert "The verdict is not decisive, so the rule of thumb's linear_probe is recommended." in out
    header, *behind = out.split(f"verdict in Q4 ({path}):\n")[1].splitlines()
    assert header.split() == ["TASK", "SCOPE", "WON", "RULE", "MARGIN", "95%", "CI", "DECISIVE"]
    assert [line.split() for line in behind] == [["fashion_footwear_small", "resnet18", "partial", "linear_probe", "10.00", "unknown", "–"]]
    assert not any("digits_large" in line for line in behind)


def decisive_cells() -> list[tuple]:
    """partial ahead of linear_probe by 10, 11 and 12 points on the three seeds of both
    architectures; a team's folder measured in Q4 and a Q1 task, neither of which counts."""
    cells = [("fashion_footwear_small", "Q4", arch, "linear_probe", seed, 0.70 + 0.01 * seed) for arch in ("resnet18", "vgg11_bn") for seed in range(3)]
    cells += [("fashion_footwear_small", "Q4", arch, "partial", seed, 0.80 + 0.02 * seed) for arch in ("resnet18", "vgg11_bn") for seed in range(3)]
    cells += [("data_mine", "Q4", "resnet18", "scratch", 0, 0.99), ("digits_large", "Q1", "resnet18", "scratch", 0, 0.99)]
    return cells


def test_measured_reads_the_leaderboards_verdict(tmp_path):
    suite = zoo.get_zoo().suites.get(MINI)
    path = store_cells(tmp_path / "results.sqlite", decisive_cells())
    evidence = measured(zoo.get_zoo(), path, suite, "Q4", "resnet18")
    assert [(e.verdict.task, e.verdict.scope, e.deciding) for e in evidence.verdicts] == [
        ("fashion_footwear_small", OVERALL, True), ("fashion_footwear_small", "resnet18", False)
    ]
    [overall] = evidence.deciding
    assert overall.measured == "partial" and overall.recommended == "linear_probe" and overall.agree is False
    assert overall.margin_points == pytest.approx(11.0) and overall.decisive is True
    assert 0 < overall.ci_low_points < 11.0 < overall.ci_high_points and overall.ci_high_points - 11.0 == pytest.approx(11.0 - overall.ci_low_points)
    assert evidence.winner == "partial"
    assert [e.verdict.scope for e in measured(zoo.get_zoo(), path, suite, "Q4", "simple_cnn").verdicts] == [OVERALL]  # no verdict of its own
    assert measured(zoo.get_zoo(), path, suite, "Q2") is None and measured(zoo.get_zoo(), tmp_path / "absent.sqlite", suite, "Q4") is None


def test_a_decisive_verdict_recommends_the_measured_winner(task_folders, pretrained, tmp_path, capsys):
    path = store_cells(tmp_path / "results.sqlite", decisive_cells())
    code, out, _ = run(capsys, task_folders["fashion_footwear_small"], "--arch", "simple_cnn", "--json", "--results", path)
    assert code == 0
    report = json.loads(out)
    assert report["recommendation"]["strategy"] == "partial" and report["recommendation"]["strategy_from"] == "measured"
    assert report["recommendation"]["rule_of_thumb"] == "linear_probe"
    assert report["measured"]["decisive_winner"] == "partial" and report["measured"]["results"] == str(path)
    [overall] = report["measured"]["verdicts"]
    assert overall["scope"] == OVERALL and overall["deciding"] is True and overall["decisive"] is True
    assert {"margin_points", "ci_low_points", "ci_high_points", "seeds", "test_images", "compared_with", "verdict"} <= set(overall)
    quoted = (
        f"disagree: partial beat the rule's linear_probe by 11.00 points, a mean over these 2 architectures; the best on 2 of 2 "
        f"(95% CI {overall['ci_low_points']:.2f} to "
        f"{overall['ci_high_points']:.2f}, seeds alone: no per-image results): decisive"
    )
    assert overall["verdict"] == quoted
    assert f"Measured on fashion_footwear_small ({path}) over the architectures measured: {quoted}." in report["reasons"]
    assert "The verdict is decisive, so the measured winner partial is recommended over the rule of thumb's linear_probe." in report["reasons"]


def test_a_plugin_strategy_naming_q4_does_not_displace_linear_probe(task_folders, pretrained, tmp_path, capsys, monkeypatch):
    class Aardvark:
        @zoo.hookimpl
        def zoo_register_strategies(self, registry):
            registry.add(StrategySpec("aardvark", "a plugin strategy that names Q4 too", (Phase("head"),), quadrants=("Q4",)))

    loaded = quick_zoo()
    loaded.add_plugin(Aardvark(), "aardvark")
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    code, out, err = run(capsys, task_folders["fashion_footwear_small"], "--arch", "simple_cnn", "--json", "--results", tmp_path / "none.sqlite")
    assert code == 0, err
    recommendation = json.loads(out)["recommendation"]
    assert recommendation["strategy"] == recommendation["rule_of_thumb"] == "linear_probe"
    others = sorted(n for n in loaded.strategies.names() if "Q4" in loaded.strategies.get(n).quadrants and n not in ("aardvark", "linear_probe"))
    assert recommendation["alternatives"] == ["aardvark", *others]  # after the seed strategy, by name


def test_the_backbone_to_fine_tune_decides_the_similarity():
    """Backbones' positions are in units of their own calibration, so they are not averaged:
    the reading of the backbone with the highest LogME (the one recommended) decides."""
    points = [CalibrationPoint("near", "similar", "large", 100, 0.3), CalibrationPoint("far", "different", "large", 100, 0.7)]
    calibration = Calibration.from_points(MINI, "any", points)
    size = SizeReading({"a": 150, "b": 150}, 100, "given")
    near = SimilarityReading("near_net.mini-1", 0.45, calibration, similarity.STATISTIC)  # position -0.25: similar
    far = SimilarityReading("far_net.mini-1", 2.0, calibration, similarity.STATISTIC)  # position +6.5: different
    first = Placement(MINI, size, (near, far), {"near_net.mini-1": 1.2, "far_net.mini-1": 0.4})
    assert (first.decided_by, first.similarity_verdict, first.quadrant) == (near, "similar", "Q2")
    assert first.position == pytest.approx(-0.25)  # the mean, +3.125, would have said different
    second = Placement(MINI, size, (near, far), {"far_net.mini-1": 0.9, "near_net.mini-1": 0.2})
    assert (second.similarity_verdict, second.quadrant) == ("different", "Q1")
    assert second.as_dict()["similarity"]["decided_by"] == "far_net.mini-1"


def test_measure_quadrant_places_an_image_set(pretrained):
    suite = zoo.get_zoo().suites.get(MINI)
    train, _ = load_selection(zoo.get_zoo().datasets, suite.task("digits_large").data, seed=1)
    placement = measure_quadrant(zoo.get_zoo(), train, MINI, archs=["simple_cnn"], device=CPU)
    assert placement.quadrant == "Q1" and placement.position > 0
    assert placement.as_dict()["size"]["median_per_class"] == suite.task("digits_large").data.train_per_class


def test_the_calibration_is_computed_once(pretrained, monkeypatch):
    suite = zoo.get_zoo().suites.get(MINI)
    train, _ = load_selection(zoo.get_zoo().datasets, suite.task("fashion_footwear_small").data, seed=0)
    first = measure_quadrant(zoo.get_zoo(), train, MINI, archs=["simple_cnn"], device=CPU)
    [stored] = (pretrained / "similarity" / MINI).glob("simple_cnn.mini-*.stem-mmd.json")
    assert json.loads(stored.read_text())["points"] == [vars(p) for p in first.similarity[0].calibration.points]

    def no_more_tasks(datasets, selection, seed, *args, **kwargs):
        if selection.dataset == "digits":
            raise AssertionError("the calibration was measured again")
        return load_selection(datasets, selection, seed, *args, **kwargs)

    monkeypatch.setattr(similarity, "load_selection", no_more_tasks)
    again = measure_quadrant(zoo.get_zoo(), train, MINI, archs=["simple_cnn"], device=CPU)
    assert again.similarity[0].calibration == first.similarity[0].calibration


def test_missing_weights_say_how_to_make_them(task_folders, capsys):
    code, out, err = run(capsys, task_folders["digits_small"])
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "zoo: error: no backbone has mini weights in the weights store yet; run "
        "`zoo pretrain --suite mini --arch resnet18,vgg11_bn,googlenet` (or `zoo bench`) first, "
        "or leave out --suite to recommend from the ImageNet backbones installed with zoo"
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
    folder = export_imagefolder(load_selection(zoo.get_zoo().datasets, suite.task("fashion_footwear_small").data, seed=0)[0], tmp_path / "mine")
    broken = folder / "Bag" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, out, err = run(capsys, folder, "--arch", "simple_cnn", "--results", tmp_path / "none.sqlite")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert str(broken) in line and "--skip-corrupt" in line
    code, out, _ = run(capsys, folder, "--arch", "simple_cnn", "--skip-corrupt", "--results", tmp_path / "none.sqlite")
    assert code == 0 and "quadrant:  Q4" in out


def test_without_source_images_a_backbone_needs_batchnorm_statistics_in_its_stem():
    plugins = zoo.get_zoo()
    suite, arch = plugins.suites.get("imagenet_offline"), plugins.architectures.get("alexnet")  # no BatchNorm anywhere
    backbone = SuiteBackbone(suite, arch, "alexnet.x", "x", zoo.create_model("alexnet").eval(), CPU)
    with pytest.raises(zoo.errors.ZooError, match="alexnet's stem has no BatchNorm statistics.*leave alexnet out with --arch"):
        similarity.statistic(plugins.datasets, backbone)


def _ranked(task: str, archs: list[str], accuracy: list[float], logme_scores: list[float]) -> dict:
    return {"task": task, "architectures": archs, "best_top1": accuracy, "scores": {"logme": logme_scores}}


def test_pooled_agreement_shuffles_the_backbones_jointly_across_tasks():
    archs = ["a", "b", "c", "d", "e"]
    perfect = [_ranked(t, archs, [0.1, 0.2, 0.3, 0.4, 0.5], [1, 2, 3, 4, 5]) for t in ("x", "y")]
    assert pooled_agreement(perfect)["logme"] == {"tau": pytest.approx(1.0), "p_value": pytest.approx(2 / 120), "tasks": 2,
                                                  "backbones": archs, "exact": True}  # fmt: skip
    # Four tasks that agree with one another at τ = 0.6: one piece of evidence, not four. Shuffled
    # per task they would reach p < 0.05; shuffled jointly, p is the one task's exact p-value.
    same = [_ranked(t, archs, [0.1, 0.2, 0.3, 0.4, 0.5], [2, 1, 3, 5, 4]) for t in "wxyz"]
    single = kendalltau([2, 1, 3, 5, 4], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert single.statistic == pytest.approx(0.6)
    assert pooled_agreement(same)["logme"]["p_value"] == pytest.approx(single.pvalue) == pytest.approx(28 / 120)
    # only the backbones every task has are compared
    partial = [_ranked("x", archs, [0.1, 0.2, 0.3, 0.4, 0.5], [1, 2, 3, 4, 5]), _ranked("y", ["a", "b", "c"], [0.3, 0.2, 0.1], [1, 2, 3])]
    assert pooled_agreement(partial)["logme"]["backbones"] == ["a", "b", "c"]
    assert pooled_agreement(partial)["logme"]["tau"] == pytest.approx(0.0)


def test_logme_agreement_needs_a_results_database(pretrained, tmp_path):
    with pytest.raises(zoo.errors.ZooError, match="run `zoo bench` first"):
        logme_agreement(zoo.get_zoo(), MINI, tmp_path / "absent.sqlite", tmp_path / "scores.json")


def test_each_backbone_is_scored_on_the_weights_its_cells_started_from(pretrained, tmp_path, monkeypatch):
    """simple_cnn's weights are here; resnet18's were scored elsewhere (their record is in the
    score file); googlenet's cells started from weights nobody scored; vgg11_bn's from two files."""
    from zoo.models.weights import WeightsStore

    plugins, task = zoo.get_zoo(), zoo.get_zoo().suites.get(MINI).task("digits_small")
    [entry] = WeightsStore().entries("simple_cnn")
    store = ResultsStore(tmp_path / "results.sqlite")
    for i, (arch, sha, top1) in enumerate([("simple_cnn", entry.sha256, 0.6), ("resnet18", "r" * 64, 0.9),
                                           ("googlenet", "g" * 64, 0.8), ("vgg11_bn", "v" * 64, 0.7),
                                           ("vgg11_bn", "w" * 64, 0.7)]):  # fmt: skip
        store.record(CellResult(key=str(i), suite=MINI, task=task.name, quadrant="Q3", architecture=arch, strategy="full",
                                seed=i, status="ok", top1=top1, weights=f"{arch}.mini-x",
                                pretraining={"sha256": sha, "source_test_accuracy": top1 + 0.2, "epochs": 3, "stopped_early": False,
                                             "curve": [{"lr_factor": 1.0}, {"lr_factor": 0.1}, {"lr_factor": 0.1}]}))  # fmt: skip
    scores = tmp_path / "transferability.json"
    elsewhere = {"architecture": "resnet18", "variant": "resnet18.mini-x", "sha256": "r" * 64, "suite": MINI, "task": task.name,
                 "selection": json.loads(json.dumps(dataclasses.asdict(task.data))), "seed": 0, "images": 1, "version": VERSION,
                 "scores": {"logme": 9.0, "h_score": 9.0, "nce": 9.0, "leep": 9.0}}  # fmt: skip
    scores.write_text(json.dumps([elsewhere]))

    [report] = [t for t in logme_agreement(plugins, MINI, store.path, scores, device=CPU) if t["task"] == task.name]
    assert report["architectures"] == ["resnet18", "simple_cnn"] and report["sha256"] == ["r" * 64, entry.sha256]
    assert report["scores"]["logme"][0] == 9.0 and report["kendall_tau"]["logme"] == pytest.approx(1.0)
    assert [s["source_test_accuracy"] for s in report["source"]] == [pytest.approx(1.1), pytest.approx(0.8)]
    assert report["source"][1]["decays_spent"] == 1 and report["source"][1]["epoch_cap"] is None  # not recorded
    assert "no scores for its weights (sha256 gggggggg…)" in report["left_out"]["googlenet"]
    assert report["left_out"]["vgg11_bn"] == "its cells started from 2 weights files"
    recorded = json.loads(scores.read_text())
    mini_tasks = [t.name for t in plugins.suites.get(MINI).tasks]
    assert sorted(r["task"] for r in recorded if r["sha256"] == entry.sha256) == sorted(mini_tasks)  # scored while at hand
    monkeypatch.setattr(SuiteBackbone, "features", lambda *a: pytest.fail("scored twice"))
    assert [t for t in logme_agreement(plugins, MINI, store.path, scores, device=CPU) if t["task"] == task.name] == [report]


def test_bench_runs_a_team_folder_as_one_more_task_in_its_measured_quadrant(task_folders, pretrained, tmp_path, capsys):
    folder = task_folders["digits_small"]
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe", "--task", "fashion_footwear_small",
            "--seeds", "1", "--data", str(folder), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "task data_digits_small in Q3" in err
    rows = {r.task: r for r in ResultsStore(tmp_path / "out" / "results.sqlite").rows()}
    assert set(rows) == {"fashion_footwear_small", "data_digits_small"}
    team = rows["data_digits_small"]
    assert team.status == "ok" and team.quadrant == "Q3" and team.config["data_root"] == str(folder.resolve())
    assert (tmp_path / "out" / "leaderboard.md").read_text().count("data_digits_small") >= 1

    argv.append("--no-leaderboard")
    assert main(argv) == 0
    assert "2 cells: 0 run, 2 already stored" in capsys.readouterr().out
    (folder / "0" / "00000.png").touch()  # the folder changed: its cells are new, the suite's are not
    assert main(argv) == 0
    assert "2 cells: 1 run, 1 already stored" in capsys.readouterr().out


def test_bench_data_alone_runs_only_the_folder(task_folders, pretrained, tmp_path, capsys):
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe", "--seeds", "1", "--epochs", "1",
            "--data", str(task_folders["fashion_footwear_small"]), "--out", str(tmp_path / "out"), "--no-leaderboard"]  # fmt: skip
    assert main(argv) == 0
    assert {r.task for r in ResultsStore(tmp_path / "out" / "results.sqlite").rows()} == {"data_fashion_footwear_small"}


def test_bench_data_that_is_not_a_folder_is_one_line(pretrained, tmp_path, capsys):
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe", "--data", str(tmp_path / "nowhere")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "nowhere" in err and len(err.strip().splitlines()) == 1


def test_bench_keeps_the_best_model_of_a_folder_with_a_card_that_create_model_reads(task_folders, pretrained, tmp_path, capsys):
    """The kept network, loaded by create_model and scored on the folder's test split as the
    cell scored it, gives the card's test top-1 exactly; the choice was made on validation."""
    folder, kept = task_folders["fashion_footwear_small"], tmp_path / "kept"
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "linear_probe,full", "--seeds", "2", "--epochs", "2",
            "--data", str(folder), "--out", str(tmp_path / "out"), "--no-leaderboard", "--keep-weights", str(kept)]  # fmt: skip
    assert main(argv) == 0
    assert "data_fashion_footwear_small: kept simple_cnn with " in capsys.readouterr().out
    path = kept / "data_fashion_footwear_small.safetensors"
    card = json.loads(path.with_suffix(".json").read_text())
    rows = [r for r in ResultsStore(tmp_path / "out" / "results.sqlite").rows() if r.status == "ok"]
    stored = next(r for r in rows if r.key == card["results_key"])
    groups = {}
    for r in rows:
        groups.setdefault(r.strategy, []).append(r.val_top1)
    assert statistics.fmean(groups[card["strategy"]]) == max(statistics.fmean(v) for v in groups.values())  # chosen on validation
    assert card["test_top1"] == stored.top1 == card["stored_test_top1"] and card["seed"] == stored.seed  # trained again, bit for bit
    assert card["classes"] == ["Ankle boot", "Bag", "Sandal", "Sneaker"] and card["sha256"] == zoo.models.weights.sha256_of(path)

    model = zoo.create_model("simple_cnn", weights_file=path)
    assert model.num_classes == 4 and model.zoo_weights.metadata == card and list(model.zoo_weights.mean) == card["preprocessing"]["mean"]
    reader = zoo.get_zoo().folder_reader()
    size = card["preprocessing"]["input_size"]
    _, test = load_selection(zoo.get_zoo().datasets, DataSelection(reader.name), card["seed"], root=folder, size=size[1])
    prepared = prepare(test, tuple(size), model.zoo_weights.mean, model.zoo_weights.std)
    assert evaluate(model, prepared, torch.device("cpu")).top1 == card["test_top1"]


def test_keep_weights_without_a_folder_is_one_line(capsys):
    assert main(["bench", "--arch", "simple_cnn", "--keep-weights", "/tmp/kept"]) == 2
    assert "--keep-weights keeps the best model of each --data folder" in capsys.readouterr().err
