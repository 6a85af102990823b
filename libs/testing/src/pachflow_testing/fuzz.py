"""Settings every property-based (hypothesis) test shares: a bounded number of examples,
the same ones on every run (CI stays reproducible and its time bounded), and a longer,
random search on demand: `PACHFLOW_FUZZ_EXAMPLES=5000 pytest -k fuzz`."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES_ENV = "PACHFLOW_FUZZ_EXAMPLES"


def fuzz_settings(examples: int) -> settings:
    """`examples` per test (or $PACHFLOW_FUZZ_EXAMPLES, then with random seeds)."""
    wanted = os.environ.get(EXAMPLES_ENV)
    return settings(
        max_examples=int(wanted) if wanted else examples,
        derandomize=not wanted,
        deadline=None,  # a loaded shared machine makes timings meaningless
        database=None,  # no .hypothesis/ directory left in the tree
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
