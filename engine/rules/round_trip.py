"""A form's change written into the document's own text: only what was edited changes.

The form editors build a new document as data. Dumping that whole document again (as before)
rewrote every line: comments lost, order and quoting changed, ``24h`` written as ``1d``. Here the
active text is kept and only the parts that changed are spliced: a top-level key, or one item of
the rules, groups, roles and workflows (matched by ``id``). ruamel.yaml's round-trip loader says
where each part starts; the new part is written as ``dump_yaml`` writes it, at the original's
indentation. A value equal to the old one but written differently (``24h`` vs ``1d``) keeps its
old spelling. Comments outside the edited item stay where they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from engine.rules.durations import DurationError, parse_duration
from engine.rules.editing import dump_value, dump_yaml

Edit = tuple[int, int, list[str]]  # replace lines [start, end) with these


def update_text(original: str, fmt: str, document: Mapping[str, Any]) -> str:
    """The text of ``document``: ``original`` (the active version's text) with only the parts
    that differ replaced. A JSON original, or one ruamel cannot read, is written anew as
    ``dump_yaml`` writes it."""
    if fmt != "yaml" or not original.strip():
        return dump_yaml(document)
    try:
        tree = YAML(typ="rt").load(original)
    except YAMLError:
        return dump_yaml(document)
    if not isinstance(tree, CommentedMap):
        return dump_yaml(document)
    lines = original.splitlines()
    edits = _mapping(lines, tree, document, len(lines), ())
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[start:end] = new
    return "\n".join(lines) + "\n"


def _mapping(lines: list[str], node: CommentedMap, new: Mapping[str, Any], end: int,
             path: tuple[str, ...]) -> list[Edit]:
    """Edits that turn the block mapping ``node`` (ending before line ``end``) into ``new``."""
    edits: list[Edit] = []
    keys = list(node)
    column = node.lc.key(keys[0])[1] if keys else 0
    last = _trim(lines, node.lc.key(keys[0])[0], end) if keys else end
    for index, key in enumerate(keys):
        start = node.lc.key(key)[0]
        stop = _trim(lines, start, node.lc.key(keys[index + 1])[0] if index + 1 < len(keys)
                     else end)
        last = stop
        if key not in new:
            edits.append((start, stop, [lines[start][:column]] if index == 0 and column else []))
            continue
        if _same(node[key], new[key]):
            continue
        old = node[key]
        value = new[key]
        if isinstance(old, CommentedMap) and not old.fa.flow_style() and old and isinstance(
                value, Mapping) and node.lc.key(key)[0] < old.lc.key(next(iter(old)))[0]:
            edits += _mapping(lines, old, value, stop, (*path, str(key)))
        elif (isinstance(old, CommentedSeq) and not old.fa.flow_style() and old
              and isinstance(value, list) and _ids(old) and _ids(value)
              and (found := _items(lines, old, value, stop, (*path, str(key)))) is not None):
            edits += found
        else:
            flow = isinstance(old, CommentedMap | CommentedSeq) and bool(old.fa.flow_style())
            edits.append((start, stop, _key_text(lines[start], column, str(key),
                                                 _keep_spelling(old, value), path, flow)))
    added = [k for k in new if k not in node]
    if added:
        text: list[str] = []
        for key in added:
            text += _key_text(" " * column, column, str(key), new[key], path)
        edits.append((last, last, text))
    return edits


def _key_text(first: str, column: int, key: str, value: Any, path: tuple[str, ...],
              flow: bool = False) -> list[str]:
    """``key: value`` as ``dump_yaml`` writes it (on one line when it was), at ``column``; the
    first line keeps what came before the key on its line (the dash of a list item)."""
    dumped = dump_value(value, key, "actions" in path, flow).splitlines()
    dumped[0] = key_yaml(key) + dumped[0][1:]  # "v:" → "key:"
    return [first[:column] + dumped[0]] + [" " * column + ln if ln else ln for ln in dumped[1:]]


def key_yaml(key: str) -> str:
    """A key as YAML writes it (quoted when it would read as something else, like ``on``)."""
    return dump_value({key: 0}).splitlines()[1].strip().rsplit(":", 1)[0]


def _items(lines: list[str], old: CommentedSeq, new: list[Any], end: int,
           path: tuple[str, ...]) -> list[Edit] | None:
    """Edits per item of a block list of items with ids; None when the surviving items changed
    their order (then the whole list is written anew)."""
    old_ids = [str(item["id"]) for item in old]
    new_ids = [str(item["id"]) for item in new]
    if not new or [i for i in old_ids if i in new_ids] != [i for i in new_ids if i in old_ids]:
        return None
    starts = [_item_line(lines, old.lc.item(i)[0]) for i in range(len(old))]
    spans = {old_ids[i]: (starts[i], _trim(lines, starts[i], starts[i + 1] if i + 1 < len(old)
                                           else end)) for i in range(len(old))}
    dash = lines[starts[0]].index("-")
    by_id = {str(item["id"]): item for item in old}
    edits: list[Edit] = [(*spans[i], []) for i in old_ids if i not in new_ids]
    at = starts[0]
    pending: list[str] = []
    for item in new:
        item_id = str(item["id"])
        if item_id not in by_id:
            pending += _item_text(item, dash, path)
            continue
        if pending:
            edits.append((at, at, pending))
            pending = []
        start, stop = spans[item_id]
        found = by_id[item_id]
        if not _same(found, item):
            if isinstance(found, CommentedMap) and not found.fa.flow_style():
                edits += _mapping(lines, found, item, stop, path)
            else:
                edits.append((start, stop, _item_text(_keep_spelling(found, item), dash, path)))
        at = stop
    if pending:
        edits.append((at, at, pending))
    return edits


def _item_line(lines: list[str], line: int) -> int:
    """The line of an item's dash (ruamel places a block mapping item at its first key)."""
    while line > 0 and not lines[line].lstrip().startswith("-"):
        line -= 1
    return line


def _item_text(item: Any, dash: int, path: tuple[str, ...]) -> list[str]:
    key = path[-1] if path else None
    text = dump_value([item], key).splitlines()[1:]  # below "v:", dashes at column 0
    return [" " * dash + ln if ln else ln for ln in text]


def _trim(lines: list[str], start: int, end: int) -> int:
    """``end`` moved back over blank and comment lines: they stay between the parts."""
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _ids(items: Any) -> bool:
    """Every item a mapping with an id, and no id twice."""
    ids = [i.get("id") for i in items if isinstance(i, Mapping)]
    return len(ids) == len(items) and None not in ids and len(set(map(str, ids))) == len(ids)


def _keep_spelling(old: Any, new: Any) -> Any:
    """``new`` with the old text wherever the old value means the same (``24h`` for ``1d``)."""
    if _same(old, new):
        return _plain_data(old)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return {k: _keep_spelling(old[k], v) if k in old else v for k, v in new.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_keep_spelling(o, n) for o, n in zip(old, new)]
    return new


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, str) and isinstance(new, str) and old != new:
        try:
            return parse_duration(old) == parse_duration(new)
        except DurationError:
            return False
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in new)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(o, n) for o, n in zip(old, new))
    return type(_plain_data(old)) is type(new) and old == new


def _plain_data(value: Any) -> Any:
    """ruamel's nodes as plain Python (its scalar types subclass int, float and str)."""
    if isinstance(value, Mapping):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_data(v) for v in value]
    if isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value
