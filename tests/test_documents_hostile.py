"""Hostile documents and templates, replayed as a user (or an attacker) would run them.

Each attack of issue 18 runs through ``barua document check|render|email`` (or
``barua template set``) as a subprocess, measured by a small parent process: the exit code,
the error a person reads, no traceback, the peak memory of the command (``ru_maxrss`` of its
process tree) and its time. Before the fixes a logo could be any file on the machine, a FIFO
hung the command, a 140 KB PNG took 783 MB, templates ran for minutes or built gigabytes, and
large numbers ended in ``decimal.InvalidOperation`` after ``check`` had said "ok".
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from barua.documents import (
    DocumentError,
    EmailStatus,
    load_document,
    render_email,
    render_pdf,
    with_default_logo,
)
from barua.documents import emailing as emailing_module
from barua.errors import BaruaError
from barua.outbox import Outbox
from barua.settings import make_settings
from tests.conftest import home_url, words

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARUA = str(Path(sys.executable).with_name("barua"))
LOGO = (EXAMPLES / "logo.png").read_bytes()

PEAK_MB = 200
"""The most memory any of these commands may take (the whole process tree, at its peak)."""
SECONDS = 10.0
"""How long any of these commands may take: its start-up is most of it (~1.5 s on a busy
machine); a FIFO or a runaway template would take for ever."""

REFUSED_LOGO = (
    "business.logo: must name a PNG or JPEG file of at most 2 MB and 8 million pixels in the "
    "document's folder or in {logos}"
)

# A parent that runs the command and reports what its process tree took, so that the
# measure is of this command alone, not of every process the test run started before.
_MEASURE = """
import resource, subprocess, sys
try:
    code = subprocess.run(sys.argv[2:], timeout=float(sys.argv[1])).returncode
except subprocess.TimeoutExpired:
    code = 124
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\nbarua-test-peak-kb={peak}\\n")
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    """What a command did, as a person (and a monitor) sees it."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def assert_bounded(self) -> None:
        """No traceback, and within the time and memory every command here must keep."""
        assert "Traceback" not in self.stderr, self.stderr
        assert self.returncode != 124, "the command hung"
        assert self.seconds < SECONDS, f"took {self.seconds:.1f} s"
        assert self.peak_mb < PEAK_MB, f"took {self.peak_mb:.0f} MB"


def barua(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    """``barua ARGS`` in a subprocess, measured."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(SECONDS * 3), BARUA, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=SECONDS * 6,
        check=False,
    )
    seconds = time.monotonic() - start
    stderr, _, peak = proc.stderr.rpartition("\nbarua-test-peak-kb=")
    return Run(proc.returncode, proc.stdout, stderr, seconds, int(peak.strip()) / 1024)


def document(command: str, *args: str | Path) -> Run:
    """``barua document COMMAND ARGS`` with settings to queue email with (no server needed:
    nothing is delivered)."""
    env = dict(os.environ)
    env.update(
        BARUA_SMTP_HOST="127.0.0.1",
        BARUA_SMTP_PORT="2525",
        BARUA_SMTP_SECURITY="none",
        BARUA_EMAIL_ADDRESS="billing@baobab-studio.example",
    )
    return barua("document", command, *args, env=env)


def logos_folder() -> Path:
    return Path(os.environ["BARUA_HOME"]) / "logos"


def write_invoice(
    folder: Path, name: str, *, logo: str | None = "logo.png", **changes: Any
) -> Path:
    """The example invoice as ``folder/name`` with ``changes``; its logo ``logo``, the example's
    own written beside it when that is ``logo.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))
    data.update(changes)
    data["number"] = changes.get("number", Path(name).stem.upper())
    data["business"]["logo"] = logo
    if logo == "logo.png" and not (folder / "logo.png").exists():
        (folder / "logo.png").write_bytes(LOGO)
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def pixel_bomb(width: int = 12_000, height: int = 12_000) -> bytes:
    """A valid PNG of ``width`` x ``height`` grey pixels, all black: 140 KB on disk, 144 MB
    decoded, 432 MB once made RGB, as the issue found."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    row = b"\0" * (1 + width)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return pixel_bomb()


def problems_of(run: Run) -> dict[str, str]:
    """``error: FILE: PROBLEM`` lines, as FILE → PROBLEM (the last one of a file)."""
    found = {}
    for line in run.lines:
        if line.startswith("error: "):
            source, _, problem = line.removeprefix("error: ").partition(": ")
            found[source] = problem
    return found


# 3. The logo: the document's folder (or $BARUA_HOME/logos), a regular file, bounded ------------


def test_a_logo_outside_the_documents_folder_is_refused_by_check_render_and_email(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "private.png").write_bytes(LOGO)  # a real image: only its place is wrong
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "link.png").symlink_to(elsewhere / "private.png")
    attacks = [
        write_invoice(folder, "absolute.json", logo=str(elsewhere / "private.png")),
        write_invoice(folder, "dotdot.json", logo="../elsewhere/private.png"),
        write_invoice(folder, "symlink.json", logo="link.png"),
    ]
    refused = REFUSED_LOGO.format(logos=logos_folder())
    expected = {str(path): refused for path in attacks}

    checked = document("check", *attacks)
    checked.assert_bounded()
    assert checked.returncode == 2
    assert checked.stdout == ""
    assert problems_of(checked) == expected

    rendered = document("render", attacks[2])
    rendered.assert_bounded()
    assert rendered.returncode == 2
    assert problems_of(rendered) == {str(attacks[2]): refused}
    assert not list(folder.glob("*.pdf"))

    emailed = document("email", *attacks)
    emailed.assert_bounded()
    assert emailed.returncode == 2
    assert problems_of(emailed) == expected
    assert (
        emailed.stdout == "3 documents: 0 queued, 0 skipped (already queued or sent), 3 invalid.\n"
    )


def test_the_error_does_not_tell_whether_a_file_exists(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    probes = {
        "passwd.json": "/etc/passwd",  # exists, readable, not an image
        "shadow.json": "/etc/shadow",  # exists (readable by root only)
        "missing.json": "/etc/no-such-file",  # does not exist
        "folder.json": "/etc",  # a folder
        "device.json": "/dev/zero",  # a device: endless
    }
    paths = [write_invoice(folder, name, logo=logo) for name, logo in probes.items()]
    run = document("check", *paths)
    run.assert_bounded()
    assert run.returncode == 2
    problems = problems_of(run)
    assert list(problems) == [str(path) for path in paths]
    assert set(problems.values()) == {REFUSED_LOGO.format(logos=logos_folder())}


def test_a_fifo_as_the_logo_or_the_document_does_not_hang(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    os.mkfifo(folder / "logo.png")
    invoice = write_invoice(folder, "invoice.json")  # its logo.png is the FIFO
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    expected = {
        str(invoice): REFUSED_LOGO.format(logos=logos_folder()),
        str(fifo): "is not a regular file (a FIFO or a device?)",
    }
    for command in ("check", "email"):
        run = document(command, invoice, fifo)
        run.assert_bounded()
        assert run.returncode == 2, command
        assert problems_of(run) == expected, command
    run = document("render", invoice)
    run.assert_bounded()
    assert run.returncode == 2
    assert problems_of(run) == {str(invoice): expected[str(invoice)]}


def test_a_pixel_bomb_is_refused_before_it_is_decoded(tmp_path: Path, bomb: bytes) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "logo.png").write_bytes(bomb)
    assert len(bomb) < 150_000
    invoice = write_invoice(folder, "invoice.json")
    uri = "data:image/png;base64," + base64.b64encode(bomb).decode("ascii")
    inline = write_invoice(folder, "inline.json", logo=uri)
    expected = {
        str(invoice): REFUSED_LOGO.format(logos=logos_folder()),
        str(inline): "business.logo: the logo must be at most 2 MB and 8 million pixels",
    }
    for command in ("check", "email"):
        run = document(command, invoice, inline)
        run.assert_bounded()  # 783 MB before
        assert run.returncode == 2, command
        assert problems_of(run) == expected, command
    run = document("render", invoice)
    run.assert_bounded()
    assert run.returncode == 2
    assert problems_of(run) == {str(invoice): expected[str(invoice)]}


def test_a_pixel_bomb_cannot_be_the_business_logo_nor_render_as_one(bomb: bytes) -> None:
    from barua.app import Barua, Environment

    with Barua(Environment.from_environ()) as app, pytest.raises(BaruaError) as caught:
        app.set_logo(app.business(None), bomb)
    assert caught.value.text.render() == "the logo must be at most 2 MB and 8 million pixels"
    # One kept before barua counted pixels is refused when a document borrows it.
    uri = "data:image/png;base64," + base64.b64encode(bomb).decode("ascii")
    document = with_default_logo(
        invoice_document().model_copy(
            update={"business": invoice_document().business.model_copy(update={"logo": None})}
        ),
        uri,
    )
    start = time.monotonic()
    with pytest.raises(DocumentError) as refused:
        render_pdf(document)
    assert time.monotonic() - start < 2
    assert words(refused.value.problems) == {
        "business.logo": "the logo must be at most 2 MB and 8 million pixels"
    }


def test_logos_in_the_documents_folder_or_the_logos_folder_are_used(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "brand.png").write_bytes(LOGO)
    (folder / "brand-link.png").symlink_to(folder / "images" / "brand.png")
    logos_folder().mkdir(parents=True)
    (logos_folder() / "shared.png").write_bytes(LOGO)
    good = [
        write_invoice(folder, "beside.json"),
        write_invoice(folder, "below.json", logo="images/brand.png"),
        write_invoice(folder, "link.json", logo="brand-link.png"),  # a link that stays inside
        write_invoice(folder, "shared.json", logo=str(logos_folder() / "shared.png")),
    ]
    run = document("check", *good)
    run.assert_bounded()
    assert run.returncode == 0, run.stderr
    assert [line.split(": ok (")[0] for line in run.stdout.splitlines()] == list(map(str, good))
    rendered = document("render", good[3])
    assert rendered.returncode == 0, rendered.stderr
    pdf = good[3].with_suffix(".pdf").read_bytes()
    assert pdf.count(b"/Subtype /Image") == 2 and b"/SMask" in pdf  # the logo and its alpha


# 4. Templates: bounded loops, text, output and time; no file, no traceback ---------------------

TEMPLATE_ATTACKS = {
    "nested ranges": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "loops more than 10,000 times in all",
    ),
    "center": ("{{ 'x'|center(1000000000) }}", "builds a text longer than 100,000 characters"),
    "ljust": ("{{ 'x'.ljust(1000000000) }}", "builds a text longer than 100,000 characters"),
    "format filter": (
        "{{ '%1000000000s'|format('x') }}",
        "builds a text longer than 100,000 characters",
    ),
    "format method": (
        "{{ '{:>1000000000}'.format('x') }}",
        "builds a text longer than 100,000 characters",
    ),
    "repetition": (
        "{% set a = 'x' * 100000 %}{{ a * 10000 }}",
        "builds a text longer than 100,000 characters",
    ),
    "namespace doubling": (
        "{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "builds a text longer than 100,000 characters",
    ),
    "include": (
        "{% include '/etc/passwd' %}",
        "cannot use {% include %}: an email template stands alone, without other templates or "
        "files",
    ),
    "recursive macro": (
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "nests or calls itself too deeply (a macro that calls itself without end?)",
    ),
}


@pytest.mark.parametrize("attack", list(TEMPLATE_ATTACKS))
def test_a_hostile_message_template_is_a_clear_error(tmp_path: Path, attack: str) -> None:
    template, problem = TEMPLATE_ATTACKS[attack]
    invoice = write_invoice(tmp_path, "invoice.json")
    run = document("email", invoice, "--message", template)
    run.assert_bounded()
    assert run.returncode == 2
    assert run.stdout == ""  # nothing queued
    assert run.lines[0] == f"error: {invoice}: template.body: {problem}"
    assert len(run.lines) == 2 and run.lines[1].startswith("hint: ")


def test_a_hostile_subject_is_a_clear_error(tmp_path: Path) -> None:
    invoice = write_invoice(tmp_path, "invoice.json")
    run = document("email", invoice, "--subject", "{{ ''.__class__.__mro__ }}{{ 1 / 0 }}")
    run.assert_bounded()
    assert run.returncode == 2
    assert run.lines[0] == (
        f"error: {invoice}: template.subject: not allowed in a template: access to attribute "
        "'__class__' of 'str' object is unsafe."
    )


def test_saving_a_hostile_template_is_refused_quickly_and_keeps_nothing() -> None:
    template, problem = TEMPLATE_ATTACKS["nested ranges"]
    run = barua("template", "set", "sales_invoice", "en", "--subject", template)
    run.assert_bounded()
    assert run.returncode == 2
    assert run.lines[0] == f"error: template.subject: {problem}"
    assert run.lines[1].startswith("hint: An email template prints the document's fields")
    shown = barua("template", "show", "sales_invoice", "en")
    assert shown.stdout.splitlines()[1] == "Invoice {{ document_number }} from {{ business_name }}"


# The same guards, in the library, for what a template may still do and what it may not.


def invoice_document() -> Any:
    return load_document(EXAMPLES / "invoice.json")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{% for c in party_name %}{% for d in party_name %}{% for e in party_name %}"
         "{% for f in party_name %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         "loops more than 10,000 times in all"),
        ("{% for x in [1, 2] recursive %}{{ loop(range(9000) if loop.depth == 1 else []) }}"
         "{% endfor %}", "loops more than 10,000 times in all"),
        ("{{ range(1000000000000)|list }}", "loops more than 10,000 times in all"),
        ("{{ 'ab'|replace('', 'x' * 90000) }}", "builds a text longer than 100,000 characters"),
        ("{{ 'ab'.replace('', 'x' * 90000) }}", "builds a text longer than 100,000 characters"),
        ("{{ range(9000)|join('x' * 90000) }}", "builds a text longer than 100,000 characters"),
        ("{{ ('x' * 90000).join(['a', 'b', 'c']) }}",
         "builds a text longer than 100,000 characters"),
        ("{{ ('a\\n' * 40000)|indent(1000) }}", "builds a text longer than 100,000 characters"),
        ("{{ ('x' * 99999)|wordwrap(1, wrapstring='y' * 1000) }}",
         "builds a text longer than 100,000 characters"),
        ("{{ [1]|batch(1000000000, 'x')|list }}", "builds a text longer than 100,000 characters"),
        ("{{ '%s%s%s%s' % (('x' * 90000,) * 4) }}",
         "builds a text longer than 100,000 characters"),
        ("{{ '%(a)s%(a)s' % {'a': 'x' * 90000} }}",
         "builds a text longer than 100,000 characters"),
        ("{{ '{0}{0}{0}'.format('x' * 90000) }}", "builds a text longer than 100,000 characters"),
        ("{{ [['x' * 90000]] * 1000 }}", "builds a text longer than 100,000 characters"),
        ("{% set ns = namespace(l=[]) %}{% for i in range(100) %}"
         "{% set ns.l = ns.l + ['x' * 9000] %}{% endfor %}", "builds a text longer than 100,000 "
         "characters"),
        ("{% macro m() %}{% for i in range(9000) %}{{ 'y' * 9000 }}{% endfor %}{% endmacro %}"
         "{{ m()|length }}", "writes more than 1,000,000 characters in all (macros and blocks "
         "included)"),
        ("{% for i in range(2000) %}{{ 'y' * 99 }}{% endfor %}",
         "prints more than 100,000 characters"),
        ("{% set ns = namespace(n=2) %}{% for i in range(60) %}{% set ns.n = ns.n * ns.n %}"
         "{% endfor %}", "computes a number of more than 300 digits"),
        ("{{ 10 ** 10 ** 10 }}", "not allowed in a template: the ** operator is not allowed in "
         "templates"),
        ("{{ [[1], [2]]|sum(start=[]) }}",
         "not allowed in a template: the sum filter adds numbers only"),
        ("{{ lipsum(1000000) }}", "'lipsum' is undefined; use one of the fields listed below"),
        ("{{ 'x'.encode() }}", "not allowed in a template: access to attribute 'encode' of "
         "'str' object is unsafe."),
        ("{{ (1).to_bytes(1000000000, 'big') }}", "not allowed in a template: access to attribute "
         "'to_bytes' of 'int' object is unsafe."),
        ("{% import 'mail.txt' as m %}", "cannot use {% import %}: an email template stands "
         "alone, without other templates or files"),
        ("{% extends '/etc/passwd' %}", "cannot use {% extends %}: an email template stands "
         "alone, without other templates or files"),
        ("{% from 'x' import y %}", "cannot use {% from … import %}: an email template stands "
         "alone, without other templates or files"),
        ("{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
         "nests or calls itself too deeply (a macro that calls itself without end?)"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("x" * 20_001, "is longer than 20,000 characters"),
    ],
)  # fmt: skip
def test_the_sandbox_bounds_every_way_to_build_text(template: str, problem: str) -> None:
    start = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        render_email(invoice_document(), message=template)
    assert time.monotonic() - start < 2
    assert words(caught.value.problems) == {"template.body": problem}
    assert caught.value.hint is not None


def test_a_slow_template_is_stopped_at_its_deadline() -> None:
    # Each step is small and quick, but 10,000 of them are not.
    template = (
        "{% set s = 'x y ' * 24999 %}{% for i in range(10000) %}{{ s|wordcount }}{% endfor %}"
    )
    start = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        render_email(invoice_document(), message=template)
    assert time.monotonic() - start < 3
    assert words(caught.value.problems) == {
        "template.body": "took more than 1 s to render: does it loop too much?"
    }


def test_templates_within_the_limits_still_work() -> None:
    subject, body = render_email(
        invoice_document(),
        subject="{{ '%s: %s'|format(document_title, document_number) }}",
        message=(
            "{% set ns = namespace(total=0) %}{% for i in range(1, 101) %}"
            "{% set ns.total = ns.total + i %}{% endfor %}"
            "{{ party_name|upper|center(30) }}|{{ '{:>10}'.format(balance_due) }}|"
            "{{ ns.total }}|{{ range(3)|join(', ') }}|{{ 'a-b'.replace('-', '+') }}|"
            "{{ business_name ~ ' / ' ~ reference }}|{{ [1, 2, 3]|sum }}|{{ ('ab' * 3)|length }}"
            "{% macro greet(name) %}Hi {{ name }}{% endmacro %}|{{ greet(contact_name) }}\n"
        ),
    )
    assert subject == "Invoice: INV-0042"
    assert body == (
        "        CAFÉ ZÜRICH AG        | $5,447.76|5050|0, 1, 2|a+b|Baobab Studio Ltd / "
        "PO 7731|6|6|Hi Anna Müller\n"
    )


# 5. Numbers: bounded in the schema and the loader, so check and render agree -------------------

TOO_MANY_DIGITS = "must have at most 15 digits before the decimal point"


def test_large_numbers_are_refused_by_check_and_render_alike(tmp_path: Path) -> None:
    lines = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))["lines"]
    price = [dict(lines[0], unit_price=1e24), *lines[1:]]
    digits = [dict(lines[0], unit_price="12345678901234567890123456789"), *lines[1:]]
    product = [dict(lines[0], quantity="99999999999999", unit_price="99999999999999"), *lines[1:]]
    paths = [
        write_invoice(tmp_path, "price.json", lines=price),
        write_invoice(tmp_path, "digits.json", lines=digits),
        write_invoice(tmp_path, "product.json", lines=product),
        write_invoice(tmp_path, "paid.json", amount_paid=1e28),
    ]
    expected = {
        str(paths[0]): f"lines[0].unit_price: {TOO_MANY_DIGITS}",
        str(paths[1]): f"lines[0].unit_price: {TOO_MANY_DIGITS}",
        str(paths[2]): "lines[0]: quantity times unit_price must have at most 15 digits before "
        "the decimal point",
        str(paths[3]): f"amount_paid: {TOO_MANY_DIGITS}",
    }
    checked = document("check", *paths)
    checked.assert_bounded()
    assert checked.returncode == 2
    assert checked.stdout == ""  # no "ok" for a document that cannot render
    assert problems_of(checked) == expected
    rendered = document("render", paths[2])
    rendered.assert_bounded()
    assert rendered.returncode == 2  # not 1 with decimal.InvalidOperation
    assert problems_of(rendered) == {str(paths[2]): expected[str(paths[2])]}


def test_huge_integers_and_deep_nesting_are_named_not_tracebacks(tmp_path: Path) -> None:
    text = (EXAMPLES / "invoice.json").read_text(encoding="utf-8")
    huge = tmp_path / "huge.json"
    huge.write_text(text.replace('"unit_price": "1200.00"', '"unit_price": ' + "9" * 5000))
    deep = tmp_path / "deep.json"
    deep.write_text(text.rstrip().removesuffix("}") + ', "x": ' + "[" * 5000 + "]" * 5000 + "}")
    (tmp_path / "logo.png").write_bytes(LOGO)
    run = document("check", huge, deep)
    run.assert_bounded()
    assert run.returncode == 2
    assert problems_of(run) == {
        str(huge): f"lines[0].unit_price: {TOO_MANY_DIGITS}",
        str(deep): "nests objects and lists more than 32 levels deep",
    }


def test_emailing_a_folder_queues_the_valid_documents_and_names_each_invalid_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "batch"
    lines = json.loads((EXAMPLES / "invoice.json").read_text(encoding="utf-8"))["lines"]
    write_invoice(folder, "a-good.json")
    large = write_invoice(folder, "b-large.json", lines=[dict(lines[0], unit_price=1e24)])
    write_invoice(folder, "c-good.json")
    nobody = write_invoice(folder, "d-nobody.json", party={"name": "Walk-in customer"})
    write_invoice(folder, "e-good.json")
    run = document("email", folder)
    run.assert_bounded()
    assert run.returncode == 2
    assert run.stdout == "5 documents: 3 queued, 0 skipped (already queued or sent), 2 invalid.\n"
    # Each document's errors, then its hint, then the next document's.
    assert run.lines == [
        f"error: {large}: lines[0].unit_price: {TOO_MANY_DIGITS}",
        "hint: Fix the fields named above; `barua document schema` prints every field and its "
        "type.",
        f"error: {nobody}: party.emails: has no address to email the document to",
        "hint: Add the customer's address to party.emails in the document, or give recipients "
        "with --to.",
    ]


def test_a_document_barua_fails_on_does_not_stop_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a document makes go wrong inside barua, the others are queued (the help's
    promise); the one is named with what happened."""
    paths = [write_invoice(tmp_path, f"inv-{n}.json") for n in range(3)]
    compose = emailing_module.compose_document_email

    def failing(document: Any, **options: Any) -> Any:
        if document.number == "INV-1":
            raise ArithmeticError("a fault of barua's own")
        return compose(document, **options)

    monkeypatch.setattr(emailing_module, "compose_document_email", failing)
    settings = make_settings(
        host="127.0.0.1", port=2525, security="none", email_address="a@b.example"
    )
    with Outbox.open(home_url()) as outbox:
        outcomes = list(emailing_module.email_documents(paths, outbox, settings, processes=1))
    assert [outcome.status for outcome in outcomes] == [
        EmailStatus.QUEUED,
        EmailStatus.INVALID,
        EmailStatus.QUEUED,
    ]
    error = outcomes[1].error
    assert error is not None
    assert error.lines() == [
        f"{paths[1]}: could not be emailed: barua met an unexpected ArithmeticError (a fault of "
        "barua's own)"
    ]
