"""The IMAP poller against a real Dovecot on loopback (issue 23, R-TKT-1: mail becomes tickets
and none is lost): restarts neither lose nor repeat mail, a storage outage leaves the message
for the next poll, UIDVALIDITY changes, flag / delete / move, and a refused login."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from intake_helpers import RecordingIngest, mail

from helpdesk_core import Helpdesk
from helpdesk_core.config import load_config
from helpdesk_core.errors import ConfigError
from helpdesk_plugins.channel_email import email_settings
from helpdesk_plugins.mail_intake.imap import ImapPoller, ImapSettings, MailSourceError

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Dovecot


@pytest.fixture
def desk(tmp_path: Path) -> Helpdesk:
    """A SQLite desk: the poller's UIDs live in the same store as the tickets."""
    return Helpdesk(storage_url=f"sqlite:///{tmp_path / 'desk.db'}", load_entrypoints=False)


def settings(server: Dovecot, **overrides: Any) -> ImapSettings:
    fields: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "user": server.user,
        "password": server.password,
    }
    fields.update(overrides)
    return ImapSettings(**fields)


def test_new_mail_is_ingested_once_and_flagged_seen(dovecot: Dovecot, desk: Helpdesk) -> None:
    dovecot.deliver(mail(1), mail(2), mail(3))
    ingest = RecordingIngest(desk)
    poller = ImapPoller(settings(dovecot), ingest, desk.storage)
    result = poller.poll()
    assert [f.uid for f in result.handled] == [1, 2, 3]
    assert [raw.replace(b"\r\n", b"\n") for raw in ingest.firsts()] == [
        mail(n).replace(b"\r\n", b"\n") for n in (1, 2, 3)
    ]
    assert dovecot.uids(criteria="SEEN") == [1, 2, 3]
    assert poller.poll().handled == []  # nothing new: nothing fetched again
    dovecot.deliver(mail(4))
    assert [f.uid for f in poller.poll().handled] == [4]
    assert len(ingest.calls) == 4


def test_a_restart_mid_way_neither_loses_nor_repeats(dovecot: Dovecot, desk: Helpdesk) -> None:
    """The first poller dies right after the 2nd ingest committed, before flagging it."""
    dovecot.deliver(*(mail(n) for n in range(1, 6)))
    first = RecordingIngest(desk, crash_after=2)
    with pytest.raises(KeyboardInterrupt):
        ImapPoller(settings(dovecot), first, desk.storage).poll()
    assert dovecot.uids(criteria="SEEN") == [1]  # the 2nd was ingested but not flagged
    second = RecordingIngest(desk, seen=first.seen)
    result = ImapPoller(settings(dovecot), second, desk.storage).poll()
    assert [f.uid for f in result.handled] == [2, 3, 4, 5]
    assert result.handled[0].result.duplicate  # offered again, recognised, recorded once
    recorded = first.firsts() + second.firsts()
    assert sorted(recorded) == sorted(
        raw for raw in (dovecot_copy(dovecot, uid) for uid in range(1, 6))
    )
    assert dovecot.uids(criteria="SEEN") == [1, 2, 3, 4, 5]


def dovecot_copy(server: Dovecot, uid: int) -> bytes:
    client = server.client()
    try:
        client.select("INBOX", readonly=True)
        _, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        return bytes(data[0][1])
    finally:
        client.logout()


def test_a_storage_outage_leaves_the_message_for_the_next_poll(
    dovecot: Dovecot, desk: Helpdesk
) -> None:
    dovecot.deliver(mail(1), mail(2))
    ingest = RecordingIngest(desk, outage=1)
    poller = ImapPoller(settings(dovecot), ingest, desk.storage)
    result = poller.poll()
    assert result.handled == [] and result.error is not None and "down" in result.error
    assert dovecot.uids(criteria="SEEN") == []
    assert [f.uid for f in poller.poll().handled] == [1, 2]
    assert len(ingest.firsts()) == 2 and dovecot.uids(criteria="SEEN") == [1, 2]


def test_a_uidvalidity_change_offers_unhandled_mail_again(dovecot: Dovecot, desk: Helpdesk) -> None:
    """The server renumbered the mailbox: the remembered UID (far above the new ones) must
    not hide the new messages; the ones already flagged stay handled."""
    dovecot.deliver(mail(1))
    ingest = RecordingIngest(desk)
    poller = ImapPoller(settings(dovecot), ingest, desk.storage)
    poller.poll()
    key = poller.state_key("INBOX")
    with desk.storage.transaction() as uow:
        state = uow.load_state(key)
        assert state is not None and state["last_uid"] == 1
        uow.save_state(key, {"uidvalidity": state["uidvalidity"] - 1, "last_uid": 500})
    dovecot.deliver(mail(2), mail(3))
    assert [f.uid for f in poller.poll().handled] == [2, 3]
    with desk.storage.transaction() as uow:
        state = uow.load_state(key)
    assert state is not None and state["last_uid"] == 3
    assert len(ingest.firsts()) == 3


def test_after_delete_expunges_and_a_keyword_flag_leaves_seen_alone(
    dovecot: Dovecot, desk: Helpdesk
) -> None:
    dovecot.deliver(mail(1), mail(2))
    ImapPoller(settings(dovecot, after="delete"), RecordingIngest(desk), desk.storage).poll()
    assert dovecot.uids() == []
    dovecot.deliver(mail(3), mail(4), mailbox="Support")
    ingest = RecordingIngest(desk)
    keyword = settings(dovecot, mailboxes=("Support",), flag="$Helpdesk")
    assert [f.uid for f in ImapPoller(keyword, ingest, desk.storage).poll().handled] == [1, 2]
    assert dovecot.uids("Support", "KEYWORD $Helpdesk") == [1, 2]
    assert dovecot.uids("Support", "SEEN") == []  # a person still sees them as unread
    assert ImapPoller(keyword, ingest, desk.storage).poll().handled == []


def test_after_move_files_the_message_in_another_folder(dovecot: Dovecot, desk: Helpdesk) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(99), mailbox="Processed")  # creates the folder
    ImapPoller(
        settings(dovecot, after="move:Processed"), RecordingIngest(desk), desk.storage
    ).poll()
    assert dovecot.uids() == []
    assert len(dovecot.uids("Processed")) == 2


def test_a_refused_login_names_the_server_and_what_to_check(
    dovecot: Dovecot, desk: Helpdesk
) -> None:
    poller = ImapPoller(settings(dovecot, password="wrong"), RecordingIngest(desk), desk.storage)
    with pytest.raises(MailSourceError) as refused:
        poller.poll()
    message = str(refused.value)
    assert f"{dovecot.host}:{dovecot.port}" in message and dovecot.user in message
    assert "login refused" in message and "AUTHENTICATIONFAILED" in message
    assert "wrong" not in message  # never the password


def test_imap_config_is_parsed_and_errors_name_the_key_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_config(
        {
            "email": {
                "imap": {
                    "host": "imap.example.com",
                    "user": "support@example.com",
                    "password_env": "HELPDESK_TEST_IMAP_PASSWORD",
                    "mailboxes": ["INBOX", "Support"],
                    "after": "move:Done",
                    "batch": 20,
                }
            }
        }
    )
    imap = email_settings(config).imap
    assert imap is not None
    assert (imap.port, imap.security, imap.move_to, imap.batch) == (993, "ssl", "Done", 20)
    monkeypatch.setenv("HELPDESK_TEST_IMAP_PASSWORD", "pw")
    assert imap.secret() == "pw"
    monkeypatch.delenv("HELPDESK_TEST_IMAP_PASSWORD")
    with pytest.raises(ConfigError, match=r"^email\.imap\.password_env"):
        imap.secret()
    base = {"host": "h", "user": "u"}
    for bad, path in [
        ({"user": "u"}, "email.imap.host"),
        ({**base, "after": "archive"}, "email.imap.after"),
        ({**base, "security": "tls"}, "email.imap.security"),
        ({**base, "mailboxes": []}, "email.imap.mailboxes"),
        ({**base, "batch": 0}, "email.imap.batch"),
        ({**base, "flag": "bad flag"}, "email.imap.flag"),
        ({**base, "password": "p", "password_env": "X"}, "email.imap.password"),
        ({**base, "hots": "h"}, "email.imap.hots"),
    ]:
        with pytest.raises(ConfigError, match="^" + re.escape(path)):
            load_config({"email": {"imap": bad}})


@pytest.mark.skipif(
    not hasattr(Helpdesk, "ingest_email"), reason="needs desk.ingest_email (branch intake)"
)
def test_the_cli_polls_once_into_the_desk(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from helpdesk_plugins.cli import main

    dovecot.deliver(mail(1), mail(2))
    config = tmp_path / "desk.toml"
    config.write_text(
        f'[email]\nfrom = "support@example.com"\n\n[email.imap]\nhost = "{dovecot.host}"\n'
        f'port = {dovecot.port}\nsecurity = "none"\nuser = "{dovecot.user}"\n'
        'password_env = "HELPDESK_TEST_IMAP_PASSWORD"\n'
    )
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HELPDESK_TEST_IMAP_PASSWORD", dovecot.password)
    assert main(["mail", "poll", "--once", "--url", url, "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2 message(s)"
    assert [line.split("\t")[:3] for line in lines[:2]] == [
        ["INBOX", "1", "created"],
        ["INBOX", "2", "created"],
    ]
    assert main(["mail", "poll", "--once", "--url", url, "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 message(s)"]
    monkeypatch.setenv("HELPDESK_TEST_IMAP_PASSWORD", "wrong")
    assert main(["mail", "poll", "--once", "--url", url, "--config", str(config)]) == 2
    assert "login refused" in capsys.readouterr().err
