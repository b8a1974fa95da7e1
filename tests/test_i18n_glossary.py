"""One word per idea: the Kiswahili texts (catalog, email templates, PDF labels) use the terms of
docs/glossary-sw.md, never a wording its "avoid" column says the term replaces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import barua
from barua.documents.labels import LABELS, PARTY_ROLES, TITLES
from barua.documents.models import Language
from barua.i18n import catalog_path

GLOSSARY = Path(__file__).resolve().parent.parent / "docs" / "glossary-sw.md"
TEMPLATES = Path(barua.__file__).parent / "documents" / "email_templates"


def avoided() -> dict[str, str]:
    """Each wording to avoid, with the term that replaces it, read from the glossary's table."""
    rows = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines() if line[:1] == "|"]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[:3] == ["English", "Kiswahili", "avoid"], (
        "the glossary's table has an avoid column"
    )
    found = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        for wording in filter(None, (w.strip() for w in cells[2].split(";"))):
            found[wording] = cells[1]
    return found


def kiswahili_texts() -> dict[str, str]:
    """Every Kiswahili text barua shows, by where it is kept."""
    with catalog_path("sw").open("rb") as po:
        catalog = read_po(po)
    texts = {
        f"catalog: {m.id!r}": m.string
        for m in catalog
        if m.id and isinstance(m.string, str) and m.string
    }
    for path in sorted(TEMPLATES.glob("*.sw.*.txt")):
        texts[f"email template {path.name}"] = path.read_text(encoding="utf-8")
    for table in (TITLES, PARTY_ROLES, LABELS):
        for key, words in table[Language.SW].items():
            texts[f"PDF label {key}"] = words
    return texts


def uses(text: str, wording: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(wording)}(?!\w)", text, re.IGNORECASE) is not None


def test_the_glossary_names_wordings_to_avoid() -> None:
    found = avoided()
    assert found["vigezo vya mazingira"] == "vigeu vya mazingira"
    assert found["sanduku la barua"] == "kisanduku cha barua"
    assert found["kusimba"].startswith("usimbaji fiche")
    assert found["usafirishaji"]


def test_the_check_finds_an_avoided_wording() -> None:
    assert uses("(imebadilishwa na vigezo vya mazingira: BARUA_SMTP_HOST)", "vigezo vya mazingira")
    assert uses("kusimba (SSL/TLS)", "kusimba")
    assert not uses("usimbaji fiche; kusimbua", "kusimba")
    assert not uses("kisanduku cha barua", "sanduku la barua")


@pytest.mark.parametrize("wording", sorted(avoided()))
def test_no_kiswahili_text_uses_a_wording_the_glossary_replaces(wording: str) -> None:
    found = [where for where, text in kiswahili_texts().items() if uses(text, wording)]
    assert found == [], f'"{wording}" is written "{avoided()[wording]}"'
