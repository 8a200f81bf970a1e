"""When does one result beat another: the searches' one definition of "beyond seed noise".

A difference of two means over seeds is beyond noise when it is more than twice its standard
error, sqrt(s_a^2 / n_a + s_b^2 / n_b) with the sample standard deviations s and seed counts n
(Welch's; about a 95% two-sided test for a normal difference). Unlike a margin over the larger
seed std, this shrinks as seeds are added, so more seeds can settle a close call, and it counts
the noise of both sides. With fewer than two seeds on a side the noise is unknown and nothing is
declared beyond it. Where the scores carry an evaluation standard error (the spread over the
evaluation windows, trainer/evaluate.py), the larger of the two sides' is added in quadrature:
conservative, since both are scored on the same windows and the error of their difference is
smaller than either's. The mixture search's verdicts (report.py) and the variant search's
(variant_search.py) both use it.
"""

from __future__ import annotations

import math

#: A difference counts when it exceeds this many standard errors.
STANDARD_ERRORS = 2.0


def difference_noise(std_a: float, seeds_a: int, std_b: float, seeds_b: int,
                     eval_se: float = 0.0) -> float | None:
    """Standard error of mean_a - mean_b from each side's sample std and seed count, with `eval_se` (the
    larger evaluation standard error of the two) added in quadrature; None below 2 seeds."""
    if min(seeds_a, seeds_b) < 2:
        return None
    return math.sqrt(std_a ** 2 / seeds_a + std_b ** 2 / seeds_b + eval_se ** 2)


def beyond_noise(delta: float, noise: float | None) -> bool:
    """Whether `delta` is more than STANDARD_ERRORS times `noise` (never, when the noise is unknown)."""
    return noise is not None and abs(delta) > STANDARD_ERRORS * noise
