"""Problems found in a rule document, with where they are, and the error that carries them.

A location is kept as a tuple of segments (``("rules", 2, "when")``) so that the source's line map
can be looked up by it, and is shown as a path a person can read: ``rules[2].when``. JsonLogic
operators that are not plain words are quoted: ``rules[0].when["<"][1]``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from engine.errors import EngineError

Segments = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(segments: Segments) -> str:
    """Render ``("rules", 2, "when", "<", 1)`` as ``rules[2].when["<"][1]``."""
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _PLAIN_KEY.match(seg):
            out.append(f".{seg}" if out else seg)
        else:
            out.append('["' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"]')
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where, on which line if known, and why in plain words."""

    segments: Segments
    message: str
    line: int | None = None
    code: str = "invalid"

    @property
    def path(self) -> str:
        return format_path(self.segments)

    def with_line(self, line_map: Mapping[Segments, int]) -> Problem:
        """Fill in the line from the nearest located ancestor of this problem's location."""
        if self.line is not None:
            return self
        segs = self.segments
        while True:
            if segs in line_map:
                return replace(self, line=line_map[segs])
            if not segs:
                return self
            segs = segs[:-1]

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "message": self.message, "code": self.code}

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.path or '(document)'}: {self.message}"


class RulesetInvalid(EngineError):
    """A rule document was refused; ``problems`` lists every reason at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(
            problems, key=lambda p: (p.line if p.line is not None else 1 << 30, p.path)
        )
        super().__init__(f"{len(self.problems)} problem(s) in the rule document")


class DocumentTooLarge(RulesetInvalid):
    """The document is over the size limit; refused before it is parsed."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` — did you mean 'x'?`` for the closest choice, or an empty string when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
