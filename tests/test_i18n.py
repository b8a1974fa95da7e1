"""English and Kiswahili: the catalog holds every text the code marks, each translated."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import barua
from barua.environment import Environment
from barua.i18n import LANGUAGES, catalog_path, resolve_language, translator
from tests.certs import CertFiles

PACKAGE = Path(barua.__file__).parent


def marked_texts() -> set[tuple[str | None, str]]:
    """Every text the code marks, every ``_("…")`` and ``pgettext("…", "…")`` of the web
    app's templates, and the help of every command and option: (context, text)."""
    import typer

    from barua.cli import app
    from barua.cli.help import help_texts

    found = help_texts(typer.main.get_command(app))
    sources = [("python", path) for path in PACKAGE.rglob("*.py")]
    sources += [("jinja2", path) for path in (PACKAGE / "web" / "templates").glob("*.html")]
    for method, path in sources:
        keywords = {
            "N_": None,
            "_": None,
            "Message": (2,),
            "pgettext": ((1, "c"), 2),
            "NC_": ((1, "c"), 2),
        }
        for _, text, _, context in extract_from_file(method, str(path), keywords=keywords):
            if isinstance(text, str):
                found.add((context, text))
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_catalog_is_complete_and_current(lang: str) -> None:
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po)
    translated = {(m.context, m.id): m.string for m in catalog if m.id}
    texts = marked_texts()
    missing = sorted(texts - translated.keys(), key=str)
    assert missing == [], "run scripts/update-catalog, translate"
    unused = sorted(translated.keys() - texts, key=str)
    assert unused == [], "the catalog holds texts no longer used"
    for (_context, source), target in translated.items():
        assert isinstance(source, str) and isinstance(target, str)
        assert target.strip(), f"not translated: {source!r}"
        assert fields(target) == fields(source), f"placeholders differ: {source!r}"
    assert not any(m.fuzzy for m in catalog if m.id)


def test_language_is_chosen_by_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Environment.from_environ({"BARUA_LANG": "sw_TZ.UTF-8"}).lang() == "sw"
    assert Environment.from_environ({"BARUA_LANG": "sw"}).lang("en") == "en"
    # Not a language barua speaks: the next choice, the system's.
    monkeypatch.setattr("locale.getlocale", lambda category: ("sw_KE", "UTF-8"))
    assert Environment.from_environ({"BARUA_LANG": "fr"}).lang() == "sw"
    monkeypatch.setattr("locale.getlocale", lambda category: (None, None))
    assert Environment.from_environ({"LANG": "C.UTF-8"}).lang() == "en"
    assert Environment.from_environ({"LC_ALL": "sw_TZ.UTF-8"}).lang() == "sw"
    assert resolve_language("sw-TZ") == "sw" and resolve_language("fr") == "en"
    assert translator("sw").gettext("log in") == "kuingia"
    assert translator("en").gettext("log in") == "log in"


def test_no_placeholder_is_left_unfilled_in_a_translation() -> None:
    with catalog_path("sw").open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if message.id:
            # A placeholder has no spaces; doubled braces are literal (Jinja's {{ field }}).
            text = str(message.string).replace("{{", "").replace("}}", "")
            assert not re.search(r"\{[^}]*\s[^}]*\}", text)


def test_settings_commands_speak_kiswahili(certs: CertFiles) -> None:
    from barua.certificates import describe_certificate
    from tests.conftest import PASSWORD, USER
    from tests.smtpd import SmtpServer
    from tests.test_cli import barua, server_flags

    nothing = barua("--lang", "sw", "settings", "show")
    assert nothing.stderr.splitlines() == [
        "hitilafu: bado hakuna mipangilio ya barua pepe iliyohifadhiwa",
        "ushauri: Endesha `barua settings set --help`, au weka vigeu vya mazingira vya BARUA_*.",
    ]
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}) as server:
        saved = barua(
            "--lang", "sw", "settings", "set", *server_flags(server, "ssl"), stdin=PASSWORD + "\n"
        )
        assert saved.stdout == 'Mipangilio ya barua pepe ya "default" imehifadhiwa.\n'
        shown = barua("--lang", "sw", "settings", "show").stdout.splitlines()
        assert "nenosiri (password) imewekwa" in [" ".join(line.split()) for line in shown]
        assert "ufunguo wa API (http_api_key) haijawekwa" in [
            " ".join(line.split()) for line in shown
        ]

        info = describe_certificate(_der(certs))
        unconfirmed = barua("--lang", "sw", "settings", "trust-certificate")
        assert unconfirmed.stdout.splitlines() == [
            f"mhusika       {info.subject}",
            f"kimetolewa na {info.issuer}",
            f"halali hadi   {info.not_after.date().isoformat()}",
            f"SHA-256       {info.sha256}",
        ]
        assert unconfirmed.stderr.splitlines() == [
            "hitilafu: thibitisha kwa --yes (baada ya kuhakiki alama ya kidole hapo juu) au toa "
            "--fingerprint"
        ]
        wrong = barua("--lang", "sw", "settings", "trust-certificate", "--fingerprint", "00" * 32)
        assert wrong.stderr.splitlines() == [
            f"hitilafu: seva inaonyesha {info.sha256}, si alama ya kidole uliyotoa",
            "ushauri: Usikiamini cheti hiki: angalia jina la seva (host), na uthibitishe alama ya "
            "kidole na msimamizi wa seva.",
        ]
        bad = barua("--lang", "sw", "settings", "trust-certificate", "--fingerprint", "xyz")
        assert bad.stderr.splitlines() == [
            "hitilafu: --fingerprint lazima iwe alama ya kidole ya SHA-256 (tarakimu 64 za "
            "heksadesimali)"
        ]
        trusted = barua("--lang", "sw", "settings", "trust-certificate", "--yes")
        assert trusted.stdout.splitlines()[-1] == f"Cheti {info.sha256} kimeaminiwa."
    removed = barua("--lang", "sw", "settings", "trust-certificate", "--remove")
    assert removed.stdout == "Sasa hakuna cheti kinachoaminiwa kwa alama yake ya kidole.\n"


def _der(certs: CertFiles) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(certs.cert.read_bytes()).public_bytes(Encoding.DER)


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_catalog_header_is_complete(lang: str) -> None:
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po)
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == lang
    assert headers["Language-Team"].strip()
    assert headers["Last-Translator"].strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d\+0000", headers["PO-Revision-Date"])
    assert headers["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
