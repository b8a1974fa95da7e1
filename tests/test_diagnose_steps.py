"""The test email's steps as a user sees them: every step with its duration, the certificate
checked, one step per recipient (the copy included), the system's own words on a failure,
colour only on a terminal. Real processes, real servers on loopback."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from barua.certificates import describe_certificate
from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer
from tests.terminal import run_on_a_terminal
from tests.test_cli import barua, server_flags

COPY = "archive@example.com"
STEP_LINE = re.compile(r"^([✓✗]) (.{24}) +(\d+\.\d) ms  (.*)$")


def steps_of(stdout: str) -> list[tuple[str, str, str]]:
    """(mark, label, detail) of each step line; each must show its duration in ms."""
    found = []
    for line in stdout.splitlines():
        match = STEP_LINE.match(line)
        if match:
            assert float(match.group(3)) >= 0
            found.append((match.group(1), match.group(2).strip(), match.group(4)))
    return found


def test_a_passing_test_shows_every_step(certs: CertFiles) -> None:
    pem = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    certificate = describe_certificate(pem.public_bytes(Encoding.DER))
    with SmtpServer(mode="starttls", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "starttls"),
            "--bcc-copy", COPY, stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        [arrived] = server.messages
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert arrived.rcpt_tos == ["me@example.com", COPY]
    steps = steps_of(proc.stdout)
    assert [label for _, label, _ in steps] == [
        "find the server",
        "connect",
        "server greeting",
        "introduce ourselves",
        "encrypt (STARTTLS)",
        "check the certificate",
        "introduce ourselves",
        "log in",
        "sender",
        "recipient",
        "recipient",
        "send the message",
        "accepted",
    ]
    assert all(mark == "✓" for mark, _, _ in steps)
    details = dict(zip([label for _, label, _ in steps], [d for _, _, d in steps], strict=False))
    assert details["check the certificate"] == (
        f"trusted by this computer: {certificate.subject}, issued by {certificate.issuer}, "
        f"valid until {certificate.not_after.date().isoformat()}"
    )
    assert [d for _, label, d in steps if label == "recipient"] == [
        "me@example.com: 250 OK",
        f"{COPY} (the copy of every email): 250 OK",
    ]
    assert details["accepted"] == "2.0.0 Ok: queued as TEST00001"
    assert "\x1b[" not in proc.stdout, "no colour when stdout is not a terminal"


def test_json_steps_carry_durations_recipients_and_the_certificate(certs: CertFiles) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"), "--json",
            "--bcc-copy", COPY, stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [s["step"] for s in report["steps"]][:5] == [
        "resolve", "connect", "tls", "certificate", "greeting",
    ]  # fmt: skip
    for step in report["steps"]:
        assert isinstance(step["ms"], int | float) and step["ms"] >= 0
    certificate = report["steps"][3]
    assert certificate["detail"] == "trusted by this computer"
    assert "localhost" in certificate["certificate"]["names"]
    recipients = [(s["recipient"], s["copy"]) for s in report["steps"] if s["step"] == "rcpt_to"]
    assert recipients == [("me@example.com", False), (COPY, True)]
    assert report["result"]["queue_id"] == "TEST00001"


def certificate_line(stdout: str) -> str:
    [line] = [line for line in stdout.splitlines() if "check the certificate" in line]
    return line


@pytest.mark.parametrize(
    ("how", "verdict"),
    [
        ("trusted", "trusted by this computer"),
        ("skip-verify", "not checked: verification is turned off"),
        ("pinned", "the pinned fingerprint matches"),
    ],
)
def test_the_certificate_step_says_how_the_certificate_was_accepted(
    certs: CertFiles, how: str, verdict: str
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        flags = server_flags(server, "ssl")
        env = {"SSL_CERT_FILE": str(certs.ca)} if how == "trusted" else {}
        if how == "skip-verify":
            flags.append("--skip-tls-verify")
        if how == "pinned":
            pinned = barua(
                "test", "--to", "me@example.com", *flags, "--trust-certificate", "--yes",
                "--save", stdin=PASSWORD + "\n",
            )  # fmt: skip
            assert pinned.returncode == 0, pinned.stderr
            flags = []  # the saved settings, with the pinned fingerprint
        proc = barua("test", "--to", "me@example.com", *flags, stdin=PASSWORD + "\n", env=env)
    assert proc.returncode == 0, proc.stderr
    line = certificate_line(proc.stdout)
    assert line.startswith("✓ check the certificate")
    assert f"{verdict}: localhost" in line
    assert ", issued by barua test CA, valid until 20" in line


def test_a_refused_copy_fails_the_test_and_says_which_address(certs: CertFiles) -> None:
    refusal = f"550 5.1.1 <{COPY}>: Recipient address rejected"
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        server.recorder.refuse_recipients[COPY] = refusal
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"),
            "--bcc-copy", COPY, stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        as_json = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"), "--json",
            "--bcc-copy", COPY, stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (recipient): the server refused {COPY}, the address that gets a copy of every "
        f"email (server replied: {refusal})",
        "hint: The test email went to the other recipients, but every email would go without "
        "its copy. Check the copy address (--bcc-copy), or stop sending copies "
        "(--no-bcc-copy).",
    ]
    recipients = [(m, d) for m, label, d in steps_of(proc.stdout) if label == "recipient"]
    assert recipients == [
        ("✓", "me@example.com: 250 OK"),
        ("✗", f"{COPY} (the copy of every email): {refusal}"),
    ]
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["ok"] is False
    assert report["error"]["cause"] == "copy_refused"
    assert report["error"]["recipient"] == COPY
    assert report["advice"]["summary"] == (
        f"the server refused {COPY}, the address that gets a copy of every email"
    )


def test_greylisting_at_rcpt_to_says_try_later(certs: CertFiles) -> None:
    greylisted = "450 4.2.0 Greylisted, try again later"
    with SmtpServer(
        mode="ssl", certs=certs, users={USER: PASSWORD}, faults={"RCPT": greylisted}
    ) as server:
        proc = barua(
            "test", "--to", "me@example.com", *server_flags(server, "ssl"),
            stdin=PASSWORD + "\n", env={"SSL_CERT_FILE": str(certs.ca)},
        )  # fmt: skip
        assert server.messages == []
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (recipient): the server asked to try again later (server replied: {greylisted})",
        "hint: This is usually temporary (greylisting, a busy server or a sending limit): try "
        "again in a few minutes.",
    ]
    assert ("✗", "recipient", f"me@example.com: {greylisted}") in steps_of(proc.stdout)


@pytest.fixture
def full_listener() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, so a connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(8):
        filler = socket.socket()
        filler.settimeout(0.3)
        fillers.append(filler)
        try:
            filler.connect(("127.0.0.1", port))
        except TimeoutError:
            break  # the queue is full now
    else:
        pytest.fail("the accept queue never filled")
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def flags_for(port: int, *more: str) -> list[str]:
    return [
        "--host", "127.0.0.1", "--port", str(port), "--security", "ssl",
        "--username", USER, "--password-stdin", "--timeout", "1", *more,
    ]  # fmt: skip


def test_a_connection_that_times_out(full_listener: int) -> None:
    proc = barua("test", "--to", "me@example.com", *flags_for(full_listener), stdin="x\n")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error (connect): no answer from 127.0.0.1 on port {full_listener}",
        "hint: A firewall or antivirus program may be blocking the connection, or the port is "
        "wrong. Internet providers often block port 25: use 587 or 465 instead.",
    ]
    assert [(m, label) for m, label, _ in steps_of(proc.stdout)] == [
        ("✓", "find the server"),
        ("✗", "connect"),
    ]
    assert "  system error: timed out" in proc.stdout.splitlines()


def test_a_refused_connection_shows_the_system_error() -> None:
    with socket.socket() as closed:  # bound, never listening: refuses, and no one takes it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        proc = barua("test", "--to", "me@example.com", *flags_for(port), stdin="x\n")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f"error (connect): 127.0.0.1 refused the connection on port {port}"
    )
    assert "  system error: [Errno 111] Connection refused" in proc.stdout.splitlines()
    as_json = json.loads(
        barua("test", "--to", "me@example.com", *flags_for(port), "--json", stdin="x\n").stdout
    )
    assert as_json["error"]["system_error"] == "[Errno 111] Connection refused"
    assert as_json["steps"][-1]["system_error"] == "[Errno 111] Connection refused"


def test_colour_only_on_a_terminal(certs: CertFiles) -> None:
    with socket.socket() as closed:  # bound, never listening: refuses, and no one takes it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        args = ("test", "--to", "me@example.com", *flags_for(port))
        shown = run_on_a_terminal(*args, stream="stdout", stdin="x\n").shown
        piped = barua(*args, stdin="x\n")
    assert "\x1b[" in shown and "✗" in shown
    assert "✗" in piped.stdout and "\x1b[" not in piped.stdout
