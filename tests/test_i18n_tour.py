"""Every command in both languages, as a user meets them: every ``--help``, and a tour of the
commands and their error paths (settings, a test against a closed port, send, documents good
and bad, the worker, the outbox). With ``--lang sw`` no line may hold an English text of the
catalog or an English sentence; in English no line may hold Kiswahili. What the user typed
(names, subjects, documents) and what servers and the system said are theirs, not barua's.

The commands run in this process (``barua.cli.main`` with its arguments), each as a user
would run it, so the whole tour takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import socket
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from babel.messages.pofile import read_po

from barua.cli import app, main
from barua.i18n import catalog_path
from tests.smtpd import SmtpServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

ENGLISH_WORDS = (
    "the", "is", "not", "to", "and", "your", "with", "must", "of", "for", "was", "are",
    "has", "cannot", "there", "this", "from", "as", "be", "an", "in", "on", "it",
    "entry", "error", "hint", "warning", "queued", "sent", "failed", "deferred",
)  # fmt: skip
SWAHILI_WORDS = (
    "ya", "kwa", "na", "la", "wa", "za", "haina", "tafadhali", "kwenye", "hakuna", "si",
    "hitilafu", "ushauri", "onyo", "imewekwa", "imetumwa", "foleni", "kikasha", "barua pepe",
    "mipangilio", "biashara", "hati", "ankara", "ingizo", "jumla", "sawa",
)  # fmt: skip


def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])", re.I)


ENGLISH = _words(ENGLISH_WORDS)
SWAHILI = _words(SWAHILI_WORDS)

# What is not barua's to translate: a server's reply ("250 2.0.0 Ok: queued as ..."), the
# system's and Jinja's own words ("[Errno 111] Connection refused", each with its meaning),
# a command, option, choice or template as it is typed ("barua outbox show 1", "--to",
# "<auto|ssl>", "{% if paid %}"), a message id, and the English term a Kiswahili word is
# glossed with ("lango (port)").
NOT_BARUAS = re.compile(
    r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b[^)\n]*"
    r"|\[Errno \d+\][^(\n]*"
    r"|\((?:Jinja says|maneno ya Jinja): .*\)"
    r"|\{%.*?%\}|\{\{.*?\}\}"
    r"|\([\w./-]+\)"
    r"|`[^`]*`"
    r"|'barua [^']*'"
    r"|--[\w-]+"
    r"|<[^>\s]*@[^>\s]*>"
    r"|[<\[][\w|]*\|[\w|]*[>\]]"
)


def catalog_fragments() -> list[str]:
    """The English texts of the catalog a Kiswahili reader must never meet: each run of
    words between placeholders and punctuation, three words or more, that no translation
    keeps."""
    with catalog_path("sw").open("rb") as po:
        catalog = read_po(po)
    translations = " ".join(m.string for m in catalog if m.id and isinstance(m.string, str))
    found: set[str] = set()
    for m in catalog:
        if not m.id or not isinstance(m.id, str) or m.string == m.id:
            continue
        for literal, *_ in string.Formatter().parse(m.id.replace("{{", "").replace("}}", "")):
            for part in re.split(r"[\n.,:;()?!]", literal):
                piece = part.strip(" '\"")
                if len(piece.split()) >= 3 and piece not in translations:
                    found.add(piece)
    return sorted(found)


@dataclass
class Ran:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return (self.out + self.err).splitlines()


def barua(*args: str | Path, stdin: str = "") -> Ran:
    """``barua ARGS`` run in this process, as the console script runs it."""
    argv = tuple(str(a) for a in args)
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["barua", *argv], io.StringIO(stdin)
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exited:
        code = exited.code
    finally:
        sys.argv, sys.stdin = saved
    assert "Traceback" not in stderr.getvalue(), (argv, stderr.getvalue())
    return Ran(argv, code if isinstance(code, int) else int(code is not None), *map(
        str, (stdout.getvalue(), stderr.getvalue())
    ))  # fmt: skip


def command_paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def problems(ran: Ran, lang: str, typed: list[str], fragments: list[str]) -> list[str]:
    """The lines of ``ran`` in the wrong language, each with the command that printed it."""
    found = []
    for line in ran.lines():
        rest = line
        for value in sorted(typed, key=len, reverse=True):
            rest = rest.replace(value, "_")  # "_": no word starts or ends inside it
        rest = NOT_BARUAS.sub(" ", rest)
        if lang == "sw":
            wrong = [f for f in fragments if f in rest] or ENGLISH.findall(rest)
        else:
            wrong = SWAHILI.findall(rest)
        if wrong:
            found.append(f"barua {' '.join(ran.args)}: {line!r} ({wrong[0]!r})")
    return found


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        return int(held.getsockname()[1])


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as running:
        yield running


def tour(
    lang: str, tmp_path: Path, server: SmtpServer, closed_port: int
) -> tuple[list[Ran], list[str]]:
    """Every command and its mistakes, with the exit code each must end with; returns what
    ran and the values the user typed."""
    good = EXAMPLES / ("invoice-sw.json" if lang == "sw" else "invoice.json")
    quote = EXAMPLES / "quote.json"
    document = json.loads(good.read_text(encoding="utf-8"))
    folder = tmp_path / "documents"
    folder.mkdir()
    shutil.copy(good, folder / good.name)
    shutil.copy(EXAMPLES / "logo.png", folder / "logo.png")
    wrong_fields = folder / "wrong.json"
    wrong_fields.write_text(json.dumps({"type": "sales_invoice", "number": 3}), encoding="utf-8")
    broken = folder / "broken.json"
    broken.write_text('{"type": "sales_invoice",\n}', encoding="utf-8")
    body = tmp_path / "body.txt"
    body.write_text("{{ oops", encoding="utf-8")
    name, subject = "Baobab Studio Ltd", "Stock 2025"
    typed = [
        str(tmp_path), name, subject, "Duka Moja", "Duka Mbili", "nope", "9999", "nodate",
        "bad address", document["number"], document["business"]["name"],
        "billing@baobab-studio.example", "a@example.com", "me@example.com",
    ]  # fmt: skip
    ran: list[Ran] = []

    def step(code: int, *args: str | Path, stdin: str = "") -> Ran:
        done = barua("--lang", lang, *args, stdin=stdin)
        assert done.code == code, (done.args, done.code, done.out, done.err)
        ran.append(done)
        return done

    step(2, "settings", "show")
    step(2, "settings", "set", "--port", "99999")
    step(2, "settings", "set", "--security", "tls")
    step(2, "settings", "set", "--timeout", "soon")
    step(2, "settings", "set", "--frobnicate")
    step(
        0, "settings", "set", "--host", "127.0.0.1", "--port", str(closed_port),
        "--security", "none", "--email-address", "billing@baobab-studio.example",
        "--sender-name", name, "--timeout", "5",
    )  # fmt: skip
    step(0, "settings", "show")
    step(0, "settings", "show", "--json")
    step(1, "test", "--to", "me@example.com")
    step(2, "test")
    step(1, "send", "--to", "a@example.com", "--subject", subject, "--body", "Hello")
    step(0, "send", "--to", "a@example.com", "--subject", subject, "--body", "Hello", "--queue")
    step(0, "worker", "--once")
    step(0, "outbox", "list")
    step(0, "outbox", "show", "2")
    step(0, "outbox", "retry", "2")
    step(0, "outbox", "cancel", "2")
    step(2, "outbox", "cancel", "2")
    step(2, "outbox", "retry", "9999")
    step(2, "outbox", "show", "9999")
    step(2, "outbox", "show", "nope")
    step(0, "settings", "set", "--port", str(server.port))
    step(2, "send", "--to", "bad address", "--subject", subject, "--body", "Hello")
    step(2, "send", "--to", "a@example.com", "--subject", "Line\nbreak", "--body", "Hello")
    step(
        2, "send", "--to", "a@example.com", "--subject", subject, "--body", "Hello",
        "--attach", tmp_path / "nope",
    )  # fmt: skip
    step(0, "send", "--to", "a@example.com", "--subject", subject, "--body", "Hello")
    step(0, "send", "--to", "a@example.com", "--subject", subject, "--body", "Hello", "--queue")
    step(0, "worker", "--once")
    step(0, "outbox", "list", "--status", "sent")
    step(0, "outbox", "list", "--status", "failed")
    step(0, "outbox", "show", "3")
    step(2, "outbox", "retry", "3")
    step(0, "document", "check", folder / good.name)
    step(2, "document", "check", wrong_fields, broken, tmp_path / "missing.json")
    step(0, "document", "render", folder / good.name, "-o", tmp_path / "out.pdf")
    step(2, "document", "render", wrong_fields)
    step(0, "document", "email", folder / good.name, "--to", "a@example.com")
    step(0, "document", "email", folder / good.name, "--to", "a@example.com")
    step(2, "document", "email", broken, "--to", "a@example.com")
    step(0, "document", "email", folder / good.name, "--to", "me@example.com", "--again", "--wait")
    step(2, "document", "email", folder, "--to", "a@example.com")
    step(0, "worker", "--once")
    step(0, "outbox", "list")
    step(2, "outbox", "purge", "--sent-before", "nodate")
    step(0, "outbox", "purge", "--sent-before", "2999-01-01")
    step(0, "outbox", "list")
    step(0, "outbox", "resume")
    step(0, "business", "list")
    step(0, "business", "add", "Duka Moja")
    step(2, "business", "add", "Duka Moja")
    step(0, "business", "rename", "Duka Moja", "Duka Mbili")
    step(2, "business", "remove", "nope")
    step(2, "business", "logo", tmp_path / "nope.png")
    step(0, "template", "show", "sales_invoice", lang)
    step(2, "template", "show", "nope", lang)
    step(2, "template", "set", "sales_invoice", lang, "--body-file", body)
    step(0, "template", "reset", "sales_invoice", lang)
    step(2, "nope")
    step(2, "outbox", "show")
    step(2, "send", "--subject", subject)
    if lang == "sw":  # the quote is an English document: its own words are its writer's
        typed += ["Quote", json.loads(quote.read_text(encoding="utf-8"))["number"]]
    step(0, "document", "check", quote)
    return ran, typed


@pytest.mark.parametrize("lang", ["sw", "en"])
def test_every_help_is_in_the_language_asked_for(lang: str) -> None:
    fragments = catalog_fragments()
    found = []
    for path in command_paths():
        ran = barua("--lang", lang, *path, "--help")
        assert ran.code == 0, (path, ran.err)
        assert ran.out.strip()
        found += problems(ran, lang, [], fragments)
    assert found == []


@pytest.mark.parametrize("lang", ["sw", "en"])
def test_the_tour_is_in_the_language_asked_for(
    lang: str, tmp_path: Path, server: SmtpServer, closed_port: int
) -> None:
    fragments = catalog_fragments()
    ran, typed = tour(lang, tmp_path, server, closed_port)
    found = [line for done in ran for line in problems(done, lang, typed, fragments)]
    assert found == []
    # Sent at once, by the worker, the document with --wait, the document by the worker.
    assert len(server.messages) == 4


def test_the_checks_catch_the_wrong_language() -> None:
    fragments = catalog_fragments()
    english = Ran(("x",), 2, "", "hitilafu: there is no outbox entry 9999\n")
    kiswahili = Ran(("x",), 2, "", "error: hakuna ingizo 9999\n")
    catalog = Ran(("x",), 0, "Mipangilio: Send a test email, step by step\n", "")
    assert problems(english, "sw", [], fragments)
    assert problems(catalog, "sw", [], fragments)
    assert problems(kiswahili, "en", [], fragments)
    # What the user typed and what a server replied are theirs.
    theirs = Ran(("x",), 0, "Imetumwa kwa a@example.com (250 2.0.0 Ok: the mail is queued).\n", "")
    assert problems(theirs, "sw", [], fragments) == []
    assert (
        problems(
            Ran(("x",), 0, "Mada: Stock of the shop\n", ""), "sw", ["Stock of the shop"], fragments
        )
        == []
    )
