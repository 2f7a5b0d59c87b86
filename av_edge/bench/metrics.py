"""What a benchmark returns: named numbers merged into the flat ``bench/results.json``."""

Metrics = dict[str, float]
