"""The SMS example plugin (examples/helpdesk_sms_plugin, issue 23), installed as its own
distribution, against a real HTTP gateway on loopback (``http.server`` in a thread) that checks
the bearer token: found through the entry-point group, a failure then a success yields exactly
one recorded delivery, recipients without a phone are skipped, config errors name the key."""

from __future__ import annotations

import importlib.metadata
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.ports import Notification
from helpdesk_core.testing import FixedClock

sms = pytest.importorskip(
    "helpdesk_sms_plugin", reason="pip install examples/helpdesk_sms_plugin (nox does it)"
)

API_KEY = "sms-key-3f9a/+="


@attrs.define
class Gateway:
    url: str
    delivered: dict[str, dict[str, Any]] = attrs.Factory(dict)
    posts: list[str] = attrs.Factory(list)
    unauthorised: int = 0
    fail_next: int = 0


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                state.unauthorised += 1
                self.send_response(401)
            elif state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
            else:
                document = json.loads(body)
                key = self.headers["Idempotency-Key"]
                assert document["reference"] == key
                state.delivered.setdefault(key, document)
                state.posts.append(key)
                self.send_response(202)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_the_plugin_is_a_separate_distribution_found_by_entry_point(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [ep.name for ep in importlib.metadata.entry_points(group="helpdesk")]
    assert "sms" in names
    assert importlib.metadata.distribution("helpdesk-sms-plugin").version == "0.1.0"
    monkeypatch.setenv("HELPDESK_TEST_SMS_KEY", API_KEY)
    desk = Helpdesk({"sms": {"url": gateway.url, "api_key_env": "HELPDESK_TEST_SMS_KEY"}})
    assert "sms" in [n.name for n in desk.notifiers]
    assert "sms" not in [n.name for n in Helpdesk(load_entrypoints=True).notifiers]


def test_a_failure_then_a_success_yields_exactly_one_recorded_delivery(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-SLA-4: an escalation or reply notice reaches the phone once, despite a retry."""
    monkeypatch.setenv("HELPDESK_TEST_SMS_KEY", API_KEY)
    config = {"sms": {"url": gateway.url, "api_key_env": "HELPDESK_TEST_SMS_KEY"}}
    clock = FixedClock("2026-11-02T09:00:00+08:00")
    desk = Helpdesk(config, clock=clock, plugins=[sms], load_entrypoints=False)
    customer = Actor(id="+8613800000000", roles={"customer"})
    agent = Actor(id="a-1", roles={"agent"})
    ticket = desk.open_ticket(customer, subject="杯子碎了", channel="web_form")
    desk.assign(agent, ticket.id, agent.id)
    desk.dispatch_outbox()
    gateway.posts.clear()
    desk.reply(agent, ticket.id, "我们会补发一个新杯子。")
    gateway.fail_next = 1
    desk.dispatch_outbox()
    with desk.storage.transaction() as uow:
        retried = [m for m in uow.outbox("pending") if m.attempts == 1]
    assert retried and retried[0].last_error and "503" in retried[0].last_error
    assert gateway.posts == []
    clock.advance(timedelta(minutes=5))
    desk.dispatch_outbox()
    desk.dispatch_outbox()
    assert len(gateway.posts) == 1 and len(set(gateway.posts)) == 1
    [document] = [gateway.delivered[k] for k in gateway.posts]
    assert document["to"] == "+8613800000000"
    assert "我们会补发一个新杯子。" in document["text"]
    assert gateway.unauthorised == 0


def test_a_wrong_key_is_refused_and_raises(gateway: Gateway) -> None:
    import httpx

    notifier = sms.SmsNotifier(sms.SmsSettings(url=gateway.url), "wrong")
    with pytest.raises(httpx.HTTPStatusError):
        notifier.send(note(recipient="+8613800000000"))
    assert gateway.unauthorised == 1 and gateway.delivered == {}


def note(**fields: Any) -> Notification:
    base: dict[str, Any] = {
        "key": "e1:r",
        "recipient": "r",
        "subject": "[T1] Cup",
        "body": "x " * 400,
        "event_kind": "replied",
        "ticket_id": "t1",
        "data": {},
    }
    return Notification(**{**base, **fields})


def test_phone_numbers_text_length_and_skipped_recipients(gateway: Gateway) -> None:
    notifier = sms.SmsNotifier(sms.SmsSettings(url=gateway.url, max_length=40), API_KEY)
    notifier.send(note(recipient="a-17"))  # no phone: skipped, not an error
    notifier.send(note(key="e2:r", data={"phone": "+86 (138) 0000-0001"}))
    assert list(gateway.delivered) == ["e2:r"]
    document = gateway.delivered["e2:r"]
    assert document["to"] == "+8613800000001"
    assert len(document["text"]) == 40 and document["text"].endswith("…")


def test_sms_config_errors_name_the_key_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(section: dict[str, Any]) -> Any:
        return Helpdesk({"sms": section}, plugins=[sms], load_entrypoints=False)

    with pytest.raises(ConfigError, match=r"^sms\.url"):
        load({"url": "ftp://x"})
    with pytest.raises(ConfigError, match=r"^sms\.timeout"):
        load({"url": "https://x.example", "timeout": -1})
    with pytest.raises(ConfigError, match=r"^sms\.max_length"):
        load({"url": "https://x.example", "max_length": 5})
    with pytest.raises(ConfigError, match=r"^sms\.events\[0\]"):
        load({"url": "https://x.example", "events": [3]})
    monkeypatch.delenv("HELPDESK_SMS_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"^sms\.api_key_env"):
        load({"url": "https://x.example"})
    assert load_config({}).sections.get("sms") is None
    monkeypatch.setenv("HELPDESK_SMS_API_KEY", "密钥 with spaces")
    with pytest.raises(ConfigError, match=r"^sms\.api_key_env"):
        load({"url": "https://x.example"})
