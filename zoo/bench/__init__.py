"""Benchmarking: source pretraining and the features of the backbones it stores, the grid of
cells and its executors (local, Ray), the harness that fills the results table, speed and
memory."""
