"""The operations routes of the API (issue 25): what-if replays, intake triage, dead letters
and the problem record, each through the facade with its permission checks and errors."""

from __future__ import annotations

import pytest

pytest.importorskip("helpdesk_server", reason="pip install -e examples/helpdesk_server")

from typing import Any

PERIOD = {"start": "2026-01-01", "end": "2026-12-31"}

AUTO_REPLY = (
    b"From: Holiday Bot <bot@example.org>\r\nTo: help@example.com\r\n"
    b"Subject: Out of office\r\nMessage-ID: <ooo-1@example.org>\r\n"
    b"Auto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n"
)


def test_r_rpt_1_whatif_takes_json_or_toml_never_a_path(client: Any, auth: Any) -> None:
    """R-RPT-1: one of config / config_toml; bad TOML names config_toml; customers 403."""
    toml = '[sla.policies.default.targets]\nfirst_response = "2h"\n'
    ok = client.post("/api/v1/whatif", headers=auth("admin"), json={**PERIOD, "config_toml": ""})
    assert ok.status_code == 200, ok.text
    assert ok.json()["tickets"] > 0 and "breached before" in ok.json()["text"]
    both = client.post(
        "/api/v1/whatif", headers=auth("admin"), json={**PERIOD, "config": {}, "config_toml": toml}
    )
    assert both.status_code == 422 and both.json()["field"] == "config"
    bad = client.post("/api/v1/whatif", headers=auth("admin"), json={**PERIOD, "config_toml": "["})
    assert bad.status_code == 422 and bad.json()["field"] == "config_toml"
    denied = client.post("/api/v1/whatif", headers=auth("customer"), json={**PERIOD, "config": {}})
    assert denied.status_code == 403


def test_r_tkt_1_intake_records_are_listed_and_promoted_once(
    client: Any, auth: Any, session_app: Any
) -> None:
    """R-TKT-1: an ignored auto-reply is listed for agents (not customers) and promoted once."""
    result = session_app.state.desk.ingest_email(AUTO_REPLY)
    assert result.outcome == "ignored"
    listed = client.get("/api/v1/intake", headers=auth("agent"), params={"outcome": "ignored"})
    assert listed.status_code == 200
    [record] = [r for r in listed.json() if r["message_id"] == "ooo-1@example.org"]
    assert "raw" not in record
    assert client.get("/api/v1/intake", headers=auth("customer")).status_code == 403
    promoted = client.post(f"/api/v1/intake/{record['id']}/promote", headers=auth("agent"))
    assert promoted.status_code == 201, promoted.text
    assert promoted.json()["subject"] == "Out of office"
    again = client.post(f"/api/v1/intake/{record['id']}/promote", headers=auth("agent"))
    assert again.status_code in (409, 422), again.text


def test_r_ops_dead_letters_need_outbox_manage(client: Any, auth: Any) -> None:
    """Dead letters: administrators list them; an unknown one is 404; agents are refused."""
    assert client.get("/api/v1/dead-letters", headers=auth("admin")).status_code == 200
    assert client.get("/api/v1/dead-letters", headers=auth("agent")).status_code == 403
    missing = client.post("/api/v1/dead-letters/nope/retry", headers=auth("admin"))
    assert missing.status_code == 404


def test_r_tkt_6_workaround_on_an_urgent_ticket(client: Any, auth: Any) -> None:
    """R-TKT-6: the problem record of an urgent ticket; a normal one is refused by name."""
    created = []
    for priority in ("urgent", "normal"):
        response = client.post(
            "/api/v1/tickets",
            headers=auth("agent"),
            json={"subject": f"Checkout down ({priority})", "priority": priority,
                  "customer_id": "C00001"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    urgent, normal = created
    body = {"text": "Pay by bank transfer meanwhile.", "expected_resolution": "2030-01-01T12:00Z"}
    done = client.post(f"/api/v1/tickets/{urgent}/workaround", headers=auth("agent"), json=body)
    assert done.status_code == 200, done.text
    assert done.json()["messages"][-1]["body"].startswith("Pay by bank transfer meanwhile.")
    refused = client.post(f"/api/v1/tickets/{normal}/workaround", headers=auth("agent"), json=body)
    assert refused.status_code in (409, 422), refused.text


def test_r_tkt_1_a_public_web_form_tells_the_number_once(client: Any) -> None:
    """R-TKT-1: a contact form needs no sign-in, returns the ticket number at once, and the same
    form posted again with its Idempotency-Key opens no second ticket; bad fields are 422
    naming ``payload.<field>``."""
    form = {"email": "form.sender@example.net", "name": "Form Sender", "subject": "Broken",
            "body": "The kettle does not heat."}  # fmt: skip
    key = {"Idempotency-Key": "web-form-test-1"}
    first = client.post("/api/v1/forms/ticket", json=form, headers=key)
    assert first.status_code == 201, first.text
    taken = first.json()
    assert taken["outcome"] == "created" and taken["number"].startswith("T")
    again = client.post("/api/v1/forms/ticket", json=form, headers=key)
    assert again.status_code == 200 and again.json() == {**taken, "duplicate": True}
    other = client.post("/api/v1/forms/ticket", json=form)
    assert other.status_code == 201 and other.json()["ticket_id"] != taken["ticket_id"]
    changed = client.post("/api/v1/forms/ticket", json={**form, "body": "x"}, headers=key)
    assert changed.status_code == 422 and changed.json()["field"] == "payload.idempotency_key"
    bad = client.post("/api/v1/forms/ticket", json={**form, "email": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "payload.email"
