"""The sandbox email templates run in: Jinja2's, bounded in time, size, loops and reach.

A template comes from a shop owner's web form, a ``--message`` given on the command line or
a business's saved text, and it is rendered for every document emailed. Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` keeps it away from Python's objects;
this one also keeps it from running for ever or filling the memory:

* **time**: every render has a deadline (:attr:`TemplateLimits.seconds`), checked on every
  call, attribute, operator, filter, loop step and piece of output;
* **loops**: every ``{% for %}`` step counts against :attr:`TemplateLimits.loops` for the
  whole render, and ``range()`` refuses a longer range before it starts;
* **text**: no value a template builds (``~``, ``+``, ``*``, ``%``, ``format``, ``center``,
  ``replace``, ``join``, ``indent``…) may outgrow :attr:`TemplateLimits.text` characters, and
  the sizes are foreseen *before* Python builds the value, so ``'x'|center(10**9)`` never
  allocates a gigabyte; all the text a render emits (macros and blocks included) and what it
  prints are bounded too;
* **reach**: ``{% include %}``, ``{% import %}`` and ``{% extends %}`` are refused when the
  template is compiled, and the environment's loader knows no template anyway, so nothing is
  read from the file system; ``lipsum`` is gone, and only plain methods of text remain.

The guards sit where a template's code runs: Jinja's sandbox hooks (``call``, ``getattr``,
``call_binop``) and, for what has no hook (a loop's iterable, ``~``, a piece of output), the
template's syntax tree, rewritten before it is compiled to call the guard.

A failed guard raises :class:`TemplateLimitError` with the words to show.
"""

from __future__ import annotations

import inspect
import re
import string
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from types import BuiltinMethodType
from typing import Any, Final

from jinja2 import DictLoader, StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from barua.documents import messages
from barua.texts import Text


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """How far one render of one template may go."""

    seconds: float = 1.0
    """Wall time for the whole render; the defaults render in about a millisecond."""
    loops: int = 10_000
    """Loop steps (``{% for %}``) in all, nested loops counting each inner step."""
    text: int = 100_000
    """Characters of any one value the template builds, and of what it prints."""
    emitted: int = 1_000_000
    """Characters of all the output of the render, macros and blocks included."""
    source: int = 20_000
    """Characters of the template itself (a default is ~400): compiling one costs ~25 µs a
    character, so this one bounds the time before the render starts to about half a second."""
    number_bits: int = 1_000
    """Bits of an integer a multiplication may give (about 300 digits)."""


LIMITS: Final = TemplateLimits()
"""The limits every render of an email template has."""


class TemplateLimitError(Exception):
    """A template went past one of its :class:`TemplateLimits`; ``text`` says which."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.render())
        self.text = text


@dataclass(slots=True)
class _Budget:
    """What one render has used so far."""

    limits: TemplateLimits
    deadline: float
    loops: int = 0
    emitted: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(messages.TEMPLATE_TOO_SLOW(seconds=f"{self.limits.seconds:g}"))


_BUDGET: ContextVar[_Budget | None] = ContextVar("barua_template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # a template rendered outside :class:`Render`: each step bounded alone
        budget = _Budget(LIMITS, time.monotonic() + LIMITS.seconds)
    return budget


def _too_much_text(limits: TemplateLimits) -> TemplateLimitError:
    return TemplateLimitError(messages.TEMPLATE_TOO_MUCH_TEXT(limit=f"{limits.text:,}"))


def size_of(value: Any, limit: int) -> int:
    """About how many characters ``value`` takes as text, counted up to just past ``limit``
    (containers with what they hold, without recursion: a deep or cyclic one costs no stack).
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, bool | float | type(None)):
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, range):
            try:
                total += len(item)
            except OverflowError:
                return limit + 1
        elif isinstance(item, Namespace):  # printed with all it holds
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Mapping):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Collection):  # lists, tuples, sets, a dict's views
            total += len(item)
            stack.extend(item)
        else:
            total += 1
        if total > limit:
            return total
    return total


def _check_size(value: Any, limits: TemplateLimits) -> None:
    if size_of(value, limits.text) > limits.text:
        raise _too_much_text(limits)


def _foresee(size: int, limits: TemplateLimits) -> None:
    """Refuse a value that would be ``size`` characters, before it is built."""
    if size > limits.text:
        raise _too_much_text(limits)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# What text operations would build, foreseen ---------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _number(digits: str) -> int:
    """A width or precision written in a format; a very long one counts as huge."""
    return int(digits) if len(digits) <= 9 else 10**10


def _largest(values: Iterable[Any], limits: TemplateLimits) -> int:
    return max((size_of(value, limits.text) for value in values), default=0)


def _percent_size(fmt: str, args: Any, limits: TemplateLimits) -> int:
    """At most how long ``fmt % args`` is: each conversion with its width and precision,
    as long as the largest argument (which may be used again by name)."""
    if isinstance(args, Mapping):
        largest = _largest(args.values(), limits)
    elif isinstance(args, tuple):
        largest = _largest(args, limits)
    else:
        largest = size_of(args, limits.text)
    total = len(fmt)
    for match in _PERCENT_SPEC.finditer(fmt):
        width, precision = match.group(1) or "", match.group(2) or ""
        if "*" in (width, precision):  # a width from the arguments: not foreseeable
            return limits.text + 1
        total += _number(width or "0") + _number(precision or "0") + largest + 32
    return total


def _format_size(
    fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], limits: TemplateLimits
) -> int:
    """At most how long ``fmt.format(*args, **kwargs)`` is (``format_map`` alike)."""
    largest = max(_largest(args, limits), _largest(kwargs.values(), limits))
    total = len(fmt)
    for _, name, spec, _ in string.Formatter().parse(fmt):
        if name is None:
            continue
        if "{" in (spec or ""):  # a width from another field: not foreseeable
            return limits.text + 1
        total += sum(_number(digits) for digits in _DIGITS.findall(spec or "")) + largest + 32
    return total


def _join_size(items: list[Any], separator: Any, limits: TemplateLimits) -> int:
    return size_of(items, limits.text) + len(_text(separator)) * max(len(items) - 1, 0)


def _replace_size(text: str, old: str, new: str, count: Any) -> int:
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


# The filters, each guarded -------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _width(value: Any, limits: TemplateLimits) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        _foresee(value, limits)


def _before_filter(name: str, arguments: Mapping[str, Any], limits: TemplateLimits) -> None:
    """Refuse a filter call whose result would be too large, before it runs."""
    get = arguments.get
    if name == "center":
        _width(get("width", 80), limits)
    elif name == "indent":
        text, width = _text(get("s", "")), get("width", 4)
        step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _foresee(len(text) + step * (text.count("\n") + 1), limits)
    elif name == "format":
        _foresee(
            _percent_size(_text(get("value", "")), get("kwargs") or get("args", ()), limits), limits
        )
    elif name == "replace":
        text, old, new = _text(get("s", "")), _text(get("old", "")), _text(get("new", ""))
        _foresee(_replace_size(text, old, new, get("count")), limits)
    elif name in {"batch", "slice"}:
        _width(get("linecount", get("slices", 0)), limits)
    elif name == "wordwrap":
        text, width = _text(get("s", "")), get("width", 79)
        wrap = _text(get("wrapstring") or "\n")
        lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
        _foresee(len(text) + len(wrap) * lines, limits)
    elif name == "truncate":
        _foresee(len(_text(get("end", "..."))), limits)
    elif name == "sum":
        start = get("start", 0)
        if not isinstance(start, int | float):  # adding lists or texts: quadratic
            raise SecurityError("the sum filter adds numbers only")


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(function)
    passes_context = getattr(function, "jinja_pass_arg", None) is not None

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        limits = budget.limits
        for value in (*args[1 if passes_context else 0 :], *kwargs.values()):
            _check_size(value, limits)  # pprint, string, tojson… of a huge value
        if name == "join":  # its items may be a generator: read them once, then measure
            start = 1 if passes_context else 0
            if len(args) > start:
                args = (*args[:start], list(args[start]), *args[start + 1 :])
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            bound = None
        if bound is not None:
            arguments = dict(bound.arguments)
            if name == "join":
                _foresee(
                    _join_size(arguments.get("value", []), arguments.get("d", ""), limits),
                    limits,
                )
            else:
                _before_filter(name, arguments, limits)
        result = function(*args, **kwargs)
        _check_size(result, limits)
        return result

    return guarded


# The environment -----------------------------------------------------------------------------

_TEXT_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "find", "format",
        "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
        "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle",
        "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit",
        "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        "zfill",
    }
)  # fmt: skip
"""The methods of text a template may call: none that builds bytes or a table of its own."""

_NUMBER_ATTRIBUTES = frozenset({"real", "imag", "numerator", "denominator", "is_integer"})

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_text_method(
    method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], limits: TemplateLimits
) -> tuple[Any, ...]:
    """Foresee what a method of text builds; the arguments to call it with."""
    name, text = method.__name__, method.__self__
    if name in _WIDTH_METHODS and args:
        _width(args[0], limits)
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count")
        _foresee(_replace_size(text, _text(args[0]), _text(args[1]), count), limits)
    elif name == "join" and args:
        items = list(args[0])
        _foresee(_join_size(items, text, limits), limits)
        return (items, *args[1:])
    return args


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox within :class:`TemplateLimits` (see the module's text)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            loader=DictLoader({}),  # no file, no other template: a template stands alone
        )
        self.globals.clear()
        self.globals.update(
            range=self._range, dict=dict, namespace=Namespace, cycler=Cycler, joiner=Joiner
        )
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    # What a template reaches

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in _TEXT_METHODS:
            return False
        if isinstance(obj, int | float | complex) and attr not in _NUMBER_ATTRIBUTES:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        fmt: str = value.__self__
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            limits = _budget().limits
            if is_map and len(args) == 1 and isinstance(args[0], Mapping):
                size = _format_size(fmt, (), args[0], limits)
            else:
                size = _format_size(fmt, args, kwargs, limits)
            _foresee(size, limits)
            return formatter(*args, **kwargs)

        return checked

    # What a template does

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        limits = budget.limits
        for value in (*args, *kwargs.values()):
            _check_size(value, limits)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (__self.barua_iterate(args[0]), *args[1:])
        elif isinstance(__obj, BuiltinMethodType) and isinstance(__obj.__self__, str):
            args = _check_text_method(__obj, args, kwargs, limits)
        result = super().call(__context, __obj, *args, **kwargs)
        _check_size(result, limits)
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        limits = budget.limits
        if operator == "**":
            raise SecurityError("the ** operator is not allowed in templates")
        left_int, right_int = _is_int(left), _is_int(right)
        if operator == "*":
            if left_int and right_int:
                if left.bit_length() + right.bit_length() > limits.number_bits:
                    raise TemplateLimitError(
                        messages.TEMPLATE_NUMBER_TOO_LARGE(digits=limits.number_bits * 3 // 10)
                    )
            elif left_int or right_int:
                count, other = (left, right) if left_int else (right, left)
                if isinstance(other, str | list | tuple):
                    _foresee(size_of(other, limits.text) * max(count, 0), limits)
        elif operator == "+" and not (left_int or right_int):
            _foresee(size_of(left, limits.text) + size_of(right, limits.text), limits)
        elif operator == "%" and isinstance(left, str):
            _foresee(_percent_size(left, right, limits), limits)
        return super().call_binop(context, operator, left, right)

    def _range(self, *args: int) -> range:
        limits = _budget().limits
        steps = range(*args)
        try:
            length = len(steps)
        except OverflowError:
            length = limits.loops + 1
        if length > limits.loops:
            raise TemplateLimitError(messages.TEMPLATE_TOO_MANY_LOOPS(limit=f"{limits.loops:,}"))
        return steps

    # The hooks the rewritten syntax tree calls

    def barua_iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """A loop's items, each step counted and the deadline checked."""
        budget = _budget()
        for item in iterable:
            budget.loops += 1
            if budget.loops > budget.limits.loops:
                raise TemplateLimitError(
                    messages.TEMPLATE_TOO_MANY_LOOPS(limit=f"{budget.limits.loops:,}")
                )
            budget.tick()
            yield item

    def barua_concat(self, *parts: Any) -> str:
        """``a ~ b``, its length foreseen."""
        limits = _budget().limits
        for part in parts:
            _check_size(part, limits)
        texts = [_text(part) for part in parts]
        _foresee(sum(map(len, texts)), limits)
        return "".join(texts)

    def barua_emit(self, value: Any) -> Any:
        """A piece of output (anywhere: the template, a macro, a block), counted."""
        budget = _budget()
        budget.tick()
        limits = budget.limits
        _check_size(value, limits)
        text = _text(value)
        budget.emitted += len(text)
        if budget.emitted > limits.emitted:
            raise TemplateLimitError(messages.TEMPLATE_TOO_MUCH_OUTPUT(limit=f"{limits.emitted:,}"))
        return text


_STANDS_ALONE = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
_TAGS = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
}


def _hook(name: str, *args: nodes.Node, lineno: int) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(name), list(args), [], None, None, lineno=lineno)


class _Guards(NodeTransformer):
    """Rewrites a template so that what the sandbox has no hook for calls one."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _hook("barua_iterate", node.iter, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _hook("barua_concat", *node.nodes, lineno=node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            _hook(
                "barua_emit",
                nodes.Const(child.data, lineno=child.lineno)
                if isinstance(child, nodes.TemplateData)
                else child,
                lineno=child.lineno,
            )
            for child in node.nodes
        ]
        return node


def stand_alone_tag(tree: nodes.Template) -> str | None:
    """The first ``include``, ``import`` or ``extends`` of a template, if any."""
    for node in tree.find_all(_STANDS_ALONE):
        return _TAGS[type(node)]
    return None


def guarded_tree(environment: Sandbox, tree: nodes.Template) -> nodes.Template:
    """``tree`` rewritten to call the sandbox's guards."""
    guarded = _Guards().visit(tree)
    assert isinstance(guarded, nodes.Template)
    guarded.set_environment(environment)
    return guarded


class Render:
    """One render's budget, in force for the code run inside ``with``."""

    def __init__(self, limits: TemplateLimits = LIMITS) -> None:
        self.budget = _Budget(limits, time.monotonic() + limits.seconds)
        self._token: Any = None

    def __enter__(self) -> _Budget:
        self._token = _BUDGET.set(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)
