"""Mail from files (``helpdesk ingest-mail``, issue 23): .eml files, mbox files and Maildir
folders read with the stdlib ``mailbox``; one outcome per message, storage outages reported per
message, and the CLI's lines, summary and exit codes."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from intake_helpers import RecordingIngest, mail

from helpdesk_core import Helpdesk
from helpdesk_plugins.cli import main
from helpdesk_plugins.mail_intake.files import ingest_files, read_messages, source_kind


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Helpdesk]:
    with Helpdesk(storage_url=f"sqlite:///{tmp_path / 'desk.db'}", load_entrypoints=False) as d:
        yield d


def an_mbox(path: Path, *numbers: int) -> Path:
    box = mailbox.mbox(path)
    for n in numbers:
        box.add(mail(n))
    box.close()
    return path


def a_maildir(path: Path, *numbers: int) -> Path:
    box = mailbox.Maildir(path, create=True)
    for n in numbers:
        box.add(mail(n))
    box.close()
    return path


def test_each_kind_of_path_yields_its_messages_as_stored(tmp_path: Path) -> None:
    eml = tmp_path / "one.eml"
    eml.write_bytes(mail(1))
    mbox = an_mbox(tmp_path / "archive.mbox", 2, 3)
    maildir = a_maildir(tmp_path / "Maildir", 4, 5)
    assert [source_kind(p) for p in (eml, mbox, maildir)] == ["eml", "mbox", "maildir"]
    assert [m.raw for m in read_messages(eml)] == [mail(1)]
    from_mbox = list(read_messages(mbox))
    assert [m.where for m in from_mbox] == [f"{mbox}#1", f"{mbox}#2"]
    # the mbox separator line is not part of the message; the message's own lines are
    assert [m.raw.replace(b"\r\n", b"\n") for m in from_mbox] == [
        mail(n).replace(b"\r\n", b"\n") for n in (2, 3)
    ]
    assert sorted(m.raw for m in read_messages(maildir)) == [mail(4), mail(5)]


def test_outcomes_per_message_and_an_outage_fails_only_its_message(
    tmp_path: Path, desk: Helpdesk
) -> None:
    mbox = an_mbox(tmp_path / "archive.mbox", 1, 2, 3)
    folder = tmp_path / "not-a-maildir"
    folder.mkdir()
    ingest = RecordingIngest(desk, outage=1)
    outcomes = list(ingest_files([mbox, folder], ingest))
    assert [o.outcome for o in outcomes] == ["failed", "created", "created", "failed"]
    assert "storage" in outcomes[0].line() and "database is down" in outcomes[0].line()
    assert "not a Maildir" in outcomes[3].line()
    assert outcomes[1].line().split("\t")[:2] == [f"{mbox}#2", "created"]
    again = list(ingest_files([mbox], ingest))  # run again: only the failed one is new
    assert [(o.outcome, o.result.duplicate if o.result else None) for o in again] == [
        ("created", False),
        ("created", True),
        ("created", True),
    ]


@pytest.mark.skipif(
    not hasattr(Helpdesk, "ingest_email"), reason="needs desk.ingest_email (branch intake)"
)
def test_the_cli_prints_a_line_per_message_a_summary_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    eml = tmp_path / "one.eml"
    eml.write_bytes(mail(1))
    maildir = a_maildir(tmp_path / "Maildir", 2)
    assert main(["ingest-mail", str(eml), str(maildir), "--url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:2] == [str(eml), "created"]
    assert out[-1].startswith("2 message(s): 2 created, 0 appended")
    assert main(["ingest-mail", str(eml), "--url", url]) == 0
    assert "created (duplicate)" in capsys.readouterr().out
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"\x00\xff" * 10)
    assert main(["ingest-mail", str(garbage), "--url", url]) == 1
    assert "1 quarantined" in capsys.readouterr().out
    assert main(["ingest-mail", str(tmp_path / "missing.eml"), "--url", url]) == 2
    assert "no such file" in capsys.readouterr().err
