"""Where the browser tests find chromium, and the one skip reason CI turns into a failure."""

from __future__ import annotations

from typing import Final

BROWSER_SKIP_REASON: Final = (
    "needs a browser: the playwright package and Debian's /usr/bin/chromium"
)
REQUIRE_BROWSER_ENV: Final = "HELPDESK_REQUIRE_BROWSER"
CHROMIUM: Final = "/usr/bin/chromium"
