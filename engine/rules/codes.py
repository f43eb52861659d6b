"""Codes (ids) suggested from names: readable in pinyin for Chinese names ("饮料" → ``yin-liao``).

Admins name things in Chinese; ids must match ``ID_PATTERN`` (lower-case letters, digits, ``-``
and ``_``). Stripping what does not match turned "饮料" into nothing and "A类-B类" into ``a-b``;
pypinyin (a well-kept library with its own dictionary of polyphones) writes the syllables out.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from engine.rules.schema_fields import ID_PATTERN

MAX_LENGTH = 48  # room for a "-2" suffix within the schema's 64


def code_from_name(name: str) -> str:
    """The name as a code: Chinese characters in toneless pinyin, one syllable per dash,
    everything else lower-cased; "" when nothing usable is left."""
    # imported when first needed: its dictionaries take ~55 MB, which a process that never
    # names anything (a worker, an import run) need not hold
    from pypinyin import Style, lazy_pinyin

    words = lazy_pinyin(name.strip(), style=Style.NORMAL, errors="default")
    text = "-".join(w.strip() for w in words if w.strip())
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")[:MAX_LENGTH].strip("-_")
    return slug if ID_PATTERN.match(slug) else ""


def unique_code(name: str, used: Collection[str], prefix: str) -> str:
    """A code for a new item called ``name``, not in ``used``: the name's code, with ``-2``,
    ``-3`` … when taken; ``prefix-N`` when the name gives nothing."""
    base = code_from_name(name)
    if not base:
        n = len(used) + 1
        while f"{prefix}-{n}" in used:
            n += 1
        return f"{prefix}-{n}"
    code, n = base, 2
    while code in used:
        code, n = f"{base}-{n}", n + 1
    return code
