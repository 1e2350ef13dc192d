"""The IMAP poller (``helpdesk mail poll``): fetch new mail from IMAP mailboxes (stdlib
:mod:`imaplib`) and ingest each message, then flag, delete or move it.

Configured by ``[email.imap]``::

    [email.imap]
    host = "imap.example.com"
    security = "ssl"                   # "ssl" (port 993), "starttls" or "none" (port 143)
    user = "support@example.com"
    password_env = "HELPDESK_IMAP_PASSWORD"   # or password = "..." (not recommended)
    mailboxes = ["INBOX"]
    after = "flag"                     # "flag", "delete" or "move:Processed"
    flag = "\\Seen"                    # the flag or keyword "flag" sets, e.g. "$Helpdesk"
    interval = 60.0                    # seconds between polls
    batch = 100                        # messages per mailbox and poll at most

The rules, in order, for each mailbox:

1. ``SELECT`` it and read its UIDVALIDITY; the store remembers, per account and mailbox, the
   UIDVALIDITY and the highest UID handled (``UnitOfWork.save_state``). When UIDVALIDITY
   changed, the remembered UID means nothing and is reset: every message not yet marked done
   (flagged, or still present for delete/move) is offered again; ingest recognises a
   redelivery, so nothing is recorded twice.
2. Candidates are the UIDs above the remembered one that are not done yet, oldest first, at
   most ``batch``. Each is fetched with ``BODY.PEEK[]`` (reading does not set ``\\Seen``).
3. The message is handed to ingest; only after it returned (its records committed) is the
   message marked done on the server, then the remembered UID advanced. A crash in between
   offers the message again on the next poll, and ingest answers it as a duplicate: nothing is
   lost and nothing is recorded twice.
4. A :class:`~helpdesk_core.errors.StorageError` from ingest stops this poll: the message stays
   unmarked and the UID is not advanced, so the next poll takes it again.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import re
import ssl
import threading
from collections.abc import Sequence
from typing import Any, Final

import attrs

from helpdesk_core.config import table
from helpdesk_core.errors import ConfigError, HelpdeskError, StorageError
from helpdesk_core.model.intake import IngestResult
from helpdesk_core.ports import Storage
from helpdesk_plugins.mail_intake import Ingest

log = logging.getLogger("helpdesk.mail.imap")

IMAP_SECURITY: Final = ("ssl", "starttls", "none")
DEFAULT_PORTS: Final = {"ssl": 993, "starttls": 143, "none": 143}
IMAP_KEYS: Final = frozenset(
    {
        "host",
        "port",
        "security",
        "user",
        "password",
        "password_env",
        "mailboxes",
        "after",
        "flag",
        "interval",
        "batch",
        "timeout",
        "ca_file",
    }
)
_FLAG: Final = re.compile(r"^(\\Seen|\\Flagged|\\Answered|[$A-Za-z0-9_.-]{1,64})$")
_UIDVALIDITY: Final = re.compile(rb"UIDVALIDITY (\d+)")


class MailSourceError(HelpdeskError):
    """A mail source (IMAP server) could not be reached, refused the login or a command."""


@attrs.frozen
class ImapSettings:
    """``[email.imap]``: where the poller fetches mail and what it does with it afterwards."""

    host: str
    user: str
    port: int = 993
    security: str = "ssl"
    password: str | None = attrs.field(default=None, repr=False)
    password_env: str | None = None
    mailboxes: tuple[str, ...] = ("INBOX",)
    after: str = "flag"
    """``flag`` (set :attr:`flag`), ``delete`` (expunge) or ``move:<folder>``."""
    flag: str = "\\Seen"
    interval: float = 60.0
    """Seconds between polls of ``helpdesk mail poll``."""
    batch: int = 100
    """Messages per mailbox and poll at most."""
    timeout: float = 30.0
    """Seconds for connecting and for each IMAP command."""
    ca_file: str | None = None

    @property
    def move_to(self) -> str | None:
        return self.after.partition(":")[2] if self.after.startswith("move:") else None

    def secret(self) -> str:
        """The password: ``password``, else the variable ``password_env`` names."""
        if self.password is not None:
            return self.password
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    "email.imap.password_env",
                    f"environment variable {self.password_env} is not set",
                )
            return value
        raise ConfigError("email.imap.password_env", "give password_env (or password)")


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n\0"):
        raise ConfigError(path, "must be a non-empty single-line string", value)
    return value.strip()


def _number(value: Any, path: str, *, integer: bool = False) -> float:
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        raise ConfigError(path, "must be a positive " + ("integer" if integer else "number"), value)
    return value


def parse_imap_config(value: Any, path: str) -> ImapSettings:
    """Parse ``[email.imap]``; errors are ConfigErrors naming the key path."""
    value = table(value, path, IMAP_KEYS)
    for key in ("host", "user"):
        if key not in value:
            raise ConfigError(f"{path}.{key}", "is required")
    kwargs: dict[str, Any] = {
        "host": _text(value["host"], f"{path}.host"),
        "user": _text(value["user"], f"{path}.user"),
    }
    security = value.get("security", "ssl")
    if security not in IMAP_SECURITY:
        raise ConfigError(f"{path}.security", f"must be one of {list(IMAP_SECURITY)}", security)
    kwargs["security"] = security
    port = value.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{path}.port", "must be a TCP port 1-65535", port)
    kwargs["port"] = port
    for key in ("password", "password_env", "ca_file"):
        if key in value:
            kwargs[key] = _text(value[key], f"{path}.{key}")
    if "password" in kwargs and "password_env" in kwargs:
        raise ConfigError(f"{path}.password", "give password or password_env, not both")
    mailboxes = value.get("mailboxes", ["INBOX"])
    if isinstance(mailboxes, str) or not isinstance(mailboxes, list) or not mailboxes:
        raise ConfigError(f"{path}.mailboxes", "must be a non-empty list of names", mailboxes)
    kwargs["mailboxes"] = tuple(
        _text(name, f"{path}.mailboxes[{i}]") for i, name in enumerate(mailboxes)
    )
    after = value.get("after", "flag")
    if not isinstance(after, str) or not (
        after in ("flag", "delete") or (after.startswith("move:") and after[5:].strip())
    ):
        raise ConfigError(f"{path}.after", 'must be "flag", "delete" or "move:<folder>"', after)
    kwargs["after"] = _text(after, f"{path}.after")
    flag = value.get("flag", "\\Seen")
    if not isinstance(flag, str) or not _FLAG.match(flag):
        raise ConfigError(f"{path}.flag", 'must be \\Seen or a keyword like "$Helpdesk"', flag)
    kwargs["flag"] = flag
    for key, integer in (("interval", False), ("batch", True), ("timeout", False)):
        if key in value:
            number = _number(value[key], f"{path}.{key}", integer=integer)
            kwargs[key] = int(number) if integer else float(number)
    return ImapSettings(**kwargs)


@attrs.frozen
class Fetched:
    """One message handled by a poll: where it came from and what ingest made of it."""

    mailbox: str
    uid: int
    result: IngestResult


@attrs.define
class PollResult:
    """What one :meth:`ImapPoller.poll` did."""

    handled: list[Fetched] = attrs.Factory(list)
    error: str | None = None
    """Why the poll stopped early (a storage outage); the rest waits for the next poll."""


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapPoller:
    """Polls the mailboxes of one ``[email.imap]`` account into ``ingest`` (rules: module
    docstring). ``storage`` keeps the UIDVALIDITY and last UID of each mailbox."""

    def __init__(self, settings: ImapSettings, ingest: Ingest, storage: Storage) -> None:
        self.settings = settings
        self.ingest = ingest
        self.storage = storage
        self.stop_event = threading.Event()

    def state_key(self, mailbox: str) -> str:
        s = self.settings
        return f"email.imap:{s.user}@{s.host}:{s.port}/{mailbox}"

    def _where(self) -> str:
        s = self.settings
        return f"imap {s.host}:{s.port} as {s.user}"

    def connect(self) -> imaplib.IMAP4:
        """A logged-in client; MailSourceError naming the server on any failure."""
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file)
        try:
            client: imaplib.IMAP4
            if s.security == "ssl":
                client = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
            else:
                client = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    client.starttls(context)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailSourceError(f"{self._where()}: cannot connect: {exc}") from exc
        try:
            client.login(s.user, s.secret())
            client.capability()
        except imaplib.IMAP4.error as exc:
            _logout(client)
            detail = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc)
            raise MailSourceError(
                f"{self._where()}: login refused: {detail} "
                "(check [email.imap] user and password_env)"
            ) from exc
        except BaseException:
            _logout(client)
            raise
        return client

    def poll(self) -> PollResult:
        """One pass over every configured mailbox."""
        result = PollResult()
        client = self.connect()
        try:
            for mailbox in self.settings.mailboxes:
                try:
                    self._poll_mailbox(client, mailbox, result)
                except StorageError as exc:
                    result.error = f"{mailbox}: {exc}"
                    log.warning("%s: storage unavailable; retry next poll: %s", mailbox, exc)
                    break
                except imaplib.IMAP4.error as exc:
                    raise MailSourceError(f"{self._where()}: {mailbox}: {exc}") from exc
        finally:
            _logout(client)
        return result

    def _poll_mailbox(self, client: imaplib.IMAP4, mailbox: str, result: PollResult) -> None:
        s = self.settings
        _ok(client.select(_quote(mailbox)), f"SELECT {mailbox}")
        validity = _uidvalidity(client)
        key = self.state_key(mailbox)
        with self.storage.transaction() as uow:
            state = uow.load_state(key) or {}
        last_uid = int(state.get("last_uid", 0))
        if state.get("uidvalidity") not in (None, validity):
            log.warning(
                "%s: UIDVALIDITY changed (%s -> %s); offering every unhandled message again",
                mailbox,
                state.get("uidvalidity"),
                validity,
            )
            last_uid = 0
        done = "DELETED" if s.after != "flag" else _done_flag(s.flag)
        data = _ok(client.uid("SEARCH", f"UID {last_uid + 1}:*", "NOT", done), "SEARCH")
        uids = sorted(int(u) for u in b" ".join(d for d in data if d).split())
        uids = [u for u in uids if u > last_uid][: s.batch]  # "n:*" always matches the last
        expunge: list[int] = []
        for uid in uids:
            raw = _fetch(client, uid)
            if raw is None:  # expunged meanwhile by another client
                continue
            outcome = self.ingest(raw)  # StorageError: leave it unmarked for the next poll
            self._mark_done(client, uid, expunge)
            with self.storage.transaction() as uow:
                uow.save_state(key, {"uidvalidity": validity, "last_uid": uid})
            result.handled.append(Fetched(mailbox, uid, outcome))
        if expunge:
            self._expunge(client, expunge)
        if not uids and state.get("uidvalidity") != validity:
            with self.storage.transaction() as uow:
                uow.save_state(key, {"uidvalidity": validity, "last_uid": last_uid})

    def _mark_done(self, client: imaplib.IMAP4, uid: int, expunge: list[int]) -> None:
        s = self.settings
        if s.after == "flag":
            _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", f"({s.flag})"), "STORE")
            return
        target = s.move_to
        if target is not None and "MOVE" in client.capabilities:
            _ok(client.uid("MOVE", str(uid), _quote(target)), f"MOVE {target}")
            return
        if target is not None:
            _ok(client.uid("COPY", str(uid), _quote(target)), f"COPY {target}")
        _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
        expunge.append(uid)

    def _expunge(self, client: imaplib.IMAP4, uids: Sequence[int]) -> None:
        if "UIDPLUS" in client.capabilities:
            _ok(client.uid("EXPUNGE", ",".join(map(str, uids))), "UID EXPUNGE")
        else:
            _ok(client.expunge(), "EXPUNGE")

    def run(self, max_polls: int | None = None) -> None:
        """Poll every ``interval`` seconds until :meth:`stop` (or ``max_polls``). A failed poll
        (server down, storage down) is logged and retried after the interval."""
        polls = 0
        while not self.stop_event.is_set():
            try:
                result = self.poll()
                log.info("polled: %d messages", len(result.handled))
            except MailSourceError:
                log.exception("poll failed; retrying in %ss", self.settings.interval)
            polls += 1
            if max_polls is not None and polls >= max_polls:
                return
            self.stop_event.wait(self.settings.interval)

    def stop(self, *_: object) -> None:
        self.stop_event.set()


def _ok(response: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}")
    return data


def _uidvalidity(client: imaplib.IMAP4) -> int:
    _, data = client.response("UIDVALIDITY")
    for item in data:
        if item:
            return int(item)
    _, data = client.status("INBOX", "(UIDVALIDITY)")  # pragma: no cover - servers send it
    match = _UIDVALIDITY.search(b" ".join(d for d in data if isinstance(d, bytes)))
    if match is None:  # pragma: no cover
        raise imaplib.IMAP4.error("the server sent no UIDVALIDITY")
    return int(match[1])


def _done_flag(flag: str) -> str:
    """The SEARCH key of messages not yet marked done by ``flag``."""
    if flag.startswith("\\"):
        return flag[1:].upper()
    return f"KEYWORD {flag}"


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    data = _ok(client.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _logout(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()
