"""The YAML side of reading a rule document: a SafeLoader that refuses what it must not build.

Events are walked before anything is composed, so tags, anchors and aliases (an alias bomb),
several documents and deep nesting are refused before any node exists; nodes are then walked
without recursion (``source_nodes``) for the line map, duplicate keys and values that are not
finite numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode

from engine.rules.problems import Problem, Segments
from engine.rules.source_nodes import LineMap, mark_line, walk_nodes

MAX_DEPTH = 64
# libyaml's parser when PyYAML was built with it; None falls back to the pure-Python one.
_CParser: Any = (
    getattr(import_module("yaml.cyaml"), "CParser", None) if yaml.__with_libyaml__ else None
)
_STR = "tag:yaml.org,2002:str"
# Problems after which the document is not built (duplicate keys still let the schema run).
_NOT_FATAL = frozenset({"duplicate_key"})


@dataclass
class Parsed:
    """What the source stage found: ``data`` is None when the text could not be read at all."""

    data: Any = None
    line_map: LineMap = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw_booleans: dict[Segments, str] = field(default_factory=dict)  # ``NO`` as it was written

    @property
    def readable(self) -> bool:
        """True when the later stages can check ``data`` (only duplicate keys were found)."""
        return not is_fatal(self.problems)


def is_fatal(problems: list[Problem]) -> bool:
    return any(p.code not in _NOT_FATAL for p in problems)


class RuleLoader(yaml.SafeLoader):
    """SafeLoader that parses once, then composes from the checked events.

    Plain scalars in key position stay text: in YAML 1.1 the key ``on`` (SPEC §3) would
    otherwise load as the boolean True.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._replay: Iterator[Event] | None = None
        self._peeked: Event | None = None

    def events(self) -> Iterator[Event]:
        """Every parser event, in order (raises ``yaml.YAMLError`` on bad syntax)."""
        while True:
            event: Event = super().get_event()  # type: ignore[no-untyped-call]
            yield event
            if event is None or isinstance(event, StreamEndEvent):
                return

    def replay(self, events: list[Event]) -> None:
        self._replay = iter(events)
        self._peeked = None

    def check_event(self, *choices: Any) -> bool:
        if self._replay is None:
            return bool(super().check_event(*choices))
        event = self.peek_event()
        return event is not None and (not choices or isinstance(event, choices))

    def peek_event(self) -> Any:
        if self._replay is None:
            return super().peek_event()  # type: ignore[no-untyped-call]
        if self._peeked is None:
            self._peeked = next(self._replay, None)
        return self._peeked

    def get_event(self) -> Any:
        if self._replay is None:
            return super().get_event()  # type: ignore[no-untyped-call]
        event = self.peek_event()
        self._peeked = None
        return event

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        for key, _value in node.value:
            if isinstance(key, ScalarNode) and key.style is None:
                key.tag = _STR
        return node


def parse_yaml(text: str, *, libyaml: bool = True) -> Parsed:
    """Read YAML; ``libyaml=False`` forces the pure-Python parser (the fallback, for tests)."""
    try:
        loader = RuleLoader(text)
    except yaml.YAMLError as err:
        return Parsed(problems=[_syntax_problem(err, text)])
    try:
        return _compose(loader, text, libyaml)
    finally:
        loader.dispose()


def _compose(loader: RuleLoader, text: str, libyaml: bool) -> Parsed:
    events, problems = _collect_events(loader, text, libyaml)
    if is_fatal(problems):
        return Parsed(problems=problems)
    loader.replay(events)
    nodes: list[Node] = []
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            nodes.append(node)
    if not nodes:
        return Parsed(problems=[Problem((), "the rule document is empty", 1, "empty")])
    walk = walk_nodes(nodes[0], json_mode=False)
    problems += walk.problems
    if is_fatal(problems):
        return Parsed(line_map=walk.line_map, problems=problems)
    data = loader.construct_document(nodes[0])
    return Parsed(data, walk.line_map, problems, walk.raw_booleans)


def compose_single(text: str) -> Node | None:
    """Compose one document without the checks (a JSON document's lines); None when YAML
    cannot read it."""
    try:
        loader = RuleLoader(text)
    except yaml.YAMLError:
        return None
    try:
        loader.replay(list(_events(loader, text)))
        node: Node | None = loader.get_single_node()
        return node
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _events(loader: RuleLoader, text: str, libyaml: bool = True) -> Iterator[Event]:
    """Parser events from libyaml when PyYAML was built with it (about ten times faster: a
    256 KiB document in a fraction of a second), else from the pure-Python parser."""
    if _CParser is None or not libyaml:
        yield from loader.events()
        return
    parser = _CParser(text)
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, ScalarEvent) and event.style == "":
                event.style = None  # libyaml marks plain scalars with "", PyYAML with None
            yield event
    finally:
        parser.dispose()


LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"  # libyaml's message at its own limit


def _collect_events(
    loader: RuleLoader, text: str, libyaml: bool
) -> tuple[list[Event], list[Problem]]:
    """Walk the events before building anything: tags, anchors, aliases, depth, documents."""
    events: list[Event] = []
    problems: list[Problem] = []
    path = _EventPath()
    starts: list[int] = []
    try:
        for event in _events(loader, text, libyaml):
            events.append(event)
            if isinstance(event, DocumentStartEvent):
                starts.append(_line(event))
            if isinstance(event, NodeEvent):
                problems += _node_event_problems(event, path.current())
            if path.feed(event) and path.depth > MAX_DEPTH:
                message = f"the document is nested more than {MAX_DEPTH} levels deep"
                problems.append(Problem(path.current(), message, _line(event), "too_deep"))
                break  # PyYAML's scanner slows down quadratically with flow depth: stop here
    except yaml.YAMLError as err:
        if libyaml and LIBYAML_TOO_DEEP in str(err):
            # libyaml (as bundled since PyYAML 6.0.3) scans a deep flow collection to its own
            # limit before yielding its first event: the pure-Python parser yields them as it
            # goes, so the depth check above stops it at the same place with the same message.
            return _collect_events(loader, text, libyaml=False)
        problems.append(_syntax_problem(err, text))
    if len(starts) > 1:
        message = (
            f"exactly one document expected; found {len(starts)} "
            f"(the second starts at line {starts[1]})"
        )
        problems.append(Problem((), message, starts[1], "several_documents"))
    return events, problems


def _node_event_problems(event: NodeEvent, at: Segments) -> list[Problem]:
    out = []
    col = _column(event.start_mark)
    if isinstance(event, AliasEvent) or event.anchor is not None:
        sign = "*" if isinstance(event, AliasEvent) else "&"
        message = (
            f"anchors and aliases ({sign}{event.anchor}, column {col}) are not supported; "
            "write the value out in full"
        )
        out.append(Problem(at, message, _line(event), "yaml_alias_forbidden"))
    tag = getattr(event, "tag", None)
    if tag is not None:
        shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:") else tag
        message = (
            f"the tag {shown} (column {col}) is not allowed; write plain values, quoted if needed"
        )
        out.append(Problem(at, message, _line(event), "yaml_forbidden_tag"))
    return out


class _EventPath:
    """Tracks where in the document the next event lands, as segments, without building it."""

    def __init__(self) -> None:
        self.frames: list[list[Any]] = []  # [is_mapping, index or key, expecting_key]

    @property
    def depth(self) -> int:
        return len(self.frames)

    def current(self) -> Segments:
        return tuple(f[1] for f in self.frames if f[1] is not None)

    def feed(self, event: Event) -> bool:
        """Advance past ``event``; True when it opened a collection."""
        if isinstance(event, ScalarEvent) and self._is_key():
            self.frames[-1][1], self.frames[-1][2] = event.value, False
            return False
        if isinstance(event, CollectionStartEvent):
            if self._is_key():
                self.frames[-1][1] = "?"
            self.frames.append([isinstance(event, MappingStartEvent), None, True])
            if not self.frames[-1][0]:
                self.frames[-1][1] = 0
            return True
        if isinstance(event, CollectionEndEvent):
            self.frames.pop()
        if isinstance(event, ScalarEvent | AliasEvent | CollectionEndEvent):
            self._done()
        return False

    def _is_key(self) -> bool:
        return bool(self.frames) and self.frames[-1][0] and self.frames[-1][2]

    def _done(self) -> None:
        if not self.frames:
            return
        top = self.frames[-1]
        if top[0]:
            if top[2]:
                top[2] = False  # a complex key ended; its value comes next
            else:
                top[1], top[2] = None, True
        else:
            top[1] += 1


def _syntax_problem(err: yaml.YAMLError, text: str) -> Problem:
    mark = getattr(err, "problem_mark", None)
    if isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        message = f"the character {err.character!r} at offset {err.position} is not allowed"
        return Problem((), message, line, "yaml_syntax")
    if mark is None:
        return Problem((), f"the YAML cannot be read: {err}", None, "yaml_syntax")
    lines = split_lines(text)
    line_text = lines[mark.line] if mark.line < len(lines) else ""
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if "\t" in line_text[: len(line_text) - len(line_text.lstrip())] or "'\\t'" in str(err):
        message = (
            f"a tab is used for indentation ({where}); YAML needs spaces: "
            f"replace the tabs with spaces — {snippet(line_text)}"
        )
    else:
        problem = getattr(err, "problem", None) or "it is not valid YAML"
        message = f"the YAML cannot be read ({where}): {problem} — {snippet(line_text)}"
    return Problem((), message, mark.line + 1, "yaml_syntax")


def split_lines(text: str) -> list[str]:
    """Lines as YAML counts them (``str.splitlines`` also splits on form feeds)."""
    return re.split(r"\r\n|[\n\r\x85\u2028\u2029]", text)


def snippet(line_text: str) -> str:
    shown = line_text.replace("\t", "→").strip()
    if not shown:
        return "at the end of the document"
    return f"'{shown[:77]}...'" if len(shown) > 80 else f"'{shown}'"


def _line(event: Event) -> int:
    return mark_line(event.start_mark)


def _column(mark: Any) -> int:
    return int(mark.column) + 1
