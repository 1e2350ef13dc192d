"""The server-rendered web UI without a browser (issue 25): sign-in by picking a demo user, the
inbox with SLA states, the ticket page with readable history, a customer's submit-and-follow,
KB search and the dashboard's SVG charts. Every page calls the facade as the signed-in user."""

from __future__ import annotations

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

import re
from typing import Any

from fastapi.testclient import TestClient
from helpdesk_server.ui import marks, span


def signed_in(app: Any, token: str) -> TestClient:
    client = TestClient(app)
    response = client.post("/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303 and "helpdesk_token" in response.cookies
    return client


def test_pages_need_a_signed_in_user(session_app: Any) -> None:
    client = TestClient(session_app)
    for path in ("/", "/inbox", "/my", "/kb", "/dashboard"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    login = client.get("/login")
    assert login.status_code == 200 and 'data-user="agent-000"' in login.text


def test_inbox_shows_sla_states_most_urgent_first(session_app: Any) -> None:
    client = signed_in(session_app, "demo-agent")
    page = client.get("/inbox")
    assert page.status_code == 200
    states = re.findall(r'class="sla sla-(\w+)"', page.text)
    assert "breached" in states
    order = {"breached": 0, "warning": 1, "running": 2, "paused": 3, "none": 9}
    assert [order[s] for s in states] == sorted(order[s] for s in states)
    assert "data-due=" in page.text  # the countdowns have their due instants


def test_customer_submits_follows_and_the_agent_answers(session_app: Any) -> None:
    """R-TKT-1: a customer's ticket, answered by an agent, as both see it."""
    customer = signed_in(session_app, "demo-customer")
    submitted = customer.post(
        "/my/tickets",
        data={"subject": "Kettle whistles out of tune", "description": "Since Monday."},
        follow_redirects=False,
    )
    assert submitted.status_code == 303
    ticket_path = submitted.headers["location"].split("?")[0]
    page = customer.get(submitted.headers["location"])
    assert "Kettle whistles out of tune" in page.text and "submitted" in page.text
    assert 'id="assignee"' not in page.text  # staff facts are not on a customer's page
    agent = signed_in(session_app, "demo-agent")
    before = agent.get(ticket_path).text
    assert re.search(r"first response</span>\s*<span class=\"sla sla-(running|warning)\"", before)
    agent.post(f"{ticket_path}/take")
    answered = agent.post(
        f"{ticket_path}/reply", data={"body": "Tuned it remotely.", "status": "in_progress"}
    )
    assert "reply sent" in answered.text
    assert re.search(r"first response</span>\s*<span class=\"sla sla-met\"", answered.text)
    assert "status_changed: new -&gt; assigned" in answered.text
    assert "Tuned it remotely." in customer.get(ticket_path).text


def test_a_refused_command_comes_back_with_the_library_message(session_app: Any) -> None:
    agent = signed_in(session_app, "demo-agent")
    customer = signed_in(session_app, "demo-customer")
    submitted = customer.post(
        "/my/tickets", data={"subject": "Lost voucher"}, follow_redirects=False
    )
    ticket_path = submitted.headers["location"].split("?")[0]
    page = agent.post(f"{ticket_path}/status", data={"status": "resolved"})
    assert "cannot move from" in page.text and 'class="flash error"' in page.text
    blank = customer.post("/my/tickets", data={"subject": "  "})
    assert "subject: must be a non-empty string" in blank.text
    missing = agent.get("/tickets/no-such-ticket")
    assert missing.status_code == 404 and "NotFound" in missing.text


def test_kb_search_marks_matches_and_escapes_the_rest(session_app: Any) -> None:
    customer = signed_in(session_app, "demo-customer")
    page = customer.get("/kb", params={"q": "password"})
    assert "Resetting your password" in page.text and "<mark>" in page.text
    assert str(marks("<b>x</b> <mark>y</mark>")) == "&lt;b&gt;x&lt;/b&gt; <mark>y</mark>"
    drafts = signed_in(session_app, "demo-supervisor").get("/kb").text
    assert "draft" in drafts and "in_review" in drafts


def test_dashboard_draws_svg_charts(session_app: Any) -> None:
    page = signed_in(session_app, "demo-manager").get("/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 2
    assert "Queue: open tickets by age" in page.text and "SLA compliance" in page.text
    assert 'class="alarm"' in page.text and "max queued" in page.text


def test_customer_page_for_staff(session_app: Any) -> None:
    page = signed_in(session_app, "demo-supervisor").get("/customers/C00001")
    assert page.status_code == 200 and "Lin Wei" in page.text


def test_span_reads_like_a_person_would_say_it() -> None:
    from datetime import timedelta

    assert span(timedelta(seconds=45)) == "45s"
    assert span(timedelta(minutes=65)) == "1h 05m"
    assert span(timedelta(days=3, hours=2, minutes=9)) == "3d 2h"
