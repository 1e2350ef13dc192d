"""Real servers on loopback for the notifier tests: an aiosmtpd SMTP server (plain, STARTTLS
with AUTH, implicit TLS) and a TLS certificate chain made for the test run."""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.frozen
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A private CA and a server certificate for 127.0.0.1 / localhost, signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpdesk test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts (or refuses them all)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 OK"


@attrs.define
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def _start(mailbox: Mailbox, **kwargs: Any) -> tuple[Any, SmtpServer]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, mailbox)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback (no TLS, no AUTH)."""
    controller, server = _start(Mailbox())
    yield server
    controller.stop()


USER, PASSWORD = "desk@example.com", "s3cret-pass"


@pytest.fixture
def smtp_starttls_server(certificates: Certificates) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH (after TLS only) required, user ``desk@example.com``."""
    mailbox = Mailbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        if ok:
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller, server = _start(
        mailbox,
        tls_context=certificates.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    yield server
    controller.stop()


@pytest.fixture
def smtp_ssl_server(certificates: Certificates) -> Iterator[SmtpServer]:
    """Implicit TLS (port 465 style) on loopback."""
    controller, server = _start(Mailbox(), ssl_context=certificates.server_context())
    yield server
    controller.stop()


# -- Dovecot -------------------------------------------------------------------------------------
DOVECOT_SKIP_REASON = "needs Dovecot (Debian: apt-get install -y dovecot-imapd)"
REQUIRE_DOVECOT_ENV = "HELPDESK_REQUIRE_DOVECOT"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With HELPDESK_REQUIRE_DOVECOT set (CI), a test skipped for lack of Dovecot fails."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get(REQUIRE_DOVECOT_ENV)
        and DOVECOT_SKIP_REASON in str(report.longrepr)
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"{REQUIRE_DOVECOT_ENV} is set but this test was skipped for lack of Dovecot: "
            + str(report.longrepr)
        )


@attrs.define
class Dovecot:
    """A Dovecot IMAP server on loopback with one passwd-file user and Maildir storage."""

    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self) -> imaplib.IMAP4:
        """A logged-in IMAP client (the test's own view of the mailbox)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, *messages: bytes, mailbox: str = "INBOX") -> None:
        """APPEND each message (creating the mailbox if needed)."""
        client = self.client()
        try:
            client.create(mailbox)  # "already exists" is fine
            for raw in messages:
                status, data = client.append(mailbox, None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    def uids(self, mailbox: str = "INBOX", criteria: str = "ALL") -> list[int]:
        client = self.client()
        try:
            client.select(mailbox)
            _, data = client.uid("SEARCH", criteria)
            return [int(u) for u in data[0].split()]
        finally:
            client.logout()


def _dovecot_config(root: Path, port: int) -> str:
    if os.geteuid() == 0:  # Dovecot refuses root for its login and mail processes
        internal, login, mail_user, mail_group = "dovecot", "dovenull", "nobody", "nogroup"
    else:
        import grp
        import pwd

        internal = login = mail_user = pwd.getpwuid(os.getuid()).pw_name
        mail_group = grp.getgrgid(os.getgid()).gr_name
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh Dovecot (``dovecot -F``) on a free loopback port, stopped after the test."""
    binary = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None
    )
    if binary is None:
        pytest.skip(DOVECOT_SKIP_REASON)
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    root.chmod(0o755)  # the mail and login users must reach their folders
    port = free_port()
    user, password = "desk@example.com", "imap-s3cret"
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    (root / "dovecot.conf").write_text(_dovecot_config(root, port))
    if os.geteuid() == 0:
        for folder in ("mail", "home"):
            shutil.chown(root / folder, "nobody", "nogroup")
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for_greeting(process, port, root)
        yield Dovecot("127.0.0.1", port, user, password, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_greeting(process: subprocess.Popen[bytes], port: int, root: Path) -> None:
    """Until Dovecot greets on ``port`` (readiness, not a timing assertion)."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}: {err}{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not greet on port {port}")
