"""The results table: its schema (one :class:`~zoo.results.schema.CellResult` per cell), the
store the harness writes, the read-only path the leaderboards and ``zoo recommend`` read,
the per-image codec, and which of a sweep's cells count."""
