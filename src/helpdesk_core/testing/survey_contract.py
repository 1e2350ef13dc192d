"""Storage contract for satisfaction surveys (R-CSAT-1), mixed into
:class:`~helpdesk_core.testing.storage_contract.StorageContract` so every store runs it.

What a store must do: keep surveys (insert or replace), find one by id and by token hash, list
them per ticket ordered by ``(created_at, id)``, and record an answer only while the survey is
unanswered, so that of concurrent answers exactly one commits.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from helpdesk_core.errors import ConcurrencyConflict
from helpdesk_core.model.surveys import Survey, token_hash
from helpdesk_core.ports import Storage

S0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def make_survey(survey_id: str, ticket_id: str = "t1", *, at: datetime = S0) -> Survey:
    return Survey(
        id=survey_id,
        ticket_id=ticket_id,
        customer="C1",
        token_hash=token_hash(f"token-{survey_id}"),
        created_at=at,
        expires_at=at + timedelta(hours=24),
        channel="email",
    )


class SurveyContract:
    """Survey storage; subclasses provide the ``storage`` fixture."""

    def test_r_csat_1_surveys_round_trip_by_id_token_hash_and_ticket(
        self, storage: Storage
    ) -> None:
        """R-CSAT-1: a survey reads back whole, by id and by its token's hash, and lists per
        ticket in (created_at, id) order."""
        later = make_survey("s2", at=S0 + timedelta(hours=1))
        with storage.transaction() as uow:
            uow.save_survey(later)
            uow.save_survey(make_survey("s1"))
            uow.save_survey(make_survey("s3", "t2"))
            assert uow.get_survey("s2") == later  # reads see own writes
        with storage.transaction() as uow:
            assert uow.get_survey("s2") == later
            assert uow.get_survey("nope") is None
            assert uow.get_survey_by_token_hash(token_hash("token-s1")) == make_survey("s1")
            assert uow.get_survey_by_token_hash(token_hash("token-zz")) is None
            assert [s.id for s in uow.surveys(ticket_id="t1")] == ["s1", "s2"]
            assert [s.id for s in uow.surveys()] == ["s1", "s3", "s2"]

    def test_r_csat_1_an_answer_is_recorded_once(self, storage: Storage) -> None:
        """R-CSAT-1: answer_survey records only while unanswered; the second answer is None."""
        with storage.transaction() as uow:
            uow.save_survey(make_survey("s1"))
        at = S0 + timedelta(hours=2)
        with storage.transaction() as uow:
            answered = uow.answer_survey("s1", stars=4, comment="fine", answered_at=at)
            assert answered is not None and answered.stars == 4 and answered.answered_at == at
            assert uow.answer_survey("s1", stars=1, comment=None, answered_at=at) is None
        with storage.transaction() as uow:
            assert uow.get_survey("s1") == answered
            assert uow.answer_survey("s1", stars=1, comment=None, answered_at=at) is None
            assert uow.answer_survey("missing", stars=1, comment=None, answered_at=at) is None
            # classifying replaces the survey and keeps its answer
            classified = attrs.evolve(answered, category="tool", classified_by="a-1")
            uow.save_survey(classified)
        with storage.transaction() as uow:
            assert uow.get_survey("s1") == classified

    def test_an_answer_rolls_back_with_its_transaction(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.save_survey(make_survey("s1"))
        with pytest.raises(RuntimeError), storage.transaction() as uow:
            assert uow.answer_survey("s1", stars=5, comment=None, answered_at=S0) is not None
            raise RuntimeError("boom")
        with storage.transaction() as uow:
            survey = uow.get_survey("s1")
            assert survey is not None and survey.answered_at is None

    @pytest.mark.parametrize("workers", [2, 5])
    def test_r_csat_1_concurrent_answers_one_commits(self, storage: Storage, workers: int) -> None:
        """R-CSAT-1: of concurrent transactions answering one survey exactly one commits; the
        others get None or a ConcurrencyConflict."""
        with storage.transaction() as uow:
            uow.save_survey(make_survey("s1"))
        barrier = threading.Barrier(workers)
        results: list[str] = []
        lock = threading.Lock()

        def answer(stars: int) -> None:
            outcome = "lost"
            try:
                with storage.transaction() as uow:
                    assert uow.get_survey("s1") is not None
                    barrier.wait(timeout=10)
                    done = uow.answer_survey("s1", stars=stars, comment=None, answered_at=S0)
                    outcome = "won" if done is not None else "lost"
            except ConcurrencyConflict:
                outcome = "conflict"
            with lock:
                results.append(f"{outcome}:{stars}")

        threads = [threading.Thread(target=answer, args=(n + 1,)) for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [r for r in results if r.startswith("won")]
        assert len(results) == workers and len(winners) == 1, results
        with storage.transaction() as uow:
            stored = uow.get_survey("s1")
            assert stored is not None and f"won:{stored.stars}" == winners[0]
