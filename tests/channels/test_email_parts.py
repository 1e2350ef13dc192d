"""The email channel's parts one by one: ``[email]`` config, charset fallback, HTML to text,
reply trimming, our Message-IDs, the channel plugin in a desk, and ``IngestResult``
(issue 23; R-TKT-1 intake by email)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core import Helpdesk, IngestResult
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_plugins.channel_email import (
    EmailChannel,
    EmailSettings,
    email_settings,
    is_own_message_id,
    make_message_id,
    ticket_of_message_id,
)
from helpdesk_plugins.channel_email.charsets import codec_for, decode_bytes
from helpdesk_plugins.channel_email.html_text import html_to_text
from helpdesk_plugins.channel_email.trimming import trim_reply

# ------------------------------------------------------------------ config


def test_email_config_reads_from_domains_and_limits() -> None:
    config = load_config(
        {
            "email": {
                "from": '"Example Support" <Support@Example.com>',
                "domains": ["help.example.com"],
                "automated_allow": ["Alerts@Monitor.example.net", "@erp.example.com"],
                "attachment_types": ["image/*", "application/pdf"],
                "ack_limit_per_hour": 5,
                "locale": "zh-CN",
            }
        }
    )
    settings = email_settings(config)
    assert (settings.from_address, settings.from_name) == ("support@example.com", "Example Support")
    assert settings.domains == ("example.com", "help.example.com")
    assert settings.allows_automated("alerts@monitor.example.net")
    assert settings.allows_automated("robot@erp.example.com")
    assert not settings.allows_automated("robot@example.com")
    assert settings.ack_limit_per_hour == 5 and settings.smtp is None
    assert email_settings(load_config({})) == EmailSettings()
    assert EmailSettings().ack_limit_per_hour == 3  # the 3 per address per hour


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"from": "not an address"}, "email.from"),
        ({"from": "a@b.example\r\nBcc: x@y"}, "email.from"),
        ({"domains": ["bad domain"]}, "email.domains[0]"),
        ({"automated_allow": ["nobody"]}, "email.automated_allow[0]"),
        ({"attachment_types": ["pdf"]}, "email.attachment_types[0]"),
        ({"attachment_max_bytes": 0}, "email.attachment_max_bytes"),
        ({"ack_limit_per_hour": True}, "email.ack_limit_per_hour"),
        ({"locale": "fr"}, "email.locale"),
        ({"imap_typo": 1}, "email.imap_typo"),
    ],
)
def test_email_config_errors_name_the_key_path(section: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"email": section})
    assert caught.value.path == path


# ------------------------------------------------------------------ charsets

CODECS = {
    "utf-8": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-2022-jp": "iso2022_jp_2",
}


@given(st.sampled_from(sorted(CODECS)), st.text(max_size=80))
def test_text_in_a_declared_charset_comes_back_whole(label: str, text: str) -> None:
    try:
        data = text.encode(CODECS[label])
    except UnicodeEncodeError:
        return  # not representable in that charset: nobody could have sent it
    if data.decode(CODECS[label]) != text:
        return  # the codec maps it to a look-alike (CP932's U+00A2 -> U+FFE0): not ours to fix
    assert decode_bytes(data, label)[0] == text


@given(st.binary(max_size=300), st.sampled_from([None, "utf-8", "x-bogus", "gbk", "zlib", "hex"]))
def test_any_bytes_decode_to_text_without_raising(data: bytes, label: str | None) -> None:
    text, codec = decode_bytes(data, label)
    assert isinstance(text, str) and codec
    assert (text == "") == (data == b"")


def test_codec_labels_that_are_not_text_encodings_are_ignored() -> None:
    assert codec_for("zlib") is None and codec_for("base64") is None
    assert codec_for("unicode_escape") is None and codec_for("no-such") is None
    assert codec_for(" GB2312 ") == "gb18030"


# ------------------------------------------------------------------ HTML

HTML_TAGS = st.sampled_from(
    ["<p>", "</p>", "<script>", "</script>", "<br>", "<blockquote>", "</blockquote>",
     "<a href='x'>", "</a>", "<style>", "</style>", "<li>", "<!--", "-->", "&amp;", "&#0;",
     "<pre>", "</pre>", "<"]
)  # fmt: skip


@given(st.lists(st.one_of(HTML_TAGS, st.text(max_size=10)), max_size=40))
def test_html_to_text_never_raises(pieces: list[str]) -> None:
    assert isinstance(html_to_text("".join(pieces)), str)


def test_html_scripts_styles_and_remote_images_never_reach_the_text() -> None:
    text = html_to_text(
        "<head><script>steal()</script><style>p{}</style></head><body><p>Hi</p>"
        "<img src='https://tracker.example.net/pixel.gif' alt='photo'>"
        "<script src='https://evil.example/x.js'></script><p>Bye</p></body>"
    )
    assert text == "Hi\n\nphoto\n\nBye"  # no script, style or image address


# ------------------------------------------------------------------ trimming

MARKERS = (
    "wrote:",
    "写道",
    "Original",
    "原始邮件",
    "-- ",
    "--",
    "From:",
    "发件人",
    ">",
    "Sent from",
    "发自",
)


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30), max_size=10
    )
)
def test_a_reply_without_quotes_or_signature_is_kept_whole(lines: list[str]) -> None:
    lines = [line for line in lines if not any(m in line for m in MARKERS) and line.strip()]
    text = "\n".join(lines)
    assert trim_reply(text) == text.strip()


def test_trimming_never_leaves_nothing() -> None:
    quoted_only = "On Mon, Nov 2, 2026 Support wrote:\n> everything is quoted"
    assert trim_reply(quoted_only) == quoted_only


# ------------------------------------------------------------------ Message-IDs


@given(st.text(max_size=40), st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True))
def test_our_message_ids_carry_the_ticket_and_are_recognised(key: str, ticket: str) -> None:
    message_id = make_message_id(key, "example.com", ticket)
    assert is_own_message_id(f"<{message_id}>", ["Example.com"])
    assert ticket_of_message_id(message_id, ["example.com"]) == ticket
    assert not is_own_message_id(message_id, ["other.example"])
    assert make_message_id(key, "example.com", ticket) == message_id  # redelivery: same id


def test_a_ticket_id_unsafe_for_a_message_id_is_left_out() -> None:
    message_id = make_message_id("k", "example.com", "t 1>\r\n")
    assert ticket_of_message_id(message_id, ["example.com"]) is None
    assert is_own_message_id(message_id, ["example.com"])


# ------------------------------------------------------------------ the plugin in a desk


def test_every_desk_has_the_email_channel_with_its_config() -> None:
    desk = Helpdesk(
        {"email": {"from": "support@example.com", "automated_allow": ["@monitor.example.net"]}},
        load_entrypoints=False,
    )
    channel = desk.channels["email"]
    assert isinstance(channel, EmailChannel)
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    human = b"From: Zhang <zhang@customer.cn>\nSubject: [#T20261102000001] Re: cup\n\nThanks!\n"
    message = channel.parse(human, now)
    assert message is not None and message.channel == "email"
    assert (message.sender, message.thread_key, message.body) == (
        "zhang@customer.cn",
        "T20261102000001",
        "Thanks!",
    )
    robot = b"From: a@monitor.example.net\nAuto-Submitted: auto-generated\n\nCPU 99%\n"
    assert channel.parse(robot, now) is not None  # allow-listed
    bounce = b"From: MAILER-DAEMON@mx.example.net\n\nfailed\n"
    assert channel.parse(bounce, now) is None
    assert channel.parse(b"\x00\xff garbage", now) is None


def test_ingest_result_is_exported_and_checks_its_outcome() -> None:
    result = IngestResult("ignored", message_id="m@x", reason="dsn", detail="Return-Path: <>")
    assert result.duplicate is False and result.ticket_id is None
    with pytest.raises(ValueError, match="outcome"):
        IngestResult("lost")  # type: ignore[arg-type]


# ------------------------------------------------------------------ threading and acks


def test_threading_prefers_message_ids_then_the_subject_token() -> None:
    from helpdesk_plugins.channel_email import parse_email
    from helpdesk_plugins.channel_email.threads import thread_ticket

    settings = EmailSettings(from_address="support@example.com", domains=("example.com",))
    ours = make_message_id("k", "example.com", "t-ours")
    received = {"<a@customer.cn>": "t-received"}
    numbers = {"T20261102000001": "t-token"}

    def ticket(headers: str) -> str | None:
        raw = f"From: z@customer.cn\n{headers}\n\nhi\n".encode()
        return thread_ticket(
            parse_email(raw, settings),
            settings,
            ticket_of_received=lambda mid: received.get(f"<{mid}>"),
            ticket_of_number=numbers.get,
        )

    token = "Subject: Re: [#T20261102000001] cup"
    assert ticket(f"In-Reply-To: <{ours}>\n{token}") == "t-ours"
    assert ticket(f"References: <x@y> <a@customer.cn>\n{token}") == "t-received"
    assert ticket(f"In-Reply-To: <unknown@x>\n{token}") == "t-token"
    assert ticket("Subject: [#T20991231999999] unknown number") is None
    assert ticket("Subject: a new question") is None


def test_acknowledgements_are_limited_per_address_per_hour() -> None:
    from datetime import timedelta

    from helpdesk_plugins.channel_email.threads import may_acknowledge

    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    sent = [now - timedelta(minutes=m) for m in (5, 20, 59)]
    assert not may_acknowledge(sent, now, 3)
    assert may_acknowledge(sent[:2], now, 3)
    assert may_acknowledge([now - timedelta(minutes=61), *sent[:2]], now, 3)


@pytest.mark.parametrize(
    ("x_loop", "is_loop"),
    [
        ("support@example.com", True),
        ("<helpdesk@Example.COM>", True),
        ("example.com", True),
        ("tickets@mx.example.com", True),
        ("tickets@notexample.com", False),
        ("support@example.com.evil.net", False),
        ("someone-else@other.example", False),
    ],
)
def test_x_loop_counts_only_when_it_names_our_address_or_domain(x_loop: str, is_loop: bool) -> None:
    from helpdesk_plugins.channel_email import parse_email

    settings = EmailSettings(from_address="support@example.com", domains=("example.com",))
    raw = f"From: z@customer.cn\nX-Loop: {x_loop}\nSubject: hi\n\nhello\n".encode()
    assert (parse_email(raw, settings).reason == "loop") is is_loop
