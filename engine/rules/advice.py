"""Warnings about a valid rule document: settings that work but likely do not do what their
author means (issue #16). They never refuse a document; the editor, the CLI and ``POST
/ruleset/validate`` show them next to the problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.rules.compiled import CompiledRuleset, Notify
from engine.rules.problems import Problem, Segments

OVERSTOCK_SERVICE_LEVEL = 0.99
"""A cycle service level from here on, with max stock adding the review period, serves nearly
every unit (fill rates above 99.9 % in the issue's reference simulation): likely overstock."""
OVERSTOCK_FILL_RATE = 0.995


def advice(compiled: CompiledRuleset, configured: frozenset[str] | None = None) -> list[Problem]:
    """Every warning of a compiled (valid) document, located like problems. ``configured``:
    the channels this installation can deliver on (None: not known, not checked)."""
    out: list[Problem] = []
    settings = compiled.document.get("settings") if isinstance(compiled.document, Mapping) else None
    if isinstance(settings, Mapping) and "promotion_days" in settings:
        out.append(Problem(("settings", "promotion_days"),
                           "promotion_days is deprecated: it still marks calendar.promotion, but "
                           "a 'calendars' entry of kind promotion also raises the forecast over "
                           "the lead time; move these days there", code="deprecated"))
    for at, params in _params(compiled):
        out += _service(at, params)
    out += _digests(compiled, configured)
    return out


def _digests(compiled: CompiledRuleset, configured: frozenset[str] | None) -> list[Problem]:
    """A daily digest on a channel nobody configured would never arrive: say so where it is
    asked for (issue #17). The document stays valid: channels belong to the installation."""
    out = []
    for r_index, rule in enumerate(compiled.rules):
        for a_index, action in enumerate(rule.actions):
            if not isinstance(action, Notify) or action.digest is None or action.to == "supplier":
                continue
            at = ("rules", r_index, "actions", a_index, "notify", "digest")
            role = compiled.roles.get((rule.owner or "") if action.to == "owner" else (action.to or ""))
            channels = action.channels or (role.channels if role else ())
            if not channels:
                out.append(Problem(at, f"a {action.digest} digest needs a channel: give this "
                                       "notify 'channels' or its role some", code="no_channel"))
                continue
            missing = [c for c in channels if configured is not None and c not in configured]
            if missing:
                known = ", ".join(sorted(configured or ())) or "none"
                out.append(Problem(at, f"the {action.digest} digest goes by "
                                       f"{', '.join(missing)}, which nobody configured here "
                                       f"(configured channels: {known}); it would never "
                                       "arrive", code="channel_not_configured"))
    return out


def _params(compiled: CompiledRuleset) -> Iterator[tuple[Segments, Mapping[str, Any]]]:
    yield ("settings",), compiled.settings.as_params()
    for index, group in enumerate(compiled.groups.values()):
        yield ("sku_groups", index, "params"), group.params


def _service(at: Segments, params: Mapping[str, Any]) -> list[Problem]:
    out = []
    level = params.get("service_level")
    if isinstance(level, int | float) and level >= OVERSTOCK_SERVICE_LEVEL and "fill_rate" not in params:
        out.append(Problem((*at, "service_level"),
                           f"a cycle service level of {level:g} is the chance of no stock-out "
                           "in an order cycle, not the share of demand served: with max stock "
                           "adding the review period it usually serves over 99.9 % of demand "
                           "and is likely to overstock; to aim at a share of demand, set "
                           "fill_rate (e.g. 0.98) instead", code="overstock"))
    fill = params.get("fill_rate")
    if isinstance(fill, int | float) and fill >= OVERSTOCK_FILL_RATE:
        out.append(Problem((*at, "fill_rate"),
                           f"a fill rate of {fill:g} asks for almost every unit from stock; the "
                           "last half percent costs much more stock than the rest: likely to "
                           "overstock", code="overstock"))
    return out
