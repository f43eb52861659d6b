"""What the form editors of /admin share: the blueprint, the document being edited, saving it
through the engine's one validation pipeline, and each problem put next to its field.

Every editor works the same way: read the active document (``CompiledRuleset.document``), change
one item with ``engine.rules.editing``, dump the whole document as YAML and ``rulesets.put`` it
with the revision the form was loaded at. An invalid document changes nothing and its problems
come back located (``rules[3].cooldown``); ``place_problems`` turns each location into the key of
the input that shows it, and the rest are listed at the top of the form with a plain-words
location ("规则「缺货」"). Messages are the engine's sentences, in Chinese for the common ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.i18n import language
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, current_user
from engine.errors import Conflict
from engine.rules.codes import unique_code
from engine.rules.compiled import CompiledRuleset
from engine.rules.editing import SECTIONS, base_document, dump_yaml, fact_label
from engine.rules.problems import Problem, RulesetInvalid, Segments
from engine.rules.round_trip import update_text
from engine.services import rule_runs, rulesets
from engine.services.preview import current_revision

bp = web_blueprint("rules", __name__, url_prefix="/admin")


@dataclass
class Editing:
    """The document an editor starts from and the revision it was read at."""

    document: dict[str, Any]
    revision: int
    version: int | None
    compiled: CompiledRuleset | None


def editing() -> Editing:
    active = active_ruleset()
    if active is not None:
        return Editing(base_document(active.compiled.document), active.revision, active.version,
                       active.compiled)
    with services().uow() as uow:
        revision = current_revision(uow.conn)
    return Editing(base_document(None), revision, None, None)


def posted_revision() -> int | None:
    value = request.form.get("revision", "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@dataclass
class Saved:
    version: int | None = None
    problems: list[Problem] = field(default_factory=list)
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return self.version is not None


def save(doc: Mapping[str, Any], comment: str, revision: int | None) -> Saved:
    """Validate and store ``doc`` as the new active version, unless someone changed it since.

    The new text is the active version's text with only what changed replaced (comments, order
    and spelling kept: ``round_trip.update_text``); a first document is written whole."""
    active = active_ruleset()
    if active is None or active.version is None:
        return save_text(dump_yaml(doc), comment, revision)
    with services().uow() as uow:
        original, fmt = rulesets.version_text(uow.conn, active.version)
    return save_text(update_text(original, fmt, doc), comment, revision)


def save_text(text: str, comment: str, revision: int | None) -> Saved:
    user = current_user()
    assert user is not None
    svc = services()
    try:
        with svc.uow() as uow:
            number = rulesets.put(uow.conn, text, "yaml", user.username, svc.clock.now(),
                                  comment=comment, expected_revision=revision)
            uow.commit()
    except RulesetInvalid as exc:
        return Saved(problems=list(exc.problems))
    except Conflict:
        return Saved(conflict=True)
    rule_runs.start_for(svc, number)  # the changed rules over the current stock (#17)
    return Saved(version=number)


def flash_saved(saved: Saved, done: Callable[[int], str],
                failed: Callable[[str], str] | None = None) -> None:
    """Say what a save from a button (a delete) did: the conflict, why it was refused, or
    ``done(version)``; ``failed(reasons)`` words the refusal (the reasons alone otherwise)."""
    if saved.conflict:
        flash(conflict_message(), "error")
    elif saved.version is None:
        reasons = "; ".join(friendly(p) for p in saved.problems)
        flash(failed(reasons) if failed else reasons, "error")
    else:
        flash(done(saved.version), "success")


def conflict_message() -> str:
    return _("Someone else changed the rules after you opened this page, so nothing was saved. "
             "Reload the page to see their change, then make yours again.")


# --- problems next to their fields ------------------------------------------------------------


def field_key(segments: Sequence[str | int]) -> str:
    """A location inside one item as an input's key: ``actions.1.supplier`` (the action's name
    is left out: ``actions[1].create_requisition.supplier``)."""
    segs = list(segments)
    if len(segs) >= 3 and segs[0] == "actions" and isinstance(segs[2], str):
        del segs[2]
    return ".".join(str(s) for s in segs)


def place_problems(
    problems: Iterable[Problem],
    doc: Mapping[str, Any],
    places: Sequence[tuple[Segments, str | None]],
    keys: Iterable[str],
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """Problems by the key of the input that shows them, and the others for the top of the form.

    ``places`` are the items the form edits: (prefix, key) — a problem under the prefix goes to
    the longest of ``keys`` its remaining path starts with, or to ``key`` when given (a whole
    item shown as one input, e.g. a group defined inside the rule form).
    """
    known = set(keys)
    placed: dict[str, list[str]] = {}
    top: list[dict[str, Any]] = []
    for problem in problems:
        key = _key_for(problem.segments, places, known)
        message = friendly(problem)
        if key is None:
            top.append({"where": location(doc, problem.segments), "message": message,
                        "line": problem.line, "path": problem.path})
        elif message not in placed.setdefault(key, []):
            placed[key].append(message)
    return placed, top


def _key_for(segments: Segments, places: Sequence[tuple[Segments, str | None]],
             known: set[str]) -> str | None:
    for prefix, whole in places:
        if tuple(segments[:len(prefix)]) != tuple(prefix):
            continue
        if whole is not None:
            return whole
        parts = field_key(segments[len(prefix):]).split(".") if segments[len(prefix):] else []
        for size in range(len(parts), 0, -1):
            candidate = ".".join(parts[:size])
            if candidate in known:
                return candidate
        return "" if "" in known else None
    return None


_KIND_NAMES = {
    "rules": lambda: _("rule"),
    "sku_groups": lambda: _("SKU group"),
    "roles": lambda: _("role"),
    "workflows": lambda: _("workflow"),
}


def location(doc: Mapping[str, Any], segments: Segments) -> str:
    """Where a problem is, for people: "rule “Out of stock”", or the settings, or the document."""
    if not segments:
        return _("The rule document")
    section = segments[0]
    if section in _KIND_NAMES and len(segments) > 1 and isinstance(segments[1], int):
        items = doc.get(str(section)) or []
        item = items[segments[1]] if segments[1] < len(items) else {}
        name = (item.get("name") or item.get("id") or f"#{segments[1] + 1}") \
            if isinstance(item, Mapping) else f"#{segments[1] + 1}"
        return _("%(kind)s “%(name)s”", kind=_KIND_NAMES[str(section)](), name=name)
    if section == "settings":
        return _("Settings")
    return str(section)


# --- the engine's sentences in the viewer's language -------------------------------------------

_QUOTED = re.compile(r"'([^']*)'")


def _quoted(message: str, index: int = 0) -> str:
    found = _QUOTED.findall(message)
    return found[index] if len(found) > index else ""


def _range(message: str) -> str | None:
    between = re.search(r"must be between (\S+) and (\S+?);", message)
    if between:
        return _("Enter a number from %(low)s to %(high)s.", low=between[1], high=between[2])
    least = re.search(r"must be at least (\S+?);", message)
    if least:
        return _("Enter a number of at least %(low)s.", low=least[1])
    most = re.search(r"must be at most (\S+?);", message)
    if most:
        return _("Enter a number of at most %(high)s.", high=most[1])
    above = re.search(r"must be (?:more than|a quantity above) (\S+?);", message)
    if above:
        return _("Enter a number above %(low)s.", low=above[1])
    if "is less than 'min'" in message:
        return _("The maximum is less than the minimum.")
    return None


def _duration(message: str) -> str:
    if "longer than zero" in message:
        return _("Must be longer than zero.")
    if "too long" in message:
        return _("At most 365 days.")
    if "negative" in message:
        return _("Cannot be negative.")
    if "whole numbers" in message:
        return _("Use a whole number.")
    return _("Enter a duration, such as 30 minutes, 4 hours or 7 days.")


def _configured(known: str) -> str:
    """The channels a warning says are configured, "none" in the viewer's language."""
    return str(_("none")) if known == "none" else known


def _unknown(problem: Problem) -> str:
    value = _quoted(problem.message)
    kind = problem.code.removeprefix("unknown_")
    texts = {
        "group": lambda: _("There is no SKU group “%(value)s”.", value=value),
        "role": lambda: _("There is no role “%(value)s”.", value=value),
        "workflow": lambda: _("There is no workflow “%(value)s”.", value=value),
        "state": lambda: _("There is no state “%(value)s” in this workflow.", value=value),
        "variable": lambda: _("“%(value)s” is not a known fact.", value=value),
    }
    if kind not in texts:
        return problem.message
    text = texts[kind]()
    close = re.search(r"did you mean '([^']+)'\?", problem.message)
    if close:  # the engine's suggestion, kept in the viewer's language (it was dropped in zh)
        guess = close[1]
        label = fact_label(guess, language()) if kind == "variable" else guess
        shown = guess if label == guess else (
            f"{label}（{guess}）" if language() == "zh" else f"{label} ({guess})")
        text += " " + _("Did you mean “%(close)s”?", close=shown)
    return text


def _choice(problem: Problem) -> str:
    found = re.search(r"must be one of (.+?); got (.+?)(?:; did you mean '([^']+)'\?)?$",
                      problem.message)
    if found is None:
        return problem.message
    if found[3]:
        return _("%(value)s is not one of the choices; did you mean “%(close)s”? The choices "
                 "are %(choices)s.", value=found[2], close=found[3], choices=found[1])
    return _("%(value)s is not one of the choices: %(choices)s.", value=found[2],
             choices=found[1])


def _required(problem: Problem) -> str:
    least = re.search(r"at least (\d+)", problem.message)
    if least:
        return _("Choose or enter at least %(n)s.", n=least[1])
    if problem.segments and problem.segments[-1] == "when":
        return _("Add at least one condition.")
    return _("This field is required.")


def _type(problem: Problem) -> str:
    message = problem.message
    if re.search(r"must be a whole number", message):
        return _("Enter a whole number.")
    if re.search(r"must be a number", message):
        return _("Enter a number.")
    compares = re.match(r"^'[^']+' (compares numbers|adds numbers|subtracts numbers|multiplies "
                        r"numbers|divides numbers), but '([^']+)' is ([a-z ]+)$", message)
    if compares:
        return _("“%(fact)s” is not a number and cannot be compared or calculated with.",
                 fact=fact_label(compares[2], language()))
    return message


def _nullable(problem: Problem) -> str:
    name = _quoted(problem.message)
    return _("“%(fact)s” can be without a value: fill in what it counts as when empty.",
             fact=fact_label(name, language()))


def _duplicate(problem: Problem) -> str:
    value = _quoted(problem.message)
    if "listed twice" in problem.message:
        return _("“%(value)s” is listed twice.", value=value)
    return _("“%(value)s” is already used; choose another.", value=value)


_BY_CODE: dict[str, Any] = {
    "required": _required,
    "too_long": lambda p: _("Too long: at most %(n)s characters.",
                            n=(re.search(r"limit is (\d+)", p.message) or [0, "?"])[1]),
    "invalid_id": lambda p: _("Use lowercase letters, digits, “-” and “_”, starting with a letter "
                              "or digit (at most 64)."),
    "invalid_name": lambda p: _("Use letters, digits and “_”, starting with a letter "
                                "(at most 64)."),
    "bad_duration": lambda p: _duration(p.message),
    "out_of_range": lambda p: _range(p.message) or p.message,
    "type": _type,
    "duplicate_id": _duplicate,
    "missing_workflow": lambda p: _("Choose the workflow the task follows."),
    "invalid_choice": _choice,
    "nullable": _nullable,
    # issue #17: a role's rate limit and quiet hours
    "bad_rate_limit": lambda p: _("Enter a whole number of messages per hour from 1 to 10000, "
                                  "or one per channel as in “email=3, wecom=20”."),
    "bad_quiet_hours": lambda p: _("Write the quiet hours as a span of times of day, e.g. "
                                   "“22:00-08:00”."),
    # issue #19: a requisition's fallback supplier
    "same_fallback": lambda p: _("The fallback must be another supplier than the one chosen."),
    "fallback_alone": lambda p: _("Choose a fallback supplier, or leave the days empty."),
    # issue #17: a daily digest that would never arrive (a warning, the document stays valid)
    "no_channel": lambda p: _("A daily digest needs a channel: give this notice channels, or "
                              "its role some."),
    "channel_not_configured": lambda p: _(
        "The daily digest goes by %(channels)s, which nobody has configured on this "
        "installation (configured: %(known)s): it would never arrive.",
        channels=(re.search(r"goes by (.+?), which", p.message) or [0, "?"])[1],
        known=_configured((re.search(r"configured channels: ([^)]*)\)", p.message)
                           or [0, "none"])[1])),
    "deprecated": lambda p: _("promotion_days is deprecated: it still marks promotion days, but "
                              "a calendar of kind promotion also raises the forecast over the "
                              "lead time; move these days there."),
    "overstock": lambda p: (
        _("A fill rate of %(value)s asks for almost every unit from stock; the last half "
          "percent costs much more stock than the rest: likely to overstock.",
          value=(re.search(r"of ([\d.]+)", p.message) or [0, "?"])[1])
        if p.segments and p.segments[-1] == "fill_rate" else
        _("A cycle service level of %(value)s is the chance of no stock-out in an order cycle, "
          "not the share of demand served: it usually serves over 99.9%% of demand and is likely "
          "to overstock. To aim at a share of demand, set a fill rate (e.g. 0.98) instead.",
          value=(re.search(r"of ([\d.]+)", p.message) or [0, "?"])[1])),
    "escalation_cycle": lambda p: _(
        "Escalation goes round in a circle (%(chain)s); one role in the chain must not "
        "escalate further.", chain=(re.search(r"circle: ([^;]+)", p.message) or [0, ""])[1]),
}


def friendly(problem: Problem) -> str:
    """The problem as a short sentence in the viewer's language; the engine's own sentence
    (without the field's name, which the form shows already) when there is no shorter one."""
    code = problem.code
    if code.startswith("unknown_") and code != "unknown_field":
        text = _unknown(problem)
    elif code == "no_owner":
        text = (_("This notice goes to the owner, but the rule has no owner: choose one, or "
                  "send it to someone else.") if "notice" in problem.message else
                _("Who does the task? Choose a role for it, or an owner for the rule."))
    else:
        handler = _BY_CODE.get(code)
        text = str(handler(problem)) if handler else problem.message
    return _strip_field(text) if text == problem.message else text


_FIELD_FIRST = re.compile(r"^'[^']+' (?=must|is|cannot|needs|has)")


def _strip_field(message: str) -> str:
    """Next to its field the field's own name is redundant: "'cooldown' must …" → "Must …"."""
    rest = _FIELD_FIRST.sub("", message)
    return rest[:1].upper() + rest[1:] if rest != message else message


# --- what the forms offer --------------------------------------------------------------------

CHANNEL_LABELS = {
    "email": _l("email"), "sms": _l("SMS"), "wechat": _l("WeChat"), "wecom": _l("WeCom"),
    "dingtalk": _l("DingTalk"), "feishu": _l("Feishu"), "webhook": _l("webhook"),
}


def options(doc: Mapping[str, Any], section: str) -> list[tuple[str, str]]:
    """(id, name) of the groups, roles or workflows of the document, for selects."""
    out = []
    for item in doc.get(section) or []:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            out.append((item["id"], str(item.get("name") or item["id"])))
    return out


def item_of(doc: Mapping[str, Any], kind: str, item_id: str) -> dict[str, Any] | None:
    for item in doc.get(SECTIONS[kind]) or []:
        if isinstance(item, Mapping) and item.get("id") == item_id:
            return dict(item)
    return None


def index_of(doc: Mapping[str, Any], kind: str, item_id: str | None) -> int | None:
    for index, item in enumerate(doc.get(SECTIONS[kind]) or []):
        if isinstance(item, Mapping) and item.get("id") == item_id:
            return index
    return None


def new_id(doc: Mapping[str, Any], kind: str, name: str, prefix: str) -> str:
    """An id for a new item: its name as a readable code (pinyin for Chinese), made unique."""
    used = {str(i.get("id")) for i in doc.get(SECTIONS[kind]) or [] if isinstance(i, Mapping)}
    return unique_code(name, used, prefix)


def as_list(value: Any) -> list[Any]:
    """A document value that may be written as one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def listed(values: Iterable[str]) -> list[str]:
    """Form values without blanks and repeats, in order."""
    out: list[str] = []
    for value in values:
        value = value.strip()
        if value and value not in out:
            out.append(value)
    return out


def split_list(text: str) -> list[str]:
    """"a, b，c\\nd" → ["a", "b", "c", "d"] (Chinese and English commas, new lines)."""
    return listed(re.split(r"[,，、;；\s]+", text or ""))


def number_or_text(text: str) -> Any:
    """A number typed in a form: int or float, or the text itself when it is not one (so that
    validation can say what is wrong with it)."""
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
        else value
