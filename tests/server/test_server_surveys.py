"""Surveys in the reference server (issue 25, R-CSAT-1, R-REV-4): the invitation's link
answers without sign-in, the signed-in requester rates from the ticket page or the API, agents
list and classify the feedback, and the dashboard charts CSAT. Every route goes through the
facade; the token is read where the invitation carries it, the outbox."""

from __future__ import annotations

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

from typing import Any

from fastapi.testclient import TestClient
from test_ui import signed_in  # type: ignore[import-not-found]

from helpdesk_core import Helpdesk


def resolved_ticket(client: Any, auth: Any, subject: str) -> str:
    """A ticket the demo customer opened and agent-000 resolved (which owes a survey)."""
    created = client.post("/api/v1/tickets", headers=auth("customer"), json={"subject": subject})
    assert created.status_code == 201, created.text
    tid: str = created.json()["id"]
    for path, body in (
        ("assign", {"assignee": "agent-000"}),
        ("replies", {"body": "Fixed on our side.", "status": "resolved"}),
    ):
        response = client.post(f"/api/v1/tickets/{tid}/{path}", headers=auth("agent"), json=body)
        assert response.status_code == 200, response.text
    return tid


def invitation_token(desk: Helpdesk, ticket_id: str) -> str:
    with desk.storage.transaction() as uow:
        [row] = [
            m for m in uow.outbox() if m.topic == "survey" and m.payload["ticket_id"] == ticket_id
        ]
    token: str = row.payload["token"]
    return token


def test_r_csat_1_api_rating_listing_and_classification(client: Any, auth: Any) -> None:
    """R-CSAT-1, R-REV-4: the requester rates, a second rating is one 422 naming ticket_id,
    another customer gets 404, the agent lists the answer (no token hash) and classifies it."""
    tid = resolved_ticket(client, auth, "Toaster burns everything")
    other = client.post(
        f"/api/v1/tickets/{tid}/rating", headers=auth("customer2"), json={"stars": 5}
    )
    assert other.status_code == 404
    bad = client.post(f"/api/v1/tickets/{tid}/rating", headers=auth("customer"), json={"stars": 6})
    assert bad.status_code == 422 and bad.json()["field"] == "stars"
    rated = client.post(
        f"/api/v1/tickets/{tid}/rating",
        headers=auth("customer"),
        json={"stars": 4, "comment": "ok"},
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["stars"] == 4 and "token_hash" not in rated.json()
    again = client.post(
        f"/api/v1/tickets/{tid}/rating", headers=auth("customer"), json={"stars": 1}
    )
    assert again.status_code == 422 and again.json()["field"] == "ticket_id"
    listed = client.get("/api/v1/surveys", params={"ticket_id": tid}, headers=auth("agent"))
    assert [(s["stars"], s["comment"]) for s in listed.json()] == [(4, "ok")]
    assert client.get("/api/v1/surveys", headers=auth("customer")).json() == []  # no survey.view
    survey_id = listed.json()[0]["id"]
    filed = client.post(
        f"/api/v1/surveys/{survey_id}/classify", headers=auth("agent"), json={"category": "tool"}
    )
    assert filed.status_code == 200 and filed.json()["category"] == "tool"
    wrong = client.post(
        f"/api/v1/surveys/{survey_id}/classify", headers=auth("agent"), json={"category": "luck"}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "category"


def test_r_csat_1_api_answer_by_token_needs_no_sign_in(
    client: Any, auth: Any, session_app: Any
) -> None:
    """R-CSAT-1: the token answers once; unknown and used tokens are one 422 naming token."""
    tid = resolved_ticket(client, auth, "Fridge hums loudly")
    token = invitation_token(session_app.state.desk, tid)
    answered = client.post("/api/v1/surveys/answer", json={"token": token, "stars": 2})
    assert answered.status_code == 200, answered.text
    status = client.get(f"/api/v1/tickets/{tid}", headers=auth("customer")).json()["status"]
    assert status == "in_progress"  # 2 stars is unsatisfied: reopened
    for used in (token, "not-a-token"):
        refused = client.post("/api/v1/surveys/answer", json={"token": used, "stars": 5})
        assert refused.status_code == 422 and refused.json()["field"] == "token"


def test_r_csat_1_invitation_link_page_answers_without_sign_in(
    client: Any, auth: Any, session_app: Any
) -> None:
    """R-CSAT-1: /survey/<token> shows a form to anyone, answers once, then refuses alike."""
    tid = resolved_ticket(client, auth, "Kettle smells of plastic")
    token = invitation_token(session_app.state.desk, tid)
    anonymous = TestClient(session_app)
    form = anonymous.get(f"/survey/{token}")
    assert form.status_code == 200 and 'name="stars"' in form.text
    thanks = anonymous.post(f"/survey/{token}", data={"stars": "5", "comment": "great"})
    assert thanks.status_code == 200 and "5 of 5 stars" in thanks.text
    spent = anonymous.post(f"/survey/{token}", data={"stars": "5"})
    assert spent.status_code == 422 and "already used survey token" in spent.text


def test_r_csat_1_ticket_page_rate_form_reopens_on_two_stars(
    client: Any, auth: Any, session_app: Any
) -> None:
    """R-CSAT-1: the requester's page offers Rate while resolved; 2 stars reopens the ticket,
    the form goes away, the history says so; the agent's page never offers it."""
    tid = resolved_ticket(client, auth, "Mixer stops after a minute")
    customer = signed_in(session_app, "demo-customer")
    page = customer.get(f"/tickets/{tid}")
    assert 'id="rate"' in page.text
    assert 'id="rate"' not in signed_in(session_app, "demo-agent").get(f"/tickets/{tid}").text
    done = customer.post(f"/tickets/{tid}/rate", data={"stars": "2", "comment": "still broken"})
    assert "you rated this ticket 2 of 5 stars" in done.text
    assert 'id="ticket-status">in_progress<' in done.text
    assert 'id="rate"' not in done.text and "survey_answered" in done.text


def test_r_rpt_1_dashboard_charts_csat(session_app: Any) -> None:
    """R-RPT-1: the dashboard carries the CSAT chart (the csat report by day)."""
    page = signed_in(session_app, "demo-supervisor").get("/dashboard")
    assert page.status_code == 200 and "CSAT: satisfied ratings (%)" in page.text
