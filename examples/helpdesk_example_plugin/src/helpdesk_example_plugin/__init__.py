"""An example third-party plugin: a notifier that keeps an in-process inbox per recipient.

Installed with ``pip install -e examples/helpdesk_example_plugin``; every ``Helpdesk`` then finds
it through the ``helpdesk`` entry-point group, unless entry-point loading is switched off.
"""

from __future__ import annotations

from collections import defaultdict

from helpdesk_core import hookimpl
from helpdesk_core.config import HelpdeskConfig
from helpdesk_core.ports import Notification


class InboxNotifier:
    """Collects notifications per recipient (a stand-in for an SMS or chat gateway)."""

    name = "example-inbox"

    def __init__(self) -> None:
        self.inbox: dict[str, list[Notification]] = defaultdict(list)

    def send(self, notification: Notification) -> None:
        self.inbox[notification.recipient].append(notification)


@hookimpl
def helpdesk_register_notifiers(config: HelpdeskConfig) -> list[InboxNotifier]:
    return [InboxNotifier()]
