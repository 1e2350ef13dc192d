"""Parsing never raises and never drops the text (issue 23): the peer corpus of real messages
from other projects (read in place, never copied), and random mutations of real messages."""

from __future__ import annotations

import os
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.errors import ValidationError
from helpdesk_plugins.channel_email import EmailSettings, parse_email
from helpdesk_plugins.channel_email.parse import without_envelope

REPO = Path(__file__).resolve().parents[2]
PEER = Path(
    os.environ.get("HELPDESK_EMAIL_PEER_CORPUS", REPO.parent / "shared" / "email-peer-corpus")
)
"""Beside the project (``../shared/email-peer-corpus``); a worktree elsewhere names it in
``HELPDESK_EMAIL_PEER_CORPUS``."""
CORPUS = Path(__file__).parent / "email_corpus"
SETTINGS = EmailSettings(from_address="support@example.com", domains=("example.com",))
PEER_FILES = sorted(p for p in PEER.glob("*") if p.suffix != ".md") if PEER.is_dir() else []


def _has_inline_text(raw: bytes) -> bool:
    """An independent look with the stdlib alone: does any inline text/plain part carry words?"""
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(without_envelope(raw))
    except Exception:
        return False
    for part in message.walk():
        if part.get_content_type() != "text/plain" or part.get_filename():
            continue
        if str(part.get("Content-Disposition", "")).lower().startswith("attachment"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            return True
    return False


@pytest.mark.skipif(not PEER_FILES, reason=f"the peer corpus is not at {PEER}")
def test_every_peer_message_parses_to_text_or_a_reason() -> None:
    assert len(PEER_FILES) >= 200
    reasons: dict[str | None, int] = {}
    for path in PEER_FILES:
        raw = path.read_bytes()
        parsed = parse_email(raw, SETTINGS)
        reasons[parsed.reason] = reasons.get(parsed.reason, 0) + 1
        assert parsed.sha256 and parsed.size == len(raw)
        if parsed.reason is None:
            assert parsed.sender, path.name
            assert (
                parsed.text.strip()
                or parsed.attachments
                or parsed.rejected_attachments
                or (not _has_inline_text(raw))
            ), f"{path.name}: inline text was dropped"
        else:
            assert parsed.classification is not None and parsed.classification.detail
    # most real mail makes tickets; the bounces and auto-replies among them do not
    assert reasons[None] > len(PEER_FILES) * 0.7
    assert reasons.get("dsn", 0) >= 10


def _seed_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml")) if p.stat().st_size < 20_000]


SEEDS = _seed_messages()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "header", "truncate"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[at:at] = draw(
                st.sampled_from(
                    [
                        b"\n",
                        b"\r\n\r\n",
                        b"--",
                        b"=?",
                        b"?=",
                        b"\x00",
                        b"\xff\xfe",
                        b"Content-Type: multipart/mixed; boundary=x\n",
                        b"Content-Transfer-Encoding: base64\n",
                        b'charset="x-bogus"',
                        b"=?gbk?B?1cXI/Q==?=",
                        b"Auto-Submitted: auto-replied\n",
                        b"\n--x\n",
                    ]
                )
            )
            raw[at:at] = draw(st.binary(max_size=20))
        elif kind == "delete" and raw:
            del raw[at : at + draw(st.integers(1, 40))]
        elif kind == "header":
            name = draw(st.sampled_from([b"Subject", b"From", b"Content-Type", b"X-Loop", b"To"]))
            raw[0:0] = name + b": " + draw(st.binary(max_size=60)) + b"\n"
        elif kind == "truncate":
            del raw[at:]
    return bytes(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_random_mutations_of_real_mail_never_raise(raw: bytes) -> None:
    parsed = parse_email(raw, SETTINGS)
    assert parsed.classification is not None or parsed.sender is not None
    assert (
        "\r" not in parsed.subject and "\n" not in parsed.subject and "\x00" not in parsed.subject
    )
    assert isinstance(parsed.text, str) and isinstance(parsed.reply_text, str)
    if parsed.text.strip():
        assert parsed.reply_text.strip()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_raising(raw: bytes) -> None:
    parsed = parse_email(raw, SETTINGS)
    assert parsed.size == len(raw)
    assert parsed.classification is not None or parsed.sender is not None


def test_a_non_bytes_message_is_a_validation_error_naming_raw() -> None:
    with pytest.raises(ValidationError, match=r"^raw:"):
        parse_email("From: a@b\n\nhi", SETTINGS)  # type: ignore[arg-type]


def test_a_message_over_the_size_limit_is_unparseable_without_being_read() -> None:
    small = EmailSettings(message_max_bytes=100)
    parsed = parse_email(b"From: a@b.example\n\n" + b"x" * 200, small)
    assert parsed.reason == "unparseable"
    assert parsed.classification is not None
    assert "message_max_bytes" in parsed.classification.detail


def test_nested_message_headers_are_never_read_for_classification() -> None:
    """A forward whose inner message is automated is a human mail (only top-level headers)."""
    raw = (CORPUS / "forward_nested_auto_headers.eml").read_bytes()
    outer = BytesParser(policy=policy.default).parsebytes(raw)
    inner = [p for p in outer.walk() if p.get_content_type() == "message/rfc822"]
    assert inner and isinstance(inner[0].get_payload()[0], Message)
    assert inner[0].get_payload()[0]["Auto-Submitted"] == "auto-generated"
    assert parse_email(raw, SETTINGS).classification is None
