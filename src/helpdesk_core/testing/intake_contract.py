"""Intake duties of a Storage (issue 23): intake records with their raw bytes and dedupe key,
the received Message-ID index, attachments and the acknowledgement log.

Part of :class:`~helpdesk_core.testing.StorageContract`; the ``storage`` fixture comes from the
subclass.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core.errors import ConcurrencyConflict
from helpdesk_core.model.intake import Attachment, IntakeRecord, dedupe_key
from helpdesk_core.ports import Storage

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RAW = b"From: x@example.net\r\nSubject: \xb1\xad\r\n\r\nbody\x00 with NUL\r\n"


def intake_record(
    n: int, *, outcome: str = "ignored", at: datetime = T0, **fields: object
) -> IntakeRecord:
    values: dict[str, object] = {
        "id": f"in-{n}",
        "at": at,
        "channel": "email",
        "outcome": outcome,
        "dedupe_key": dedupe_key(f"m{n}@example.net", f"{n:064x}"),
        "message_id": f"m{n}@example.net",
        "sender": "x@example.net",
        "subject": f"message {n}",
        "reason": "auto_submitted" if outcome == "ignored" else None,
        "detail": "Auto-Submitted: auto-replied" if outcome == "ignored" else None,
        "raw": RAW if outcome in ("ignored", "quarantined") else None,
    }
    values.update(fields)
    return IntakeRecord(**values)  # type: ignore[arg-type]


class IntakeContract:
    """Intake duties of a Storage (see the module docstring)."""

    def test_intake_record_round_trips_with_its_raw_bytes(self, storage: Storage) -> None:
        record = intake_record(1, outcome="quarantined", reason="unparseable", detail="no header")
        with storage.transaction() as uow:
            assert uow.add_intake(record) is True
            assert uow.get_intake("in-1") == record
        with storage.transaction() as uow:
            assert uow.get_intake("in-1") == record
            assert uow.intake_by_key(record.dedupe_key) == record
            assert uow.get_intake("nope") is None
            assert uow.intake_by_key("nope|0") is None
        stored = record.raw
        assert stored == RAW

    def test_a_keyed_web_form_record_keeps_its_form(self, storage: Storage) -> None:
        """A ``created`` record of a web form with an idempotency key keeps the form's canonical
        JSON as raw bytes (a redelivery is compared with it) and is found by its key."""
        form = '{"body": "密码不对", "email": "li@example.net"}'.encode()
        record = intake_record(
            1,
            outcome="created",
            channel="web_form",
            dedupe_key="web:li@example.net:5f0c6a1e-9d1b-4c55",
            message_id=None,
            ticket_id="t-1",
            customer_id="c-1",
            raw=form,
        )
        with storage.transaction() as uow:
            assert uow.add_intake(record) is True
        with storage.transaction() as uow:
            assert uow.intake_by_key("web:li@example.net:5f0c6a1e-9d1b-4c55") == record
            assert uow.add_intake(attrs.evolve(record, id="in-2")) is False
            assert uow.intake_by_key("web:li@example.net:other") is None

    def test_a_second_record_with_the_same_dedupe_key_is_refused(self, storage: Storage) -> None:
        first = intake_record(1)
        again = intake_record(2, dedupe_key=first.dedupe_key)
        with storage.transaction() as uow:
            assert uow.add_intake(first) is True
        with storage.transaction() as uow:
            assert uow.add_intake(again) is False
            assert uow.add_intake(intake_record(3)) is True
        with storage.transaction() as uow:
            assert uow.get_intake("in-2") is None
            assert [r.id for r in uow.intake_records()] == ["in-3", "in-1"]

    def test_same_message_id_with_other_bytes_is_a_different_record(self, storage: Storage) -> None:
        one = intake_record(1, dedupe_key=dedupe_key("same@x", "a" * 64))
        two = intake_record(2, dedupe_key=dedupe_key("same@x", "b" * 64))
        with storage.transaction() as uow:
            assert uow.add_intake(one) and uow.add_intake(two)
        with storage.transaction() as uow:
            assert {r.id for r in uow.intake_records()} == {"in-1", "in-2"}

    def test_concurrent_records_of_one_key_keep_exactly_one(self, storage: Storage) -> None:
        results: list[str] = []
        barrier = threading.Barrier(2)

        def add(n: int) -> None:
            record = intake_record(n, dedupe_key="same|" + "c" * 64)
            try:
                with storage.transaction() as uow:
                    barrier.wait(timeout=10)
                    results.append("recorded" if uow.add_intake(record) else "exists")
            except ConcurrencyConflict:
                results.append("conflict")

        threads = [threading.Thread(target=add, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(results) == 2
        with storage.transaction() as uow:
            kept = uow.intake_records()
        assert len(kept) == 1
        assert results.count("recorded") in (1, 2)  # a "recorded" that lost at commit: conflict
        assert results.count("exists") + results.count("conflict") == 1

    def test_intake_records_newest_first_by_outcome_and_limit(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.add_intake(intake_record(1, at=T0))
            uow.add_intake(intake_record(2, outcome="quarantined", at=T0 + timedelta(minutes=1)))
            uow.add_intake(intake_record(3, outcome="created", at=T0 + timedelta(minutes=2)))
            uow.add_intake(intake_record(4, at=T0 + timedelta(minutes=2)))
        with storage.transaction() as uow:
            assert [r.id for r in uow.intake_records()] == ["in-4", "in-3", "in-2", "in-1"]
            assert [r.id for r in uow.intake_records(["ignored"])] == ["in-4", "in-1"]
            assert [r.id for r in uow.intake_records(limit=2)] == ["in-4", "in-3"]
            both = uow.intake_records(["ignored", "quarantined"])
            assert [r.id for r in both] == ["in-4", "in-2", "in-1"]
            assert uow.intake_records(["appended"]) == []

    def test_promote_intake_happens_once(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.add_intake(intake_record(1))
        with storage.transaction() as uow:
            assert uow.promote_intake("in-1", "t-1") is True
        with storage.transaction() as uow:
            assert uow.promote_intake("in-1", "t-2") is False
            assert uow.promote_intake("missing", "t-2") is False
            record = uow.get_intake("in-1")
            assert record is not None and record.promoted_to == "t-1"

    def test_a_failed_transaction_records_no_intake(self, storage: Storage) -> None:
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            uow.add_intake(intake_record(1))
            uow.index_message_id("m1@x", "t-1")
            uow.add_acknowledgement("c@x", T0)
            raise RuntimeError("boom")
        with storage.transaction() as uow:
            assert uow.intake_records() == []
            assert uow.ticket_of_message_id("m1@x") is None
            assert uow.acknowledgements_since("c@x", T0 - timedelta(hours=1)) == 0

    def test_received_message_ids_keep_their_first_ticket(self, storage: Storage) -> None:
        long_id = "x" * 900 + "@example.net"
        with storage.transaction() as uow:
            uow.index_message_id("m1@customer.cn", "t-1")
            uow.index_message_id("m1@customer.cn", "t-2")
            uow.index_message_id(long_id, "t-3")
            assert uow.ticket_of_message_id("m1@customer.cn") == "t-1"
        with storage.transaction() as uow:
            uow.index_message_id("m1@customer.cn", "t-4")
            assert uow.ticket_of_message_id("m1@customer.cn") == "t-1"
            assert uow.ticket_of_message_id(long_id) == "t-3"
            assert uow.ticket_of_message_id("other@x") is None

    def test_message_ids_are_looked_up_many_at_once(self, storage: Storage) -> None:
        """A mail's In-Reply-To and References in one call: the recorded ones, each with its
        ticket (its first), whatever their number, order or repeats; this unit's own too."""
        ids = [f"r{n}@customer.cn" for n in range(40)]
        with storage.transaction() as uow:
            for n, message_id in enumerate(ids):
                if n % 3 == 0:
                    uow.index_message_id(message_id, f"t-{n}")
            uow.index_message_id("r0@customer.cn", "t-other")
            assert uow.tickets_of_message_ids(["r3@customer.cn"]) == {"r3@customer.cn": "t-3"}
        expected = {i: f"t-{n}" for n, i in enumerate(ids) if n % 3 == 0}
        with storage.transaction() as uow:
            assert uow.tickets_of_message_ids(list(reversed(ids))) == expected
            assert uow.tickets_of_message_ids(ids[:2] + ids[:2]) == {ids[0]: "t-0"}
            assert uow.tickets_of_message_ids(["nobody@x"]) == {}
            assert uow.tickets_of_message_ids([]) == {}
            uow.index_message_id("new@customer.cn", "t-new")
            found = uow.tickets_of_message_ids(["new@customer.cn", ids[3]])
            assert found == {"new@customer.cn": "t-new", ids[3]: "t-3"}

    def test_attachments_round_trip_per_ticket(self, storage: Storage) -> None:
        blob = bytes(range(256)) * 40
        one = Attachment("a1", "t-1", "cup.png", "image/png", blob, T0, message_id="m1")
        two = Attachment("a2", "t-1", "发票.pdf", "application/pdf", b"%PDF-1.4", T0)
        other = Attachment("a3", "t-2", "x.txt", "text/plain", b"", T0)
        with storage.transaction() as uow:
            uow.add_attachment(one)
            uow.add_attachment(two)
            uow.add_attachment(other)
            assert uow.get_attachment("t-1", "a1") == one
        with storage.transaction() as uow:
            assert uow.get_attachment("t-1", "a1") == one
            assert uow.get_attachment("t-1", "a1").content == blob  # type: ignore[union-attr]
            assert uow.get_attachment("t-2", "a1") is None  # another ticket's: not found
            assert uow.get_attachment("t-1", "missing") is None
            assert [a.id for a in uow.attachments("t-1")] == ["a1", "a2"]
            assert uow.attachments("t-3") == []

    def test_acknowledgements_count_per_address_after_an_instant(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            for minutes in (0, 20, 40):
                uow.add_acknowledgement("c@x", T0 + timedelta(minutes=minutes))
            uow.add_acknowledgement("d@x", T0)
        with storage.transaction() as uow:
            assert uow.acknowledgements_since("c@x", T0 - timedelta(seconds=1)) == 3
            assert uow.acknowledgements_since("c@x", T0) == 2
            assert uow.acknowledgements_since("d@x", T0 - timedelta(hours=1)) == 1
            assert uow.acknowledgements_since("e@x", T0 - timedelta(hours=1)) == 0
