"""The webhook notifier against a real HTTP server on loopback (``http.server`` in a thread)
that checks ``X-Helpdesk-Signature`` itself (issue 23): signature, body, timeout, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Actor, Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_core.ports import Notification
from helpdesk_core.testing import FixedClock
from helpdesk_plugins.notify_webhook import (
    WebhookNotifier,
    WebhookSettings,
    sign,
    verify_signature,
)

SECRET = b"whsec-test-\xe5\xae\xa2\xe6\x9c\x8d"


@attrs.define
class Receiver:
    """What the loopback server saw: verified deliveries by idempotency key, and rejections."""

    url: str
    accepted: dict[str, dict[str, Any]] = attrs.Factory(dict)
    posts: list[str] = attrs.Factory(list)
    """Keys of every verified POST answered 2xx, repeats included."""
    rejected: list[str] = attrs.Factory(list)
    fail_next: int = 0
    delay: float = 0.0


def _verify(header: str, body: bytes) -> bool:
    """The receiver's own check, written from the header's definition (not our helper)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    t, v1 = parts["t"], parts["v1"]
    expected = hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) < 300


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.delay:
                time.sleep(state.delay)
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            if not _verify(self.headers.get("X-Helpdesk-Signature", "t=0,v1="), body):
                state.rejected.append(self.headers.get("X-Helpdesk-Signature", ""))
                self.send_response(401)
                self.end_headers()
                return
            document = json.loads(body)
            assert self.headers["Idempotency-Key"] == document["key"]
            state.accepted.setdefault(document["key"], document)
            state.posts.append(document["key"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/helpdesk"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def notification(key: str = "event-1:C1", **data: Any) -> Notification:
    return Notification(
        key=key,
        recipient="C1",
        subject="[T20261102000001] 杯子碎了",
        body="我们会补发。",
        event_kind="replied",
        ticket_id="t1",
        data=data,
    )


def test_a_signed_notification_is_accepted_by_a_verifying_receiver(receiver: Receiver) -> None:
    notifier = WebhookNotifier(WebhookSettings(url=receiver.url), SECRET)
    notifier.send(notification(level=2))
    notifier.close()
    assert receiver.rejected == []
    document = receiver.accepted["event-1:C1"]
    assert document["subject"] == "[T20261102000001] 杯子碎了"
    assert document["event_kind"] == "replied" and document["data"] == {"level": 2}


def test_a_wrong_secret_is_rejected_and_the_send_raises(receiver: Receiver) -> None:
    notifier = WebhookNotifier(WebhookSettings(url=receiver.url), b"another secret")
    with pytest.raises(httpx.HTTPStatusError):
        notifier.send(notification())
    assert len(receiver.rejected) == 1 and receiver.accepted == {}


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.delay = 1.0
    notifier = WebhookNotifier(WebhookSettings(url=receiver.url, timeout=0.2), SECRET)
    with pytest.raises(httpx.TimeoutException):
        notifier.send(notification())


def test_only_the_configured_event_kinds_are_posted(receiver: Receiver) -> None:
    notifier = WebhookNotifier(WebhookSettings(url=receiver.url, events=("escalation",)), SECRET)
    notifier.send(notification())
    assert receiver.accepted == {}


@given(st.binary(max_size=200), st.integers(0, 2**31), st.binary(min_size=1, max_size=40))
def test_verify_signature_accepts_exactly_what_sign_made(
    body: bytes, timestamp: int, secret: bytes
) -> None:
    header = sign(secret, timestamp, body)
    assert verify_signature(secret, header, body, now=timestamp)
    assert not verify_signature(secret, header, body + b"x", now=timestamp)
    assert not verify_signature(secret + b"x", header, body, now=timestamp)
    assert not verify_signature(secret, header, body, now=timestamp + 301)
    assert not verify_signature(secret, "garbage", body, now=timestamp)


def test_a_failure_then_a_success_yields_exactly_one_recorded_delivery(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_TEST_WEBHOOK_SECRET", SECRET.decode("utf-8"))
    config = load_config(
        {"webhook": {"url": receiver.url, "secret_env": "HELPDESK_TEST_WEBHOOK_SECRET"}}
    )
    clock = FixedClock("2026-11-02T09:00:00+08:00")
    desk = Helpdesk(config, clock=clock, load_entrypoints=False)
    assert "webhook" in [n.name for n in desk.notifiers]
    customer, agent = Actor(id="C1", roles={"customer"}), Actor(id="a-1", roles={"agent"})
    ticket = desk.open_ticket(customer, subject="杯子碎了", channel="web_form")
    desk.assign(agent, ticket.id, agent.id)
    desk.dispatch_outbox()  # the assignment notice
    receiver.posts.clear()
    desk.reply(agent, ticket.id, "我们会补发。")
    receiver.fail_next = 1
    desk.dispatch_outbox()
    with desk.storage.transaction() as uow:
        retried = [m for m in uow.outbox("pending") if m.attempts == 1]
    assert retried and retried[0].last_error and "503" in retried[0].last_error
    clock.advance(timedelta(minutes=5))
    desk.dispatch_outbox()
    desk.dispatch_outbox()
    assert receiver.posts and len(receiver.posts) == len(set(receiver.posts))
    assert any(receiver.accepted[k]["event_kind"] == "replied" for k in receiver.posts)
    assert receiver.rejected == []


def test_webhook_config_errors_name_the_key_path(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^webhook\.url"):
        load_config({"webhook": {"url": "ftp://x"}})
    with pytest.raises(ConfigError, match=r"^webhook\.timeout"):
        load_config({"webhook": {"url": "https://x.example", "timeout": 0}})
    with pytest.raises(ConfigError, match=r"^webhook\.events\[0\]"):
        load_config({"webhook": {"url": "https://x.example", "events": [""]}})
    monkeypatch.delenv("HELPDESK_WEBHOOK_SECRET", raising=False)
    config = load_config({"webhook": {"url": "https://x.example"}})
    with pytest.raises(ConfigError, match=r"^webhook\.secret_env"):
        Helpdesk(config, load_entrypoints=False)
