"""Web form redelivery (issue 23): a form resubmitted with the same ``idempotency_key`` returns
the first result with ``duplicate=True`` and writes nothing, as a redelivered mail does; without
a key, two identical forms are two tickets. On every store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk, IngestResult, ValidationError
from helpdesk_core.testing import FixedClock

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
ADMIN = Actor(id="root", roles={"admin"})
CONFIG = {"email": {"from": "Example Support <support@example.com>"}}
FORM = {
    "email": "li.wei@example.net",
    "name": "Li Wei",
    "subject": "Cannot log in",
    "body": "The app says my password is wrong.",
}


@pytest.fixture
def desk(store_url: str) -> Iterator[Helpdesk]:
    with Helpdesk(CONFIG, store_url, clock=FixedClock(NOW), load_entrypoints=False) as d:
        yield d


def written(desk: Helpdesk) -> tuple[int, int, int]:
    """Tickets, outbox rows and intake records in the store."""
    with desk.storage.transaction() as uow:
        return len(desk.tickets(ADMIN)), len(uow.outbox()), len(uow.intake_records(None))


def test_a_resubmitted_form_with_its_key_returns_the_first_result_and_writes_nothing(
    desk: Helpdesk,
) -> None:
    keyed = {**FORM, "idempotency_key": "5f0c6a1e-9d1b-4c55-a1f4-0b6d1c1f2e3a"}
    first = desk.submit_web_form(keyed)
    assert first.outcome == "created" and not first.duplicate
    before = written(desk)
    assert before == (1, 2, 1)  # the ticket, its event and acknowledgement, the record
    again = desk.submit_web_form(dict(keyed))
    assert again == attrs.evolve(first, duplicate=True)
    assert written(desk) == before


def test_without_a_key_two_identical_forms_are_two_tickets(desk: Helpdesk) -> None:
    first, second = desk.submit_web_form(FORM), desk.submit_web_form(FORM)
    assert not first.duplicate and not second.duplicate
    assert first.ticket_id != second.ticket_id
    assert written(desk)[0] == 2


def test_a_key_is_the_senders_own(desk: Helpdesk) -> None:
    """Another customer's form with the same key is a form of its own."""
    mine = desk.submit_web_form({**FORM, "idempotency_key": "1"})
    theirs = desk.submit_web_form({**FORM, "email": "wang@example.org", "idempotency_key": "1"})
    assert not theirs.duplicate and theirs.ticket_id != mine.ticket_id
    assert theirs.customer_id != mine.customer_id


def test_a_key_reused_for_a_different_form_is_refused_and_writes_nothing(desk: Helpdesk) -> None:
    desk.submit_web_form({**FORM, "idempotency_key": "req-7"})
    before = written(desk)
    with pytest.raises(ValidationError) as caught:
        desk.submit_web_form({**FORM, "body": "Something else.", "idempotency_key": "req-7"})
    assert caught.value.field == "payload.idempotency_key"
    assert written(desk) == before
    # the same sender's address in another case is the same sender: still refused
    with pytest.raises(ValidationError):
        desk.submit_web_form(
            {**FORM, "email": "Li.Wei@Example.NET", "subject": "x", "idempotency_key": "req-7"}
        )


def test_concurrent_submissions_of_one_keyed_form_make_one_ticket(desk: Helpdesk) -> None:
    keyed = {**FORM, "idempotency_key": "race"}
    results: list[IngestResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        try:
            results.append(desk.submit_web_form(keyed))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert len({r.ticket_id for r in results}) == 1
    assert written(desk) == (1, 2, 1)


FIELD = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


@given(
    name=FIELD.filter(lambda v: v.strip() != ""),
    subject=FIELD.filter(lambda v: v.strip() != ""),
    body=st.text(min_size=1, max_size=200).filter(lambda v: v.strip() != ""),
    key=st.from_regex(r"[!-~]{1,40}", fullmatch=True),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_valid_keyed_form_redelivered_is_recognised(
    desk: Helpdesk, name: str, subject: str, body: str, key: str
) -> None:
    form: dict[str, Any] = {**FORM, "name": name, "subject": subject, "body": body}
    form["idempotency_key"] = key
    try:
        first = desk.submit_web_form(form)
    except ValidationError as error:  # a field the door refuses (a name too odd, say)
        assert error.field.startswith("payload.")
        return
    again = desk.submit_web_form(form)
    assert again.duplicate and again.ticket_id == first.ticket_id
