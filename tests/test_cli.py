"""The command line, run in-process: listings, info, JSON, and one-line errors with exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_filters_with_shell_patterns_in_natural_order(capsys):
    code, out, _ = run(capsys, "list", "resnet*", "--exclude", "*101*")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == ["resnet18", "resnet34", "resnet50", "resnet152"]


def test_list_json_names_plugin_and_family(capsys):
    code, out, _ = run(capsys, "list", "vgg1[16],googlenet", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["googlenet", "vgg11", "vgg16"]
    assert rows[0]["plugin"] == "inception" and rows[1]["family"] == "vgg"


def test_info_json_reports_what_the_harness_needs(capsys):
    code, out, _ = run(capsys, "info", "resnet50", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["params"] == 25_557_032
    assert round(info["macs"] / 1e9, 2) == 4.09 and info["flops"] == 2 * info["macs"]
    assert "FlopCounterMode" in info["complexity_method"]
    assert info["default_input_size"] == [3, 224, 224] and info["min_input_size"] == [3, 1, 1]
    assert [s["name"] for s in info["stages"]] == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert sum(s["params"] for s in info["stages"]) == info["params"]
    assert {"variant": "resnet50.a1_in1k", "source": "timm", "dataset": "imagenet-1k", "default": True} in info[
        "pretrained_weights"
    ]
    assert info["family"] == "resnet" and info["plugin"] == "resnet" and info["reference"] == "resnet50"


def test_info_text_states_a_deliberate_difference_from_torchvision(capsys):
    code, out, _ = run(capsys, "info", "inception_v3")
    assert code == 0
    assert "params:             23,834,568" in out
    assert "differs: no auxiliary classifier: 3,326,696 fewer parameters" in out
    assert "MACs:               5.713 G at 299×299" in out


def test_info_lists_local_weights_and_checks_a_weights_file(capsys, tmp_path):
    from zoo.models.weights import WeightsStore

    model = zoo.create_model("simple_cnn", num_classes=5)
    WeightsStore().save("simple_cnn", "mine", model.state_dict(), dataset="my-data")
    path = tmp_path / "w.pt"
    torch.save(model.state_dict(), path)
    code, out, _ = run(capsys, "info", "simple_cnn", "--weights", str(path), "--json")
    assert code == 0
    info = json.loads(out)
    assert {"variant": "simple_cnn.mine", "source": "store", "dataset": "my-data", "default": False} in info[
        "pretrained_weights"
    ]
    assert info["weights_file"]["num_classes"] == 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["info", "resnt50"], "zoo: error: unknown name 'resnt50': did you mean resnet50"),
        (["list", "--kind", "architecturs"], "zoo: error: unknown kind 'architecturs': did you mean architectures?"),
        (["info", "resnet18", "--weights", "/nonexistent.pt"], "zoo: error: weights file /nonexistent.pt does not exist"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.splitlines() == [err.strip()] and err.startswith(message)
    assert "Traceback" not in err and out == ""


def test_plugins_lists_the_built_ins_with_their_distribution(capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    reports = {r["name"]: r for r in json.loads(out)}
    assert {"resnet", "vgg", "inception", "baselines"} <= reports.keys()
    resnet = reports["resnet"]
    assert resnet["status"] == "loaded" and resnet["distribution"] == "zoo"
    assert resnet["version"] == zoo.__version__ and resnet["module"] == "zoo_plugins.resnet"
    assert len(resnet["registered"]["architectures"]) == 9
    code, out, _ = run(capsys, "plugins")
    assert out.splitlines()[0].split() == ["PLUGIN", "DISTRIBUTION", "MODULE", "STATUS", "REGISTERED"]


def test_the_console_script_is_installed():
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="zoo")
    assert script.value == "zoo.cli.main:main"


def test_list_shows_datasets_and_suites(capsys):
    code, out, _ = run(capsys, "list", "--kind", "datasets", "--json")
    assert code == 0
    assert {"fashion_mnist", "digits", "sklearn_digits", "imagefolder", "cifar10", "eurosat"} <= {
        row["name"] for row in json.loads(out)
    }
    code, out, _ = run(capsys, "list", "--kind", "suites", "--json")
    assert [row["name"] for row in json.loads(out)] == ["imagenet", "imagenet_offline", "mini"]


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists()
    or not Path("/usr/share/doc/opencv-doc/examples/data/digits.png").exists(),
    reason="the mini suite's data are not installed: run `make test` as root",
)
def test_the_offline_imagenet_suite_names_its_backbones_and_one_task_per_quadrant(capsys):
    """Its weights install with zoo: it needs no network, and zoo bench runs its Lite backbones by default."""
    code, out, _ = run(capsys, "info", "imagenet_offline", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["source"] is None and info["image_size"] == 64 and info["small_threshold"] == 100
    assert info["architectures"] == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    assert {t["quadrant"]: (t["name"], t["similarity"]) for t in info["tasks"]} == {
        "Q1": ("digits_large", "different"), "Q2": ("fashion_large", "similar"),
        "Q3": ("digits_small", "different"), "Q4": ("fashion_small", "similar"),
    }  # fmt: skip
    assert all(t["why"] for t in info["tasks"])  # each named with its reason
    archs = zoo.get_zoo().architectures
    assert all(archs.get(name).default_weights is archs.get(name).package_weights[0] for name in info["architectures"])


def test_a_suite_naming_an_unregistered_backbone_is_refused():
    import dataclasses

    from zoo.plugin.suite import validate

    suite = dataclasses.replace(zoo.get_zoo().suites.get("imagenet_offline"), architectures=("efficientnet_lite9",))
    assert validate(suite, zoo.get_zoo()) == "its architectures are not registered: efficientnet_lite9"


def test_info_mini_json_gives_four_tasks_with_quadrants_classes_and_counts(capsys):
    code, out, _ = run(capsys, "info", "mini", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["small_threshold"] == 100 and info["image_size"] == 32
    assert info["source"]["classes"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"]
    assert info["source"]["train_per_class"] == [6000] * 6 and info["source"]["test_per_class"] == [1000] * 6
    assert info["pretrain_validation"] == 0.1 and len(info["lr_factors"]) == 3 and info["lr_extensions"] == 4
    tasks = {t["quadrant"]: t for t in info["tasks"]}
    assert sorted(tasks) == ["Q1", "Q2", "Q3", "Q4"]
    assert tasks["Q2"]["classes"] == ["Sandal", "Sneaker", "Bag", "Ankle boot"]
    assert tasks["Q2"]["train_per_class"] == [200] * 4 and tasks["Q4"]["train_per_class"] == [20] * 4
    assert tasks["Q1"]["train_per_class"] == [150] * 10 and tasks["Q3"]["train_per_class"] == [20] * 10
    assert tasks["Q1"]["test_per_class"] == [100] * 10 and tasks["Q4"]["test_per_class"] == [1000] * 4
    assert all(task["seeds"] == 3 and task["validation"] == 0.2 for task in tasks.values())
    assert not set(tasks["Q2"]["classes"]) & set(info["source"]["classes"])
    code, out, _ = run(capsys, "info", "mini")
    assert "Q4  fashion_footwear_small" in out and "small below:     100 training images per class" in out


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"], ["speed", "--help"], ["bench", "--no-such-option"]])
def test_help_and_argument_errors_answer_without_importing_torch(argv):
    probe = (
        "import sys\nfrom zoo.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n"
        "    print(exit.code, sorted(m for m in ('torch', 'timm', 'torchvision') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == f"{2 if argv[-1] == '--no-such-option' else 0} []", done.stderr


def test_a_misspelt_disabled_plugin_is_a_warning_and_a_disabled_plugins_entry_is_named(monkeypatch, capsys):
    from zoo.plugin.manager import load_plugins

    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "datasets,imagefoldr")
    loaded = load_plugins()
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    assert main(["info", "digits"]) == 2
    err = capsys.readouterr().err
    assert "zoo: warning: ZOO_DISABLE_PLUGINS names 'imagefoldr', which is no installed plugin: did you mean 'imagefolder'?" in err
    assert "zoo: error: 'digits' is registered by plugin 'datasets', which is disabled: remove it from ZOO_DISABLE_PLUGINS" in err
    assert main(["info", "no_such_name"]) == 2
    assert "unknown name 'no_such_name'" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["recommend", "{folder}", "--arch", "simple_cnn"], ["bench", "--data", "{folder}", "--arch", "simple_cnn"]])
def test_folders_need_a_registered_reader_and_say_which_plugin_is_off(command, monkeypatch, capsys, tmp_path):
    """The core asks the registry for a data set that reads folders, not for the built-in
    plugin by name: with that plugin disabled, one line says what to do, before any training."""
    from zoo.plugin.manager import load_plugins

    folder = tmp_path / "mine"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "imagefolder")
    loaded = load_plugins()
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    assert main([part.format(folder=folder) for part in command]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "zoo: error: no registered data set reads image folders, which `zoo recommend` and `zoo bench --data` need; "
        "plugin 'imagefolder' provides one but is disabled: remove it from ZOO_DISABLE_PLUGINS"
    )


LIST_PROBE = (
    "import json, sys\nfrom zoo.cli.main import main\ncode = main(sys.argv[1:])\n"
    "print(json.dumps([code, sorted(m for m in ('torch', 'timm') if m in sys.modules)]))"
)


def test_zoo_list_answers_from_a_snapshot_that_follows_the_plugins(harness_plugin_site, tmp_path):
    import os

    plugin = harness_plugin_site / "zoo_harness_test.py"
    env = {**os.environ, "PYTHONPATH": str(harness_plugin_site), "ZOO_HOME": str(tmp_path / "home")}
    env.pop("ZOO_DISABLE_PLUGINS", None)

    def zoo_list(*argv: str, **extra: str) -> tuple[list, str]:
        done = subprocess.run([sys.executable, "-c", LIST_PROBE, "list", "--kind", "strategies", *argv],
                              env={**env, **extra}, capture_output=True, text=True, timeout=300)  # fmt: skip
        *listing, status = done.stdout.strip().splitlines()
        return json.loads(status), "\n".join(listing)

    (code, heavy), first = zoo_list()
    assert code == 0 and "torch" in heavy and "fails on purpose (_bug)" in first  # loaded, then stored
    (code, heavy), again = zoo_list()
    assert (code, heavy, again) == (0, [], first), "the second answer comes from the snapshot"
    plugin.write_text(plugin.read_text().replace("fails on purpose", "breaks on purpose"))
    (code, heavy), edited = zoo_list()
    assert "torch" in heavy and "breaks on purpose (_bug)" in edited, "an edited plugin makes a new snapshot"
    (code, heavy), disabled = zoo_list(ZOO_DISABLE_PLUGINS="harness_test")
    assert "test_bug" not in disabled and "linear_probe" in disabled


def test_zoo_plugins_strict_exits_1_when_a_plugin_failed(monkeypatch, capsys):
    from zoo.plugin.manager import PluginReport, load_plugins

    loaded = load_plugins()
    monkeypatch.setattr(zoo, "get_zoo", lambda: loaded)
    assert main(["plugins", "--strict"]) == 0
    loaded.reports["broken"] = PluginReport("broken", "zoo_broken", status="failed", errors=["Error importing plugin 'broken'"])
    assert main(["plugins"]) == 0 and main(["plugins", "--json"]) == 0  # a report, asked for and given
    assert main(["plugins", "--strict"]) == 1 and main(["plugins", "--strict", "--json"]) == 1
    assert "Error importing plugin 'broken'" in capsys.readouterr().out
