"""Contract tests every intake Channel must pass.

A channel plugin proves itself by subclassing :class:`ChannelContract` in its own test suite
and providing a ``channel`` fixture, plus ``samples``: raw inputs its channel accepts (each
must give an :class:`~helpdesk_core.ports.InboundMessage`) and ones it must ignore (``None``)::

    import pytest
    from helpdesk_core.testing import ChannelContract

    class TestSmsChannel(ChannelContract):
        @pytest.fixture
        def channel(self):
            return SmsGateway()

        @pytest.fixture
        def samples(self):
            return {"accepted": [b"+8613800000000:parcel broken"], "ignored": [b"AUTO:ok"]}

What the desk relies on: a non-empty ``name``; ``parse(raw, now)`` returns a message stamped with
the channel's name and ``now``, or None; and for any bytes at all it returns instead of raising
(an intake path must never lose the rest of a batch to one bad input).

A mail channel (:class:`~helpdesk_core.ports.MailChannel`: ``parse_mail`` and
``acknowledgements_per_hour``, what ``desk.ingest_email`` uses) must also read every sample and
any bytes into an :class:`~helpdesk_core.model.intake.InboundMail` whose ``sha256`` is the
digest of the raw bytes, with a sender for accepted samples and a reason for ignored ones. The
tests for it skip for channels that are not mail channels.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.model.intake import InboundMail
from helpdesk_core.ports import Channel, InboundMessage, MailChannel

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class ChannelContract:
    """Subclass with ``channel`` and ``samples`` fixtures (see the module docstring)."""

    def test_has_a_name_and_parse(self, channel: Any) -> None:
        assert isinstance(channel, Channel)
        assert isinstance(channel.name, str) and channel.name

    def test_accepted_samples_become_messages_of_this_channel_at_now(
        self, channel: Any, samples: dict[str, list[bytes]]
    ) -> None:
        assert samples["accepted"], "give at least one accepted sample"
        for raw in samples["accepted"]:
            message = channel.parse(raw, NOW)
            assert isinstance(message, InboundMessage), raw
            assert message.channel == channel.name
            assert message.received_at == NOW
            assert isinstance(message.sender, str) and message.sender
            assert isinstance(message.body, str) and isinstance(message.subject, str)

    def test_ignored_samples_give_none(self, channel: Any, samples: dict[str, list[bytes]]) -> None:
        for raw in samples.get("ignored", []):
            assert channel.parse(raw, NOW) is None, raw

    def test_parse_is_repeatable(self, channel: Any, samples: dict[str, list[bytes]]) -> None:
        for raw in samples["accepted"]:
            assert channel.parse(raw, NOW) == channel.parse(raw, NOW)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_any_bytes_parse_without_raising(self, channel: Any, data: st.DataObject) -> None:
        raw = data.draw(st.binary(max_size=1500), label="raw")
        message = channel.parse(raw, NOW)
        assert message is None or isinstance(message, InboundMessage)

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_mutated_samples_parse_without_raising(
        self, channel: Any, samples: dict[str, list[bytes]], data: st.DataObject
    ) -> None:
        raw = bytearray(data.draw(st.sampled_from(samples["accepted"]), label="sample"))
        for _ in range(data.draw(st.integers(1, 6), label="edits")):
            at = data.draw(st.integers(0, len(raw)), label="at")
            raw[at : at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
        message = channel.parse(bytes(raw), NOW)
        assert message is None or isinstance(message, InboundMessage)

    # -- mail channels ------------------------------------------------------------------------
    def test_mail_channel_reads_samples_in_full(
        self, channel: Any, samples: dict[str, list[bytes]]
    ) -> None:
        if not isinstance(channel, MailChannel):
            pytest.skip("not a mail channel (no parse_mail)")
        limit = channel.acknowledgements_per_hour
        assert isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0
        for raw in samples["accepted"]:
            mail = channel.parse_mail(raw, NOW)
            assert isinstance(mail, InboundMail), raw
            assert mail.sha256 == hashlib.sha256(raw).hexdigest()
            assert mail.reason is None and mail.sender, raw
        for raw in samples.get("ignored", []):
            mail = channel.parse_mail(raw, NOW)
            assert isinstance(mail, InboundMail) and mail.reason, raw
            assert mail.detail, raw

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_mail_channel_reads_any_bytes(self, channel: Any, data: st.DataObject) -> None:
        if not isinstance(channel, MailChannel):
            pytest.skip("not a mail channel (no parse_mail)")
        raw = data.draw(st.binary(max_size=1500), label="raw")
        mail = channel.parse_mail(raw, NOW)
        assert isinstance(mail, InboundMail)
        assert mail.sha256 == hashlib.sha256(raw).hexdigest()
        assert mail.reason is not None or mail.sender


__all__ = ["ChannelContract"]
