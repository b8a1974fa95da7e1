"""The one error of the documents package.

``DocumentError`` sits in barua's single exception tree (``BaruaError``) so the command line and
the web app report it like any other mistake a user can fix. A document can be wrong in many
places at once, so the error carries every problem, keyed by its path in the document.
"""

from __future__ import annotations

from collections.abc import Mapping

from barua.errors import BaruaError
from barua.texts import Message, Text, joined

PROBLEM_AT = Message("documents.problem_at", "{path}: {problem}")
PROBLEM_IN = Message("documents.problem_in", "{source}: {problem}")


class DocumentError(BaruaError):
    """A document cannot be read, validated, rendered or turned into an email.

    ``problems`` maps a path in the document (``lines[3].quantity``) to what is wrong there
    (``must be a number``, as a :class:`~barua.texts.Text`); ``source`` names the file the
    document came from, if any.
    """

    def __init__(
        self,
        problems: Mapping[str, Text],
        *,
        hint: Text | None = None,
        source: str | None = None,
    ) -> None:
        self.problems = dict(problems)
        self.source = source
        super().__init__(joined("documents.problems", self.texts()), hint=hint)

    def texts(self) -> tuple[Text, ...]:
        """Each problem as it reads on its own: ``invoice.json: lines[3].quantity: …``."""
        found: list[Text] = []
        for path, problem in self.problems.items():
            text = PROBLEM_AT(path=path, problem=problem) if path else problem
            found.append(PROBLEM_IN(source=self.source, problem=text) if self.source else text)
        return tuple(found)

    def lines(self, lang: str | None = None) -> list[str]:
        """One line per problem, ``path: message``, prefixed with the file when known, in
        ``lang``."""
        return [text.render(lang) for text in self.texts()]
