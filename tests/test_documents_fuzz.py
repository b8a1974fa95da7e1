"""The document loader under random input: whatever it is given, it answers with a document or
a :class:`~barua.documents.DocumentError`, quickly; and a document it accepts renders (PDF and
email) or is refused with a DocumentError too, never with another exception.

Three sources of input: random JSON values, random bytes and text, and the examples mutated
(a value replaced by a random one or an extreme number, a key removed or added).
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barua.documents import DocumentError, parse_document, parse_json, render_email, render_pdf
from barua.documents.loading import MAX_DEPTH

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_DATA = {
    path.name: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(EXAMPLES.glob("*.json"))
}
SECONDS = 5.0
"""Longer than any document here takes to load and render, by far: a hang fails."""

FUZZ = settings(
    max_examples=120,
    deadline=None,  # measured below against SECONDS, not hypothesis's 200 ms
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Numbers at and beyond every bound: digits, places, exponents, signs, ints past 4,300 digits.
# Numbers at and beyond every bound: digits, places, exponents, signs, integers past the 4,300
# digits Python converts to text (as Decimals: hypothesis prints its examples with repr()).
extreme_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(
        [
            10**15 - 1, 10**15, -(10**15), 10**28,
            Decimal("1" * 4400), Decimal("-" + "9" * 5000), Decimal("1E+24"), Decimal("1E-999999"),
            Decimal("-0"), Decimal("0E-1000"), Decimal("999999999999999.9999999999"),
            Decimal("0.00000000001"), Decimal("1" * 29), Decimal("NaN"), Decimal("Infinity"),
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
    # within the bounds, near them, so that documents are accepted and rendered too
    st.decimals(min_value=-(10**15) + 1, max_value=10**15 - 1, places=2),
    st.decimals(min_value=0, max_value=100, places=10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,20})?", fullmatch=True),
)  # fmt: skip

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    extreme_numbers,
    st.text(max_size=40),
    st.sampled_from(["", " ", "2025-02-30", "2025-01-31", "usd", "TZS", "sales_invoice", "#1F4E79",
                     "logo.png", "/etc/passwd", "../logo.png", "data:image/png;base64,AAAA",
                     "a@example.com", "x" * 6000]),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value``, the containers' own included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        return value.replace(".", "", 1).lstrip("-").isdigit()
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    """An example document with one to four random changes."""
    data = copy.deepcopy(EXAMPLE_DATA[draw(st.sampled_from(sorted(EXAMPLE_DATA)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [path for path in _paths(data) if path]
        kind = draw(st.sampled_from(["replace", "number", "number", "number", "remove", "add"]))
        numbers = [path for path in paths if _is_number(_at(data, path))]
        path = draw(st.sampled_from(numbers if kind == "number" and numbers else paths))
        parent = _at(data, path[:-1])
        if kind == "replace":
            parent[path[-1]] = draw(json_values)
        elif kind == "number":
            parent[path[-1]] = draw(extreme_numbers)
        elif kind == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return data


def json_text(value: Any) -> str:
    """``value`` as JSON text, its numbers spelled exactly (an int of 5,000 digits too, which
    ``json.dumps`` cannot write; NaN and Infinity as Python's json module writes them)."""
    if isinstance(value, bool | str) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(Decimal(value))
    if isinstance(value, Decimal):
        return {"sNaN": "NaN", "-sNaN": "NaN", "-NaN": "NaN"}.get(str(value), str(value))
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(json_text, value)) + "]"
    items = (f"{json.dumps(str(key))}: {json_text(item)}" for key, item in value.items())
    return "{" + ", ".join(items) + "}"


def _loads_or_refuses(data: Any) -> Any:
    """The document ``data`` is, or None when the loader refuses it with a DocumentError."""
    try:
        return parse_document(data, base_dir=EXAMPLES)
    except DocumentError as exc:
        assert exc.problems, "a refusal names at least one problem"
        assert all(isinstance(line, str) for line in exc.lines())
        return None


def _renders_or_refuses(document: Any) -> None:
    try:
        render_pdf(document)
        render_email(document)
    except DocumentError as exc:
        assert exc.lines()


@FUZZ
@given(json_values)
def test_random_json_values_load_or_are_refused(value: Any) -> None:
    start = time.monotonic()
    _loads_or_refuses(value)
    with contextlib.suppress(DocumentError):
        parse_json(json_text(value), base_dir=EXAMPLES)
    assert time.monotonic() - start < SECONDS


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_random_bytes_and_text_load_or_are_refused(text: bytes | str) -> None:
    start = time.monotonic()
    try:
        parse_json(text, base_dir=EXAMPLES)
    except DocumentError as exc:
        assert exc.lines()
    assert time.monotonic() - start < SECONDS


@FUZZ
@given(mutated_documents())
def test_mutated_examples_load_and_render_or_are_refused(data: dict[str, Any]) -> None:
    start = time.monotonic()
    # The same document read from its JSON text (as a file is) and from Python values.
    try:
        document = parse_json(json_text(data), base_dir=EXAMPLES)
    except DocumentError:
        document = None
    if document is not None:
        _renders_or_refuses(document)
    other = _loads_or_refuses(data)
    if other is not None:
        _renders_or_refuses(other)
    assert time.monotonic() - start < SECONDS


def test_an_integer_too_long_for_python_to_print_is_a_number_too_large() -> None:
    data = copy.deepcopy(EXAMPLE_DATA["invoice.json"])
    data["lines"][0]["unit_price"] = 10**5000
    text = json_text(data)
    for read in (lambda: parse_document(data, base_dir=EXAMPLES), lambda: parse_json(text)):
        try:
            read()
        except DocumentError as exc:
            assert exc.problems["lines[0].unit_price"].render() == (
                "must have at most 15 digits before the decimal point"
            )
        else:
            raise AssertionError("accepted")


def test_deep_and_huge_json_is_refused_by_name() -> None:
    deep = '{"type": "report", "tables": ' + "[" * 100_000 + "]" * 100_000 + "}"
    nested: Any = []
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    for given_text in (deep, json.dumps({"type": "report", "tables": nested})):
        try:
            parse_json(given_text)
        except DocumentError as exc:
            assert [text.render() for text in exc.problems.values()] == [
                f"nests objects and lists more than {MAX_DEPTH} levels deep"
            ]
        else:
            raise AssertionError("accepted")
