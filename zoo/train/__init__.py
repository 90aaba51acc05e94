"""Training: the recipe and the optimisation loop, transfer strategies, and the engine that
carries a strategy out (freezing, per-stage learning rates, cached frozen prefixes)."""
