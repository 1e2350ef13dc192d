"""The email channel passes the channel contract every intake plugin runs (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_core.testing import ChannelContract
from helpdesk_plugins.channel_email import EmailChannel, EmailSettings

CORPUS = Path(__file__).parent / "email_corpus"


class TestEmailChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> EmailChannel:
        return EmailChannel(EmailSettings(from_address="support@example.com"))

    @pytest.fixture
    def samples(self) -> dict[str, list[bytes]]:
        def read(*names: str) -> list[bytes]:
            return [(CORPUS / name).read_bytes() for name in names]

        return {
            "accepted": read("plain_utf8.eml", "gbk_body.eml", "reply_zh_wrote.eml"),
            "ignored": read("dsn_multipart_report.eml", "precedence_bulk.eml", "empty_file.eml"),
        }
