"""The real services a test needs (PostgreSQL, s3rver) are skipped where one is not
installed, except in CI (PACHFLOW_REQUIRE_SERVICES=1), where a missing one is an error."""

from __future__ import annotations

import os
from collections.abc import Callable

REQUIRE_ENV = "PACHFLOW_REQUIRE_SERVICES"


def installed_or_skip(find: Callable[[], object], missing: type[Exception]) -> None:
    """In a test: `find` the service (it raises `missing` when the service is not
    installed); skip the test then, or fail it in CI."""
    import pytest

    try:
        find()
    except missing as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            raise
        pytest.skip(str(exc))
