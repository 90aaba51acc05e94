"""The timing methods ``zoo speed`` offers and the step counts of timm's ``benchmark.py``.

Kept apart from :mod:`zoo.bench.speed`, which times with them, so that the command line can show
them in its help without importing torch.
"""

TIMINGS = ("timm", "after-training")  # see zoo.bench.speed's docstring
WARMUP, STEPS = 10, 40  # timm benchmark.py's --num-warm-iter and --num-bench-iter
