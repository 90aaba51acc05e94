# Two commands do everything, each setting up what it needs first (idempotently):
#   make test   - the test suite
#   make bench  - the default benchmark (zoo bench on the mini suite)
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: test bench benchmark recipe-sanity heldout placement ranking gpu-check setup data browser clean

test: setup data browser
	$(BIN)/pytest

# The default benchmark: the mini suite's grid (resnet18, vgg11_bn, googlenet × scratch,
# linear_probe, partial, full), pretraining what is missing; results and leaderboards go to
# leaderboards/, and the verdict and accuracy tables into README.md. A rerun skips every stored cell.
bench: setup data
	$(BIN)/zoo bench
	$(BIN)/zoo leaderboard --readme README.md > /dev/null

# pytest-benchmark figures for the hot paths (engine overhead, cached prefixes, start-up).
benchmark: setup data
	$(BIN)/pytest tests/benchmarks --benchmark-only --benchmark-columns=min,median,max,rounds

# ResNet-18 from scratch on Fashion-MNIST against the published figure (about 20 minutes);
# writes leaderboards/recipe_sanity.{json,md}.
recipe-sanity: setup data
	ZOO_RECIPE_SANITY=1 $(BIN)/pytest tests/benchmarks/test_recipe_sanity.py --benchmark-only -s

# zoo recommend on held-out folders (zoo/studies/heldout.py): placement against the quadrants named
# for them, recommendations against zoo bench --data (cells in runs/heldout/, resumable);
# needs mini weights in the store (ZOO_HELDOUT_ARCHS=a,b to choose the backbones; default every
# one stored); writes leaderboards/{placement,recommendation}.{json,md}.
heldout: setup data
	ZOO_HELDOUT=1 $(BIN)/pytest tests/benchmarks/test_heldout.py --benchmark-only -s

# The placement half of heldout, in any suite: SUITE=imagenet_offline places the folders through the
# ImageNet backbones installed with zoo (nothing to pretrain) and writes leaderboards/imagenet_offline/placement.*.
SUITE ?= mini
placement: setup data
	ZOO_HELDOUT=1 ZOO_HELDOUT_SUITE=$(SUITE) $(BIN)/pytest tests/benchmarks/test_heldout.py -k placement --benchmark-only -s

# LogME, H-score, NCE and LEEP against fine-tuned accuracy on mini's tasks, over every backbone
# with mini weights: the default run's cells (leaderboards/), the others benched into runs/ranking/
# (resumable); the local weights are scored into runs/ranking/transferability.json (by sha256,
# so weights made on other machines count once scored there); writes leaderboards/ranking.{json,md}.
ranking: setup data
	ZOO_RANKING=1 $(BIN)/pytest tests/benchmarks/test_backbone_ranking.py --benchmark-only -s

# The GPU check (scripts/gpu_check.py; README, "On a GPU"): zoo's CUDA path verified on a GPU in
# under eight minutes, its figures in $(GPU_CHECK_OUT). REHEARSE=1 runs the same steps on the CPU
# at toy sizes, as the tests do. On a GPU machine without this venv it runs under python3;
# GPU_CHECK_ARGS passes more options (--data DIR, --budget S, --home DIR).
GPU_CHECK_OUT ?= gpu-check
CHECK_PYTHON = $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
gpu-check:
	$(CHECK_PYTHON) scripts/gpu_check.py --out $(GPU_CHECK_OUT) $(if $(REHEARSE),--rehearse) $(GPU_CHECK_ARGS)

setup: $(INSTALLED)

# torch and torchvision are pinned to the releases pip finds on this machine's disk.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,ray]'
	touch $@

data:
	scripts/install-data.sh

browser:
	scripts/install-browser.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .benchmarks
