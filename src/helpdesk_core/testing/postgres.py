"""PostgreSQL in test suites: where the server is, and the one skip reason CI turns into a failure.

Tests that need PostgreSQL read ``HELPDESK_TEST_POSTGRES_URL`` through :func:`postgres_url` and
skip with :data:`POSTGRES_SKIP_REASON` when it is unset. When ``HELPDESK_REQUIRE_POSTGRES`` is set
(CI), this project's ``conftest.py`` reports such a skip as a failure, so CI never passes by
skipping.
"""

from __future__ import annotations

import os
from typing import Final

POSTGRES_URL_ENV: Final = "HELPDESK_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV: Final = "HELPDESK_REQUIRE_POSTGRES"
POSTGRES_SKIP_REASON: Final = f"needs PostgreSQL: set {POSTGRES_URL_ENV}"


def postgres_url() -> str | None:
    """The test server's SQLAlchemy URL, or None."""
    return os.environ.get(POSTGRES_URL_ENV) or None
