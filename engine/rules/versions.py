"""Ruleset versions as values (who, when, text) and the text diff between two of them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RulesetVersion:
    """One accepted rule document; storage keeps these, ``active`` marks the one in force."""

    number: int
    author: str
    created_at: datetime
    text: str
    comment: str = ""
    active: bool = False

    @property
    def label(self) -> str:
        return f"version {self.number}"


def diff(old_text: str, new_text: str, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff of two documents; empty when they are the same text."""
    lines = difflib.unified_diff(
        _lines(old_text), _lines(new_text), fromfile=old_label, tofile=new_label, lineterm=""
    )
    return "\n".join(lines) + "\n" if old_text != new_text else ""


def diff_versions(old: RulesetVersion, new: RulesetVersion) -> str:
    """What changed from one version to another, labelled with their numbers."""
    return diff(old.text, new.text, old.label, new.label)


def _lines(text: str) -> list[str]:
    lines = text.splitlines()
    if text and not text.endswith(("\n", "\r")):
        lines[-1] += "  (no newline at end of file)"
    return lines
