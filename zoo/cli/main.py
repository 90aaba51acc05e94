"""The ``zoo`` command line.

Every listing and report has ``--json``. Exit status: 0 when everything asked for finished
``ok``; 1 when a command finished but a cell failed or a plugin did not load (``zoo bench``,
``zoo plugins --strict``); 2 for a user error (an unknown name, a bad file, a broken plugin
asked for by name), printed as one ``zoo: error: …`` line on stderr, no traceback.

This module parses; the commands are in :mod:`zoo.cli.commands` and, for ``zoo bench`` and
``zoo leaderboard``, :mod:`zoo.cli.bench`. Each command imports what it uses when it runs, so
that ``zoo --help``, ``zoo COMMAND --help`` and argument errors answer without importing torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import zoo
from zoo.cli import paths
from zoo.cli.bench import DEFAULT_ARCHS, DEFAULT_STRATEGIES, cmd_bench, cmd_fetch, cmd_leaderboard
from zoo.cli.commands import RESULTS_FILE, cmd_info, cmd_list, cmd_plugins, cmd_pretrain, cmd_recommend, cmd_speed
from zoo.errors import ZooError
from zoo.recommend import DEFAULT_SUITE

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)  # a path option's kind is checked here
        _warn_about_failed_plugins(args)
        return args.run(args) or 0
    except (ZooError, paths.PathKindError) as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `zoo list | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="zoo: pick a backbone and a transfer-learning strategy for your images, by measurement."
    )
    parser.add_argument("--version", action="version", version=f"zoo {zoo.__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    cmd = commands.add_parser("list", help="list registered architectures (and other kinds)")
    cmd.add_argument("pattern", nargs="?", default="", help="shell-style filter(s), comma-separated, e.g. 'resnet*'")
    cmd.add_argument("--exclude", default="", help="shell-style pattern(s) to leave out")
    cmd.add_argument("--kind", default="architectures", help="architectures (default), strategies, datasets or suites")
    cmd.add_argument("--pretrained", action="store_true",
                     help="the architectures' pretrained weights that are here, loadable without the internet: "
                          "in the local store, in installed packages, or in a hub's download cache")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_list)

    cmd = commands.add_parser("info", help="describe one registered name")
    cmd.add_argument("name")
    cmd.add_argument("--weights", metavar="PATH", type=paths.file_to_read("--weights", "a weights file to load"),
                     help="check that a weights file loads into this architecture")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_info)

    cmd = commands.add_parser("pretrain", help="pretrain backbones on a suite's source data set")
    cmd.add_argument("--suite", default="mini", help="suite whose source to train on (default: %(default)s)")
    cmd.add_argument("--arch", action="append", required=True, metavar="NAMES",
                     help="architectures, comma-separated or repeated; shell-style wildcards allowed")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--force", action="store_true", help="train again even if matching weights are stored")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_pretrain)

    cmd = commands.add_parser("fetch", help="download the data sets and hub weights a suite needs (needs internet)",
                              description="Download what `zoo bench --suite SUITE` needs: its tasks' data sets (and its source's) "
                                          "into $ZOO_HOME/data, and, for a suite whose backbones start from hub weights, each "
                                          "architecture's default weights into the hub's cache. Each is read once after it arrives.")
    cmd.add_argument("suite", help="the suite whose data sets and weights to fetch")
    cmd.add_argument("--arch", action="append", metavar="NAMES", help=f"architectures whose weights to fetch (default: the suite's own, else {','.join(DEFAULT_ARCHS)})")
    cmd.add_argument("--task", action="append", metavar="NAMES", help="only these tasks' data sets (default: all)")
    cmd.add_argument("--quadrant", action="append", metavar="Q", help="only the data sets of tasks in these quadrants (Q1…Q4)")
    cmd.add_argument("--json", action="store_true", help="print what was fetched as JSON")
    cmd.set_defaults(run=cmd_fetch)

    cmd = commands.add_parser("bench", help="run the grid of architectures × strategies × tasks and store the results")
    cmd.add_argument("--suite", default="mini", help="suite to run (default: %(default)s)")
    cmd.add_argument("--arch", action="append", metavar="NAMES", help=f"architectures (default: the suite's own, else {','.join(DEFAULT_ARCHS)})")
    cmd.add_argument("--strategy", action="append", metavar="NAMES", help=f"strategies (default: {','.join(DEFAULT_STRATEGIES)})")
    cmd.add_argument("--task", action="append", metavar="NAMES", help="tasks of the suite (default: all)")
    cmd.add_argument("--quadrant", action="append", metavar="Q", help="only tasks in these quadrants (Q1…Q4)")
    cmd.add_argument("--data", action="append", metavar="PATH",
                     type=paths.folder_to_read("--data", "an image folder with one sub-folder of images per class"),
                     help="a team's image folder (one sub-folder per class) to run as a task; its quadrant "
                          "is measured as `zoo recommend` measures it. Only the folders run, unless --task or "
                          "--quadrant also selects the suite's tasks")
    cmd.add_argument("--keep-weights", metavar="DIR",
                     type=paths.folder_to_write("--keep-weights", "a folder to write each --data folder's best model in"),
                     help="for each --data folder, train its best cell (chosen on validation) once more and keep it as "
                          "DIR/<task>.safetensors with a JSON card: classes, preprocessing, strategy, its test top-1; "
                          "load it with zoo.create_model(arch, weights_file=...)")
    cmd.add_argument("--epochs", type=_positive, help="epochs per cell (default: each task's own budget)")
    cmd.add_argument("--seeds", type=_positive, help="seeds per cell (default: each task's own, e.g. 3 on mini's small tasks)")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--out", type=paths.folder_to_write("--out", "a folder to store the results and write the leaderboards in"),
                     default="leaderboards", help="output directory (default: %(default)s)")
    cmd.add_argument("--fresh", action="store_true", help="forget the stored results of the cells selected (their learning-rate "
                     "sweeps included) and run them again; the database's other cells stay")
    cmd.add_argument("--wait", action="store_true",
                     help="if another zoo bench is writing to --out, wait for it to finish instead of stopping")
    cmd.add_argument("--no-retry", action="store_true",
                     help="keep cells stored as error, oom or diverged instead of running them again")
    cmd.add_argument("--no-leaderboard", action="store_true",
                     help="store the cells but leave the leaderboards in --out as they are (several benches into one "
                          "directory, then one `zoo leaderboard`)")
    cmd.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="run cells one by one in this process, or as Ray tasks (needs zoo[ray]) (default: %(default)s)")
    cmd.add_argument("--ray-address", metavar="ADDRESS",
                     help="Ray cluster for --executor ray (default: $RAY_ADDRESS, else the last `ray start` here, "
                          "else a new local instance; 'local' always starts one)")
    cmd.add_argument("--json", action="store_true", help="print the new results as JSON")
    cmd.set_defaults(run=cmd_bench)

    cmd = commands.add_parser("leaderboard", help="write the accuracy, speed, memory and verdict leaderboards of a bench run")
    cmd.add_argument("--out", type=paths.folder_to_write("--out", "the folder holding results.sqlite, to write the leaderboards in"),
                     default="leaderboards",
                     help="directory holding results.sqlite; the leaderboards are written there (default: %(default)s)")
    cmd.add_argument("--readme", metavar="FILE",
                     type=paths.file_to_rewrite("--readme", "a Markdown file with <!-- zoo leaderboard: … --> sections to fill"),
                     help="also put the verdict and accuracy tables into FILE, between its "
                          "<!-- zoo leaderboard: verdict --> (or accuracy) and <!-- /zoo leaderboard --> comments")
    cmd.add_argument("--json", action="store_true", help="print the combined leaderboard JSON")
    cmd.set_defaults(run=cmd_leaderboard)

    from zoo.bench.timing import STEPS as SPEED_STEPS
    from zoo.bench.timing import TIMINGS
    from zoo.bench.timing import WARMUP as SPEED_WARMUP

    cmd = commands.add_parser(
        "speed", help="training and inference speed and memory of architectures",
        description="Training and inference throughput, batch-1 latency and peak memory, timed as timm's benchmark.py times them.",
        epilog="--timing timm (the default) is timm benchmark.py's method: warm-up steps, then the timed steps' loop timed "
               "as a whole; inference first, on a network that has not trained yet, then training. --timing after-training "
               "is zoo's earlier method: training first, then inference in the same process, each step timed alone and "
               "summed. On the CPU its inference reads faster, not because of the timer but because a "
               "process that has trained keeps its activation memory mapped, where a fresh one page-faults it back in "
               "every step; it is not comparable with timm's figures. See zoo/bench/speed.py.",
    )
    cmd.add_argument("--arch", action="append", required=True, metavar="NAMES",
                     help="architectures, comma-separated or repeated; shell-style wildcards allowed")
    cmd.add_argument("--batch-size", type=_positive, default=128, help="images per timed step (default: %(default)s)")
    cmd.add_argument("--img-size", type=_positive, help="side length (default: each architecture's own)")
    cmd.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                     help="time in channels_last memory (default: on CUDA, where zoo trains in it, and not on the CPU)")
    cmd.add_argument("--timing", choices=TIMINGS, default="timm",
                     help="timm: timm benchmark.py's method; after-training: zoo's earlier, faster-reading one "
                          "(see below) (default: %(default)s)")
    cmd.add_argument("--warmup", type=_non_negative, default=SPEED_WARMUP,
                     help="untimed steps before each measurement (default: %(default)s, timm's)")
    cmd.add_argument("--steps", type=_positive, default=SPEED_STEPS, help="timed steps (default: %(default)s, timm's)")
    cmd.add_argument("--strategy", action="append", metavar="NAMES",
                     help="also measure each strategy's training step memory (the step it really runs: frozen "
                          "stages, gradients, optimizer state), with its parts")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_speed)

    cmd = commands.add_parser("recommend", help="recommend a backbone and a transfer strategy for your image folder")
    cmd.add_argument("path", metavar="PATH", type=paths.folder_to_read("PATH", "a folder of class sub-folders to recommend for"),
                     help="a folder of class sub-folders (ROOT/<class>/<image>), or with train/ and test/")
    cmd.add_argument("--suite", default=DEFAULT_SUITE,
                     help="suite whose pretrained backbones and tasks to measure with (default: %(default)s, the ImageNet "
                          "backbones installed with zoo; mini for those `zoo pretrain` builds)")
    cmd.add_argument("--arch", action="append", metavar="NAMES",
                     help="backbones to consider, comma-separated, wildcards allowed (default: all with weights for the suite)")
    cmd.add_argument("--small-threshold", type=_positive, metavar="N",
                     help="training images per class below which the data are small (default: the suite's)")
    cmd.add_argument("--results", type=RESULTS_FILE,
                     help="results database whose measured winners check the rule of thumb (default: the suite's "
                          "committed run, leaderboards/results.sqlite for mini, leaderboards/SUITE/results.sqlite for others)")
    cmd.add_argument("--skip-corrupt", action="store_true", help="leave out images that cannot be read instead of stopping")
    cmd.add_argument("--html", metavar="FILE", type=paths.file_to_write("--html", "an HTML file to write the report in"),
                     help="also write the recommendation as one self-contained page: the size–similarity matrix with the "
                          "suite's tasks and the folder on it, the backbones' scores, the strategy and its measured verdicts")
    cmd.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_recommend)

    cmd = commands.add_parser("plugins", help="show the plugins loaded, their versions, and failures")
    cmd.add_argument("--verbose", "-v", action="store_true", help="show the traceback of each failure")
    cmd.add_argument("--strict", action="store_true", help="exit with status 1 if any plugin failed to load")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(run=cmd_plugins)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _warn_about_failed_plugins(args: argparse.Namespace) -> None:
    if args.run in (cmd_plugins, cmd_list):  # `zoo plugins` reports them; `zoo list` warns from its snapshot
        return
    for warning in zoo.get_zoo().warning_lines():
        print(f"zoo: warning: {warning}", file=sys.stderr)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
