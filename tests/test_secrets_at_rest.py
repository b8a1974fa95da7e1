"""The password never lies in clear anywhere under $BARUA_HOME: not in the settings, not in the
outbox database or its journal, not after a send or a worker run."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.certs import CertFiles
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer
from tests.test_cli import barua, server_flags


def revealing_forms(secret: str, username: str) -> dict[str, bytes]:
    """Byte strings that would give ``secret`` away, each named.

    Base64 is checked at all three alignments (a secret inside a longer encoded text shifts
    by its offset): the characters that depend on the secret's bytes alone."""
    raw = secret.encode("utf-8")
    forms = {
        "utf-8": raw,
        "utf-16": secret.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "SASL PLAIN": base64.b64encode(f"\0{username}\0{secret}".encode()),
    }
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = (shift * 8 + 5) // 6  # the first character with no bit of the prefix
        end = (len(encoded) - encoded.count(b"=")) - 4  # drop the last, partial, group
        forms[f"base64 at offset {shift}"] = encoded[start:end]
    return forms


def leaks(folder: Path, forms: dict[str, bytes]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):  # a folder, or a journal just deleted
            continue
        found += [f"{path.name}: {name}" for name, form in forms.items() if form in data]
    return found


def leaks_in_text(text: str, forms: dict[str, bytes]) -> list[str]:
    data = text.encode("utf-8")
    return [name for name, form in forms.items() if form in data]


def test_the_forms_are_found_where_they_are(tmp_path: Path) -> None:
    # The scan below proves something only if it finds each form where one is.
    forms = revealing_forms(PASSWORD, USER)
    for name, form in forms.items():
        assert len(form) >= 12, name
    for shift in range(3):
        planted = tmp_path / f"planted-{shift}"
        planted.mkdir()
        (planted / "log").write_bytes(
            b"AUTH " + base64.b64encode(b"x" * shift + PASSWORD.encode() + b"tail")
        )
        assert leaks(planted, forms) == [f"log: base64 at offset {shift}"]
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "settings.json").write_text('{"password": {"fernet": "gAAAA..."}}')
    assert leaks(clean, forms) == []


def test_no_clear_password_under_barua_home_after_sending(
    certs: CertFiles, barua_home: Path
) -> None:
    forms = revealing_forms(PASSWORD, USER)
    trust = {"SSL_CERT_FILE": str(certs.ca)}
    during: list[tuple[set[str], list[str]]] = []
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        # While barua delivers, its database is open: its journal is scanned too.
        server.recorder.on_message = lambda _: during.append(
            ({path.name for path in barua_home.iterdir()}, leaks(barua_home, forms))
        )
        saved = barua("settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n")
        assert saved.returncode == 0, saved.stderr
        assert leaks(barua_home, forms) == []

        sent = barua(
            "send", "--to", "jane@example.com", "--subject", "Ankara", "--body", "Habari",
            env=trust,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert leaks(barua_home, forms) == []

        queued = barua(
            "send", "--to", "jane@example.com", "--subject", "Ankara 2", "--body", "Habari",
            "--queue",
        )  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        assert leaks(barua_home, forms) == []
        worked = barua("worker", "--once", env=trust)
        assert worked.returncode == 0, worked.stderr
        assert len(server.messages) == 2
        # The password was really used, in full, by each delivery.
        assert server.recorder.logins == [(USER, PASSWORD)] * 2

    assert [found for _, found in during] == [[], []]
    for present, _ in during:
        assert {"barua.db-wal", "barua.db-journal"} & present, present
    names = {path.name for path in barua_home.rglob("*") if path.is_file()}
    assert {"secret.key", "barua.db"} <= names, names
    assert leaks(barua_home, forms) == []
    for output in (saved, sent, queued, worked):
        assert leaks_in_text(output.stdout + output.stderr, forms) == []
