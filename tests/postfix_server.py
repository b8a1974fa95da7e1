"""A real Postfix on loopback for the tests, run by ``tests/postfix/start-postfix``.

    with PostfixServer(tmp_path, make_self_signed_certificate(tmp_path)) as postfix:
        ... smtplib.SMTP_SSL(postfix.host, postfix.smtps_port, context=postfix.ssl_context()) ...
        [message] = postfix.wait_for_messages(1)

Three listeners on 127.0.0.1, on free ports picked here:

- ``smtps_port``: implicit TLS, AUTH PLAIN/LOGIN required (MAIL before AUTH gets 530);
- ``submission_port``: STARTTLS required before anything else, then AUTH required;
- ``plain_port``: no TLS and no AUTH offered; accepts mail from loopback.

On both TLS listeners, ``OWNED_BY_ANOTHER`` belongs to another login (Postfix's
``reject_known_sender_login_mismatch``): the test user sending as that address is refused at
RCPT TO with ``553 5.7.1 ... Sender address rejected: not owned by user ...``.

Both TLS listeners present ``certificate``, a self-signed certificate (subject = issuer, no CA
behind it): a client trusts it only by having that very certificate as a trust anchor
(``ssl_context()``, or ``SSL_CERT_FILE``) or by pinning its fingerprint.

Every accepted message, whatever its recipients, lands as one file in a single maildir
(``mailbox_dir``); nothing is ever delivered off the machine. Needs root and the Debian packages
``postfix``, ``libsasl2-modules`` and ``sasl2-bin`` (``tests/postfix/install-deps``).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.certs import SelfSignedFiles

SCRIPT = Path(__file__).resolve().parent / "postfix" / "start-postfix"
USER = "shop@example.com"
PASSWORD = "Pässwörd-ß€"
OWNED_BY_ANOTHER = "owner@example.com"
START_TIMEOUT = 20.0


class PostfixError(RuntimeError):
    """Postfix could not be started or did not do what a test waited for."""


def postfix_installed() -> bool:
    """True when the postfix binaries and the SASL tools the start script needs are here."""
    return all(
        shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        for name in ("postfix", "postconf", "saslpasswd2")
    )


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class PostfixServer:
    host = "127.0.0.1"

    def __init__(
        self,
        folder: Path,
        certificate: SelfSignedFiles,
        *,
        user: str = USER,
        password: str = PASSWORD,
        message_size_limit: int = 10_240_000,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.folder = Path(folder)
        self.certificate = certificate
        self.user = user
        self.password = password
        self.message_size_limit = message_size_limit
        self.start_timeout = start_timeout
        self.smtps_port = 0
        self.submission_port = 0
        self.plain_port = 0
        # The instance cannot live under pytest's tmp_path: /tmp/pytest-of-root is mode 0700
        # and Postfix's unprivileged users (postfix, nobody) must reach into the directory.
        self.instance_dir: Path | None = None
        self._running = False

    # ------------------------------------------------------------------ paths
    @property
    def _dir(self) -> Path:
        if self.instance_dir is None:
            raise PostfixError("Postfix is not started")
        return self.instance_dir

    @property
    def log_file(self) -> Path:
        return self._dir / "postfix.log"

    @property
    def mailbox_dir(self) -> Path:
        """The catch-all maildir: every accepted message ends up in its ``new/``."""
        return self._dir / "mail" / "inbox"

    # ------------------------------------------------------------ start / stop
    def __enter__(self) -> PostfixServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if not postfix_installed():
            raise PostfixError(
                "postfix is not installed: run tests/postfix/install-deps "
                "(Debian packages postfix, libsasl2-modules, sasl2-bin)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):
            self.instance_dir = Path(tempfile.mkdtemp(prefix="barua-postfix-"))
            self.smtps_port, self.submission_port, self.plain_port = _free_ports(3)
            ok, output = self._run_script("start", *self._start_args())
            if ok:
                self._running = True
                try:
                    self._wait_until_ready()
                except BaseException:
                    self.stop()
                    raise
                return
            last_error = f"{output}\n{self.log_tail()}"
            self._run_script("stop")  # in case it got as far as starting master
            self._remove_instance()
            # Another process may have taken one of the free ports in between: try new ones.
            if "Address already in use" not in last_error:
                break
        raise PostfixError(f"start-postfix failed:\n{last_error}")

    def stop(self) -> None:
        if self.instance_dir is None:
            return
        if self._running:
            self._running = False
            ok, output = self._run_script("stop")
            if not ok:
                raise PostfixError(f"start-postfix stop failed:\n{output}")
        self._remove_instance()

    def _start_args(self) -> list[str]:
        return [
            "--cert", str(self.certificate.cert),
            "--key", str(self.certificate.key),
            "--smtps-port", str(self.smtps_port),
            "--submission-port", str(self.submission_port),
            "--plain-port", str(self.plain_port),
            "--user", self.user,
            "--password", self.password,
            "--message-size-limit", str(self.message_size_limit),
        ]  # fmt: skip

    def _run_script(self, command: str, *args: str) -> tuple[bool, str]:
        # Output into a file, not a pipe: nothing Postfix forks can then hold us waiting.
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                [str(SCRIPT), command, str(self._dir), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )
            out.seek(0)
            return result.returncode == 0, out.read().decode("utf-8", "replace")

    def _remove_instance(self) -> None:
        if self.instance_dir is None:
            return
        with contextlib.suppress(OSError):  # keep the log beside the test's files
            shutil.copyfile(self.log_file, self.folder / "postfix.log")
        shutil.rmtree(self.instance_dir, ignore_errors=True)
        self.instance_dir = None

    def _wait_until_ready(self) -> None:
        """Until every port answers with a 220 banner (smtps after its TLS handshake)."""
        deadline = time.monotonic() + self.start_timeout
        pending = {
            "smtps": self.smtps_port,
            "submission": self.submission_port,
            "plain": self.plain_port,
        }
        errors: dict[str, str] = {}
        while pending:
            for name, port in list(pending.items()):
                try:
                    banner = self._banner(port, tls=name == "smtps")
                except (OSError, ssl.SSLError) as exc:
                    errors[name] = f"{type(exc).__name__}: {exc}"
                    continue
                if banner.startswith(b"220"):
                    del pending[name]
                else:
                    errors[name] = f"unexpected banner {banner!r}"
            if not pending:
                return
            if time.monotonic() > deadline:
                detail = "\n".join(
                    f"  {name} 127.0.0.1:{port}: {errors.get(name, 'no answer')}"
                    for name, port in pending.items()
                )
                raise PostfixError(
                    f"Postfix did not answer with a 220 banner within {self.start_timeout:.0f} s:"
                    f"\n{detail}\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _banner(self, port: int, *, tls: bool) -> bytes:
        with socket.create_connection((self.host, port), timeout=5) as raw:
            sock: socket.socket = raw
            if tls:
                sock = self.ssl_context().wrap_socket(raw, server_hostname=self.host)
            with sock, sock.makefile("rb") as reader:
                banner = reader.readline()
                sock.sendall(b"QUIT\r\n")
                reader.readline()
                return banner

    # --------------------------------------------------------------- helpers
    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts (only) the server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.certificate.cert))

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text("utf-8", "replace")
        except (OSError, PostfixError):
            return "(no Postfix log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- Postfix log ({self.log_file}), last {lines} lines:\n{tail}"

    def _message_files(self) -> list[Path]:
        """The maildir's files, oldest first (virtual(8) writes into tmp/, then renames)."""
        files = []
        for sub in ("new", "cur"):
            for path in (self.mailbox_dir / sub).iterdir():
                try:
                    files.append((path.stat().st_mtime_ns, path.name, path))
                except FileNotFoundError:  # removed by clear_mailbox() meanwhile
                    continue
        return [path for _, _, path in sorted(files)]

    def mailbox_messages(self, containing: bytes | None = None) -> list[bytes]:
        """Every message delivered so far, oldest first, as the bytes Postfix wrote.

        With ``containing``, only those whose bytes contain it (a subject or a marker unique to
        the test: the session's server is shared)."""
        messages = []
        for path in self._message_files():
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # removed by clear_mailbox() meanwhile
                continue
            if containing is None or containing in data:
                messages.append(data)
        return messages

    def wait_for_messages(
        self, count: int, timeout: float = 10, *, containing: bytes | None = None
    ) -> list[bytes]:
        """At least ``count`` messages (all of them, oldest first) once they are delivered."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.mailbox_messages(containing)
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                what = f" containing {containing!r}" if containing is not None else ""
                raise PostfixError(
                    f"expected {count} message(s){what} in {self.mailbox_dir}, "
                    f"found {len(messages)} after {timeout} s\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def delivered(self, queue_id: str, timeout: float = 10) -> list[bytes]:
        """The messages Postfix queued as ``queue_id`` (what a client read in "250 ... queued
        as ID"), once delivered: those whose topmost Received header, the one this Postfix
        added, says "id QUEUE_ID"."""
        stamp = re.compile(rf"\sid {re.escape(queue_id)}(?:\s|;|$)")

        def received_here(data: bytes) -> bool:
            received = email.message_from_bytes(data, policy=email.policy.default)["Received"]
            return received is not None and stamp.search(str(received)) is not None

        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.mailbox_messages(queue_id.encode()) if received_here(m)]
            if found:
                return found
            if time.monotonic() > deadline:
                raise PostfixError(
                    f"no message queued as {queue_id} in {self.mailbox_dir} after {timeout} s"
                    f"\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def wait_for_log(self, queue_id: str, containing: str, timeout: float = 10) -> list[str]:
        """Postfix's log lines about ``queue_id`` (``postfix/SERVICE[PID]: ID: ...``), once one
        of them contains ``containing``, e.g. ``status=sent``; the log is written by postlogd,
        a moment after the event."""
        deadline = time.monotonic() + timeout
        mark = f": {queue_id}: "
        while True:
            try:
                text = self.log_file.read_text("utf-8", "replace")
            except FileNotFoundError:
                text = ""
            lines = [line for line in text.splitlines() if mark in line]
            if any(containing in line for line in lines):
                return lines
            if time.monotonic() > deadline:
                raise PostfixError(
                    f"no log line for {queue_id} containing {containing!r} after {timeout} s\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)

    def clear_mailbox(self) -> None:
        for path in self._message_files():
            path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return (
            f"PostfixServer(smtps={self.smtps_port}, submission={self.submission_port}, "
            f"plain={self.plain_port}, dir={self.instance_dir})"
        )
