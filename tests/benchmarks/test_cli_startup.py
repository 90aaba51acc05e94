"""Wall time of the command line's answers against `import torch` alone, in fresh processes:
`zoo --help` and argument errors import neither torch nor timm; `zoo list` loads the plugins,
and with them timm."""

import subprocess
import sys

import pytest

COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "zoo --help": [sys.executable, "-m", "zoo.cli.main", "--help"],
    "zoo bench --help": [sys.executable, "-m", "zoo.cli.main", "bench", "--help"],
    "zoo list": [sys.executable, "-m", "zoo.cli.main", "list"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_command_line_start_up(benchmark, name):
    argv = COMMANDS[name]
    benchmark.pedantic(lambda: subprocess.run(argv, check=True, capture_output=True), rounds=5, warmup_rounds=1)
