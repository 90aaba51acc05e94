"""Training: the optimisation loop, and the engine that carries a strategy out (freezing,
per-stage learning rates, cached frozen prefixes)."""
