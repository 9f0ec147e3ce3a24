"""The detector's own percentile and median give numpy's float exactly (the alerts'
figures and explanations must not change by a last digit when the history is read
faster)."""

from __future__ import annotations

import random

import numpy as np

from ingest.detect.stats import median, percentile


def test_percentile_and_median_are_numpys_to_the_last_bit():
    rng = random.Random(17)
    for _ in range(5000):
        size = rng.randint(1, 60)
        if rng.random() < 0.5:
            values: list[float] = [rng.randint(0, 40) for _ in range(size)]
        else:
            values = [rng.random() * rng.choice((1, 7, 1000)) for _ in range(size)]
        share = rng.choice((90, 50, 95, 10, 75, rng.random() * 100))  # numpy divides by 100
        assert percentile(values, share / 100) == float(np.percentile(values, share))
        assert median(values) == float(np.median(values)), values
