"""Benchmarking: suites, source pretraining and the pretrained backbones it stores, the grid
of cells and its executors, the learning-rate sweep, the results database, speed and memory."""
