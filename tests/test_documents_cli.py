"""``barua document`` as a user runs it: exit codes, stdout, one stderr line per problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARUA = Path(sys.executable).with_name("barua")


def barua(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BARUA), "document", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_schema_prints_the_json_schema() -> None:
    result = barua("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$id"].endswith("document.schema.json")
    assert "sales_invoice" in schema["discriminator"]["mapping"]


def test_check_accepts_the_examples() -> None:
    result = barua("check", EXAMPLES / "invoice.json", EXAMPLES / "invoice-sw.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{EXAMPLES / 'invoice.json'}: ok (Invoice INV-0042, total $7,447.76)",
        f"{EXAMPLES / 'invoice-sw.json'}: ok (Ankara INV-2025-0117, total TSh 8,215,477.50)",
    ]
    assert result.stderr == ""


def test_check_names_every_problem_and_exits_2(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "quote.json").read_text(encoding="utf-8"))
    data["lines"][3]["quantity"] = "many"
    data["lines"][1]["unit_prize"] = 3
    del data["issue_date"]
    data["business"]["logo"] = "logo.png"
    (tmp_path / "logo.png").write_bytes((EXAMPLES / "logo.png").read_bytes())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = barua("check", bad, EXAMPLES / "quote.json")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {bad}: issue_date: is required",
        f"error: {bad}: lines[1].unit_prize: is not a field of this document (check the spelling)",
        f"error: {bad}: lines[3].quantity: must be a number",
        "hint: Fix the fields named above; `barua document schema` prints every field and its "
        "type.",
    ]
    assert "ok (Quote Q-2025-031" in result.stdout  # the good file is still checked
    assert "Traceback" not in result.stderr


def test_render_writes_the_pdf(tmp_path: Path) -> None:
    target = tmp_path / "out" / "letter.pdf"
    target.parent.mkdir()
    result = barua("render", EXAMPLES / "invoice.json", "-o", target, "--paper", "letter")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {target} (Invoice INV-0042, ")
    page = PdfReader(target).pages[0]
    assert round(page.mediabox.width) == 612
    assert "Café Zürich AG" in page.extract_text()


def test_render_next_to_the_file_by_default(tmp_path: Path) -> None:
    source = tmp_path / "statement.json"
    data = json.loads((EXAMPLES / "statement.json").read_text(encoding="utf-8"))
    data["business"]["logo"] = None
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = barua("render", source)
    assert result.returncode == 0, result.stderr
    assert len(PdfReader(tmp_path / "statement.pdf").pages) == 3


def test_render_reports_problems_without_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = barua("render", missing)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"error: cannot read {missing}: No such file or directory"
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "sales_invoice"', encoding="utf-8")
    result = barua("render", bad)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(f"error: {bad}: not valid JSON: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bad.pdf").exists()


def test_render_refuses_an_unknown_paper_size() -> None:
    result = barua("render", EXAMPLES / "invoice.json", "--paper", "a3")
    assert result.returncode == 2
    assert "a3" in result.stderr


def test_check_accepts_a_folder_as_email_does(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("quote.json", "statement.json"):
        data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
        data["business"]["logo"] = None
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    (folder / "notes.txt").write_text("not a document", encoding="utf-8")
    result = barua("check", folder)
    assert result.returncode == 0, result.stderr
    assert [line.split(": ok (")[0] for line in result.stdout.splitlines()] == [
        str(folder / "quote.json"),
        str(folder / "statement.json"),
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = barua("check", empty)
    assert refused.returncode == 2
    assert f"the folder {empty} holds no .json documents" in refused.stderr


def test_help_names_what_to_give_not_python_types() -> None:
    for command in ("email", "check", "render"):
        result = subprocess.run(
            [str(BARUA), "document", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"COLUMNS": "100", "PATH": ""},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "<list[" not in result.stdout and "<str>" not in result.stdout
        assert "<path>" not in result.stdout and "{files}" not in result.stdout
        assert "[OPTIONS] {FILE}" in result.stdout
        assert "FILE" in result.stdout.split("Options:")[0].split("Usage:")[1]
    email = subprocess.run(
        [str(BARUA), "document", "email", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "100", "PATH": ""},
        check=False,
    ).stdout
    for option in ("--to ADDRESS", "--cc ADDRESS", "--subject TEXT", "--message TEXT"):
        assert option in email
