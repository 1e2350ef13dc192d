"""A notifier that writes each notification to the ``helpdesk.notifications`` logger.

Enabled by listing ``"log"`` in ``[notifications] notifiers``; useful in development and as the
reference implementation of the Notifier port.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.ports import Notification, Notifier

logger = logging.getLogger("helpdesk.notifications")


class LogNotifier:
    """Logs every notification at INFO with its idempotency key."""

    name = "log"

    def __init__(self, log: logging.Logger = logger) -> None:
        self._log = log

    def send(self, notification: Notification) -> None:
        self._log.info(
            "notify %s [%s] %s (key=%s)",
            notification.recipient,
            notification.event_kind,
            notification.subject,
            notification.key,
        )


@hookimpl(trylast=True)
def helpdesk_register_notifiers(config: HelpdeskConfig) -> Iterable[Notifier] | None:
    return [LogNotifier()]
