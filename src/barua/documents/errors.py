"""The one error of the documents package.

``DocumentError`` sits in barua's single exception tree (``BaruaError``) so the command line and
the web app report it like any other mistake a user can fix. A document can be wrong in many
places at once, so the error carries every problem, keyed by its path in the document.
"""

from __future__ import annotations

from barua.errors import BaruaError


class DocumentError(BaruaError):
    """A document cannot be read, validated, rendered or turned into an email.

    ``problems`` maps a path in the document (``lines[3].quantity``) to what is wrong there
    (``must be a number``); ``source`` names the file the document came from, if any.
    """

    def __init__(
        self,
        problems: dict[str, str],
        *,
        hint: str | None = None,
        source: str | None = None,
    ) -> None:
        self.problems = dict(problems)
        self.source = source
        super().__init__(_summary(self.problems, source), hint=hint)

    def lines(self) -> list[str]:
        """One line per problem, ``path: message``, prefixed with the file when known."""
        prefix = f"{self.source}: " if self.source else ""
        return [prefix + _join(path, message) for path, message in self.problems.items()]


def _join(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def _summary(problems: dict[str, str], source: str | None) -> str:
    prefix = f"{source}: " if source else ""
    if len(problems) == 1:
        path, message = next(iter(problems.items()))
        return prefix + _join(path, message)
    return prefix + "; ".join(_join(path, message) for path, message in problems.items())
